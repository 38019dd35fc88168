// Error bars of a study: checked against direct computation (two-pass sums by hand, and Student's t
// CDF integrated numerically from its density, independent of the tabulated quantiles). Kendall's tau-b
// against a hand count and scipy.stats.kendalltau; its bootstrap interval on data whose resamples are
// known.
#include <gtest/gtest.h>

#include <algorithm>
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

TEST(StatisticsTest, KendallTauBCountsTiedPairsInNeitherConcordantNorDiscordant) {
  // By hand, x = (1, 2, 2, 3), y = (1, 3, 2, 2), the 6 pairs (i, j):
  //   (1,2) x up, y up: concordant    (1,3) up, up: concordant   (1,4) up, up: concordant
  //   (2,3) x tied                    (2,4) x up, y down: discordant
  //   (3,4) y tied
  // S = n_c - n_d = 3 - 1 = 2; n_0 = 6, one pair tied in x, one in y:
  // tau_b = 2 / sqrt((6 - 1)(6 - 1)) = 0.4 (scipy.stats.kendalltau: 0.39999999999999997).
  EXPECT_NEAR(kendallTauB({1, 2, 2, 3}, {1, 3, 2, 2}), 0.4, 1e-12);
  // tau-a would be 2 / 6: the ties must shrink the denominator.
  // scipy.stats.kendalltau (scipy 1.17.1, variant 'b') on twelve points with ties in both.
  const std::vector<double> x{0.5, 1.2, 1.2, 3.0, 2.2, 2.2, 2.2, 4.1, 0.9, 5.0, 3.0, 1.7};
  const std::vector<double> y{0.10, 0.30, 0.25, 0.40, 0.40, 0.20, 0.35, 0.60, 0.10, 0.55, 0.40, 0.15};
  EXPECT_NEAR(kendallTauB(x, y), 0.7805136005849247, 1e-12);
  EXPECT_NEAR(kendallTauB({3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}, {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4}),
              0.14757295747452434, 1e-12);
  // Symmetric in its arguments, odd under y -> -y, blind to monotone transforms.
  EXPECT_NEAR(kendallTauB(y, x), 0.7805136005849247, 1e-12);
  std::vector<double> negated(y.size()), cubed(x.size());
  std::transform(y.begin(), y.end(), negated.begin(), [](double v) { return -v; });
  std::transform(x.begin(), x.end(), cubed.begin(), [](double v) { return v * v * v; });
  EXPECT_NEAR(kendallTauB(x, negated), -0.7805136005849247, 1e-12);
  EXPECT_NEAR(kendallTauB(cubed, y), 0.7805136005849247, 1e-12);
}

TEST(StatisticsTest, KendallTauBLeavesOutNonFinitePairsAndIsUndefinedWithoutOrder) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // The NaN pair and the infinite one are dropped: the hand example above remains.
  EXPECT_NEAR(kendallTauB({1, nan, 2, 2, 7, 3}, {1, 5, 3, 2, std::numeric_limits<double>::infinity(), 2}),
              0.4, 1e-12);
  EXPECT_TRUE(std::isnan(kendallTauB({1}, {2})));
  EXPECT_TRUE(std::isnan(kendallTauB({2, 2, 2}, {1, 2, 3})));  // every x tied
  EXPECT_TRUE(std::isnan(kendallTauB({1, 2, 3}, {5, 5, 5})));
}

TEST(StatisticsTest, BootstrapOfAMonotoneRelationIsOneAtBothEnds) {
  std::vector<double> x, y;
  for (int i = 0; i < 12; ++i) {
    x.push_back(i);
    y.push_back(std::exp(0.3 * i));
  }
  const RankCorrelation up = kendallTauWithBootstrap(x, y, 2000, 7);
  EXPECT_EQ(up.count, 12u);
  EXPECT_DOUBLE_EQ(up.tau, 1.0);
  // Every resample keeps the order (a repeated point ties in both, counted in neither): [1, 1].
  EXPECT_DOUBLE_EQ(up.ci95Low, 1.0);
  EXPECT_DOUBLE_EQ(up.ci95High, 1.0);
  EXPECT_EQ(up.resamples, 2000u);
  for (double& v : y) v = -v;
  const RankCorrelation down = kendallTauWithBootstrap(x, y, 500, 7);
  EXPECT_DOUBLE_EQ(down.ci95Low, -1.0);
  EXPECT_DOUBLE_EQ(down.ci95High, -1.0);
}

