#include "viz/StudyChart.h"

#include <QBuffer>
#include <QFileInfo>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QSaveFile>
#include <QSvgGenerator>

#include <algorithm>
#include <cmath>
#include <limits>

namespace samscape::viz {
namespace {

QString shortNumber(double value) { return QString::number(value, 'g', 4); }

// Tick values at 1, 2 or 5 times a power of ten, about `target` of them between low and high.
std::vector<double> niceTicks(double low, double high, int target = 5) {
  std::vector<double> ticks;
  if (!(high > low)) return ticks;
  const double raw = (high - low) / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * power;
    if (step >= raw) break;
  }
  for (double tick = std::ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) {
    ticks.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);
  }
  return ticks;
}

const QColor kBarColors[] = {QColor(0x4c, 0x72, 0xb0), QColor(0xdd, 0x84, 0x52), QColor(0x55, 0xa8, 0x68),
                             QColor(0xc4, 0x4e, 0x52), QColor(0x81, 0x72, 0xb3), QColor(0x93, 0x78, 0x60)};

void paintLinePanel(QPainter& painter, const QRectF& area, const StudyChartPanel& panel);
void paintScatterPanel(QPainter& painter, const QRectF& area, const StudyChartPanel& panel);

void paintPanel(QPainter& painter, const QRectF& area, const StudyChartPanel& panel) {
  const QFontMetricsF metrics(painter.font());
  const double line = metrics.height();
  painter.setPen(Qt::black);
  painter.drawText(QRectF(area.left(), area.top(), area.width(), line * 1.4), Qt::AlignCenter, panel.title);
  if (!panel.lines.empty()) {
    paintLinePanel(painter, area, panel);
    return;
  }
  if (panel.scatter) {
    paintScatterPanel(painter, area, panel);
    return;
  }

  // The value range: every bar, interval and seed, from 0 when all are positive (bars start at 0).
  double low = 0.0, high = 0.0;
  bool any = false;
  for (const auto& bar : panel.bars) {
    for (double v : {bar.mean, bar.low, bar.high}) {
      if (!std::isfinite(v)) continue;
      low = any ? std::min(low, v) : std::min(0.0, v);
      high = any ? std::max(high, v) : std::max(0.0, v);
      any = true;
    }
    for (double v : bar.values) {
      if (std::isfinite(v)) { low = std::min(low, v); high = std::max(high, v); any = true; }
    }
  }
  const double axisWidth = metrics.horizontalAdvance(QStringLiteral("-0.0000")) + 8;
  const QRectF plot(area.left() + axisWidth, area.top() + line * 1.6, area.width() - axisWidth - 6,
                    area.height() - line * 1.6 - line * 4.6);
  if (!any) {
    painter.setPen(Qt::gray);
    painter.drawText(plot, Qt::AlignCenter, QStringLiteral("not measured yet"));
    return;
  }
  // Values far from zero and close together (test accuracies 0.8216 and 0.8276) would be two equal
  // bars from zero: the axis then spans the values alone, and each mean is a marker, not a bar (a bar
  // that does not start at zero misleads).
  double dataLow = std::numeric_limits<double>::infinity();
  for (const auto& bar : panel.bars) {
    for (double v : {bar.mean, bar.low, bar.high}) {
      if (std::isfinite(v)) dataLow = std::min(dataLow, v);
    }
    for (double v : bar.values) {
      if (std::isfinite(v)) dataLow = std::min(dataLow, v);
    }
  }
  const bool zoomed = dataLow > 0.0 && high > dataLow && (high - dataLow) < 0.25 * high;
  if (zoomed) low = dataLow - (high - dataLow) * 0.15;
  if (high == low) high = low + 1.0;
  high += (high - low) * 0.05;
  auto yOf = [&](double v) { return plot.bottom() - (v - low) / (high - low) * plot.height(); };

  painter.setPen(QColor(0xdd, 0xdd, 0xdd));
  for (double tick : niceTicks(low, high)) {
    const double y = yOf(tick);
    painter.setPen(QColor(0xe4, 0xe4, 0xe4));
    painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
    painter.setPen(Qt::black);
    painter.drawText(QRectF(area.left(), y - line / 2, axisWidth - 4, line), Qt::AlignRight | Qt::AlignVCenter, shortNumber(tick));
  }
  painter.setPen(Qt::black);
  painter.drawLine(plot.bottomLeft(), plot.topLeft());
  painter.drawLine(QPointF(plot.left(), yOf(0.0 < low ? low : 0.0)), QPointF(plot.right(), yOf(0.0 < low ? low : 0.0)));

  const double slot = plot.width() / static_cast<double>(std::max<std::size_t>(1, panel.bars.size()));
  for (std::size_t i = 0; i < panel.bars.size(); ++i) {
    const StudyChartBar& bar = panel.bars[i];
    const double center = plot.left() + slot * (static_cast<double>(i) + 0.5);
    const double halfWidth = slot * 0.3;
    const QColor color = kBarColors[i % std::size(kBarColors)];
    if (std::isfinite(bar.mean) && zoomed) {
      painter.setPen(QPen(color.darker(130), 3.0));
      painter.drawLine(QPointF(center - halfWidth * 0.5, yOf(bar.mean)), QPointF(center + halfWidth * 0.5, yOf(bar.mean)));
    } else if (std::isfinite(bar.mean)) {
      const double base = yOf(std::max(low, 0.0));
      painter.fillRect(QRectF(QPointF(center - halfWidth, std::min(base, yOf(bar.mean))),
                              QPointF(center + halfWidth, std::max(base, yOf(bar.mean)))),
                       color.lighter(130));
      painter.setPen(QPen(color.darker(130), 1.0));
      painter.drawLine(QPointF(center - halfWidth, yOf(bar.mean)), QPointF(center + halfWidth, yOf(bar.mean)));
    }
    painter.setPen(QPen(Qt::black, 1.2));
    if (std::isfinite(bar.low) && std::isfinite(bar.high)) {
      const double cap = halfWidth * 0.4;
      painter.drawLine(QPointF(center, yOf(bar.low)), QPointF(center, yOf(bar.high)));
      painter.drawLine(QPointF(center - cap, yOf(bar.low)), QPointF(center + cap, yOf(bar.low)));
      painter.drawLine(QPointF(center - cap, yOf(bar.high)), QPointF(center + cap, yOf(bar.high)));
    }
    painter.setBrush(Qt::black);
    for (std::size_t k = 0; k < bar.values.size(); ++k) {
      if (!std::isfinite(bar.values[k])) continue;
      const double offset = (static_cast<double>(k) - (static_cast<double>(bar.values.size()) - 1) / 2) * 4.0;
      painter.drawEllipse(QPointF(center + halfWidth * 0.55 + offset, yOf(bar.values[k])), 1.8, 1.8);
    }
    painter.setBrush(Qt::NoBrush);
    // The label wraps at its spaces (two lines for "optimizer=sam rho=0.05"), the mean under it.
    const QRectF labelBox(center - slot / 2 + 2, plot.bottom() + 3, slot - 4, line * 3.4);
    painter.drawText(labelBox, Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap,
                     bar.label + (std::isfinite(bar.mean) ? "\n" + shortNumber(bar.mean) : QString()));
    painter.setPen(Qt::gray);
    painter.drawText(QRectF(center - slot / 2, plot.bottom() + 3 + line * 3.4, slot, line), Qt::AlignHCenter, bar.note);
  }
}

