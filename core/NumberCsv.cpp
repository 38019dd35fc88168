#include "core/NumberCsv.h"

#include <cctype>
#include <cstdlib>
#include <fstream>

#include "core/Error.h"

namespace samscape {

NumberCsv readNumberCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "cannot open the file");
  std::string line;
  if (!std::getline(in, line)) throw DataError(path, "empty: no header line");
  NumberCsv csv;
  for (std::size_t start = 0;;) {
    const std::size_t comma = line.find(',', start);
    csv.columns.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (std::size_t lineNumber = 2; std::getline(in, line); ++lineNumber) {
    if (line.empty()) continue;
    std::vector<double> row;
    for (std::size_t start = 0;;) {
      const std::size_t comma = line.find(',', start);
      const std::string field = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      // strtod, not stod: no exception, and nan/inf as the writers write them.
      char* end = nullptr;
      const double value = field.empty() || std::isspace(static_cast<unsigned char>(field[0]))
                               ? 0.0
                               : std::strtod(field.c_str(), &end);
      if (end == nullptr || *end != '\0') {
        throw DataError(path, "line " + std::to_string(lineNumber) + ": \"" + field + "\" is not a number");
      }
      row.push_back(value);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (row.size() != csv.columns.size()) {
      throw DataError(path, "line " + std::to_string(lineNumber) + ": " + std::to_string(row.size()) +
                                " fields, the header has " + std::to_string(csv.columns.size()));
    }
    csv.rows.push_back(std::move(row));
    csv.lineNumbers.push_back(lineNumber);
  }
  return csv;
}

}  // namespace samscape
