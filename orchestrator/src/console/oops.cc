#include "console/oops.h"

#include <array>
#include <cctype>

namespace rb::console {

const char* to_string(CrashKind k) {
  switch (k) {
    case CrashKind::Oops: return "oops";
    case CrashKind::Panic: return "panic";
    case CrashKind::Bug: return "bug";
    case CrashKind::NullDeref: return "null-deref";
    case CrashKind::PageFault: return "page-fault";
    case CrashKind::GeneralProtection: return "general-protection";
    case CrashKind::Warning: return "warning";
    case CrashKind::HungTask: return "hung-task";
    case CrashKind::SoftLockup: return "soft-lockup";
    case CrashKind::HardLockup: return "hard-lockup";
    case CrashKind::RcuStall: return "rcu-stall";
    case CrashKind::Kasan: return "kasan";
    case CrashKind::Ubsan: return "ubsan";
    case CrashKind::DoubleFault: return "double-fault";
    case CrashKind::BootPanic: return "boot-panic";
  }
  return "?";
}

namespace {

bool is_ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

// "func+0x1d/0x40" at the start of s -> "func".
std::string symbol_before_offset(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_ident(s[i])) ++i;
  if (i == 0 || i >= s.size() || s[i] != '+') return "";
  return std::string(s.substr(0, i));
}

// Replaces hex/decimal numbers with nothing where they vary run to run.
std::string first_words(std::string_view s, size_t max_len = 120) {
  std::string out(s.substr(0, std::min(s.size(), max_len)));
  while (!out.empty() && (out.back() == ' ' || out.back() == '.' || out.back() == ',')) out.pop_back();
  return out;
}

}  // namespace

std::string_view strip_timestamp(std::string_view line) {
  if (line.empty() || line[0] != '[') return line;
  size_t close = line.find(']');
  if (close == std::string_view::npos || close > 20) return line;
  for (size_t i = 1; i < close; ++i)
    if (!(std::isdigit(static_cast<unsigned char>(line[i])) || line[i] == '.' || line[i] == ' ')) return line;
  line.remove_prefix(close + 1);
  if (!line.empty() && line[0] == ' ') line.remove_prefix(1);
  return line;
}

std::string rip_function(std::string_view line) {
  line = strip_timestamp(line);
  auto p = line.find("RIP: ");
  if (p == std::string_view::npos) return "";
  line.remove_prefix(p + 5);
  if (auto colon = line.find(':'); colon != std::string_view::npos && colon <= 4) line.remove_prefix(colon + 1);
  return symbol_before_offset(line);
}

std::string frame_function(std::string_view line) {
  line = strip_timestamp(line);
  while (!line.empty() && line[0] == ' ') line.remove_prefix(1);
  if (line.starts_with("? ")) return "";  // unreliable frame
  return symbol_before_offset(line);
}

std::optional<Signature> match_signature(std::string_view raw) {
  std::string_view line = strip_timestamp(raw);
  if (line.starts_with("watchdog: ")) line.remove_prefix(10);
  if (line.starts_with("rcu: ")) line.remove_prefix(5);
  auto starts = [&](std::string_view p) { return line.starts_with(p); };
  if (starts("BUG: kernel NULL pointer dereference")) return Signature{CrashKind::NullDeref, "BUG: kernel NULL pointer dereference", true};
  if (starts("BUG: unable to handle page fault") || starts("BUG: unable to handle kernel paging request"))
    return Signature{CrashKind::PageFault, "BUG: unable to handle page fault", true};
  if (starts("Unable to handle kernel")) return Signature{CrashKind::PageFault, "BUG: unable to handle page fault", true};
  if (starts("BUG: soft lockup")) return Signature{CrashKind::SoftLockup, "BUG: soft lockup", true};
  if (starts("BUG: KASAN: ")) {
    std::string_view rest = line.substr(12);
    auto in = rest.find(" in ");
    std::string kind(rest.substr(0, in));
    std::string func = in == std::string_view::npos ? "" : symbol_before_offset(rest.substr(in + 4));
    if (func.empty() && in != std::string_view::npos) func = std::string(rest.substr(in + 4, rest.find(' ', in + 4) - in - 4));
    return Signature{CrashKind::Kasan, "KASAN: " + kind + (func.empty() ? "" : " in " + func)};
  }
  if (starts("UBSAN: ")) return Signature{CrashKind::Ubsan, first_words(line)};
  if (starts("BUG: scheduling while atomic")) return Signature{CrashKind::Bug, "BUG: scheduling while atomic", true, true};
  if (starts("BUG: ")) {
    // "BUG: Bad page state in process foo  pfn:..." -> keep the words before numbers.
    std::string t = first_words(line.substr(0, line.find_first_of(":", 5)));
    return Signature{CrashKind::Bug, t};
  }
  if (starts("kernel BUG at ")) {
    std::string_view rest = line.substr(14);
    auto bang = rest.find('!');
    return Signature{CrashKind::Bug, "kernel BUG at " + std::string(rest.substr(0, bang))};
  }
  if (starts("general protection fault")) return Signature{CrashKind::GeneralProtection, "general protection fault", true};
  if (starts("PANIC: double fault") || starts("double fault:")) return Signature{CrashKind::DoubleFault, "double fault", true};
  if (starts("WARNING: ")) {
    // "WARNING: CPU: 1 PID: 57 at mm/hugetlb.c:1234 hugetlb_fault+0x12/0x40"
    auto at = line.find(" at ");
    if (at != std::string_view::npos) {
      std::string_view rest = line.substr(at + 4);
      auto sp = rest.find(' ');
      std::string func = sp == std::string_view::npos ? "" : symbol_before_offset(rest.substr(sp + 1));
      if (!func.empty()) return Signature{CrashKind::Warning, "WARNING in " + func};
      return Signature{CrashKind::Warning, "WARNING in", true};
    }
    return Signature{CrashKind::Warning, first_words(line)};
  }
  if (starts("INFO: task ") && line.find(" blocked for more than ") != std::string_view::npos)
    return Signature{CrashKind::HungTask, "INFO: task hung", true, true};
  if ((starts("INFO: rcu_") && line.find("stall") != std::string_view::npos) ||
      (starts("INFO: rcu") && line.find("detected stall") != std::string_view::npos))
    return Signature{CrashKind::RcuStall, "INFO: rcu detected stall", true};
  if (line.find("Watchdog detected hard LOCKUP") != std::string_view::npos)
    return Signature{CrashKind::HardLockup, "watchdog: hard lockup", true};
  if (starts("Oops: ")) return Signature{CrashKind::Oops, "Oops", true};
  if (starts("Kernel panic - not syncing: ")) {
    std::string_view msg = line.substr(28);
    std::string t = "Kernel panic - not syncing: " + first_words(msg);
    if (msg.starts_with("VFS: Unable to mount root fs") || msg.starts_with("No working init found") ||
        msg.starts_with("Requested init") || msg.starts_with("No init found"))
      return Signature{CrashKind::BootPanic, t};
    return Signature{CrashKind::Panic, t};
  }
  return std::nullopt;
}

}  // namespace rb::console
