#include "viz/LineChart.h"

#include <QApplication>
#include <QAreaSeries>
#include <QChart>
#include <QFontMetricsF>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace samscape::viz {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<QLineSeries*> lineSeries(const LineChart& chart) {
  std::vector<QLineSeries*> out;
  for (QAbstractSeries* series : chart.chart()->series()) out.push_back(qobject_cast<QLineSeries*>(series));
  return out;
}

TEST(LineChart, CsvIsTidyRawAndExact) {
  LineChart chart;
  chart.setSeries({{"sgd, run 1", Qt::red, {1, 2, 3}, {0.1, kNaN, 2.5}}, {"sam", Qt::blue, {1}, {1e-300}}});
  chart.setSmoothing(0.9);  // the CSV keeps the raw values
  chart.setLogScale(true);
  EXPECT_EQ(chart.csv().toStdString(),
            "series,x,y\n"
            "\"sgd, run 1\",1,0.10000000000000001\n"
            "\"sgd, run 1\",3,2.5\n"
            "sam,1,1e-300\n");
}

TEST(LineChart, CsvValuesReadBackAsTheSameDoubles) {
  LineChart chart;
  const double y = 1.0 / 3.0;
  chart.setSeries({{"a", Qt::red, {0.1}, {y}}});
  const QStringList row = chart.csv().split('\n')[1].split(',');
  ASSERT_EQ(row.size(), 3);
  EXPECT_EQ(row[1].toDouble(), 0.1);
  EXPECT_EQ(row[2].toDouble(), y);
}

TEST(LineChart, ExponentialMovingAverageMatchesAHandComputation) {
  // w = 0.5: s0 = 4; s1 = 0.5*4 + 0.5*2 = 3; NaN stays a gap; s3 = 0.5*3 + 0.5*7 = 5.
  const std::vector<double> s = exponentialMovingAverage({4, 2, kNaN, 7}, 0.5);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s[0], 4.0);
  EXPECT_DOUBLE_EQ(s[1], 3.0);
  EXPECT_TRUE(std::isnan(s[2]));
  EXPECT_DOUBLE_EQ(s[3], 5.0);
  // w = 0.9 over 1, 0, 0: 1, 0.9, 0.81.
  const std::vector<double> t = exponentialMovingAverage({1, 0, 0}, 0.9);
  EXPECT_DOUBLE_EQ(t[1], 0.9);
  EXPECT_DOUBLE_EQ(t[2], 0.81);
  EXPECT_EQ(exponentialMovingAverage({1, kNaN, 3}, 0.0).size(), 3u);
}

TEST(LineChart, SmoothingDrawsTheSmoothedCurveOverAFaintRawOne) {
  LineChart chart;
  chart.setSeries({{"loss", QColor(10, 20, 30), {0, 1, 2}, {4, 2, 7}}});
  ASSERT_EQ(lineSeries(chart).size(), 1u);
  chart.setSmoothing(0.5);
  const auto series = lineSeries(chart);
  ASSERT_EQ(series.size(), 2u);
  const QLineSeries* raw = series[0];
  const QLineSeries* smooth = series[1];
  EXPECT_EQ(raw->pen().color().alpha(), 60);
  EXPECT_EQ(smooth->pen().color(), QColor(10, 20, 30));
  EXPECT_DOUBLE_EQ(raw->at(2).y(), 7.0);
  EXPECT_DOUBLE_EQ(smooth->at(1).y(), 3.0);
  EXPECT_DOUBLE_EQ(smooth->at(2).y(), 5.0);
  // One legend entry per series, not one per curve drawn.
  EXPECT_EQ(chart.legendNames(), QStringList{"loss"});
}

