// SQLite helpers shared by the store's two databases (store.cc: sessions and
// evidence; history.cc: nights): errors that name the database file, and an
// RAII statement with positional binding.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "util/error.h"

namespace rb::store::sqlite {

// Every error names the database file: there may be several (--db).
inline Error db_error(sqlite3* db, const std::string& what) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  return infra_error("database " + std::string(file && *file ? file : "?") + ": " + what + ": " +
                     (db ? sqlite3_errmsg(db) : "out of memory"));
}

// Runs SQL without results; an error names the file and the statement's verb.
inline void exec(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    throw db_error(db, sql.substr(0, sql.find_first_of("(\n")));
}

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) throw db_error(db, "prepare");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw db_error(sqlite3_db_handle(s_), "step");
  }
  int64_t i64(int c) { return sqlite3_column_int64(s_, c); }
  int i32(int c) { return sqlite3_column_int(s_, c); }
  double f64(int c) { return sqlite3_column_double(s_, c); }
  std::string text(int c) {
    auto p = sqlite3_column_text(s_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, c)) : "";
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace rb::store::sqlite
