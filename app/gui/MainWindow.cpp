#include "gui/MainWindow.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QDockWidget>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>

#include "core/Error.h"
#include "core/store/RunStore.h"
#include "core/store/Workspace.h"
#include "gui/LaunchPanel.h"
#include "gui/Page.h"
#include "gui/PageList.h"
#include "gui/Pages.h"
#include "gui/RunTableModel.h"
#include "gui/StudyPage.h"
#include "viz/FigureExport.h"
#include "viz/LandscapeView.h"

namespace samscape::gui {
namespace {

// Typed settings keys in one place.
namespace keys {
const char* const geometry = "window/geometry";
const char* const state = "window/state";
const char* const lastArguments = "launch/lastArguments";
}  // namespace keys

}  // namespace

template <typename T>
T* MainWindow::pageOfType() const {
  for (const ShownPage& shown : pages_) {
    if (auto* page = qobject_cast<T*>(shown.page->widget())) return page;
  }
  return nullptr;
}

MainWindow::MainWindow(const QString& workspace, QWidget* parent) : QMainWindow(parent), workspace_(workspace) {
  setWindowTitle("samscape: Sharpness-Aware Minimization lab");
  const Workspace place{std::filesystem::path(workspace.toStdString())};
  std::filesystem::create_directories(place.runsDirectory());
  store_ = std::make_unique<RunStore>(place);
  controller_ = std::make_unique<RunController>(QString::fromStdString(place.runsDirectory().string()));
  controller_->setWorkspaceDirectory(workspace);
  // New runs' names avoid every name in the workspace, not only those of the runs this window lists.
  controller_->setNameInUse([this](const QString& name) {
    try {
      return store_->hasRunNamed(name.toStdString());
    } catch (const std::exception& error) {
      statusBar()->showMessage(QString::fromUtf8(error.what()), 15000);
      return false;
    }
  });

  // Launch form, docked on the left.
  launch_ = new LaunchPanel(this);
  launch_->setWorkspaceDirectory(workspace);
  auto* dock = new QDockWidget("Launch", this);
  dock->setObjectName("launch-dock");
  dock->setWidget(launch_);
  addDockWidget(Qt::LeftDockWidgetArea, dock);
  connect(launch_, &LaunchPanel::launchPairRequested, this, [this] { launchPair(); });
  connect(launch_, &LaunchPanel::launchRequested, this, [this] { launchSingle(); });

  // Runs panel over the pages.
  auto* splitter = new QSplitter(Qt::Vertical, this);
  auto* runsPanel = new QWidget(splitter);
  auto* runsLayout = new QVBoxLayout(runsPanel);
  auto* runsBar = new QHBoxLayout;
  filterEdit_ = new QLineEdit(runsPanel);
  filterEdit_->setPlaceholderText("Filter runs by name, optimizer, status, tags or notes");
  auto* cancel = new QPushButton("Cancel", runsPanel);
  auto* resume = new QPushButton("Resume", runsPanel);
  auto* remove = new QPushButton("Delete...", runsPanel);
  runsBar->addWidget(filterEdit_, 1);
  runsBar->addWidget(cancel);
  runsBar->addWidget(resume);
  runsBar->addWidget(remove);
  runsLayout->addLayout(runsBar);
  model_ = new RunTableModel(*controller_, this);
  filter_ = new QSortFilterProxyModel(this);
  filter_->setSourceModel(model_);
  filter_->setFilterKeyColumn(-1);
  filter_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  table_ = new QTableView(runsPanel);
  table_->setModel(filter_);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setItemDelegateForColumn(RunTableModel::Progress, new ProgressDelegate(table_));
  table_->horizontalHeader()->setStretchLastSection(true);
  // The short columns whole, as wide as their contents: "12% of training (budget 25%), 1 skipped" would
  // hide the skipped ones clipped, and the progress text must fit its bar.
  for (const int column :
       {RunTableModel::Optimizer, RunTableModel::Status, RunTableModel::Progress, RunTableModel::Eta,
        RunTableModel::TestAccuracy, RunTableModel::LambdaMax, RunTableModel::Analyses}) {
    table_->horizontalHeader()->setSectionResizeMode(column, QHeaderView::ResizeToContents);
  }
  table_->verticalHeader()->hide();
  // One line a row: a wrapped name or tag shows half of its second line; elided, it shows whole in
  // its tooltip.
  table_->setWordWrap(false);
  runsLayout->addWidget(table_);
  connect(filterEdit_, &QLineEdit::textChanged, filter_, &QSortFilterProxyModel::setFilterFixedString);
  connect(model_, &QAbstractItemModel::rowsInserted, this, [this] { fitNameColumn(); });
  connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] { refreshPages(); });

  tabs_ = new QTabWidget(splitter);
  const PageContext context{*controller_, workspace};
  for (const PageEntry& entry : pageList()) {
    std::unique_ptr<Page> page = entry.create(context, tabs_);
    tabs_->addTab(page->widget(), entry.title);
    pages_.push_back({&entry, std::move(page)});
  }
  landscape_ = pageOfType<LandscapePage>();
  study_ = pageOfType<StudyPage>();
  splitter->addWidget(runsPanel);
  splitter->addWidget(tabs_);
  splitter->setStretchFactor(0, 1);
  splitter->setStretchFactor(1, 3);
  splitter->setSizes({190, 700});
  setCentralWidget(splitter);
  status_ = new QLabel(this);
  statusBar()->addWidget(status_, 1);

  connect(cancel, &QPushButton::clicked, this, [this] {
    for (int id : selectedRuns()) controller_->cancel(id);
  });
  connect(resume, &QPushButton::clicked, this, [this] {
    for (int id : selectedRuns()) {
      QString error;
      if (!controller_->resume(id, &error) && !error.isEmpty()) statusBar()->showMessage(error, 8000);
    }
  });
  connect(remove, &QPushButton::clicked, this, [this] {
    const auto ids = selectedRuns();
    if (ids.empty()) return;
    for (int id : ids) {
      const GuiRun* run = controller_->run(id);
      if (run != nullptr && run->inFlight()) {
        statusBar()->showMessage(run->name() + " is in flight: cancel it first", 8000);
        return;
      }
    }
    if (QMessageBox::question(this, "Delete runs",
                              QString("Delete %1 run(s) and their files from the workspace?").arg(ids.size())) !=
        QMessageBox::Yes) {
      return;
    }
    for (int id : ids) {
      const GuiRun* run = controller_->run(id);
      const std::string outDir = run->spec.config.outDir;
      try {
        if (const auto record = store_->findRunByOutDir(outDir)) store_->deleteRun(record->id);
      } catch (const std::exception& error) {
        statusBar()->showMessage(QString::fromUtf8(error.what()), 8000);
        return;
      }
      controller_->remove(id);
    }
  });
  connect(model_, &RunTableModel::annotationsEdited, this, [this](int id) {
    const GuiRun* run = controller_->run(id);
    try {
      if (const auto record = store_->findRunByOutDir(run->spec.config.outDir)) {
        store_->removeTags(record->id, record->tags);
        std::vector<std::string> tags;
        for (const QString& tag : run->tags.split(',', Qt::SkipEmptyParts)) tags.push_back(tag.trimmed().toStdString());
        store_->addTags(record->id, tags);
        store_->setNotes(record->id, run->notes.toStdString());
      }
    } catch (const std::exception& error) {
      statusBar()->showMessage(QString::fromUtf8(error.what()), 8000);
    }
  });

  auto pageRefresh = [this](int id) {
    for (const ShownPage& shown : pages_) shown.page->runUpdated(id);
    checkScreenshot();
  };
  connect(controller_.get(), &RunController::epochAdded, this, [pageRefresh](int id, int) { pageRefresh(id); });
  connect(controller_.get(), &RunController::analysisChanged, this, [pageRefresh](int id, int) { pageRefresh(id); });
  connect(controller_.get(), &RunController::runChanged, this, [this] { updateStatus(); });
  connect(controller_.get(), &RunController::runEnded, this, [this](int id) {
    const GuiRun* run = controller_->run(id);
    if (run != nullptr && run->status == RunStatus::Failed) statusBar()->showMessage(run->name() + ": " + run->message, 15000);
    checkScreenshot();
  });
  connect(controller_.get(), &RunController::pairInterpolationReady, this, [this] {
    landscape_->refresh();
    checkScreenshot();
  });

  buildMenus();
  QSettings settings;
  restoreGeometry(settings.value(keys::geometry).toByteArray());
  restoreState(settings.value(keys::state).toByteArray());
  const QStringList last = settings.value(keys::lastArguments).toStringList();
  if (last.isEmpty() || !launch_->setArguments(last)) launch_->applyPreset(launchPresets().front().name);
  // The first time: 1500 x 950, or the whole screen where it is smaller (a 1366 x 768 laptop).
  if (settings.value(keys::geometry).isNull()) resize(QSize(1500, 950).boundedTo(screen()->availableSize()));
  loadWorkspaceRuns();
  updateStatus();
}

