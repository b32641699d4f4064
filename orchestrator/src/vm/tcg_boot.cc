#include "vm/tcg_boot.h"

#include <time.h>
#include <x86intrin.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "util/validate.h"

namespace rb::vm {

std::optional<std::filesystem::path> qboot_rom() {
  const std::filesystem::path p = "/usr/share/qemu/qboot.rom";
  std::error_code ec;
  if (std::filesystem::is_regular_file(p, ec)) return p;
  return std::nullopt;
}

bool tsc_is_invariant(const std::string& flags) {
  std::istringstream words(flags);
  bool constant = false, nonstop = false;
  for (std::string w; words >> w;) {
    constant = constant || w == "constant_tsc";
    nonstop = nonstop || w == "nonstop_tsc";
  }
  return constant && nonstop;
}

namespace {

double monotonic_raw_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::optional<long> measure_tsc_khz() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && !line.starts_with("flags")) {}
  if (!tsc_is_invariant(line)) return std::nullopt;
  // 50 ms: a few microseconds of jitter at either end is < 0.01%.
  const double t0 = monotonic_raw_s();
  const unsigned long long c0 = __rdtsc();
  timespec nap{0, 50'000'000};
  nanosleep(&nap, nullptr);
  const unsigned long long c1 = __rdtsc();
  const double t1 = monotonic_raw_s();
  if (c1 <= c0 || t1 <= t0) return std::nullopt;
  const long khz = static_cast<long>(static_cast<double>(c1 - c0) / (t1 - t0) / 1000.0 + 0.5);
  if (khz < 100'000 || khz > 10'000'000) return std::nullopt;  // 0.1-10 GHz, else not a TSC we understand
  return khz;
}

}  // namespace

std::optional<long> host_tsc_khz() {
  static std::once_flag once;
  static std::optional<long> khz;
  std::call_once(once, [] { khz = measure_tsc_khz(); });
  return khz;
}

std::string tcg_cmdline_presets(const std::string& cmdline, std::optional<long> tsc_khz, std::optional<int> hz) {
  // A value the user gave (racebisect boot --append) stays theirs.
  auto given = [&](const char* word) { return cmdline.find(word) != std::string::npos; };
  if (!tsc_khz) return "";
  std::string extra;
  if (!given("tsc_early_khz=")) extra += " tsc_early_khz=" + std::to_string(*tsc_khz);
  if (hz && *hz > 0 && !given("lpj=")) extra += " lpj=" + std::to_string(*tsc_khz * 1000 / *hz);
  if (cmdline.size() + extra.size() >= validate::kMaxKernelCmdline) return "";
  return extra;
}

}  // namespace rb::vm
