#include "viz/LineChart.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QCursor>
#include <QFontMetricsF>
#include <QGraphicsLayout>
#include <QGraphicsSimpleTextItem>
#include <QLabel>
#include <QPalette>
#include <QResizeEvent>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

#include "viz/FigureExport.h"

namespace samscape::viz {

namespace {

constexpr int kRawAlpha = 60;
constexpr int kBandAlpha = 50;

QString number(double value) { return QString::number(value, 'g', 17); }

// RFC 4180: quote a field holding a comma, a quote or a line break; double the quotes inside.
QString csvField(const QString& text) {
  if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
      !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r'))) {
    return text;
  }
  QString quoted = text;
  quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
  return QLatin1Char('"') + quoted + QLatin1Char('"');
}

// A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` intervals over `span`.
double niceStep(double span, int ticks) {
  if (!(span > 0.0) || !std::isfinite(span)) return 1.0;
  const double raw = span / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction < 1.5 ? 1.0 : fraction < 3.5 ? 2.0 : fraction < 7.5 ? 5.0 : 10.0;
  return nice * magnitude;
}

// The round step after `step`: 1 -> 2 -> 5 -> 10 times its power of ten.
double nextNiceStep(double step) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(step)));
  const double fraction = std::round(step / magnitude);
  return (fraction < 2.0 ? 2.0 : fraction < 5.0 ? 5.0 : 10.0) * magnitude;
}

// How many multiples of `step` lie in [min, max] (with room for rounding at both ends).
int ticksWithin(double min, double max, double step) {
  const double slack = 1e-9 * step;
  return static_cast<int>(std::floor((max + slack) / step) - std::ceil((min - slack) / step)) + 1;
}

// Qt Charts keeps this much room above and below each label of a vertical axis
// (ChartAxisElement::labelPadding), and elides a label ("...") taller than its share of the axis.
constexpr double kAxisLabelPadding = 4.0;

// Ticks at round values (multiples of a nice step) over exactly the data's range.
void setRoundTicks(QValueAxis* axis, double min, double max, int ticks) {
  axis->setRange(min, max);
  axis->setTickType(QValueAxis::TicksDynamic);
  axis->setTickAnchor(0.0);
  axis->setTickInterval(niceStep(max - min, ticks));
}