// The curves of a panel over its numeric option: a point per cell at its mean, the 95% interval as an
// error bar, the seeds as dots, a legend in the top left.
void paintLinePanel(QPainter& painter, const QRectF& area, const StudyChartPanel& panel) {
  const QFontMetricsF metrics(painter.font());
  const double line = metrics.height();
  double low = std::numeric_limits<double>::infinity(), high = -low;
  double left = low, right = -low;
  for (const auto& curve : panel.lines) {
    for (std::size_t i = 0; i < curve.xs.size() && i < curve.points.size(); ++i) {
      const StudyChartBar& point = curve.points[i];
      bool measured = false;
      for (double v : {point.mean, point.low, point.high}) {
        if (std::isfinite(v)) { low = std::min(low, v); high = std::max(high, v); measured = true; }
      }
      for (double v : point.values) {
        if (std::isfinite(v)) { low = std::min(low, v); high = std::max(high, v); }
      }
      if (measured) { left = std::min(left, curve.xs[i]); right = std::max(right, curve.xs[i]); }
    }
  }
  const double axisWidth = metrics.horizontalAdvance(QStringLiteral("-0.0000")) + 8;
  const QRectF plot(area.left() + axisWidth, area.top() + line * 1.6, area.width() - axisWidth - 12,
                    area.height() - line * 1.6 - line * 3.2);
  if (!(high >= low)) {
    painter.setPen(Qt::gray);
    painter.drawText(plot, Qt::AlignCenter, QStringLiteral("not measured yet"));
    return;
  }
  if (high == low) { low -= 0.5; high += 0.5; }
  const double pad = (high - low) * 0.08;
  low -= pad;
  high += pad;
  if (right == left) { left -= 0.5; right += 0.5; }
  const double margin = (right - left) * 0.06;
  left -= margin;
  right += margin;
  auto xOf = [&](double v) { return plot.left() + (v - left) / (right - left) * plot.width(); };
  auto yOf = [&](double v) { return plot.bottom() - (v - low) / (high - low) * plot.height(); };
  for (double tick : niceTicks(low, high)) {
    painter.setPen(QColor(0xe4, 0xe4, 0xe4));
    painter.drawLine(QPointF(plot.left(), yOf(tick)), QPointF(plot.right(), yOf(tick)));
    painter.setPen(Qt::black);
    painter.drawText(QRectF(area.left(), yOf(tick) - line / 2, axisWidth - 4, line), Qt::AlignRight | Qt::AlignVCenter,
                     shortNumber(tick));
  }
  // The x ticks are the option's values themselves.
  std::vector<double> xs;
  for (const auto& curve : panel.lines) xs.insert(xs.end(), curve.xs.begin(), curve.xs.end());
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  painter.setPen(Qt::black);
  painter.drawLine(plot.bottomLeft(), plot.topLeft());
  painter.drawLine(plot.bottomLeft(), plot.bottomRight());
  for (double x : xs) {
    painter.drawLine(QPointF(xOf(x), plot.bottom()), QPointF(xOf(x), plot.bottom() + 4));
    painter.drawText(QRectF(xOf(x) - 40, plot.bottom() + 4, 80, line), Qt::AlignHCenter | Qt::AlignTop, shortNumber(x));
  }
  painter.drawText(QRectF(plot.left(), plot.bottom() + 4 + line, plot.width(), line * 1.2), Qt::AlignHCenter, panel.xTitle);

  for (std::size_t c = 0; c < panel.lines.size(); ++c) {
    const StudyChartLine& curve = panel.lines[c];
    const QColor color = kBarColors[c % std::size(kBarColors)];
    const double shift = (static_cast<double>(c) - (static_cast<double>(panel.lines.size()) - 1) / 2) * 5.0;
    QPolygonF path;
    for (std::size_t i = 0; i < curve.xs.size() && i < curve.points.size(); ++i) {
      const StudyChartBar& point = curve.points[i];
      const double x = xOf(curve.xs[i]) + shift;
      painter.setPen(QPen(color.darker(120), 1.2));
      if (std::isfinite(point.low) && std::isfinite(point.high)) {
        painter.drawLine(QPointF(x, yOf(point.low)), QPointF(x, yOf(point.high)));
        painter.drawLine(QPointF(x - 4, yOf(point.low)), QPointF(x + 4, yOf(point.low)));
        painter.drawLine(QPointF(x - 4, yOf(point.high)), QPointF(x + 4, yOf(point.high)));
      }
      painter.setPen(Qt::NoPen);
      painter.setBrush(color.lighter(140));
      for (double v : point.values) {
        if (std::isfinite(v)) painter.drawEllipse(QPointF(x + 6, yOf(v)), 1.8, 1.8);
      }
      painter.setBrush(Qt::NoBrush);
      if (std::isfinite(point.mean)) path << QPointF(x, yOf(point.mean));
    }
    painter.setPen(QPen(color, 2.0));
    painter.drawPolyline(path);
    painter.setBrush(color);
    for (const QPointF& p : path) painter.drawEllipse(p, 3.0, 3.0);
    painter.setBrush(Qt::NoBrush);
    // The legend, top right (accuracy falls as noise or m grows: that corner is free): a swatch and the
    // cells' name, one line per curve.
    double legendWidth = 0.0;
    for (const auto& other : panel.lines) legendWidth = std::max(legendWidth, metrics.horizontalAdvance(other.name));
    const double legendLeft = std::max(plot.left() + 8, plot.right() - legendWidth - 30);
    const double y = plot.top() + 4 + line * static_cast<double>(c);
    painter.fillRect(QRectF(legendLeft, y + line * 0.35, 14, 3), color);
    painter.setPen(Qt::black);
    painter.drawText(QRectF(legendLeft + 18, y, legendWidth + 8, line), Qt::AlignLeft | Qt::AlignVCenter, curve.name);
  }
}