MainWindow::~MainWindow() {
  // The runs stop while the pages exist: waiting for the workers delivers their last reports, which
  // would otherwise reach pages already destroyed (pages_ goes before controller_). Quitting without
  // closeEvent (QApplication::exit after --screenshot) comes here with runs in flight.
  for (const ShownPage& shown : pages_) shown.page->stopWork();
  controller_->cancelAll();
  controller_->waitForWorkers();
  controller_->disconnect(this);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu("&File");
  file->addAction("Load config...", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Load config", QString(), "JSON (*.json)");
    QString error;
    if (!path.isEmpty() && !launch_->loadConfig(path, &error)) launch_->showProblem(error);
  });
  file->addAction("Save config...", this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, "Save config", "config.json", "JSON (*.json)");
    QString error;
    if (!path.isEmpty() && !launch_->saveConfig(path, &error)) launch_->showProblem(error);
  });
  file->addSeparator();
  file->addAction("Export view (PNG, SVG, PDF)...", this, [this] { exportCurrentView(); });
  file->addAction("Export plot data (CSV)...", this, [this] { exportCurrentData(); });
  file->addAction("Export 3D view as PNG...", this, [this] { exportLandscapePng(); });
  file->addAction("Export surface as .vts...", this, [this] { exportLandscapeVts(); });
  file->addAction("Export report...", this, [this] {
    const QString directory = QFileDialog::getExistingDirectory(this, "Export report into");
    if (directory.isEmpty()) return;
    QStringList written;
    QString error;
    if (exportReport(directory, &written, &error)) {
      statusBar()->showMessage(QString("report: %1 files in %2").arg(written.size()).arg(directory), 8000);
    } else {
      QMessageBox::warning(this, "Export report", error);
    }
  });
  file->addSeparator();
  file->addAction("Quit", this, &QWidget::close);
}

