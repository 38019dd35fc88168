#include "gui/PageSubtitle.h"

#include <QLabel>
#include <QPalette>

namespace samscape::gui {

QLabel* makePageSubtitle(const QString& text, QWidget* page) {
  auto* label = new QLabel(text, page);
  label->setObjectName(kPageSubtitleName);
  label->setWordWrap(true);
  // Grey: it explains the page, the page's own controls and figures come first.
  QPalette palette = label->palette();
  palette.setColor(QPalette::WindowText, QColor(0x60, 0x60, 0x60));
  label->setPalette(palette);
  return label;
}

}  // namespace samscape::gui
