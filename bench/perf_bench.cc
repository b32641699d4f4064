// perf_bench: racebisect's speed against its peers, measured side by side in
// one run and printed as ONE table of ratios with the machine described.
// Run it through bench/perf (which builds it); `--help` lists the options.
//
//   1. boot to first trial: the case's kernel vs the distribution kernel
//      (/boot/vmlinuz-*), same initramfs, same QEMU command, interleaved;
//   2. time from QEMU start to the first failure on the fix-reverted kernel:
//      racebisect's guest test vs the upstream selftest (`userfaultfd hugetlb
//      32 8`, built static from the same source tree, looped in one boot);
//      runs without a failure are censored at their length and shown as such;
//   3. throughput: trials/s and failures/s, 1 and 2 VMs, one long boot vs many
//      short boots;
//   4. kernel builds in a private temporary cache: tarball import, clean,
//      incremental (the fix revert touches mm/hugetlb.c), cache hit, with and
//      without ccache;
//   5. end to end: `racebisect reproduce` warm (shared cache) and cold (empty
//      cache); with --bisect the 32-commit bisection of scripts/make-bisect-repo.
//
// Each section holds the team's heavy lock from its start to its end (one
// heavy job at a time; --lock-per-batch releases it between batches); the
// 1-minute load average at the start and end of each section is printed with
// its rows so a loaded measurement can be told apart. Nothing here asserts a
// speed.
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "image/initramfs.h"
#include "kernel/build.h"
#include "kernel/source.h"
#include "run/paths.h"
#include "run/settings.h"
#include "run/trial_runner.h"
#include "stats/binomial.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/process.h"
#include "vm/qemu.h"
#include "vm/tcg_boot.h"

