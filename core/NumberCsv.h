#pragma once
// Reading back the CSV files samscape writes: a header line, then rows of numbers (nan and inf
// included), comma-separated, every row as wide as the header. metrics.csv and the analysis files'
// readers check the columns they expect on top of this. Plain C++ (library samscape_files).

#include <cstddef>
#include <string>
#include <vector>

namespace samscape {

struct NumberCsv {
  std::vector<std::string> columns;         // the header's names
  std::vector<std::vector<double>> rows;
  std::vector<std::size_t> lineNumbers;     // each row's line in the file (1 is the header)
};

// Throws DataError naming the file (and the line) when it cannot be opened, is empty, or has a field
// that is not a number or a row of another width than the header. Empty lines are skipped.
NumberCsv readNumberCsv(const std::string& path);

}  // namespace samscape