TEST(LineChart, TheLegendNamesEverySeriesInFullAndAFamilyOnce) {
  LineChart chart;
  std::vector<ChartSeries> series;
  for (int i = 1; i <= 5; ++i) {
    for (const char* run : {"pair 12 SGD, the run with a long name", "pair 12 SAM"}) {
      ChartSeries s{QString("%1 λ%2").arg(run).arg(i), Qt::red, {1, 2}, {1.0 * i, 2.0 * i}};
      s.inLegend = i == 1;
      series.push_back(s);
    }
  }
  chart.setSeries(series);
  EXPECT_EQ(chart.legendNames(), (QStringList{"pair 12 SGD, the run with a long name λ1", "pair 12 SAM λ1"}));
  // One label per entry, each name whole on one line; in a narrow chart the entries wrap into rows,
  // each label still as wide as its text needs.
  const QList<QLabel*> labels = chart.legend()->findChildren<QLabel*>();
  ASSERT_EQ(labels.size(), 2);
  EXPECT_TRUE(labels[0]->text().contains("pair 12 SGD, the run with a long name λ1")) << labels[0]->text().toStdString();
  EXPECT_FALSE(labels[1]->text().contains("λ2"));
  chart.resize(260, 300);
  chart.show();
  QApplication::processEvents();
  for (const QLabel* label : labels) {
    // Whole: as wide as its text on one line, or, wider than the legend, wrapped to the legend's width
    // and as tall as its wrapped lines.
    EXPECT_TRUE((!label->wordWrap() && label->width() >= label->sizeHint().width()) ||
                (label->wordWrap() && label->height() >= label->heightForWidth(label->width())));
    EXPECT_LE(label->geometry().right(), chart.legend()->width());
  }
  EXPECT_TRUE(labels[0]->wordWrap()) << "the long entry is wider than a 260-pixel chart";
  EXPECT_GT(labels[1]->y(), labels[0]->y()) << "two entries this wide wrap into two rows";
  EXPECT_GE(chart.legend()->height(), labels[1]->geometry().bottom());
  // Qt Charts' own legend, which elides, stays hidden.
  EXPECT_FALSE(chart.chart()->legend()->isVisible());
}

TEST(LineChart, AReferenceLineIsDashedUnsmoothedAndStretchesTheAxisOnlySoFar) {
  LineChart chart;
  ChartSeries data{"lambda_max", Qt::red, {1, 2, 3}, {10, 12, 14}};
  ChartSeries near{"2/lr near", Qt::blue, {1, 2, 3}, {20, 30, 40}, /*reference=*/true};
  ChartSeries far{"2/lr far", Qt::green, {1, 2, 3}, {40, 100, 1000}, /*reference=*/true};
  chart.setSeries({data, near, far});
  chart.setSmoothing(0.5);
  const auto series = lineSeries(chart);
  // The data's raw and smoothed curves, then one curve for each reference line.
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series[2]->pen().style(), Qt::DashLine);
  EXPECT_DOUBLE_EQ(series[2]->at(1).y(), 30.0) << "a reference line is never smoothed";
  EXPECT_EQ(series[2]->name(), "2/lr near");
  // The axis takes in 40 (within three times the data's 14) but not 100 or 1000, and says so.
  const auto* axis = qobject_cast<QValueAxis*>(chart.chart()->axes(Qt::Vertical)[0]);
  ASSERT_NE(axis, nullptr);
  EXPECT_GE(axis->max(), 40.0);
  EXPECT_LT(axis->max(), 100.0);
  EXPECT_EQ(series[3]->name(), QString::fromUtf8("2/lr far \u2191"));
  // Marked on the chart itself, with the smallest value above the axis, and in the legend.
  EXPECT_EQ(chart.offAxisMarks(), QStringList{QString::fromUtf8("\u2191 2/lr far above the axis (from 100)")});
  EXPECT_EQ(chart.legendNames(),
            (QStringList{"lambda_max", "2/lr near", QString::fromUtf8("2/lr far (\u2191 above the axis)")}));
}

TEST(LineChart, NaNSplitsACurveIntoSegments) {
  LineChart chart;
  chart.setSeries({{"acc", Qt::red, {0, 1, 2, 3, 4}, {1, 2, kNaN, 3, 4}}});
  const auto series = lineSeries(chart);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0]->count(), 2);
  EXPECT_EQ(series[1]->count(), 2);
  EXPECT_DOUBLE_EQ(series[1]->at(0).x(), 3.0);
}

