#pragma once
// The three views of the selected runs: curves over training, the loss landscape (SAM and SGD side by
// side), and the Hessian spectrum. Each page redraws from RunController's values on the GUI thread.

#include <QWidget>

#include <map>
#include <vector>

#include "gui/RunController.h"

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QShowEvent;
class QSlider;
class QTimer;

namespace samscape::viz {
class LandscapeView;
class LineChart;
}  // namespace samscape::viz

namespace samscape::gui {

// A page that draws a set of runs and can export what it shows.
class RunPage : public QWidget {
  Q_OBJECT
 public:
  RunPage(RunController& controller, QWidget* parent);
  void setRuns(const std::vector<int>& ids);
  const std::vector<int>& runs() const { return runs_; }
  // Redraws now.
  virtual void refresh() = 0;
  // Redraws for live updates, which arrive per step, slice point and analysis stage: a visible page
  // at most once every kLiveRefreshMs, a hidden one when it is next shown. Under software OpenGL a
  // redraw of the window costs tens of milliseconds, which the GUI thread cannot spend per signal.
  void requestRefresh();
  static constexpr int kLiveRefreshMs = 150;
  // Draws a requested refresh now (before an export or a grab).
  void flushRefresh();
  // Writes every figure (PNG, SVG, PDF) and the data behind it (CSV) into `directory` as
  // <prefix>-<figure>.<ext>; returns the files written, or false with `error` set.
  virtual bool exportAll(const QString& directory, const QString& prefix, QStringList* written, QString* error) = 0;

 protected:
  void showEvent(QShowEvent* event) override;

  RunController& controller_;
  std::vector<int> runs_;

 private:
  QTimer* liveRefresh_ = nullptr;
  bool stale_ = false;  // changed while hidden
};

class CurvesPage : public RunPage {
  Q_OBJECT
 public:
  explicit CurvesPage(RunController& controller, QWidget* parent = nullptr);
  void refresh() override;
  bool exportAll(const QString& directory, const QString& prefix, QStringList* written, QString* error) override;
  std::vector<viz::LineChart*> charts() const { return charts_; }
  // "seeds as mean ± 95% band": enabled while the runs shown hold two or more runs of one study cell
  // (SeedBands.h), and then on unless the user turned it off.
  QCheckBox* seedBandsCheck() const { return seedBands_; }
  // The memorization chart, beside the four: for each shown run trained with --label-noise, its
  // training accuracy on the flipped examples (against their noisy labels: the noise memorized; and
  // against their true labels) and on the clean ones, with the epoch of its best test accuracy marked.
  // Shown only while a shown run has these metrics.
  viz::LineChart* memorizationChart() const { return memorization_; }
  bool showsMemorization() const { return memorizationShown_; }

 private:
  void refreshMemorization(const QString& axis);

  std::vector<viz::LineChart*> charts_;
  viz::LineChart* memorization_ = nullptr;
  bool memorizationShown_ = false;
  QGridLayout* grid_ = nullptr;
  std::vector<QComboBox*> metrics_;
  QComboBox* xAxis_ = nullptr;
  QCheckBox* logScale_ = nullptr;
  QCheckBox* seedBands_ = nullptr;
  bool seedBandsWanted_ = true;  // the user's last choice; the box follows it whenever it applies
  QSlider* smoothing_ = nullptr;
};

class LandscapePage : public RunPage {
  Q_OBJECT
 public:
  explicit LandscapePage(RunController& controller, QWidget* parent = nullptr);
  void refresh() override;
  bool exportAll(const QString& directory, const QString& prefix, QStringList* written, QString* error) override;
  viz::LandscapeView* view(int side) const { return side == 0 ? left_ : right_; }
  // The epoch shown (0: the latest analysed).
  void setEpoch(int epoch);
  bool exportViewPng(int side, const QString& path, int width, int height, QString* error);

  // Which plane the views show: the live slices along the pair's shared random directions; the pair
  // plane through init, SGD and SAM with both paths (once both runs finish: the page switches to it by
  // itself unless the plane was chosen by hand); each run's own PCA plane (computed when chosen).
  enum class Plane { SharedRandom = 0, Pair = 1, OwnPca = 2 };
  void setPlane(Plane plane);
  Plane plane() const;
  // The note under the controls: what the views show, or why a plane is not there yet.
  QString note() const;

 private:
  std::vector<int> analysedEpochs() const;
  void showSharedRandom(const std::vector<const GuiRun*>& shown);
  void showPairPlane(const std::vector<const GuiRun*>& shown);
  void showOwnPcaPlanes(const std::vector<const GuiRun*>& shown);
  viz::LandscapeView* left_ = nullptr;
  viz::LandscapeView* right_ = nullptr;
  viz::LineChart* interpolation_ = nullptr;
  QComboBox* plane_ = nullptr;
  QComboBox* mode_ = nullptr;
  QSlider* epochSlider_ = nullptr;
  QLabel* epochLabel_ = nullptr;
  QLabel* note_ = nullptr;
  bool planeChosen_ = false;  // by hand: the page no longer switches to the pair plane by itself
  int epoch_ = 0;
};

class SpectrumPage : public RunPage {
  Q_OBJECT
 public:
  explicit SpectrumPage(RunController& controller, QWidget* parent = nullptr);
  void refresh() override;
  bool exportAll(const QString& directory, const QString& prefix, QStringList* written, QString* error) override;

 private:
  viz::LineChart* eigenvalues_ = nullptr;
  viz::LineChart* latest_ = nullptr;  // the latest analysis' top eigenvalues by index, one curve per run
  viz::LineChart* density_ = nullptr;
  viz::LineChart* layers_ = nullptr;  // per-layer lambda_max, shown only when some analysis has it
};

}  // namespace samscape::gui
