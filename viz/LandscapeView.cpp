#include "viz/LandscapeView.h"

#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLFramebufferObject>
#include <QOpenGLFunctions>
#include <QPointer>
#include <QWheelEvent>

#include <vtkActor.h>
#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkContourFilter.h>
#include <vtkDoubleArray.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkLookupTable.h>
#include <vtkNew.h>
#include <vtkOpenGLState.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkSmartPointer.h>
#include <vtkStructuredGrid.h>
#include <vtkStructuredGridGeometryFilter.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkUnsignedCharArray.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "analysis/AnalysisFiles.h"
#include "core/Error.h"
#include "viz/FigureExport.h"
#include "viz/GridFill.h"

namespace samscape::viz {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDefaultElevationDegrees = 30.0;
constexpr int kContourLevels = 15;

// Viridis (perceptually uniform, readable in grey scale and by colour-blind readers) at 0, 0.1, ..., 1.
constexpr std::array<unsigned, 11> kViridis = {0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C,
                                               0x22A884, 0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725};

void fillViridis(vtkLookupTable* table) {
  constexpr int entries = 256;
  table->SetNumberOfTableValues(entries);
  for (int i = 0; i < entries; ++i) {
    const double t = double(i) / (entries - 1) * double(kViridis.size() - 1);
    const auto low = std::min<std::size_t>(static_cast<std::size_t>(t), kViridis.size() - 2);
    const double f = t - double(low);
    std::array<double, 3> rgb{};
    for (int c = 0; c < 3; ++c) {
      const int shift = 16 - 8 * c;
      const double a = double((kViridis[low] >> shift) & 0xFF) / 255.0;
      const double b = double((kViridis[low + 1] >> shift) & 0xFF) / 255.0;
      rgb[static_cast<std::size_t>(c)] = (1 - f) * a + f * b;
    }
    table->SetTableValue(i, rgb[0], rgb[1], rgb[2], 1.0);
  }
  table->SetNanColor(0.6, 0.6, 0.6, 1.0);
  table->Build();
}

}  // namespace

struct LandscapeView::Impl {
  LandscapeView* view = nullptr;
  vtkNew<vtkGenericOpenGLRenderWindow> window;
  vtkNew<vtkRenderer> renderer;
  vtkNew<vtkGenericRenderWindowInteractor> interactor;
  vtkNew<vtkInteractorStyleTrackballCamera> style;
  vtkNew<vtkLookupTable> colors;

  vtkNew<vtkStructuredGrid> surfaceGrid;
  vtkNew<vtkStructuredGridGeometryFilter> geometry;
  vtkNew<vtkPolyDataNormals> normals;
  vtkNew<vtkPolyDataMapper> surfaceMapper;
  vtkNew<vtkActor> surfaceActor;

  vtkNew<vtkContourFilter> contours;
  vtkNew<vtkPolyDataMapper> contourMapper;
  vtkNew<vtkActor> contourActor;

  vtkNew<vtkPolyData> evaluatedPoints;
  vtkNew<vtkPolyDataMapper> evaluatedMapper;
  vtkNew<vtkActor> evaluatedActor;

  vtkNew<vtkPolyData> trajectory;
  vtkNew<vtkPolyDataMapper> trajectoryMapper;
  vtkNew<vtkActor> trajectoryActor;

  vtkNew<vtkTextActor> title;
  vtkNew<vtkScalarBarActor> scalarBar;

  SliceGrid grid;
  FilledGrid filled;
  std::vector<LandscapePath> paths;
  std::vector<vtkSmartPointer<vtkTextActor>> pathLabels;  // the legend: one line per labelled path
  bool fixedRange = false;
  double fixedMin = 0.0;
  double fixedMax = 1.0;
  double rangeMin = 0.0;
  double rangeMax = 1.0;
  Mode mode = Mode::Surface;
  bool cameraInitialized = false;
  std::array<double, 3> homeFocal{0.0, 0.0, 0.0};
  double homeDistance = 1.0;
  std::vector<QPointer<LandscapeView>> linked;
  bool glInitialized = false;
  int interactiveSamples = 0;  // MSAA samples for frames on screen (0 on software rasterizers)
  static constexpr int kExportSamples = 8;

  bool hasSurface() const { return !filled.loss.empty(); }

  // The slice's larger side; heights span half of it.
  double span() const {
    if (grid.xs.empty() || grid.ys.empty()) return 1.0;
    const double s = std::max(grid.xs.back() - grid.xs.front(), grid.ys.back() - grid.ys.front());
    return s > 0.0 ? s : 1.0;
  }
  double heightScale() const { return 0.5 * span(); }

