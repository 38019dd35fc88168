#include "gui/RunTableModel.h"

#include <QApplication>
#include <QColor>
#include <QFontMetrics>
#include <QPainter>
#include <QSize>
#include <QStringList>
#include <QStyleOptionProgressBar>

#include <algorithm>
#include <cmath>
#include <optional>

#include "viz/RunColors.h"

namespace samscape::gui {

QString formatDuration(double seconds) {
  if (!(seconds >= 0.0)) return "";
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total < 60) return QString("%1 s").arg(total);
  if (total < 3600) return QString("%1 min %2 s").arg(total / 60).arg(total % 60, 2, 10, QChar('0'));
  return QString("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60, 2, 10, QChar('0'));
}

namespace {

// The last cost with the training of every epoch done since (a run in flight trains on after an
// analysis; a resumed one reports its earlier epochs again).
std::optional<AnalysisCost> currentCost(const GuiRun& run) {
  if (run.analysisCosts.empty()) return std::nullopt;
  AnalysisCost cost = run.analysisCosts.back();
  double training = 0.0;
  for (const EpochMetrics& metrics : run.epochs) training += metrics.seconds;
  cost.trainingSeconds = std::max(cost.trainingSeconds, training);
  return cost;
}

}  // namespace

QString analysisCostText(const GuiRun& run) {
  const std::optional<AnalysisCost> cost = currentCost(run);
  if (!cost) return {};
  const double percent = cost->fraction() * 100.0;
  const QString share =
      percent < 10.0 ? QString::number(percent, 'f', 1) : QString::number(std::lround(percent));
  QString text =
      QString("%1% of training (budget %2)").arg(share, QString::fromStdString(budgetText(cost->budget)));
  if (cost->skippedCount > 0) text += QString(", %1 skipped").arg(cost->skippedCount);
  return text;
}

QString analysisCostDetails(const GuiRun& run) {
  const std::optional<AnalysisCost> cost = currentCost(run);
  if (!cost) return {};
  QString details = QString::fromStdString(analysisTotalLine(*cost));
  // What each stage of the latest analysis cost (analysis.json "costs").
  for (auto it = run.analyses.rbegin(); it != run.analyses.rend(); ++it) {
    if (it->second.costs.empty()) continue;
    details += QString("\nepoch %1's analysis, by stage:").arg(it->first);
    for (const StageCost& stage : it->second.costs) details += "\n  " + QString::fromStdString(stageCostLine(stage));
    break;
  }
  QStringList skipped;
  for (const AnalysisCost& entry : run.analysisCosts) {
    if (entry.skipped) skipped << QString::number(entry.epoch);
  }
  if (!skipped.isEmpty()) {
    details += QString("\nskipped to keep within the budget (--analysis-budget): epoch%1 %2")
                   .arg(skipped.size() > 1 ? "s" : "")
                   .arg(skipped.join(", "));
  }
  return details;
}

namespace {

QString percentText(const GuiRun& run) { return QString("%1%").arg(std::lround(run.progress() * 100.0)); }

// Whether the epochs done say more than the percentage: a run under way, or stopped part-way (what a
// resume continues from).
bool showsEpochs(const GuiRun& run) {
  return run.status != RunStatus::Finished && run.status != RunStatus::Queued && run.epochsPlanned() > 0;
}

}  // namespace

QString progressText(const GuiRun& run) {
  if (!showsEpochs(run)) return percentText(run);
  return QString("%1/%2 · %3").arg(run.epochsDone()).arg(run.epochsPlanned()).arg(percentText(run));
}

QString progressDetails(const GuiRun& run) {
  if (!showsEpochs(run)) return percentText(run);
  return QString("%1 (%2/%3 epochs)").arg(percentText(run)).arg(run.epochsDone()).arg(run.epochsPlanned());
}

RunTableModel::RunTableModel(RunController& controller, QObject* parent)
    : QAbstractTableModel(parent), controller_(controller) {
  ids_ = controller.runIds();
  connect(&controller, &RunController::runAdded, this, [this](int id) {
    const int row = static_cast<int>(ids_.size());
    beginInsertRows({}, row, row);
    ids_.push_back(id);
    endInsertRows();
  });
  connect(&controller, &RunController::runRemoved, this, [this](int id) {
    const int row = rowOf(id);
    if (row < 0) return;
    beginRemoveRows({}, row, row);
    ids_.erase(ids_.begin() + row);
    endRemoveRows();
  });
  auto refresh = [this](int id) {
    const int row = rowOf(id);
    if (row >= 0) Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
  };
  connect(&controller, &RunController::runChanged, this, refresh);
  connect(&controller, &RunController::analysisChanged, this, [refresh](int id, int) { refresh(id); });
}

int RunTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(ids_.size());
}

int RunTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

int RunTableModel::runIdAt(int row) const {
  return row >= 0 && row < static_cast<int>(ids_.size()) ? ids_[static_cast<std::size_t>(row)] : -1;
}

