#pragma once
// A study's figure: one panel per metric, one bar per cell at its mean over seeds, with the 95%
// confidence interval as an error bar and the seeds' values as dots (or, for a study along a numeric
// option, one curve per group of cells over that option, each mean with its interval). Drawn with QPainter only, so the
// same drawing serves the app's Study page (StudyChartWidget, viz/) and the command line's study.svg
// and study.png (library samscape_study_chart: Qt Gui and Svg, no widgets, no VTK).

#include <QColor>
#include <QRectF>
#include <QString>
#include <cstddef>
#include <vector>

class QPainter;

namespace samscape::viz {

struct StudyChartBar {
  QString label;             // the cell: "optimizer=sam rho=0.1"
  double mean = 0.0;         // NaN: nothing measured yet (no bar)
  double low = 0.0;          // the interval; NaN when fewer than two seeds are in
  double high = 0.0;
  std::vector<double> values;  // each seed's value
  QString note;              // under the label: "3/3 seeds"
};

// A curve over a numeric option (label noise, m): its cells' means joined, each with its interval.
struct StudyChartLine {
  QString name;  // the cells it joins: "optimizer=sam"
  std::vector<double> xs;
  std::vector<StudyChartBar> points;  // at xs, as bars would show them (label unused)
};

// One run in a scatter panel, coloured as its cell (studyCellColor).
struct StudyChartPoint {
  double x = 0.0;
  double y = 0.0;
  std::size_t cell = 0;
};

struct StudyChartPanel {
  QString title;  // the metric: "test_acc"
  std::vector<StudyChartBar> bars;
  // Instead of bars: curves over `xTitle`, drawn when not empty.
  QString xTitle;
  std::vector<StudyChartLine> lines;
  // Instead of bars or curves: a scatter of runs (x over `xTitle`, y over `yTitle`), drawn when
  // `scatter` is set, with a legend of `cells` (the names by cell index).
  bool scatter = false;
  QString yTitle;
  std::vector<StudyChartPoint> points;
  std::vector<QString> cells;
};

struct StudyChartData {
  QString title;
  std::vector<StudyChartPanel> panels;
};

// The colour of the study's cell `index` (its bar's, in the order of the study's cells); the app's
// scatters of runs use it too, so that a cell reads the same in both.
QColor studyCellColor(std::size_t index);

// Paints the figure into `area` (white background, panels side by side).
void paintStudyChart(QPainter& painter, const QRectF& area, const StudyChartData& data);

// Writes the figure as .svg (vector) or .png (raster, twice `width` x `height` pixels) by extension,
// atomically. Needs a QGuiApplication for its fonts; creates an offscreen one when none exists.
// Returns "" or a message naming the path.
QString writeStudyChart(const StudyChartData& data, const QString& path, int width = 0, int height = 420);

}  // namespace samscape::viz
