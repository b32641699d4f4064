// Errors that carry an exit-code class, so the CLI can tell bad input from an
// infrastructure failure without string matching.
#pragma once
#include <stdexcept>
#include <string>

namespace rb {

enum class ErrorKind {
  Usage,           // the user asked for something invalid (bad option, missing file)
  Infrastructure,  // the machinery failed (build failed, QEMU missing, disk full)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

inline Error usage_error(const std::string& what) { return Error(ErrorKind::Usage, what); }
inline Error infra_error(const std::string& what) { return Error(ErrorKind::Infrastructure, what); }

// A wait ended because a stop was requested (Ctrl-C, SIGTERM, SIGHUP). Not an
// rb::Error on purpose: code that catches rb::Error to record "this build
// failed" must not record an interruption as a property of the commit; it
// reaches cli/main.cc, which exits 128+signal.
class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline Interrupted interrupted_error(const std::string& what) { return Interrupted(what); }

}  // namespace rb
