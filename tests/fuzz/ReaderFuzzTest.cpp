// Seeded mutation fuzzing of every file reader (see FuzzHarness.h for the contract, the settings and
// how a failure is reported). Each test starts from files the project's own writers produce, so the
// unmutated input (iteration 0) must read; every mutated one must read or give a samscape::Error.
// Where a reader returns a value, the value is also checked for consistency (a reader that returns a
// silently damaged dataset breaks its contract as surely as one that crashes).

#include <gtest/gtest.h>
#include <gtest/gtest-spi.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "analysis/AnalysisSession.h"
#include "analysis/LossSurface.h"
#include "core/Error.h"
#include "core/data/DatasetReaders.h"
#include "core/models/Network.h"
#include "core/optim/Optimizer.h"
#include "core/train/Checkpoint.h"
#include "core/train/RunDirectory.h"
#include "core/train/SavedRun.h"
#include "core/train/TrainConfig.h"
#include "tests/fuzz/FuzzHarness.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using fuzz::BinaryLayout;
using fuzz::Bytes;
using fuzz::Field;
using fuzz::FuzzInput;
using fuzz::fuzzReader;
using fuzz::readFile;
using fuzz::writeFile;

// A returned value that breaks the reader's promise is reported like a foreign exception: as
// std::logic_error, which the harness refuses.
void require(bool condition, const std::string& what) {
  if (!condition) throw std::logic_error("the reader returned an inconsistent value: " + what);
}

void requireConsistent(const ImageSet& images, int channels, int numClasses) {
  require(images.size() > 0, "no images");
  require(images.channels == channels, "channels " + std::to_string(images.channels));
  require(images.height > 0 && images.width > 0, "an empty image shape");
  require(images.pixels.size() == images.size() * images.imageBytes(),
          std::to_string(images.pixels.size()) + " pixel bytes for " + std::to_string(images.size()) +
              " images of " + std::to_string(images.imageBytes()));
  require(images.numClasses == numClasses, "numClasses " + std::to_string(images.numClasses));
  for (const std::int64_t label : images.labels) {
    require(label >= 0 && label < numClasses, "label " + std::to_string(label));
  }
}

// A run of the loop that never reached an error path would test nothing: a sanity check on the
// mutations (skipped when one iteration is replayed, or after a failure).
void expectErrorsSeen(const fuzz::FuzzResult& result) {
  if (result.failed || result.iterations < 50) return;
  EXPECT_GT(result.errors, 0) << "no mutated input was refused: the mutations miss the format";
}

// The label bytes of a record file's first records, so that mutations reach the label checks.
BinaryLayout recordLayout(std::size_t recordBytes, std::size_t labelBytes, std::size_t fileBytes) {
  BinaryLayout layout;
  layout.recordBytes = recordBytes;
  for (std::size_t record = 0; record < std::min<std::size_t>(fileBytes / recordBytes, 8); ++record) {
    for (std::size_t label = 0; label < labelBytes; ++label) {
      layout.fields.push_back(Field{record * recordBytes + label, 1, false});
    }
  }
  return layout;
}

// The size, offset and count fields of a zip archive (LibTorch's .pt format), found by their
// signatures: local headers, central directory entries and the end-of-central-directory record.
BinaryLayout zipLayout(const Bytes& bytes) {
  BinaryLayout layout;
  const auto at = [&](std::size_t i, const char* signature) {
    return i + 4 <= bytes.size() && bytes[i] == 'P' && bytes[i + 1] == 'K' &&
           bytes[i + 2] == static_cast<std::uint8_t>(signature[0]) &&
           bytes[i + 3] == static_cast<std::uint8_t>(signature[1]);
  };
  for (std::size_t i = 0; i + 4 <= bytes.size(); ++i) {
    if (at(i, "\x03\x04")) {  // local header: sizes, name and extra lengths
      for (const std::size_t offset : {18, 22}) layout.fields.push_back(Field{i + offset, 4, false});
      for (const std::size_t offset : {26, 28}) layout.fields.push_back(Field{i + offset, 2, false});
    } else if (at(i, "\x01\x02")) {  // central directory entry: sizes, lengths, local header offset
      for (const std::size_t offset : {20, 24, 42}) layout.fields.push_back(Field{i + offset, 4, false});
      for (const std::size_t offset : {28, 30, 32}) layout.fields.push_back(Field{i + offset, 2, false});
    } else if (at(i, "\x05\x06")) {  // end of central directory: entry counts, size and offset
      for (const std::size_t offset : {8, 10}) layout.fields.push_back(Field{i + offset, 2, false});
      for (const std::size_t offset : {12, 16}) layout.fields.push_back(Field{i + offset, 4, false});
    } else if (at(i, "\x06\x06")) {  // zip64 end of central directory
      for (const std::size_t offset : {24, 32, 40, 48}) layout.fields.push_back(Field{i + offset, 8, false});
    }
  }
  return layout;
}

