#pragma once
// The runs panel's table: one row per run of the controller, updated as the runs report. Tags and notes
// are editable; their edits go to the controller (and from there to the store).

#include <QAbstractTableModel>
#include <QStyledItemDelegate>

#include <vector>

#include "gui/RunController.h"

namespace samscape::gui {

class RunTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column {
    Name,
    Optimizer,
    Status,
    Progress,
    Eta,
    TestAccuracy,
    LambdaMax,
    Analyses,  // the share of the training time the analyses took (analysisCostText)
    Tags,
    Notes,
    ColumnCount
  };
  static constexpr int RunIdRole = Qt::UserRole + 1;
  static constexpr int ProgressRole = Qt::UserRole + 2;  // 0..1

  explicit RunTableModel(RunController& controller, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;

  int runIdAt(int row) const;
  int rowOf(int runId) const;

 Q_SIGNALS:
  void annotationsEdited(int runId);

 private:
  RunController& controller_;
  std::vector<int> ids_;
};

// Draws the Progress column as a bar with its text on one line, and asks for the width that text needs.
class ProgressDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

// The Progress column: the percentage, led by the epochs done for a run under way or stopped part-way
// ("1/10 · 20%": short enough for the bar at 1366 x 768). Its tooltip says it in words
// (progressDetails: "20% (1/10 epochs)").
QString progressText(const GuiRun& run);
QString progressDetails(const GuiRun& run);

QString formatDuration(double seconds);

// The Analyses column: the share of the run's training time its analyses took, against the budget
// ("12% of training (budget 25%)", ", 1 skipped" when some were skipped over it); empty before the
// first analysis. The training counts every epoch done, so the share falls as training goes on.
QString analysisCostText(const GuiRun& run);
// Its tooltip: the seconds, the counts and the epochs skipped.
QString analysisCostDetails(const GuiRun& run);

}  // namespace samscape::gui
