#include "gui/SeedBands.h"

#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/Statistics.h"
#include "session/Study.h"

namespace samscape::gui {

std::vector<SeedGroup> seedGroups(const RunController& controller, const std::vector<int>& ids) {
  std::vector<SeedGroup> groups;
  std::map<std::pair<std::string, std::string>, std::size_t> indexOf;  // (study, cell directory)
  for (int id : ids) {
    const GuiRun* run = controller.run(id);
    if (run == nullptr) continue;
    const auto place = studyRunPlace(run->spec.config.outDir);
    if (!place) continue;
    const auto key = std::make_pair(place->study, place->cellDirectory);
    auto found = indexOf.find(key);
    if (found == indexOf.end()) {
      SeedGroup group;
      group.study = QString::fromStdString(place->study);
      group.cell = QString::fromStdString(place->cellDirectory);
      // A study records its runs as "<study>/<label> seed S": the label reads better than the directory.
      const QRegularExpression named("^" + QRegularExpression::escape(group.study) + "/(.+) seed \\d+$");
      const QRegularExpressionMatch match = named.match(run->name());
      if (match.hasMatch()) group.cell = match.captured(1);
      found = indexOf.emplace(key, groups.size()).first;
      groups.push_back(std::move(group));
    }
    groups[found->second].runs.push_back(id);
  }
  std::vector<SeedGroup> several;
  for (SeedGroup& group : groups) {
    if (group.runs.size() >= 2) several.push_back(std::move(group));
  }
  return several;
}

SeedBand seedBand(const std::vector<SeedCurve>& seeds) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  struct Point {
    std::vector<double> values;
    std::vector<double> xs;
  };
  std::map<int, Point> points;
  for (const SeedCurve& seed : seeds) {
    const std::size_t count = std::min({seed.keys.size(), seed.xs.size(), seed.ys.size()});
    for (std::size_t i = 0; i < count; ++i) {
      Point& point = points[seed.keys[i]];
      if (std::isfinite(seed.ys[i])) point.values.push_back(seed.ys[i]);
      if (std::isfinite(seed.xs[i])) point.xs.push_back(seed.xs[i]);
    }
  }
  SeedBand band;
  for (const auto& [key, point] : points) {
    const SampleSummary summary = summarize(point.values);
    double x = kNaN;
    if (!point.xs.empty()) {
      x = 0.0;
      for (double value : point.xs) x += value;
      x /= static_cast<double>(point.xs.size());
    }
    band.keys.push_back(key);
    band.xs.push_back(x);
    band.means.push_back(summary.count > 0 ? summary.mean : kNaN);
    band.lows.push_back(summary.hasInterval() ? summary.ci95Low : kNaN);
    band.highs.push_back(summary.hasInterval() ? summary.ci95High : kNaN);
    band.counts.push_back(summary.count);
  }
  return band;
}

QString seedBandName(const QString& cell, std::size_t seeds) {
  return QString("%1 mean ± 95% CI (%2 seeds)").arg(cell).arg(seeds);
}

}  // namespace samscape::gui
