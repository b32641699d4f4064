// What shortens a TCG boot without changing the guest the test runs in
// (measured in docs/PERFORMANCE.md, "Firmware and calibration presets"):
//
// - qboot instead of SeaBIOS: a firmware that only loads the kernel. It
//   passes QEMU's own ACPI tables on, so the guest sees every vCPU.
// - tsc_early_khz=: the kernel's PIT calibration fails under TCG and its
//   slow fallback measures the TSC against the HPET for ~90 ms. Under TCG
//   the guest's TSC *is* the host's (QEMU reads the host TSC), so the host
//   can measure the rate once and tell the kernel.
// - lpj=: the secondary vCPU's delay-loop calibration fails under TCG too
//   and falls back to a slow loop. With the TSC as the delay timer a jiffy
//   is tsc_khz * 1000 / HZ loops, so it is preset when HZ is known.
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

// The host TSC rate in kHz, measured once per process against
// CLOCK_MONOTONIC_RAW. nullopt unless /proc/cpuinfo says the TSC ticks at
// one rate whatever the CPU's clock or sleep state (constant_tsc and
// nonstop_tsc): otherwise a measured rate may be wrong a moment later.
std::optional<long> host_tsc_khz();

// `flags`: the "flags" line of /proc/cpuinfo.
bool tsc_is_invariant(const std::string& flags);

// The kernel arguments a TCG boot adds to `cmdline` (leading space
// included): empty when nothing applies, when `cmdline` sets them already,
// or when they would not fit the kernel's command line.
std::string tcg_cmdline_presets(const std::string& cmdline, std::optional<long> tsc_khz, std::optional<int> hz);

}  // namespace rb::vm
