#pragma once
// One colour per run, the same in every view and every session: a run's curves, its landscape title
// and its row in the run list can then be matched by eye.

#include <QColor>

#include <cstdint>

namespace samscape::viz {

// Tableau 10 (a qualitative palette designed for telling categories apart), indexed by the run id
// modulo 10: ten consecutive ids get ten different colours; ids 10 apart share one.
QColor runColor(std::int64_t runId);

}  // namespace samscape::viz