struct Range {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  void add(double v) {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  bool valid() const { return min <= max; }
};

// A series' band (ChartSeries::lows, highs) as filled areas between them: one per run of points where
// both ends are drawable (Qt Charts has no gaps), in the series' colour at low alpha, no outline and
// no legend entry of its own (the series' entry names it). Added before the series' curves, which are
// drawn over it. Widens the ranges to what it draws.
void addBand(QChart* chart, const ChartSeries& data, bool logScale, QAbstractAxis* xAxis,
             QAbstractAxis* yAxis, Range& xRange, Range& yRange) {
  const std::size_t count = std::min({data.xs.size(), data.lows.size(), data.highs.size()});
  QColor fill = data.color.isValid() ? data.color : QColor(Qt::black);
  fill.setAlpha(kBandAlpha);
  QLineSeries* upper = nullptr;
  QLineSeries* lower = nullptr;
  const auto finish = [&] {
    if (upper == nullptr) return;
    auto* area = new QAreaSeries;
    // QAreaSeries does not own its boundaries: parented to it, they go when the chart removes it.
    upper->setParent(area);
    lower->setParent(area);
    area->setUpperSeries(upper);
    area->setLowerSeries(lower);
    area->setName(data.name + QStringLiteral(" (95% band)"));
    area->setBrush(fill);
    area->setPen(Qt::NoPen);
    chart->addSeries(area);
    area->attachAxis(xAxis);
    area->attachAxis(yAxis);
    for (QLegendMarker* marker : chart->legend()->markers(area)) marker->setVisible(false);
    upper = lower = nullptr;
  };
  for (std::size_t i = 0; i < count; ++i) {
    const double x = data.xs[i];
    const double low = data.lows[i];
    const double high = data.highs[i];
    const bool drawable =
        std::isfinite(x) && std::isfinite(low) && std::isfinite(high) && (!logScale || low > 0.0);
    if (!drawable) {
      finish();
      continue;
    }
    if (upper == nullptr) {
      upper = new QLineSeries;
      lower = new QLineSeries;
    }
    upper->append(x, high);
    lower->append(x, low);
    xRange.add(x);
    yRange.add(low);
    yRange.add(high);
  }
  finish();
}

// The band's rows of csv(): "NAME (95% low)", then "NAME (95% high)", at the points where both are finite.
QString bandCsvRows(const ChartSeries& data) {
  const std::size_t count = std::min({data.xs.size(), data.lows.size(), data.highs.size()});
  QString rows;
  for (const auto& [suffix, values] : {std::pair{QStringLiteral(" (95% low)"), &data.lows},
                                       std::pair{QStringLiteral(" (95% high)"), &data.highs}}) {
    const QString name = csvField(data.name + suffix);
    for (std::size_t i = 0; i < count; ++i) {
      if (!std::isfinite(data.xs[i]) || !std::isfinite(data.lows[i]) || !std::isfinite(data.highs[i]))
        continue;
      rows += name + QLatin1Char(',') + number(data.xs[i]) + QLatin1Char(',') + number((*values)[i]) +
              QLatin1Char('\n');
    }
  }
  return rows;
}

// The chart's legend: one label per entry (a swatch and the series' whole name, on one line), placed
// left to right in rows that wrap between entries, as tall as its rows need (height for width).
class ChartLegend : public QWidget {
 public:
  explicit ChartLegend(QWidget* parent) : QWidget(parent) {
    QSizePolicy policy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    policy.setHeightForWidth(true);
    setSizePolicy(policy);
    setAutoFillBackground(true);
    QPalette colors = palette();
    colors.setColor(QPalette::Window, Qt::white);
    setPalette(colors);
  }
  void setEntries(const QStringList& html) {
    for (QLabel* label : labels_) delete label;
    labels_.clear();
    oneLineWidths_.clear();
    for (const QString& text : html) {
      auto* label = new QLabel(text, this);
      label->setTextFormat(Qt::RichText);
      label->setWordWrap(false);
      label->show();
      labels_.push_back(label);
      oneLineWidths_.push_back(label->sizeHint().width());  // before any wrapping changes the hint
    }
    placeEntries(width(), true);
    updateGeometry();
  }
  bool hasHeightForWidth() const override { return true; }
  int heightForWidth(int width) const override { return const_cast<ChartLegend*>(this)->placeEntries(width, false); }
  QSize sizeHint() const override { return {200, heightForWidth(width() > 0 ? width() : 200)}; }
  QSize minimumSizeHint() const override { return {0, heightForWidth(width() > 0 ? width() : 200)}; }

 protected:
  void resizeEvent(QResizeEvent* event) override {
    QWidget::resizeEvent(event);
    // A new width may need another number of rows: the chart's layout asks again.
    if (placeEntries(width(), true) != height()) updateGeometry();
  }

 private:
  static constexpr int kMargin = 8;
  static constexpr int kGap = 18;
  // Lays the entries out in `width` (moving them when `place`); returns the height they take.
  int placeEntries(int width, bool place) {
    if (labels_.empty()) return 0;
    int x = kMargin, y = 2, rowHeight = 0;
    const int available = std::max(40, width - 2 * kMargin);
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      QLabel* label = labels_[i];
      // An entry wider than the whole legend wraps inside itself (at its spaces), onto its own rows.
      const bool tooWide = oneLineWidths_[i] > available;
      if (label->wordWrap() != tooWide) label->setWordWrap(tooWide);
      const QSize size = tooWide ? QSize(available, label->heightForWidth(available))
                                 : QSize(oneLineWidths_[i], label->sizeHint().height());
      if (x > kMargin && x + size.width() > width - kMargin) {
        x = kMargin;
        y += rowHeight;
        rowHeight = 0;
      }
      if (place) label->setGeometry(x, y, size.width(), size.height());
      x += size.width() + kGap;
      rowHeight = std::max(rowHeight, size.height());
    }
    return y + rowHeight + 4;
  }
  std::vector<QLabel*> labels_;
  std::vector<int> oneLineWidths_;
};

}  // namespace

