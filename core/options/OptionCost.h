#pragma once
// What an option's value costs the job it configures: the memory it makes the job hold and the work it
// makes the job do. A mistyped size (--grid 100000, --esd-steps 100000000) must be refused before any
// work starts, with one line naming the flag, the value, the memory it would take and the machine's,
// instead of being found by the kernel's out-of-memory killer; a long job is allowed but says how long.
// Each option states its own cost where it is defined (OptionTable.h's `cost`), from the job's shape,
// which the job measures once its model and data are loaded (core/train/ResourceProbe.h).
// Plain C++: no LibTorch, Qt or CLI11.

#include <cstdint>
#include <string>

#include "core/Error.h"

namespace samscape {

// What a job runs on, known before its work starts.
struct JobShape {
  std::int64_t parameters = 0;          // the model's trainable parameters
  std::int64_t trainExamples = 0;       // the training examples a run's epochs go over
  std::int64_t evaluationExamples = 0;  // the examples an analysis (or a run's evaluation) goes over
  std::int64_t imageBytes = 0;          // one example's pixels (uint8)
  int layers = 0;                       // the model's modules with parameters (per-layer analyses)
  int valueBytes = 8;                   // the width of the analysis' numbers (8: float64, 4: float32)
  // Memory held per example while a batch is in flight, measured on a few examples: a forward pass,
  // a gradient (forward with autograd, then backward) and a Hessian-vector product (double backward).
  double evaluationBytesPerExample = 0.0;
  double gradientBytesPerExample = 0.0;
  double hessianProductBytesPerExample = 0.0;
  bool footprintMeasured = false;  // false: the device's memory is not this machine's (CUDA): not checked
  // Seconds per example of the same passes, measured alongside (for estimates of the time).
  double evaluationSecondsPerExample = 0.0;
  double gradientSecondsPerExample = 0.0;
  double hessianProductSecondsPerExample = 0.0;
  double machineBytes = 0.0;  // the memory this process may use: physical memory, or its cgroup's limit
};

// The cost of one option's value. Zero fields: the value costs nothing worth checking.
struct OptionCost {
  double bytes = 0.0;    // memory held at once because of this value
  double seconds = 0.0;  // time the work it asks for takes, at the measured speeds
  std::string what;      // what takes the memory or the time, for the messages ("a 51 x 51 slice grid")
};

// An option whose work is estimated to take long: shown when the job starts.
struct WorkEstimate {
  std::string flag;
  std::string value;
  double seconds = 0.0;
  std::string what;
};

// The value of a size option needs more memory than the machine has. A ConfigError (exit code 2),
// naming the flag, the value, the memory it would take and the machine's memory.
class ResourceError : public ConfigError {
 public:
  ResourceError(const std::string& flag, const std::string& value, const OptionCost& cost, double machineBytes);
};

// Memory ran out while a stage ran (std::bad_alloc, LibTorch's allocator refusing): the stage's name
// and what was asked, instead of "internal error".
class OutOfMemoryError : public Error {
 public:
  OutOfMemoryError(const std::string& stage, const std::string& detail);
};

// Called inside a catch block: rethrows the exception being handled as OutOfMemoryError naming `stage`
// when it is memory running out (std::bad_alloc, LibTorch's CPU or CUDA allocator refusing), and as
// it is otherwise. (Defined in core/train/ResourceProbe.cpp, beside LibTorch.)
[[noreturn]] void rethrowOutOfMemoryAs(const std::string& stage);

// "1.5 GiB", "730 MiB", "12 KiB".
std::string formatBytes(double bytes);
// "45 s", "12 min", "3.2 h", "4.1 days", "6.3 years".
std::string formatDuration(double seconds);

// Work above this many seconds is announced at the start with its estimate.
constexpr double kLongWorkSeconds = 600.0;

}  // namespace samscape
