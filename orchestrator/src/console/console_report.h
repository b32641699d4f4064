// One boot's serial console, parsed: racebisect-init markers, KTAP results
// (ktap.h), `# env` diagnostics and kernel crash reports (oops.h).
//
// The console is untrusted input. Lines are cut at kMaxLine bytes (the rest
// of an over-long line is dropped), ANSI escape sequences and control bytes
// other than \t are removed (so \r\n endings and NULs vanish), bytes that are
// not valid UTF-8 become '?', and a result counts only when it starts a line.
// Nothing in the input can make the parser throw or grow without bound.
//
// The guest contract (docs/ARCHITECTURE.md, "The guest contract"):
// /init's markers count only when they start a line with this boot's nonce,
// "racebisect-init <nonce>: start|exec ...|exit status=N|error ...", and the
// test's KTAP output counts only between the exec and the exit markers. Any
// other line starting with "racebisect-init" is a forged marker: a contract
// violation. KTAP numbering rules are in ktap.h.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "console/ktap.h"
#include "console/oops.h"

namespace rb::console {

// What the host asked of this boot, as put on the kernel command line.
struct Contract {
  std::string nonce;           // rb.nonce=...; "" = markers carry no nonce ("racebisect-init: ...")
  std::optional<int> planned;  // trials requested (rb.args trials=N; 0 for rb.test=none); nullopt = unknown
};

// KTAP fields (ktap_seen, plan, trials, anomalies, violations, incomplete,
// missing, env, ...) come from KtapReport; the rest is init markers and crashes.
struct ConsoleReport : KtapReport {
  bool init_started = false;              // "racebisect-init <nonce>: start"
  bool test_started = false;              // "racebisect-init <nonce>: exec ..."
  std::optional<int> exit_status;         // "racebisect-init <nonce>: exit status=N"
  std::vector<std::string> init_errors;   // "racebisect-init <nonce>: error <text>" -> "<text>" (bounded)
  std::vector<Crash> crashes;             // in console order
  size_t lines = 0;                       // lines parsed (an unterminated last one only after finish())
  size_t truncated_lines = 0;             // lines longer than kMaxLine, cut
  bool unterminated = false;              // finish() found a last line without '\n' (the console was cut)

  // The first crash, or nullptr.
  const Crash* primary() const { return crashes.empty() ? nullptr : &crashes.front(); }
  bool operator==(const ConsoleReport&) const = default;
};

constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxInitErrors = 32;
constexpr size_t kMaxInitError = 512;  // bytes per init error kept
// What is read of a console file, and where the VM is stopped (BootSpec).
constexpr size_t kMaxConsoleFile = size_t{64} << 20;
constexpr std::string_view kMarker = "racebisect-init";

// One raw console line (no '\n') made safe: at most kMaxLine input bytes
// are looked at; ANSI CSI/OSC sequences and other ESC sequences, C0/C1
// control characters except \t and DEL are dropped; invalid UTF-8 bytes
// become '?'.
std::string sanitize_line(std::string_view raw);

// Incremental parser for a console that is still being written: feed()
// whatever bytes arrived; only complete lines are parsed, so a half-written
// line is never misread. finish() parses the unterminated last line, if any.
// Any split of the same bytes into chunks gives the same report.
class ConsoleParser {
 public:
  static constexpr size_t kMaxLine = console::kMaxLine;

  ConsoleParser() : ConsoleParser(Contract{}) {}
  explicit ConsoleParser(Contract contract);

  void feed(std::string_view chunk);
  void finish();
  const ConsoleReport& report() const { return report_; }

 private:
  void line(std::string_view raw, bool complete = true);
  void marker(std::string_view line, size_t line_no);
  bool in_test() const { return report_.test_started && !report_.exit_status; }

  std::string prefix_;      // "racebisect-init <nonce>: "
  ConsoleReport report_;
  std::string partial_;     // the current line so far, at most kMaxLine bytes
  bool overlong_ = false;   // the current line passed kMaxLine; dropping the rest
  KtapParser ktap_;
  CrashDetector crash_;
};

// feed(text) + finish().
ConsoleReport parse_console(std::string_view text, const Contract& contract = {});
// Parses a console file from its start, at most `max_bytes` of it (never its
// tail: the markers are at the start, and a guest must not be able to push
// them out by printing more). Streams through a fixed buffer. Throws
// rb::Error (infrastructure) if the file cannot be read.
ConsoleReport parse_console_file(const std::string& path, const Contract& contract = {},
                                 size_t max_bytes = kMaxConsoleFile);

}  // namespace rb::console