  double height(double loss) const {
    if (mode == Mode::Contour || !std::isfinite(loss)) return 0.0;
    const double t = (std::clamp(loss, rangeMin, rangeMax) - rangeMin) / (rangeMax - rangeMin);
    return t * heightScale();
  }

  void updateRange() {
    if (fixedRange) {
      rangeMin = fixedMin;
      rangeMax = fixedMax;
    } else {
      double lo = std::numeric_limits<double>::infinity();
      double hi = -lo;
      for (std::size_t i = 0; i < filled.loss.size(); ++i) {
        if (!filled.evaluated[i]) continue;
        lo = std::min(lo, filled.loss[i]);
        hi = std::max(hi, filled.loss[i]);
      }
      if (!(lo <= hi)) lo = 0.0, hi = 1.0;
      if (lo == hi) lo -= 0.5, hi += 0.5;
      rangeMin = lo;
      rangeMax = hi;
    }
    colors->SetTableRange(rangeMin, rangeMax);
    surfaceMapper->SetScalarRange(rangeMin, rangeMax);
    contours->GenerateValues(kContourLevels, rangeMin + (rangeMax - rangeMin) / (kContourLevels + 1),
                             rangeMax - (rangeMax - rangeMin) / (kContourLevels + 1));
  }

  void rebuildSurface() {
    updateRange();
    const std::size_t nx = grid.xs.size();
    const std::size_t ny = grid.ys.size();
    if (!hasSurface()) {
      surfaceActor->VisibilityOff();
      contourActor->VisibilityOff();
      evaluatedActor->VisibilityOff();
      scalarBar->VisibilityOff();
      rebuildTrajectory();
      return;
    }
    vtkNew<vtkPoints> points;
    points->SetDataTypeToDouble();
    points->SetNumberOfPoints(static_cast<vtkIdType>(nx * ny));
    vtkNew<vtkDoubleArray> loss;
    loss->SetName("loss");
    loss->SetNumberOfValues(static_cast<vtkIdType>(nx * ny));
    vtkNew<vtkPoints> dots;
    vtkNew<vtkCellArray> dotCells;
    const double lift = 0.004 * span();
    for (std::size_t iy = 0; iy < ny; ++iy) {
      for (std::size_t ix = 0; ix < nx; ++ix) {
        const std::size_t i = grid.index(ix, iy);
        const double z = height(filled.loss[i]);
        points->SetPoint(static_cast<vtkIdType>(i), grid.xs[ix], grid.ys[iy], z);
        loss->SetValue(static_cast<vtkIdType>(i), filled.loss[i]);
        if (filled.evaluated[i]) {
          const vtkIdType id = dots->InsertNextPoint(grid.xs[ix], grid.ys[iy], z + lift);
          dotCells->InsertNextCell(1, &id);
        }
      }
    }
    surfaceGrid->SetDimensions(static_cast<int>(nx), static_cast<int>(ny), 1);
    surfaceGrid->SetPoints(points);
    surfaceGrid->GetPointData()->SetScalars(loss);
    surfaceGrid->Modified();
    evaluatedPoints->SetPoints(dots);
    evaluatedPoints->SetVerts(dotCells);
    evaluatedPoints->Modified();

    surfaceActor->VisibilityOn();
    scalarBar->VisibilityOn();
    contourActor->SetVisibility(mode == Mode::Contour);
    contourActor->SetPosition(0.0, 0.0, lift);
    // The dots show which points are measured while the grid refines; a complete grid needs none.
    evaluatedActor->SetVisibility(filled.evaluatedCount < nx * ny);
    rebuildTrajectory();
  }

