// The landscape files, read back: CSVs value by value, the VTK structured grid parsed as XML.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <regex>
#include <sstream>

#include "analysis/LandscapeFiles.h"
#include "core/Error.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::vector<std::string>> readCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(test::readText(path));
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    std::string cell;
    while (std::getline(fields, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

double parse(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

// A 3 x 2 grid (x fastest) with values that need all 17 digits.
SliceGrid makeGrid() {
  SliceGrid grid;
  grid.xs = {-1.0, 0.0, 1.0};
  grid.ys = {-0.5, 0.5};
  for (int i = 0; i < 6; ++i) {
    grid.loss.push_back(1.0 / 3.0 + i);
    grid.accuracy.push_back(0.1 * i);
  }
  grid.pointsDone = grid.pointsTotal = 6;
  return grid;
}

// A minimal XML reader, enough to check well-formedness (balanced, properly nested tags) and collect
// each element's attributes and text.
struct Element {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;
};

std::vector<Element> parseXml(const std::string& xml) {
  std::vector<Element> done;
  std::vector<Element> open;
  std::size_t position = 0;
  const std::regex attribute(R"re(([A-Za-z_:]+)="([^"]*)")re");
  while (true) {
    const std::size_t start = xml.find('<', position);
    if (start == std::string::npos) break;
    if (!open.empty()) open.back().text += xml.substr(position, start - position);
    const std::size_t end = xml.find('>', start);
    if (end == std::string::npos) throw std::runtime_error("unterminated tag");
    const std::string tag = xml.substr(start + 1, end - start - 1);
    position = end + 1;
    if (tag.front() == '?') continue;
    if (tag.front() == '/') {
      if (open.empty() || open.back().name != tag.substr(1)) throw std::runtime_error("mismatched </" + tag + ">");
      done.push_back(open.back());
      open.pop_back();
      continue;
    }
    Element element;
    element.name = tag.substr(0, tag.find_first_of(" /"));
    for (std::sregex_iterator it(tag.begin(), tag.end(), attribute), last; it != last; ++it) {
      element.attributes[(*it)[1]] = (*it)[2];
    }
    if (tag.back() == '/') {
      done.push_back(element);
    } else {
      open.push_back(element);
    }
  }
  if (!open.empty()) throw std::runtime_error("unclosed <" + open.back().name + ">");
  return done;
}

std::vector<double> numbers(const std::string& text) {
  std::istringstream stream(text);
  std::vector<double> values;
  std::string token;
  while (stream >> token) values.push_back(parse(token));
  return values;
}

TEST(LandscapeFilesTest, SliceCsvHoldsEveryEvaluatedPointValueByValue) {
  test::TempDir dir;
  SliceGrid grid = makeGrid();
  grid.loss[4] = kNaN;  // (x = 0, y = 0.5) not evaluated yet
  grid.accuracy[4] = kNaN;
  writeSliceCsv(dir.file("slice.csv"), grid);
  const auto rows = readCsv(dir.file("slice.csv"));
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"x", "y", "loss", "accuracy"}));
  const int expectedIndex[] = {0, 1, 2, 3, 5};
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const int index = expectedIndex[r - 1];
    ASSERT_EQ(rows[r].size(), 4u);
    EXPECT_EQ(parse(rows[r][0]), grid.xs[static_cast<std::size_t>(index % 3)]);
    EXPECT_EQ(parse(rows[r][1]), grid.ys[static_cast<std::size_t>(index / 3)]);
    EXPECT_EQ(parse(rows[r][2]), grid.loss[static_cast<std::size_t>(index)]);
    EXPECT_EQ(parse(rows[r][3]), grid.accuracy[static_cast<std::size_t>(index)]);
  }
}

TEST(LandscapeFilesTest, SliceVtsIsAStructuredGridWithTheRightExtentAndValues) {
  test::TempDir dir;
  const SliceGrid grid = makeGrid();
  writeSliceVts(dir.file("slice.vts"), grid);
  const std::vector<Element> elements = parseXml(test::readText(dir.file("slice.vts")));
  std::map<std::string, const Element*> byName;
  std::vector<const Element*> arrays;
  for (const Element& element : elements) {
    byName[element.name] = &element;
    if (element.name == "DataArray") arrays.push_back(&element);
  }
  ASSERT_TRUE(byName.count("VTKFile"));
  EXPECT_EQ(byName["VTKFile"]->attributes.at("type"), "StructuredGrid");
  ASSERT_TRUE(byName.count("StructuredGrid"));
  EXPECT_EQ(byName["StructuredGrid"]->attributes.at("WholeExtent"), "0 2 0 1 0 0");
  ASSERT_TRUE(byName.count("Piece"));
  EXPECT_EQ(byName["Piece"]->attributes.at("Extent"), "0 2 0 1 0 0");
  ASSERT_TRUE(byName.count("Points"));
  ASSERT_EQ(arrays.size(), 3u);
  for (const Element* array : arrays) {
    const std::vector<double> values = numbers(array->text);
    const std::string name = array->attributes.at("Name");
    if (name == "loss" || name == "accuracy") {
      EXPECT_EQ(values, name == "loss" ? grid.loss : grid.accuracy);
    } else {
      EXPECT_EQ(array->attributes.at("NumberOfComponents"), "3");
      ASSERT_EQ(values.size(), 18u);
      for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(values[3 * i], grid.xs[i % 3]);
        EXPECT_EQ(values[3 * i + 1], grid.ys[i / 3]);
        EXPECT_EQ(values[3 * i + 2], grid.loss[i]);
      }
    }
  }
}

