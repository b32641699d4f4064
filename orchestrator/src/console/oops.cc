#include "console/oops.h"

#include <algorithm>

#include "console/console_report.h"
#include "console/text.h"

namespace rb::console {

namespace {

using sv = std::string_view;
constexpr size_t npos = sv::npos;

using text::is_digit;
using text::trim;

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '.' || c == '$';
}

bool contains(sv s, sv what) { return s.find(what) != npos; }

// "func+0x1d/0x40..." at the start of s -> "func" (cleaned); "" otherwise.
std::string symbol_with_offset(sv s) {
  size_t i = 0;
  while (i < s.size() && i < 256 && is_ident(s[i])) ++i;
  if (i == 0 || !s.substr(i).starts_with("+0x")) return "";
  std::string f = clean_function(s.substr(0, i));
  // A raw address with an offset is not a symbol.
  if (f.empty() || is_digit(f[0])) return "";
  return f;
}

// Replaces values that vary from run to run: 0x-numbers and long hex runs.
std::string normalize(sv s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const bool boundary = i == 0 || !is_ident(s[i - 1]);
    if (boundary && s.substr(i).starts_with("0x") && i + 2 < s.size() && is_hex(s[i + 2])) {
      i += 2;
      while (i < s.size() && is_hex(s[i])) ++i;
      out += "ADDR";
      continue;
    }
    if (boundary && is_hex(s[i])) {
      size_t j = i;
      while (j < s.size() && is_hex(s[j])) ++j;
      if (j - i >= 8 && (j == s.size() || !is_ident(s[j]))) {
        out += "ADDR";
        i = j;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// "mm/hugetlb.c:5000" -> "mm/hugetlb.c:LINE"; "mm/hugetlb.c:123:45" -> same.
std::string source_with_line(sv loc) {
  size_t colon = loc.find(':');
  if (colon == npos) return std::string(loc);
  return std::string(loc.substr(0, colon)) + ":LINE";
}

std::string source_file(sv loc) { return std::string(loc.substr(0, loc.find(':'))); }

sv first_word(sv s) {
  s = trim(s);
  size_t e = 0;
  while (e < s.size() && s[e] != ' ' && s[e] != '\t') ++e;
  return s.substr(0, e);
}

// At most n bytes, never cutting a UTF-8 sequence in half.
std::string cap(sv s, size_t n = 200) {
  s = trim(s);
  if (s.size() <= n) return std::string(s);
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

// Panic messages that end the report before them rather than start one.
bool panic_is_consequence(sv msg) {
  static constexpr sv kinds[] = {
      "Fatal exception", "panic_on_warn", "panic_on_oops", "hung_task: blocked tasks", "softlockup: hung tasks",
      "Hard LOCKUP", "hardlockup", "RCU Stall", "Fatal machine check", "Aiee, killing interrupt handler",
      "KASAN", "UBSAN", "Machine halted", "kernel stack overflow"};
  for (sv k : kinds)
    if (contains(msg, k)) return true;
  return false;
}

bool boot_panic(sv msg) {
  return msg.starts_with("VFS: Unable to mount root") || msg.starts_with("No working init found") ||
         msg.starts_with("No init found") || msg.starts_with("Requested init") ||
         msg.starts_with("Attempted to kill init") || msg.starts_with("VFS: Cannot open root device");
}

// Kinds whose report may be followed by an "Oops: ... [#1]" line of its own.
bool oopses(CrashKind k) {
  switch (k) {
    case CrashKind::NullDeref:
    case CrashKind::PageFault:
    case CrashKind::GeneralProtection:
    case CrashKind::Bug:
    case CrashKind::DoubleFault:
    case CrashKind::Kasan:
    case CrashKind::Ubsan: return true;
    default: return false;
  }
}

bool repeats(CrashKind k) {
  return k == CrashKind::HungTask || k == CrashKind::SoftLockup || k == CrashKind::HardLockup ||
         k == CrashKind::RcuStall;
}

Signature sig(CrashKind kind, std::string title) {
  Signature s;
  s.kind = kind;
  s.title = std::move(title);
  return s;
}

Signature with_function(CrashKind kind, std::string base) {
  Signature s = sig(kind, std::move(base));
  s.wants_function = true;
  return s;
}

// "BUG: sleeping function called from invalid context at mm/x.c:12" ->
// "BUG: sleeping function called from invalid context".
std::string generic_title(sv prefix, sv rest) {
  size_t cut = rest.size();
  for (sv stop : {sv(":"), sv(","), sv("!"), sv(" at "), sv(" in process "), sv(" - "), sv(" (")}) {
    size_t p = rest.find(stop);
    if (p != npos && p > 0) cut = std::min(cut, p);
  }
  return std::string(prefix) + normalize(cap(rest.substr(0, cut), 120));
}

}  // namespace

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

std::string_view strip_timestamp(std::string_view line) {
  // "[   12.345678] " then optionally a caller id "[    T1] " / "[  C0] ".
  for (int group = 0; group < 2; ++group) {
    if (line.empty() || line[0] != '[') break;
    size_t close = line.find(']');
    if (close == npos || close > 24) break;
    sv inner = trim(line.substr(1, close - 1));
    // A time, or a caller id alone (PRINTK_CALLER without PRINTK_TIME).
    const bool caller = !inner.empty() && (inner[0] == 'T' || inner[0] == 'C');
    bool ok = inner.size() > (caller ? 1u : 0u);
    for (size_t i = caller ? 1 : 0; ok && i < inner.size(); ++i)
      ok = is_digit(inner[i]) || (!caller && inner[i] == '.');
    if (!ok) break;
    line.remove_prefix(close + 1);
    if (!line.empty() && line[0] == ' ') line.remove_prefix(1);
  }
  return line;
}

std::string clean_function(std::string_view f) {
  size_t dot = f.find('.');
  return std::string(f.substr(0, dot));
}

bool uninteresting_function(std::string_view f) {
  static constexpr sv exact[] = {
      "die", "__die", "panic", "oops_end", "schedule", "__schedule", "io_schedule", "down", "__down",
      "dump_stack", "show_stack", "show_regs", "report_bug", "handle_bug", "do_trap", "do_error_trap",
      "page_fault_oops", "kernelmode_fixup_or_oops", "no_context", "bad_area", "__bad_area",
      "__bad_area_nosemaphore", "do_user_addr_fault", "do_kern_addr_fault", "exc_page_fault",
      "exc_invalid_op", "exc_general_protection", "handle_page_fault", "memcpy", "memset", "memmove",
      "__memcpy", "__memset", "__memmove", "strlen", "strcmp", "strncmp", "lock_acquire", "lock_release",
      "context_switch", "__switch_to", "__switch_to_asm", "bit_wait", "finish_task_switch"};
  static constexpr sv prefix[] = {
      "dump_stack",  "__dump_stack", "__warn",         "warn_slowpath", "asm_exc_",   "asm_sysvec_",
      "schedule_",   "io_schedule_", "preempt_schedule", "__cond_resched", "_cond_resched", "mutex_lock",
      "__mutex_lock", "mutex_unlock", "down_",         "__down_",       "rwsem_down_", "__rwsem_down_",
      "up_read",     "up_write",     "_raw_spin_",     "_raw_read_",    "_raw_write_", "queued_spin_lock",
      "native_queued_spin_lock", "__pv_queued_spin_lock", "do_raw_spin_", "wait_for_completion",
      "__wait_for_common", "do_wait_for_common", "out_of_line_wait_on_bit", "__wait_on_bit",
      "kasan_",      "__kasan_",     "__asan_",        "ubsan_",        "__ubsan_"};
  static constexpr sv more_prefix[] = {"print_report", "print_address_description", "__might_sleep",
                                                    "__might_resched", "___might_sleep", "check_memory_region",
                                                    "kasan_report", "rt_mutex"};
  for (sv e : exact)
    if (f == e) return true;
  for (sv p : prefix)
    if (f.starts_with(p)) return true;
  for (sv p : more_prefix)
    if (f.starts_with(p)) return true;
  return false;
}

std::string rip_function(std::string_view line) {
  sv s = strip_timestamp(line);
  size_t p = s.find("RIP: ");
  if (p != npos) {
    s.remove_prefix(p + 5);
    // Segment selector "0010:" (kernel) / "0033:" (user).
    size_t colon = s.find(':');
    if (colon != npos && colon <= 4) {
      bool hex = colon > 0;
      for (size_t i = 0; i < colon; ++i) hex = hex && is_hex(s[i]);
      if (hex) {
        if (s.substr(0, colon) == "0033" || s.substr(0, colon) == "0023") return "";
        s.remove_prefix(colon + 1);
      }
    }
    // Old format: "RIP: 0010:[<ffffffff81234567>]  [<ffffffff81234567>] func+0x1/0x2"
    while (s.starts_with("[<")) {
      size_t close = s.find(">]");
      if (close == npos) return "";
      s = trim(s.substr(close + 2));
    }
    return symbol_with_offset(trim(s));
  }
  s = trim(s);
  if (s.starts_with("pc : ")) return symbol_with_offset(trim(s.substr(5)));  // arm64
  return "";
}

std::string frame_function(std::string_view line) {
  sv s = trim(strip_timestamp(line));
  if (s.starts_with("?")) return "";  // unreliable frame
  while (s.starts_with("[<")) {
    size_t close = s.find(">]");
    if (close == npos) return "";
    s = trim(s.substr(close + 2));
    if (s.starts_with("?")) return "";
  }
  return symbol_with_offset(s);
}

std::optional<Signature> match_signature(std::string_view line, bool prev_was_banner) {
  sv msg = strip_timestamp(line);
  size_t p;

  // A panic (but not the "---[ end Kernel panic - not syncing: ... ]---" trailer).
  if ((p = line.find("Kernel panic - not syncing: ")) != npos && !(p >= 4 && line.substr(p - 4, 4) == "end ")) {
    sv m = trim(line.substr(p + 28));
    if (m.ends_with("]---")) m = trim(m.substr(0, m.size() - 4));
    std::string title = "Kernel panic - not syncing: " + cap(m);
    return sig(boot_panic(m) ? CrashKind::BootPanic : CrashKind::Panic, std::move(title));
  }
  if ((p = line.find("BUG: KASAN: ")) != npos) {
    sv rest = line.substr(p + 12);
    size_t in = rest.find(" in ");
    Signature s = sig(CrashKind::Kasan, "");
    s.kasan_type = normalize(cap(rest.substr(0, in), 80));
    if (in != npos) {
      sv where = trim(rest.substr(in + 4));
      s.function = symbol_with_offset(where);
      if (s.function.empty() && !where.starts_with("range")) s.function = clean_function(first_word(where));
    }
    s.wants_access = true;
    s.title = "KASAN: " + s.kasan_type + (s.function.empty() ? "" : " in " + s.function);
    return s;
  }
  if (contains(line, "BUG: kernel NULL pointer dereference") ||
      contains(line, "BUG: unable to handle kernel NULL pointer dereference") ||
      contains(line, "Unable to handle kernel NULL pointer dereference"))
    return with_function(CrashKind::NullDeref, "BUG: kernel NULL pointer dereference");
  if (contains(line, "BUG: unable to handle page fault") || contains(line, "BUG: unable to handle kernel paging request") ||
      contains(line, "Unable to handle kernel paging request") || contains(line, "Unable to handle page fault"))
    return with_function(CrashKind::PageFault, "BUG: unable to handle page fault");
  if ((p = line.find("general protection fault")) != npos &&
      (line.find("[#", p) != npos || contains(line, "probably for non-canonical address")))
    return with_function(CrashKind::GeneralProtection, "general protection fault");
  if ((p = line.find("kernel BUG at ")) != npos) {
    sv loc = first_word(line.substr(p + 14));
    if (loc.ends_with("!")) loc.remove_suffix(1);
    if (loc.empty()) return with_function(CrashKind::Bug, "kernel BUG");
    return sig(CrashKind::Bug, "kernel BUG at " + normalize(source_with_line(loc)));
  }
  if (contains(line, "BUG: soft lockup")) {
    Signature s = with_function(CrashKind::SoftLockup, "BUG: soft lockup");
    s.skip_irq_frames = true;
    return s;
  }
  if (contains(line, "Watchdog detected hard LOCKUP")) {
    Signature s = with_function(CrashKind::HardLockup, "BUG: hard lockup");
    s.skip_irq_frames = true;
    return s;
  }
  if ((p = line.find("INFO: task ")) != npos && line.find(" blocked for more than ", p) != npos) {
    Signature s = with_function(CrashKind::HungTask, "INFO: task hung");
    s.trace_only = true;
    return s;
  }
  if ((p = line.find("INFO: rcu")) != npos && line.find("stall", p) != npos) {
    Signature s = with_function(CrashKind::RcuStall, "INFO: rcu detected stall");
    s.skip_irq_frames = true;
    return s;
  }
  if ((p = line.find("UBSAN: ")) != npos) {
    sv rest = trim(line.substr(p + 7));
    size_t in = rest.find(" in ");
    Signature s = with_function(CrashKind::Ubsan, "UBSAN: " + normalize(cap(rest.substr(0, in), 80)));
    s.trace_only = true;
    if (in != npos) s.fallback = s.title + " in " + normalize(source_file(first_word(rest.substr(in + 4))));
    return s;
  }
  if (contains(line, "PANIC: double fault")) return with_function(CrashKind::DoubleFault, "PANIC: double fault");
  if ((p = line.find("WARNING: CPU: ")) != npos || msg.starts_with("WARNING: at ")) {
    sv rest = p != npos ? line.substr(p) : msg;
    size_t at = rest.find(" at ");
    Signature s = sig(CrashKind::Warning, "WARNING");
    if (at != npos) {
      sv after = trim(rest.substr(at + 4));
      sv loc = first_word(after);
      s.function = symbol_with_offset(trim(after.substr(loc.size())));
      if (!s.function.empty()) return s;  // compose(): "WARNING in <function>"
      if (!loc.empty()) s.fallback = "WARNING in " + normalize(source_file(loc));
    }
    s.wants_function = true;
    return s;
  }
  if ((p = line.find("Oops: ")) != npos && line.find("[#", p) != npos) {
    sv rest = line.substr(p + 6);
    if (rest.starts_with("general protection fault"))
      return with_function(CrashKind::GeneralProtection, "general protection fault");
    Signature s = with_function(CrashKind::Oops, rest.starts_with("invalid opcode") ? "invalid opcode" : "Oops");
    s.follow_up = true;
    return s;
  }
  if ((p = line.find("invalid opcode: ")) != npos && line.find("[#", p) != npos) {
    Signature s = with_function(CrashKind::Oops, "invalid opcode");
    s.follow_up = true;
    return s;
  }
  // Generic reports: only where a kernel message starts.
  sv m = msg;
  if (m.starts_with("watchdog: ")) m.remove_prefix(10);
  if (m.starts_with("BUG: ") && m.size() > 5) {
    Signature s = with_function(CrashKind::Bug, generic_title("BUG: ", m.substr(5)));
    return s;
  }
  if (prev_was_banner && m.starts_with("WARNING: ") && m.size() > 9)
    return sig(CrashKind::Warning, generic_title("WARNING: ", m.substr(9)));
  return std::nullopt;
}

std::string CrashDetector::compose(const Pending& p) {
  const Signature& s = p.sig;
  std::string t;
  if (s.kind == CrashKind::Kasan)
    t = "KASAN: " + s.kasan_type + (p.access.empty() ? "" : " " + p.access) +
        (s.function.empty() ? "" : " in " + s.function);
  else if (!s.function.empty())
    t = s.title + " in " + s.function;
  else
    t = s.fallback.empty() ? s.title : s.fallback;
  return cap(t, kMaxTitle);
}

void CrashDetector::refine(std::string_view line, size_t line_no, std::vector<Crash>& out) {
  if (!pending_) return;
  Pending& p = *pending_;
  Signature& s = p.sig;
  const size_t age = line_no - p.start;
  if (age > 120 || p.index >= out.size()) {
    pending_.reset();
    return;
  }
  bool changed = false;
  if (s.wants_access) {
    if (contains(line, "Read of size")) p.access = "Read", changed = true, s.wants_access = false;
    else if (contains(line, "Write of size")) p.access = "Write", changed = true, s.wants_access = false;
    else if (age > 10) s.wants_access = false;
  }
  if (s.wants_function) {
    const sv msg = trim(strip_timestamp(line));
    std::string f;
    if (!s.trace_only) {
      f = rip_function(msg);
      if (uninteresting_function(f)) f.clear();
    }
    if (f.empty()) {
      if (contains(msg, "Call Trace:") || contains(msg, "Call trace:")) {
        p.in_trace = true;
      } else if (p.in_trace) {
        if (msg == "<IRQ>" || msg == "<NMI>" || msg == "<SOFTIRQ>") ++p.irq_depth;
        else if (msg == "</IRQ>" || msg == "</NMI>" || msg == "</SOFTIRQ>") p.irq_depth = std::max(0, p.irq_depth - 1);
        else if (!(s.skip_irq_frames && p.irq_depth > 0)) {
          f = frame_function(msg);
          if (uninteresting_function(f)) f.clear();
        }
      }
    }
    if (!f.empty()) {
      s.function = f;
      s.wants_function = false;
      changed = true;
    }
  }
  if (changed) out[p.index].title = compose(p);
  if (!s.wants_function && !s.wants_access) pending_.reset();
}

void CrashDetector::add_line(std::string_view line, size_t line_no, std::vector<Crash>& out) {
  const bool banner_before = prev_banner_;
  {
    sv m = trim(strip_timestamp(line));
    prev_banner_ = m.size() >= 10 && m.find_first_not_of('=') == npos;
  }
  if (contains(line, "---[ end trace")) end_trace_since_last_ = true;

  auto s = match_signature(line, banner_before);
  if (!s) {
    refine(line, line_no, out);
    return;
  }
  // Does this line continue the report before it?
  if (have_last_) {
    const size_t dist = line_no - last_line_;
    const bool is_panic = s->kind == CrashKind::Panic || s->kind == CrashKind::BootPanic;
    if (is_panic && !last_has_panic_) {
      sv msg = line.substr(line.find("Kernel panic - not syncing: ") + 28);
      if (panic_is_consequence(msg) || (dist <= 1000 && last_kind_ != CrashKind::Warning)) {
        last_has_panic_ = true;
        refine(line, line_no, out);
        return;
      }
    }
    if (s->follow_up && dist <= 40 && !end_trace_since_last_ && oopses(last_kind_)) {
      refine(line, line_no, out);
      return;
    }
    if (repeats(s->kind) && s->kind == last_kind_ && dist <= 300) {
      refine(line, line_no, out);
      return;
    }
  }
  if (out.size() >= kMaxCrashes) return;
  Pending p;
  p.index = out.size();
  p.start = line_no;
  p.sig = std::move(*s);
  out.push_back({p.sig.kind, compose(p), line_no});
  have_last_ = true;
  last_kind_ = p.sig.kind;
  last_line_ = line_no;
  last_has_panic_ = p.sig.kind == CrashKind::Panic || p.sig.kind == CrashKind::BootPanic;
  end_trace_since_last_ = false;
  pending_.reset();
  if (p.sig.wants_function || p.sig.wants_access) pending_ = std::move(p);
}

std::vector<Crash> detect_crashes(std::string_view text) {
  std::vector<Crash> out;
  CrashDetector d;
  size_t n = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    d.add_line(sanitize_line(text.substr(0, nl)), ++n, out);
    if (nl == npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace rb::console
