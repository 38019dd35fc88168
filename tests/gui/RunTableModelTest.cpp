// The runs table over a RunController: one row per run, the columns read from the run (status, test
// accuracy from its metrics, lambda_max from its analyses), tags and notes editable and reported.
#include <QApplication>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStyleOptionViewItem>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gui/RunTableModel.h"
#include "tests/gui/GuiTestSupport.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

using Model = gui::RunTableModel;

// The last row's value in column `column` of a metrics.csv, read independently of the app.
double lastValue(const std::string& csv, std::size_t column) {
  std::istringstream lines(csv);
  std::string line, last;
  while (std::getline(lines, line))
    if (!line.empty()) last = line;
  std::istringstream fields(last);
  std::string field;
  for (std::size_t i = 0; i <= column; ++i) std::getline(fields, field, ',');
  return std::stod(field);
}

using RunTableModelTest = test::TinyAnalysedRunTest</*AnalyzeEvery=*/2, /*HessianTop=*/1>;

TEST_F(RunTableModelTest, OneRowPerRunWithItsStatusAndMetrics) {
  Model model(controller);
  EXPECT_EQ(model.rowCount(), 0);
  EXPECT_EQ(model.columnCount(), Model::ColumnCount);
  QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
  QString error;
  const int id = controller.addExisting(runDir(), &error);
  ASSERT_GE(id, 0) << error.toStdString();
  EXPECT_EQ(inserted.count(), 1);
  ASSERT_EQ(model.rowCount(), 1);
  EXPECT_EQ(model.runIdAt(0), id);
  EXPECT_EQ(model.rowOf(id), 0);

  const auto text = [&](int column) {
    return model.data(model.index(0, column), Qt::DisplayRole).toString();
  };
  EXPECT_EQ(text(Model::Name), test::kTinyRunName);
  EXPECT_EQ(text(Model::Optimizer), "SGD");
  EXPECT_EQ(text(Model::Status), "finished");
  EXPECT_EQ(text(Model::Progress), "100%");
  const std::string metrics = test::readText((runDir() + "/metrics.csv").toStdString());
  // epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds
  EXPECT_EQ(text(Model::TestAccuracy), QString::number(lastValue(metrics, 4), 'f', 4));
  bool isNumber = false;
  const double lambdaMax = text(Model::LambdaMax).toDouble(&isNumber);
  EXPECT_TRUE(isNumber) << text(Model::LambdaMax).toStdString();
  EXPECT_GT(lambdaMax, 0.0);
  EXPECT_EQ(model.data(model.index(0, 0), Model::RunIdRole).toInt(), id);
  EXPECT_DOUBLE_EQ(model.data(model.index(0, Model::Progress), Model::ProgressRole).toDouble(), 1.0);

  // A model made after the runs were added shows them too.
  Model later(controller);
  EXPECT_EQ(later.rowCount(), 1);

  QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
  EXPECT_TRUE(controller.remove(id));
  EXPECT_EQ(removed.count(), 1);
  EXPECT_EQ(model.rowCount(), 0);
}

// The Analyses column: the share of the training its analyses took, against the budget, from
// DIR/analysis/budget.json for a run read from disk; the skipped ones counted, and named in the tooltip.
TEST_F(RunTableModelTest, AnalysesShowTheirShareOfTheTrainingAndWhatWasSkipped) {
  Model model(controller);
  const int id = controller.addExisting(runDir());
  ASSERT_GE(id, 0);
  const auto text = [&] { return model.data(model.index(0, Model::Analyses), Qt::DisplayRole).toString(); };
  // The tiny run's one analysis (epoch 2) under the default budget: far over it, as tiny runs are.
  ASSERT_EQ(controller.run(id)->analysisCosts.size(), 1u);
  EXPECT_TRUE(text().endsWith("% of training (budget 25%)")) << text().toStdString();
  EXPECT_TRUE(model.data(model.index(0, Model::Analyses), Qt::ToolTipRole).toString().startsWith("analyses: "));

  // Made-up costs: 2 s of analyses against two epochs of 10 s, the second epoch's skipped.
  gui::GuiRun& run = *controller.mutableRun(id);
  run.epochs.resize(1);
  run.epochs[0].seconds = 10.0;
  AnalysisBudget budget(0.25);
  budget.addTraining(10.0);
  run.analysisCosts = {budget.recordAnalysis(1, 2.0)};
  EXPECT_EQ(text(), "20% of training (budget 25%)");
  run.epochs.resize(2);
  run.epochs[1].seconds = 10.0;
  budget.addTraining(10.0);
  run.analysisCosts.push_back(budget.recordSkip(2));
  EXPECT_EQ(text(), "10% of training (budget 25%), 1 skipped");
  // Training goes on after the last analysis: the share falls with it.
  run.epochs.resize(4);
  run.epochs[2].seconds = run.epochs[3].seconds = 15.0;
  EXPECT_EQ(text(), "4.0% of training (budget 25%), 1 skipped");
  const QString tooltip = model.data(model.index(0, Model::Analyses), Qt::ToolTipRole).toString();
  EXPECT_TRUE(tooltip.contains("2.0 s of 50 s training")) << tooltip.toStdString();
  EXPECT_TRUE(tooltip.contains("--analysis-budget): epoch 2")) << tooltip.toStdString();
  // No analyses, nothing shown.
  run.analysisCosts.clear();
  EXPECT_EQ(text(), "");
}

