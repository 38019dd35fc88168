#include "core/NumberFormat.h"

#include <sstream>

namespace samscape {

std::string shortNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace samscape