// ----- IDX ---------------------------------------------------------------------------------------------

TEST(ReaderFuzz, IdxFilesGiveImagesOrADataError) {
  const ImageSet set = test::makeSyntheticImageSet(12, 1, 6, 5, 4, 3);
  const test::TempDir seeds;
  test::writeIdxImages(seeds.file("images"), set, false);
  test::writeIdxLabels(seeds.file("labels"), set, false);
  const Bytes images = readFile(seeds.file("images"));
  const Bytes labels = readFile(seeds.file("labels"));
  // Big-endian magic, count, rows, columns; then one record of rows x columns bytes per image.
  const BinaryLayout imageLayout{{{0, 4, true}, {4, 4, true}, {8, 4, true}, {12, 4, true}}, 16, 30};
  const BinaryLayout labelLayout{{{0, 4, true}, {4, 4, true}}, 8, 1};

  bool viaDirectory = true;
  int numClasses = 10;
  const auto write = [&](FuzzInput& in) {
    const int mutated = in.mutate() ? static_cast<int>(in.mutator.below(3)) : -1;  // images, labels, both
    viaDirectory = in.iteration == 0 || in.mutator.chance(50);
    numClasses = in.iteration == 0 ? 10 : 1 + static_cast<int>(in.mutator.below(256));
    for (const bool isImages : {true, false}) {
      const Bytes& valid = isImages ? images : labels;
      const bool gzip = in.mutator.chance(50);
      Bytes bytes = valid;
      if (mutated == 2 || mutated == (isImages ? 0 : 1)) {
        if (gzip && in.mutator.chance(30)) {
          bytes = in.mutator.mutateBytes(fuzz::gzipBytes(valid));  // a damaged compressed stream
        } else {
          bytes = in.mutator.mutateBytes(valid, isImages ? imageLayout : labelLayout);
          if (gzip) bytes = fuzz::gzipBytes(bytes);
        }
      } else if (gzip) {
        bytes = fuzz::gzipBytes(bytes);
      }
      const std::string name = isImages ? "train-images-idx3-ubyte" : "train-labels-idx1-ubyte";
      writeFile(in.directory / (name + (gzip ? ".gz" : "")), bytes);
      // The name as given wins over its ".gz" twin: sometimes both are there.
      if (in.mutate() && in.mutator.chance(10)) writeFile(in.directory / (name + (gzip ? "" : ".gz")), valid);
    }
  };
  const auto read = [&](const fs::path& directory) {
    const ImageSet result =
        viaDirectory ? readMnistDirectory(directory.string(), true)
                     : readIdxPair((directory / "train-images-idx3-ubyte").string(),
                                   (directory / "train-labels-idx1-ubyte").string(), numClasses);
    requireConsistent(result, 1, viaDirectory ? 10 : numClasses);
  };
  const auto result = fuzzReader("idx", write, read);
  expectErrorsSeen(result);
}

// ----- CIFAR -------------------------------------------------------------------------------------------

