// Error bars of a study: checked against direct computation (two-pass sums by hand, and Student's t
// CDF integrated numerically from its density, independent of the tabulated quantiles).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/Statistics.h"

namespace samscape {
namespace {

// P(T <= t) for Student's t with `df` degrees of freedom: 1/2 plus the density integrated from 0 to t
// by composite Simpson's rule (the density is smooth, so 20000 panels give ~1e-12).
double studentCdf(double t, double df) {
  const double norm = std::exp(std::lgamma((df + 1) / 2) - std::lgamma(df / 2)) / std::sqrt(df * M_PI);
  auto density = [&](double x) { return norm * std::pow(1 + x * x / df, -(df + 1) / 2); };
  const int panels = 20000;
  const double h = t / panels;
  double sum = density(0) + density(t);
  for (int i = 1; i < panels; ++i) sum += density(i * h) * (i % 2 == 1 ? 4 : 2);
  return 0.5 + sum * h / 3;
}

TEST(StatisticsTest, TQuantileLeavesTwoAndAHalfPercentInEachTail) {
  for (std::size_t df = 1; df <= 60; ++df) {
    const double t = studentT975(df);
    // Tabulated values carry six significant digits; the expansion beyond 30 is good to ~1e-4 in t.
    EXPECT_NEAR(studentCdf(t, static_cast<double>(df)), 0.975, df <= 30 ? 2e-6 : 2e-5) << "df " << df;
  }
  EXPECT_NEAR(studentT975(1000000), 1.959964, 1e-5);  // the normal quantile in the limit
  EXPECT_TRUE(std::isnan(studentT975(0)));
}

TEST(StatisticsTest, SummaryOfThreeSeeds) {
  const SampleSummary s = summarize({0.70, 0.74, 0.72});
  EXPECT_EQ(s.count, 3u);
  EXPECT_NEAR(s.mean, 0.72, 1e-12);
  // Sample variance: (0.02^2 + 0.02^2 + 0) / 2 = 0.0004.
  EXPECT_NEAR(s.stddev, 0.02, 1e-12);
  const double half = 4.30265 * 0.02 / std::sqrt(3.0);
  EXPECT_NEAR(s.ci95Low, 0.72 - half, 1e-9);
  EXPECT_NEAR(s.ci95High, 0.72 + half, 1e-9);
}

TEST(StatisticsTest, NonFiniteValuesAreLeftOutAndOneValueHasNoInterval) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const SampleSummary one = summarize({nan, 5.0, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(one.count, 1u);
  EXPECT_EQ(one.mean, 5.0);
  EXPECT_FALSE(one.hasInterval());
  EXPECT_TRUE(std::isnan(one.stddev));
  const SampleSummary none = summarize({});
  EXPECT_EQ(none.count, 0u);
  EXPECT_TRUE(std::isnan(none.mean));
}

TEST(StatisticsTest, SeparatedIntervals) {
  const SampleSummary low = summarize({1.0, 1.1, 0.9});
  const SampleSummary high = summarize({3.0, 3.1, 2.9});
  const SampleSummary wide = summarize({0.0, 4.0, 2.0});
  EXPECT_TRUE(intervalsSeparated(low, high));
  EXPECT_TRUE(intervalsSeparated(high, low));
  EXPECT_FALSE(intervalsSeparated(low, wide));
  EXPECT_FALSE(intervalsSeparated(low, summarize({5.0})));  // no interval: never called separated
}

}  // namespace
}  // namespace samscape
