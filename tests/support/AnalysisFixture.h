#pragma once
// An analysis' model for the analysis-session tests: the tiny tanh network (TinyTanhNet.h), written with
// 10 outputs (data read from MNIST-format files always has 10 classes), over 40 training and 30 test
// synthetic images in MNIST's format, in a fresh directory.

#include <nlohmann/json.hpp>

#include <string>

#include "analysis/AnalysisSession.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"
#include "tests/support/TinyTanhNet.h"

namespace samscape::test {

constexpr int kMnistClasses = 10;

struct TinyAnalysisFixture {
  TempDir dir;
  AnalysisModel model;

  TinyAnalysisFixture() {
    writeMnistDirectory(dir.file("data"),
                        makeSyntheticImageSet(40, 1, TinyTanhNet::kSide, TinyTanhNet::kSide, TinyTanhNet::kClasses, 3),
                        makeSyntheticImageSet(30, 1, TinyTanhNet::kSide, TinyTanhNet::kSide, TinyTanhNet::kClasses, 4),
                        false);
    model.run.data.kind = DatasetKind::Mnist;
    model.run.data.dataDir = dir.file("data");
    model.run.model.modelFile = TinyTanhNet::write(dir.file("tiny.pt"), 11, kMnistClasses);
    model.run.device = "cpu";
    model.description = "tiny";
  }

  nlohmann::json analysisJson(const std::string& out) const { return nlohmann::json::parse(readText(out + "/analysis.json")); }
};

}  // namespace samscape::test