  void rebuildTrajectory() {
    vtkNew<vtkPoints> points;
    vtkNew<vtkCellArray> lines;
    vtkNew<vtkCellArray> verts;
    vtkNew<vtkUnsignedCharArray> pointColors;  // each path in its own colour, one polydata for all
    pointColors->SetNumberOfComponents(3);
    pointColors->SetName("colors");
    const double lift = 0.012 * span();
    bool any = false;
    for (const LandscapePath& path : paths) {
      const std::size_t count = std::min(path.xs.size(), path.ys.size());
      std::vector<vtkIdType> ids;
      for (std::size_t i = 0; i < count; ++i) {
        const double x = path.xs[i];
        const double y = path.ys[i];
        if (!std::isfinite(x) || !std::isfinite(y)) continue;
        double z = 0.0;
        if (hasSurface()) z = height(interpolateBilinear(grid.xs, grid.ys, filled.loss, x, y));
        const vtkIdType id = points->InsertNextPoint(x, y, z + lift);
        const unsigned char rgb[3] = {static_cast<unsigned char>(path.color.red()),
                                      static_cast<unsigned char>(path.color.green()),
                                      static_cast<unsigned char>(path.color.blue())};
        pointColors->InsertNextTypedTuple(rgb);
        ids.push_back(id);
        verts->InsertNextCell(1, &id);
      }
      if (ids.size() >= 2) lines->InsertNextCell(static_cast<vtkIdType>(ids.size()), ids.data());
      any = any || !ids.empty();
    }
    trajectory->SetPoints(points);
    trajectory->SetLines(lines);
    trajectory->SetVerts(verts);
    trajectory->GetPointData()->SetScalars(pointColors);
    trajectory->Modified();
    trajectoryActor->SetVisibility(any);
  }

  // The legend of the labelled paths, bottom left, each line in its path's colour.
  void rebuildPathLabels() {
    for (auto& label : pathLabels) renderer->RemoveViewProp(label);
    pathLabels.clear();
    double y = 0.03;
    for (auto path = paths.rbegin(); path != paths.rend(); ++path) {
      if (path->label.isEmpty()) continue;
      auto label = vtkSmartPointer<vtkTextActor>::New();
      label->SetInput(("\u25CF " + path->label).toUtf8().constData());
      vtkTextProperty* text = label->GetTextProperty();
      text->SetColor(path->color.redF(), path->color.greenF(), path->color.blueF());
      text->SetFontFamilyToArial();
      text->BoldOn();
      text->SetFontSize(title->GetTextProperty()->GetFontSize());
      label->SetTextScaleModeToNone();
      label->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
      label->SetPosition(0.02, y);
      y += 0.06;
      renderer->AddViewProp(label);
      pathLabels.push_back(label);
    }
  }

  // The default view of the current mode: surface from the azimuth at 30 degrees elevation, contour map
  // from straight above in parallel projection; both fitted to what is drawn.
  void placeCamera(double azimuthDegrees) {
    vtkCamera* camera = renderer->GetActiveCamera();
    const double cx = grid.xs.empty() ? 0.0 : 0.5 * (grid.xs.front() + grid.xs.back());
    const double cy = grid.ys.empty() ? 0.0 : 0.5 * (grid.ys.front() + grid.ys.back());
    if (mode == Mode::Contour) {
      camera->ParallelProjectionOn();
      camera->SetFocalPoint(cx, cy, 0.0);
      camera->SetPosition(cx, cy, 4.0 * span());
      camera->SetViewUp(0.0, 1.0, 0.0);
      renderer->ResetCamera();
      camera->SetParallelScale(0.58 * span());
    } else {
      camera->ParallelProjectionOff();
      const double a = azimuthDegrees * kPi / 180.0;
      const double e = kDefaultElevationDegrees * kPi / 180.0;
      const double cz = 0.5 * heightScale();
      camera->SetFocalPoint(cx, cy, cz);
      camera->SetPosition(cx + std::sin(a) * std::cos(e), cy - std::cos(a) * std::cos(e), cz + std::sin(e));
      camera->SetViewUp(0.0, 0.0, 1.0);
      renderer->ResetCamera();
      camera->Dolly(1.1);
    }
    double focal[3];
    camera->GetFocalPoint(focal);
    homeFocal = {focal[0], focal[1], focal[2]};
    homeDistance = camera->GetDistance();
    renderer->ResetCameraClippingRange();
    cameraInitialized = true;
  }

  void setAzimuth(double azimuthDegrees) {
    if (!cameraInitialized) placeCamera(0.0);
    vtkCamera* camera = renderer->GetActiveCamera();
    if (mode == Mode::Contour) {
      // Seen from above: the azimuth turns the map in the view.
      const double a = azimuthDegrees * kPi / 180.0;
      camera->SetViewUp(-std::sin(a), std::cos(a), 0.0);
    } else {
      const double a = azimuthDegrees * kPi / 180.0;
      const double e = kDefaultElevationDegrees * kPi / 180.0;
      const double d = homeDistance;
      camera->SetFocalPoint(homeFocal.data());
      camera->SetPosition(homeFocal[0] + d * std::sin(a) * std::cos(e),
                          homeFocal[1] - d * std::cos(a) * std::cos(e), homeFocal[2] + d * std::sin(e));
      camera->SetViewUp(0.0, 0.0, 1.0);
    }
    renderer->ResetCameraClippingRange();
  }

