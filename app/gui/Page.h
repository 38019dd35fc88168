#pragma once
// One tab of the window as MainWindow sees it. The window keeps its pages in one list (PageList.h) and
// loops over them to build the tabs, hand them the selected runs, redraw them live, export them and
// ask before closing on their work; it names a page only for what is that page's own (the landscape's
// 3D exports and the screenshot's view, the Study page of --study).

#include <QString>
#include <QStringList>

#include <vector>

class QWidget;

namespace samscape::gui {

class RunController;

// What a page is built from.
struct PageContext {
  RunController& controller;
  QString workspace;  // the window's workspace directory
};

class Page {
 public:
  virtual ~Page() = default;
  // The page's widget, owned by the window's tabs (the Page only points at it).
  virtual QWidget* widget() const = 0;
  // Whether the page draws the runs selected in the runs table; "Export report" writes only these.
  virtual bool showsSelectedRuns() const = 0;
  // The selected runs (a lone run of a pair with its partner); a page not about them ignores them.
  virtual void setRuns(const std::vector<int>& ids) { (void)ids; }
  // Run `id` has new values (an epoch, a slice level, an analysis): a page drawing it redraws soon.
  virtual void runUpdated(int id) { (void)id; }
  // Writes the page's figures and the data behind them into `directory` (as <prefix>-<figure>.<ext>
  // where the page names its files after a prefix); false with `error` set when it cannot.
  virtual bool exportAll(const QString& directory, const QString& prefix, QStringList* written,
                         QString* error) = 0;
  // Work in flight that closing the window stops (a study's runs): the window asks the user first.
  virtual bool working() const { return false; }
  virtual void stopWork() {}
};

}  // namespace samscape::gui
