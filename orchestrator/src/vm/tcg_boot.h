// What shortens a TCG boot without changing the guest the test runs in
// (measured in docs/PERFORMANCE.md, "Where a TCG boot's time went"):
//
// - qboot instead of SeaBIOS: a firmware that only loads the kernel. It
//   passes QEMU's own ACPI tables on, so the guest sees every vCPU.
// - tsc_early_khz=: the kernel's quick PIT calibration fails in some TCG
//   boots and its fallback measures the TSC against the HPET. Under TCG
//   (without -icount) the guest's TSC ticks at the host TSC's rate (QEMU
//   reads the host TSC, plus an offset), so the host measures the rate once
//   and tells the kernel.
// - lpj=: qemu64 has no constant TSC, so the secondary vCPU cannot reuse
//   the boot CPU's delay loop (calibrate_delay_is_known) and its direct
//   calibration fails under TCG, falling back to a slow loop. With the TSC
//   as the delay timer a jiffy is tsc_khz * 1000 / HZ loops -- the value
//   the kernel computes itself -- so it is preset when HZ is known.
//
// Only the local QEMU backend uses these: a libvirt host may be another
// machine, with another TSC and another QEMU data directory.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace rb::vm {

// Debian's qemu-system-data ships it; nullopt where it is missing.
std::optional<std::filesystem::path> qboot_rom();

// The host TSC rate in kHz, measured once per process (the first call
// takes 50 ms) against CLOCK_MONOTONIC_RAW. nullopt on a non-x86 host, and
// unless /proc/cpuinfo says the TSC ticks at one rate whatever the CPU's
// clock or sleep state (constant_tsc and nonstop_tsc).
std::optional<long> host_tsc_khz();

// `flags`: the "flags" line of /proc/cpuinfo.
bool tsc_is_invariant(const std::string& flags);

// `cmdline` with what a TCG boot adds: tsc_early_khz= when the rate is
// known, lpj= when HZ is known too. Kernel parameters only: they go before
// a "--" (after it the words are init's). Nothing is added that the kernel
// command line sets already (the kernel reads '-' as '_' in names), no lpj
// when the user set the TSC rate (the two would disagree), and nothing
// that would not fit the kernel's command line.
std::string with_tcg_presets(const std::string& cmdline, std::optional<long> tsc_khz, std::optional<int> hz);

}  // namespace rb::vm
