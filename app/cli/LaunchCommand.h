#pragma once
// `samscape-cli launch --nproc N -- train ...`: runs N ranks of a multi-process job on this machine,
// the way torchrun does: N copies of this executable with MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
// and LOCAL_RANK set (a free loopback port unless --master-port says otherwise). Rank 0's output
// passes through; the others' is prefixed "[rank N] ". Ctrl-C is forwarded once to every rank (they
// then agree to stop after the same step). When a rank fails, the others are stopped (SIGTERM, then
// SIGKILL after --grace seconds) and launch exits with the failing rank's code.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace samscape::cli {

class LaunchCommand {
 public:
  explicit LaunchCommand(CLI::App& parent);
  bool selected() const { return command_->parsed(); }
  int run();

 private:
  CLI::App* command_;
  int processes_ = 0;
  int masterPort_ = 0;
  std::string masterAddress_ = "127.0.0.1";
  double graceSeconds_ = 10.0;
  std::vector<std::string> rankCommand_;
};

}  // namespace samscape::cli
