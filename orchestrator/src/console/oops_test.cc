#include "console/oops.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "console/console_report.h"
#include "testing/fixtures.h"

namespace rb::console {
namespace {

using rb::testing::console_log;

std::vector<Crash> crashes_in(const std::string& log) { return detect_crashes(console_log(log)); }

std::string join(std::initializer_list<std::string_view> lines) {
  std::string s;
  for (auto l : lines) (s += l) += "\n";
  return s;
}

// ---- recorded logs --------------------------------------------------------

TEST(OopsLogs, NullDerefTakesTheFunctionFromRip) {
  auto c = crashes_in("oops_null_deref.log");
  ASSERT_EQ(c.size(), 1u);  // "Oops:" and "Fatal exception" belong to the same report
  EXPECT_EQ(c[0].kind, CrashKind::NullDeref);
  EXPECT_EQ(c[0].title, "BUG: kernel NULL pointer dereference in hugetlb_fault");
  EXPECT_EQ(c[0].line, 141u);
}

TEST(OopsLogs, NullDerefWithoutKallsymsHasNoFunction) {
  auto c = crashes_in("oops_null_deref_nokallsyms.log");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, CrashKind::NullDeref);
  EXPECT_EQ(c[0].title, "BUG: kernel NULL pointer dereference");
}

TEST(OopsLogs, PageFault) {
  auto c = crashes_in("page_fault.log");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, CrashKind::PageFault);
  EXPECT_EQ(c[0].title, "BUG: unable to handle page fault in hugetlb_fault");
}

TEST(OopsLogs, GeneralProtectionFault) {
  auto c = crashes_in("gpf.log");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, CrashKind::GeneralProtection);
  EXPECT_EQ(c[0].title, "general protection fault in hugetlb_vma_lock_read");
}

TEST(OopsLogs, KernelBugKeepsTheFileAndNormalizesTheLine) {
  auto c = crashes_in("kernel_bug.log");
  ASSERT_EQ(c.size(), 1u);  // "invalid opcode: 0000 [#1]" and the panic are part of it
  EXPECT_EQ(c[0].kind, CrashKind::Bug);
  EXPECT_EQ(c[0].title, "kernel BUG at mm/hugetlb.c:LINE");
  EXPECT_EQ(c[0].line, 141u);
}

TEST(OopsLogs, Warning) {
  auto c = crashes_in("warning_hugetlb.log");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, CrashKind::Warning);
  EXPECT_EQ(c[0].title, "WARNING in hugetlb_fault");
}

TEST(OopsLogs, HungTaskSkipsSchedulerAndLockFrames) {
  auto c = crashes_in("hung_task.log");
  ASSERT_EQ(c.size(), 1u);  // the second blocked task is the same report
  EXPECT_EQ(c[0].kind, CrashKind::HungTask);
  EXPECT_EQ(c[0].title, "INFO: task hung in hugetlb_change_protection");
}

TEST(OopsLogs, SoftLockupThenRcuStall) {
  auto c = crashes_in("soft_lockup.log");
  ASSERT_EQ(c.size(), 2u);  // the repeated soft lockup ("stuck for 48s") is folded in
  EXPECT_EQ(c[0].kind, CrashKind::SoftLockup);
  // RIP is in the spinlock slow path; IRQ frames are skipped; the caller wins.
  EXPECT_EQ(c[0].title, "BUG: soft lockup in hugetlb_change_protection");
  EXPECT_EQ(c[1].kind, CrashKind::RcuStall);
  EXPECT_EQ(c[1].title, "INFO: rcu detected stall in hugetlb_change_protection");
  EXPECT_LT(c[0].line, c[1].line);
}

TEST(OopsLogs, BootPanics) {
  auto vfs = crashes_in("boot_panic_vfs.log");
  ASSERT_EQ(vfs.size(), 1u);  // the "---[ end Kernel panic" trailer is not a second one
  EXPECT_EQ(vfs[0].kind, CrashKind::BootPanic);
  EXPECT_EQ(vfs[0].title, "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)");
  auto noinit = crashes_in("real_6.1_no_initramfs.log");
  ASSERT_EQ(noinit.size(), 1u);
  EXPECT_EQ(noinit[0].kind, CrashKind::BootPanic);
  EXPECT_EQ(noinit[0].title,
            "Kernel panic - not syncing: No working init found.  Try passing init= option to kernel. See Linux "
            "Documentation/admin-guide/init.rst for guidance.");
}