// Both CIFAR readers: every file of the layout is written valid, then one or two of them are mutated,
// removed or replaced by a directory; the folder is either the given one or its standard subfolder.
void fuzzCifar(const std::string& name, const std::vector<std::string>& files, const std::string& subfolder,
               std::size_t labelBytes, int numClasses,
               const std::function<ImageSet(const std::string&, bool)>& reader,
               const std::function<void(const std::string&, const ImageSet&, const ImageSet&)>& writer) {
  const test::TempDir seeds;
  writer(seeds.path().string(), test::makeSyntheticImageSet(10, 3, 32, 32, numClasses, 5),
         test::makeSyntheticImageSet(4, 3, 32, 32, numClasses, 6));
  std::vector<Bytes> valid;
  for (const auto& file : files) valid.push_back(readFile(seeds.path() / file));
  const std::size_t recordBytes = labelBytes + 3072;

  bool trainSplit = true;
  const auto write = [&](FuzzInput& in) {
    trainSplit = in.mutator.chance(50);
    const fs::path folder = in.mutator.chance(30) ? in.directory / subfolder : in.directory;
    fs::create_directories(folder);
    std::vector<Bytes> contents = valid;
    std::vector<int> damage(files.size(), 0);  // 0 valid, 1 mutated, 2 missing, 3 a directory
    if (in.mutate()) {
      for (int count = in.mutator.chance(80) ? 1 : 2; count > 0; --count) {
        const std::size_t index = in.mutator.below(files.size());
        const std::uint64_t kind = in.mutator.below(100);
        damage[index] = kind < 90 ? 1 : kind < 95 ? 2 : 3;
      }
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (damage[i] == 1) {
        contents[i] = in.mutator.mutateBytes(contents[i], recordLayout(recordBytes, labelBytes, contents[i].size()));
      }
      if (damage[i] == 2) continue;
      if (damage[i] == 3) {
        fs::create_directories(folder / files[i]);
        continue;
      }
      writeFile(folder / files[i], contents[i]);
    }
  };
  const auto read = [&](const fs::path& directory) {
    requireConsistent(reader(directory.string(), trainSplit), 3, numClasses);
  };
  const auto result = fuzzReader(name, write, read);
  expectErrorsSeen(result);
}

TEST(ReaderFuzz, Cifar10BatchesGiveImagesOrADataError) {
  fuzzCifar("cifar10",
            {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
             "test_batch.bin"},
            "cifar-10-batches-bin", 1, 10, readCifar10Directory, test::writeCifar10Directory);
}

TEST(ReaderFuzz, Cifar100FilesGiveImagesOrADataError) {
  fuzzCifar("cifar100", {"train.bin", "test.bin"}, "cifar-100-binary", 2, 100, readCifar100Directory,
            test::writeCifar100Directory);
}

// ----- config JSON -------------------------------------------------------------------------------------

TEST(ReaderFuzz, ConfigFilesGiveAConfigOrAConfigError) {
  std::vector<std::string> seeds;
  seeds.push_back(configToJson(test::tinyTrainConfig("/data/mnist")));
  TrainConfig stepped;
  stepped.optimizer.kind = "sam";
  stepped.schedule = ScheduleKind::Step;
  stepped.stepEpochs = {3, 6};
  stepped.devices = "cpu,cpu";
  seeds.push_back(configToJson(stepped, -1));

  const auto write = [&](FuzzInput& in) {
    const std::string& valid = seeds[in.iteration == 0 ? 0 : in.mutator.below(seeds.size())];
    writeFile(in.directory / "config.json", in.mutate() ? in.mutator.mutateJson(valid) : valid);
  };
  const auto read = [&](const fs::path& directory) {
    const std::string path = (directory / "config.json").string();
    TrainConfig config;
    applyJsonConfigFile(config, path);
    // TrainConfig.h promises that values of the wrong type are errors: every value accepted must be
    // the one the file holds, as configToJson writes it back (json's == compares numbers by value,
    // so 2 and 2.0 are equal, 4294967297 and 1 are not, nor true and 1).
    const auto given = nlohmann::json::parse(test::readText(path));
    const auto kept = nlohmann::json::parse(configToJson(config));
    for (const auto& [key, value] : given.items()) {
      require(kept.contains(key) && kept.at(key) == value,
              "\"" + key + "\": " + value.dump() + " was read as " + (kept.contains(key) ? kept.at(key).dump() : "nothing"));
    }
  };
  const auto result = fuzzReader("config", write, read);
  expectErrorsSeen(result);
}