// A scatter of runs: each a dot in its cell's colour, round ticks on both axes, the axes' titles, and
// the cells' legend in the top left.
void paintScatterPanel(QPainter& painter, const QRectF& area, const StudyChartPanel& panel) {
  const QFontMetricsF metrics(painter.font());
  const double line = metrics.height();
  const double axisWidth = metrics.horizontalAdvance(QStringLiteral("-0.0000")) + 8 + line;
  const QRectF plot(area.left() + axisWidth, area.top() + line * 1.6, area.width() - axisWidth - 12,
                    area.height() - line * 1.6 - line * 3.2);
  double low = std::numeric_limits<double>::infinity(), high = -low, left = low, right = -low;
  for (const auto& point : panel.points) {
    if (!std::isfinite(point.x) || !std::isfinite(point.y)) continue;
    low = std::min(low, point.y);
    high = std::max(high, point.y);
    left = std::min(left, point.x);
    right = std::max(right, point.x);
  }
  if (!(high >= low)) {
    painter.setPen(Qt::gray);
    painter.drawText(plot, Qt::AlignCenter, QStringLiteral("no run measured yet"));
    return;
  }
  const auto widen = [](double& from, double& to) {
    if (from == to) {
      from -= 0.5 * std::max(1e-12, std::abs(from));
      to += 0.5 * std::max(1e-12, std::abs(to));
    }
    const double pad = (to - from) * 0.08;
    from -= pad;
    to += pad;
  };
  widen(low, high);
  widen(left, right);
  auto xOf = [&](double v) { return plot.left() + (v - left) / (right - left) * plot.width(); };
  auto yOf = [&](double v) { return plot.bottom() - (v - low) / (high - low) * plot.height(); };
  for (double tick : niceTicks(low, high)) {
    painter.setPen(QColor(0xe4, 0xe4, 0xe4));
    painter.drawLine(QPointF(plot.left(), yOf(tick)), QPointF(plot.right(), yOf(tick)));
    painter.setPen(Qt::black);
    painter.drawText(QRectF(area.left() + line, yOf(tick) - line / 2, axisWidth - line - 4, line),
                     Qt::AlignRight | Qt::AlignVCenter, shortNumber(tick));
  }
  for (double tick : niceTicks(left, right, 4)) {
    painter.setPen(Qt::black);
    painter.drawLine(QPointF(xOf(tick), plot.bottom()), QPointF(xOf(tick), plot.bottom() + 4));
    painter.drawText(QRectF(xOf(tick) - 40, plot.bottom() + 4, 80, line), Qt::AlignHCenter | Qt::AlignTop, shortNumber(tick));
  }
  painter.drawLine(plot.bottomLeft(), plot.topLeft());
  painter.drawLine(plot.bottomLeft(), plot.bottomRight());
  painter.drawText(QRectF(plot.left(), plot.bottom() + 4 + line, plot.width(), line * 1.2), Qt::AlignHCenter, panel.xTitle);
  painter.save();
  painter.translate(area.left(), plot.center().y());
  painter.rotate(-90);
  painter.drawText(QRectF(-plot.height() / 2, 0, plot.height(), line), Qt::AlignHCenter | Qt::AlignTop, panel.yTitle);
  painter.restore();
  for (const auto& point : panel.points) {
    if (!std::isfinite(point.x) || !std::isfinite(point.y)) continue;
    painter.setPen(QPen(Qt::white, 0.8));
    painter.setBrush(studyCellColor(point.cell));
    painter.drawEllipse(QPointF(xOf(point.x), yOf(point.y)), 3.5, 3.5);
  }
  painter.setBrush(Qt::NoBrush);
  for (std::size_t c = 0; c < panel.cells.size(); ++c) {
    const double y = plot.top() + 4 + line * static_cast<double>(c);
    painter.setPen(Qt::NoPen);
    painter.setBrush(studyCellColor(c));
    painter.drawEllipse(QPointF(plot.left() + 12, y + line / 2), 3.5, 3.5);
    painter.setBrush(Qt::NoBrush);
    painter.setPen(Qt::black);
    painter.drawText(QRectF(plot.left() + 20, y, plot.width() - 24, line), Qt::AlignLeft | Qt::AlignVCenter, panel.cells[c]);
  }
}

}  // namespace

