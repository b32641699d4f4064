// libFuzzer target: the console parser (console/console_report.h) under a
// guest contract. Input: byte 0 picks the contract (planned 1..16 or
// unknown; with or without a nonce), byte 1 the chunking; the rest is the
// console. Checks: no crash or sanitizer report; feeding the bytes in
// random chunks gives exactly the one-shot report; everything kept is
// bounded and clean (valid UTF-8, no control characters).
#include <cstdint>
#include <random>
#include <set>

#include "console/console_report.h"

namespace {

using namespace rb::console;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

bool clean(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
      ++i;
      continue;
    }
    const size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

void check_bounds(const ConsoleReport& r, const Contract& c) {
  const size_t max_trials = c.planned ? static_cast<size_t>(*c.planned) : KtapParser::kMaxTrials;
  require(r.trials.size() <= max_trials);
  int last = 0;
  for (const auto& t : r.trials) {
    require(t.number > last);
    last = t.number;
    if (r.plan) require(t.number <= *r.plan);
    require(t.line >= 1 && t.line <= r.lines);
    require(t.name.size() <= Trial::kMaxName && clean(t.name));
    require(t.reason.size() <= Trial::kMaxReason && clean(t.reason));
    require(t.fields.size() <= Trial::kMaxFields);
    for (const auto& [k, v] : t.fields) require(k.size() <= Trial::kMaxKey && v.size() <= Trial::kMaxValue && clean(k + v));
  }
  require(r.violations.size() <= kMaxViolations && static_cast<int>(r.violations.size()) <= r.violation_count);
  require(r.init_errors.size() <= kMaxInitErrors);
  for (const auto& e : r.init_errors) require(e.size() <= kMaxInitError && clean(e));
  require(r.diagnostics.size() <= KtapParser::kMaxDiagnostics);
  for (const auto& d : r.diagnostics) require(d.size() <= KtapParser::kMaxDiagnostic && clean(d));
  require(r.env.size() <= KtapParser::kMaxEnvFields && r.summary.size() <= KtapParser::kMaxEnvFields);
  require(r.crashes.size() <= CrashDetector::kMaxCrashes);
  for (const auto& cr : r.crashes) require(cr.title.size() <= CrashDetector::kMaxTitle && clean(cr.title));
  require(r.missing >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Contract c;
  if (data[0] & 0x80) c.nonce = "feedc0de12345678";
  if (data[0] & 0x0f) c.planned = data[0] & 0x0f;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  const ConsoleReport whole = parse_console(text, c);
  check_bounds(whole, c);

  std::minstd_rand rng(data[1]);
  const size_t max_chunk = 1 + data[1] % 97;
  ConsoleParser chunked(c);
  for (size_t at = 0; at < text.size();) {
    const size_t n = std::min<size_t>(1 + rng() % max_chunk, text.size() - at);
    chunked.feed(text.substr(at, n));
    at += n;
  }
  chunked.finish();
  require(chunked.report() == whole);
  return 0;
}
