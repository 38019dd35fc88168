#pragma once
// Writing figures and text files for papers. Every function writes through QSaveFile: a failed or
// interrupted export leaves any previous file untouched, never a truncated one.

#include <QString>

class QWidget;

namespace samscape::viz {

// Renders `widget` (and its children) into `path`, the format chosen by the extension, case-insensitive:
//   .png  raster at twice the widget's size (device pixel ratio 2), opaque white background
//   .svg  vector (QSvgGenerator); Qt Charts stay vector, OpenGL views (LandscapeView) are embedded as
//         images of their current frame
//   .pdf  one page the size of the widget (QPdfWriter), same content as the SVG
// A widget that was never shown is laid out first, at the size given to it with resize() or else at
// 800 x 500, so figures can be made without a display (QT_QPA_PLATFORM=offscreen) for everything except
// OpenGL views.
// Returns false and sets `*error` (naming the path) on an unknown extension or a failed write.
bool exportWidget(QWidget* widget, const QString& path, QString* error = nullptr);

// Writes `text` as UTF-8, atomically. Returns false and sets `*error` (naming the path) on failure.
bool writeTextFile(const QString& path, const QString& text, QString* error = nullptr);

// Writes `data` atomically (used for PNG and the other binary figure formats).
bool writeBinaryFile(const QString& path, const QByteArray& data, QString* error = nullptr);

}  // namespace samscape::viz
