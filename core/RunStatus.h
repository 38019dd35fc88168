#pragma once
// Where a run stands, with one name each wherever samscape shows or stores it: the trainer's result
// (finished, diverged, cancelled), run.json, the store's runs table, `runs list` and the app's table.
// Plain C++: the store and the GUI use it without LibTorch.

#include <ostream>

#include "core/NamedEnum.h"

namespace samscape {

enum class RunStatus { Queued, Running, Finished, Diverged, Failed, Cancelled, Interrupted };
inline const EnumNames<RunStatus>& names(RunStatus) {
  static const EnumNames<RunStatus> list{{RunStatus::Queued, "queued"},     {RunStatus::Running, "running"},
                                         {RunStatus::Finished, "finished"}, {RunStatus::Diverged, "diverged"},
                                         {RunStatus::Failed, "failed"},     {RunStatus::Cancelled, "cancelled"},
                                         {RunStatus::Interrupted, "interrupted"}};
  return list;
}

// Whether a run with this status has ended (all but queued and running).
inline bool isFinalRunStatus(RunStatus status) { return status != RunStatus::Queued && status != RunStatus::Running; }

// Its name, in messages and test output.
inline std::ostream& operator<<(std::ostream& out, RunStatus status) { return out << nameOf(status); }

}  // namespace samscape
