#include "cli/StoreCommands.h"

#include <filesystem>

#include "core/Error.h"

namespace samscape::cli {

void addWorkspaceOption(CLI::App& command, std::string& directory) {
  command.add_option("--workspace", directory,
                     "Workspace directory (default: $SAMSCAPE_WORKSPACE, else $XDG_DATA_HOME/samscape, "
                     "else ~/.local/share/samscape)");
}

std::unique_ptr<RunStore> openExistingWorkspace(const std::string& directory) {
  const Workspace workspace = Workspace::resolve(directory);
  if (!std::filesystem::exists(workspace.databasePath())) {
    throw ConfigError("--workspace", workspace.directory().string(),
                      "no samscape workspace there (no samscape.db); train with --workspace to create one");
  }
  return std::make_unique<RunStore>(workspace);
}

}  // namespace samscape::cli
