#pragma once
// A thin RAII layer over the sqlite3 C API for RunStore (internal to core/store; no other module
// includes it). Errors become samscape::DataError naming the database file, except SQLITE_BUSY and
// SQLITE_LOCKED, which become BusyError so that RunStore can retry the whole transaction.

#include <cstdint>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace samscape::sqlite {

// Another connection holds the lock this statement needs; the transaction is retried, never shown.
struct BusyError {};

// Throws BusyError or DataError(databasePath, what + SQLite's message) unless `code` is OK/ROW/DONE.
void check(int code, sqlite3* db, const std::string& databasePath, const std::string& what);

// Runs SQL that returns no rows (several statements allowed).
void execute(sqlite3* db, const std::string& databasePath, const std::string& sql);

class Statement {
 public:
  Statement(sqlite3* db, const std::string& databasePath, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds the next parameter (1, 2, ... in the order of the calls).
  Statement& bind(std::int64_t value);
  Statement& bind(int value) { return bind(static_cast<std::int64_t>(value)); }
  Statement& bind(double value);
  Statement& bind(const std::string& value);
  Statement& bind(const char* value) { return bind(std::string(value)); }
  Statement& bind(const std::optional<double>& value);
  Statement& bind(const std::optional<int>& value);
  Statement& bindNull();

  // Advances to the next row: true while there is one.
  bool step();
  // Runs a statement that returns no rows.
  void run();

  bool isNull(int column) const;
  std::int64_t integer(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::optional<double> optionalReal(int column) const;
  std::optional<int> optionalInteger(int column) const;

 private:
  sqlite3* db_;
  std::string databasePath_;
  sqlite3_stmt* statement_ = nullptr;
  int nextParameter_ = 1;
};

}  // namespace samscape::sqlite
