// samscape_store_writer_child: records a fake training run into a workspace, epoch by epoch, as
// samscape-cli train does through StoreRecorder. The crash-safety and concurrency tests run it as a
// separate process and kill it, so it reports each committed epoch on stdout ("committed N") right
// after the commit returns: what it printed is known to be in the database.
//
//   samscape_store_writer_child WORKSPACE OUT_DIR EPOCHS [--resume] [--payload N] [--name NAME]
//
// Epoch e records train_loss 1/e, train_acc e/(e+1), test_loss 2/e, test_acc e/(e+2), lr 0.1,
// seconds 0.5, and an analysis "hessian" of N numbers (large transactions widen the windows a kill
// can land in).

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "core/store/RunStore.h"
#include "core/store/StoreRecorder.h"

namespace {

void say(const std::string& line) {
  const std::string text = line + "\n";
  // Unbuffered: the parent must see the line even if this process is killed right after.
  if (::write(STDOUT_FILENO, text.data(), text.size()) < 0) std::_Exit(4);
}

samscape::EpochMetrics metricsOfEpoch(int e) {
  samscape::EpochMetrics m;
  m.epoch = e;
  m.trainLoss = 1.0 / e;
  m.trainAccuracy = e / (e + 1.0);
  m.testLoss = 2.0 / e;
  m.testAccuracy = e / (e + 2.0);
  m.learningRate = 0.1;
  m.seconds = 0.5;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: samscape_store_writer_child WORKSPACE OUT_DIR EPOCHS [--resume] [--payload N] "
                 "[--name NAME]\n";
    return 2;
  }
  bool resuming = false;
  int payload = 0;
  std::string name = "child";
  for (int i = 4; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--resume") resuming = true;
    if (argument == "--payload" && i + 1 < argc) payload = std::atoi(argv[++i]);
    if (argument == "--name" && i + 1 < argc) name = argv[++i];
  }
  try {
    samscape::RunStore store{samscape::Workspace(argv[1])};
    samscape::RunRecord run;
    run.name = name;
    run.outDir = argv[2];
    run.configJson = R"({"epochs": )" + std::string(argv[3]) + "}";
    samscape::StoreRecorder recorder(store, run, resuming);
    say("run " + std::to_string(recorder.runId()));

    samscape::TrainingBegin begin;
    begin.device = "cpu";
    begin.epochs = std::atoi(argv[3]);
    if (resuming) begin.resumedEpochs = store.metrics(recorder.runId());
    recorder.onBegin(begin);
    const int first = begin.resumedEpochs.empty() ? 1 : begin.resumedEpochs.back().epoch + 1;

    std::string values = R"({"eigenvalues": [)";
    for (int i = 0; i < payload; ++i) values += (i ? "," : "") + std::to_string(1000.0 / (i + 1));
    values += "]}";
    for (int e = first; e <= begin.epochs; ++e) {
      recorder.onEpochEnd(metricsOfEpoch(e));
      say("committed " + std::to_string(e));
      if (payload > 0) {
        samscape::AnalysisRecord analysis;
        analysis.runId = recorder.runId();
        analysis.epoch = e;
        analysis.kind = "hessian";
        analysis.valuesJson = values;
        store.recordAnalysis(analysis);
      }
    }
    samscape::TrainingResult result;
    result.seconds = 1.0;
    recorder.onEnd(result);
    say("done");
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "samscape_store_writer_child: " << error.what() << "\n";
    return 1;
  }
}
