// samscape: the desktop app. Launch and compare SAM and SGD runs, with live curves, loss landscapes and
// Hessian spectra.
//
//   samscape [--workspace DIR]
//   samscape --demo [--screenshot FILE --after-epochs N] [-- TRAIN_FLAGS...]
//   samscape --study STUDY.json [--screenshot FILE]   (the Study page with that study, as it stands)
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
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
  parser.addOptions({workspace, demo, screenshot, afterEpochs, study});
  parser.addPositionalArgument("train-flags", "With --demo: train flags over the default preset", "[-- FLAGS...]");
  parser.process(application);

  bool epochsOk = false;
  const int epochs = parser.value(afterEpochs).toInt(&epochsOk);
  if (!epochsOk || epochs < 1) {
    std::cerr << "samscape: error: --after-epochs: invalid value '" << parser.value(afterEpochs).toStdString()
              << "': expected a positive number of epochs\n";
    return 2;
  }
  if (parser.isSet(screenshot) && parser.isSet(demo) == parser.isSet(study)) {
    std::cerr << "samscape: error: --screenshot: needs --demo (it waits for the demo pair's epochs) or --study\n";
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
  window->show();

  if (parser.isSet(study)) {
    QString path = parser.value(study);
    if (!QFileInfo::exists(path) && QFileInfo::exists(":/studies/" + path + ".json")) path = ":/studies/" + path + ".json";
    QString error;
    if (!window->studyPage().loadStudy(path, &error)) {
      std::cerr << "samscape: error: --study: " << error.toStdString() << "\n";
      return 2;
    }
    window->showStudyPage();
    if (parser.isSet(screenshot)) {
      const QString file = parser.value(screenshot);
      QTimer::singleShot(500, window.get(), [&window, file] {
        if (!window->grab().save(file)) {
          std::cerr << "samscape: error: --screenshot: cannot write " << file.toStdString() << "\n";
          QApplication::exit(1);
          return;
        }
        std::cout << "saved " << file.toStdString() << "\n";
        QApplication::exit(0);
      });
    }
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