std::vector<double> exponentialMovingAverage(const std::vector<double>& ys, double weight) {
  if (weight <= 0.0) return ys;
  std::vector<double> out(ys.size(), std::numeric_limits<double>::quiet_NaN());
  bool started = false;
  double average = 0.0;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    if (!std::isfinite(ys[i])) continue;
    average = started ? weight * average + (1.0 - weight) * ys[i] : ys[i];
    started = true;
    out[i] = average;
  }
  return out;
}

LineChart::LineChart(QWidget* parent) : QWidget(parent), chart_(new QChart) {
  chart_->legend()->setAlignment(Qt::AlignBottom);
  chart_->setMargins(QMargins(6, 6, 6, 6));
  chart_->layout()->setContentsMargins(0, 0, 0, 0);
  chart_->setBackgroundRoundness(0);
  chart_->setAnimationOptions(QChart::NoAnimation);  // live updates and exports must show the data now
  connect(chart_, &QChart::plotAreaChanged, this, [this] { fitYTicksToHeight(); });
  view_ = new QChartView(chart_, this);              // takes ownership of the chart
  view_->setRenderHint(QPainter::Antialiasing);
  view_->setBackgroundBrush(Qt::white);  // no grey frame around the chart in figures
  view_->setFrameShape(QFrame::NoFrame);
  chart_->legend()->setVisible(false);  // ours, below: it wraps instead of eliding
  legend_ = new ChartLegend(this);
  legend_->setObjectName("chart-legend");
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(view_, 1);
  layout->addWidget(legend_);
  setMinimumSize(240, 160);
  QObject::connect(chart_, &QChart::plotAreaChanged, this, [this] { placeOffAxisMarks(); });
  rebuild();
}

LineChart::~LineChart() = default;

void LineChart::setTitle(const QString& title) {
  chart_->setTitle(title);
  setWindowTitle(title);
}

void LineChart::setAxisTitles(const QString& x, const QString& y) {
  chart_->setProperty("samscapeXTitle", x);
  chart_->setProperty("samscapeYTitle", y);
  for (QAbstractAxis* axis : chart_->axes(Qt::Horizontal)) axis->setTitleText(x);
  for (QAbstractAxis* axis : chart_->axes(Qt::Vertical)) axis->setTitleText(y);
}

void LineChart::setSeries(const std::vector<ChartSeries>& series) {
  series_ = series;
  rebuild();
}

void LineChart::setLogScale(bool on) {
  if (on == logScale_) return;
  logScale_ = on;
  rebuild();
}

void LineChart::setSmoothing(double weight) {
  if (!std::isfinite(weight)) weight = 0.0;
  weight = std::clamp(weight, 0.0, 0.999);
  if (weight == smoothing_) return;
  smoothing_ = weight;
  rebuild();
}

void LineChart::rebuildLegend(const std::vector<QString>& offAxisNotes) {
  legendNames_.clear();
  QStringList entries;
  for (std::size_t index = 0; index < series_.size(); ++index) {
    const ChartSeries& data = series_[index];
    if (!data.inLegend || data.name.isEmpty()) continue;
    const QString name = (data.legendName.isEmpty() ? data.name : data.legendName) + offAxisNotes[index];
    legendNames_ << name;
    const QColor color = data.color.isValid() ? data.color : QColor(Qt::black);
    // A swatch drawn as the line is (dashed for a reference), then the name, whole, on one line.
    QString swatch = QStringLiteral("\u2501\u2501");
    if (data.reference || data.penStyle == Qt::DashLine) swatch = QStringLiteral("- - -");
    if (!data.reference && data.penStyle == Qt::DotLine) swatch = QStringLiteral("\u00b7\u00b7\u00b7\u00b7");
    if (!data.reference && data.penStyle == Qt::DashDotLine) swatch = QStringLiteral("-\u00b7-\u00b7");
    if (data.markers) swatch = QStringLiteral("\u25cf");
    entries << QStringLiteral("<span style=\"color:%1\"><b>%2</b></span> %3")
                   .arg(color.name(), swatch, name.toHtmlEscaped());
  }
  static_cast<ChartLegend*>(legend_)->setEntries(entries);
  legend_->setVisible(!entries.isEmpty());
}