// ----- run.json ----------------------------------------------------------------------------------------

TEST(ReaderFuzz, RunJsonGivesASavedModelOrAConfigError) {
  // A run directory as the trainer leaves it: run.json from RunDirectoryWriter, final weights and one
  // checkpoint (locateSavedModel only checks that the weights files exist).
  const test::TempDir seeds;
  {
    TrainConfig config = test::tinyTrainConfig("/data/mnist");
    config.outDir = seeds.file("run");
    RunDirectoryWriter writer(config.outDir, config);
    writer.setAnalysisFlags(R"({"analyze-every": 2, "slice": true})");
    TrainingBegin begin;
    begin.modelDescription = "mlp (37,508 parameters)";
    begin.device = "cpu";
    begin.threads = 1;
    begin.epochs = 2;
    writer.onBegin(begin);
    EpochMetrics metrics;
    metrics.epoch = 1;
    writer.onEpochEnd(metrics);
    TrainingResult end;
    end.epochs = {metrics};
    writer.onEnd(end);
  }
  const std::string runJson = test::readText(seeds.file("run/run.json"));
  ASSERT_FALSE(runJson.empty());

  fs::path target;
  const auto write = [&](FuzzInput& in) {
    const fs::path run = in.directory / "run";
    writeFile(run / "run.json", in.mutate() && in.mutator.chance(85) ? in.mutator.mutateJson(runJson) : runJson);
    writeFile(run / "model.pt", std::string("weights"));
    writeFile(run / "checkpoints" / "epoch-001" / "model.pt", std::string("weights"));
    if (!in.mutate() || in.mutator.chance(70)) {
      std::string latest = "epoch-001\n";
      if (in.mutate() && in.mutator.chance(20)) {
        const Bytes mutated = in.mutator.mutateBytes(Bytes(latest.begin(), latest.end()));
        latest.assign(mutated.begin(), mutated.end());
      }
      writeFile(run / "checkpoints" / "latest", latest);
    }
    const fs::path targets[] = {run, run / "model.pt", run / "checkpoints" / "epoch-001", run / "checkpoints"};
    target = targets[in.iteration == 0 ? 0 : in.mutator.below(4)];
  };
  const auto read = [&](const fs::path&) {
    const SavedModel saved = locateSavedModel(target.string());
    require(!saved.weightsPath.empty() && !saved.runDirectory.empty(), "no weights path or run directory");
  };
  const auto result = fuzzReader("runjson", write, read);
  expectErrorsSeen(result);
}

// ----- checkpoints -------------------------------------------------------------------------------------

struct TinyTraining {
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
};

// A network of `name` on 1x12x12 images and its optimizer, as a run builds them.
TinyTraining untrained(const std::string& name, int classes, const std::string& optimizerName) {
  ModelSpec spec;
  spec.name = name;
  spec.imageHeight = 12;
  spec.imageWidth = 12;
  spec.numClasses = classes;
  TinyTraining training;
  {
    const auto lock = lockGlobalGenerator();
    torch::manual_seed(3);
    training.network = makeNetwork(spec);
  }
  OptimizerSpec optimizer;
  optimizer.kind = optimizerName;
  optimizer.base = valueNamed<BaseOptimizerKind>(optimizerName).value();
  training.optimizer = makeOptimizer(training.network->parameters(), optimizer);
  return training;
}

// The same after one step, so that the optimizer's state has momentum buffers (or Adam moments).
TinyTraining tinyTraining(const std::string& name, int classes, const std::string& optimizerName) {
  TinyTraining training = untrained(name, classes, optimizerName);
  Network& network = *training.network;
  training.optimizer->step([&network, classes] {
    for (auto& parameter : network.parameters()) {
      if (parameter.grad().defined()) parameter.grad().zero_();
    }
    const auto loss = torch::nn::functional::cross_entropy(network.forward(torch::ones({4, 1, 12, 12})),
                                                           torch::arange(4) % classes);
    loss.backward();
    return loss.detach();
  });
  return training;
}