TEST(OopsLogs, CleanRunsHaveNoCrash) {
  for (const char* log : {"pass_10_trials.log", "mixed_incomplete.log", "real_6.1_unpatched_fail.log", "truncated.log",
                          "init_env_error.log", "interleaved_garbage.log"}) {
    SCOPED_TRACE(log);
    EXPECT_TRUE(crashes_in(log).empty());
  }
}

// ---- generated reports ----------------------------------------------------

TEST(OopsSignatures, Kasan) {
  auto c = detect_crashes(join({
      "==================================================================",
      "BUG: KASAN: slab-use-after-free in hugetlb_vma_lock_read+0x2e/0x70",
      "Read of size 8 at addr ffff88800a9c8e08 by task uffd-race/61",
      "CPU: 0 PID: 61 Comm: uffd-race Not tainted 6.1.55 #1",
      "Call Trace:",
      " kasan_report+0xbf/0xf0",
      "Kernel panic - not syncing: KASAN: panic_on_warn set ...",
  }));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, CrashKind::Kasan);
  EXPECT_EQ(c[0].title, "KASAN: slab-use-after-free Read in hugetlb_vma_lock_read");
}

TEST(OopsSignatures, UbsanTakesTheFirstRealFrame) {
  std::string text = join({
      "================================================================================",
      "UBSAN: shift-out-of-bounds in mm/hugetlb.c:4321:17",
      "shift exponent 64 is too large for 64-bit type 'long unsigned int'",
      "CPU: 1 PID: 60 Comm: uffd-race Not tainted 6.1.55 #1",
      "Call Trace:",
      " <TASK>",
      " dump_stack_lvl+0x44/0x5c",
      " ubsan_epilogue+0x5/0x40",
      " __ubsan_handle_shift_out_of_bounds.cold+0x61/0xef",
      " huge_pte_alloc.isra.0+0x1a/0x90",
      " hugetlb_fault+0x8c/0xb30",
  });
  auto c = detect_crashes(text);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, CrashKind::Ubsan);
  EXPECT_EQ(c[0].title, "UBSAN: shift-out-of-bounds in huge_pte_alloc");
  // Without a symbolized trace the file (no line) stands in.
  auto raw = detect_crashes("UBSAN: array-index-out-of-bounds in mm/hugetlb.c:12:3\nCall Trace:\n ? 0xffffffff8101\n");
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].title, "UBSAN: array-index-out-of-bounds in mm/hugetlb.c");
}

TEST(OopsSignatures, DoubleFaultAndHardLockup) {
  auto d = detect_crashes(join({"PANIC: double fault, error_code: 0x0", "CPU: 0 PID: 60 Comm: uffd-race",
                                "RIP: 0010:hugetlb_fault+0x10/0xb30", "Kernel panic - not syncing: Machine halted."}));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, CrashKind::DoubleFault);
  EXPECT_EQ(d[0].title, "PANIC: double fault in hugetlb_fault");
  auto h = detect_crashes(join({"NMI watchdog: Watchdog detected hard LOCKUP on cpu 1", "Modules linked in:",
                                "RIP: 0010:hugetlb_change_protection+0x2b1/0x5c0"}));
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].kind, CrashKind::HardLockup);
  EXPECT_EQ(h[0].title, "BUG: hard lockup in hugetlb_change_protection");
}

TEST(OopsSignatures, Arm64StyleFaults) {
  auto c = detect_crashes(join({"Unable to handle kernel paging request at virtual address ffff800008e3c000",
                                "Mem abort info:", "Internal error: Oops: 0000000096000007 [#1] PREEMPT SMP",
                                "pc : hugetlb_fault+0x1a4/0xa50", "lr : handle_mm_fault+0x18a/0x2c0",
                                "Kernel panic - not syncing: Oops: Fatal exception"}));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, CrashKind::PageFault);
  EXPECT_EQ(c[0].title, "BUG: unable to handle page fault in hugetlb_fault");
  auto n = detect_crashes("Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008\n");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].kind, CrashKind::NullDeref);
}