namespace rb::bench {
namespace {

using Clock = std::chrono::steady_clock;
using record::BootRecord;
using record::Outcome;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Options {
  bool quick = false, bisect = false, lock = true, lock_per_section = true, clean_builds = true, cold_e2e = true;
  std::string sections = "machine,boot,candidates,ttff,throughput,build,e2e";
  int boots = 10;             // boot-time boots per kernel
  int ttff_boots = 5;         // time-to-first-failure boots per tool
  int selftest_boots = -1;    // selftest boots, if not ttff_boots (each may last its cap)
  int selftest_cap_s = 150;   // a selftest boot without a failure is censored here
  int ttff_cap_s = 60;        // same for racebisect's guest test
  int tp_trials = 12;         // trials per throughput configuration
  std::string lock_path = "/tmp/racebisect-heavy.lock";
  std::string cache, work, json, racebisect = RB_BINARY, selftest_loop = RB_SELFTEST_LOOP;
  std::string distro_kernel;  // default: newest /boot/vmlinuz-*
};

// ---- small statistics -------------------------------------------------------

struct Spread {
  double min = NAN, med = NAN, max = NAN;
  size_t n = 0;
};
Spread spread(std::vector<double> v) {
  Spread s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.med = stats::median(v);
  return s;
}

// Chi-square quantile by bisection on the CDF (dof >= 1).
double chi2_quantile(double p, int dof) {
  if (p <= 0) return 0;
  double lo = 0, hi = 1;
  while (1 - stats::chi2_survival(hi, dof) < p) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    double mid = (lo + hi) / 2;
    (1 - stats::chi2_survival(mid, dof) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}
// Exact (Garwood) 95% interval for a Poisson rate: k events in t seconds.
stats::Interval garwood(int k, double t) {
  if (t <= 0) return {NAN, NAN};
  return {k == 0 ? 0.0 : chi2_quantile(0.025, 2 * k) / (2 * t), chi2_quantile(0.975, 2 * k + 2) / (2 * t)};
}

double load1() {
  std::ifstream in("/proc/loadavg");
  double l = NAN;
  in >> l;
  return l;
}

// ---- the table --------------------------------------------------------------

struct Row {
  std::string section, what, ours, peer, ratio, n;
  double load_start = NAN, load_end = NAN;
};

std::string secs(double s) { return std::isnan(s) ? "-" : s < 10 ? fmt::format("{:.2f} s", s) : fmt::format("{:.0f} s", s); }
std::string spread_str(const Spread& s) {
  if (!s.n) return "-";
  return fmt::format("{} [{:.2f}..{:.2f}]", secs(s.med), s.min, s.max);
}
std::string ratio_str(double r, bool lower_bound = false) {
  if (std::isnan(r) || std::isinf(r)) return "-";
  return fmt::format("{}{:.1f}x", lower_bound ? ">=" : "", r);
}

// ---- context ----------------------------------------------------------------

struct Ctx {
  Options o;
  run::Settings s;
  fs::path cache, work;
  std::unique_ptr<run::TrialRunner> runner;
  std::optional<kernel::BuildArtifact> patched, unpatched;
  run::KernelVariant bug, fixed;
  std::vector<Row> rows;
  std::vector<std::pair<std::string, std::string>> machine;
  nlohmann::json json;
  int boot_index = 0;
  bool section_locked = false;  // the whole section holds the heavy lock
};

// The heavy lock for one measurement batch (a no-op with --no-lock, for a run
// that already holds it, e.g. ctest under flock, and inside a section that
// holds it: flock on a second descriptor of the same file would deadlock).
class Heavy {
 public:
  explicit Heavy(const Ctx& c) {
    if (c.o.lock && !c.section_locked) lock_.emplace(c.o.lock_path);
  }

 private:
  std::optional<FileLock> lock_;
};

// Builds run niced (the machine is shared); boots do not (TCG timing).
class Niced {
 public:
  Niced() : before_(getpriority(PRIO_PROCESS, 0)) { setpriority(PRIO_PROCESS, 0, 10); }
  ~Niced() {
    if (setpriority(PRIO_PROCESS, 0, before_) != 0) spdlog::warn("could not restore the priority after a build");
  }

 private:
  int before_;
};

const run::KernelVariant& variant_of_role(const run::Settings& s, const std::string& role) {
  for (const auto& k : s.kernels)
    if (k.role == role) return k;
  throw usage_error("the case has no kernel with role " + role);
}

kernel::KernelSpec spec_for(const run::Settings& s, const run::KernelVariant& v) {
  std::vector<fs::path> patches = s.patches;
  patches.insert(patches.end(), v.patches.begin(), v.patches.end());
  return kernel::KernelSpec{v.label, s.source, patches, s.fragments, "tinyconfig"};
}

void ensure_kernels(Ctx& c) {
  if (c.patched && c.unpatched) return;
  Heavy h(c);
  Niced n;
  c.patched = c.runner->build(spec_for(c.s, c.fixed));
  c.unpatched = c.runner->build(spec_for(c.s, c.bug));
}

// The kernel release string from a bzImage's setup header (offset 0x20e
// holds the version string's offset minus 0x200).
std::string bzimage_version(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  unsigned char off[2] = {0, 0};
  in.seekg(0x20e);
  in.read(reinterpret_cast<char*>(off), 2);
  if (!in) return "?";
  in.seekg(0x200 + (off[0] | off[1] << 8));
  std::string v;
  std::getline(in, v, '\0');
  return v.substr(0, v.find(' '));
}

fs::path newest_distro_kernel() {
  fs::path best;
  if (fs::exists("/boot"))
    for (const auto& e : fs::directory_iterator("/boot")) {
      const std::string n = e.path().filename().string();
      if (n.rfind("vmlinuz-", 0) == 0 && (best.empty() || n > best.filename().string())) best = e.path();
    }
  return best;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// `hz`: the kernel's CONFIG_HZ when known (an artifact's; none for the distro kernel).
run::BootRequest request(Ctx& c, const std::string& label, const fs::path& kernel, std::optional<int> hz,
                         run::GuestSetup g, int trials) {
  run::BootRequest r;
  r.label = label;
  r.index = ++c.boot_index;
  r.kernel = kernel;
  r.kernel_hz = hz;
  r.guest = std::move(g);
  r.trials = trials;
  r.seed = r.index;
  return r;
}

// A kernel this project built: its bzImage with the CONFIG_HZ it was built with.
run::BootRequest request(Ctx& c, const std::string& label, const kernel::BuildArtifact& k, run::GuestSetup g,
                         int trials) {
  return request(c, label, k.bzimage, k.hz, std::move(g), trials);
}

// ---- 0. machine -------------------------------------------------------------

// One core's speed, so two tables can be told apart: machines with the same
// "AMD EPYC" string compiled and ran TCG 2.0-2.4x apart (2026-11-26).
std::string single_core_speed() {
  const std::string buf(64 << 20, 'x');
  double best = INFINITY;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    (void)sha256_hex(buf);
    best = std::min(best, since(t0));
  }
  return fmt::format("SHA-256 {:.0f} MB/s (one core, best of 3 over 64 MiB)", 64 / best * (1 << 20) / 1e6);
}

void section_machine(Ctx& c) {
  ensure_kernels(c);
  std::string cpu = "?";
  {
    std::ifstream in("/proc/cpuinfo");
    for (std::string l; std::getline(in, l);)
      if (l.rfind("model name", 0) == 0) {
        cpu = l.substr(l.find(':') + 2);
        break;
      }
  }
  const double ram = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE) / (1 << 30);
  const auto qemu = run_process({"qemu-system-x86_64", "--version"});
  const auto accel = c.runner->accel(c.patched->bzimage);
  const fs::path distro = c.o.distro_kernel.empty() ? newest_distro_kernel() : fs::path(c.o.distro_kernel);
  c.machine = {
      {"cores", fmt::format("{} ({})", std::thread::hardware_concurrency(), cpu)},
      {"RAM", fmt::format("{:.1f} GiB", ram)},
      {"CPU speed", single_core_speed()},
      {"QEMU", first_line(qemu.output)},
      {"accelerator", accel.reason},
      {"project kernel", bzimage_version(c.patched->bzimage) + " (case " + c.s.kase.name + ", " +
                             std::to_string(fs::file_size(c.patched->bzimage) / 1024) + " KiB bzImage)"},
      {"distro kernel", distro.empty() ? "none" : bzimage_version(distro) + " (" + distro.string() + ")"},
      {"guest", fmt::format("{} vCPUs, {} MiB, hugepages={}, test {} {}", c.s.guest.vcpus, c.s.guest.memory_mb,
                            c.s.guest.hugepages, c.s.guest.test, [&] {
                              std::string a;
                              for (const auto& [k, v] : c.s.guest.args) a += (a.empty() ? "" : ",") + k + "=" + v;
                              return a;
                            }())},
  };
  for (const auto& [k, v] : c.machine) c.json["machine"][k] = v;
}

// ---- 1. boot to first trial -------------------------------------------------

void section_boot(Ctx& c) {
  ensure_kernels(c);
  const fs::path distro = c.o.distro_kernel.empty() ? newest_distro_kernel() : fs::path(c.o.distro_kernel);
  run::GuestSetup g = c.s.guest_for(c.fixed);
  g.duration_ms = 100;  // the boot is what is measured; the trial only has to start
  std::vector<double> ours, theirs;
  int our_bad = 0, their_bad = 0;
  const double l0 = load1();
  for (int i = 0; i < c.o.boots; ++i) {
    Heavy h(c);
    // Interleaved, so drift in the machine's load hits both alike.
    auto b = c.runner->boot(request(c, "boot-ours", *c.patched, g, 1));
    if (b.boot_to_first_trial_s) ours.push_back(*b.boot_to_first_trial_s); else ++our_bad;
    if (distro.empty()) continue;
    auto d = c.runner->boot(request(c, "boot-distro", distro, std::nullopt, g, 1));
    if (d.boot_to_first_trial_s) theirs.push_back(*d.boot_to_first_trial_s); else ++their_bad;
  }
  const Spread a = spread(ours), b = spread(theirs);
  Row r{"boot", "boot to first trial (QEMU start -> KTAP header), median [min..max]", spread_str(a),
        distro.empty() ? "no distro kernel" : spread_str(b) + " distro", ratio_str(b.med / a.med),
        fmt::format("{}+{}{}", a.n, b.n, our_bad + their_bad ? fmt::format(" ({}+{} no start)", our_bad, their_bad) : ""),
        l0, load1()};
  c.rows.push_back(r);
  c.json["boot"] = {{"ours_s", ours}, {"distro_s", theirs}, {"distro_kernel", distro.string()}};
}

// ---- 1b. boot candidates ----------------------------------------------------
// Each way to shorten the boot, measured side by side with the current QEMU
// command (interleaved rounds): the QEMU command of vm::qemu_command() with
// one edit, or the kernel command line with one addition. The time is from
// spawning QEMU to the guest test's KTAP header in the console file.

struct Candidate {
  std::string name;
  std::function<void(std::vector<std::string>&)> qemu;  // edit of the QEMU argv
  std::string append;                                   // kernel command line addition
};

void set_machine(std::vector<std::string>& argv, const std::string& machine) {
  auto it = std::find(argv.begin(), argv.end(), "-M");
  if (it != argv.end() && it + 1 != argv.end()) *(it + 1) = machine;
}

// Removes `option` and its value from a QEMU argv.
void drop_option(std::vector<std::string>& argv, const std::string& option) {
  auto it = std::find(argv.begin(), argv.end(), option);
  if (it != argv.end() && it + 1 != argv.end()) argv.erase(it, it + 2);
}

// Removes the kernel command line words starting with `prefix`.
void drop_append_word(std::vector<std::string>& argv, const std::string& prefix) {
  auto it = std::find(argv.begin(), argv.end(), "-append");
  if (it == argv.end() || it + 1 == argv.end()) return;
  std::istringstream words(*(it + 1));
  std::string kept;
  for (std::string w; words >> w;)
    if (!w.starts_with(prefix)) kept += (kept.empty() ? "" : " ") + w;
  *(it + 1) = kept;
}

// Seconds from spawning `argv` to the KTAP header in `log` (nullopt if it did
// not come within `cap` or QEMU exited first), and the guest's vCPU count as
// /init reports it ("cpus=N"; -1 if absent): a faster boot that lost a vCPU
// (e.g. acpi=off with SeaBIOS's MP table) cannot race and does not count.
struct KtapTime {
  std::optional<double> seconds;
  int cpus = -1;
};
KtapTime time_to_ktap(const std::vector<std::string>& argv, const fs::path& log, std::chrono::seconds cap) {
  { std::ofstream truncate(log, std::ios::trunc); }
  const auto t0 = Clock::now();
  Process p(argv, ProcessOptions{.cwd = {}, .output = log.string() + ".qemu", .env = {}});
  KtapTime r;
  std::string console;
  while (!r.seconds && Clock::now() - t0 < cap) {
    console = read_tail(log, 1 << 20);
    if (console.find("KTAP version") != std::string::npos) r.seconds = since(t0);
    else if (p.wait_for(std::chrono::milliseconds(5))) break;
  }
  p.kill();
  p.wait();
  std::smatch m;
  if (std::regex_search(console, m, std::regex(R"(racebisect-init[^\n]* cpus=(\d+))"))) r.cpus = std::stoi(m[1].str());
  return r;
}

void section_candidates(Ctx& c) {
  ensure_kernels(c);
  run::GuestSetup g = c.s.guest_for(c.fixed);
  g.duration_ms = 100;
  const auto img = c.runner->initramfs(g.test);
  const auto accel = c.runner->accel(c.patched->bzimage).accel;
  const fs::path dir = c.work / "candidates";
  fs::create_directories(dir);
  auto command = [&](const Candidate& cand, const std::string& extra, const fs::path& log) {
    auto req = request(c, "cand", *c.patched, g, 1);
    auto spec = run::trial_boot_spec(req, img.path, accel, log);
    for (const auto& a : {cand.append, extra})
      if (!a.empty()) spec.cmdline += " " + a;
    auto argv = vm::qemu_command(spec);
    if (cand.qemu) cand.qemu(argv);
    return argv;
  };
  // The current command already has qboot and the TSC presets under TCG
  // (vm/tcg_boot.h): these rows take each of them out again.
  const auto rom = vm::qboot_rom();
  const std::string qboot = rom ? rom->string() : "/usr/share/qemu/qboot.rom";
  std::vector<Candidate> cands{
      {"current (qboot, tsc_early_khz + lpj under TCG)", {}, ""},
      {"SeaBIOS instead of qboot", [](auto& a) { drop_option(a, "-bios"); }, ""},
      {"no tsc_early_khz", [](auto& a) { drop_append_word(a, "tsc_early_khz="); }, ""},
      {"no lpj", [](auto& a) { drop_append_word(a, "lpj="); }, ""},
      {"SeaBIOS, no presets (before 2026-11-27)",
       [](auto& a) {
         drop_option(a, "-bios");
         drop_append_word(a, "tsc_early_khz=");
         drop_append_word(a, "lpj=");
       },
       ""},
      {"microvm machine (its qboot-based firmware)",
       [](auto& a) {
         drop_option(a, "-bios");
         set_machine(a, "microvm");
       },
       ""},
      {"acpi=off (on qboot, which has an MP table)", {}, "acpi=off"},
      // TCG has no TSC-deadline timer, so 6.1 calibrates the local APIC timer
      // against the tick for 100 ms; noapictimer skips that and ticks come
      // from the HPET, broadcast to the other vCPU. Not adopted: the warm race
      // runs ~25% slower (docs/PERFORMANCE.md, "noapictimer").
      {"noapictimer (no 100 ms APIC timer calibration)", {}, "noapictimer"},
      {"quiet console (quiet) [info only: hides oops lines]", {}, "quiet"},
  };
  if (!rom) spdlog::warn("{} is missing: every row boots SeaBIOS", qboot);
  std::vector<std::vector<double>> t(cands.size());
  std::vector<int> bad(cands.size()), wrong_cpus(cands.size());
  const double l0 = load1();
  for (int round = 0; round < c.o.boots; ++round) {
    Heavy h(c);
    for (size_t i = 0; i < cands.size(); ++i) {
      if (t[i].empty() && bad[i] + wrong_cpus[i] >= 2) continue;  // never works here: stop paying its cap
      const fs::path log = dir / fmt::format("cand{}-{}.log", i, round);
      const auto k = time_to_ktap(command(cands[i], "", log), log, std::chrono::seconds(20));
      if (!k.seconds) ++bad[i];
      else if (k.cpus != g.vcpus) ++wrong_cpus[i];
      else t[i].push_back(*k.seconds);
    }
  }
  const double l1 = load1();
  const Spread base = spread(t[0]);
  for (size_t i = 0; i < cands.size(); ++i) {
    const Spread s = spread(t[i]);
    std::string n = std::to_string(s.n);
    if (bad[i]) n += fmt::format(" ({} no KTAP)", bad[i]);
    if (wrong_cpus[i]) n += fmt::format(" ({} lost a vCPU)", wrong_cpus[i]);
    c.rows.push_back({"boot candidates", cands[i].name, spread_str(s), i ? spread_str(base) + " current" : "",
                      i ? ratio_str(base.med / s.med) : "", n, l0, l1});
    c.json["candidates"][cands[i].name] = {{"seconds", t[i]}, {"no_ktap", bad[i]}, {"lost_vcpu", wrong_cpus[i]}};
  }
}

// ---- 2. time to first failure on the fix-reverted kernel ---------------------

struct TtffBoot {
  std::optional<double> first_failure_s;  // from the boot request (QEMU start)
  double seconds = 0;                     // the whole boot (censoring time without a failure)
  int trials = 0, fails = 0;
  double exposure_s = 0;                  // racing time: trial lengths, a failed one up to its failure
  bool infra = false;                     // the test never ran: neither a failure nor censored
};

TtffBoot ttff_boot(Ctx& c, run::BootRequest req) {
  TtffBoot t;
  const auto t0 = Clock::now();
  auto b = c.runner->boot(req, [&](const record::TrialRecord& tr) {
    if (tr.outcome == Outcome::Fail && !t.first_failure_s) t.first_failure_s = since(t0);
    return !t.first_failure_s;  // stop the VM at the first failure
  });
  t.seconds = since(t0);
  for (const auto& tr : b.trials) {
    if (tr.outcome != Outcome::Pass && tr.outcome != Outcome::Fail) continue;
    ++t.trials;
    const bool f = tr.outcome == Outcome::Fail;
    t.fails += f;
    t.exposure_s += (f && tr.first_bogus_ms >= 0 ? tr.first_bogus_ms : tr.ms) / 1000.0;
  }
  if (b.outcome != Outcome::Pass && b.outcome != Outcome::Fail) {
    spdlog::warn("[{}] boot {}: {} {}", req.label, req.index, record::to_string(b.outcome), b.detail);
    t.infra = !t.first_failure_s && t.trials == 0;
  }
  return t;
}

// Builds the upstream selftest statically from the case's source tree, with
// that tree's own UAPI headers (`make headers` into a private directory).
fs::path build_selftest(Ctx& c) {
  kernel::Workspace ws(c.s.source, c.cache);
  const fs::path dir = c.cache / "bench" / ("selftest-" + ws.id());
  const fs::path bin = dir / "userfaultfd";
  if (fs::exists(bin)) return bin;
  Heavy h(c);
  Niced n;
  fs::create_directories(dir);
  const fs::path vm = ws.tree() / "tools/testing/selftests/vm";
  if (!fs::exists(vm / "userfaultfd.c")) throw usage_error("no tools/testing/selftests/vm/userfaultfd.c in " + ws.tree().string());
  run_checked({"make", "-s", "-C", ws.tree().string(), "O=" + (dir / "hdr").string(), "headers"});
  run_checked({"gcc", "-O2", "-static", "-pthread", "-isystem", (dir / "hdr/usr/include").string(), "-I" + (vm / "..").string(),
               "-I" + vm.string(), (vm / "userfaultfd.c").string(), (vm / "vm_util.c").string(), "-o", (dir / "userfaultfd.tmp").string()});
  fs::rename(dir / "userfaultfd.tmp", bin);
  return bin;
}

struct TtffSummary {
  std::vector<double> times;  // first failure, or the censoring time
  int censored = 0, trials = 0, fails = 0, infra = 0;
  double exposure = 0;
};
void add(TtffSummary& s, const TtffBoot& b) {
  if (b.infra) {
    ++s.infra;
    return;
  }
  s.times.push_back(b.first_failure_s.value_or(b.seconds));
  s.censored += !b.first_failure_s;
  s.trials += b.trials;
  s.fails += b.fails;
  s.exposure += b.exposure_s;
}
std::string ttff_str(const TtffSummary& s) {
  const Spread sp = spread(s.times);
  return fmt::format("{}{}{}", spread_str(sp), s.censored ? fmt::format(", {}/{} censored", s.censored, s.times.size()) : "",
                     s.infra ? fmt::format(", {} boots did not run the test (infra)", s.infra) : "");
}
std::string rate_str(int k, double t) {
  const auto ci = garwood(k, t);
  return fmt::format("{:.3g}/s [{:.3g}, {:.3g}] ({} in {:.0f} s)", t > 0 ? k / t : NAN, ci.low, ci.high, k, t);
}

void section_ttff(Ctx& c) {
  ensure_kernels(c);
  const fs::path selftest = build_selftest(c);
  const auto img = image::build_initramfs({run::init_binary(), {c.o.selftest_loop, selftest}}, c.cache);
  run::GuestSetup ours = c.s.guest_for(c.bug);
  run::GuestSetup peer = ours;
  peer.test = fs::path(c.o.selftest_loop).filename().string();
  peer.args = {{"mode", "hugetlb"}, {"mb", "32"}, {"bounces", "8"}};
  TtffSummary a, b;
  const double l0 = load1();
  const int peer_boots = c.o.selftest_boots >= 0 ? c.o.selftest_boots : c.o.ttff_boots;
  for (int i = 0; i < std::max(c.o.ttff_boots, peer_boots); ++i) {
    if (i < c.o.ttff_boots) {
      Heavy h(c);
      auto req = request(c, "ttff-ours", *c.unpatched, ours, 1000);
      req.timeout = std::chrono::seconds(c.o.ttff_cap_s);
      add(a, ttff_boot(c, req));
    }
    if (i < peer_boots) {
      Heavy h(c);
      auto req = request(c, "ttff-selftest", *c.unpatched, peer, 100000);
      req.initrd = img.path;
      req.timeout = std::chrono::seconds(c.o.selftest_cap_s);
      req.no_output_timeout = std::chrono::seconds(c.o.selftest_cap_s + 30);
      add(b, ttff_boot(c, req));
    }
  }
  const double ma = spread(a.times).med, mb = spread(b.times).med;
  // Censored peer boots count as their length: the ratio is then a lower bound.
  c.rows.push_back({"ttff", "time to first failure, fix-reverted kernel (QEMU start), median [min..max]", ttff_str(a),
                    ttff_str(b) + " selftest", ratio_str(mb / ma, b.censored > 0),
                    fmt::format("{}+{} boots", a.times.size(), b.times.size()), l0, load1()});
  c.rows.push_back({"ttff", "failures per racing-second, 95% exact CI", rate_str(a.fails, a.exposure),
                    rate_str(b.fails, b.exposure) + " selftest", ratio_str((a.fails / a.exposure) / (b.fails / b.exposure)),
                    fmt::format("{}+{} trials", a.trials, b.trials), l0, load1()});
  c.json["ttff"] = {{"ours_s", a.times}, {"ours_censored", a.censored}, {"selftest_s", b.times},
                    {"selftest_censored", b.censored}, {"ours_fails", a.fails}, {"ours_exposure_s", a.exposure},
                    {"selftest_fails", b.fails}, {"selftest_exposure_s", b.exposure}, {"selftest_runs", b.trials}};
}

// ---- 3. throughput ----------------------------------------------------------

struct Tp {
  int trials = 0, fails = 0;
  double wall = 0, exposure = 0;
};

// `vms` parallel VM slots share `total` trials, each as one long boot or as
// one boot per trial.
Tp throughput(Ctx& c, int vms, bool long_boot, int total) {
  run::GuestSetup g = c.s.guest_for(c.bug);
  std::mutex mu;
  Tp tp;
  Heavy h(c);
  const auto t0 = Clock::now();
  std::vector<std::thread> slots;
  for (int v = 0; v < vms; ++v)
    slots.emplace_back([&, v] {
      const int mine = total / vms + (v < total % vms ? 1 : 0);
      const int boots = long_boot ? 1 : mine, per = long_boot ? mine : 1;
      for (int i = 0; i < boots; ++i) {
        run::BootRequest req;
        {
          std::lock_guard l(mu);
          req = request(c, fmt::format("tp{}-{}", vms, long_boot ? "long" : "short"), *c.unpatched, g, per);
        }
        auto b = c.runner->boot(req);
        std::lock_guard l(mu);
        for (const auto& tr : b.trials) {
          if (tr.outcome != Outcome::Pass && tr.outcome != Outcome::Fail) continue;
          ++tp.trials;
          const bool f = tr.outcome == Outcome::Fail;
          tp.fails += f;
          tp.exposure += (f && tr.first_bogus_ms >= 0 ? tr.first_bogus_ms : tr.ms) / 1000.0;
        }
      }
    });
  for (auto& t : slots) t.join();
  tp.wall = since(t0);
  return tp;
}

void section_throughput(Ctx& c) {
  ensure_kernels(c);
  const int n = c.o.tp_trials;
  const double l0 = load1();
  std::map<std::string, Tp> r;
  for (int vms : {1, 2})
    for (bool lb : {true, false}) r[fmt::format("{}{}", vms, lb ? "L" : "S")] = throughput(c, vms, lb, n);
  auto tps = [](const Tp& t) { return t.trials / t.wall; };
  auto fps = [](const Tp& t) { return t.fails / t.wall; };
  auto cell = [&](const Tp& t) {
    return fmt::format("{:.2f} trials/s, {:.2f} fail/s, {:.2f} fail/racing-s", tps(t), fps(t), t.fails / t.exposure);
  };
  const double l1 = load1();
  c.rows.push_back({"throughput", "1 VM: one long boot vs one boot per trial", cell(r["1L"]), cell(r["1S"]),
                    ratio_str(tps(r["1L"]) / tps(r["1S"])), fmt::format("{}+{} trials", r["1L"].trials, r["1S"].trials), l0, l1});
  c.rows.push_back({"throughput", "2 VMs: one long boot each vs one boot per trial", cell(r["2L"]), cell(r["2S"]),
                    ratio_str(tps(r["2L"]) / tps(r["2S"])), fmt::format("{}+{} trials", r["2L"].trials, r["2S"].trials), l0, l1});
  c.rows.push_back({"throughput", "one long boot: 2 VMs vs 1 VM (failures/s)", cell(r["2L"]), cell(r["1L"]),
                    ratio_str(fps(r["2L"]) / fps(r["1L"])), fmt::format("{}+{} trials", r["2L"].trials, r["1L"].trials), l0, l1});
  for (const auto& [k, t] : r)
    c.json["throughput"][k] = {{"trials", t.trials}, {"fails", t.fails}, {"wall_s", t.wall}, {"exposure_s", t.exposure}};
}

// ---- 4. builds --------------------------------------------------------------

struct BuildTimes {
  double import_s = NAN, clean = NAN, incremental = NAN, hit = NAN, clean_warm_ccache = NAN;
};

double timed_build(Ctx& c, const fs::path& cache, const run::KernelVariant& v) {
  Heavy h(c);
  Niced n;
  const auto t0 = Clock::now();
  auto a = kernel::Builder(cache, c.s.build_jobs).build(spec_for(c.s, v));
  const double s = since(t0);
  spdlog::info("bench build {} ({}): {:.1f} s", v.label, a.cache_hit ? "hit" : "built", s);
  return s;
}

void section_build(Ctx& c) {
  const double l0 = load1();
  BuildTimes with, without;
  // Cache hit on the shared cache: what every warm command pays.
  ensure_kernels(c);
  std::vector<double> hits;
  for (int i = 0; i < 5; ++i) hits.push_back(timed_build(c, c.cache, c.fixed));
  with.hit = spread(hits).med;
  if (c.o.clean_builds) {
    TempDir tmp(c.work, "build-cache");
    {
      Heavy h(c);
      Niced n;
      const auto t0 = Clock::now();
      kernel::Workspace ws(c.s.source, tmp.path());  // the tarball import, once per machine
      with.import_s = since(t0);
    }
    with.clean = timed_build(c, tmp.path(), c.fixed);        // cold ccache: a fresh machine
    with.incremental = timed_build(c, tmp.path(), c.bug);    // the revert touches mm/hugetlb.c
    without.hit = timed_build(c, tmp.path(), c.fixed);
    fs::remove_all(tmp.path() / "kernels");
    fs::remove_all(tmp.path() / "build");
    with.clean_warm_ccache = timed_build(c, tmp.path(), c.fixed);
    fs::remove_all(tmp.path() / "kernels");
    fs::remove_all(tmp.path() / "build");
    fs::remove_all(tmp.path() / "ccache");
    setenv("CCACHE_DISABLE", "1", 1);
    without.clean = timed_build(c, tmp.path(), c.fixed);
    without.incremental = timed_build(c, tmp.path(), c.bug);
    unsetenv("CCACHE_DISABLE");
  }
  const double l1 = load1();
  if (c.o.clean_builds) {
    c.rows.push_back({"build", "tarball import (extract + git), once per machine", secs(with.import_s), "-", "-", "1", l0, l1});
    c.rows.push_back({"build", "clean kernel build: ccache (cold) vs no ccache", secs(with.clean), secs(without.clean),
                      ratio_str(without.clean / with.clean), "1+1", l0, l1});
    c.rows.push_back({"build", "fresh machine: import + clean build (ccache cold)", secs(with.import_s + with.clean), "-", "-",
                      "1", l0, l1});
    c.rows.push_back({"build", "clean build, warm ccache vs cold ccache", secs(with.clean_warm_ccache), secs(with.clean),
                      ratio_str(with.clean / with.clean_warm_ccache), "1+1", l0, l1});
    c.rows.push_back({"build", "incremental after mm/hugetlb.c changes: ccache vs none", secs(with.incremental),
                      secs(without.incremental), ratio_str(without.incremental / with.incremental), "1+1", l0, l1});
  }
  c.rows.push_back({"build", "cache hit (median of 5) vs clean build", secs(with.hit), secs(with.clean),
                    ratio_str(with.clean / with.hit), "5", l0, l1});
  c.json["build"] = {{"import_s", with.import_s}, {"clean_s", with.clean}, {"incremental_s", with.incremental},
                     {"hit_s", with.hit}, {"clean_warm_ccache_s", with.clean_warm_ccache},
                     {"clean_no_ccache_s", without.clean}, {"incremental_no_ccache_s", without.incremental}};
}

// ---- 5. end to end ----------------------------------------------------------

struct Cmd {
  double wall = 0;
  int exit_code = -1;
  std::string output;
};
Cmd timed_cmd(Ctx& c, const std::vector<std::string>& argv, const fs::path& cache) {
  Heavy h(c);
  const fs::path log = c.work / (fs::path(argv.at(1)).filename().string() + "-" + std::to_string(++c.boot_index) + ".log");
  const auto t0 = Clock::now();
  auto r = run_process(argv, ProcessOptions{.cwd = c.work, .output = log, .env = {{"RACEBISECT_CACHE", cache.string()}}});
  Cmd out{since(t0), r.exit_code, read_file(log)};
  spdlog::info("bench: {} -> exit {} in {:.1f} s (log {})", join_argv(argv), out.exit_code, out.wall, log.string());
  return out;
}
std::string grep_line(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.rfind(prefix, 0) == 0) return l;
  return "";
}

void section_e2e(Ctx& c) {
  const double l0 = load1();
  // --quick: the default (sequential) design with a racing-time cap per
  // kernel, so a quick run stays bounded; the row says so.
  auto repro = [&](const fs::path& cache, const std::string& name) {
    std::vector<std::string> argv{c.o.racebisect, "reproduce", "--out", (c.work / name).string()};
    if (c.o.quick) argv.insert(argv.end(), {"--max-racing-seconds", "30"});
    return timed_cmd(c, argv, cache);
  };
  const Cmd warm = repro(c.cache, "reproduce-warm");
  std::optional<Cmd> cold;
  if (c.o.cold_e2e) {
    TempDir tmp(c.work, "cold-cache");
    cold = repro(tmp.path(), "reproduce-cold");
  }
  const double l1 = load1();
  auto verdict = [](const Cmd& m) {
    std::string v = grep_line(m.output, "verdict:");
    return fmt::format("exit {}; {}", m.exit_code, v.substr(0, 160));
  };
  c.rows.push_back({"e2e", c.o.quick ? "reproduce --max-racing-seconds 30, kernels cached (warm)" : "reproduce, defaults, kernels cached (warm)", secs(warm.wall), "-", "-", "1", l0, l1});
  c.rows.push_back({"e2e", "  " + verdict(warm), "", "", "", "", NAN, NAN});
  if (cold) {
    c.rows.push_back({"e2e", "reproduce, empty cache (cold: import + 2 builds) vs warm", secs(cold->wall), secs(warm.wall),
                      ratio_str(cold->wall / warm.wall), "1+1", l0, l1});
    c.rows.push_back({"e2e", "  " + verdict(*cold), "", "", "", "", NAN, NAN});
  }
  c.json["e2e"] = {{"reproduce_warm_s", warm.wall}, {"reproduce_warm_exit", warm.exit_code},
                   {"reproduce_cold_s", cold ? cold->wall : NAN}, {"reproduce_cold_exit", cold ? cold->exit_code : -1}};
  if (!c.o.bisect) return;
  // The 32-commit history of scripts/make-bisect-repo, bisected from an empty cache.
  TempDir tmp(c.work, "bisect");
  const fs::path repo = tmp.path() / "linux", cache = tmp.path() / "cache";
  run_checked({(fs::path(RB_SOURCE_DIR) / "scripts/make-bisect-repo").string(), repo.string(), "--commits", "32",
               "--culprit", "20"});
  const std::string good = kernel::git(repo, {"rev-list", "--max-parents=0", "HEAD"});
  const std::string bad = kernel::git(repo, {"rev-parse", "HEAD"});
  const double l2 = load1();
  const Cmd b = timed_cmd(c, {c.o.racebisect, "bisect", "--source", repo.string(), "--good", good, "--bad", bad}, cache);
  std::smatch m;
  const std::string cost = grep_line(b.output, "cost:");
  std::string culprit = grep_line(b.output, "culprit:");
  long boots = -1;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((cache / "history.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM boots", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
      boots = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  c.rows.push_back({"e2e", "bisect, 32 commits (culprit 20), empty cache", secs(b.wall), "-", "-", "1", l2, load1()});
  c.rows.push_back({"e2e", fmt::format("  exit {}; {}; {} boots; {}", b.exit_code, cost, boots, culprit.substr(0, 70)), "",
                    "", "", "", NAN, NAN});
  c.json["bisect"] = {{"wall_s", b.wall}, {"exit", b.exit_code}, {"cost", cost}, {"boots", boots}, {"culprit", culprit}};
}

// ---- output -----------------------------------------------------------------

void print_table(const Ctx& c, std::ostream& out) {
  out << "racebisect performance bench (bench/perf" << (c.o.quick ? " --quick" : "") << (c.o.bisect ? " --bisect" : "")
      << ")\n";
  for (const auto& [k, v] : c.machine) out << fmt::format("  {:<15} {}\n", k + ":", v);
  out << "\n";
  size_t w0 = 10, w1 = 9, w2 = 4, w3 = 5, w4 = 1;
  for (const auto& r : c.rows) {
    w0 = std::max(w0, r.what.size());
    w1 = std::max(w1, r.ours.size());
    w2 = std::max(w2, r.peer.size());
    w3 = std::max(w3, r.ratio.size());
    w4 = std::max(w4, r.n.size());
  }
  out << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {:<{}}  {}\n", "measurement", w0, "racebisect", w1, "peer", w2,
                     "ratio", w3, "n", w4, "load");
  std::string section;
  for (const auto& r : c.rows) {
    if (r.section != section) {
      out << "[" << r.section << "]\n";
      section = r.section;
    }
    const std::string load = std::isnan(r.load_start) ? "" : fmt::format("{:.1f}-{:.1f}", r.load_start, r.load_end);
    out << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {:<{}}  {}\n", r.what, w0, r.ours, w1, r.peer, w2, r.ratio, w3, r.n,
                       w4, load);
  }
  out << "\nratio = peer / racebisect (higher is better for racebisect; \">=\" where the peer's runs were censored);"
         " load = 1-minute load average at the start and end of the section.\n";
}

int run(const Options& o) {
  Ctx c;
  c.o = o;
  c.s = run::resolve_settings(run::Overrides{}, fs::current_path());
  c.cache = o.cache.empty() ? c.s.cache : fs::absolute(o.cache);
  c.s.cache = c.cache;
  c.work = o.work.empty() ? fs::temp_directory_path() / fmt::format("rb-perf-bench.{}", getpid()) : fs::absolute(o.work);
  fs::create_directories(c.work);
  c.runner = std::make_unique<run::TrialRunner>(c.cache, c.work / "logs", c.s.accel, c.s.backend, c.s.build_jobs);
  c.bug = variant_of_role(c.s, "bug");
  c.fixed = variant_of_role(c.s, "fixed");
  if (!fs::exists(o.racebisect)) throw usage_error("racebisect binary not found: " + o.racebisect);
  if (!fs::exists(o.selftest_loop)) throw usage_error("selftest-loop guest binary not found: " + o.selftest_loop);
  std::set<std::string> want;
  {
    std::istringstream in(o.sections);
    for (std::string s; std::getline(in, s, ',');) want.insert(s);
  }
  for (const auto& s : want)
    if (!std::set<std::string>{"machine", "boot", "candidates", "ttff", "throughput", "build", "e2e"}.count(s))
      throw usage_error("unknown section '" + s + "' (machine, boot, candidates, ttff, throughput, build, e2e)");
  const std::vector<std::pair<std::string, void (*)(Ctx&)>> sections{
      {"machine", section_machine}, {"boot", section_boot}, {"candidates", section_candidates},   {"ttff", section_ttff},
      {"throughput", section_throughput}, {"build", section_build}, {"e2e", section_e2e}};
  const auto t0 = Clock::now();
  for (const auto& [name, fn] : sections) {
    if (!want.count(name)) continue;
    // One section holds the lock from start to end: flock is not fair, and a
    // queue of other heavy jobs would otherwise starve the next batch.
    std::optional<FileLock> lock;
    if (o.lock && o.lock_per_section) {
      spdlog::info("bench section {}: waiting for {}", name, o.lock_path);
      lock.emplace(o.lock_path);
    }
    c.section_locked = lock.has_value();
    spdlog::info("bench section {} (load {:.2f})", name, load1());
    fn(c);
    c.section_locked = false;
  }
  c.json["rows"] = nlohmann::json::array();
  for (const auto& r : c.rows)
    c.json["rows"].push_back({{"section", r.section}, {"what", r.what}, {"racebisect", r.ours}, {"peer", r.peer},
                              {"ratio", r.ratio}, {"n", r.n}, {"load_start", r.load_start}, {"load_end", r.load_end}});
  c.json["wall_s"] = since(t0);
  if (!o.json.empty()) write_file_atomic(o.json, c.json.dump(2));
  print_table(c, std::cout);
  std::cout << fmt::format("bench wall time {:.0f} s; logs in {}\n", since(t0), c.work.string());
  return 0;
}

}  // namespace
}  // namespace rb::bench