TEST(ReaderFuzz, CheckpointsRestoreOrGiveAnError) {
  const test::TempDir seeds;
  TinyTraining training = tinyTraining("mlp", 4, "sgd");
  CheckpointState state;
  state.epochsCompleted = 1;
  state.globalStep = 6;
  state.dataOrderState = "12345 678";
  state.seconds = 0.25;
  EpochMetrics metrics;
  metrics.epoch = 1;
  metrics.validationLoss = 0.5;
  metrics.validationAccuracy = 0.75;
  state.epochs = {metrics};
  const fs::path valid = writeCheckpoint(seeds.file("checkpoints"), *training.network, *training.optimizer, state);
  // Well-formed files of the wrong network or optimizer: a CNN, an MLP for 10 classes, Adam.
  TinyTraining cnn = tinyTraining("cnn", 4, "sgd");
  TinyTraining wide = tinyTraining("mlp", 10, "sgd");
  TinyTraining adam = tinyTraining("mlp", 4, "adam");
  const fs::path foreignCnn = writeCheckpoint(seeds.file("cnn"), *cnn.network, *cnn.optimizer, state);
  const fs::path foreignWide = writeCheckpoint(seeds.file("wide"), *wide.network, *wide.optimizer, state);
  const fs::path foreignAdam = writeCheckpoint(seeds.file("adam"), *adam.network, *adam.optimizer, state);

  const std::string stateJson = test::readText((valid / "state.json").string());
  const Bytes model = readFile(valid / "model.pt");
  const Bytes optimizer = readFile(valid / "optimizer.pt");
  const BinaryLayout modelLayout = zipLayout(model);
  const BinaryLayout optimizerLayout = zipLayout(optimizer);
  const std::vector<std::pair<std::string, Bytes>> foreign = {
      {"model.pt", readFile(foreignCnn / "model.pt")},
      {"model.pt", readFile(foreignWide / "model.pt")},
      {"optimizer.pt", readFile(foreignCnn / "optimizer.pt")},
      {"optimizer.pt", readFile(foreignWide / "optimizer.pt")},
      {"optimizer.pt", readFile(foreignAdam / "optimizer.pt")},
  };

  const auto write = [&](FuzzInput& in) {
    const fs::path checkpoints = in.directory / "checkpoints";
    const fs::path epoch = checkpoints / "epoch-001";
    std::string stateText = stateJson;
    Bytes modelBytes = model;
    Bytes optimizerBytes = optimizer;
    std::string latest = "epoch-001\n";
    if (in.mutate()) {
      const std::uint64_t kind = in.mutator.below(100);
      if (kind < 35) {
        stateText = in.mutator.mutateJson(stateText);
      } else if (kind < 55) {
        modelBytes = in.mutator.mutateBytes(modelBytes, modelLayout);
      } else if (kind < 75) {
        optimizerBytes = in.mutator.mutateBytes(optimizerBytes, optimizerLayout);
      } else if (kind < 85) {
        const Bytes mutated = in.mutator.mutateBytes(Bytes(latest.begin(), latest.end()));
        latest.assign(mutated.begin(), mutated.end());
      } else {
        const auto& [file, bytes] = foreign[in.mutator.below(foreign.size())];
        (file == "model.pt" ? modelBytes : optimizerBytes) = bytes;
      }
    }
    writeFile(epoch / "state.json", stateText);
    writeFile(epoch / "model.pt", modelBytes);
    writeFile(epoch / "optimizer.pt", optimizerBytes);
    writeFile(checkpoints / "latest", latest);
  };
  const auto read = [&](const fs::path& directory) {
    // A fresh network and optimizer each time, as a resumed run has: nothing an earlier input restored
    // can linger in the optimizer's state.
    TinyTraining resumed = untrained("mlp", 4, "sgd");
    const std::string checkpoint = latestCheckpoint((directory / "checkpoints").string());
    readCheckpoint(checkpoint, *resumed.network, *resumed.optimizer);
    // What the resumed run does next: a step with the restored momentum buffers.
    for (auto& parameter : resumed.network->parameters()) parameter.mutable_grad() = torch::zeros_like(parameter);
    try {
      resumed.optimizer->applyGradients();
    } catch (const c10::Error& error) {
      require(false, std::string("the restored optimizer cannot take a step: ") + error.what_without_backtrace());
    }
  };
  const auto result = fuzzReader("checkpoint", write, read);
  expectErrorsSeen(result);
}

