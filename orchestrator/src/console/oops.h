// Kernel crash reports on the console: what happened (kind) and a stable
// one-line title in the style of syzkaller's pkg/report: addresses, PIDs,
// CPU numbers and line numbers dropped, the faulting function taken from the
// RIP line or the call trace, so the same bug gets the same title on every
// boot and on every commit of a bisection.
//
//   BUG: kernel NULL pointer dereference, address: 0000000000000008
//   ... RIP: 0010:hugetlb_fault+0x1a4/0xa50           -> "BUG: kernel NULL pointer dereference in hugetlb_fault"
//   WARNING: CPU: 1 PID: 57 at mm/hugetlb.c:1234 hugetlb_fault+0x2a4/0xb30 -> "WARNING in hugetlb_fault"
//   kernel BUG at mm/hugetlb.c:5000!                  -> "kernel BUG at mm/hugetlb.c:LINE"
//   INFO: task uffd-race:61 blocked for more than 120 seconds.
//   ... Call Trace: __schedule schedule ... hugetlb_change_protection
//                                                     -> "INFO: task hung in hugetlb_change_protection"
//   Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
//                                                     -> the panic line as printed (numbers kept)
//
// A kernel without CONFIG_KALLSYMS prints raw addresses ("RIP: 0010:0xffff...");
// titles then stay without " in <func>".
//
// One crash report produces one Crash: the "Oops: 0000 [#1]" / "invalid
// opcode:" line after a BUG, and a panic that ends a report ("Fatal
// exception", panic_on_warn, hung_task: blocked tasks, ...) belong to the
// report before them. Repeats of a hung task / lockup / RCU stall report
// within a few hundred lines are folded into the first.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rb::console {

enum class CrashKind {
  Oops,               // "Oops: 0000 [#1]" / "invalid opcode:" with no more specific report before it
  Panic,              // "Kernel panic - not syncing: ..." on its own
  Bug,                // "kernel BUG at file:line!" and other "BUG: ..." reports
  NullDeref,          // "BUG: kernel NULL pointer dereference"
  PageFault,          // "BUG: unable to handle page fault", "Unable to handle kernel paging request"
  GeneralProtection,  // "general protection fault ... [#1]"
  Warning,            // "WARNING: CPU: N PID: N at file:line func", lockdep "WARNING: ..."
  HungTask,           // "INFO: task NAME:PID blocked for more than N seconds."
  SoftLockup,         // "watchdog: BUG: soft lockup - CPU#N stuck for Ns!"
  HardLockup,         // "Watchdog detected hard LOCKUP on cpu N"
  RcuStall,           // "rcu: INFO: rcu_preempt detected stalls" / "self-detected stall"
  Kasan,              // "BUG: KASAN: ..."
  Ubsan,              // "UBSAN: ..."
  DoubleFault,        // "PANIC: double fault"
  BootPanic,          // VFS: Unable to mount root fs / No working init found / Attempted to kill init
};
const char* to_string(CrashKind k);

struct Crash {
  CrashKind kind = CrashKind::Oops;
  std::string title;
  size_t line = 0;  // 1-based console line of the report's first line
  bool operator==(const Crash&) const = default;
};

// The first line of a crash report, recognised in one (sanitized) console
// line. Kernel text may sit anywhere in the line (printk interleaved with
// test output); generic "BUG: ..." must start the kernel message.
struct Signature {
  CrashKind kind = CrashKind::Oops;
  std::string title;              // full title, or the base awaiting " in <func>"
  std::string fallback;           // title to use while/if no function is found ("" = title)
  bool wants_function = false;    // append " in <func>" from the RIP line or the call trace
  bool trace_only = false;        // ... from the call trace only (hung tasks, UBSAN)
  bool skip_irq_frames = false;   // ignore <IRQ>/<NMI> frames (stalls and lockups)
  bool wants_access = false;      // KASAN: "Read"/"Write" from the next lines
  bool follow_up = false;         // "Oops: ... [#1]" / "invalid opcode: ... [#1]": may belong to the report before
  std::string kasan_type;         // KASAN only
  std::string function;           // known from the line itself (WARNING, KASAN)
};
// `prev_was_banner`: the previous line was a lockdep "=====" banner, which
// makes a "WARNING: <text>" line a lockdep report.
std::optional<Signature> match_signature(std::string_view line, bool prev_was_banner = false);

// Drops a leading printk timestamp "[   12.345678] " and caller id "[  T1] ".
std::string_view strip_timestamp(std::string_view line);
// "RIP: 0010:hugetlb_fault+0x1d/0x40" or arm64 "pc : hugetlb_fault+0x1d/0x40"
// -> "hugetlb_fault"; "" for user-mode RIPs, raw addresses and other lines.
std::string rip_function(std::string_view line);
// A call trace frame " hugetlb_fault+0x1d/0x40" -> "hugetlb_fault"; "" for
// unreliable "? " frames, raw addresses and other lines.
std::string frame_function(std::string_view line);
// Compiler suffixes off: "foo.isra.0", "foo.cold", "foo.constprop.0" -> "foo".
std::string clean_function(std::string_view f);
// Scheduler, locking, reporting and fault-entry frames: never a title.
bool uninteresting_function(std::string_view f);

// Line-by-line crash detector. Titles of the newest crash may still be
// refined by later lines (its function), so a live caller sees the base
// title first and the full one once the RIP/Call Trace line has arrived.
class CrashDetector {
 public:
  static constexpr size_t kMaxCrashes = 64;
  static constexpr size_t kMaxTitle = 300;  // bytes

  void add_line(std::string_view line, size_t line_no, std::vector<Crash>& out);

 private:
  struct Pending {
    size_t index = 0;
    size_t start = 0;
    Signature sig;
    bool in_trace = false;
    int irq_depth = 0;
    std::string access;
  };
  void refine(std::string_view msg, size_t line_no, std::vector<Crash>& out);
  static std::string compose(const Pending& p);

  std::optional<Pending> pending_;
  bool have_last_ = false;
  CrashKind last_kind_ = CrashKind::Oops;
  size_t last_line_ = 0;
  bool last_has_panic_ = false;
  bool end_trace_since_last_ = false;
  bool prev_banner_ = false;
};

// One-shot convenience over whole text (splits on '\n', sanitizes).
std::vector<Crash> detect_crashes(std::string_view text);

}  // namespace rb::console
