#pragma once
// A 2D line plot of several series (Qt Charts): training curves, the Hessian spectrum over epochs,
// the spectral density, the 1D interpolation between two solutions. No training logic: the caller
// hands over plain numbers.

#include <QColor>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <cstddef>
#include <vector>

QT_BEGIN_NAMESPACE
class QGraphicsSimpleTextItem;
class QLabel;
class QChart;
class QChartView;
class QLineSeries;
QT_END_NAMESPACE

namespace samscape::viz {

struct ChartSeries {
  QString name;
  QColor color;
  std::vector<double> xs;
  std::vector<double> ys;  // NaN: no value (drawn as a gap)
  // A reference line (a bound such as the edge of stability, 2/lr): dashed, never smoothed, and it
  // widens the y axis only up to three times the data's largest value, so that a bound far above the
  // data (2/lr as a schedule decays) leaves the data readable; its legend entry then ends with an up
  // arrow (values above the axis).
  bool reference = false;
  // A band around ys, drawn as a filled area from lows to highs in the series' colour at low alpha
  // (a study cell's mean over its seeds with its 95% interval); csv() writes it as two more series,
  // "NAME (95% low)" and "NAME (95% high)". Empty: no band; a NaN: no band at that point. Never
  // smoothed: an interval is a statement about the points it was computed at. (The `{}` lets series
  // written as {name, colour, xs, ys} leave them out under -Wmissing-field-initializers.)
  std::vector<double> lows{};
  std::vector<double> highs{};
  // Whether the legend lists it: a family of series (the eigenvalues λ1..λk of one run) is named once,
  // by its first series, and the faint single runs drawn under their mean do not crowd it, so that
  // the legend never has to cut names to fit.
  bool inLegend = true;
  QString legendName{};  // the legend's text for it when not empty (the CSV and hovering keep `name`)
  // A scatter: a marker at each point, nothing joining them (a study's runs, one point each, in the
  // order the runs are listed rather than along x). Never smoothed; its legend swatch is a dot.
  bool markers = false;
  // How its line is drawn (a reference line is always dashed): several curves of one run in its one
  // colour (the memorization curves: flipped vs clean examples) are told apart by it, and so is its
  // legend swatch.
  Qt::PenStyle penStyle = Qt::SolidLine;
  // Hovering a point shows its note, when it has a non-empty one (an eigenvalue's residual).
  std::vector<QString> pointNotes{};
};

// The exponential moving average shown when smoothing is on: s_0 = y_0, s_i = w s_(i-1) + (1 - w) y_i
// over the finite values in order; a NaN (or infinite) y gives a NaN output and leaves the average
// where it was, so a gap does not pull the curve. weight 0 returns ys unchanged.
std::vector<double> exponentialMovingAverage(const std::vector<double>& ys, double weight);

class LineChart : public QWidget {
  Q_OBJECT

 public:
  explicit LineChart(QWidget* parent = nullptr);
  ~LineChart() override;

  void setTitle(const QString& title);
  void setAxisTitles(const QString& x, const QString& y);
  // Replaces all series. A series with xs and ys of different lengths is drawn up to the shorter one.
  void setSeries(const std::vector<ChartSeries>& series);
  const std::vector<ChartSeries>& series() const { return series_; }
  // Logarithmic y axis (base 10). Values that are not positive cannot be drawn on it and are left out
  // (as gaps), both raw and smoothed; csv() still has them.
  void setLogScale(bool on);
  bool logScale() const { return logScale_; }
  // EMA weight in [0, 1) (values outside are clamped; 0 turns smoothing off). With smoothing the
  // smoothed curve is drawn in the series' colour and the raw curve stays drawn faintly (alpha 60).
  void setSmoothing(double weight);
  double smoothing() const { return smoothing_; }

  // Tidy CSV of the raw values: header "series,x,y", one row per finite point, series in order (each
  // followed by its band's low and high rows when it has one), C locale, 17 significant digits (reads
  // back as the same doubles). Names are quoted when needed (RFC 4180).
  QString csv() const;
  // .png, .svg or .pdf by extension (see exportWidget in viz/FigureExport.h).
  bool exportFigure(const QString& path, QString* error = nullptr);
  // Writes csv() atomically.
  bool exportCsv(const QString& path, QString* error = nullptr) const;

  // What hovering shows for series `index` near `x`: the name and the data point with the nearest x
  // (raw y, and the smoothed y when smoothing is on; the band's interval there when it has one; its
  // note when it has one). Empty
  // for a series without finite points.
  QString valueTextAt(std::size_t index, double x) const;

  QChart* chart() const { return chart_; }
  // The legend under the chart: every listed series' full name, wrapped onto as many lines as needed
  // (never elided: Qt Charts' own legend cuts names to "S..." when ten share a row).
  // One QLabel per entry, laid out in rows that wrap between entries (ChartLegend in LineChart.cpp).
  QWidget* legend() const { return legend_; }
  // The names of the legend's entries, in order.
  const QStringList& legendNames() const { return legendNames_; }
  // The marks on the chart for reference lines above the y axis: "↑ NAME above the axis (from V)".
  QStringList offAxisMarks() const;

 private:
  void rebuild();
  void rebuildLegend(const std::vector<QString>& offAxisNotes);
  void placeOffAxisMarks();
  // Coarsens the y axis's round step until its labels fit the plot's height (a short chart at 1366 x
  // 768 shows three or four whole labels, not six elided ones); again whenever the plot area changes.
  void fitYTicksToHeight();
  void showHover(std::size_t index, const QPointF& point, bool state);

  QChart* chart_ = nullptr;
  QChartView* view_ = nullptr;
  QWidget* legend_ = nullptr;
  QStringList legendNames_;
  std::vector<QGraphicsSimpleTextItem*> offAxisMarks_;  // owned by the chart's scene
  std::vector<ChartSeries> series_;
  bool logScale_ = false;
  double smoothing_ = 0.0;
};

}  // namespace samscape::viz