TEST(OopsSignatures, StandaloneOopsAndPanic) {
  auto o = detect_crashes("Oops: 0000 [#1] PREEMPT SMP\nRIP: 0010:hugetlb_fault+0x1/0x2\n");
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].kind, CrashKind::Oops);
  EXPECT_EQ(o[0].title, "Oops in hugetlb_fault");
  auto p = detect_crashes("Kernel panic - not syncing: Out of memory and no killable processes...\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, CrashKind::Panic);
  EXPECT_EQ(p[0].title, "Kernel panic - not syncing: Out of memory and no killable processes...");
  auto k = detect_crashes("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300\n");
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].kind, CrashKind::BootPanic);
  EXPECT_EQ(k[0].title, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300");
}

TEST(OopsSignatures, GenericBugTitlesDropVariableParts) {
  auto c = detect_crashes(join({
      "BUG: sleeping function called from invalid context at mm/hugetlb.c:5123",
      "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 60, name: uffd-race",
      "Call Trace:",
      " dump_stack_lvl+0x44/0x5c",
      " __might_resched.cold+0xd6/0x10c",
      " hugetlb_change_protection+0x123/0x5c0",
  }));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, CrashKind::Bug);
  EXPECT_EQ(c[0].title, "BUG: sleeping function called from invalid context in hugetlb_change_protection");
  auto b = detect_crashes("[   33.1] BUG: Bad page state in process uffd-race  pfn:0a123\n");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].title, "BUG: Bad page state");
  auto s = detect_crashes("BUG: scheduling while atomic: uffd-race/60/0x00000002\n");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].title, "BUG: scheduling while atomic");
}

TEST(OopsSignatures, LockdepWarningNeedsItsBanner) {
  auto with = detect_crashes(join({"", "======================================================",
                                   "WARNING: possible circular locking dependency detected",
                                   "6.1.55 #1 Not tainted"}));
  ASSERT_EQ(with.size(), 1u);
  EXPECT_EQ(with[0].kind, CrashKind::Warning);
  EXPECT_EQ(with[0].title, "WARNING: possible circular locking dependency detected");
  EXPECT_TRUE(detect_crashes("WARNING: some boot-time advice\n").empty());
}

TEST(OopsSignatures, UserSpaceFaultsAreNotKernelCrashes) {
  EXPECT_TRUE(detect_crashes(join({
                  "traps: uffd-race[60] general protection fault ip:401a2b sp:7ffd4c3e8e70 error:0 in uffd-race",
                  "uffd-race[61]: segfault at 8 ip 0000000000401d5e sp 00007f3a4f7fde40 error 4 in uffd-race",
                  "---[ end Kernel panic - not syncing: Fatal exception ]---",
                  "---[ end trace 0000000000000000 ]---",
                  "racebisect says: no BUG here",
              }))
                  .empty());
}

TEST(OopsSignatures, TitlesAreStableAcrossRuns) {
  auto run = [](const char* addr, const char* pid, const char* off) {
    return detect_crashes(std::string("[  ") + pid + ".1] BUG: kernel NULL pointer dereference, address: " + addr +
                          "\nCPU: 1 PID: " + pid + " Comm: uffd-race\nRIP: 0010:hugetlb_fault+" + off +
                          "/0xa50\n");
  };
  auto a = run("0000000000000008", "60", "0x1a4");
  auto b = run("0000000000000010", "1234", "0x1b0");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].title, b[0].title);
}

TEST(OopsSignatures, MarkerInTheMiddleOfATestLine) {
  // printk interleaved with our output: the report still counts.
  auto c = detect_crashes(
      "ok 3 trial events=0[   20.100000] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
      "[   20.100400] RIP: 0010:hugetlb_fault+0x1a4/0xa50\n");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].title, "BUG: kernel NULL pointer dereference in hugetlb_fault");
}