void MainWindow::loadWorkspaceRuns() {
  // The workspace's most recent runs whose directories still exist (runs from the CLI included).
  std::vector<RunRecord> records;
  try {
    records = store_->listRuns();
  } catch (const std::exception& error) {
    statusBar()->showMessage(QString::fromUtf8(error.what()), 15000);
    return;
  }
  const std::size_t keep = 20;
  if (records.size() > keep) records.erase(records.begin(), records.end() - static_cast<std::ptrdiff_t>(keep));
  QStringList unreadable;
  for (const RunRecord& record : records) {
    if (record.outDir.empty() || !QFileInfo::exists(QString::fromStdString(record.outDir) + "/run.json")) continue;
    QString error;
    const int id = controller_->addExisting(QString::fromStdString(record.outDir), &error);
    if (id < 0) unreadable << QString::fromStdString(record.name) + ": " + error;
    if (GuiRun* run = controller_->mutableRun(id)) {
      run->storeId = record.id;
      run->spec.name = record.name;
      run->status = record.status;
      QStringList tags;
      for (const auto& tag : record.tags) tags << QString::fromStdString(tag);
      run->tags = tags.join(", ");
      run->notes = QString::fromStdString(record.notes);
      Q_EMIT controller_->runChanged(id);
    }
  }
  fitNameColumn();  // to the names from the store, which replace the directories' names
  // A run whose run.json cannot be read is not shown; say which, rather than leave it out silently.
  if (!unreadable.isEmpty()) {
    statusBar()->showMessage(QString("%1 run(s) of the workspace could not be read: %2")
                                 .arg(unreadable.size())
                                 .arg(unreadable.join("; ")),
                             30000);
  }
}

