#include "core/store/SqliteDatabase.h"

#include <sqlite3.h>

#include "core/Error.h"

namespace samscape::sqlite {

void check(int code, sqlite3* db, const std::string& databasePath, const std::string& what) {
  const int primary = code & 0xff;
  if (primary == SQLITE_OK || primary == SQLITE_ROW || primary == SQLITE_DONE) return;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw BusyError{};
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  throw DataError(databasePath, what + ": " + detail);
}

void execute(sqlite3* db, const std::string& databasePath, const std::string& sql) {
  char* message = nullptr;
  const int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string detail = message != nullptr ? message : "";
  sqlite3_free(message);
  const int primary = code & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw BusyError{};
  if (code != SQLITE_OK) throw DataError(databasePath, "cannot run \"" + sql.substr(0, 60) + "\": " + detail);
}

Statement::Statement(sqlite3* db, const std::string& databasePath, const std::string& sql)
    : db_(db), databasePath_(databasePath) {
  check(sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &statement_, nullptr), db,
        databasePath, "cannot prepare \"" + sql.substr(0, 60) + "\"");
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement& Statement::bind(std::int64_t value) {
  check(sqlite3_bind_int64(statement_, nextParameter_++, value), db_, databasePath_, "bind");
  return *this;
}

Statement& Statement::bind(double value) {
  check(sqlite3_bind_double(statement_, nextParameter_++, value), db_, databasePath_, "bind");
  return *this;
}

Statement& Statement::bind(const std::string& value) {
  check(sqlite3_bind_text(statement_, nextParameter_++, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT),
        db_, databasePath_, "bind");
  return *this;
}

Statement& Statement::bind(const std::optional<double>& value) { return value ? bind(*value) : bindNull(); }

Statement& Statement::bind(const std::optional<int>& value) {
  return value ? bind(static_cast<std::int64_t>(*value)) : bindNull();
}

Statement& Statement::bindNull() {
  check(sqlite3_bind_null(statement_, nextParameter_++), db_, databasePath_, "bind");
  return *this;
}

bool Statement::step() {
  const int code = sqlite3_step(statement_);
  check(code, db_, databasePath_, "query failed");
  return code == SQLITE_ROW;
}

void Statement::run() {
  while (step()) {
  }
}

bool Statement::isNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(statement_, column); }

double Statement::real(int column) const { return sqlite3_column_double(statement_, column); }

std::string Statement::text(int column) const {
  const auto* characters = sqlite3_column_text(statement_, column);
  if (characters == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(characters),
                     static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

std::optional<double> Statement::optionalReal(int column) const {
  if (isNull(column)) return std::nullopt;
  return real(column);
}

std::optional<int> Statement::optionalInteger(int column) const {
  if (isNull(column)) return std::nullopt;
  return static_cast<int>(integer(column));
}

}  // namespace samscape::sqlite
