#pragma once
// What the store tests share: a workspace in a temporary directory, runs with known metrics, and
// running samscape_store_writer_child as a separate process whose stdout the test reads.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "core/store/RunStore.h"
#include "tests/support/TempDir.h"

namespace samscape::test {

// Metrics with values that differ per run, epoch and metric, so a value in the wrong cell shows.
inline EpochMetrics knownMetrics(int run, int epoch, bool withValidation = false) {
  EpochMetrics m;
  m.epoch = epoch;
  m.trainLoss = 2.0 + run - 0.25 * epoch;
  m.trainAccuracy = 0.1 * epoch + 0.01 * run;
  m.testLoss = 3.0 + run - 0.125 * epoch;
  m.testAccuracy = 0.05 * epoch + 0.001 * run;
  if (withValidation) {
    m.validationLoss = 4.0 - 0.5 * epoch;
    m.validationAccuracy = 0.2 * epoch;
  }
  m.learningRate = 0.1 / epoch;
  m.seconds = 1.5 * epoch;
  return m;
}

// A child process with its stdout on a pipe.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& arguments,
                        const std::string& stderrPath = "/dev/null") {
    int pipeEnds[2];
    if (::pipe(pipeEnds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(pipeEnds[1], STDOUT_FILENO);
      ::close(pipeEnds[0]);
      ::close(pipeEnds[1]);
      const int err = ::open(stderrPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err < 0 || ::dup2(err, STDERR_FILENO) < 0) ::_exit(126);
      std::vector<char*> argv;
      for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(pipeEnds[1]);
    readEnd_ = pipeEnds[0];
  }
  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (readEnd_ >= 0) ::close(readEnd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line of stdout; empty at end of file. Fails the test after `timeoutSeconds`.
  std::string readLine(int timeoutSeconds = 60) {
    for (;;) {
      const auto newline = buffered_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffered_.substr(0, newline);
        buffered_.erase(0, newline + 1);
        return line;
      }
      pollfd descriptor{readEnd_, POLLIN, 0};
      const int ready = ::poll(&descriptor, 1, timeoutSeconds * 1000);
      if (ready <= 0) {
        ADD_FAILURE() << "the child wrote nothing for " << timeoutSeconds << " s";
        return "";
      }
      char chunk[4096];
      const ssize_t count = ::read(readEnd_, chunk, sizeof chunk);
      if (count <= 0) {
        std::string rest = buffered_;
        buffered_.clear();
        return rest;
      }
      buffered_.append(chunk, static_cast<std::size_t>(count));
    }
  }

  void kill() { ::kill(pid_, SIGKILL); }

  // Waits for the exit; returns the exit code, or 128 + signal for a killed process.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int readEnd_ = -1;
  bool reaped_ = false;
  std::string buffered_;
};

}  // namespace samscape::test