TEST(LineChart, LogScaleLeavesOutNonPositiveValues) {
  LineChart chart;
  chart.setSeries({{"lambda_max", Qt::red, {0, 1, 2, 3}, {10, 0, -1, 100}}});
  chart.setLogScale(true);
  ASSERT_EQ(chart.chart()->axes(Qt::Vertical).size(), 1);
  EXPECT_NE(qobject_cast<QLogValueAxis*>(chart.chart()->axes(Qt::Vertical)[0]), nullptr);
  const auto series = lineSeries(chart);
  ASSERT_EQ(series.size(), 2u);  // 10 | (0, -1 left out) | 100
  EXPECT_DOUBLE_EQ(series[0]->at(0).y(), 10.0);
  EXPECT_DOUBLE_EQ(series[1]->at(0).y(), 100.0);
  chart.setLogScale(false);
  EXPECT_EQ(lineSeries(chart).size(), 1u);
}

TEST(LineChart, HoverTextShowsTheNearestPoint) {
  LineChart chart;
  chart.setSeries({{"test loss", Qt::red, {1, 2, 3}, {0.5, 0.25, kNaN}}});
  EXPECT_EQ(chart.valueTextAt(0, 1.8).toStdString(), "test loss\nx = 2\ny = 0.25");
  EXPECT_EQ(chart.valueTextAt(0, 2.9).toStdString(), "test loss\nx = 2\ny = 0.25");  // NaN point skipped
  chart.setSmoothing(0.5);
  EXPECT_EQ(chart.valueTextAt(0, 2).toStdString(), "test loss\nx = 2\ny = 0.25 (smoothed 0.375)");
  EXPECT_TRUE(chart.valueTextAt(5, 0).isEmpty());
}

TEST(LineChart, HoverTextEndsWithThePointsNote) {
  LineChart chart;
  ChartSeries eigenvalue{"SGD λ1", Qt::red, {1, 2}, {3.5, 4.25}};
  eigenvalue.pointNotes = {"", "residual 1e-05"};
  chart.setSeries({eigenvalue});
  EXPECT_EQ(chart.valueTextAt(0, 1).toStdString(), "SGD λ1\nx = 1\ny = 3.5");  // an empty note adds nothing
  EXPECT_EQ(chart.valueTextAt(0, 2).toStdString(), "SGD λ1\nx = 2\ny = 4.25\nresidual 1e-05");
}

TEST(LineChart, AxisTitlesSurviveRebuilds) {
  LineChart chart;
  chart.setAxisTitles("epoch", "loss");
  chart.setSeries({{"a", Qt::red, {0, 1}, {1, 2}}});
  chart.setLogScale(true);
  EXPECT_EQ(chart.chart()->axes(Qt::Horizontal)[0]->titleText(), "epoch");
  EXPECT_EQ(chart.chart()->axes(Qt::Vertical)[0]->titleText(), "loss");
}