TEST(OopsSignatures, PanicAfterAWarningIsItsOwnCrashUnlessPanicOnWarn) {
  const std::string warn = "WARNING: CPU: 1 PID: 57 at mm/hugetlb.c:1234 hugetlb_fault+0x2a4/0xb30\n";
  auto own = detect_crashes(warn + "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009\n");
  ASSERT_EQ(own.size(), 2u);
  EXPECT_EQ(own[1].kind, CrashKind::BootPanic);
  auto folded = detect_crashes(warn + "Kernel panic - not syncing: kernel: panic_on_warn set ...\n");
  ASSERT_EQ(folded.size(), 1u);
  EXPECT_EQ(folded[0].title, "WARNING in hugetlb_fault");
}

TEST(OopsSignatures, SeparateWarningsAreSeparateCrashesInOrder) {
  auto c = detect_crashes(join({
      "WARNING: CPU: 1 PID: 57 at mm/hugetlb.c:1234 hugetlb_fault+0x2a4/0xb30",
      "---[ end trace 0000000000000000 ]---",
      "ok 2 trial",
      "WARNING: CPU: 0 PID: 58 at mm/userfaultfd.c:99 mwriteprotect_range+0x1/0x2",
      "---[ end trace 0000000000000000 ]---",
  }));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].title, "WARNING in hugetlb_fault");
  EXPECT_EQ(c[1].title, "WARNING in mwriteprotect_range");
  EXPECT_EQ(c[1].line, 4u);
}

TEST(OopsSignatures, WarningWithoutFunctionFallsBackToRipThenFile) {
  auto rip = detect_crashes("WARNING: CPU: 1 PID: 57 at mm/hugetlb.c:1234\nRIP: 0010:hugetlb_fault+0x2a4/0xb30\n");
  ASSERT_EQ(rip.size(), 1u);
  EXPECT_EQ(rip[0].title, "WARNING in hugetlb_fault");
  auto file = detect_crashes("WARNING: CPU: 1 PID: 57 at mm/hugetlb.c:1234\nRIP: 0010:0xffffffff810c7a14\n");
  ASSERT_EQ(file.size(), 1u);
  EXPECT_EQ(file[0].title, "WARNING in mm/hugetlb.c");
}

TEST(OopsSignatures, AnOopsStormIsBounded) {
  std::string text;
  for (int i = 0; i < 500; ++i)
    text += "WARNING: CPU: 0 PID: 1 at mm/x.c:" + std::to_string(i) + " f" + std::to_string(i) + "+0x1/0x2\n";
  auto c = detect_crashes(text);
  EXPECT_EQ(c.size(), CrashDetector::kMaxCrashes);
  EXPECT_EQ(c.back().title, "WARNING in f63");
}

TEST(OopsSignatures, LongTitlesAreCutOnACharacterBoundary) {
  std::string msg;
  for (int i = 0; i < 150; ++i) msg += "\xc3\xa9";  // 300 bytes of "é"
  auto c = detect_crashes("Kernel panic - not syncing: x" + msg + "\n");
  ASSERT_EQ(c.size(), 1u);
  // "Kernel panic - not syncing: " + 200 bytes of message, the last "é" not split.
  EXPECT_EQ(c[0].title, "Kernel panic - not syncing: x" + msg.substr(0, 198));
  auto w = detect_crashes("kernel BUG at " + std::string(5000, 'a') + ".c:1!\n");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_LE(w[0].title.size(), CrashDetector::kMaxTitle);
}

TEST(OopsSignatures, TitleIsRefinedAsLinesArrive) {
  std::vector<Crash> out;
  CrashDetector d;
  d.add_line("BUG: kernel NULL pointer dereference, address: 0000000000000008", 1, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].title, "BUG: kernel NULL pointer dereference");
  d.add_line("Oops: 0000 [#1] PREEMPT SMP", 2, out);
  EXPECT_EQ(out.size(), 1u);
  d.add_line("RIP: 0010:hugetlb_fault+0x1a4/0xa50", 3, out);
  EXPECT_EQ(out[0].title, "BUG: kernel NULL pointer dereference in hugetlb_fault");
  d.add_line("RIP: 0010:other_function+0x1/0x2", 4, out);  // settled: later RIPs do not change it
  EXPECT_EQ(out[0].title, "BUG: kernel NULL pointer dereference in hugetlb_fault");
}

