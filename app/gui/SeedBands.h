#pragma once
// The runs of one study cell (a grid point that a study ran over seeds) drawn as one curve: their mean
// at each epoch or analysis point with its 95% interval over the seeds (Student's t, as the Study page
// and the paper's error bars compute it). The curves page draws the band and the single runs faintly.
// TensorBoard cannot group runs this way (tensorflow/tensorboard#376): each run is its own curve there.

#include <QString>

#include <cstddef>
#include <vector>

#include "gui/RunController.h"

namespace samscape::gui {

// A cell of a study with two or more of the runs shown, and those runs in the order they are shown.
struct SeedGroup {
  QString study;
  // The cell's label ("optimizer=sam rho=0.05") as its runs' names give it ("<study>/<label> seed S",
  // the names a study records), or its directory name when they do not.
  QString cell;
  std::vector<int> runs;
};

// The groups among `ids`, by the place of each run's directory in its study (session/Study.h:
// studyRunPlace), in the order of their first run. Cells with a single run shown are none: such a run
// is drawn as any other.
std::vector<SeedGroup> seedGroups(const RunController& controller, const std::vector<int>& ids);

// One run's values at its epochs (or analysed epochs): keys[i] is the epoch of (xs[i], ys[i]).
struct SeedCurve {
  std::vector<int> keys;
  std::vector<double> xs;
  std::vector<double> ys;  // NaN: no value
};

// The seeds summarized at each key that any of them has, in increasing order: the mean of the finite
// values there (NaN when none), the 95% interval of that mean (NaN where fewer than two seeds have a
// value), how many seeds have one, and x as the mean of their xs (the same for every seed on the epoch
// and step axes; wall times differ from seed to seed).
struct SeedBand {
  std::vector<int> keys;
  std::vector<double> xs;
  std::vector<double> means;
  std::vector<double> lows;
  std::vector<double> highs;
  std::vector<std::size_t> counts;
};
SeedBand seedBand(const std::vector<SeedCurve>& seeds);

// The legend entry of a group's mean: "<cell> mean ± 95% CI (<n> seeds)".
QString seedBandName(const QString& cell, std::size_t seeds);

}  // namespace samscape::gui
