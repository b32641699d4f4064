#include "vm/tcg_boot.h"

#include <gtest/gtest.h>
#include <time.h>
#include <x86intrin.h>

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

// One row per case: what a TCG boot adds to the command line.
TEST(TcgBoot, PresetsAddWhatIsKnownNewAndFits) {
  const std::string nearly_full(validate::kMaxKernelCmdline - 30, 'x');
  struct Row {
    std::string cmdline;
    std::optional<long> khz;
    std::optional<int> hz;
    std::string added;
  };
  const Row rows[] = {
      {"console=ttyS0", 2445284, 250, " tsc_early_khz=2445284 lpj=9781136"},  // the kernel's own lpj on that TSC
      {"console=ttyS0", 2445284, 1000, " tsc_early_khz=2445284 lpj=2445284"},
      {"console=ttyS0", 2445284, std::nullopt, " tsc_early_khz=2445284"},  // HZ unknown: no lpj
      {"console=ttyS0", std::nullopt, 250, ""},                            // no rate: nothing
      {"console=ttyS0 tsc_early_khz=1000000", 2445284, 250, " lpj=9781136"},
      {"console=ttyS0 lpj=5", 2445284, 250, " tsc_early_khz=2445284"},
      {nearly_full, 2445284, 250, ""},  // would not fit
  };
  for (const auto& r : rows)
    EXPECT_EQ(tcg_cmdline_presets(r.cmdline, r.khz, r.hz), r.added) << r.cmdline.substr(0, 40);
}

double monotonic_raw_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The measured rate is the rate: an independent, longer measurement agrees
// to 1% (a unit slip would be off by 1000x, a bad window by far more than 1%).
TEST(TcgBoot, HostTscRateAgreesWithALongerMeasurement) {
  const auto khz = host_tsc_khz();
  if (!khz) GTEST_SKIP() << "this host's TSC is not invariant: no rate is given to guests";
  EXPECT_EQ(host_tsc_khz(), khz) << "measured once per process";
  const double t0 = monotonic_raw_s();
  const unsigned long long c0 = __rdtsc();
  timespec nap{0, 200'000'000};
  nanosleep(&nap, nullptr);
  const double rate_khz = static_cast<double>(__rdtsc() - c0) / (monotonic_raw_s() - t0) / 1000.0;
  EXPECT_NEAR(static_cast<double>(*khz), rate_khz, rate_khz * 0.01);
}

bool has(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

std::string append_of(const std::vector<std::string>& argv) {
  const auto it = std::find(argv.begin(), argv.end(), "-append");
  return it == argv.end() ? "" : *(it + 1);
}

TEST(TcgBoot, OnlyTcgBootsGetQbootAndTheRate) {
  BootSpec spec;
  spec.kernel = "/k";
  spec.initrd = "/i";
  spec.console_log = "/c";
  spec.cmdline = "console=ttyS0 rb.test=none";
  spec.accel = Accel::Tcg;
  spec.kernel_hz = 250;
  const auto tcg = qemu_command(spec);
  EXPECT_EQ(has(tcg, "-bios"), qboot_rom().has_value());
  if (qboot_rom()) {
    EXPECT_TRUE(has(tcg, qboot_rom()->string()));
  }
  EXPECT_EQ(append_of(tcg), spec.cmdline + tcg_cmdline_presets(spec.cmdline, host_tsc_khz(), 250));
  spec.accel = Accel::Kvm;
  const auto kvm = qemu_command(spec);
  EXPECT_FALSE(has(kvm, "-bios"));
  EXPECT_EQ(append_of(kvm), spec.cmdline);
}

}  // namespace
}  // namespace rb::vm
