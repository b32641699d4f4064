// KTAP v1 as printed by our guest tests, parsed one console line at a time.
//
// Only what starts a line counts: a top-level result is `ok N desc` or
// `not ok N desc`, optionally followed by `# DIRECTIVE reason`. Indented lines
// (KTAP subtests) are never trials. The description is a name followed by
// key=value fields:
//
//   not ok 2 trial events=5 bogus=5 toggles=400 reads=9000 ms=340 first_bogus_ms=340
//   not ok 4 trial # ERROR env: hugepages got 0 expected 32
//
// Lines handed to KtapParser must already be sanitized (see
// console_report.h: sanitize_line); the parser itself never allocates more
// than a bounded amount per line.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace rb::console {

// Pass/Fail are the only statuses that enter a failure rate. Skip covers
// SKIP, TODO and XFAIL; Error covers ERROR and TIMEOUT (infrastructure).
enum class TrialStatus { Pass, Fail, Skip, Error };
const char* to_string(TrialStatus s);

// The status a result line gets from ok/not ok and its directive ("" if
// none; case-insensitive; an unknown directive is a plain comment).
TrialStatus trial_status(bool ok, std::string_view directive);

struct Trial {
  static constexpr size_t kMaxName = 256;
  int number = 0;
  bool ok = false;
  TrialStatus status = TrialStatus::Error;
  std::string name;                           // "trial" (at most kMaxName bytes)
  std::map<std::string, std::string> fields;  // events=5 -> {"events","5"}
  std::string directive;                      // upper case: SKIP, TODO, XFAIL, TIMEOUT, ERROR; "" if none
  std::string reason;                         // text after the directive (the directive itself if none given)
  size_t line = 0;                            // 1-based console line

  bool has(const std::string& key) const { return fields.count(key) != 0; }
  std::string get(const std::string& key, const std::string& def = "") const;
  // A field as an integer (decimal, or 0x-prefixed hex); nullopt if absent,
  // malformed or out of range.
  std::optional<int64_t> int_field(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t def) const { return int_field(key).value_or(def); }
};

// Everything KTAP-level the console said. ConsoleReport extends this.
struct KtapReport {
  bool ktap_seen = false;            // a top-level "KTAP version N" (or "TAP version N") line
  std::optional<int> ktap_version;
  std::optional<int> plan;           // N from "1..N"
  std::string plan_skip_reason;      // "1..0 # SKIP usage: ..." -> "usage: ..."
  std::vector<Trial> trials;         // in console order, first of each number only
  int anomalies = 0;                 // duplicates, results before the test started, bad numbers, ...
  bool incomplete = false;           // the test started but not every planned result arrived (yet)
  int missing = 0;                   // planned results that did not arrive
  std::map<std::string, std::string> env;      // fields of "# env k=v ..."
  std::map<std::string, std::string> summary;  // fields of "# summary k=v ..."
  std::vector<std::string> diagnostics;        // every top-level "# ..." line, without "# " (bounded)
};

// key=value tokens of a space separated text; the first occurrence of a key
// wins. Tokens without '=' are ignored.
std::map<std::string, std::string> parse_fields(std::string_view text);

// A strict integer: optional sign, decimal or 0x hex, nothing else.
std::optional<int64_t> parse_int64(std::string_view s);

// One top-level result line (already sanitized). nullopt if the line is not
// shaped like a result. Kernel text glued onto the line ("... bo[   12.3] x")
// is cut off at the printk timestamp.
std::optional<Trial> parse_result_line(std::string_view line);

// Stateful line-by-line parser. The output lives outside so that a caller
// (ConsoleParser) can keep it inside a larger report.
class KtapParser {
 public:
  static constexpr size_t kMaxTrials = 65536;
  static constexpr size_t kMaxDiagnostics = 1024;

  // `line_no` is 1-based; `line` has no line terminator. `complete` is
  // false for a last line that never got its '\n' (the console was cut):
  // a result there counts only if its number is followed by a space, so a
  // cut "ok 1" of "ok 12 ..." is not taken for trial 1.
  void add_line(std::string_view line, size_t line_no, KtapReport& out, bool complete = true);
  // Results are only believed once the test has started: after a KTAP
  // header, a plan, or this call (our /init's "exec" marker).
  void start_test() { in_test_ = true; }

 private:
  void update_missing(KtapReport& out) const;
  bool in_test_ = false;
  std::set<int> numbers_;  // trial numbers seen
  int in_plan_ = 0;        // how many of them are within the plan
};

// One-shot convenience over whole text (splits on '\n', sanitizes).
KtapReport parse_ktap(std::string_view text);

}  // namespace rb::console
