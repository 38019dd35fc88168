// samscape-gui-bench: how responsive the desktop window stays while a SGD/SAM pair trains and analyses
// on worker threads, and how fast its landscape view rotates a 101 x 101 surface.
//   xvfb-run -a -s "-screen 0 1600x1000x24" samscape-gui-bench [--timeout S] [--steps K] [-- TRAIN_FLAGS]
// The window (workspace in a temporary directory) launches the first preset (Fashion-MNIST, cnn, analyses
// every 2 epochs) with, by default, "--train-subset 2000 --test-subset 500 --epochs 3 --analyze-every 1
// --subset 300" over it; flags after -- replace those. A QTimer on the GUI thread fires every 10 ms for the
// whole time the pair trains, analyses and interpolates; its lateness (actual minus expected interval) is
// the event loop's latency: what a click or a repaint waits. Then the landscape page rotates a synthetic
// 101 x 101 surface by azimuth steps in its left view, each frame timed from setAzimuth until Qt's
// frameSwapped (VTK's render plus Qt composing the window). QWidget::repaint() + glFinish is no measure
// here: on this QOpenGLWidget it returned in microseconds, without running paintGL.
#include <QApplication>
#include <QElapsedTimer>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <vector>

#include "gui/LaunchPanel.h"
#include "gui/MainWindow.h"
#include "gui/Pages.h"
#include "viz/GraphicsSetup.h"
#include "viz/LandscapeView.h"

namespace {

// A bowl with ripples, like a trained network's slice (as samscape-viz-bench draws).
samscape::SliceGrid syntheticSlice(int n) {
  samscape::SliceGrid g;
  for (int i = 0; i < n; ++i) {
    const double t = -1.0 + 2.0 * i / (n - 1);
    g.xs.push_back(t);
    g.ys.push_back(t);
  }
  for (int iy = 0; iy < n; ++iy)
    for (int ix = 0; ix < n; ++ix) {
      const double x = g.xs[static_cast<std::size_t>(ix)], y = g.ys[static_cast<std::size_t>(iy)];
      const double q = 3.0 * x * x + 1.5 * y * y + 0.8 * x * y;
      const double loss = 0.25 + 4.0 * (1.0 - std::exp(-q)) + 0.08 * std::sin(5 * x) * std::cos(4 * y);
      g.loss.push_back(loss);
      g.accuracy.push_back(std::exp(-loss));
    }
  g.pointsTotal = static_cast<std::int64_t>(g.loss.size());
  g.pointsDone = g.pointsTotal;
  g.level = 3;
  g.stride = 1;
  return g;
}

void report(const char* what, const char* unit, std::vector<double> values) {
  if (values.empty()) {
    std::printf("%s: no samples\n", what);
    return;
  }
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  std::sort(values.begin(), values.end());
  const auto p99 = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(values.size()))) - 1;
  std::printf("%-28s (%s): mean %7.2f  p50 %7.2f  p99 %7.2f  max %7.2f  (%zu samples)\n", what, unit, mean,
              values[values.size() / 2], values[p99], values.back(), values.size());
}

}  // namespace

