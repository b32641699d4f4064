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
// console_report.h: sanitize_line). Everything kept is bounded: trials by the
// count the host asked for (or kMaxTrials), fields per trial, key, value,
// name and reason lengths, so a console full of result lines with hundreds of
// fields costs kilobytes, not gigabytes.
//
// Numbering is strict: results must be numbered 1.. in increasing order,
// within the plan and within the count the host asked for. A result that
// breaks this is not kept and is recorded as a contract violation (KTAP
// requires the numbering; a test that breaks it is not trusted).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
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
  static constexpr size_t kMaxName = 64;      // bytes
  static constexpr size_t kMaxFields = 16;    // key=value fields kept per result
  static constexpr size_t kMaxKey = 32;       // longer keys are dropped
  static constexpr size_t kMaxValue = 64;     // longer values are dropped
  static constexpr size_t kMaxReason = 256;   // bytes, cut
  int number = 0;
  bool ok = false;
  TrialStatus status = TrialStatus::Error;
  std::string name;                           // "trial" (at most kMaxName bytes)
  std::map<std::string, std::string> fields;  // events=5 -> {"events","5"} (bounded, see above)
  std::string directive;                      // upper case: SKIP, TODO, XFAIL, TIMEOUT, ERROR; "" if none
  std::string reason;                         // text after the directive (the directive itself if none given)
  size_t line = 0;                            // 1-based console line

  bool has(const std::string& key) const { return fields.count(key) != 0; }
  std::string get(const std::string& key, const std::string& def = "") const;
  // A field as an integer (decimal, or 0x-prefixed hex); nullopt if absent,
  // malformed or out of range.
  std::optional<int64_t> int_field(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t def) const { return int_field(key).value_or(def); }
  bool operator==(const Trial&) const = default;
};

// Everything KTAP-level the console said. ConsoleReport extends this.
struct KtapReport {
  bool ktap_seen = false;            // a top-level "KTAP version N" (or "TAP version N") line
  std::optional<int> ktap_version;
  std::optional<int> plan;           // N from "1..N"
  std::string plan_skip_reason;      // "1..0 # SKIP usage: ..." -> "usage: ..."
  std::vector<Trial> trials;         // accepted results, numbers strictly increasing
  int anomalies = 0;                 // harmless oddities: results outside the test, unparsable result lines, ...
  // Broken contract ("line 12: result 5 beyond the 4 trials requested"):
  // the first kMaxViolations messages, and how many there were in all.
  std::vector<std::string> violations;
  int violation_count = 0;
  bool incomplete = false;           // the test started but not every planned result arrived (yet)
  int missing = 0;                   // planned results that did not arrive
  std::map<std::string, std::string> env;      // fields of "# env k=v ..."
  std::map<std::string, std::string> summary;  // fields of "# summary k=v ..."
  std::vector<std::string> diagnostics;        // every top-level "# ..." line, without "# " (bounded)
  bool operator==(const KtapReport&) const = default;
};

constexpr size_t kMaxViolations = 16;
// Records a contract violation at a console line (bounded).
void add_violation(KtapReport& out, size_t line_no, std::string_view what);

// key=value tokens of a space separated text; the first occurrence of a key
// wins. Tokens without '=' are ignored; at most `max_fields` are kept and
// keys/values longer than Trial::kMaxKey/kMaxValue are dropped.
std::map<std::string, std::string> parse_fields(std::string_view text, size_t max_fields = Trial::kMaxFields);

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
  static constexpr size_t kMaxTrials = 10000;       // when the host did not say how many it asked for
  static constexpr size_t kMaxDiagnostics = 256;
  static constexpr size_t kMaxDiagnostic = 512;     // bytes per diagnostic line kept
  static constexpr size_t kMaxEnvFields = 32;

  KtapParser() = default;
  // `planned`: how many trials the host asked for. A plan other than that,
  // and any result numbered beyond it, is a contract violation.
  explicit KtapParser(std::optional<int> planned) : planned_(planned) {}

  // `line_no` is 1-based; `line` has no line terminator. `complete` is
  // false for a last line that never got its '\n' (the console was cut):
  // a result there counts only if its number is followed by a space, so a
  // cut "ok 1" of "ok 12 ..." is not taken for trial 1.
  void add_line(std::string_view line, size_t line_no, KtapReport& out, bool complete = true);
  // Results are only believed once the test has started: after a KTAP
  // header, a plan, or this call (our /init's "exec" marker). ConsoleParser
  // hands lines over only between /init's exec and exit markers.
  void start_test() { in_test_ = true; }

 private:
  void update_missing(KtapReport& out) const;
  void header(std::string_view line, size_t line_no, KtapReport& out);
  bool plan(std::string_view line, size_t line_no, KtapReport& out);
  void result(std::string_view line, size_t line_no, KtapReport& out, bool complete);
  void diagnostic(std::string_view line, KtapReport& out);
  size_t max_trials() const;

  std::optional<int> planned_;
  bool in_test_ = false;
  int last_ = 0;    // number of the last accepted result
  int in_plan_ = 0; // accepted results within the plan
};

// One-shot convenience over whole text (splits on '\n', sanitizes).
KtapReport parse_ktap(std::string_view text);

}  // namespace rb::console
