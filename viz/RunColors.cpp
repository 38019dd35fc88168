#include "viz/RunColors.h"

#include <array>

namespace samscape::viz {

QColor runColor(std::int64_t runId) {
  // Tableau 10 (2016 version), in Tableau's own order.
  static constexpr std::array<QRgb, 10> palette = {0x4E79A7, 0xF28E2B, 0xE15759, 0x76B7B2, 0x59A14F,
                                                   0xEDC948, 0xB07AA1, 0xFF9DA7, 0x9C755F, 0xBAB0AC};
  const auto count = static_cast<std::int64_t>(palette.size());
  const auto index = static_cast<std::size_t>(((runId % count) + count) % count);  // ids may be negative
  return QColor::fromRgb(palette[index]);
}

}  // namespace samscape::viz
