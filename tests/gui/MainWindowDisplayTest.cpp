// The window's pages come from one list (app/gui/PageList.h): one tab each, in its order, and "Export
// report" writes every page about the selected runs (and only those) plus their metrics. Needs an X
// display: the landscape page holds VTK views.
#include <QAbstractAxis>
#include <QChart>
#include <QDir>
#include <QFontMetricsF>
#include <QLabel>
#include <QLegend>
#include <QSortFilterProxyModel>
#include <QTabWidget>
#include <QTableView>
#include <QTest>

#include <gtest/gtest.h>

#include "gui/MainWindow.h"
#include "gui/PageList.h"
#include "gui/Pages.h"
#include "gui/RunTableModel.h"
#include "viz/LineChart.h"
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

// Every visible chart of `page` is whole: see NothingIsElidedOnAnyPageAt1366x768Or1920x1080.
void expectChartsWhole(QWidget* page, const std::string& where) {
  for (viz::LineChart* chart : page->findChildren<viz::LineChart*>()) {
    if (!chart->isVisible()) continue;
    EXPECT_FALSE(chart->chart()->legend()->isVisible()) << where;
    for (QAbstractAxis* axis : chart->chart()->axes()) EXPECT_FALSE(axis->labelsTruncated()) << where;
    for (QAbstractAxis* axis : chart->chart()->axes(Qt::Vertical)) {
      if (!axis->isTitleVisible()) continue;  // left out where it would be cut
      EXPECT_LE(QFontMetricsF(axis->titleFont()).horizontalAdvance(axis->titleText()),
                chart->chart()->plotArea().height())
          << where << ": the y title " << axis->titleText().toStdString();
    }
    for (const QLabel* label : chart->legend()->findChildren<QLabel*>()) {
      const bool whole = (!label->wordWrap() && label->width() >= label->sizeHint().width()) ||
                         (label->wordWrap() && label->height() >= label->heightForWidth(label->width()));
      EXPECT_TRUE(whole) << where << ": " << label->text().toStdString();
      EXPECT_LE(label->geometry().right(), chart->legend()->width()) << where;
      EXPECT_LE(label->geometry().bottom(), chart->legend()->height()) << where;
    }
  }
}

// Readable at a glance at both common sizes: on every page, each chart's legend entry is whole (one
// line as wide as its text, or wrapped in full when wider than the legend) and inside the legend, Qt
// Charts' eliding legend stays hidden, no tick label is cut to "...", and each page's subtitle has the
// height its wrapped lines need.
TEST_F(MainWindowDisplayTest, NothingIsElidedOnAnyPageAt1366x768Or1920x1080) {
  gui::MainWindow window(QString::fromStdString(dir->file("workspace")));
  auto* tabs = window.findChild<QTabWidget*>();
  ASSERT_NE(tabs, nullptr);
  QTableView* table = nullptr;
  for (auto* view : window.findChildren<QTableView*>()) {
    const auto* filter = qobject_cast<QSortFilterProxyModel*>(view->model());
    if (filter != nullptr && qobject_cast<gui::RunTableModel*>(filter->sourceModel()) != nullptr) table = view;
  }
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->model()->rowCount(), 1);
  table->selectRow(0);
  for (const QSize size : {QSize(1366, 768), QSize(1920, 1080)}) {
    window.showNormal();
    window.resize(size);
    for (int index = 0; index < tabs->count(); ++index) {
      tabs->setCurrentIndex(index);
      QTest::qWait(200);  // the page's refresh and layout
      const std::string where = tabs->tabText(index).toStdString() + " at " + std::to_string(size.width()) + "x" +
                                std::to_string(size.height());
      QWidget* page = tabs->currentWidget();
      const auto subtitles = page->findChildren<QLabel*>("page-subtitle");
      ASSERT_EQ(subtitles.size(), 1) << where;
      EXPECT_GE(subtitles[0]->height(), subtitles[0]->heightForWidth(subtitles[0]->width())) << where;
      expectChartsWhole(page, where);
    }
  }
}

// A label-noise run beside the tiny run: the curves page adds its memorization chart (a third column),
// with the best test accuracy epoch marked, and still cuts nothing at 1366x768.
TEST_F(MainWindowDisplayTest, TheMemorizationChartFitsBesideTheOthersAt1366x768) {
  gui::MainWindow window(QString::fromStdString(dir->file("workspace")));
  const QString noisyDir = QString::fromStdString(dir->file("noisy-run"));
  if (!QDir(noisyDir).exists()) test::writeLabelNoiseRun(noisyDir);
  QString error;
  ASSERT_GE(window.controller().addExisting(noisyDir, &error), 0) << error.toStdString();
  auto* tabs = window.findChild<QTabWidget*>();
  ASSERT_NE(tabs, nullptr);
  QTableView* table = nullptr;
  for (auto* view : window.findChildren<QTableView*>()) {
    const auto* filter = qobject_cast<QSortFilterProxyModel*>(view->model());
    if (filter != nullptr && qobject_cast<gui::RunTableModel*>(filter->sourceModel()) != nullptr) table = view;
  }
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->model()->rowCount(), 2);
  table->selectAll();
  window.showNormal();
  window.resize(1366, 768);
  tabs->setCurrentIndex(0);
  QTest::qWait(300);
  auto* page = qobject_cast<gui::CurvesPage*>(tabs->currentWidget());
  ASSERT_NE(page, nullptr);
  ASSERT_TRUE(page->memorizationChart()->isVisible());
  EXPECT_TRUE(page->memorizationChart()->legendNames().contains(
      QString("noisy-run: best test acc, epoch %1").arg(test::kLabelNoiseRunBestEpoch)));
  expectChartsWhole(page, "Curves with a label-noise run at 1366x768");
}

}  // namespace
}  // namespace samscape
