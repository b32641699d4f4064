// The racebisect binary an e2e table runs: the one built beside the tests
// (RB_BINARY, defined for the e2e target only), or RB_E2E_BINARY to run the
// same table against another build (how each row was shown to fail on the
// binary from before a fix).
#pragma once
#include <cstdlib>
#include <string>

namespace rb::testing {

inline std::string e2e_binary() {
  const char* other = std::getenv("RB_E2E_BINARY");
  return other && *other ? other : RB_BINARY;
}

}  // namespace rb::testing