QStringList LineChart::offAxisMarks() const {
  QStringList marks;
  for (const QGraphicsSimpleTextItem* mark : offAxisMarks_) marks << mark->text();
  return marks;
}

void LineChart::placeOffAxisMarks() {
  // Stacked under the plot area's top edge, on the left: the latest epochs (on the right) are the ones
  // a reader looks for, and a bound above the axis usually rises as the schedule decays the rate.
  const QRectF plot = chart_->plotArea();
  double y = plot.top() + 2;
  for (QGraphicsSimpleTextItem* mark : offAxisMarks_) {
    mark->setPos(plot.left() + 6, y);
    y += mark->boundingRect().height();
  }
}

void LineChart::rebuild() {
  for (QGraphicsSimpleTextItem* mark : offAxisMarks_) delete mark;
  offAxisMarks_.clear();
  chart_->removeAllSeries();
  for (QAbstractAxis* axis : chart_->axes()) {
    chart_->removeAxis(axis);
    delete axis;
  }

  auto* xAxis = new QValueAxis;
  QAbstractAxis* yAxis = nullptr;
  if (logScale_) {
    auto* axis = new QLogValueAxis;
    axis->setBase(10.0);
    axis->setLabelFormat(QStringLiteral("%.3g"));
    axis->setMinorTickCount(-1);
    yAxis = axis;
  } else {
    auto* axis = new QValueAxis;
    axis->setLabelFormat(QStringLiteral("%.4g"));
    yAxis = axis;
  }
  xAxis->setLabelFormat(QStringLiteral("%.6g"));
  xAxis->setTitleText(chart_->property("samscapeXTitle").toString());
  yAxis->setTitleText(chart_->property("samscapeYTitle").toString());
  // Tick labels whole: Qt Charts otherwise cuts them to "..." in a short chart.
  xAxis->setTruncateLabels(false);
  yAxis->setTruncateLabels(false);
  chart_->addAxis(xAxis, Qt::AlignBottom);
  chart_->addAxis(yAxis, Qt::AlignLeft);

  Range xRange;
  Range yRange;
  // The data's own largest value bounds how far reference lines may stretch the y axis.
  double dataMax = -std::numeric_limits<double>::infinity();
  for (const auto& data : series_) {
    if (data.reference) continue;
    for (double y : data.ys) {
      if (std::isfinite(y) && (!logScale_ || y > 0.0)) dataMax = std::max(dataMax, y);
    }
  }
  const bool smoothing = smoothing_ > 0.0;
  std::vector<QString> offAxisNotes(series_.size());
  for (std::size_t index = 0; index < series_.size(); ++index) {
    const ChartSeries& data = series_[index];
    const std::size_t count = std::min(data.xs.size(), data.ys.size());
    std::vector<double> ys(data.ys.begin(), data.ys.begin() + static_cast<std::ptrdiff_t>(count));
    const std::vector<double> smoothed = exponentialMovingAverage(ys, smoothing_);

    // A reference line's values beyond the y axis (see ChartSeries::reference) are not drawn: its legend
    // entry ends with an up arrow, rather than leave the reader looking for the line (short: legends
    // share a row).
    QString offAxis;
    if (data.reference && std::isfinite(dataMax)) {
      // Marked on the chart itself too: an arrow at the top with the smallest value above the axis.
      double lowestAbove = std::numeric_limits<double>::infinity();
      for (double y : ys) {
        if (std::isfinite(y) && y > 3.0 * std::abs(dataMax)) lowestAbove = std::min(lowestAbove, y);
      }
      if (std::isfinite(lowestAbove)) {
        offAxis = QStringLiteral(" \u2191");
        offAxisNotes[index] = QStringLiteral(" (\u2191 above the axis)");
        auto* mark = new QGraphicsSimpleTextItem(
            QStringLiteral("\u2191 %1 above the axis (from %2)").arg(data.name, QString::number(lowestAbove, 'g', 3)), chart_);
        mark->setBrush(data.color.isValid() ? data.color : QColor(Qt::black));
        QFont font = mark->font();
        font.setBold(true);
        mark->setFont(font);
        mark->setZValue(20);
        offAxisMarks_.push_back(mark);
      }
    }
    // One curve as contiguous segments of drawable points: Qt Charts has no gaps, and a NaN inside a
    // QLineSeries breaks its drawing.
    bool legendShown = false;
    const auto addCurve = [&](const std::vector<double>& values, bool faint) {
      QLineSeries* segment = nullptr;
      const auto finish = [&] {
        if (!segment) return;
        if (segment->count() == 1) segment->setPointsVisible(true);  // an isolated point stays visible
        segment = nullptr;
      };
      for (std::size_t i = 0; i < count; ++i) {
        const double x = data.xs[i];
        const double y = values[i];
        const bool drawable = std::isfinite(x) && std::isfinite(y) && (!logScale_ || y > 0.0);
        if (!drawable) {
          finish();
          continue;
        }
        if (!segment) {
          segment = new QLineSeries;
          segment->setName(data.name + offAxis);  // (the hidden Qt legend's; ours is legend_)
          QColor color = data.color.isValid() ? data.color : QColor(Qt::black);
          if (faint) color.setAlpha(kRawAlpha);
          QPen pen(color);
          pen.setWidthF(faint ? 1.0 : 2.0);
          pen.setStyle(data.reference ? Qt::DashLine : data.penStyle);
          segment->setPen(pen);
          chart_->addSeries(segment);
          segment->attachAxis(xAxis);
          segment->attachAxis(yAxis);
          // One legend entry per series: the first segment of its main (smoothed or only) curve.
          const bool showInLegend = data.inLegend && !faint && !legendShown;
          legendShown = legendShown || showInLegend;
          for (QLegendMarker* marker : chart_->legend()->markers(segment)) marker->setVisible(showInLegend);
          QObject::connect(
              segment, &QLineSeries::hovered, this,
              [this, index](const QPointF& point, bool state) { showHover(index, point, state); });
        }
        segment->append(x, y);
        xRange.add(x);
        if (!data.reference || !std::isfinite(dataMax) || y <= 3.0 * std::abs(dataMax)) yRange.add(y);
      }
      finish();
    };
    if (data.markers) {
      auto* scatter = new QScatterSeries;
      scatter->setName(data.name);
      scatter->setMarkerShape(QScatterSeries::MarkerShapeCircle);
      scatter->setMarkerSize(9.0);
      scatter->setColor(data.color.isValid() ? data.color : QColor(Qt::black));
      scatter->setBorderColor(Qt::white);
      for (std::size_t i = 0; i < count; ++i) {
        if (!std::isfinite(data.xs[i]) || !std::isfinite(ys[i]) || (logScale_ && ys[i] <= 0.0)) continue;
        scatter->append(data.xs[i], ys[i]);
        xRange.add(data.xs[i]);
        yRange.add(ys[i]);
      }
      chart_->addSeries(scatter);
      scatter->attachAxis(xAxis);
      scatter->attachAxis(yAxis);
      QObject::connect(scatter, &QScatterSeries::hovered, this,
                       [this, index](const QPointF& point, bool state) { showHover(index, point, state); });
      continue;
    }
    addBand(chart_, data, logScale_, xAxis, yAxis, xRange, yRange);
    const bool smoothThis = smoothing && !data.reference;
    if (smoothThis) addCurve(ys, /*faint=*/true);
    addCurve(smoothThis ? smoothed : ys, /*faint=*/false);
  }

  if (!xRange.valid()) {
    xRange = Range{0.0, 1.0};
    yRange = logScale_ ? Range{1.0, 10.0} : Range{0.0, 1.0};
  }
  if (xRange.min == xRange.max) {
    xRange.min -= 0.5;
    xRange.max += 0.5;
  }
  // A little room at both ends: a point on the last epoch (often the only analysis) is not drawn on
  // the frame.
  const double xPad = 0.02 * (xRange.max - xRange.min);
  setRoundTicks(xAxis, xRange.min - xPad, xRange.max + xPad, 6);
  if (logScale_) {
    yAxis->setRange(yRange.min / 1.25, yRange.max * 1.25);
  } else {
    const double span = yRange.max - yRange.min;
    const double pad = span > 0.0 ? 0.05 * span : std::max(0.5, 0.1 * std::abs(yRange.max));
    setRoundTicks(static_cast<QValueAxis*>(yAxis), yRange.min - pad, yRange.max + pad, 5);
  }
  chart_->legend()->setVisible(false);
  rebuildLegend(offAxisNotes);
  placeOffAxisMarks();
  fitYTicksToHeight();
}

