// The window's pages come from one list (app/gui/PageList.h): one tab each, in its order, and "Export
// report" writes every page about the selected runs (and only those) plus their metrics. Needs an X
// display: the landscape page holds VTK views.
#include <QDir>
#include <QSortFilterProxyModel>
#include <QTabWidget>
#include <QTableView>
#include <QTest>

#include <gtest/gtest.h>

#include "gui/MainWindow.h"
#include "gui/PageList.h"
#include "gui/RunTableModel.h"
#include "tests/gui/GuiTestSupport.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

using MainWindowDisplayTest = test::TinyAnalysedRunTest</*AnalyzeEvery=*/1, /*HessianTop=*/1>;

TEST_F(MainWindowDisplayTest, ATabPerListedPageAndAReportOfThePagesAboutTheSelectedRuns) {
  // The suite's run was recorded in this workspace: the window lists it.
  gui::MainWindow window(QString::fromStdString(dir->file("workspace")));
  window.resize(1400, 900);
  window.show();
  auto* tabs = window.findChild<QTabWidget*>();
  ASSERT_NE(tabs, nullptr);
  const std::vector<gui::PageEntry>& pages = gui::pageList();
  ASSERT_EQ(tabs->count(), static_cast<int>(pages.size()));
  for (int index = 0; index < tabs->count(); ++index) EXPECT_EQ(tabs->tabText(index), pages[index].title);
  const QStringList titles = {"Curves", "Landscape", "Spectrum", "Study"};
  for (int index = 0; index < titles.size(); ++index) EXPECT_EQ(tabs->tabText(index), titles[index]);

  // The runs table (the Study page has a table too): the one over the runs' model.
  QTableView* table = nullptr;
  for (auto* view : window.findChildren<QTableView*>()) {
    const auto* filter = qobject_cast<QSortFilterProxyModel*>(view->model());
    if (filter != nullptr && qobject_cast<gui::RunTableModel*>(filter->sourceModel()) != nullptr)
      table = view;
  }
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->model()->rowCount(), 1);
  table->selectRow(0);
  tabs->setCurrentIndex(2);

  test::TempDir out;
  const QString directory = QString::fromStdString(out.path().string());
  QStringList written;
  QString error;
  ASSERT_TRUE(window.exportReport(directory, &written, &error)) << error.toStdString();
  EXPECT_EQ(tabs->currentIndex(), 2);  // the page the user was on
  for (const QString& file : written) EXPECT_TRUE(QFile::exists(file)) << file.toStdString();
  for (const char* figure : {"report-curve-test-loss.csv", "report-landscape.svg", "report-eigenvalues.csv",
                             "report-metrics.csv"}) {
    EXPECT_TRUE(written.contains(QDir(directory).filePath(figure)))
        << figure << " not in " << written.join(", ").toStdString();
  }
  // The Study page is not about the selected runs: none of its files.
  for (const QString& file : written) EXPECT_FALSE(file.contains("study")) << file.toStdString();
  // The selected run's two epochs, as the table shows them.
  ASSERT_EQ(window.controller().runIds().size(), 1u);
  const std::string name =
      window.controller().run(window.controller().runIds().front())->name().toStdString();
  const std::string metrics = test::readText(QDir(directory).filePath("report-metrics.csv").toStdString());
  EXPECT_EQ(metrics.rfind("run,epoch,", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("\"" + name + "\",1,"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\"" + name + "\",2,"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace samscape
