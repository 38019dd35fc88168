#pragma once
// Where the run store lives. A workspace is one directory:
//   samscape.db (+ -wal, -shm)   the SQLite index of every run, metric and analysis (RunStore.h)
//   runs/<run>/                  run directories of runs trained without --out
//   locks/<id>.lock              held by the process recording run <id> (interrupted-run detection)
// Paths inside the workspace are stored relative to it, so the directory can be moved or copied whole.

#include <filesystem>
#include <string>

namespace samscape {

class Workspace {
 public:
  // The workspace named by `explicitDirectory` (the --workspace flag; empty when not given), else by
  // $SAMSCAPE_WORKSPACE, else $XDG_DATA_HOME/samscape (when absolute, as the XDG spec requires), else
  // $HOME/.local/share/samscape. Throws ConfigError naming --workspace when none of these is set.
  // Nothing is created here; RunStore creates the directory when it opens it.
  static Workspace resolve(const std::string& explicitDirectory = "");

  // `directory` is made absolute (against the current directory) and normalized.
  explicit Workspace(const std::filesystem::path& directory);

  const std::filesystem::path& directory() const { return directory_; }
  std::filesystem::path databasePath() const { return directory_ / "samscape.db"; }
  std::filesystem::path runsDirectory() const { return directory_ / "runs"; }
  std::filesystem::path locksDirectory() const { return directory_ / "locks"; }

  // Whether `path` (absolute or relative to the current directory) lies inside the workspace.
  bool contains(const std::filesystem::path& path) const;
  // How the store keeps `path`: relative to the workspace when inside it, else absolute. Empty stays empty.
  std::string toStored(const std::string& path) const;
  // The absolute path of a stored one. Empty stays empty.
  std::string fromStored(const std::string& stored) const;

 private:
  std::filesystem::path directory_;
};

}  // namespace samscape
