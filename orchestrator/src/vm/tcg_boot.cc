#include "vm/tcg_boot.h"

#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

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
#if defined(__x86_64__)
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && !line.starts_with("flags")) {}
  if (!tsc_is_invariant(line)) return std::nullopt;
  // 50 ms: a few microseconds of jitter at either end is < 0.01%. A signal
  // must not shorten the window, so sleep until it has passed.
  const double t0 = monotonic_raw_s();
  const unsigned long long c0 = __rdtsc();
  timespec left{0, 50'000'000};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {}
  const unsigned long long c1 = __rdtsc();
  const double t1 = monotonic_raw_s();
  if (c1 <= c0 || t1 - t0 < 0.045) return std::nullopt;
  const long khz = static_cast<long>(static_cast<double>(c1 - c0) / (t1 - t0) / 1000.0 + 0.5);
  if (khz < 100'000 || khz > 10'000'000) return std::nullopt;  // 0.1-10 GHz, else not a TSC we understand
  return khz;
#else
  return std::nullopt;  // the guest's TSC is the host's cycle counter only on an x86 host
#endif
}

// Where the kernel's parameters end: at a "--" word (the words after it
// are init's), or at the end.
size_t kernel_part_end(const std::string& cmdline) {
  auto space = [&](size_t i) { return std::isspace(static_cast<unsigned char>(cmdline[i])) != 0; };
  for (size_t pos = 0; (pos = cmdline.find("--", pos)) != std::string::npos; pos += 2)
    if ((pos == 0 || space(pos - 1)) && (pos + 2 == cmdline.size() || space(pos + 2))) return pos;
  return cmdline.size();
}

// The words of `kernel_part`, with '-' read as '_' in names as the kernel does.
std::vector<std::string> kernel_words(const std::string& kernel_part) {
  std::vector<std::string> out;
  std::istringstream words(kernel_part);
  for (std::string w; words >> w;) {
    const auto eq = w.find('=');
    std::replace(w.begin(), eq == std::string::npos ? w.end() : w.begin() + static_cast<long>(eq), '-', '_');
    out.push_back(w);
  }
  return out;
}

}  // namespace

std::optional<long> host_tsc_khz() {
  static std::once_flag once;
  static std::optional<long> khz;
  std::call_once(once, [] { khz = measure_tsc_khz(); });
  return khz;
}

std::string with_tcg_presets(const std::string& cmdline, std::optional<long> tsc_khz, std::optional<int> hz) {
  if (!tsc_khz) return cmdline;
  const size_t end = kernel_part_end(cmdline);
  std::string head = cmdline.substr(0, end);
  const auto words = kernel_words(head);
  auto given = [&](const std::string& key) {
    return std::any_of(words.begin(), words.end(), [&](const std::string& w) { return w.starts_with(key); });
  };
  if (given("tsc_early_khz=")) return cmdline;  // the user's rate: no lpj of ours to contradict it
  std::string extra = "tsc_early_khz=" + std::to_string(*tsc_khz);
  if (hz && *hz > 0 && !given("lpj=")) extra += " lpj=" + std::to_string(*tsc_khz * 1000 / *hz);
  if (cmdline.size() + extra.size() + 1 >= validate::kMaxKernelCmdline) return cmdline;
  while (!head.empty() && std::isspace(static_cast<unsigned char>(head.back()))) head.pop_back();
  return head + (head.empty() ? "" : " ") + extra + (end < cmdline.size() ? " " + cmdline.substr(end) : "");
}

}  // namespace rb::vm