bool MainWindow::launchPair() {
  try {
    const RunSpec spec = launch_->resolve();
    launch_->showProblem({});
    QSettings().setValue(keys::lastArguments, launch_->arguments());
    const auto [sgd, sam] = controller_->launchPair(spec);
    selectRuns({sgd, sam});
    return true;
  } catch (const std::exception& error) {
    launch_->showProblem(QString::fromUtf8(error.what()));
    return false;
  }
}

bool MainWindow::launchSingle() {
  try {
    RunSpec spec = launch_->resolve();
    launch_->showProblem({});
    QSettings().setValue(keys::lastArguments, launch_->arguments());
    spec.name = QString::fromStdString(spec.config.optimizer.kind).toUpper().toStdString() + " " +
                (spec.config.model.modelFile.empty() ? spec.config.model.name : "model file");
    selectRuns({controller_->enqueue(spec)});
    return true;
  } catch (const std::exception& error) {
    launch_->showProblem(QString::fromUtf8(error.what()));
    return false;
  }
}

void MainWindow::fitNameColumn() {
  // As wide as the longest name, up to a third of the table or 240 px, whichever is more (a study's
  // names run long); a name cut shows whole in its tooltip, and the user may still drag the column.
  table_->resizeColumnToContents(RunTableModel::Name);
  const int widest = std::max(240, table_->viewport()->width() / 3);
  if (table_->columnWidth(RunTableModel::Name) > widest) table_->setColumnWidth(RunTableModel::Name, widest);
}

std::vector<int> MainWindow::selectedRuns() const {
  std::vector<int> ids;
  std::set<int> rows;
  for (const QModelIndex& index : table_->selectionModel()->selectedRows()) {
    rows.insert(filter_->mapToSource(index).row());
  }
  for (int row : rows) ids.push_back(model_->runIdAt(row));
  return ids;
}

void MainWindow::selectRuns(const std::vector<int>& ids) {
  table_->selectionModel()->clearSelection();
  for (int id : ids) {
    const QModelIndex index = filter_->mapFromSource(model_->index(model_->rowOf(id), 0));
    table_->selectionModel()->select(index, QItemSelectionModel::Select | QItemSelectionModel::Rows);
  }
  refreshPages();
}

void MainWindow::refreshPages() {
  std::vector<int> ids = selectedRuns();
  // A single selected run of a pair shows with its partner, so the landscape compares them.
  if (ids.size() == 1 && controller_->partnerOf(ids.front()) >= 0) {
    const int partner = controller_->partnerOf(ids.front());
    const GuiRun* run = controller_->run(ids.front());
    if (run != nullptr && run->spec.config.optimizer.kind == "sgd") {
      ids.push_back(partner);
    } else {
      ids.insert(ids.begin(), partner);
    }
  }
  shownRuns_ = ids;
  for (const ShownPage& shown : pages_) shown.page->setRuns(ids);
}

void MainWindow::showStudyPage() { tabs_->setCurrentWidget(study_); }

void MainWindow::showCurvesPage() {
  if (auto* curves = pageOfType<CurvesPage>()) tabs_->setCurrentWidget(curves);
}

int MainWindow::selectRunsNamed(const QString& text) {
  std::vector<int> ids;
  for (int id : controller_->runIds()) {
    const GuiRun* run = controller_->run(id);
    if (run != nullptr && run->name().contains(text, Qt::CaseInsensitive)) ids.push_back(id);
  }
  selectRuns(ids);
  return static_cast<int>(ids.size());
}

Page* MainWindow::currentPage() const {
  for (const ShownPage& shown : pages_) {
    if (shown.page->widget() == tabs_->currentWidget()) return shown.page.get();
  }
  return nullptr;
}

void MainWindow::updateStatus() {
  int running = 0;
  int queued = 0;
  for (int id : controller_->runIds()) {
    const GuiRun* run = controller_->run(id);
    running += run->status == RunStatus::Running;
    queued += run->status == RunStatus::Queued;
  }
  status_->setText(QString("workspace %1   |   %2 running, %3 queued").arg(workspace_).arg(running).arg(queued));
}

