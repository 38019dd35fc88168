#pragma once
// One exception family for the whole project: every error carries a message a user can act on
// (the file, flag or value at fault and what is wrong with it). The CLI prints it on one line and
// exits with code 2; the GUI shows it in the run's row.

#include <stdexcept>
#include <string>

namespace samscape {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `text` with its control characters escaped (\n, \0, \x1b, ...): a value quoted in a message stays one
// line, and a NUL in a file's value cannot cut the message short.
inline std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

// A data file or directory that cannot be read as the dataset it claims to be.
class DataError : public Error {
 public:
  DataError(const std::string& path, const std::string& problem)
      : Error(path + ": " + printable(problem)), path_(path), problem_(problem) {}
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

// A configuration value (flag or config-file key) that is invalid.
class ConfigError : public Error {
 public:
  ConfigError(const std::string& flag, const std::string& value, const std::string& problem)
      : Error(printable(flag) + ": invalid value '" + printable(value) + "': " + printable(problem)),
        flag_(flag),
        problem_(problem) {}
  const std::string& flag() const { return flag_; }
  // What is wrong, without the flag and the value (to restate it for another source, e.g. a file).
  const std::string& problem() const { return problem_; }

 private:
  std::string flag_;
  std::string problem_;
};

// A model (built-in or TorchScript file) that cannot be built, loaded or run on the data.
class ModelError : public Error {
 public:
  using Error::Error;
};

// A multi-process job that cannot go on: the rendezvous failed, or another rank died, hung past the
// timeout or disagreed. Not the user's flags' fault, so the CLI gives it its own exit code.
class DistributedError : public Error {
 public:
  using Error::Error;
};

}  // namespace samscape