  // Text in pixels, proportional to the image's height, so exports at other resolutions look alike.
  void scaleText(int pixelHeight) {
    const int size = std::clamp(static_cast<int>(std::lround(pixelHeight / 28.0)), 11, 120);
    title->GetTextProperty()->SetFontSize(size);
    for (auto& label : pathLabels) label->GetTextProperty()->SetFontSize(size);
    scalarBar->GetTitleTextProperty()->SetFontSize(size);
    scalarBar->GetLabelTextProperty()->SetFontSize(std::max(10, size * 5 / 6));
    // Lines and points too, so a 4K export is not drawn with hairlines.
    const double scale = std::max(1.0, pixelHeight / 600.0);
    trajectoryActor->GetProperty()->SetLineWidth(static_cast<float>(3.0 * scale));
    trajectoryActor->GetProperty()->SetPointSize(static_cast<float>(8.0 * scale));
    contourActor->GetProperty()->SetLineWidth(static_cast<float>(1.5 * scale));
    evaluatedActor->GetProperty()->SetPointSize(static_cast<float>(4.0 * scale));
  }

  void setWindowSize(int width, int height) {
    window->SetSize(std::max(1, width), std::max(1, height));
    interactor->UpdateSize(std::max(1, width), std::max(1, height));
    scaleText(height);
  }

  // Renders into the framebuffer bound now (QOpenGLWidget's in paintGL, an export's otherwise).
  void render(QOpenGLFunctions* functions) {
    vtkOpenGLState* state = window->GetState();
    state->Reset();  // Qt changed the GL state behind VTK's cache (Qt leaves GL_LESS, VTK expects GL_LEQUAL)
    state->Push();
    window->SetReadyForRendering(true);
    renderer->ResetCameraClippingRange();
    window->Render();
    window->SetReadyForRendering(false);
    state->Pop();
    // VTK leaves alpha 0 in the background: without this a grab of the widget comes back transparent.
    functions->glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
    functions->glClearColor(0.0f, 0.0f, 0.0f, 1.0f);
    functions->glClear(GL_COLOR_BUFFER_BIT);
    functions->glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
  }
};

