#include "cli/LaunchCommand.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>

#include "cli/ExitCodes.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/options/OptionCost.h"

namespace samscape::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Signals reach the launcher through a pipe, so the main loop sees them in poll() (self-pipe trick).
int signalPipe[2] = {-1, -1};

extern "C" void onLauncherSignal(int signal) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] const auto written = write(signalPipe[1], &byte, 1);
  errno = saved;
}

// A port that was free a moment ago on the loopback interface (the kernel's pick for port 0).
int freeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(std::string("launch: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw Error(std::string("launch: cannot find a free port: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(address.sin_port);
}

struct Rank {
  int index = 0;
  pid_t pid = -1;
  int outputFd = -1;   // the read end of its stdout+stderr pipe; -1 for rank 0 (passed through)
  std::string pending;  // an unfinished line of its output
  std::optional<int> exitCode;
};

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitInternalError;
}

std::string describeExit(int status) {
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

void writeAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t written = write(fd, text.data() + done, text.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    done += static_cast<std::size_t>(written);
  }
}

// Passes a rank's complete lines to stderr, each prefixed with its rank.
void relayOutput(Rank& rank, bool flushPartial) {
  std::size_t start = 0;
  for (std::size_t newline; (newline = rank.pending.find('\n', start)) != std::string::npos; start = newline + 1) {
    writeAll(STDERR_FILENO, "[rank " + std::to_string(rank.index) + "] " + rank.pending.substr(start, newline + 1 - start));
  }
  rank.pending.erase(0, start);
  if (flushPartial && !rank.pending.empty()) {
    writeAll(STDERR_FILENO, "[rank " + std::to_string(rank.index) + "] " + rank.pending + "\n");
    rank.pending.clear();
  }
}

// What one rank takes at the least: LibTorch's libraries and allocator, a dataset and a small model
// (a `train --model mlp` rank's resident memory is above this).
constexpr double kRankBytes = 256.0 * 1024.0 * 1024.0;

}  // namespace

LaunchCommand::LaunchCommand(CLI::App& parent) {
  command_ = parent.add_subcommand("launch", "Run N ranks of a multi-process job on this machine: launch --nproc N -- train ...");
  auto* app = command_;
  app->add_option("--nproc", processes_, "Number of processes (ranks) to start")->required();
  app->add_option("--master-port", masterPort_, "Rendezvous port (default: a free loopback port)");
  app->add_option("--master-addr", masterAddress_, "Rendezvous address given to the ranks")->capture_default_str();
  app->add_option("--grace", graceSeconds_, "Seconds the other ranks get to stop after one fails, before SIGKILL")
      ->capture_default_str();
  app->add_option("command", rankCommand_, "The samscape-cli command each rank runs (after --), e.g. train --epochs 3")
      ->required();
}