// ----- slice directions --------------------------------------------------------------------------------

TEST(ReaderFuzz, DirectionsFilesGiveDirectionsOrADataError) {
  constexpr std::int64_t kParameters = 37;
  SliceDirections directions;
  directions.seed = 7;
  directions.keepOneDimensional = true;
  for (std::int64_t i = 0; i < kParameters; ++i) {
    directions.first.push_back(std::sin(static_cast<double>(i)));
    directions.second.push_back(std::cos(static_cast<double>(i)) * 1e-3);
  }
  const test::TempDir seeds;
  saveDirections(seeds.file("directions.bin"), directions);
  const Bytes valid = readFile(seeds.file("directions.bin"));
  // "SSLSDIR1", then little-endian u64 parameter count, seed and flags; then 2 x count float64.
  const BinaryLayout layout{{{8, 8, false}, {16, 8, false}, {24, 8, false}, {0, 8, false}}, 32, 8};

  std::int64_t expected = -1;
  const auto write = [&](FuzzInput& in) {
    expected = in.iteration == 0 || in.mutator.chance(50) ? kParameters : -1;
    writeFile(in.directory / "directions.bin", in.mutate() ? in.mutator.mutateBytes(valid, layout) : valid);
  };
  const auto read = [&](const fs::path& directory) {
    const SliceDirections loaded = loadDirections((directory / "directions.bin").string(), expected);
    require(loaded.first.size() == loaded.second.size(), "directions of different lengths");
    require(expected < 0 || loaded.parameterCount() == expected, "a different parameter count");
    for (const auto* direction : {&loaded.first, &loaded.second}) {
      for (const double value : *direction) require(std::isfinite(value), "a non-finite entry");
    }
  };
  const auto result = fuzzReader("directions", write, read);
  expectErrorsSeen(result);
}

// ----- the run directory's and the analysis directory's own readers -----------------------------------

// Text mutations of a CSV: the byte mutator on its text, so digits, commas and newlines get hit.
std::string mutatedText(FuzzInput& in, const std::string& valid) {
  if (!in.mutate()) return valid;
  const Bytes mutated = in.mutator.mutateBytes(Bytes(valid.begin(), valid.end()));
  return std::string(mutated.begin(), mutated.end());
}

TEST(ReaderFuzz, MetricsCsvGivesEpochsOrADataError) {
  std::vector<EpochMetrics> epochs;
  for (int epoch = 1; epoch <= 4; ++epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    m.trainLoss = 1.0 / epoch;
    m.testLoss = 1.5 / epoch;
    m.testAccuracy = 0.2 * epoch;
    m.validationLoss = 0.5;
    m.validationAccuracy = 0.6;
    m.learningRate = 0.05;
    m.seconds = 1.25;
    epochs.push_back(m);
  }
  const std::string seeds[] = {metricsCsv(epochs, false), metricsCsv(epochs, true)};
  const auto write = [&](FuzzInput& in) {
    const std::string& valid = seeds[in.iteration == 0 ? 0 : in.mutator.below(2)];
    writeFile(in.directory / "metrics.csv", mutatedText(in, valid));
  };
  const auto read = [&](const fs::path& directory) {
    for (const EpochMetrics& m : readMetricsCsv((directory / "metrics.csv").string())) {
      require(m.epoch >= 1, "epoch " + std::to_string(m.epoch));
      require(m.validationLoss.has_value() == m.validationAccuracy.has_value(), "half a validation pair");
    }
  };
  expectErrorsSeen(fuzzReader("metrics", write, read));
}

