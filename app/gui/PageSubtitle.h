#pragma once
// The line under a page's tab that says what the page shows and how to read it: the first thing a
// newcomer reads there. Every page makes it here, so that all look alike and a test finds each by its
// object name.

#include <QString>

class QLabel;
class QWidget;

namespace samscape::gui {

inline constexpr const char* kPageSubtitleName = "page-subtitle";

// A grey, word-wrapped label named kPageSubtitleName, for the top of `page`'s layout.
QLabel* makePageSubtitle(const QString& text, QWidget* page);

}  // namespace samscape::gui
