// shortNumber against C's printf("%g"), which C++ streams are specified to follow: six significant
// digits, the shorter of fixed and scientific notation, trailing zeros dropped.
#include <gtest/gtest.h>

#include <cstdio>
#include <limits>

#include "core/NumberFormat.h"

namespace samscape {
namespace {

std::string printfG(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

TEST(NumberFormatTest, PrintsSixSignificantDigitsAsPrintfDoes) {
  const double infinity = std::numeric_limits<double>::infinity();
  for (double value : {0.0, -0.0, 1.0, -0.5, 0.05, 0.1 + 0.2, 1e-10, 2.5e-7, 123456.0, 1234567.0, 1e300,
                       -3.75e-300, infinity, -infinity, std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_EQ(shortNumber(value), printfG(value)) << value;
  }
}

// The reason it exists: a small value a user typed stays recognisable in a message about it.
TEST(NumberFormatTest, KeepsSmallValuesThatToStringWouldRoundToZero) {
  EXPECT_EQ(shortNumber(1e-10), "1e-10");
  EXPECT_EQ(std::to_string(1e-10), "0.000000");
  EXPECT_EQ(shortNumber(0.05), "0.05");
  EXPECT_EQ(shortNumber(1234567.0), "1.23457e+06");
}

}  // namespace
}  // namespace samscape
