#include "report/progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace rb::report {

namespace {

std::string clock(double s) {
  const long t = static_cast<long>(s + 0.5);
  return t >= 3600 ? fmt::format("{}h{:02}m", t / 3600, t / 60 % 60) : fmt::format("{}m{:02}s", t / 60, t % 60);
}

}  // namespace

std::string progress_line(const ProgressState& st, double elapsed_s) {
  std::string s = fmt::format("[{}] {}", clock(elapsed_s), st.phase);
  if (st.builds_total) s += fmt::format(" | builds {}/{}", st.builds_done, st.builds_total);
  if (st.boots_total) s += fmt::format(" | boots {}/{}", st.boots_done, st.boots_total);
  else if (st.boots_done) s += fmt::format(" | boots {}", st.boots_done);
  if (st.trials) s += fmt::format(" | trials {} ({} failed)", st.trials, st.failures);
  if (st.eta_s) s += " | ETA " + clock(*st.eta_s);
  return s;
}

std::optional<double> boots_eta(int done, int left, double boot_seconds_sum, int slots) {
  if (done <= 0 || left < 0 || slots <= 0) return std::nullopt;
  const int waves = (left + slots - 1) / slots;
  return boot_seconds_sum / done * waves;
}

ProgressMeter::ProgressMeter(std::FILE* out, bool tty, std::chrono::seconds period)
    : out_(out), tty_(tty), period_(period), ticker_([this] { tick(); }) {}

ProgressMeter::~ProgressMeter() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  ticker_.join();
  if (tty_ && last_print_ != std::chrono::steady_clock::time_point{}) std::fputs("\n", out_);
}

void ProgressMeter::update(const ProgressState& st) {
  std::lock_guard lock(mu_);
  st_ = st;
  print_locked(tty_);
}

void ProgressMeter::tick() {
  std::unique_lock lock(mu_);
  const auto step = tty_ ? std::chrono::seconds(1) : period_;
  while (!cv_.wait_for(lock, step, [this] { return done_; })) print_locked(false);
}

void ProgressMeter::print_locked(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (st_.phase.empty()) return;
  if (!force && !tty_ && now - last_print_ < period_) return;
  const std::string line = progress_line(st_, std::chrono::duration<double>(now - start_).count());
  if (tty_) std::fputs(("\r\033[K" + line).c_str(), out_);
  else std::fputs((line + "\n").c_str(), out_);
  std::fflush(out_);
  last_print_ = now;
}

ProgressMeter make_stderr_meter() { return ProgressMeter(stderr, ::isatty(STDERR_FILENO) == 1); }

}  // namespace rb::report
