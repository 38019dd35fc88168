// samscape-viz-bench: the frame time of rotating a loss surface in a LandscapeView over a full turn of
// azimuth steps, measured two ways (see below: VTK's render alone, and until the frame is on screen).
// Prints mean, median, p99 and max in ms.
//   xvfb-run -a -s "-screen 0 1280x1024x24" samscape-viz-bench [--grid 101] [--steps 100]
//       [--size 800x600] [--screenshot FILE]
// --screenshot FILE writes a demo window instead (SGD and SAM surfaces with linked cameras, a loss
// chart and a spectrum chart) as FILE through the figure export; next to it FILE-screen (the X server's
// own copy of the window: what is really on the display), FILE-surface-1600x1200.png (renderImage) and
// FILE-contour (both views in contour mode).
#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QGridLayout>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QScreen>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "viz/FigureExport.h"
#include "viz/GraphicsSetup.h"
#include "viz/LandscapeView.h"
#include "viz/LineChart.h"
#include "viz/RunColors.h"

namespace {

using samscape::SliceGrid;
using namespace samscape::viz;

// A bowl with some anisotropy and ripples, roughly what a trained network's slice looks like;
// `sharpness` scales the curvature (SGD sharper than SAM).
SliceGrid syntheticSlice(int n, double sharpness, int level = -1) {
  SliceGrid g;
  for (int i = 0; i < n; ++i) {
    const double t = -1.0 + 2.0 * i / (n - 1);
    g.xs.push_back(t);
    g.ys.push_back(t);
  }
  const int stride = level < 0 ? 1 : 8 >> level;
  for (int iy = 0; iy < n; ++iy)
    for (int ix = 0; ix < n; ++ix) {
      const double x = g.xs[static_cast<std::size_t>(ix)], y = g.ys[static_cast<std::size_t>(iy)];
      const double q = sharpness * (3.0 * x * x + 1.5 * y * y + 0.8 * x * y);
      double loss = 0.25 + 4.0 * (1.0 - std::exp(-q)) + 0.08 * std::sin(5 * x) * std::cos(4 * y);
      const bool evaluated = (ix % stride == 0 || ix == n - 1) && (iy % stride == 0 || iy == n - 1);
      if (!evaluated) loss = std::numeric_limits<double>::quiet_NaN();
      g.loss.push_back(loss);
      g.accuracy.push_back(std::isnan(loss) ? loss : std::exp(-loss));
      if (evaluated) ++g.pointsDone;
    }
  g.pointsTotal = static_cast<std::int64_t>(g.loss.size());
  g.level = level < 0 ? 3 : level;
  g.stride = stride;
  return g;
}

void settle(int rounds = 10) {
  for (int i = 0; i < rounds; ++i) {
    QApplication::processEvents();
    QTest::qWait(20);
  }
}

// paintGL is protected; the benchmark calls it directly to time the rendering alone.
class BenchView : public LandscapeView {
 public:
  void paintNow() { paintGL(); }
};

int screenshot(const QString& path) {
  QWidget window;
  window.setWindowTitle("samscape: SGD vs SAM");
  auto* layout = new QGridLayout(&window);
  auto* sgd = new LandscapeView;
  auto* sam = new LandscapeView;
  auto* losses = new LineChart;
  auto* spectrum = new LineChart;
  layout->addWidget(sgd, 0, 0);
  layout->addWidget(sam, 0, 1);
  layout->addWidget(losses, 1, 0);
  layout->addWidget(spectrum, 1, 1);
  layout->setRowStretch(0, 3);
  layout->setRowStretch(1, 2);
  sgd->linkCamera(sam);
  window.resize(1200, 860);
  window.show();
  if (!QTest::qWaitForWindowExposed(&window)) {
    std::fprintf(stderr, "samscape-viz-bench: the window was never shown (no X display?)\n");
    return 1;
  }
  sgd->setTitle("sgd-cnn, epoch 10");
  sam->setTitle("sam-cnn, epoch 10 (refining: level 1 of 3)");
  sgd->setSurface(syntheticSlice(51, 2.0));
  sam->setSurface(syntheticSlice(51, 0.6, /*level=*/1));
  sgd->setColorRange(0.25, 4.3);
  sam->setColorRange(0.25, 4.3);
  const std::vector<double> tx{0.85, 0.6, 0.42, 0.3, 0.2, 0.12, 0.07, 0.03, 0.01, 0.0};
  const std::vector<double> ty{-0.7, -0.55, -0.38, -0.25, -0.15, -0.09, -0.05, -0.02, -0.01, 0.0};
  sgd->setTrajectory(tx, ty);
  sam->setTrajectory(tx, ty);

  std::vector<double> epochs, sgdLoss, samLoss, sgdLambda, samLambda;
  for (int e = 1; e <= 30; ++e) {
    epochs.push_back(e);
    sgdLoss.push_back(1.6 * std::exp(-0.12 * e) + 0.25 + 0.06 * std::sin(1.7 * e));
    samLoss.push_back(1.7 * std::exp(-0.10 * e) + 0.28 + 0.06 * std::cos(1.3 * e));
    sgdLambda.push_back(20 + 4.0 * e);
    samLambda.push_back(18 + 1.4 * e);
  }
  losses->setTitle("Training loss");
  losses->setAxisTitles("epoch", "loss");
  losses->setSeries({{"sgd-cnn", runColor(1), epochs, sgdLoss}, {"sam-cnn", runColor(2), epochs, samLoss}});
  losses->setSmoothing(0.6);
  losses->setLogScale(true);
  spectrum->setTitle("Hessian top eigenvalue");
  spectrum->setAxisTitles("epoch", "lambda_max");
  spectrum->setSeries(
      {{"sgd-cnn", runColor(1), epochs, sgdLambda}, {"sam-cnn", runColor(2), epochs, samLambda}});
  sgd->setAzimuth(35.0);
  settle(20);

  QString error;
  if (!exportWidget(&window, path, &error)) {
    std::fprintf(stderr, "samscape-viz-bench: %s\n", qPrintable(error));
    return 1;
  }
  const QFileInfo info(path);
  const QString screenPath = info.path() + "/" + info.completeBaseName() + "-screen." + info.suffix();
  const QPixmap screen = window.screen()->grabWindow(window.winId());
  if (screen.isNull() || !screen.save(screenPath)) {
    std::fprintf(stderr, "samscape-viz-bench: cannot write %s\n", qPrintable(screenPath));
    return 1;
  }
  // The 3D view alone at a chosen resolution (PNG export of a surface), and the contour mode.
  const QString surfacePath = info.path() + "/" + info.completeBaseName() + "-surface-1600x1200.png";
  const QImage surface = sgd->renderImage(1600, 1200);
  if (surface.isNull() || !surface.save(surfacePath)) {
    std::fprintf(stderr, "samscape-viz-bench: cannot write %s\n", qPrintable(surfacePath));
    return 1;
  }
  sgd->setMode(LandscapeView::Mode::Contour);
  sam->setMode(LandscapeView::Mode::Contour);
  settle(20);
  const QString contourPath = info.path() + "/" + info.completeBaseName() + "-contour." + info.suffix();
  if (!exportWidget(&window, contourPath, &error)) {
    std::fprintf(stderr, "samscape-viz-bench: %s\n", qPrintable(error));
    return 1;
  }
  std::printf("wrote %s, %s, %s and %s\n", qPrintable(path), qPrintable(screenPath), qPrintable(surfacePath),
              qPrintable(contourPath));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  setDefaultSurfaceFormat();
  QApplication application(argc, argv);
  int gridSize = 101;
  int steps = 100;
  int width = 800, height = 600;
  QString screenshotPath;
  const QStringList args = application.arguments();
  for (int i = 1; i < args.size(); ++i) {
    const QString& arg = args[i];
    const bool hasValue = i + 1 < args.size();
    if (arg == "--grid" && hasValue) {
      gridSize = args[++i].toInt();
    } else if (arg == "--steps" && hasValue) {
      steps = args[++i].toInt();
    } else if (arg == "--size" && hasValue) {
      const QStringList parts = args[++i].split('x');
      if (parts.size() == 2) width = parts[0].toInt(), height = parts[1].toInt();
    } else if (arg == "--screenshot" && hasValue) {
      screenshotPath = args[++i];
    } else {
      std::fprintf(stderr,
                   "usage: samscape-viz-bench [--grid N] [--steps K] [--size WxH] [--screenshot FILE.png]\n");
      return 2;
    }
  }
  if (gridSize < 2 || steps < 1 || width < 16 || height < 16) {
    std::fprintf(stderr, "samscape-viz-bench: --grid must be >= 2, --steps >= 1, --size at least 16x16\n");
    return 2;
  }
  if (!screenshotPath.isEmpty()) return screenshot(screenshotPath);

  BenchView view;
  view.resize(width, height);
  view.setTitle(QString("%1 x %1 surface").arg(gridSize));
  view.show();
  if (!QTest::qWaitForWindowExposed(&view)) {
    std::fprintf(stderr, "samscape-viz-bench: the window was never shown (no X display?)\n");
    return 1;
  }
  view.setSurface(syntheticSlice(gridSize, 1.0));
  settle();

  view.makeCurrent();
  const auto* renderer = reinterpret_cast<const char*>(view.context()->functions()->glGetString(GL_RENDERER));
  const auto* version = reinterpret_cast<const char*>(view.context()->functions()->glGetString(GL_VERSION));
  const QByteArray samples = qgetenv("SAMSCAPE_VTK_SAMPLES");
  std::printf("samscape-viz-bench: OpenGL %s, %s; %d x %d surface, %dx%d window, %d azimuth steps, MSAA %s\n",
              version ? version : "?", renderer ? renderer : "?", gridSize, gridSize, width, height, steps,
              samples.isEmpty() ? "default (0 on llvmpipe, else 4)" : samples.constData());
  view.doneCurrent();

  // Two measures per azimuth step. "render": VTK drawing the scene into the widget's framebuffer
  // (paintGL, then glFinish so the GPU's work is inside the time). "on screen": from the request to
  // Qt's frameSwapped signal, i.e. render plus Qt composing the window, as an interactive user sees it.
  const auto render = [&view](double azimuth) {
    view.setAzimuth(azimuth);
    view.makeCurrent();
    view.paintNow();
    view.context()->functions()->glFinish();
    view.doneCurrent();
  };
  bool swapped = false;
  QObject::connect(&view, &QOpenGLWidget::frameSwapped, [&swapped] { swapped = true; });
  const auto onScreen = [&view, &swapped](double azimuth) {
    swapped = false;
    view.setAzimuth(azimuth);
    QElapsedTimer limit;
    limit.start();
    while (!swapped && limit.elapsed() < 5000) QApplication::processEvents(QEventLoop::AllEvents, 5);
    return swapped;
  };
  for (int i = 0; i < 5; ++i) render(-5.0 + i);  // warm-up: shaders, buffers
  for (int i = 0; i < 3; ++i) onScreen(-5.0 + i);

  const auto report = [](const char* name, std::vector<double> ms) {
    const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / ms.size();
    std::sort(ms.begin(), ms.end());
    const auto p99 = static_cast<std::size_t>(std::ceil(0.99 * ms.size())) - 1;
    std::printf("%-10s frame time (ms): mean %7.2f  p50 %7.2f  p99 %7.2f  max %7.2f  (%.1f frames/s)\n", name,
                mean, ms[ms.size() / 2], ms[p99], ms.back(), 1000.0 / mean);
  };
  std::vector<double> renderMs, screenMs;
  QElapsedTimer timer;
  for (int i = 0; i < steps; ++i) {
    timer.start();
    render(360.0 * i / steps);
    renderMs.push_back(timer.nsecsElapsed() / 1e6);
  }
  for (int i = 0; i < steps; ++i) {
    timer.start();
    if (!onScreen(360.0 * i / steps)) {
      std::fprintf(stderr, "samscape-viz-bench: no frame reached the screen within 5 s\n");
      return 1;
    }
    screenMs.push_back(timer.nsecsElapsed() / 1e6);
  }
  report("render", renderMs);
  report("on screen", screenMs);
  return 0;
}