LandscapeView::LandscapeView(QWidget* parent) : QOpenGLWidget(parent), impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.view = this;
  setMinimumSize(200, 160);
  setFocusPolicy(Qt::StrongFocus);

  d.window->SetOwnContext(false);         // Qt owns the context
  d.window->SetReadyForRendering(false);  // rendering happens in paintGL only
  d.window->SetFrameBlitModeToBlitToCurrent();
  d.window->SetForceMaximumHardwareLineWidth(1);  // core profile: VTK draws wide lines itself
  d.window->AddRenderer(d.renderer);
  // vtkObject::AddObserver takes member functions; plain callbacks go through vtkCallbackCommand.
  vtkNew<vtkCallbackCommand> makeCurrentCommand;
  makeCurrentCommand->SetClientData(this);
  makeCurrentCommand->SetCallback([](vtkObject*, unsigned long, void* clientData, void*) {
    // Not QOpenGLWidget::makeCurrent(): that rebinds Qt's framebuffer behind VTK's cached state (a
    // black view with Mesa).
    auto* self = static_cast<LandscapeView*>(clientData);
    if (QOpenGLContext* glContext = self->context()) glContext->makeCurrent(glContext->surface());
  });
  d.window->AddObserver(vtkCommand::WindowMakeCurrentEvent, makeCurrentCommand);
  vtkNew<vtkCallbackCommand> isCurrent;
  isCurrent->SetClientData(this);
  isCurrent->SetCallback([](vtkObject*, unsigned long, void* clientData, void* callData) {
    auto* self = static_cast<LandscapeView*>(clientData);
    *static_cast<bool*>(callData) =
        self->context() != nullptr && QOpenGLContext::currentContext() == self->context();
  });
  d.window->AddObserver(vtkCommand::WindowIsCurrentEvent, isCurrent);

  d.interactor->SetRenderWindow(d.window);
  d.interactor->SetInteractorStyle(d.style);
  d.interactor->EnableRenderOff();  // the style asks for renders; Qt schedules them
  vtkNew<vtkCallbackCommand> renderRequest;
  renderRequest->SetClientData(this);
  renderRequest->SetCallback([](vtkObject*, unsigned long, void* clientData, void*) {
    static_cast<LandscapeView*>(clientData)->update();
  });
  d.interactor->AddObserver(vtkCommand::RenderEvent, renderRequest);
  vtkNew<vtkCallbackCommand> moved;
  moved->SetClientData(this);
  moved->SetCallback([](vtkObject*, unsigned long, void* clientData, void*) {
    auto* self = static_cast<LandscapeView*>(clientData);
    for (const QPointer<LandscapeView>& other : self->impl_->linked) {
      if (other) other->copyCameraFrom(*self);
    }
    self->update();
    Q_EMIT self->cameraChanged();
  });
  d.style->AddObserver(vtkCommand::InteractionEvent, moved);
  d.style->AddObserver(vtkCommand::EndInteractionEvent, moved);

  d.renderer->SetBackground(1.0, 1.0, 1.0);
  d.renderer->SetBackground2(0.80, 0.84, 0.90);
  d.renderer->GradientBackgroundOn();

  fillViridis(d.colors);
  d.geometry->SetInputData(d.surfaceGrid);
  d.normals->SetInputConnection(d.geometry->GetOutputPort());
  d.normals->SplittingOff();
  d.surfaceMapper->SetInputConnection(d.normals->GetOutputPort());
  d.surfaceMapper->SetLookupTable(d.colors);
  d.surfaceMapper->SetScalarModeToUsePointData();
  d.surfaceMapper->ScalarVisibilityOn();
  d.surfaceMapper->UseLookupTableScalarRangeOff();
  d.surfaceActor->SetMapper(d.surfaceMapper);
  // Enough ambient light that steep walls facing away from the headlight keep their colour.
  d.surfaceActor->GetProperty()->SetAmbient(0.35);
  d.surfaceActor->GetProperty()->SetDiffuse(0.7);
  d.surfaceActor->GetProperty()->SetSpecular(0.1);
  d.surfaceActor->GetProperty()->SetSpecularPower(20.0);
  d.surfaceActor->VisibilityOff();

  d.contours->SetInputConnection(d.geometry->GetOutputPort());
  d.contourMapper->SetInputConnection(d.contours->GetOutputPort());
  d.contourMapper->ScalarVisibilityOff();
  d.contourActor->SetMapper(d.contourMapper);
  d.contourActor->GetProperty()->SetColor(0.1, 0.1, 0.1);
  d.contourActor->GetProperty()->SetLineWidth(1.5);
  d.contourActor->GetProperty()->LightingOff();
  d.contourActor->VisibilityOff();

  d.evaluatedMapper->SetInputData(d.evaluatedPoints);
  d.evaluatedActor->SetMapper(d.evaluatedMapper);
  d.evaluatedActor->GetProperty()->SetColor(0.05, 0.05, 0.05);
  d.evaluatedActor->GetProperty()->SetPointSize(4.0);
  d.evaluatedActor->GetProperty()->LightingOff();
  d.evaluatedActor->VisibilityOff();

  d.trajectoryMapper->SetInputData(d.trajectory);
  d.trajectoryMapper->SetScalarModeToUsePointData();
  d.trajectoryMapper->SetColorModeToDirectScalars();
  d.trajectoryMapper->ScalarVisibilityOn();
  d.trajectoryActor->SetMapper(d.trajectoryMapper);
  d.trajectoryActor->GetProperty()->SetColor(0.85, 0.10, 0.10);
  d.trajectoryActor->GetProperty()->SetLineWidth(3.0);
  d.trajectoryActor->GetProperty()->SetPointSize(8.0);
  d.trajectoryActor->GetProperty()->RenderPointsAsSpheresOn();
  d.trajectoryActor->GetProperty()->LightingOff();
  d.trajectoryActor->VisibilityOff();

  vtkTextProperty* titleText = d.title->GetTextProperty();
  titleText->SetColor(0.0, 0.0, 0.0);
  titleText->SetFontFamilyToArial();
  titleText->BoldOn();
  titleText->SetJustificationToLeft();
  titleText->SetVerticalJustificationToTop();
  d.title->SetTextScaleModeToNone();
  d.title->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
  d.title->SetPosition(0.02, 0.97);

  d.scalarBar->SetLookupTable(d.colors);
  d.scalarBar->SetTitle("loss");
  d.scalarBar->SetNumberOfLabels(5);
  d.scalarBar->SetLabelFormat("%.3g");
  d.scalarBar->SetPosition(0.89, 0.1);
  d.scalarBar->SetWidth(0.1);
  d.scalarBar->SetHeight(0.75);
  d.scalarBar->SetBarRatio(0.25);
  d.scalarBar->UnconstrainedFontSizeOn();  // sizes from scaleText, not stretched to the bar
  d.scalarBar->SetTextPad(3);
  for (vtkTextProperty* text : {d.scalarBar->GetTitleTextProperty(), d.scalarBar->GetLabelTextProperty()}) {
    text->SetColor(0.0, 0.0, 0.0);
    text->ShadowOff();
    text->ItalicOff();
    text->SetFontFamilyToArial();
    text->BoldOff();
  }
  d.scalarBar->VisibilityOff();

  d.renderer->AddActor(d.surfaceActor);
  d.renderer->AddActor(d.contourActor);
  d.renderer->AddActor(d.evaluatedActor);
  d.renderer->AddActor(d.trajectoryActor);
  d.renderer->AddViewProp(d.title);
  d.renderer->AddViewProp(d.scalarBar);
  d.updateRange();
}

