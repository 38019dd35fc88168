#include "core/store/Workspace.h"

#include <cstdlib>
#include <optional>

#include "core/Error.h"

namespace samscape {
namespace fs = std::filesystem;

namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Absolute, with symbolic links of the existing part resolved, so that two spellings of one place
// (a relative path, a symlinked home) compare equal.
fs::path canonicalForm(const fs::path& path) {
  std::error_code error;
  fs::path resolved = fs::weakly_canonical(fs::absolute(path), error);
  if (error) resolved = fs::absolute(path).lexically_normal();
  return resolved;
}

// `path` relative to `base` when it lies inside it (or is it), else empty.
std::optional<fs::path> relativeInside(const fs::path& path, const fs::path& base) {
  const fs::path relative = path.lexically_relative(base);
  if (relative.empty()) return std::nullopt;
  const auto first = *relative.begin();
  if (first == "..") return std::nullopt;
  return relative;
}

}  // namespace

Workspace Workspace::resolve(const std::string& explicitDirectory) {
  if (!explicitDirectory.empty()) return Workspace(explicitDirectory);
  if (const std::string chosen = environment("SAMSCAPE_WORKSPACE"); !chosen.empty()) return Workspace(chosen);
  if (const std::string data = environment("XDG_DATA_HOME"); !data.empty() && fs::path(data).is_absolute()) {
    return Workspace(fs::path(data) / "samscape");
  }
  if (const std::string home = environment("HOME"); !home.empty()) {
    return Workspace(fs::path(home) / ".local" / "share" / "samscape");
  }
  throw ConfigError("--workspace", "",
                    "no workspace given, and none of SAMSCAPE_WORKSPACE, XDG_DATA_HOME or HOME is set");
}

Workspace::Workspace(const fs::path& directory) : directory_(canonicalForm(directory)) {}

bool Workspace::contains(const fs::path& path) const {
  return relativeInside(canonicalForm(path), directory_).has_value();
}

std::string Workspace::toStored(const std::string& path) const {
  if (path.empty()) return path;
  const fs::path absolute = canonicalForm(path);
  if (const auto relative = relativeInside(absolute, directory_)) return relative->generic_string();
  return absolute.string();
}

std::string Workspace::fromStored(const std::string& stored) const {
  if (stored.empty()) return stored;
  const fs::path path(stored);
  if (path.is_absolute()) return path.string();
  return (directory_ / path).lexically_normal().string();
}

}  // namespace samscape
