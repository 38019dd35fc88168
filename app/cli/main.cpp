// samscape-cli: the headless command line of samscape.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/AnalyzeCommand.h"
#include "cli/TrainCommand.h"
#include "core/Error.h"

int main(int argc, char** argv) {
  using namespace samscape::cli;
  CLI::App app{"samscape-cli: Sharpness-Aware Minimization lab, headless"};
  app.require_subcommand(1);
  TrainCommand train(app);
  AnalyzeCommand analyze(app);

  try {
    train.applyConfigFileFrom(argc, argv);
    app.parse(argc, argv);
    if (train.selected()) return train.run();
    if (analyze.selected()) return analyze.run();
    return kExitUsage;
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::cerr << "samscape-cli: error: " << error.what() << "\n";
    return kExitUsage;
  } catch (const samscape::Error& error) {
    std::cerr << "samscape-cli: error: " << error.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << "samscape-cli: internal error: " << error.what() << "\n";
    return kExitInternalError;
  }
}