LandscapeView::~LandscapeView() {
  // The context dies after this destructor (in QOpenGLWidget's): stop listening, then free VTK's GL
  // objects while the context can still be made current.
  if (QOpenGLContext* glContext = context()) disconnect(glContext, nullptr, this, nullptr);
  if (isValid()) {
    makeCurrent();
    releaseGraphics();
    doneCurrent();
  }
  for (const QPointer<LandscapeView>& other : impl_->linked) {
    if (!other) continue;
    auto& back = other->impl_->linked;
    back.erase(std::remove(back.begin(), back.end(), QPointer<LandscapeView>(this)), back.end());
  }
}

void LandscapeView::releaseGraphics() {
  if (!impl_->glInitialized) return;
  impl_->window->Finalize();  // releases VTK's GL resources in the current context
  impl_->glInitialized = false;
}

void LandscapeView::initializeGL() {
  Impl& d = *impl_;
  // A widget moved to another window gets a new context: release what the old one held first.
  connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, [this] {
    makeCurrent();
    releaseGraphics();
    doneCurrent();
  });
  d.window->SetReadyForRendering(false);
  // Multisampling is nearly free on a GPU but costs Mesa's software rasterizer several times the frame
  // time (compare samscape-viz-bench with SAMSCAPE_VTK_SAMPLES=4): there, interactive frames go
  // without it; renderImage always uses it.
  const auto* renderer = reinterpret_cast<const char*>(context()->functions()->glGetString(GL_RENDERER));
  const QByteArray rendererName = renderer ? QByteArray(renderer) : QByteArray();
  d.interactiveSamples = rendererName.contains("llvmpipe") || rendererName.contains("softpipe") ? 0 : 4;
  if (qEnvironmentVariableIsSet("SAMSCAPE_VTK_SAMPLES")) {  // for measuring, and for odd drivers
    d.interactiveSamples = std::clamp(qEnvironmentVariableIntValue("SAMSCAPE_VTK_SAMPLES"), 0, 16);
  }
  d.window->SetMultiSamples(d.interactiveSamples);
  d.window->OpenGLInitContext();
  d.glInitialized = true;
  const qreal ratio = devicePixelRatioF();
  d.setWindowSize(static_cast<int>(std::lround(width() * ratio)),
                  static_cast<int>(std::lround(height() * ratio)));
  d.interactor->Initialize();
}

void LandscapeView::resizeGL(int, int) {
  const qreal ratio = devicePixelRatioF();  // VTK works in device pixels
  impl_->setWindowSize(static_cast<int>(std::lround(width() * ratio)),
                       static_cast<int>(std::lround(height() * ratio)));
}

void LandscapeView::paintGL() {
  const qreal ratio = devicePixelRatioF();
  impl_->setWindowSize(static_cast<int>(std::lround(width() * ratio)),
                       static_cast<int>(std::lround(height() * ratio)));
  impl_->render(context()->functions());
}

void LandscapeView::setSurface(const SliceGrid& grid) {
  Impl& d = *impl_;
  d.grid = grid;
  d.filled = fillUnevaluated(grid);
  d.rebuildSurface();
  if (d.hasSurface() && !d.cameraInitialized) {
    d.placeCamera(0.0);
    for (const QPointer<LandscapeView>& other : d.linked) {
      if (other) other->copyCameraFrom(*this);
    }
    Q_EMIT cameraChanged();
  }
  update();
}

void LandscapeView::clearSurface() {
  Impl& d = *impl_;
  d.grid = SliceGrid{};
  d.filled = FilledGrid{};
  d.rebuildSurface();
  update();
}

bool LandscapeView::hasSurface() const { return impl_->hasSurface(); }

void LandscapeView::setTrajectory(const std::vector<double>& xs, const std::vector<double>& ys) {
  setPaths({LandscapePath{xs, ys, QColor::fromRgbF(0.85f, 0.10f, 0.10f), QString()}});
}

