// Sets an environment variable for one test and restores it afterwards
// (stand-ins such as testdata/fakes/make read their mode from the
// environment they inherit).
#pragma once
#include <cstdlib>
#include <optional>
#include <string>

namespace rb::testing {

class ScopedEnv {
 public:
  ScopedEnv(const char* k, const std::string& v) : k_(k) {
    if (const char* old = std::getenv(k)) old_ = old;
    ::setenv(k, v.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(k_, old_->c_str(), 1);
    else ::unsetenv(k_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* k_;
  std::optional<std::string> old_;
};

}  // namespace rb::testing