void MainWindow::exportCurrentView() {
  const QString path = QFileDialog::getSaveFileName(this, "Export view", "view.png", "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)");
  if (path.isEmpty()) return;
  QString error;
  if (!viz::exportWidget(tabs_->currentWidget(), path, &error)) QMessageBox::warning(this, "Export view", error);
}

void MainWindow::exportCurrentData() {
  const QString directory = QFileDialog::getExistingDirectory(this, "Export the current page's data and figures into");
  if (directory.isEmpty()) return;
  Page* page = currentPage();
  if (page == nullptr) return;
  QStringList written;
  QString error;
  if (!page->exportAll(directory, "samscape", &written, &error)) QMessageBox::warning(this, "Export", error);
}

void MainWindow::exportLandscapePng() {
  const QString path = QFileDialog::getSaveFileName(this, "Export 3D view", "landscape.png", "PNG (*.png)");
  if (path.isEmpty()) return;
  bool ok = false;
  const int width = QInputDialog::getInt(this, "Resolution", "Width in pixels", 1920, 200, 8000, 10, &ok);
  if (!ok) return;
  QString error;
  if (!landscape_->exportViewPng(0, path, width, width * 3 / 4, &error)) QMessageBox::warning(this, "Export", error);
}

void MainWindow::exportLandscapeVts() {
  const QString path = QFileDialog::getSaveFileName(this, "Export surface", "slice.vts", "VTK structured grid (*.vts)");
  if (path.isEmpty()) return;
  QString error;
  landscape_->flushRefresh();
  if (!landscape_->view(0)->exportVts(path, &error)) QMessageBox::warning(this, "Export", error);
}

bool MainWindow::exportReport(const QString& directory, QStringList* written, QString* error) {
  if (!QDir().mkpath(directory)) {
    *error = directory + ": cannot create the directory";
    return false;
  }
  // Every page draws the selection; the landscape's 3D views must have been shown once to render.
  const int current = tabs_->currentIndex();
  for (const ShownPage& shown : pages_) {
    tabs_->setCurrentWidget(shown.page->widget());
    QApplication::processEvents();
    if (!shown.page->showsSelectedRuns()) continue;  // e.g. the Study page
    if (!shown.page->exportAll(directory, "report", written, error)) {
      tabs_->setCurrentIndex(current);
      return false;
    }
  }
  tabs_->setCurrentIndex(current);
  // The runs' own metrics, as the table shows them.
  QString csv = "run,epoch,train_loss,train_acc,test_loss,test_acc,lr\n";
  for (int id : shownRuns_) {
    const GuiRun* run = controller_->run(id);
    for (const EpochMetrics& m : run->epochs) {
      csv += QString("\"%1\",%2,%3,%4,%5,%6,%7\n")
                 .arg(QString(run->name()).replace('"', "\"\""))
                 .arg(m.epoch)
                 .arg(m.trainLoss, 0, 'g', 17)
                 .arg(m.trainAccuracy, 0, 'g', 17)
                 .arg(m.testLoss, 0, 'g', 17)
                 .arg(m.testAccuracy, 0, 'g', 17)
                 .arg(m.learningRate, 0, 'g', 17);
    }
  }
  const QString metrics = QDir(directory).filePath("report-metrics.csv");
  if (!viz::writeTextFile(metrics, csv, error)) return false;
  written->append(metrics);
  return true;
}

void MainWindow::screenshotAfterEpochs(const QString& path, int epochs) {
  screenshotPath_ = path;
  screenshotEpochs_ = epochs;
  tabs_->setCurrentWidget(landscape_);
  checkScreenshot();
}