void LandscapeView::setPaths(const std::vector<LandscapePath>& paths) {
  impl_->paths = paths;
  impl_->rebuildTrajectory();
  impl_->rebuildPathLabels();
  update();
}

const std::vector<LandscapePath>& LandscapeView::paths() const { return impl_->paths; }

void LandscapeView::setColorRange(double lossMin, double lossMax) {
  if (!std::isfinite(lossMin) || !std::isfinite(lossMax) || !(lossMin < lossMax)) return;
  impl_->fixedRange = true;
  impl_->fixedMin = lossMin;
  impl_->fixedMax = lossMax;
  impl_->rebuildSurface();
  update();
}

void LandscapeView::clearColorRange() {
  impl_->fixedRange = false;
  impl_->rebuildSurface();
  update();
}

void LandscapeView::setMode(Mode mode) {
  Impl& d = *impl_;
  if (mode == d.mode) return;
  d.mode = mode;
  d.rebuildSurface();
  d.placeCamera(0.0);
  for (const QPointer<LandscapeView>& other : d.linked) {
    if (other) other->copyCameraFrom(*this);
  }
  update();
  Q_EMIT cameraChanged();
}

LandscapeView::Mode LandscapeView::mode() const { return impl_->mode; }

void LandscapeView::setTitle(const QString& title) {
  impl_->title->SetInput(title.toUtf8().constData());
  setWindowTitle(title);
  update();
}

void LandscapeView::linkCamera(LandscapeView* other) {
  if (!other || other == this) return;
  const auto add = [](LandscapeView* from, LandscapeView* to) {
    auto& list = from->impl_->linked;
    if (std::find(list.begin(), list.end(), QPointer<LandscapeView>(to)) == list.end()) list.emplace_back(to);
  };
  add(this, other);
  add(other, this);
  if (impl_->cameraInitialized) other->copyCameraFrom(*this);
}

void LandscapeView::unlinkCamera(LandscapeView* other) {
  if (!other || other == this) return;
  const auto remove = [](LandscapeView* from, LandscapeView* to) {
    auto& list = from->impl_->linked;
    list.erase(std::remove(list.begin(), list.end(), QPointer<LandscapeView>(to)), list.end());
  };
  remove(this, other);
  remove(other, this);
}

void LandscapeView::copyCameraFrom(const LandscapeView& other) {
  vtkCamera* source = other.impl_->renderer->GetActiveCamera();
  vtkCamera* camera = impl_->renderer->GetActiveCamera();
  camera->SetParallelProjection(source->GetParallelProjection());
  camera->SetFocalPoint(source->GetFocalPoint());
  camera->SetPosition(source->GetPosition());
  camera->SetViewUp(source->GetViewUp());
  camera->SetViewAngle(source->GetViewAngle());
  camera->SetParallelScale(source->GetParallelScale());
  impl_->homeFocal = other.impl_->homeFocal;
  impl_->homeDistance = other.impl_->homeDistance;
  impl_->cameraInitialized = true;
  impl_->renderer->ResetCameraClippingRange();
  update();
}

void LandscapeView::setAzimuth(double degrees) {
  impl_->setAzimuth(degrees);
  for (const QPointer<LandscapeView>& other : impl_->linked) {
    if (other) other->copyCameraFrom(*this);
  }
  update();
  Q_EMIT cameraChanged();
}

void LandscapeView::resetCamera() {
  impl_->placeCamera(0.0);
  for (const QPointer<LandscapeView>& other : impl_->linked) {
    if (other) other->copyCameraFrom(*this);
  }
  update();
  Q_EMIT cameraChanged();
}

QImage LandscapeView::renderImage(int width, int height) {
  if (width <= 0 || height <= 0) return {};
  if (!isValid()) grabFramebuffer();  // creates the context of a widget never shown, where possible
  if (!isValid() || !impl_->glInitialized) return {};
  makeCurrent();
  QOpenGLFramebufferObjectFormat format;
  format.setAttachment(QOpenGLFramebufferObject::CombinedDepthStencil);
  format.setInternalTextureFormat(GL_RGBA8);
  QImage image;
  {
    QOpenGLFramebufferObject target(width, height, format);
    if (target.isValid() && target.bind()) {
      impl_->setWindowSize(width, height);
      impl_->window->SetMultiSamples(Impl::kExportSamples);
      context()->functions()->glViewport(0, 0, width, height);
      impl_->render(context()->functions());
      impl_->window->SetMultiSamples(impl_->interactiveSamples);
      image = target.toImage();
      target.release();
    }
  }
  const qreal ratio = devicePixelRatioF();
  impl_->setWindowSize(static_cast<int>(std::lround(this->width() * ratio)),
                       static_cast<int>(std::lround(this->height() * ratio)));
  doneCurrent();
  update();
  return image.isNull() ? image : image.convertToFormat(QImage::Format_RGB32);
}