int main(int argc, char** argv) {
  rb::bench::Options o;
  CLI::App app{"racebisect performance bench: one table of ratios measured side by side"};
  app.add_flag("--quick", o.quick, "bounded run (2 boots each, short caps, no clean builds, warm reproduce only)");
  app.add_flag("--bisect", o.bisect, "also bisect the 32-commit history of scripts/make-bisect-repo (long)");
  app.add_option("--sections", o.sections, "comma-separated: machine,boot,candidates,ttff,throughput,build,e2e");
  app.add_option("--boots", o.boots, "boot-time boots per kernel");
  app.add_option("--ttff-boots", o.ttff_boots, "time-to-first-failure boots per tool");
  app.add_option("--selftest-boots", o.selftest_boots, "selftest boots for ttff (default: --ttff-boots)");
  app.add_option("--selftest-cap", o.selftest_cap_s, "seconds after which a selftest boot is censored");
  app.add_option("--ttff-cap", o.ttff_cap_s, "seconds after which a racebisect boot is censored");
  app.add_option("--throughput-trials", o.tp_trials, "trials per throughput configuration");
  app.add_option("--cache", o.cache, "kernel cache (default: $RACEBISECT_CACHE or ~/.cache/racebisect)");
  app.add_option("--work", o.work, "directory for logs and temporary caches");
  app.add_option("--json", o.json, "also write every figure as JSON");
  app.add_option("--distro-kernel", o.distro_kernel, "distribution kernel (default: newest /boot/vmlinuz-*)");
  app.add_option("--lock", o.lock_path, "the heavy lock taken per measurement batch");
  bool no_lock = false, per_batch = false, no_clean = false;
  app.add_flag("--no-clean-builds", no_clean, "skip the clean/incremental builds and the cold reproduce (each builds kernels)");
  app.add_flag("--lock-per-batch", per_batch, "take the heavy lock per batch of boots/builds, not per section");
  app.add_flag("--no-lock", no_lock, "do not take the heavy lock (the caller holds it)");
  app.add_option("--racebisect", o.racebisect, "racebisect binary for the end-to-end rows");
  CLI11_PARSE(app, argc, argv);
  o.lock = !no_lock;
  o.lock_per_section = !per_batch;
  o.clean_builds = o.cold_e2e = !(no_clean || o.quick);
  if (o.quick) {
    if (app.count("--boots") == 0) o.boots = 2;
    if (app.count("--ttff-boots") == 0) o.ttff_boots = 1;
    if (app.count("--selftest-cap") == 0) o.selftest_cap_s = 20;
    if (app.count("--ttff-cap") == 0) o.ttff_cap_s = 20;
    if (app.count("--throughput-trials") == 0) o.tp_trials = 2;
  }
  try {
    return rb::bench::run(o);
  } catch (const rb::Error& e) {
    std::cerr << "perf_bench: " << e.what() << "\n";
    return e.kind() == rb::ErrorKind::Usage ? 2 : 3;
  } catch (const std::exception& e) {
    std::cerr << "perf_bench: " << e.what() << "\n";
    return 3;
  }
}
