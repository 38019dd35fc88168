#pragma once
// The samscape window: the launch form (left), the runs panel (top) and the pages (bottom, one tab each,
// in the order of PageList.h): curves, landscape and spectrum of the selected runs, and studies.
// Training and analysis run on worker threads owned by RunController; this class only reacts to their
// queued reports.

#include <QMainWindow>

#include <memory>
#include <vector>

#include "gui/RunController.h"

class QLineEdit;
class QSortFilterProxyModel;
class QTableView;
class QTabWidget;
class QLabel;

namespace samscape {
class RunStore;
}

namespace samscape::gui {

class LandscapePage;
class LaunchPanel;
class Page;
struct PageEntry;
class StudyPage;
class RunTableModel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  // `workspace`: the workspace directory (created when missing); runs go to its runs/ folder.
  explicit MainWindow(const QString& workspace, QWidget* parent = nullptr);
  ~MainWindow() override;

  RunController& controller() { return *controller_; }
  LaunchPanel& launchPanel() { return *launch_; }
  LandscapePage& landscapePage() { return *landscape_; }
  StudyPage& studyPage() { return *study_; }
  // Shows the Study page (the app's --study option).
  void showStudyPage();
  // Selects the listed runs whose names contain `text` (case-insensitive), e.g. a study's name, and
  // returns how many; shows the Curves page (the app's --select option).
  int selectRunsNamed(const QString& text);
  void showCurvesPage();

  // Launches the form's config as an SGD/SAM pair and selects it. Returns false (and shows why) when
  // the form does not resolve.
  bool launchPair();
  bool launchSingle();

  // Saves a grab of the window to `path` once every run in flight has done `epochs` epochs and the
  // analyses due by then, prints the landscape view's place in the grab, then quits the application.
  // The pages with a screenshot suffix in PageList.h are saved beside it (FILE's name + -curves.png,
  // -spectrum.png).
  void screenshotAfterEpochs(const QString& path, int epochs);

  // Writes every page's figures and data for the selected runs into `directory`.
  bool exportReport(const QString& directory, QStringList* written, QString* error);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void loadWorkspaceRuns();
  std::vector<int> selectedRuns() const;
  void selectRuns(const std::vector<int>& ids);
  void refreshPages();
  void fitNameColumn();
  void checkScreenshot();
  Page* currentPage() const;
  // The page of type T (LandscapePage, StudyPage) in the page list.
  template <typename T>
  T* pageOfType() const;
  void exportCurrentView();
  void exportCurrentData();
  void exportLandscapePng();
  void exportLandscapeVts();
  void updateStatus();

  QString workspace_;
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<RunController> controller_;
  LaunchPanel* launch_ = nullptr;
  RunTableModel* model_ = nullptr;
  QSortFilterProxyModel* filter_ = nullptr;
  QTableView* table_ = nullptr;
  QLineEdit* filterEdit_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  // The tabs, built from pageList() in its order.
  struct ShownPage {
    const PageEntry* entry = nullptr;
    std::unique_ptr<Page> page;
  };
  std::vector<ShownPage> pages_;
  std::vector<int> shownRuns_;  // what the pages about the selected runs show
  // For what is theirs alone: the landscape's 3D exports and the screenshot's view; --study.
  LandscapePage* landscape_ = nullptr;
  StudyPage* study_ = nullptr;
  QLabel* status_ = nullptr;
  QString screenshotPath_;
  int screenshotEpochs_ = 0;
  bool screenshotTaken_ = false;
};

}  // namespace samscape::gui