TEST(StatisticsTest, BootstrapDrawsEachPairUniformly) {
  // Two pairs: a resample draws the same pair twice (tau-b undefined) with probability 1/2, else both
  // (tau-b 1). Over 4000 resamples the defined ones are Binomial(4000, 1/2): 2000 +- 32 (sd);
  // +- 160 is 5 sd. A draw biased towards one index would fall outside.
  const RankCorrelation two = kendallTauWithBootstrap({0, 1}, {0, 1}, 4000, 11);
  EXPECT_NEAR(static_cast<double>(two.definedResamples), 2000.0, 160.0);
  EXPECT_DOUBLE_EQ(two.ci95Low, 1.0);
  // Three pairs, (0,0), (1,2), (2,1): tau-b 1/3. A resample is 3 draws of the 3 pairs (27 equally
  // likely sequences); the 3 made of one pair are undefined. The 6 permutations give 1/3; a pair drawn
  // twice with another (18 sequences): (0,0)+(1,2) and (0,0)+(2,1) agree in order, tau-b 1 (12
  // sequences); (1,2)+(2,1) disagree, -1 (6 sequences). So of 24 defined: P(-1) = 1/4, P(1/3) = 1/4,
  // P(1) = 1/2, and the percentile interval of many resamples is [-1, 1].
  const RankCorrelation three = kendallTauWithBootstrap({0, 1, 2}, {0, 2, 1}, 4000, 3);
  EXPECT_NEAR(three.tau, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(static_cast<double>(three.definedResamples), 4000.0 * 24.0 / 27.0,
              5 * std::sqrt(4000.0 * 24 * 3) / 27);
  EXPECT_DOUBLE_EQ(three.ci95Low, -1.0);
  EXPECT_DOUBLE_EQ(three.ci95High, 1.0);
}

TEST(StatisticsTest, BootstrapIsReproducibleBySeedAndBracketsTheEstimate) {
  const std::vector<double> x{0.5, 1.2, 1.2, 3.0, 2.2, 2.2, 2.2, 4.1, 0.9, 5.0, 3.0, 1.7};
  const std::vector<double> y{0.10, 0.30, 0.25, 0.40, 0.40, 0.20, 0.35, 0.60, 0.10, 0.55, 0.40, 0.15};
  const RankCorrelation first = kendallTauWithBootstrap(x, y, 2000, 2023);
  const RankCorrelation again = kendallTauWithBootstrap(x, y, 2000, 2023);
  EXPECT_EQ(first.ci95Low, again.ci95Low);
  EXPECT_EQ(first.ci95High, again.ci95High);
  EXPECT_EQ(first.seed, 2023u);
  EXPECT_EQ(first.definedResamples, 2000u);  // twelve pairs: a resample with every x tied is rare
  // On noisy data the interval has width and holds the estimate; another seed moves its ends a little.
  EXPECT_LT(first.ci95Low, first.tau);
  EXPECT_GT(first.ci95High, first.tau);
  EXPECT_LT(first.ci95High, 1.0 + 1e-12);
  // An independent bootstrap: numpy's generator drawing the indices, scipy.stats.kendalltau on each of
  // 40000 resamples, np.percentile at 2.5 and 97.5: [0.5034, 0.9558]. 2000 resamples land within a few
  // hundredths of it (over seeds 1, 2, 3, 99, 2023 here: 0.491-0.514 and 0.950-0.963).
  EXPECT_NEAR(first.ci95Low, 0.5034, 0.04);
  EXPECT_NEAR(first.ci95High, 0.9558, 0.03);
  const RankCorrelation other = kendallTauWithBootstrap(x, y, 2000, 99);
  EXPECT_TRUE(other.ci95Low != first.ci95Low || other.ci95High != first.ci95High);
  EXPECT_NEAR(other.ci95Low, first.ci95Low, 0.1);
  // Nothing to resample: the estimate and the interval are NaN.
  const RankCorrelation empty = kendallTauWithBootstrap({}, {}, 100, 1);
  EXPECT_EQ(empty.count, 0u);
  EXPECT_TRUE(std::isnan(empty.tau));
  EXPECT_TRUE(std::isnan(empty.ci95Low));
}

}  // namespace
}  // namespace samscape
