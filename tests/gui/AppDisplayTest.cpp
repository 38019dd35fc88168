// The desktop app as a user starts it, under an X display (Xvfb): the demo pair on the tiny dataset,
// waited for until an epoch and its analyses are on screen, then a grab whose landscape view really shows
// a surface. And the app's own flags refuse bad input with exit code 2 and a message naming the flag.
#include <QImage>
#include <QRegularExpression>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "tests/gui/GuiTestSupport.h"
#include "tests/support/TempDir.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

struct PixelStatistics {
  double grayStdDev = 0.0;
  double darkFraction = 0.0;       // pixels with every channel below 16
  double commonestFraction = 0.0;  // share of the most frequent colour
};

PixelStatistics statisticsOf(const QImage& image, const QRect& rect) {
  PixelStatistics s;
  double sum = 0.0, sumSquares = 0.0;
  std::map<QRgb, long> counts;
  long n = 0, dark = 0;
  for (int y = rect.top(); y <= rect.bottom(); ++y) {
    for (int x = rect.left(); x <= rect.right(); ++x) {
      const QRgb p = image.pixel(x, y);
      const double gray = qGray(p);
      sum += gray;
      sumSquares += gray * gray;
      ++counts[p & 0xffffffu];
      if (qRed(p) < 16 && qGreen(p) < 16 && qBlue(p) < 16) ++dark;
      ++n;
    }
  }
  if (n == 0) return s;
  const double mean = sum / n;
  s.grayStdDev = std::sqrt(std::max(0.0, sumSquares / n - mean * mean));
  s.darkFraction = static_cast<double>(dark) / n;
  long commonest = 0;
  for (const auto& [colour, count] : counts) commonest = std::max(commonest, count);
  s.commonestFraction = static_cast<double>(commonest) / n;
  return s;
}

TEST(AppDisplayTest, DemoScreenshotShowsTheLandscape) {
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};
  const QString png = QString::fromStdString(dir.file("demo.png"));
  const test::ProcessResult result = test::runProcess(SAMSCAPE_APP_PATH,
                                                      {"--demo",
                                                       "--screenshot",
                                                       png,
                                                       "--after-epochs",
                                                       "1",
                                                       "--",
                                                       "--dataset",
                                                       "mnist",
                                                       "--data-dir",
                                                       QString::fromStdString(dir.file("mnist")),
                                                       "--model",
                                                       "mlp",
                                                       "--train-subset",
                                                       "0",
                                                       "--test-subset",
                                                       "0",
                                                       "--epochs",
                                                       "1",
                                                       "--analyze-every",
                                                       "1",
                                                       "--grid",
                                                       "9",
                                                       "--subset",
                                                       "0",
                                                       "--batch-size",
                                                       "16"},
                                                      QString::fromStdString(dir.file("workspace")), 300000);
  ASSERT_EQ(result.exitCode, 0) << result.out.toStdString() << result.err.toStdString();

  const QImage image(png);
  ASSERT_FALSE(image.isNull()) << png.toStdString();
  // The pages with a screenshot suffix in the page list (app/gui/PageList.cpp) are saved beside it.
  for (const char* beside : {"demo-curves.png", "demo-spectrum.png"}) {
    EXPECT_FALSE(QImage(QString::fromStdString(dir.file(beside))).isNull()) << beside;
  }
  const PixelStatistics whole = statisticsOf(image, image.rect());
  EXPECT_GT(whole.grayStdDev, 10.0);

  const QRegularExpression place(R"(landscape view at (\d+),(\d+) size (\d+)x(\d+) \(scale ([0-9.]+)\))");
  const QRegularExpressionMatch match = place.match(result.out);
  ASSERT_TRUE(match.hasMatch()) << result.out.toStdString();
  const double scale = match.captured(5).toDouble();
  const QRect view(static_cast<int>(match.captured(1).toInt() * scale),
                   static_cast<int>(match.captured(2).toInt() * scale),
                   static_cast<int>(match.captured(3).toInt() * scale),
                   static_cast<int>(match.captured(4).toInt() * scale));
  ASSERT_TRUE(image.rect().contains(view))
      << "view " << view.x() << "," << view.y() << " " << view.width() << "x" << view.height()
      << " outside the " << image.width() << "x" << image.height() << " grab";
  ASSERT_GT(view.width(), 100);
  ASSERT_GT(view.height(), 100);
  const PixelStatistics inside = statisticsOf(image, view);
  std::printf(
      "landscape view: gray std-dev %.1f, dark %.3f, commonest colour %.3f (whole grab: std-dev %.1f)\n",
      inside.grayStdDev, inside.darkFraction, inside.commonestFraction, whole.grayStdDev);
  EXPECT_GT(inside.grayStdDev, 8.0);         // a surface, not an empty background
  EXPECT_LT(inside.darkFraction, 0.5);       // not a black (failed) render
  EXPECT_LT(inside.commonestFraction, 0.9);  // not one uniform colour
}

// --study PRESET --screenshot FILE: the Study page with the preset, as the workspace holds it (nothing
// run yet), saved and the app quits.
TEST(AppDisplayTest, StudyScreenshotShowsThePresetsCells) {
  test::TempDir dir;
  const QString workspace = QString::fromStdString(dir.file("workspace"));
  const QString file = QString::fromStdString(dir.file("study.png"));
  const test::ProcessResult result =
      test::runProcess(SAMSCAPE_APP_PATH, {"--study", "label-noise", "--screenshot", file}, workspace, 120000);
  ASSERT_EQ(result.exitCode, 0) << result.err.toStdString();
  const QImage image(file);
  ASSERT_FALSE(image.isNull());
  EXPECT_GT(image.width(), 600);
}

TEST(AppDisplayTest, BadFlagsExitWithCode2NamingTheFlag) {
  test::TempDir dir;
  const QString workspace = QString::fromStdString(dir.file("workspace"));
  test::ProcessResult result = test::runProcess(SAMSCAPE_APP_PATH, {"--after-epochs", "0"}, workspace, 60000);
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_TRUE(result.err.contains("--after-epochs")) << result.err.toStdString();
  result = test::runProcess(SAMSCAPE_APP_PATH, {"--after-epochs", "x"}, workspace, 60000);
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_TRUE(result.err.contains("--after-epochs")) << result.err.toStdString();
  result = test::runProcess(SAMSCAPE_APP_PATH, {"--screenshot", dir.file("x.png").c_str()}, workspace, 60000);
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_TRUE(result.err.contains("--screenshot")) << result.err.toStdString();
  EXPECT_TRUE(result.err.contains("--demo")) << result.err.toStdString();
  // A study that is neither a file nor a preset.
  result = test::runProcess(SAMSCAPE_APP_PATH, {"--study", "no-such-study"}, workspace, 60000);
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_TRUE(result.err.contains("--study")) << result.err.toStdString();
  EXPECT_TRUE(result.err.contains("no-such-study")) << result.err.toStdString();
  // A train flag with a bad value after --: the form's parser names it.
  result = test::runProcess(SAMSCAPE_APP_PATH, {"--demo", "--", "--lr", "-1"}, workspace, 60000);
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_TRUE(result.err.contains("--lr")) << result.err.toStdString();
}

}  // namespace
}  // namespace samscape
