// libFuzzer target: the strict case loader (run/case.h). Any input must
// either load or be refused with rb::Error(Usage); any other exception,
// crash or sanitizer report is a bug. A loaded case must satisfy what the
// loader promises (names, labels and arguments valid, labels unique).
#include <cstdint>
#include <set>

#include "run/case.h"
#include "util/error.h"
#include "util/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rb::run::Case c;
  try {
    c = rb::run::load_case_text(text, "/k/cases/fuzz.toml");
  } catch (const rb::Error& e) {
    if (e.kind() != rb::ErrorKind::Usage) __builtin_trap();
    return 0;
  }
  // What was accepted must pass the same checks again.
  rb::validate::case_name(c.name);
  rb::validate::guest_test(c.guest_test);
  std::set<std::string> labels;
  for (const auto* list : {&c.kernels, &c.extra_kernels})
    for (const auto& k : *list) {
      rb::validate::label(k.label);
      if (!labels.insert(k.label).second) __builtin_trap();
      for (const auto& [key, v] : k.args) rb::validate::guest_arg(key, v);
    }
  for (const auto& [key, v] : c.args) rb::validate::guest_arg(key, v);
  if (c.kernels.empty() || c.trials < 1 || c.trials > rb::validate::kMaxTrialsPerBoot) __builtin_trap();
  return 0;
}