bool LandscapeView::exportVts(const QString& path, QString* error) {
  const auto fail = [&](const QString& message) {
    if (error) *error = QStringLiteral("cannot write %1: %2").arg(path, message);
    return false;
  };
  const SliceGrid& grid = impl_->grid;
  const std::size_t nx = grid.xs.size();
  const std::size_t ny = grid.ys.size();
  if (nx == 0 || ny == 0 || grid.loss.size() != nx * ny || grid.accuracy.size() != nx * ny) {
    return fail(QStringLiteral("there is no loss slice to export"));
  }
  if (!grid.complete()) {
    return fail(
        QStringLiteral("the slice is incomplete (%1 of %2 points); a VTK structured grid needs every point")
            .arg(grid.pointsDone)
            .arg(grid.pointsTotal));
  }
  // The one slice.vts writer: the file analysis writes beside slice.csv.
  try {
    writeSliceVts(path.toStdString(), grid);
  } catch (const Error& writeError) {
    return fail(QString::fromUtf8(writeError.what()));
  }
  return true;
}

const SliceGrid& LandscapeView::grid() const { return impl_->grid; }
double LandscapeView::colorMin() const { return impl_->rangeMin; }
double LandscapeView::colorMax() const { return impl_->rangeMax; }

// ----- mouse: Qt events fed to VTK's interactor in device pixels, y flipped ---------------------------

namespace {

void setEventInformation(vtkGenericRenderWindowInteractor* interactor, const QWidget* widget,
                         const QPointF& position, Qt::KeyboardModifiers modifiers, bool repeat = false) {
  const qreal ratio = widget->devicePixelRatioF();
  interactor->SetEventInformationFlipY(static_cast<int>(std::lround(position.x() * ratio)),
                                       static_cast<int>(std::lround(position.y() * ratio)),
                                       (modifiers & Qt::ControlModifier) ? 1 : 0,
                                       (modifiers & Qt::ShiftModifier) ? 1 : 0, 0, repeat ? 1 : 0);
}

}  // namespace

void LandscapeView::mousePressEvent(QMouseEvent* event) {
  setEventInformation(impl_->interactor, this, event->position(), event->modifiers(),
                      event->type() == QEvent::MouseButtonDblClick);
  switch (event->button()) {
    case Qt::LeftButton:
      impl_->interactor->InvokeEvent(vtkCommand::LeftButtonPressEvent);
      break;
    case Qt::MiddleButton:
      impl_->interactor->InvokeEvent(vtkCommand::MiddleButtonPressEvent);
      break;
    case Qt::RightButton:
      impl_->interactor->InvokeEvent(vtkCommand::RightButtonPressEvent);
      break;
    default:
      break;
  }
  event->accept();
}

void LandscapeView::mouseReleaseEvent(QMouseEvent* event) {
  setEventInformation(impl_->interactor, this, event->position(), event->modifiers());
  switch (event->button()) {
    case Qt::LeftButton:
      impl_->interactor->InvokeEvent(vtkCommand::LeftButtonReleaseEvent);
      break;
    case Qt::MiddleButton:
      impl_->interactor->InvokeEvent(vtkCommand::MiddleButtonReleaseEvent);
      break;
    case Qt::RightButton:
      impl_->interactor->InvokeEvent(vtkCommand::RightButtonReleaseEvent);
      break;
    default:
      break;
  }
  event->accept();
}

void LandscapeView::mouseMoveEvent(QMouseEvent* event) {
  setEventInformation(impl_->interactor, this, event->position(), event->modifiers());
  impl_->interactor->InvokeEvent(vtkCommand::MouseMoveEvent);
  event->accept();
}

void LandscapeView::wheelEvent(QWheelEvent* event) {
  setEventInformation(impl_->interactor, this, event->position(), event->modifiers());
  const int delta = event->angleDelta().y();
  if (delta > 0) impl_->interactor->InvokeEvent(vtkCommand::MouseWheelForwardEvent);
  if (delta < 0) impl_->interactor->InvokeEvent(vtkCommand::MouseWheelBackwardEvent);
  event->accept();
}

}  // namespace samscape::viz
