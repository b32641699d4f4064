// One boot's serial console, parsed: racebisect-init markers, KTAP results,
// `# env` diagnostics and kernel crashes. The console is untrusted input:
// lines are cut at 4096 bytes, control bytes and ANSI escapes are dropped,
// and a result counts only when it starts a line.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "console/ktap.h"
#include "console/oops.h"

namespace rb::console {

struct ConsoleReport {
  bool init_started = false;
  std::optional<int> exit_status;        // "racebisect-init: exit status=N"
  std::vector<std::string> init_errors;  // "racebisect-init: error ..."
  bool ktap_seen = false;
  std::optional<int> plan;
  std::vector<Trial> trials;             // in console order, duplicates dropped
  int anomalies = 0;                     // duplicate or out-of-plan result numbers
  bool incomplete = false;               // fewer results than the plan promised
  int missing = 0;
  std::map<std::string, std::string> env;  // from "# env k=v ..."
  std::vector<Crash> crashes;
  size_t lines = 0;
  const Crash* primary() const { return crashes.empty() ? nullptr : &crashes.front(); }
};

class ConsoleParser {
 public:
  static constexpr size_t kMaxLine = 4096;
  // Feed bytes as they arrive; an unterminated last line waits for more.
  void feed(std::string_view chunk);
  // End of console: parse the last partial line and settle pending titles.
  void finish();
  const ConsoleReport& report() const { return report_; }

 private:
  void line(std::string_view l);
  void settle_pending(bool force);

  ConsoleReport report_;
  std::string partial_;
  bool overlong_ = false;  // dropping the rest of a line longer than kMaxLine
  bool in_escape_ = false;
  struct Pending {
    size_t index;       // into report_.crashes
    bool from_trace;
    bool in_trace = false;
    int lines_left = 60;
  };
  std::vector<Pending> pending_;
};

ConsoleReport parse_console(std::string_view text);
ConsoleReport parse_console_file(const std::string& path);  // reads at most 64 MiB (the tail)

}  // namespace rb::console