QColor studyCellColor(std::size_t index) { return kBarColors[index % std::size(kBarColors)]; }

void paintStudyChart(QPainter& painter, const QRectF& area, const StudyChartData& data) {
  painter.fillRect(area, Qt::white);
  painter.setRenderHint(QPainter::Antialiasing);
  const QFontMetricsF metrics(painter.font());
  // The title wraps (a claim is a sentence); the panels take the rest.
  const QRectF titleBox(area.left() + 6, area.top() + 4, area.width() - 12, area.height() / 4);
  const double titleHeight =
      data.title.isEmpty() ? 0.0 : metrics.boundingRect(titleBox, Qt::TextWordWrap, data.title).height() + 10;
  painter.setPen(Qt::black);
  if (titleHeight > 0) painter.drawText(titleBox, Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, data.title);
  if (data.panels.empty()) {
    painter.drawText(area, Qt::AlignCenter, QStringLiteral("no runs measured yet"));
    return;
  }
  const double width = area.width() / static_cast<double>(data.panels.size());
  for (std::size_t i = 0; i < data.panels.size(); ++i) {
    paintPanel(painter,
               QRectF(area.left() + width * static_cast<double>(i) + 4, area.top() + titleHeight, width - 8,
                      area.height() - titleHeight - 4),
               data.panels[i]);
  }
}

