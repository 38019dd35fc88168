#pragma once
// A 2D loss slice drawn with VTK inside a Qt 6 QOpenGLWidget: a 3D surface (height and colour both the
// loss) or a flat colour map with contour lines, the training trajectory on it, a title and a colour
// bar. VTK stays behind a pimpl: this header has none of it. Rendering follows
// shared/notes/vtk-in-qt6.md; every render, offscreen ones included, needs an X display (Debian's VTK is
// GLX only), so tests and scripts run under xvfb-run. Call setDefaultSurfaceFormat() before QApplication.
//
// Drawing, as documented for users:
// - Height: the loss mapped linearly from the colour range onto [0, half the slice's width], clamped to
//   the range, so two views given one setColorRange share both colour and height scales.
// - A grid still being refined (NaN at points not yet evaluated) is drawn with its holes filled as
//   fillUnevaluated (viz/GridFill.h) describes, bilinearly from the coarser level; the evaluated points
//   are marked as dots until the grid is complete, so the refinement is visible.
// - The trajectory's heights are the drawn surface's, interpolated bilinearly; points outside the slice
//   take the height at its edge.

#include <QColor>
#include <QImage>
#include <QOpenGLWidget>
#include <QString>

#include <memory>
#include <vector>

#include "analysis/LossSurface.h"

namespace samscape::viz {

using samscape::SliceGrid;

// A path drawn on the slice (in slice coordinates), in its colour, named in the view's legend
// (bottom left) when `label` is not empty.
struct LandscapePath {
  std::vector<double> xs;
  std::vector<double> ys;
  QColor color;
  QString label;
};

class LandscapeView : public QOpenGLWidget {
  Q_OBJECT

 public:
  enum class Mode { Surface, Contour };

  explicit LandscapeView(QWidget* parent = nullptr);
  ~LandscapeView() override;

  // Live updates: call again with the refined grid. A grid with no finite loss clears the surface.
  void setSurface(const SliceGrid& grid);
  void clearSurface();
  bool hasSurface() const;
  // Slice coordinates (the trajectory's PCA plane, or any points in the slice's plane).
  void setTrajectory(const std::vector<double>& xs, const std::vector<double>& ys);
  // Several paths at once (a pair's SGD and SAM paths on their plane), replacing the trajectory.
  void setPaths(const std::vector<LandscapePath>& paths);
  const std::vector<LandscapePath>& paths() const;
  // The shared colour (and height) scale. Without it, or after clearColorRange, the grid's own finite
  // range. Ignored unless both are finite and lossMin < lossMax.
  void setColorRange(double lossMin, double lossMax);
  void clearColorRange();
  void setMode(Mode mode);
  Mode mode() const;
  void setTitle(const QString& title);
  // Both ways: moving one camera moves the other (and each other linked view of the moved one).
  void linkCamera(LandscapeView* other);
  // Undoes linkCamera both ways (two views of one slice in different modes: a surface and a map).
  void unlinkCamera(LandscapeView* other);
  // The camera's angle around the vertical axis through the slice's centre, absolute (0: looking along
  // +y), at the default elevation of 30 degrees and the default distance. Linked views follow.
  void setAzimuth(double degrees);
  // Back to the default view of the current mode.
  void resetCamera();
  // Renders the current scene offscreen at width x height pixels (for PNG export at any resolution);
  // a null image when there is no OpenGL context (no display).
  QImage renderImage(int width, int height);
  // Writes the current grid as a VTK XML structured grid (the layout of analysis's slice.vts: points
  // (x, y, loss), point data "loss" and "accuracy"). Refuses an incomplete grid; `*error` names the path.
  bool exportVts(const QString& path, QString* error = nullptr);

  // The grid as last given, and the colour range in use (for legends and tests).
  const SliceGrid& grid() const;
  double colorMin() const;
  double colorMax() const;

 Q_SIGNALS:
  void cameraChanged();

 protected:
  void initializeGL() override;
  void resizeGL(int width, int height) override;
  void paintGL() override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;

 private:
  struct Impl;
  void copyCameraFrom(const LandscapeView& other);
  void releaseGraphics();
  std::unique_ptr<Impl> impl_;
};

}  // namespace samscape::viz