TEST(ReaderFuzz, RunJsonGivesItsRecordOrAnError) {
  const test::TempDir seeds;
  {
    TrainConfig config = test::tinyTrainConfig("/data/mnist");
    config.optimizer.kind = "sam";
    config.stepEpochs = {1};
    config.outDir = seeds.file("run");
    RunDirectoryWriter writer(config.outDir, config);
    writer.setAnalysisFlags(R"({"analyze-every": 1, "slice": true, "range": "-0.5:0.5"})");
    TrainingBegin begin;
    begin.stepsPerEpoch = 6;
    writer.onBegin(begin);
    TrainingResult end;
    end.status = RunStatus::Diverged;
    end.message = "loss became nan";
    writer.onEnd(end);
  }
  const std::string runJson = test::readText(seeds.file("run/run.json"));
  const auto write = [&](FuzzInput& in) {
    writeFile(in.directory / "run.json", in.mutate() ? in.mutator.mutateJson(runJson) : runJson);
  };
  const auto read = [&](const fs::path& directory) {
    const RunJson run = readRunJson(directory.string());
    require(run.analysisFlags.is_object(), "analysis flags that are not an object");
    require(run.epochsCompleted >= 0 && run.stepsPerEpoch >= 0, "negative counts");
    // What was read writes back as a config that reads again as the same.
    TrainConfig again;
    applyJsonConfig(again, configToJson(run.config), "round trip");
    require(configToJson(again) == configToJson(run.config), "a config that does not round-trip");
  };
  expectErrorsSeen(fuzzReader("runjson-typed", write, read));
}

TEST(ReaderFuzz, AnalysisDirectoriesGiveResultsOrADataError) {
  // analysis.json as the session writes it (its keys and files), with the files it names.
  SliceGrid grid;
  for (int i = 0; i < 3; ++i) grid.xs.push_back(-1.0 + i);
  grid.ys = grid.xs;
  for (int i = 0; i < 9; ++i) {
    grid.loss.push_back(0.5 + 0.1 * i);
    grid.accuracy.push_back(0.9 - 0.05 * i);
  }
  grid.pointsDone = grid.pointsTotal = 9;
  const test::TempDir seeds;
  writeSliceCsv(seeds.file("slice.csv"), grid);
  writeDensityCsv(seeds.file("esd.csv"), DensityCurve{{-1.0, 0.0, 2.0}, {0.1, 0.5, 0.2}});
  TrajectoryProjection projection;
  projection.xs = {0.5, 0.25};
  projection.ys = {-0.5, 0.0};
  writeTrajectoryCsv(seeds.file("trajectory_on_slice.csv"), {1, 2}, projection);
  InterpolationResult curve;
  curve.ts = {0.0, 0.5, 1.0};
  curve.loss = {0.3, 0.6, 0.4};
  curve.accuracy = {0.9, 0.7, 0.8};
  writeInterpolationCsv(seeds.file("interpolation.csv"), curve);
  const nlohmann::json analysis = {
      {"status", "complete"},
      {"loss", 0.5},
      {"accuracy", 0.875},
      {"hessian", {{"eigenvalues", {3.5, 1.25}}, {"hvp_count", 20}}},
      {"trace", {{"mean", 4.0}, {"stderr", 0.25}}},
      {"m_sharpness", 0.0625},
      {"esd", {{"file", "esd.csv"}}},
      {"slice", {{"grid", 3}, {"range", {-1.0, 1.0}}, {"complete", true}}},
      {"trajectory", {{"file", "trajectory.csv"}, {"slice_file", "trajectory_on_slice.csv"}}},
      {"interpolation", {{"points", 3}, {"file", "interpolation.csv"}}}};
  const std::string json = analysis.dump(2);
  const char* companions[] = {"slice.csv", "esd.csv", "trajectory_on_slice.csv", "interpolation.csv"};
  const auto write = [&](FuzzInput& in) {
    // One file mutated at a time: analysis.json (half the time) or one of the files it names.
    const std::uint64_t target = in.mutate() ? in.mutator.below(8) : 8;
    writeFile(in.directory / "analysis.json", target < 4 ? in.mutator.mutateJson(json) : json);
    for (std::uint64_t i = 0; i < 4; ++i) {
      const std::string valid = test::readText(seeds.file(companions[i]));
      writeFile(in.directory / companions[i], target == 4 + i ? mutatedText(in, valid) : valid);
    }
  };
  const auto read = [&](const fs::path& directory) {
    const AnalysisResults results = readAnalysisDirectory(directory.string());
    const SliceGrid& slice = results.slice;
    require(slice.loss.size() == slice.xs.size() * slice.ys.size(), "a slice of the wrong shape");
    require(slice.pointsDone >= 0 && slice.pointsDone <= slice.pointsTotal, "more points done than the grid has");
    require(results.esd.eigenvalues.size() == results.esd.density.size(), "a density of two lengths");
    require(results.trajectoryOnSlice.xs.size() == results.trajectoryOnSlice.epochs.size(), "a trajectory of two lengths");
    require(results.interpolation.ts.size() == results.interpolation.loss.size(), "an interpolation of two lengths");
  };
  expectErrorsSeen(fuzzReader("analysis", write, read));
}