TEST(OopsSignatures, FunctionSearchGivesUpAfterAWhile) {
  std::string text = "BUG: kernel NULL pointer dereference, address: 0000000000000008\n";
  for (int i = 0; i < 200; ++i) text += "filler\n";
  text += "RIP: 0010:far_away+0x1/0x2\n";
  auto c = detect_crashes(text);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].title, "BUG: kernel NULL pointer dereference");
}

// ---- helpers --------------------------------------------------------------

TEST(OopsHelpers, StripTimestamp) {
  EXPECT_EQ(strip_timestamp("[   12.345678] BUG: x"), "BUG: x");
  EXPECT_EQ(strip_timestamp("[   12.345678] [    T1] BUG: x"), "BUG: x");
  EXPECT_EQ(strip_timestamp("[   12.345678][  C0] BUG: x"), "BUG: x");
  EXPECT_EQ(strip_timestamp("[     T1] BUG: x"), "BUG: x");  // PRINTK_CALLER alone
  EXPECT_EQ(strip_timestamp("[ T] x"), "[ T] x");
  EXPECT_EQ(strip_timestamp("[mem 0x0-0x1] usable"), "[mem 0x0-0x1] usable");
  EXPECT_EQ(strip_timestamp("no stamp"), "no stamp");
  EXPECT_EQ(strip_timestamp("[ 1.0"), "[ 1.0");
  EXPECT_EQ(strip_timestamp(""), "");
}

TEST(OopsHelpers, RipAndFrames) {
  EXPECT_EQ(rip_function("RIP: 0010:hugetlb_fault+0x1a4/0xa50"), "hugetlb_fault");
  EXPECT_EQ(rip_function("[ 1.2] RIP: 0010:hugetlb_fault.cold+0x1a4/0xa50 mm/hugetlb.c:5123"), "hugetlb_fault");
  EXPECT_EQ(rip_function("RIP: 0033:0x401d5e"), "");
  EXPECT_EQ(rip_function("RIP: 0010:0xffffffff810c7a14"), "");
  EXPECT_EQ(rip_function("RIP: 0010:[<ffffffff81234567>]  [<ffffffff81234567>] old_style+0x1/0x2"), "old_style");
  EXPECT_EQ(rip_function("pc : hugetlb_fault+0x1a4/0xa50"), "hugetlb_fault");
  EXPECT_EQ(rip_function("RSP: 0000:ffffc900001e7d28 EFLAGS: 00010246"), "");
  EXPECT_EQ(frame_function(" handle_mm_fault+0x18a/0x2c0"), "handle_mm_fault");
  EXPECT_EQ(frame_function(" ? __die+0x1f/0x70"), "");
  EXPECT_EQ(frame_function(" ? 0xffffffff811dc50b"), "");
  EXPECT_EQ(frame_function(" huge_pte_alloc.constprop.0+0x1a/0x90 [hugetlb]"), "huge_pte_alloc");
  EXPECT_EQ(frame_function(" <TASK>"), "");
  EXPECT_EQ(frame_function("Call Trace:"), "");
  EXPECT_EQ(clean_function("foo.isra.0"), "foo");
  EXPECT_TRUE(uninteresting_function("__schedule"));
  EXPECT_TRUE(uninteresting_function("rwsem_down_write_slowpath"));
  EXPECT_TRUE(uninteresting_function("native_queued_spin_lock_slowpath"));
  EXPECT_FALSE(uninteresting_function("hugetlb_fault"));
  EXPECT_FALSE(uninteresting_function("downgrade_write"));  // "down" is exact, "down_" a prefix
  EXPECT_EQ(std::string(to_string(CrashKind::BootPanic)), "boot-panic");
}

}  // namespace
}  // namespace rb::console
