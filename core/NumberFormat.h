#pragma once
// A number as samscape's messages and listings echo it: six significant digits, as a C++ stream
// prints a double by default ("0.05", "1e-10", "123457", "nan"), so that a value a user typed is
// recognisable in the message about it (std::to_string would print 1e-10 as 0.000000). Plain C++
// (library samscape_files).

#include <string>

namespace samscape {

std::string shortNumber(double value);

}  // namespace samscape
