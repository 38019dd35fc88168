// samscape: the desktop app. Launch and compare SAM and SGD runs, with live curves, loss landscapes and
// Hessian spectra.
//
//   samscape [--workspace DIR]
//   samscape --demo [--screenshot FILE --after-epochs N] [-- TRAIN_FLAGS...]
//   samscape --study STUDY.json [--screenshot FILE]   (the Study page with that study, as it stands)
//   samscape --select TEXT [--screenshot FILE]        (the Curves page of the workspace's runs named *TEXT*)
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QScreen>
#include <QStandardPaths>
#include <QTimer>

#include <iostream>

#include "core/Error.h"
#include "core/store/Workspace.h"
#include "gui/LaunchPanel.h"
#include "gui/MainWindow.h"
#include "gui/StudyPage.h"
#include "viz/GraphicsSetup.h"

int main(int argc, char** argv) {
  // VTK needs an OpenGL 3.2 core context: the default format must be set before the application exists.
  samscape::viz::setDefaultSurfaceFormat();
  QApplication application(argc, argv);
  QApplication::setApplicationName("samscape");
  QApplication::setOrganizationName("samscape");

  QCommandLineParser parser;
  parser.setApplicationDescription("samscape: Sharpness-Aware Minimization lab");
  parser.addHelpOption();
  const QCommandLineOption workspace("workspace", "The workspace directory (default: as samscape-cli)", "DIR");
  const QCommandLineOption demo("demo", "Start the default SGD/SAM pair at once (extra train flags after --)");
  const QCommandLineOption screenshot("screenshot", "With --demo: save a grab of the window to FILE, then quit",
                                      "FILE");
  const QCommandLineOption afterEpochs("after-epochs", "With --screenshot: once N epochs and their analyses are shown",
                                       "N", "1");
  const QCommandLineOption study("study", "Open the Study page on this study file (a preset's name, e.g. label-noise, or a path)",
                                 "FILE");
  const QCommandLineOption select(
      "select",
      "Select the workspace's runs whose names contain TEXT (a study's name shows its "
      "cells' seeds as bands) and show the Curves page",
      "TEXT");
  parser.addOptions({workspace, demo, screenshot, afterEpochs, study, select});
  parser.addPositionalArgument("train-flags", "With --demo: train flags over the default preset", "[-- FLAGS...]");
  parser.process(application);

  bool epochsOk = false;
  const int epochs = parser.value(afterEpochs).toInt(&epochsOk);
  if (!epochsOk || epochs < 1) {
    std::cerr << "samscape: error: --after-epochs: invalid value '" << parser.value(afterEpochs).toStdString()
              << "': expected a positive number of epochs\n";
    return 2;
  }
  const int screenshotSubjects =
      (parser.isSet(demo) ? 1 : 0) + (parser.isSet(study) ? 1 : 0) + (parser.isSet(select) ? 1 : 0);
  if (parser.isSet(screenshot) && screenshotSubjects != 1) {
    std::cerr << "samscape: error: --screenshot: needs one of --demo (it waits for the demo pair's epochs), "
                 "--study or --select\n";
    return 2;
  }

  QString directory;
  try {
    directory = QString::fromStdString(samscape::Workspace::resolve(parser.value(workspace).toStdString()).directory().string());
  } catch (const samscape::Error& error) {
    std::cerr << "samscape: error: " << error.what() << "\n";
    return 2;
  }

  std::unique_ptr<samscape::gui::MainWindow> window;
  try {
    window = std::make_unique<samscape::gui::MainWindow>(directory);
  } catch (const samscape::Error& error) {
    std::cerr << "samscape: error: " << error.what() << "\n";
    return 2;
  }
  // A screenshot shows the window as the screen holds it (1366 x 768 under xvfb-run -s "-screen 0
  // 1366x768x24"), whatever size an earlier session left in the settings.
  if (parser.isSet(screenshot)) window->resize(window->screen()->availableSize());
  window->show();

  // A grab of what the window shows now, once it has drawn, then quit.
  const auto grabSoon = [&window](const QString& file) {
    QTimer::singleShot(500, window.get(), [&window, file] {
      if (!window->grab().save(file)) {
        std::cerr << "samscape: error: --screenshot: cannot write " << file.toStdString() << "\n";
        QApplication::exit(1);
        return;
      }
      std::cout << "saved " << file.toStdString() << "\n";
      QApplication::exit(0);
    });
  };

  if (parser.isSet(select)) {
    const int selected = window->selectRunsNamed(parser.value(select));
    if (selected == 0) {
      std::cerr << "samscape: error: --select: no run of the workspace has \""
                << parser.value(select).toStdString() << "\" in its name\n";
      return 2;
    }
    window->showCurvesPage();
    if (parser.isSet(screenshot)) grabSoon(parser.value(screenshot));
  }

  if (parser.isSet(study)) {
    QString path = parser.value(study);
    if (!QFileInfo::exists(path) && QFileInfo::exists(":/studies/" + path + ".json")) path = ":/studies/" + path + ".json";
    QString error;
    if (!window->studyPage().loadStudy(path, &error)) {
      std::cerr << "samscape: error: --study: " << error.toStdString() << "\n";
      return 2;
    }
    window->showStudyPage();
    if (parser.isSet(screenshot)) grabSoon(parser.value(screenshot));
  }

  if (parser.isSet(demo)) {
    auto& launch = window->launchPanel();
    QStringList arguments = samscape::gui::launchPresets().front().arguments;
    arguments += parser.positionalArguments();
    QString error;
    if (!launch.setArguments(arguments, &error)) {
      std::cerr << "samscape: error: " << error.toStdString() << " (in: " << arguments.join(' ').toStdString() << ")\n";
      return 2;
    }
    if (!window->launchPair()) {
      try {
        launch.resolve();
      } catch (const std::exception& resolveError) {
        std::cerr << "samscape: error: " << resolveError.what() << "\n";
      }
      return 2;
    }
    if (parser.isSet(screenshot)) window->screenshotAfterEpochs(parser.value(screenshot), epochs);
  }
  return QApplication::exec();
}