int RunTableModel::rowOf(int runId) const {
  const auto found = std::find(ids_.begin(), ids_.end(), runId);
  return found == ids_.end() ? -1 : static_cast<int>(found - ids_.begin());
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const {
  const GuiRun* run = controller_.run(runIdAt(index.row()));
  if (run == nullptr) return {};
  if (role == RunIdRole) return run->id;
  const double progress = run->progress();
  if (role == ProgressRole) return progress;
  if (role == Qt::DecorationRole && index.column() == Name) return viz::runColor(run->id);
  if (role == Qt::ToolTipRole) {
    const QString directory = QString::fromStdString(run->spec.config.outDir);
    if (index.column() == Status && !run->message.isEmpty()) return run->message;
    if (index.column() == Analyses && !run->analysisCosts.empty()) return analysisCostDetails(*run);
    // The whole name (a study's run names are long: "m-sharpness/optimizer=sam m=16 seed 2") and the
    // progress in words, whatever the columns' widths cut.
    if (index.column() == Name) return run->name() + "\n" + directory;
    if (index.column() == Progress) return progressDetails(*run);
    if (index.column() == Tags && !run->tags.isEmpty()) return run->tags;
    if (index.column() == Notes && !run->notes.isEmpty()) return run->notes;
    return directory;
  }
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  switch (index.column()) {
    case Name: return run->name();
    case Optimizer: return run->optimizerLabel();
    case Status: return QString::fromStdString(nameOf(run->status));
    case Progress: return progressText(*run);
    case Eta: return run->status == RunStatus::Running ? formatDuration(run->etaSeconds()) : QString();
    case TestAccuracy:
      return run->epochs.empty() ? QString() : QString::number(run->epochs.back().testAccuracy, 'f', 4);
    case LambdaMax: {
      for (auto it = run->analyses.rbegin(); it != run->analyses.rend(); ++it) {
        if (!it->second.eigenvalues.empty()) return QString::number(it->second.eigenvalues.front(), 'g', 4);
      }
      return QString();
    }
    case Analyses: return analysisCostText(*run);
    case Tags: return run->tags;
    case Notes: return run->notes;
    default: return {};
  }
}

QVariant RunTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation == Qt::Horizontal && role == Qt::SizeHintRole && section == LambdaMax) {
    // "λ" comes from a fallback font wider than the one the header measures with: room for it.
    const QFontMetrics metrics(QApplication::font());
    return QSize(metrics.horizontalAdvance(QStringLiteral("lambda max")) + 16, metrics.height() + 10);
  }
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* names[] = {"Name",     "Optimizer", "Status",   "Progress", "ETA",
                                "Test acc", "λmax",      "Analyses", "Tags",     "Notes"};
  return section >= 0 && section < ColumnCount ? QString::fromUtf8(names[section]) : QVariant();
}

Qt::ItemFlags RunTableModel::flags(const QModelIndex& index) const {
  Qt::ItemFlags flags = QAbstractTableModel::flags(index);
  if (index.column() == Tags || index.column() == Notes) flags |= Qt::ItemIsEditable;
  return flags;
}

bool RunTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (role != Qt::EditRole) return false;
  GuiRun* run = controller_.mutableRun(runIdAt(index.row()));
  if (run == nullptr) return false;
  if (index.column() == Tags) {
    run->tags = value.toString().trimmed();
  } else if (index.column() == Notes) {
    run->notes = value.toString();
  } else {
    return false;
  }
  Q_EMIT dataChanged(index, index);
  Q_EMIT annotationsEdited(run->id);
  return true;
}

namespace {

// Room around the text inside the bar, and around the bar inside its cell.
constexpr int kBarTextPadding = 8;
constexpr int kBarMargin = 2;

}  // namespace

void ProgressDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const {
  QStyleOptionProgressBar bar;
  bar.rect = option.rect.adjusted(kBarMargin, 3, -kBarMargin, -3);
  bar.minimum = 0;
  bar.maximum = 1000;
  bar.progress = static_cast<int>(std::lround(index.data(RunTableModel::ProgressRole).toDouble() * 1000.0));
  bar.state = option.state | QStyle::State_Horizontal;
  // The style's own label may wrap a text wider than the bar onto a second line, half hidden: the
  // text is drawn here on one line, and sizeHint() asks for the width it needs.
  bar.textVisible = false;
  QApplication::style()->drawControl(QStyle::CE_ProgressBar, &bar, painter);
  painter->save();
  painter->setFont(option.font);
  painter->setPen(option.palette.color(QPalette::Text));
  painter->drawText(bar.rect, Qt::AlignCenter | Qt::TextSingleLine, index.data(Qt::DisplayRole).toString());
  painter->restore();
}

QSize ProgressDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const {
  const QSize base = QStyledItemDelegate::sizeHint(option, index);
  const int text = option.fontMetrics.horizontalAdvance(index.data(Qt::DisplayRole).toString());
  return {std::max(base.width(), text + 2 * (kBarTextPadding + kBarMargin)), base.height()};
}

}  // namespace samscape::gui
