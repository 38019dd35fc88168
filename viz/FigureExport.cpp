#include "viz/FigureExport.h"

#include <QBuffer>
#include <QCoreApplication>
#include <QFileInfo>
#include <QImage>
#include <QImageWriter>
#include <QLayout>
#include <QOpenGLWidget>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QWidget>

#include <algorithm>

namespace samscape::viz {

namespace {

bool fail(QString* error, const QString& message) {
  if (error) *error = message;
  return false;
}

// A widget that was never shown has no layout yet: give it a size and let its layout place the children
// (QWidget::render sends the pending resize events itself). A top-level widget that nobody resized
// already reports 640 x 480 but has never had a resize event, so a QChartView inside would draw its
// chart at 0 x 0: it gets an explicit size.
QSize prepareForRendering(QWidget* widget) {
  widget->ensurePolished();
  if (!widget->isVisible()) {
    if (!widget->testAttribute(Qt::WA_Resized)) {
      widget->resize(QSize(800, 500).expandedTo(widget->minimumSize()));
    } else if (widget->width() < 16 || widget->height() < 16) {
      widget->resize(widget->size().expandedTo(QSize(16, 16)));
    }
    if (widget->layout()) widget->layout()->activate();
  }
  // One throwaway rendering delivers the pending resize events (a QChartView sizes its chart in its
  // resizeEvent) and lets graphics scenes post their layout requests, handled next: without this a
  // chart that just got its size or new data is drawn with stale geometry (text elided to "...").
  QImage scratch(widget->size(), QImage::Format_ARGB32_Premultiplied);
  widget->render(&scratch, QPoint(), QRegion(), QWidget::DrawChildren);
  QCoreApplication::sendPostedEvents();
  return widget->size();
}

// QWidget::render does not draw what an OpenGL widget shows (its content lives in a framebuffer
// object composed by the backing store), so each visible OpenGL widget is drawn over its place from a
// grab of its framebuffer. A grab renders the widget afresh, which needs a display for VTK views.
void paintOpenGLWidgets(QWidget* root, QPainter& painter) {
  QList<QOpenGLWidget*> views = root->findChildren<QOpenGLWidget*>();
  if (auto* self = qobject_cast<QOpenGLWidget*>(root)) views.prepend(self);
  for (QOpenGLWidget* view : views) {
    if (view != root && !view->isVisibleTo(root)) continue;
    const QImage frame = view->grabFramebuffer();
    if (frame.isNull()) continue;
    const QPoint topLeft = view == root ? QPoint(0, 0) : view->mapTo(root, QPoint(0, 0));
    painter.drawImage(QRectF(topLeft, view->size()), frame);
  }
}

void paintWidget(QWidget* widget, QPainter& painter) {
  painter.fillRect(QRect(QPoint(0, 0), widget->size()), Qt::white);
  widget->render(&painter, QPoint(), QRegion(), QWidget::DrawChildren);
  paintOpenGLWidgets(widget, painter);
}

// Paints `widget` as a `suffix` figure into `buffer`.
bool renderFigure(QWidget* widget, const QString& suffix, const QString& path, QSize size, QBuffer& buffer,
                  QString* error) {
  if (suffix == QLatin1String("png")) {
    constexpr qreal ratio = 2.0;
    QImage image(size * ratio, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(ratio);
    image.fill(Qt::white);
    {
      QPainter painter(&image);
      painter.setRenderHint(QPainter::Antialiasing);
      paintWidget(widget, painter);
    }
    QImageWriter writer(&buffer, "png");
    if (!writer.write(image.convertToFormat(QImage::Format_RGB32))) {
      return fail(error, QStringLiteral("cannot write %1: %2").arg(path, writer.errorString()));
    }
  } else if (suffix == QLatin1String("svg")) {
    QSvgGenerator generator;
    generator.setOutputDevice(&buffer);
    // The widget's own resolution, so that point-sized fonts keep their on-screen size.
    generator.setResolution(widget->logicalDpiX());
    generator.setSize(size);
    generator.setViewBox(QRect(QPoint(0, 0), size));
    generator.setTitle(widget->windowTitle().isEmpty() ? QFileInfo(path).completeBaseName()
                                                       : widget->windowTitle());
    generator.setDescription(QStringLiteral("samscape figure"));
    QPainter painter;
    if (!painter.begin(&generator))
      return fail(error, QStringLiteral("cannot write %1: SVG painter failed").arg(path));
    paintWidget(widget, painter);
    painter.end();
  } else {
    QPdfWriter writer(&buffer);
    writer.setCreator(QStringLiteral("samscape"));
    writer.setTitle(QFileInfo(path).completeBaseName());
    const int dotsPerInch = widget->logicalDpiX();  // one widget pixel per PDF pixel, text as on screen
    writer.setResolution(dotsPerInch);
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    writer.setPageSize(
        QPageSize(QSizeF(size.width() * 72.0 / dotsPerInch, size.height() * 72.0 / dotsPerInch),
                  QPageSize::Point, QString(), QPageSize::ExactMatch));
    QPainter painter;
    if (!painter.begin(&writer))
      return fail(error, QStringLiteral("cannot write %1: PDF painter failed").arg(path));
    const qreal scale = std::min(writer.width() / qreal(std::max(1, size.width())),
                                 writer.height() / qreal(std::max(1, size.height())));
    painter.scale(scale, scale);
    paintWidget(widget, painter);
    painter.end();
  }
  return true;
}

}  // namespace

bool writeBinaryFile(const QString& path, const QByteArray& data, QString* error) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) {
    return fail(error, QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
  }
  if (file.write(data) != data.size() || !file.commit()) {
    return fail(error, QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
  }
  return true;
}

bool writeTextFile(const QString& path, const QString& text, QString* error) {
  return writeBinaryFile(path, text.toUtf8(), error);
}

bool exportWidget(QWidget* widget, const QString& path, QString* error) {
  if (!widget) return fail(error, QStringLiteral("cannot write %1: no view to export").arg(path));
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix != QLatin1String("png") && suffix != QLatin1String("svg") && suffix != QLatin1String("pdf")) {
    return fail(error,
                QStringLiteral("cannot write %1: unknown figure format '%2' (use .png, .svg or .pdf)")
                    .arg(path, suffix.isEmpty() ? QStringLiteral("(none)") : QStringLiteral(".") + suffix));
  }
  const QSize size = prepareForRendering(widget);
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  if (!renderFigure(widget, suffix, path, size, buffer, error)) return false;
  buffer.close();
  return writeBinaryFile(path, bytes, error);
}

}  // namespace samscape::viz
