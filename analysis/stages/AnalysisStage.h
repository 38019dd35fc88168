#pragma once
// One analysis as a stage of the analysis job: what the job runs, what analysis.json holds of it, how
// it reads back, what the run store records of it and which metrics it measures, all in the stage's
// own file (analysis/stages/<Name>Stage.cpp). The job (AnalysisSession), the reader
// (readAnalysisDirectory), the store's records (session/AnalysisRecords) and the metric list
// (analysis/Metrics.h) walk the registered stages (Stages.cpp) and name none of them.
//
// A new analysis: its stage file, one line in Stages.cpp, its options in AnalysisOptions (and a view,
// if it draws). Plain C++ and JSON here; the LibTorch side (the model, the data) is in StageContext.h.

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/AnalysisOptions.h"
#include "analysis/AnalysisResults.h"
#include "core/MetricDefinition.h"

namespace samscape {

struct StageContext;
struct StageSession;
class AnalysisJsonReader;

// One run-store record of an analysis (core/store's AnalysisRecord without the run and epoch): its
// kind, its values and its files as (role, name in the analysis directory).
struct StageRecord {
  std::string kind;
  nlohmann::json values;
  std::vector<std::pair<std::string, std::string>> files;
};

class AnalysisStage {
 public:
  virtual ~AnalysisStage() = default;

  // For progress and messages ("the analysis' hessian stage"): "loss", "hessian", "m_sharpness", ...
  virtual std::string name() const = 0;
  virtual bool requested(const AnalysisRequest& request) const = 0;
  // Whether it runs on the job's shared Hessian operator (StageContext::hessian): the operator lives
  // from the first such stage to the last consecutive one.
  virtual bool usesHessian() const { return false; }

  // Once, when the session is made, before any analysis: loads what the stage needs beyond the
  // session's model and data (another model, a plane), so that a bad path fails before any work.
  virtual void prepare(const StageSession& /*session*/) {}
  // Computes on the context's network and data, writes its files and its part of analysis.json
  // (context.document) and fills its part of context.results. Checks context.cancelled() where it can
  // stop; a Hessian product throws AnalysisCancelled (StageContext.h) when cancelled.
  virtual void run(StageContext& context) = 0;

  // Its part of an analysis.json read back (and the files it names) into `results`; nothing when the
  // document has no part of it. Throws DataError naming the file.
  virtual void read(const AnalysisJsonReader& reader, AnalysisResults& results) const = 0;
  // Its run-store records from analysis.json's content; none when the document has no part of it.
  virtual void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const = 0;
  // The metrics it puts in AnalysisResults::metrics.
  virtual std::vector<MetricDefinition> metrics() const { return {}; }
};

// analysis.json's document, with the checks every stage's reader uses: each throws DataError naming
// the file and the field.
class AnalysisJsonReader {
 public:
  AnalysisJsonReader(const nlohmann::json& document, std::string directory);

  const nlohmann::json& document() const { return document_; }
  // DIR/name.
  std::string file(const std::string& name) const;
  // The object under `key`, or null when absent; an error when it is not an object.
  const nlohmann::json* section(const char* key) const;
  // A number, or nullopt when absent or null (the writer turns NaN and infinities into null).
  std::optional<double> optionalNumber(const nlohmann::json& object, const char* key, const std::string& where) const;
  // A list of numbers (an error for anything else).
  std::vector<double> numbers(const nlohmann::json& list, const std::string& where) const;
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  const nlohmann::json& document_;
  std::string directory_;
  std::string path_;
};

// The registered stages, in the order the job runs them: one instance each for reading, recording
// and listing metrics (their run state is unused; const).
const std::vector<std::unique_ptr<AnalysisStage>>& analysisStages();
// Fresh instances for one session, which keep their own state between its analyses (the slice's
// directions, Lanczos' warm start).
std::vector<std::unique_ptr<AnalysisStage>> makeAnalysisStages();

// NaN and infinities are not JSON: they become null.
inline nlohmann::json jsonNumber(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

}  // namespace samscape