void LineChart::fitYTicksToHeight() {
  const QList<QAbstractAxis*> axes = chart_->axes(Qt::Vertical);
  const double height = chart_->plotArea().height();
  if (!axes.isEmpty() && height > 0.0) {
    // A y title longer than the plot is tall would be cut to "test accur...": it is left out instead
    // (the chart's own title names the metric in full).
    QAbstractAxis* vertical = axes.front();
    vertical->setTitleVisible(QFontMetricsF(vertical->titleFont()).horizontalAdvance(vertical->titleText()) <= height);
  }
  auto* axis = axes.isEmpty() ? nullptr : qobject_cast<QValueAxis*>(axes.front());
  if (axis == nullptr || !(height > 0.0) || !(axis->max() > axis->min()))
    return;  // a log axis places its own
  // As many labels as the height holds whole: Qt Charts elides every label of a crowded axis to "...".
  const double perLabel = QFontMetricsF(axis->labelsFont()).height() + 2.0 * kAxisLabelPadding + 1.0;
  const int fitting = std::max(2, static_cast<int>(height / perLabel));
  double step = niceStep(axis->max() - axis->min(), 5);
  while (ticksWithin(axis->min(), axis->max(), step) > fitting) step = nextNiceStep(step);
  if (step != axis->tickInterval()) axis->setTickInterval(step);
}

