#pragma once
// The window's pages, in tab order: a new page is its own file plus one line in pageList()
// (PageList.cpp).

#include <QString>

#include <functional>
#include <memory>
#include <vector>

#include "gui/Page.h"

namespace samscape::gui {

struct PageEntry {
  QString title;  // the tab's
  // With --screenshot FILE the page is also saved beside the grab as FILE's name + this suffix
  // (e.g. "-curves.png"); empty: it is not.
  QString screenshotSuffix;
  // Builds the page's widget as a child of `parent`.
  std::function<std::unique_ptr<Page>(const PageContext& context, QWidget* parent)> create;
};

const std::vector<PageEntry>& pageList();

}  // namespace samscape::gui
