// samscape-cli: the headless command line of samscape.
#include <CLI/CLI.hpp>

#include <iostream>
#include <new>

#include "cli/AnalyzeCommand.h"
#include "cli/ExportCommand.h"
#include "cli/LaunchCommand.h"
#include "cli/RunsCommand.h"
#include "cli/StudyCommand.h"
#include "cli/TrainCommand.h"
#include "core/Error.h"
#include "core/options/OptionCost.h"

int main(int argc, char** argv) {
  using namespace samscape::cli;
  CLI::App app{"samscape-cli: Sharpness-Aware Minimization lab, headless"};
  app.require_subcommand(1);
  TrainCommand train(app);
  AnalyzeCommand analyze(app);
  RunsCommand runs(app);
  ExportCommand exportRuns(app);
  LaunchCommand launch(app);
  StudyCommand study(app);

  try {
    app.parse(argc, argv);
    if (train.selected()) return train.run();
    if (analyze.selected()) return analyze.run();
    if (runs.selected()) return runs.run();
    if (exportRuns.selected()) return exportRuns.run();
    if (launch.selected()) return launch.run();
    if (study.selected()) return study.run();
    return kExitUsage;
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::cerr << "samscape-cli: error: " << error.what() << "\n";
    return kExitUsage;
  } catch (const samscape::OutOfMemoryError& error) {
    std::cerr << "samscape-cli: error: " << error.what() << "\n";
    return kExitOutOfMemory;
  } catch (const std::bad_alloc& error) {
    std::cerr << "samscape-cli: error: out of memory (" << error.what()
              << "): the command asked for more memory than the machine could give; use smaller sizes\n";
    return kExitOutOfMemory;
  } catch (const samscape::DistributedError& error) {
    std::cerr << "samscape-cli: error: " << error.what() << "\n";
    return kExitDistributed;
  } catch (const samscape::Error& error) {
    std::cerr << "samscape-cli: error: " << error.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << "samscape-cli: internal error: " << error.what() << "\n";
    return kExitInternalError;
  }
}