// A study cell's mean with its 95% interval: the band is a filled area from lows to highs in the
// series' colour, split where the interval is missing, and with no legend entry of its own.
TEST(LineChart, ABandIsAFilledAreaBetweenItsLowsAndHighs) {
  LineChart chart;
  ChartSeries mean{"cell mean", QColor(10, 20, 30), {1, 2, 3, 4}, {1.0, 2.0, 3.0, 4.0}};
  mean.lows = {0.5, 1.5, kNaN, 3.0};
  mean.highs = {1.5, 2.5, kNaN, 9.0};
  chart.setSeries({mean});
  std::vector<QAreaSeries*> areas;
  for (QAbstractSeries* series : chart.chart()->series()) {
    if (auto* area = qobject_cast<QAreaSeries*>(series)) areas.push_back(area);
  }
  ASSERT_EQ(areas.size(), 2u);  // epochs 1-2, then 4 (no interval at 3)
  ASSERT_EQ(areas[0]->upperSeries()->count(), 2);
  EXPECT_DOUBLE_EQ(areas[0]->upperSeries()->at(1).y(), 2.5);
  EXPECT_DOUBLE_EQ(areas[0]->lowerSeries()->at(1).y(), 1.5);
  EXPECT_DOUBLE_EQ(areas[1]->upperSeries()->at(0).x(), 4.0);
  const QColor fill = areas[0]->brush().color();
  EXPECT_EQ(fill.rgb(), QColor(10, 20, 30).rgb());
  EXPECT_LT(fill.alpha(), 128);
  // The axis takes in the band (9 at epoch 4), not only the mean.
  const auto* axis = qobject_cast<QValueAxis*>(chart.chart()->axes(Qt::Vertical)[0]);
  ASSERT_NE(axis, nullptr);
  EXPECT_GE(axis->max(), 9.0);
  EXPECT_EQ(chart.legendNames(), QStringList({"cell mean"}));
  EXPECT_EQ(chart.valueTextAt(0, 2).toStdString(), "cell mean\nx = 2\ny = 2\n95% interval [1.5, 2.5]");
}

TEST(LineChart, CsvWritesABandAsItsLowAndHighSeries) {
  LineChart chart;
  ChartSeries mean{"sam, 3 seeds", Qt::red, {1, 2}, {1.0, 2.0}};
  mean.lows = {0.5, kNaN};
  mean.highs = {1.5, kNaN};
  chart.setSeries({mean, {"sgd", Qt::blue, {1}, {4.0}}});
  EXPECT_EQ(chart.csv().toStdString(),
            "series,x,y\n"
            "\"sam, 3 seeds\",1,1\n"
            "\"sam, 3 seeds\",2,2\n"
            "\"sam, 3 seeds (95% low)\",1,0.5\n"
            "\"sam, 3 seeds (95% high)\",1,1.5\n"
            "sgd,1,4\n");
}

TEST(LineChart, ASeriesOutOfTheLegendIsStillDrawn) {
  LineChart chart;
  ChartSeries seed{"seed 0", QColor(10, 20, 30, 80), {1, 2}, {1.0, 2.0}};
  seed.inLegend = false;
  chart.setSeries({seed, {"mean", Qt::red, {1, 2}, {1.5, 2.5}}});
  const auto series = lineSeries(chart);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0]->pen().color().alpha(), 80);
  EXPECT_EQ(chart.legendNames(), QStringList({"mean"}));
}

// Qt Charts elides every label of a vertical axis to "..." once they do not fit its height: a short
// chart takes a coarser round step, a tall one keeps the fine one.
TEST(LineChart, TheYAxisHasNoMoreLabelsThanItsHeightHolds) {
  LineChart chart;
  chart.setSeries({{"loss", Qt::red, {1, 2, 3}, {0.0, 0.55, 1.1}}});
  const auto yAxis = [&] { return qobject_cast<QValueAxis*>(chart.chart()->axes(Qt::Vertical)[0]); };
  const double perLabel =
      QFontMetricsF(yAxis()->labelsFont()).height() + 8.0;  // Qt's padding: 4 above, 4 below
  for (const int height : {190, 700}) {
    chart.resize(500, height);
    chart.show();
    QApplication::processEvents();
    const QValueAxis* axis = yAxis();
    ASSERT_NE(axis, nullptr);
    const double step = axis->tickInterval();
    const int ticks = static_cast<int>(std::floor(axis->max() / step) - std::ceil(axis->min() / step)) + 1;
    const double plot = chart.chart()->plotArea().height();
    EXPECT_LE(ticks * perLabel, plot) << "height " << height << ": " << ticks << " labels of step " << step;
    if (height == 700) {
      EXPECT_LE(step, 0.2) << "a tall chart keeps its fine step";
    }
  }
}

}  // namespace
}  // namespace samscape::viz
