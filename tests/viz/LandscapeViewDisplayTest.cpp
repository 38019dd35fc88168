// LandscapeView in a real window on an X display (ctest runs these under xvfb-run): the pixels must
// show a coloured surface. A black, transparent or background-only VTK view fails these tests.
#include <QApplication>
#include <QHBoxLayout>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QTest>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/support/TempDir.h"
#include "viz/FigureExport.h"
#include "viz/LandscapeView.h"
#include "viz/LineChart.h"

namespace samscape::viz {
namespace {

SliceGrid bowl(int n) {
  SliceGrid g;
  for (int i = 0; i < n; ++i) {
    const double t = -1.0 + 2.0 * i / (n - 1);
    g.xs.push_back(t);
    g.ys.push_back(t);
  }
  for (double y : g.ys)
    for (double x : g.xs) {
      g.loss.push_back(x * x + 2 * y * y);
      g.accuracy.push_back(1.0 - 0.1 * (x * x + y * y));
    }
  g.pointsDone = g.pointsTotal = static_cast<std::int64_t>(g.loss.size());
  g.level = 3;
  g.stride = 1;
  return g;
}

// Only the coarse level (every 8th row and column, and the last) evaluated; NaN elsewhere.
SliceGrid coarseOnly(int n) {
  SliceGrid g = bowl(n);
  const auto onLevel = [n](int i) { return i % 8 == 0 || i == n - 1; };
  g.pointsDone = 0;
  for (int iy = 0; iy < n; ++iy)
    for (int ix = 0; ix < n; ++ix) {
      const std::size_t i = g.index(static_cast<std::size_t>(ix), static_cast<std::size_t>(iy));
      if (onLevel(ix) && onLevel(iy)) {
        ++g.pointsDone;
      } else {
        g.loss[i] = g.accuracy[i] = std::numeric_limits<double>::quiet_NaN();
      }
    }
  g.level = 0;
  g.stride = 8;
  return g;
}

struct PixelStats {
  double greyStdDev = 0;
  double saturatedFraction = 0;  // colourful pixels: the viridis surface (the background is grey-blue)
  double darkFraction = 0;
  double redFraction = 0;  // the trajectory
  bool allOpaque = true;
  int count = 0;
};

PixelStats stats(const QImage& image) {
  PixelStats s;
  double sum = 0, sumSquares = 0;
  int saturated = 0, dark = 0, red = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      const QColor c = image.pixelColor(x, y);
      const double grey = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue();
      sum += grey;
      sumSquares += grey * grey;
      const int hi = std::max({c.red(), c.green(), c.blue()});
      const int lo = std::min({c.red(), c.green(), c.blue()});
      if (hi - lo > 70) ++saturated;
      if (hi < 50) ++dark;
      if (c.red() > 150 && c.green() < 80 && c.blue() < 80) ++red;
      if (c.alpha() != 255) s.allOpaque = false;
    }
  s.count = image.width() * image.height();
  const double mean = sum / s.count;
  s.greyStdDev = std::sqrt(std::max(0.0, sumSquares / s.count - mean * mean));
  s.saturatedFraction = double(saturated) / s.count;
  s.darkFraction = double(dark) / s.count;
  s.redFraction = double(red) / s.count;
  return s;
}

void settle() {
  for (int i = 0; i < 5; ++i) {
    QApplication::processEvents();
    QTest::qWait(20);
  }
}

class LandscapeViewDisplayTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(qApp, nullptr); }
};

TEST_F(LandscapeViewDisplayTest, SurfaceInAWindowIsDrawnInColour) {
  LandscapeView view;
  view.resize(480, 360);
  view.setTitle("x^2 + 2y^2");
  view.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  settle();
  const PixelStats empty = stats(view.grabFramebuffer());
  EXPECT_LT(empty.saturatedFraction, 0.01) << "the empty view is only its grey background";

  view.setSurface(bowl(41));
  settle();
  const QImage image = view.grabFramebuffer();
  ASSERT_FALSE(image.isNull());
  const PixelStats s = stats(image);
  EXPECT_TRUE(s.allOpaque) << "a transparent grab: alpha not forced to 1";
  EXPECT_GT(s.greyStdDev, 20.0);
  EXPECT_LT(s.darkFraction, 0.5) << "mostly black: VTK did not draw into the widget";
  EXPECT_GT(s.saturatedFraction, 0.10) << "no coloured surface";
}

TEST_F(LandscapeViewDisplayTest, GridWithHolesRendersAndRefines) {
  LandscapeView view;
  view.resize(400, 300);
  view.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  view.setSurface(coarseOnly(41));  // 6 x 6 of 41 x 41 evaluated
  settle();
  const QImage coarse = view.grabFramebuffer();
  const PixelStats s = stats(coarse);
  EXPECT_GT(s.saturatedFraction, 0.10);
  EXPECT_GT(s.greyStdDev, 20.0);
  view.setSurface(bowl(41));
  settle();
  const QImage fine = view.grabFramebuffer();
  EXPECT_GT(stats(fine).saturatedFraction, 0.10);
  EXPECT_NE(coarse, fine) << "the refined grid must change the picture (the dots of evaluated points go)";
}