// A run that stopped part-way shows its percentage and the epochs done, read from its files alone.
TEST_F(RunTableModelTest, AStoppedRunShowsTheEpochsItFinished) {
  Model model(controller);
  const int id = controller.addExisting(runDir());
  ASSERT_GE(id, 0);
  gui::GuiRun& run = *controller.mutableRun(id);
  // The tiny run trained 2 epochs; as if it had been asked for 8 and cancelled.
  run.status = RunStatus::Cancelled;
  run.spec.config.epochs = 8;
  // Short enough for the bar ("25% (2/8 epochs)" wrapped onto a second line at 1366 x 768); in words
  // in the tooltip.
  EXPECT_EQ(model.data(model.index(0, Model::Progress), Qt::DisplayRole).toString(),
            QString::fromUtf8("2/8 · 25%"));
  EXPECT_EQ(model.data(model.index(0, Model::Progress), Qt::ToolTipRole).toString(), "25% (2/8 epochs)");
  EXPECT_DOUBLE_EQ(model.data(model.index(0, Model::Progress), Model::ProgressRole).toDouble(), 0.25);
  run.status = RunStatus::Finished;
  EXPECT_EQ(model.data(model.index(0, Model::Progress), Qt::DisplayRole).toString(), "100%");
  EXPECT_EQ(model.data(model.index(0, Model::Progress), Qt::ToolTipRole).toString(), "100%");
}

// The progress text fits its bar: the delegate asks for the width the text needs, and the text is
// never elided.
TEST_F(RunTableModelTest, TheProgressColumnAsksForTheWidthOfItsText) {
  Model model(controller);
  const int id = controller.addExisting(runDir());
  ASSERT_GE(id, 0);
  gui::GuiRun& run = *controller.mutableRun(id);
  run.status = RunStatus::Running;
  run.spec.config.epochs = 200;
  const QModelIndex index = model.index(0, Model::Progress);
  gui::ProgressDelegate delegate;
  QStyleOptionViewItem option;
  option.fontMetrics = QFontMetrics(QApplication::font());
  option.font = QApplication::font();
  const int text = option.fontMetrics.horizontalAdvance(index.data(Qt::DisplayRole).toString());
  EXPECT_GT(delegate.sizeHint(option, index).width(), text);
}

// A long name (a study's: "m-sharpness/optimizer=sam m=16 seed 2") is cut by its column: its tooltip
// has it whole, with the run's directory.
TEST_F(RunTableModelTest, TheNameShowsWholeInItsTooltip) {
  Model model(controller);
  const int id = controller.addExisting(runDir());
  ASSERT_GE(id, 0);
  controller.mutableRun(id)->spec.name = "m-sharpness/optimizer=sam m=16 rho=0.05 seed 2";
  const QString tooltip = model.data(model.index(0, Model::Name), Qt::ToolTipRole).toString();
  EXPECT_EQ(tooltip, "m-sharpness/optimizer=sam m=16 rho=0.05 seed 2\n" + runDir());
}

