// Errors that carry an exit-code class, so the CLI can tell bad input from an
// infrastructure failure without string matching.
#pragma once
#include <stdexcept>
#include <string>

namespace rb {

enum class ErrorKind {
  Usage,           // the user asked for something invalid (bad option, missing file)
  Infrastructure,  // the machinery failed (build failed, QEMU missing, disk full)
  Interrupted,     // a stop was requested (Ctrl-C, SIGTERM, SIGHUP) while waiting
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
inline Error interrupted_error(const std::string& what) { return Error(ErrorKind::Interrupted, what); }

}  // namespace rb
