#include "viz/RunColors.h"

#include <gtest/gtest.h>

#include <set>

namespace samscape::viz {
namespace {

TEST(RunColors, TenConsecutiveIdsGetTenDistinctColours) {
  for (std::int64_t start : {0, 1, 7, 1000}) {
    std::set<QRgb> colours;
    for (std::int64_t id = start; id < start + 10; ++id) colours.insert(runColor(id).rgb());
    EXPECT_EQ(colours.size(), 10u) << "from id " << start;
  }
}

TEST(RunColors, AreStableAndFollowTableau10) {
  EXPECT_EQ(runColor(0), QColor(0x4E, 0x79, 0xA7));  // Tableau 10's blue
  EXPECT_EQ(runColor(1), QColor(0xF2, 0x8E, 0x2B));  // orange
  EXPECT_EQ(runColor(3), runColor(13));
  EXPECT_EQ(runColor(-1), runColor(9));
  EXPECT_TRUE(runColor(-123).isValid());
}

}  // namespace
}  // namespace samscape::viz