QString LineChart::csv() const {
  QString out = QStringLiteral("series,x,y\n");
  for (const ChartSeries& data : series_) {
    const std::size_t count = std::min(data.xs.size(), data.ys.size());
    const QString name = csvField(data.name);
    for (std::size_t i = 0; i < count; ++i) {
      if (!std::isfinite(data.xs[i]) || !std::isfinite(data.ys[i])) continue;
      out += name + QLatin1Char(',') + number(data.xs[i]) + QLatin1Char(',') + number(data.ys[i]) +
             QLatin1Char('\n');
    }
    out += bandCsvRows(data);
  }
  return out;
}

bool LineChart::exportFigure(const QString& path, QString* error) { return exportWidget(this, path, error); }

bool LineChart::exportCsv(const QString& path, QString* error) const {
  return writeTextFile(path, csv(), error);
}

QString LineChart::valueTextAt(std::size_t index, double x) const {
  if (index >= series_.size()) return {};
  const ChartSeries& data = series_[index];
  const std::size_t count = std::min(data.xs.size(), data.ys.size());
  std::size_t best = count;
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(data.xs[i]) || !std::isfinite(data.ys[i])) continue;
    if (best == count || std::abs(data.xs[i] - x) < std::abs(data.xs[best] - x)) best = i;
  }
  if (best == count) return {};
  QString text =
      QStringLiteral("%1\nx = %2\ny = %3")
          .arg(data.name, QString::number(data.xs[best], 'g', 6), QString::number(data.ys[best], 'g', 6));
  if (smoothing_ > 0.0) {
    std::vector<double> ys(data.ys.begin(), data.ys.begin() + static_cast<std::ptrdiff_t>(count));
    text += QStringLiteral(" (smoothed %1)")
                .arg(QString::number(exponentialMovingAverage(ys, smoothing_)[best], 'g', 6));
  }
  if (best < data.lows.size() && best < data.highs.size() && std::isfinite(data.lows[best]) &&
      std::isfinite(data.highs[best])) {
    text += QStringLiteral("\n95% interval [%1, %2]")
                .arg(QString::number(data.lows[best], 'g', 6), QString::number(data.highs[best], 'g', 6));
  }
  if (best < data.pointNotes.size() && !data.pointNotes[best].isEmpty()) text += QStringLiteral("\n") + data.pointNotes[best];
  return text;
}

void LineChart::showHover(std::size_t index, const QPointF& point, bool state) {
  if (!state) {
    QToolTip::hideText();
    return;
  }
  QToolTip::showText(QCursor::pos(), valueTextAt(index, point.x()), this);
}

}  // namespace samscape::viz
