// Progress of long work (builds, boots, trials) with counts and an ETA: a
// live line rewritten in place on a terminal, a plain line every `period`
// otherwise (CI logs). A ticker thread keeps it moving while nothing else
// happens (a five-minute kernel build), so silence always means a hang.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace rb::report {

struct ProgressState {
  std::string phase;  // "building unpatched (2/3)", "booting", ...
  int builds_done = 0, builds_total = 0;
  int boots_done = 0, boots_total = 0;  // boots_total 0: open-ended (sequential stop)
  int trials = 0, failures = 0;
  std::optional<double> eta_s;  // seconds left, when it can be estimated
};

// One line describing `st` after `elapsed` seconds (no trailing newline).
std::string progress_line(const ProgressState& st, double elapsed_s);

// Seconds left for `left` boots at the mean pace so far on `slots` slots.
std::optional<double> boots_eta(int done, int left, double boot_seconds_sum, int slots);

class ProgressMeter {
 public:
  // `tty`: rewrite one line in place; otherwise print a line every `period`.
  ProgressMeter(std::FILE* out, bool tty, std::chrono::seconds period = std::chrono::seconds(30));
  ~ProgressMeter();  // ends the live line
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  void update(const ProgressState& st);  // prints at once on a TTY, else waits for the period

 private:
  void tick();
  void print_locked(bool force);

  std::FILE* out_;
  bool tty_;
  std::chrono::seconds period_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_print_{};
  std::mutex mu_;
  std::condition_variable cv_;
  ProgressState st_;
  bool done_ = false;
  std::thread ticker_;
};

// A meter for the command line: a live line if stderr is a terminal.
ProgressMeter make_stderr_meter();

}  // namespace rb::report
