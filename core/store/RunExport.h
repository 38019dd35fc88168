#pragma once
// Exporting runs from the store as CSV files for papers and plots (samscape-cli export):
//   metrics.csv         tidy: run,epoch,metric,value (one row per run, epoch and metric)
//   runs.csv            wide: one row per run: id, name, status, tags, times, device, out_dir, the
//                       config's keys (config.<key>, sorted), then final_<metric> and best_<metric>
//                       (lowest loss, highest accuracy) of every metric any exported run has
//   analysis.csv        tidy: run,epoch,kind,key,index,value for every number in the analysis
//                       results (arrays one row per element, index from 0; nested keys joined by '.';
//                       true/false as 1/0)
//   analysis_files.csv  run,epoch,kind,role,path of the analyses' files; .csv files among them are
//                       copied into files/run-<id>/ and the path names the copy
//   analyses.json       every analysis result whole, text fields (a solver's status) included
// Each file is written to a temporary name and renamed, so a reader never sees half a file.

#include <cstdint>
#include <string>
#include <vector>

#include "core/store/RunStore.h"

namespace samscape {

struct ExportSummary {
  std::vector<std::string> files;  // written, absolute
  std::size_t metricRows = 0;
  std::size_t analysisRows = 0;
};

// Writes the files above for `runIds` (in that order) into `directory`, creating it when needed.
// Throws ConfigError naming --out when the directory cannot be created or written.
ExportSummary exportRuns(const RunStore& store, const std::vector<std::int64_t>& runIds,
                         const std::string& directory);

// A CSV field as RFC 4180 wants it: quoted (with quotes doubled) when it holds a comma, a quote or a
// line break, as is otherwise.
std::string csvField(const std::string& text);

// The shortest text that reads back as exactly `value` ("nan", "inf", "-inf" for the others).
std::string formatNumber(double value);

}  // namespace samscape
