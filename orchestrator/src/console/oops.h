// Kernel crash signatures on the console: what happened (kind) and a stable
// one-line title, syzkaller style: addresses, PIDs and CPU numbers removed,
// the faulting function taken from the RIP line or the call trace, so the
// same bug gives the same title on every boot.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rb::console {

enum class CrashKind {
  Oops, Panic, Bug, NullDeref, PageFault, GeneralProtection, Warning, HungTask, SoftLockup, HardLockup, RcuStall,
  Kasan, Ubsan, DoubleFault, BootPanic,
};
const char* to_string(CrashKind k);

struct Crash {
  CrashKind kind = CrashKind::Oops;
  std::string title;
  size_t line = 0;  // 1-based console line of the first signature line
};

// Recognises the first line of a crash report. `title` is the title without
// the function when the function comes later (`needs_function`).
struct Signature {
  CrashKind kind;
  std::string title;
  bool needs_function = false;
  bool from_trace = false;  // function from the call trace (hung tasks), not RIP
};
std::optional<Signature> match_signature(std::string_view line);

// "RIP: 0010:hugetlb_fault+0x1d/0x40" -> "hugetlb_fault"; empty if not a RIP line.
std::string rip_function(std::string_view line);
// " hugetlb_fault+0x1d/0x40" (a call trace frame) -> "hugetlb_fault".
std::string frame_function(std::string_view line);
// Drops a leading printk timestamp "[   12.345678] ".
std::string_view strip_timestamp(std::string_view line);

}  // namespace rb::console