TEST_F(LandscapeViewDisplayTest, ContourModeAndTrajectory) {
  LandscapeView view;
  view.resize(400, 400);
  view.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  view.setSurface(bowl(41));
  view.setMode(LandscapeView::Mode::Contour);
  settle();
  const PixelStats map = stats(view.grabFramebuffer());
  EXPECT_GT(map.saturatedFraction, 0.25) << "the colour map fills most of the view from above";
  EXPECT_GT(map.darkFraction, 0.002) << "no contour lines";
  EXPECT_LT(map.redFraction, 0.001);
  view.setTrajectory({0.9, 0.6, 0.3, 0.1, 0.0}, {-0.8, -0.5, -0.2, -0.05, 0.0});
  settle();
  EXPECT_GT(stats(view.grabFramebuffer()).redFraction, 0.001) << "the trajectory is not drawn";
}

TEST_F(LandscapeViewDisplayTest, RenderImageAtAChosenResolution) {
  LandscapeView view;
  view.resize(320, 240);
  view.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
  view.setSurface(bowl(41));
  const QImage image = view.renderImage(1200, 900);
  ASSERT_EQ(image.size(), QSize(1200, 900));
  const PixelStats s = stats(image);
  EXPECT_TRUE(s.allOpaque);
  EXPECT_GT(s.saturatedFraction, 0.10);
  EXPECT_GT(s.greyStdDev, 20.0);
  settle();
  EXPECT_GT(stats(view.grabFramebuffer()).saturatedFraction, 0.10) << "the view is intact after the export";
}

TEST_F(LandscapeViewDisplayTest, RenderImageOfAViewNeverShown) {
  // A script exporting figures builds the view and renders it without ever opening a window.
  LandscapeView view;
  view.resize(320, 240);
  view.setSurface(bowl(21));
  view.setMode(LandscapeView::Mode::Contour);
  const QImage image = view.renderImage(640, 480);
  ASSERT_EQ(image.size(), QSize(640, 480));
  EXPECT_GT(stats(image).saturatedFraction, 0.25);
}

TEST_F(LandscapeViewDisplayTest, LinkedCamerasMoveTogether) {
  QWidget window;
  auto* layout = new QHBoxLayout(&window);
  auto* sgd = new LandscapeView;
  auto* sam = new LandscapeView;
  layout->addWidget(sgd);
  layout->addWidget(sam);
  window.resize(800, 360);
  sgd->linkCamera(sam);
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  const SliceGrid g = bowl(41);
  sgd->setSurface(g);
  sam->setSurface(g);
  sgd->setColorRange(0.0, 3.0);
  sam->setColorRange(0.0, 3.0);
  settle();
  const QImage before = sam->grabFramebuffer();
  EXPECT_EQ(sgd->grabFramebuffer(), before) << "same data, same size, linked: same picture";

  QSignalSpy moved(sam, &LandscapeView::cameraChanged);
  sgd->setAzimuth(70.0);
  settle();
  const QImage turned = sam->grabFramebuffer();
  EXPECT_NE(turned, before) << "turning one view did not turn the other";
  EXPECT_EQ(sgd->grabFramebuffer(), turned);

  // A mouse drag in the other view moves the first one back.
  QSignalSpy dragged(sam, &LandscapeView::cameraChanged);
  const QPoint start(sam->width() / 2, sam->height() / 2);
  const auto send = [sam](QEvent::Type type, QPoint at, Qt::MouseButton button, Qt::MouseButtons buttons) {
    QMouseEvent event(type, QPointF(at), sam->mapToGlobal(QPointF(at)), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(sam, &event);
  };
  send(QEvent::MouseButtonPress, start, Qt::LeftButton, Qt::LeftButton);
  for (int i = 1; i <= 5; ++i)
    send(QEvent::MouseMove, start + QPoint(20 * i, 0), Qt::NoButton, Qt::LeftButton);
  send(QEvent::MouseButtonRelease, start + QPoint(100, 0), Qt::LeftButton, Qt::NoButton);
  settle();
  EXPECT_GE(dragged.count(), 1);
  const QImage afterDrag = sgd->grabFramebuffer();
  EXPECT_NE(afterDrag, turned);
  EXPECT_EQ(sam->grabFramebuffer(), afterDrag);
}

TEST_F(LandscapeViewDisplayTest, FigureExportOfAWindowIncludesTheOpenGLView) {
  test::TempDir dir;
  QWidget window;
  auto* layout = new QHBoxLayout(&window);
  auto* view = new LandscapeView;
  auto* chart = new LineChart;
  layout->addWidget(view);
  layout->addWidget(chart);
  window.resize(800, 360);
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  view->setSurface(bowl(41));
  chart->setSeries({{"loss", Qt::black, {0, 1, 2}, {3, 2, 1.5}}});
  settle();
  const QString png = QString::fromStdString(dir.file("window.png"));
  QString error;
  ASSERT_TRUE(exportWidget(&window, png, &error)) << error.toStdString();
  QImage image(png);
  ASSERT_FALSE(image.isNull());
  const QRect viewArea(view->mapTo(&window, QPoint(0, 0)) * 2, view->size() * 2);
  EXPECT_GT(stats(image.copy(viewArea)).saturatedFraction, 0.10) << "the 3D view is missing from the figure";
  for (const char* name : {"window.svg", "window.pdf"}) {
    ASSERT_TRUE(exportWidget(&window, QString::fromStdString(dir.file(name)), &error)) << error.toStdString();
  }
  ASSERT_TRUE(exportWidget(view, QString::fromStdString(dir.file("view.png")), &error))
      << error.toStdString();
  EXPECT_GT(stats(QImage(QString::fromStdString(dir.file("view.png")))).saturatedFraction, 0.10);
}

}  // namespace
}  // namespace samscape::viz