int LaunchCommand::run() {
  if (processes_ < 1) throw ConfigError("--nproc", std::to_string(processes_), "must be at least 1");
  // Each rank is a whole process with LibTorch, the data and the model: at least kRankBytes each.
  const double machine = machineMemoryBytes();
  if (machine > 0.0 && static_cast<double>(processes_) * kRankBytes > machine) {
    throw ResourceError("--nproc", std::to_string(processes_),
                        OptionCost{static_cast<double>(processes_) * kRankBytes, 0.0,
                                   std::to_string(processes_) + " processes of at least " + formatBytes(kRankBytes) +
                                       " each (LibTorch, the data, the model)"},
                        machine);
  }
  if (masterPort_ < 0 || masterPort_ > 65535) {
    throw ConfigError("--master-port", std::to_string(masterPort_), "must be a TCP port, 1 to 65535 (or 0: a free one)");
  }
  if (!(graceSeconds_ >= 0.0)) throw ConfigError("--grace", std::to_string(graceSeconds_), "must be 0 or more seconds");
  if (rankCommand_.front() != "train" && rankCommand_.front() != "analyze") {
    throw ConfigError("launch", rankCommand_.front(),
                      "only `train` and `analyze` run as multi-process jobs (launch --nproc N -- train ...)");
  }
  const int port = masterPort_ != 0 ? masterPort_ : freeLoopbackPort();

  if (pipe2(signalPipe, O_CLOEXEC | O_NONBLOCK) != 0) throw Error(std::string("launch: pipe: ") + std::strerror(errno));
  struct sigaction action {};
  action.sa_handler = onLauncherSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);

  std::vector<Rank> ranks(static_cast<std::size_t>(processes_));
  const pid_t launcher = getpid();
  for (int index = 0; index < processes_; ++index) {
    Rank& rank = ranks[static_cast<std::size_t>(index)];
    rank.index = index;
    int output[2] = {-1, -1};
    if (index != 0 && pipe2(output, O_CLOEXEC) != 0) throw Error(std::string("launch: pipe: ") + std::strerror(errno));
    const pid_t pid = fork();
    if (pid < 0) throw Error(std::string("launch: fork: ") + std::strerror(errno));
    if (pid == 0) {
      // Its own process group, so that a Ctrl-C at the terminal reaches the launcher alone, which
      // forwards it exactly once (a second SIGINT would kill a rank outright); and SIGTERM should the
      // launcher die, so no rank outlives it.
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != launcher) _exit(kExitInternalError);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      if (index != 0) {
        dup2(output[1], STDOUT_FILENO);
        dup2(output[1], STDERR_FILENO);
      }
      setenv("MASTER_ADDR", masterAddress_.c_str(), 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("RANK", std::to_string(index).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(processes_).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(index).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(processes_).c_str(), 1);
      std::vector<char*> arguments;
      std::string program = "samscape-cli";
      arguments.push_back(program.data());
      for (auto& word : rankCommand_) arguments.push_back(word.data());
      arguments.push_back(nullptr);
      execv("/proc/self/exe", arguments.data());
      std::cerr << "samscape-cli launch: cannot run this executable again: " << std::strerror(errno) << "\n";
      _exit(kExitInternalError);
    }
    rank.pid = pid;
    if (index != 0) {
      close(output[1]);
      rank.outputFd = output[0];
    }
  }

  std::optional<int> failure;  // the exit code of the first rank that failed
  bool interrupted = false;   // Ctrl-C was forwarded: the ranks are stopping together
  // When the ranks still running after a failure get SIGKILL (a plain pair rather than an optional:
  // GCC's -O3 warns about an optional time_point as maybe uninitialized).
  bool killPending = false;
  Clock::time_point killAt{};
  auto stopOthers = [&](int signal) {
    for (const auto& rank : ranks) {
      if (!rank.exitCode) kill(rank.pid, signal);
    }
  };
  auto running = [&] {
    int count = 0;
    for (const auto& rank : ranks) count += rank.exitCode ? 0 : 1;
    return count;
  };

  while (running() > 0) {
    std::vector<pollfd> watched{{signalPipe[0], POLLIN, 0}};
    std::vector<Rank*> watchedRanks{nullptr};
    for (auto& rank : ranks) {
      if (rank.outputFd >= 0) {
        watched.push_back({rank.outputFd, POLLIN, 0});
        watchedRanks.push_back(&rank);
      }
    }
    poll(watched.data(), watched.size(), 100);
    if (watched[0].revents & POLLIN) {
      unsigned char signal = 0;
      while (read(signalPipe[0], &signal, 1) == 1) {
        // Ctrl-C: every rank stops after the same step (they agree on it) and keeps its files.
        interrupted = interrupted || signal == SIGINT;
        stopOthers(signal == SIGINT ? SIGINT : SIGTERM);
      }
    }
    for (std::size_t i = 1; i < watched.size(); ++i) {
      if ((watched[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      Rank& rank = *watchedRanks[i];
      char buffer[4096];
      const ssize_t count = read(rank.outputFd, buffer, sizeof buffer);
      if (count > 0) {
        rank.pending.append(buffer, static_cast<std::size_t>(count));
        relayOutput(rank, false);
      } else if (count == 0 || errno != EINTR) {
        relayOutput(rank, true);
        close(rank.outputFd);
        rank.outputFd = -1;
      }
    }
    int status = 0;
    for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
      for (auto& rank : ranks) {
        if (rank.pid != pid) continue;
        rank.exitCode = exitCodeOf(status);
        if (*rank.exitCode != kExitOk && !failure) {
          failure = rank.exitCode;
          if (running() > 0 && !interrupted) {
            std::cerr << "samscape-cli launch: rank " << rank.index << " " << describeExit(status)
                      << "; stopping the other ranks\n";
            stopOthers(SIGTERM);
            killPending = true;
            killAt = Clock::now() + std::chrono::milliseconds(static_cast<long>(graceSeconds_ * 1000.0));
          }
        }
      }
    }
    if (killPending && Clock::now() >= killAt) {
      stopOthers(SIGKILL);
      killPending = false;
    }
  }
  for (auto& rank : ranks) {
    if (rank.outputFd < 0) continue;
    char buffer[4096];
    for (ssize_t count; (count = read(rank.outputFd, buffer, sizeof buffer)) > 0;) {
      rank.pending.append(buffer, static_cast<std::size_t>(count));
    }
    relayOutput(rank, true);
    close(rank.outputFd);
  }
  return failure.value_or(kExitOk);
}

}  // namespace samscape::cli
