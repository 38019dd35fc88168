#pragma once
// What the store's commands (runs, export) share: the --workspace flag and opening a workspace that
// must already exist.

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "core/store/RunStore.h"

namespace samscape::cli {

// Adds --workspace DIR to `command`, bound to `directory`.
void addWorkspaceOption(CLI::App& command, std::string& directory);

// Opens the workspace named by --workspace (or the default one). Reading commands never create a
// workspace: a mistyped directory is an error naming --workspace, not a new empty store.
std::unique_ptr<RunStore> openExistingWorkspace(const std::string& directory);

}  // namespace samscape::cli
