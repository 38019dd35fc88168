// The landscape files, read back: CSVs value by value, the VTK structured grid parsed as XML.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>

#include "analysis/AnalysisFiles.h"
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

TEST(AnalysisFilesTest, SliceCsvHoldsEveryEvaluatedPointValueByValue) {
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

TEST(AnalysisFilesTest, SliceVtsIsAStructuredGridWithTheRightExtentAndValues) {
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

TEST(AnalysisFilesTest, IncompleteVtsAndUnwritablePathsAreErrorsNamingThePath) {
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

TEST(AnalysisFilesTest, InterpolationAndTrajectoryCsvs) {
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

// ----- the readers, on what the writers wrote and on files they would never write ----------------------

// A 5 x 5 grid over [-1, 1] as the slice evaluates it, with only some points done (a coarse level).
SliceGrid partialSquareGrid() {
  SliceGrid grid;
  for (int i = 0; i < 5; ++i) grid.xs.push_back(-1.0 + 2.0 * i / 4);
  grid.ys = grid.xs;
  grid.loss.assign(25, kNaN);
  grid.accuracy.assign(25, kNaN);
  grid.pointsTotal = 25;
  for (std::size_t iy = 0; iy < 5; iy += 2) {
    for (std::size_t ix = 0; ix < 5; ix += 2) {
      grid.loss[grid.index(ix, iy)] = 1.0 / 3.0 + static_cast<double>(ix) - 0.1 * static_cast<double>(iy);
      grid.accuracy[grid.index(ix, iy)] = 0.5 + 0.01 * static_cast<double>(ix + iy);
      ++grid.pointsDone;
    }
  }
  return grid;
}

TEST(AnalysisFilesTest, ASliceReadsBackOnItsGridWithTheUnevaluatedPointsMissing) {
  test::TempDir dir;
  const SliceGrid written = partialSquareGrid();
  writeSliceCsv(dir.file("slice.csv"), written);
  const SliceGrid read = readSliceCsv(dir.file("slice.csv"), 5, -1.0, 1.0);
  EXPECT_EQ(read.xs, written.xs);
  EXPECT_EQ(read.ys, written.ys);
  EXPECT_EQ(read.pointsDone, 9);
  EXPECT_EQ(read.pointsTotal, 25);
  EXPECT_FALSE(read.complete());
  for (std::size_t i = 0; i < 25; ++i) {
    EXPECT_EQ(std::isnan(read.loss[i]), std::isnan(written.loss[i])) << i;
    if (!std::isnan(written.loss[i])) {
      EXPECT_EQ(read.loss[i], written.loss[i]) << i;  // 17 digits: the same double
      EXPECT_EQ(read.accuracy[i], written.accuracy[i]) << i;
    }
  }
}

TEST(AnalysisFilesTest, CurvesReadBackValueForValue) {
  test::TempDir dir;
  const DensityCurve density{{-0.5, 0.0, 1.0 / 3.0}, {0.0, 2.5, 1e-300}};
  writeDensityCsv(dir.file("esd.csv"), density);
  const DensityCurve densityRead = readDensityCsv(dir.file("esd.csv"));
  EXPECT_EQ(densityRead.eigenvalues, density.eigenvalues);
  EXPECT_EQ(densityRead.density, density.density);
  EXPECT_EQ(readCsv(dir.file("esd.csv"))[0], (std::vector<std::string>{"eigenvalue", "density"}));

  InterpolationResult curve;
  curve.ts = {-0.5, 0.0, 0.5};
  curve.loss = {2.0 / 3.0, 0.25, 7.0};
  curve.accuracy = {0.5, 0.75, 0.125};
  writeInterpolationCsv(dir.file("interpolation.csv"), curve);
  const InterpolationResult curveRead = readInterpolationCsv(dir.file("interpolation.csv"));
  EXPECT_EQ(curveRead.ts, curve.ts);
  EXPECT_EQ(curveRead.loss, curve.loss);
  EXPECT_EQ(curveRead.accuracy, curve.accuracy);

  TrajectoryProjection projection;
  projection.xs = {1.0 / 7.0, -2.5};
  projection.ys = {0.0, 1e-20};
  writeTrajectoryCsv(dir.file("trajectory.csv"), {1, 10}, projection);
  const TrajectoryRows rows = readTrajectoryCsv(dir.file("trajectory.csv"));
  EXPECT_EQ(rows.epochs, (std::vector<int>{1, 10}));
  EXPECT_EQ(rows.xs, projection.xs);
  EXPECT_EQ(rows.ys, projection.ys);
}

TEST(AnalysisFilesTest, FilesTheWritersWouldNotWriteAreDataErrorsNamingTheFileAndLine) {
  test::TempDir dir;
  const auto refused = [&](const std::string& name, const std::string& content, auto read,
                           std::vector<std::string> expected) {
    const std::string path = dir.file(name);
    { std::ofstream(path) << content; }
    expected.push_back(path);
    test::expectContains(test::messageOf<DataError>([&] { read(path); }), expected);
  };
  const auto slice = [](const std::string& path) { readSliceCsv(path, 5, -1.0, 1.0); };
  refused("s1.csv", "x,y,loss\n", slice, {"header"});
  refused("s2.csv", "x,y,loss,accuracy\n0.25,0,1,0.5\n", slice, {"not on the 5 x 5 grid"});
  refused("s3.csv", "x,y,loss,accuracy\n0,0,1,0.5\n0,0,2,0.5\n", slice, {"appears twice"});
  refused("s4.csv", "x,y,loss,accuracy\n0,0,one,0.5\n", slice, {"line 2", "\"one\""});
  refused("s5.csv", "x,y,loss,accuracy\n0,0,1\n", slice, {"line 2", "3 fields"});
  refused("s6.csv", "", slice, {"empty"});
  refused("t1.csv", "epoch,x,y\n1.5,0,0\n", [](const std::string& path) { readTrajectoryCsv(path); }, {"1.5"});
  refused("e1.csv", "eigenvalue,density\n1,2,3\n", [](const std::string& path) { readDensityCsv(path); }, {"line 2"});
  test::expectContains(test::messageOf<DataError>([&] { readInterpolationCsv(dir.file("absent.csv")); }),
                       {dir.file("absent.csv")});
  // A grid analysis.json could not have described.
  test::expectContains(test::messageOf<DataError>([&] { readSliceCsv(dir.file("s1.csv"), 1, -1.0, 1.0); }),
                       {dir.file("s1.csv"), "grid"});
}

}  // namespace
}  // namespace samscape