TEST(LandscapeFilesTest, IncompleteVtsAndUnwritablePathsAreErrorsNamingThePath) {
  test::TempDir dir;
  SliceGrid grid = makeGrid();
  grid.loss[2] = kNaN;
  grid.accuracy[2] = kNaN;
  grid.pointsDone = 5;
  const std::string path = dir.file("slice.vts");
  test::expectContains(test::messageOf<Error>([&] { writeSliceVts(path, grid); }), {path, "incomplete"});
  EXPECT_FALSE(std::filesystem::exists(path));
  const std::string unwritable = dir.file("missing/sub/slice.csv");
  test::expectContains(test::messageOf<Error>([&] { writeSliceCsv(unwritable, makeGrid()); }), {unwritable});
}

TEST(LandscapeFilesTest, InterpolationAndTrajectoryCsvs) {
  test::TempDir dir;
  InterpolationResult result;
  result.ts = {-0.5, 0.0, 0.5};
  result.loss = {2.0 / 3.0, 0.25, kNaN};
  result.accuracy = {0.5, 0.75, kNaN};
  writeInterpolationCsv(dir.file("interpolation.csv"), result);
  const auto rows = readCsv(dir.file("interpolation.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"t", "loss", "accuracy"}));
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(parse(rows[i + 1][0]), result.ts[i]);
    EXPECT_EQ(parse(rows[i + 1][1]), result.loss[i]);
    EXPECT_EQ(parse(rows[i + 1][2]), result.accuracy[i]);
  }

  TrajectoryProjection projection;
  projection.xs = {1.0 / 7.0, -2.5};
  projection.ys = {0.0, 1e-20};
  writeTrajectoryCsv(dir.file("trajectory.csv"), {1, 10}, projection);
  const auto trajectory = readCsv(dir.file("trajectory.csv"));
  ASSERT_EQ(trajectory.size(), 3u);
  EXPECT_EQ(trajectory[0], (std::vector<std::string>{"epoch", "x", "y"}));
  EXPECT_EQ(trajectory[1][0], "1");
  EXPECT_EQ(trajectory[2][0], "10");
  EXPECT_EQ(parse(trajectory[1][1]), 1.0 / 7.0);
  EXPECT_EQ(parse(trajectory[2][2]), 1e-20);
  test::expectContains(test::messageOf<Error>([&] { writeTrajectoryCsv(dir.file("t.csv"), {1}, projection); }),
                       {dir.file("t.csv")});
}

}  // namespace
}  // namespace samscape