TEST_F(RunTableModelTest, TagsAndNotesAreEditableAndReported) {
  Model model(controller);
  const int id = controller.addExisting(runDir());
  ASSERT_GE(id, 0);
  QSignalSpy edited(&model, &Model::annotationsEdited);
  QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
  EXPECT_TRUE(model.flags(model.index(0, Model::Tags)) & Qt::ItemIsEditable);
  EXPECT_TRUE(model.flags(model.index(0, Model::Notes)) & Qt::ItemIsEditable);
  EXPECT_FALSE(model.flags(model.index(0, Model::Status)) & Qt::ItemIsEditable);

  EXPECT_TRUE(model.setData(model.index(0, Model::Tags), "  flat, baseline ", Qt::EditRole));
  ASSERT_EQ(edited.count(), 1);
  EXPECT_EQ(edited.first().at(0).toInt(), id);
  EXPECT_EQ(controller.run(id)->tags, "flat, baseline");
  EXPECT_EQ(model.data(model.index(0, Model::Tags), Qt::DisplayRole).toString(), "flat, baseline");
  EXPECT_GE(changed.count(), 1);

  EXPECT_TRUE(model.setData(model.index(0, Model::Notes), "lr too high?", Qt::EditRole));
  EXPECT_EQ(edited.count(), 2);
  EXPECT_EQ(controller.run(id)->notes, "lr too high?");

  // Other columns are not edited, and report nothing.
  EXPECT_FALSE(model.setData(model.index(0, Model::Status), "finished", Qt::EditRole));
  EXPECT_FALSE(model.setData(model.index(0, Model::Tags), "x", Qt::DisplayRole));
  EXPECT_EQ(edited.count(), 2);
  EXPECT_EQ(controller.run(id)->status, RunStatus::Finished);

  // The runs panel's filter (every column, case-insensitive) finds the run by its tag.
  QSortFilterProxyModel filter;
  filter.setSourceModel(&model);
  filter.setFilterKeyColumn(-1);
  filter.setFilterCaseSensitivity(Qt::CaseInsensitive);
  filter.setFilterFixedString("BASELINE");
  EXPECT_EQ(filter.rowCount(), 1);
  filter.setFilterFixedString("sharp");
  EXPECT_EQ(filter.rowCount(), 0);
}

// A run whose metrics.csv is damaged is still listed (without epochs), and its row says what is wrong
// with which file and line: never a run that silently disappears or shows half its curve.
TEST_F(RunTableModelTest, ARunWithADamagedMetricsFileIsListedAndSaysWhy) {
  Model model(controller);
  const std::string copy = dir->file("damaged-run");
  std::filesystem::copy(runDir().toStdString(), copy, std::filesystem::copy_options::recursive);
  { std::ofstream(copy + "/metrics.csv", std::ios::app) << "3,0.5,not-a-number,0.5,0.5,0.05,1\n"; }
  QString error;
  const int id = controller.addExisting(QString::fromStdString(copy), &error);
  ASSERT_GE(id, 0) << error.toStdString();
  EXPECT_TRUE(controller.run(id)->epochs.empty());
  const QString tooltip = model.data(model.index(model.rowOf(id), Model::Status), Qt::ToolTipRole).toString();
  EXPECT_TRUE(tooltip.contains(QString::fromStdString(copy + "/metrics.csv"))) << tooltip.toStdString();
  EXPECT_TRUE(tooltip.contains("line 4")) << tooltip.toStdString();
}

TEST_F(RunTableModelTest, ADirectoryWithoutARunIsRefusedWithItsPath) {
  Model model(controller);
  const QString empty = QString::fromStdString(dir->file("not-a-run"));
  QString error;
  EXPECT_EQ(controller.addExisting(empty, &error), -1);
  EXPECT_TRUE(error.contains(empty + "/run.json")) << error.toStdString();
  EXPECT_EQ(model.rowCount(), 0);
}

TEST(FormatDuration, ReadsAsATime) {
  EXPECT_EQ(gui::formatDuration(-1.0), "");
  EXPECT_EQ(gui::formatDuration(42.4), "42 s");
  EXPECT_EQ(gui::formatDuration(125.0), "2 min 05 s");
  EXPECT_EQ(gui::formatDuration(3 * 3600 + 7 * 60), "3 h 07 min");
}

}  // namespace
}  // namespace samscape