void MainWindow::checkScreenshot() {
  if (screenshotPath_.isEmpty() || screenshotTaken_) return;
  bool anyRun = false;
  for (int id : landscape_->runs()) {
    const GuiRun* run = controller_->run(id);
    if (run == nullptr) continue;
    anyRun = true;
    if (run->status == RunStatus::Failed || run->status == RunStatus::Diverged || run->status == RunStatus::Cancelled) {
      std::cerr << "samscape: screenshot not taken: " << run->name().toStdString() << " "
                << run->status << ": " << run->message.toStdString() << "\n";
      screenshotTaken_ = true;
      QTimer::singleShot(0, qApp, [] { QApplication::exit(1); });
      return;
    }
    if (static_cast<int>(run->epochs.size()) < screenshotEpochs_ && run->status != RunStatus::Finished) return;
    // A run asked to go to its end is shown finished (and then a pair with its interpolation).
    if (screenshotEpochs_ >= run->spec.config.epochs && run->status != RunStatus::Finished) return;
    // The analyses due by then: the last multiple of --analyze-every within the epochs (or the last epoch).
    const int every = run->spec.analyzeEvery;
    if (every > 0) {
      int due = (screenshotEpochs_ / every) * every;
      if (screenshotEpochs_ >= run->spec.config.epochs) due = run->spec.config.epochs;
      if (due > 0) {
        const auto found = run->analyses.find(due);
        // One skipped to keep within --analysis-budget will not come: the grab shows the one before.
        const bool skipped =
            std::any_of(run->analysisCosts.begin(), run->analysisCosts.end(),
                        [due](const AnalysisCost& cost) { return cost.epoch == due && cost.skipped; });
        if (!skipped && (found == run->analyses.end() || !found->second.complete())) return;
      }
    }
  }
  if (!anyRun) return;
  // A finished pair: wait for the interpolation between its solutions too.
  const auto& shown = landscape_->runs();
  if (!shown.empty()) {
    const GuiRun* first = controller_->run(shown.front());
    const int partner = controller_->partnerOf(shown.front());
    if (first != nullptr && partner >= 0 && first->status == RunStatus::Finished &&
        controller_->run(partner)->status == RunStatus::Finished && !controller_->pairInterpolationDone(first->pairId)) {
      return;
    }
  }
  screenshotTaken_ = true;
  // Let the views draw the last values before the grab.
  QTimer::singleShot(500, this, [this] {
    landscape_->refresh();
    QApplication::processEvents();
    const QImage image = grab().toImage();
    const bool saved = image.save(screenshotPath_, "PNG");
    const QWidget* view = landscape_->view(0);
    const QPoint origin = view->mapTo(this, QPoint(0, 0));
    // The other pages too, beside it: FILE's name with each page's suffix (-curves, -spectrum).
    const QFileInfo info(screenshotPath_);
    const QString stem = info.dir().filePath(info.completeBaseName());
    for (const ShownPage& shown : pages_) {
      if (shown.entry->screenshotSuffix.isEmpty()) continue;
      tabs_->setCurrentWidget(shown.page->widget());
      QApplication::processEvents();
      grab().toImage().save(stem + shown.entry->screenshotSuffix, "PNG");
    }
    tabs_->setCurrentWidget(landscape_);
    std::cout << "screenshot " << screenshotPath_.toStdString() << (saved ? "" : " FAILED") << "\n"
              << "landscape view at " << origin.x() << "," << origin.y() << " size " << view->width() << "x"
              << view->height() << " (scale " << devicePixelRatioF() << ")\n"
              << std::flush;
    QApplication::exit(saved ? 0 : 1);
  });
}

void MainWindow::closeEvent(QCloseEvent* event) {
  const bool pagesWorking =
      std::any_of(pages_.begin(), pages_.end(), [](const ShownPage& shown) { return shown.page->working(); });
  if ((controller_->anyInFlight() || pagesWorking) && screenshotPath_.isEmpty()) {
    const auto answer = QMessageBox::question(
        this, "Runs in flight",
        "Runs are still training. Stop them and quit? They stop after the current step and can be resumed from "
        "their last checkpoint.");
    if (answer != QMessageBox::Yes) {
      event->ignore();
      return;
    }
  }
  for (const ShownPage& shown : pages_) shown.page->stopWork();
  controller_->cancelAll();
  controller_->waitForWorkers();
  QSettings settings;
  settings.setValue(keys::geometry, saveGeometry());
  settings.setValue(keys::state, saveState());
  event->accept();
}

}  // namespace samscape::gui
