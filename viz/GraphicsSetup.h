#pragma once
// OpenGL set-up that must happen before the QApplication exists.

namespace samscape::viz {

// Sets the default QSurfaceFormat to an OpenGL 3.2 core profile context with depth, stencil and alpha
// buffers. VTK's OpenGL2 backend needs at least 3.2 core; Mesa hands out a 2.1 compatibility context
// otherwise and every LandscapeView stays black. Call it first thing in main(), before QApplication.
void setDefaultSurfaceFormat();

}  // namespace samscape::viz
