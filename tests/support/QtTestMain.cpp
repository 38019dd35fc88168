// The Qt test executables (viz, gui) need a QApplication (widgets, charts, fonts, OpenGL contexts), created after the default
// surface format, as the desktop app does. Listing the tests (ctest's discovery) needs none, and so
// runs without a display or QT_QPA_PLATFORM.
#include <QApplication>

#include <gtest/gtest.h>

#include <memory>

#include "viz/GraphicsSetup.h"

int main(int argc, char** argv) {
  samscape::viz::setDefaultSurfaceFormat();
  testing::InitGoogleTest(&argc, argv);
  std::unique_ptr<QApplication> application;
  if (!GTEST_FLAG_GET(list_tests)) application = std::make_unique<QApplication>(argc, argv);
  return RUN_ALL_TESTS();
}