QString writeStudyChart(const StudyChartData& data, const QString& path, int width, int height) {
  // Fonts need a QGuiApplication; the command line has none, so it gets an offscreen one, made once and
  // kept for the process's remaining figures.
  static int argc = 1;
  static char name[] = "samscape-cli";
  static char* argv[] = {name, nullptr};
  if (QCoreApplication::instance() == nullptr) {
    // Offscreen whatever the environment says: drawing into a file needs no display, and a display
    // that cannot be reached (ssh without X) must not abort the command after a study.
    qputenv("QT_QPA_PLATFORM", "offscreen");
    // Never destroyed: tearing Qt down among the static destructors at exit is not worth the risk.
    static QGuiApplication* application = new QGuiApplication(argc, argv);
    (void)application;
  }
  if (width <= 0) width = std::max<int>(640, 40 + 450 * static_cast<int>(data.panels.size()));
  const QString suffix = QFileInfo(path).suffix().toLower();
  QByteArray bytes;
  if (suffix == QLatin1String("svg")) {
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator generator;
    generator.setOutputDevice(&buffer);
    generator.setSize(QSize(width, height));
    generator.setViewBox(QRect(0, 0, width, height));
    generator.setTitle(data.title);
    QPainter painter(&generator);
    paintStudyChart(painter, QRectF(0, 0, width, height), data);
  } else if (suffix == QLatin1String("png")) {
    QImage image(width * 2, height * 2, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(2.0);
    image.fill(Qt::white);
    {
      QPainter painter(&image);
      paintStudyChart(painter, QRectF(0, 0, width, height), data);
    }
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (!image.save(&buffer, "PNG")) return path + QStringLiteral(": cannot encode the PNG");
  } else {
    return path + QStringLiteral(": unknown figure format (use .svg or .png)");
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
    return path + QStringLiteral(": cannot write: ") + file.errorString();
  }
  return QString();
}

}  // namespace samscape::viz