int main(int argc, char** argv) {
  samscape::viz::setDefaultSurfaceFormat();
  QApplication application(argc, argv);
  int timeoutSeconds = 900;
  int steps = 100;
  QStringList trainFlags{"--train-subset",  "2000", "--test-subset", "500", "--epochs", "3",
                         "--analyze-every", "1",    "--subset",      "300"};
  const QStringList args = application.arguments();
  for (int i = 1; i < args.size(); ++i) {
    if (args[i] == "--timeout" && i + 1 < args.size()) {
      timeoutSeconds = args[++i].toInt();
    } else if (args[i] == "--steps" && i + 1 < args.size()) {
      steps = args[++i].toInt();
    } else if (args[i] == "--") {
      trainFlags = args.mid(i + 1);
      break;
    } else {
      std::fprintf(stderr, "usage: samscape-gui-bench [--timeout S] [--steps K] [-- TRAIN_FLAGS]\n");
      return 2;
    }
  }
  if (timeoutSeconds < 1 || steps < 1) {
    std::fprintf(stderr, "samscape-gui-bench: --timeout and --steps must be positive\n");
    return 2;
  }

  QTemporaryDir workspace;
  if (!workspace.isValid()) {
    std::fprintf(stderr, "samscape-gui-bench: cannot make a temporary workspace\n");
    return 1;
  }
  samscape::gui::MainWindow window(workspace.path());
  window.resize(1600, 1000);
  window.show();
  if (!QTest::qWaitForWindowExposed(&window)) {
    std::fprintf(stderr, "samscape-gui-bench: the window was never shown (no X display?)\n");
    return 1;
  }
  // The landscape page in front: live surfaces are the heaviest thing the GUI thread draws.
  if (auto* tabs = window.findChild<QTabWidget*>()) tabs->setCurrentWidget(&window.landscapePage());

  const QStringList flags = samscape::gui::launchPresets().front().arguments + trainFlags;
  QString error;
  if (!window.launchPanel().setArguments(flags, &error)) {
    std::fprintf(stderr, "samscape-gui-bench: %s\n", qPrintable(error));
    return 2;
  }
  std::printf("samscape-gui-bench: pair of %s\n", qPrintable(flags.join(' ')));
  std::fflush(stdout);

  constexpr double kIntervalMs = 10.0;
  std::vector<double> lateness;
  QElapsedTimer clock;
  qint64 last = 0;
  QTimer probe;
  probe.setTimerType(Qt::PreciseTimer);
  probe.setInterval(static_cast<int>(kIntervalMs));
  QObject::connect(&probe, &QTimer::timeout, [&] {
    const qint64 now = clock.nsecsElapsed();
    lateness.push_back(std::max(0.0, static_cast<double>(now - last) / 1e6 - kIntervalMs));
    last = now;
  });
  auto& controller = window.controller();
  bool interpolated = false;
  QObject::connect(&controller, &samscape::gui::RunController::pairInterpolationReady,
                   [&](int) { interpolated = true; });

  if (!window.launchPair()) {
    std::fprintf(stderr, "samscape-gui-bench: the pair did not launch (see the form's message)\n");
    return 2;
  }
  clock.start();
  last = clock.nsecsElapsed();
  probe.start();
  // Until both runs ended and the pair's interpolation (run when both finished) has arrived.
  const bool done = QTest::qWaitFor(
      [&] {
        if (controller.anyInFlight()) return false;
        for (int id : controller.runIds()) {
          if (controller.run(id)->status != samscape::RunStatus::Finished) return true;  // no interpolation will come
        }
        return interpolated;
      },
      timeoutSeconds * 1000);
  probe.stop();
  const double seconds = static_cast<double>(clock.elapsed()) / 1000.0;
  for (int id : controller.runIds()) {
    const samscape::gui::GuiRun* run = controller.run(id);
    std::printf("  %s: %s, %zu epochs, %zu analyses%s%s\n", qPrintable(run->name()),
                nameOf(run->status).c_str(), run->epochs.size(), run->analyses.size(),
                run->message.isEmpty() ? "" : ": ", qPrintable(run->message));
  }
  if (!done) {
    std::fprintf(stderr, "samscape-gui-bench: the pair did not end within %d s\n", timeoutSeconds);
    controller.cancelAll();
    controller.waitForWorkers();
    return 1;
  }
  std::printf("pair trained, analysed and interpolated in %.1f s; %zu probes of %.0f ms\n", seconds,
              lateness.size(), kIntervalMs);
  report("event-loop latency", "ms", lateness);
  std::printf("event-loop latency p99 target: under 50 ms: %s\n",
              [&] {
                std::vector<double> sorted = lateness;
                std::sort(sorted.begin(), sorted.end());
                return !sorted.empty() &&
                       sorted[static_cast<std::size_t>(std::ceil(0.99 * sorted.size())) - 1] < 50.0;
              }()
                  ? "met"
                  : "NOT met");

  // Frame time of the landscape view inside the window.
  samscape::viz::LandscapeView* view = window.landscapePage().view(0);
  view->setSurface(syntheticSlice(101));
  for (int i = 0; i < 10; ++i) QTest::qWait(20);
  bool swapped = false;
  QObject::connect(view, &QOpenGLWidget::frameSwapped, [&swapped] { swapped = true; });
  const auto onScreen = [view, &swapped](double azimuth) {
    swapped = false;
    view->setAzimuth(azimuth);
    QElapsedTimer limit;
    limit.start();
    while (!swapped && limit.elapsed() < 5000) QApplication::processEvents(QEventLoop::AllEvents, 5);
    return swapped;
  };
  for (int i = 0; i < 3; ++i) onScreen(-5.0 + i);
  std::vector<double> screenMs;
  QElapsedTimer timer;
  for (int i = 0; i < steps; ++i) {
    timer.start();
    if (!onScreen(360.0 * i / steps)) {
      std::fprintf(stderr, "samscape-gui-bench: no frame reached the screen within 5 s\n");
      return 1;
    }
    screenMs.push_back(static_cast<double>(timer.nsecsElapsed()) / 1e6);
  }
  std::printf("landscape view %dx%d in the window, 101 x 101 surface, %d azimuth steps:\n", view->width(),
              view->height(), steps);
  report("on-screen frame time", "ms", screenMs);
  return 0;
}
