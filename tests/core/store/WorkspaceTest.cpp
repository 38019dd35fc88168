// Workspace: which directory is the workspace (flag, then environment), and stored paths.
#include "core/store/Workspace.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "core/Error.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;

// Sets (or unsets, for nullopt) an environment variable for one test, restoring it afterwards.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnvironment() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(WorkspaceTest, TheFlagWinsThenSamscapeWorkspaceThenXdgDataHomeThenHome) {
  test::TempDir dir;
  const std::string flag = (dir.path() / "flag").string();
  const std::string chosen = (dir.path() / "env").string();
  const std::string data = (dir.path() / "xdg").string();
  const std::string home = (dir.path() / "home").string();
  ScopedEnvironment samscapeVariable("SAMSCAPE_WORKSPACE", chosen);
  ScopedEnvironment xdgVariable("XDG_DATA_HOME", data);
  ScopedEnvironment homeVariable("HOME", home);
  EXPECT_EQ(Workspace::resolve(flag).directory(), fs::path(flag));
  EXPECT_EQ(Workspace::resolve().directory(), fs::path(chosen));
  {
    ScopedEnvironment unset("SAMSCAPE_WORKSPACE", std::nullopt);
    EXPECT_EQ(Workspace::resolve().directory(), fs::path(data) / "samscape");
    {
      ScopedEnvironment relative("XDG_DATA_HOME", "relative/dir");  // ignored, as the XDG spec says
      EXPECT_EQ(Workspace::resolve().directory(), fs::path(home) / ".local/share/samscape");
    }
    ScopedEnvironment noXdg("XDG_DATA_HOME", std::nullopt);
    EXPECT_EQ(Workspace::resolve().directory(), fs::path(home) / ".local/share/samscape");
    ScopedEnvironment noHome("HOME", std::nullopt);
    try {
      Workspace::resolve();
      ADD_FAILURE() << "expected ConfigError";
    } catch (const ConfigError& error) {
      EXPECT_EQ(error.flag(), "--workspace");
    }
  }
  EXPECT_FALSE(fs::exists(flag)) << "resolving creates nothing";
}

TEST(WorkspaceTest, ARelativeWorkspaceIsMadeAbsolute) {
  const Workspace workspace("some/relative/ws");
  EXPECT_TRUE(workspace.directory().is_absolute());
  EXPECT_EQ(workspace.directory(), fs::weakly_canonical(fs::current_path() / "some/relative/ws"));
  EXPECT_EQ(workspace.databasePath(), workspace.directory() / "samscape.db");
}

TEST(WorkspaceTest, PathsInsideAreStoredRelativeAndOthersAbsolute) {
  test::TempDir dir;
  const Workspace workspace(dir.path() / "ws");
  const std::string inside = (dir.path() / "ws" / "runs" / "a" / ".." / "b").string();
  EXPECT_EQ(workspace.toStored(inside), "runs/b");
  EXPECT_EQ(workspace.fromStored("runs/b"), (workspace.directory() / "runs" / "b").string());
  const std::string outside = (dir.path() / "wsx" / "run").string();  // a shared prefix is not "inside"
  EXPECT_EQ(workspace.toStored(outside), outside);
  EXPECT_FALSE(workspace.contains(outside));
  EXPECT_TRUE(workspace.contains(inside));
  EXPECT_EQ(workspace.fromStored(outside), outside);
  EXPECT_EQ(workspace.toStored(""), "");
}

}  // namespace
}  // namespace samscape
