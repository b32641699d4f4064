#include "console/console_report.h"

#include <fstream>
#include <set>

namespace rb::console {

namespace {

// Scheduler and wait frames say nothing about where a task is stuck.
bool boring_frame(const std::string& f) {
  static const std::set<std::string> skip = {
      "__schedule", "schedule", "schedule_timeout", "schedule_preempt_disabled", "io_schedule",
      "__mutex_lock", "mutex_lock", "rwsem_down_read_slowpath", "rwsem_down_write_slowpath", "down_read",
      "down_write", "wait_for_completion", "__wait_for_common", "do_wait_for_common", "__flush_work",
      "__x64_sys_futex", "futex_wait", "__do_sys", "__down_read_common", "__down_write_common",
      "__rwsem_down_read_slowpath", "bit_wait", "out_of_line_wait_on_bit", "__wait_on_bit", "show_stack",
      "dump_stack_lvl", "dump_stack", "sched_show_task", "__switch_to_asm", "__switch_to", "context_switch"};
  return skip.count(f) > 0 || f.starts_with("entry_SYSCALL") || f.starts_with("do_syscall");
}

}  // namespace

void ConsoleParser::feed(std::string_view chunk) {
  for (char ch : chunk) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (in_escape_) {  // ANSI CSI: ESC [ params final-byte
      if ((c >= '@' && c <= '~' && c != '[') || c == '\n') in_escape_ = false;
      if (c != '\n') continue;
    }
    if (c == 0x1b) {
      in_escape_ = true;
      continue;
    }
    if (c == '\n') {
      if (!overlong_ || !partial_.empty()) line(partial_);
      partial_.clear();
      overlong_ = false;
      continue;
    }
    if (c == '\r' || c == 0 || (c < 0x20 && c != '\t') || c == 0x7f) continue;
    if (partial_.size() >= kMaxLine) {
      overlong_ = true;  // keep the first kMaxLine bytes, drop the rest
      continue;
    }
    partial_ += static_cast<char>(c);
  }
}

void ConsoleParser::finish() {
  if (!partial_.empty()) line(partial_);
  partial_.clear();
  settle_pending(true);
  if (report_.plan && static_cast<int>(report_.trials.size()) < *report_.plan) {
    report_.incomplete = true;
    report_.missing = *report_.plan - static_cast<int>(report_.trials.size());
  }
}

void ConsoleParser::settle_pending(bool force) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (force || it->lines_left <= 0) it = pending_.erase(it);
    else ++it;
  }
}

void ConsoleParser::line(std::string_view l) {
  ++report_.lines;
  // Titles waiting for their function: RIP line (oops-like) or the first
  // interesting call-trace frame (hung tasks).
  for (auto& p : pending_) {
    --p.lines_left;
    Crash& c = report_.crashes[p.index];
    std::string func;
    if (!p.from_trace) {
      func = rip_function(l);
    } else {
      std::string_view s = strip_timestamp(l);
      if (s.find("Call Trace:") != std::string_view::npos) p.in_trace = true;
      else if (p.in_trace) {
        std::string f = frame_function(s);
        if (!f.empty() && !boring_frame(f)) func = f;
      }
    }
    if (!func.empty()) {
      c.title = c.title == "INFO: task hung" ? "INFO: task hung in " + func
                : c.title == "WARNING in"     ? "WARNING in " + func
                                              : c.title + " in " + func;
      p.lines_left = 0;
    }
  }
  settle_pending(false);

  if (l.starts_with("racebisect-init: ")) {
    std::string_view rest = l.substr(17);
    if (rest == "start") report_.init_started = true;
    else if (rest.starts_with("exit status=")) {
      try {
        report_.exit_status = std::stoi(std::string(rest.substr(12, 4)));
      } catch (...) {
        ++report_.anomalies;
      }
    } else if (rest.starts_with("error ")) {
      report_.init_errors.emplace_back(rest.substr(6, 300));
    }
    return;
  }
  if (l.starts_with("KTAP version ")) {
    report_.ktap_seen = true;
    return;
  }
  if (auto t = parse_result_line(l)) {
    for (const auto& existing : report_.trials)
      if (existing.number == t->number) {
        ++report_.anomalies;
        return;
      }
    if (report_.plan && t->number > *report_.plan) ++report_.anomalies;
    report_.trials.push_back(std::move(*t));
    return;
  }
  if (auto n = parse_plan_line(l)) {
    if (!report_.plan) report_.plan = *n;
    return;
  }
  if (l.starts_with("# env ")) {
    for (auto& [k, v] : parse_fields(l.substr(6))) report_.env[k] = v;
    return;
  }
  if (auto sig = match_signature(l)) {
    // A panic right after an oops/BUG/WARNING is its ending ("Fatal
    // exception", panic_on_warn), not a second crash.
    if ((sig->kind == CrashKind::Panic || sig->kind == CrashKind::BootPanic) && !report_.crashes.empty()) return;
    // "Oops:" following a BUG: line within a few lines is the same report.
    if (sig->kind == CrashKind::Oops && !report_.crashes.empty() && report_.lines - report_.crashes.back().line < 10)
      return;
    if (report_.crashes.size() >= 64) return;  // a storm: the first ones say enough
    report_.crashes.push_back({sig->kind, sig->title, report_.lines});
    if (sig->needs_function) pending_.push_back({report_.crashes.size() - 1, sig->from_trace});
  }
}

ConsoleReport parse_console(std::string_view text) {
  ConsoleParser p;
  p.feed(text);
  p.finish();
  return p.report();
}

ConsoleReport parse_console_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const std::streamoff size = in.tellg();
  const std::streamoff max = 64 << 20;
  in.seekg(size > max ? size - max : 0);
  std::string data(static_cast<size_t>(std::min(size, max)), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  return parse_console(data);
}

}  // namespace rb::console
