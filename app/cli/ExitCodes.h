#pragma once
// The exit codes every samscape-cli command shares (README: "Exit codes").

namespace samscape::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitInternalError = 1,
  kExitUsage = 2,  // a bad flag, value or file: one line on stderr naming it
  kExitDiverged = 3,
  kExitDistributed = 4,  // another rank of a multi-process job died, hung past --dist-timeout or disagreed
  kExitOutOfMemory = 5,  // memory ran out in a stage (the message names it); what had finished is kept
  kExitCancelled = 130,
};

}  // namespace samscape::cli
