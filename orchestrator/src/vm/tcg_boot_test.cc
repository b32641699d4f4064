#include "vm/tcg_boot.h"

#include <gtest/gtest.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <string>

#include "util/validate.h"
#include "vm/qemu.h"

namespace rb::vm {
namespace {

TEST(TcgBoot, TscIsInvariantOnlyWithBothFlags) {
  struct Row {
    const char* flags;
    bool invariant;
  };
  const Row rows[] = {
      {"flags\t\t: fpu tsc constant_tsc nonstop_tsc rdtscp", true},
      {"flags\t\t: fpu tsc constant_tsc rdtscp", false},
      {"flags\t\t: fpu tsc nonstop_tsc", false},
      {"flags\t\t: fpu tsc xconstant_tsc nonstop_tscx", false},
      {"", false},
  };
  for (const auto& r : rows) EXPECT_EQ(tsc_is_invariant(r.flags), r.invariant) << r.flags;
}

// One row per case: the command line a TCG boot gets.
TEST(TcgBoot, PresetsAddWhatIsKnownNewAndFits) {
  const std::string nearly_full(validate::kMaxKernelCmdline - 30, 'x');
  struct Row {
    std::string cmdline;
    std::optional<long> khz;
    std::optional<int> hz;
    std::string result;
  };
  const Row rows[] = {
      // the kernel's own lpj on that TSC ("Calibrating delay loop (skipped) ... (lpj=9781136)")
      {"console=ttyS0", 2445284, 250, "console=ttyS0 tsc_early_khz=2445284 lpj=9781136"},
      {"console=ttyS0", 2445284, 1000, "console=ttyS0 tsc_early_khz=2445284 lpj=2445284"},
      {"console=ttyS0", 2445284, std::nullopt, "console=ttyS0 tsc_early_khz=2445284"},  // HZ unknown: no lpj
      {"console=ttyS0", std::nullopt, 250, "console=ttyS0"},                          // no rate: nothing
      // the user's rate stays, and no lpj of ours contradicts it
      {"console=ttyS0 tsc_early_khz=1000000", 2445284, 250, "console=ttyS0 tsc_early_khz=1000000"},
      {"console=ttyS0 tsc-early-khz=1000000", 2445284, 250, "console=ttyS0 tsc-early-khz=1000000"},
      {"console=ttyS0 lpj=5", 2445284, 250, "console=ttyS0 lpj=5 tsc_early_khz=2445284"},
      // words, not substrings
      {"rb.args=xlpj=5,ytsc_early_khz=1", 2445284, 250,
       "rb.args=xlpj=5,ytsc_early_khz=1 tsc_early_khz=2445284 lpj=9781136"},
      // kernel parameters go before "--"; init's arguments after it are not the kernel's
      {"console=ttyS0 -- lpj=5", 2445284, 250, "console=ttyS0 tsc_early_khz=2445284 lpj=9781136 -- lpj=5"},
      {nearly_full, 2445284, 250, nearly_full},  // would not fit
  };
  for (const auto& r : rows) EXPECT_EQ(with_tcg_presets(r.cmdline, r.khz, r.hz), r.result) << r.cmdline.substr(0, 40);
}

#if defined(__x86_64__)
double monotonic_raw_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
#endif

// The measured rate is the rate: an independent, longer measurement agrees
// to 1% (a unit slip would be off by 1000x, a bad window by far more than 1%).
TEST(TcgBoot, HostTscRateAgreesWithALongerMeasurement) {
  const auto khz = host_tsc_khz();
  if (!khz) GTEST_SKIP() << "no invariant x86 TSC here: no rate is given to guests";
  EXPECT_EQ(host_tsc_khz(), khz) << "measured once per process";
#if defined(__x86_64__)
  const double t0 = monotonic_raw_s();
  const unsigned long long c0 = __rdtsc();
  timespec nap{0, 200'000'000};
  nanosleep(&nap, nullptr);
  const double rate_khz = static_cast<double>(__rdtsc() - c0) / (monotonic_raw_s() - t0) / 1000.0;
  EXPECT_NEAR(static_cast<double>(*khz), rate_khz, rate_khz * 0.01);
#endif
}

bool has(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

std::string append_of(const std::vector<std::string>& argv) {
  const auto it = std::find(argv.begin(), argv.end(), "-append");
  return it == argv.end() ? "" : *(it + 1);
}

bool has_word(const std::string& cmdline, const std::string& prefix) {
  return (" " + cmdline).find(" " + prefix) != std::string::npos;
}

// The real argv: a TCG boot gets qboot where it is installed and the host's
// rate where the TSC is invariant, lpj only with the kernel's HZ; a KVM boot
// gets neither.
TEST(TcgBoot, OnlyTcgBootsGetQbootAndThePresets) {
  BootSpec spec;
  spec.kernel = "/k";
  spec.initrd = "/i";
  spec.console_log = "/c";
  spec.cmdline = "console=ttyS0 rb.test=none";
  spec.accel = Accel::Tcg;
  const auto rate = host_tsc_khz();
  const auto bare = qemu_command(spec);
  EXPECT_EQ(has(bare, "-bios"), qboot_rom().has_value());
  if (qboot_rom()) {
    EXPECT_TRUE(has(bare, qboot_rom()->string()));
  }
  EXPECT_EQ(has_word(append_of(bare), "tsc_early_khz=" + (rate ? std::to_string(*rate) : "")), rate.has_value());
  EXPECT_FALSE(has_word(append_of(bare), "lpj=")) << "no HZ, no lpj";
  spec.kernel_hz = 250;
  const auto with_hz = qemu_command(spec);
  EXPECT_EQ(has_word(append_of(with_hz), "lpj=" + (rate ? std::to_string(*rate * 4) : "")), rate.has_value());
  spec.accel = Accel::Kvm;
  const auto kvm = qemu_command(spec);
  EXPECT_FALSE(has(kvm, "-bios"));
  EXPECT_EQ(append_of(kvm), spec.cmdline);
}

}  // namespace
}  // namespace rb::vm