// ----- the harness itself ------------------------------------------------------------------------------

// The contract checks can fail: each broken reader below is caught, and its input saved.
TEST(ReaderFuzz, TheHarnessRefusesForeignExceptionsHugeAllocationsAndUnnamedErrors) {
  const test::TempDir artifacts;
  fuzz::FuzzSettings settings;
  settings.seconds = 10;
  settings.maxIterations = 40;
  settings.artifactsDir = artifacts.path();
  const auto write = [](FuzzInput& in) {
    writeFile(in.directory / "input", std::string(in.mutate() && in.mutator.chance(50) ? "bad" : "good"));
  };
  const auto isBad = [](const fs::path& directory) { return test::readText((directory / "input").string()) == "bad"; };

  const auto conforming = [&](const fs::path& directory) {
    if (isBad(directory)) throw DataError((directory / "input").string(), "bad input");
  };
  const auto result = fuzzReader("selftest-conforming", write, conforming, {}, settings);
  EXPECT_FALSE(result.failed);
  EXPECT_EQ(result.iterations, 40);
  EXPECT_GT(result.values, 0);
  EXPECT_GT(result.errors, 0);

  EXPECT_NONFATAL_FAILURE(fuzzReader("selftest-foreign", write,
                                     [&](const fs::path& directory) {
                                       if (isBad(directory)) throw std::out_of_range("vector::_M_range_check");
                                     },
                                     {}, settings),
                          "threw std::out_of_range");
  EXPECT_NONFATAL_FAILURE(fuzzReader("selftest-allocation", write,
                                     [&](const fs::path& directory) {
                                       if (!isBad(directory)) return;
                                       try {
                                         // What a reader that trusts a 2^40 size field does; that it
                                         // then reports an Error does not make it right.
                                         std::vector<char> huge(std::size_t{1} << 40);
                                         volatile char first = huge[0];
                                         static_cast<void>(first);
                                       } catch (const std::bad_alloc&) {
                                         throw DataError(directory.string(), "out of memory");
                                       }
                                     },
                                     {}, settings),
                          "tried to allocate 1099511627776 bytes");
  EXPECT_NONFATAL_FAILURE(fuzzReader("selftest-unnamed", write,
                                     [&](const fs::path& directory) {
                                       if (isBad(directory)) throw Error("something is wrong");
                                     },
                                     {}, settings),
                          "does not name the file");
  EXPECT_NONFATAL_FAILURE(fuzzReader("selftest-rejects-valid", write,
                                     [&](const fs::path& directory) {
                                       throw DataError(directory.string(), "never reads anything");
                                     },
                                     {}, settings),
                          "rejected the unmutated valid input");
  // One saved input per failing run, holding the file that broke the contract.
  int saved = 0;
  for (const auto& entry : fs::directory_iterator(artifacts.path())) {
    ++saved;
    EXPECT_TRUE(fs::exists(entry.path() / "input")) << entry.path();
  }
  EXPECT_EQ(saved, 4);
}

}  // namespace
}  // namespace samscape
