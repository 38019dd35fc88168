#include "gui/PageList.h"

#include <algorithm>

#include "gui/Pages.h"
#include "gui/StudyPage.h"

namespace samscape::gui {
namespace {

// A page about the selected runs (Pages.h): curves, landscape, spectrum and any later RunPage.
class SelectedRunsPage : public Page {
 public:
  explicit SelectedRunsPage(RunPage* page) : page_(page) {}
  QWidget* widget() const override { return page_; }
  bool showsSelectedRuns() const override { return true; }
  void setRuns(const std::vector<int>& ids) override { page_->setRuns(ids); }
  void runUpdated(int id) override {
    const auto& runs = page_->runs();
    if (std::find(runs.begin(), runs.end(), id) != runs.end()) page_->requestRefresh();
  }
  bool exportAll(const QString& directory, const QString& prefix, QStringList* written,
                 QString* error) override {
    return page_->exportAll(directory, prefix, written, error);
  }

 private:
  RunPage* page_;
};

template <typename RunPageType>
std::unique_ptr<Page> makeRunPage(const PageContext& context, QWidget* parent) {
  return std::make_unique<SelectedRunsPage>(new RunPageType(context.controller, parent));
}

// Studies (grids of runs over seeds) are not about the selected runs: the page stands on its own, runs
// its own study and exports study.csv, study-runs.csv, study.png and study.svg (no prefix).
class StudyTab : public Page {
 public:
  explicit StudyTab(StudyPage* page) : page_(page) {}
  QWidget* widget() const override { return page_; }
  bool showsSelectedRuns() const override { return false; }
  bool exportAll(const QString& directory, const QString&, QStringList* written, QString* error) override {
    return page_->exportTo(directory, written, error);
  }
  bool working() const override { return page_->running(); }
  void stopWork() override { page_->stopStudy(); }

 private:
  StudyPage* page_;
};

std::unique_ptr<Page> makeStudyPage(const PageContext& context, QWidget* parent) {
  return std::make_unique<StudyTab>(new StudyPage(context.workspace, parent));
}

}  // namespace

const std::vector<PageEntry>& pageList() {
  static const std::vector<PageEntry> pages = {
      {"Curves", "-curves.png", makeRunPage<CurvesPage>},
      // The screenshot's grab itself shows this one.
      {"Landscape", "", makeRunPage<LandscapePage>},
      {"Spectrum", "-spectrum.png", makeRunPage<SpectrumPage>},
      {"Study", "", makeStudyPage},
  };
  return pages;
}

}  // namespace samscape::gui
