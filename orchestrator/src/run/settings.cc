#include "run/settings.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <thread>

#include "util/error.h"
#include "util/validate.h"
#include "util/fs.h"
#include "util/hash.h"
#include "run/paths.h"
#include "vm/backend.h"

namespace rb::run {

namespace {

namespace fs = std::filesystem;

// "--kernel LABEL,ROLE[,PATCH...]": replaces the case's kernel list.
KernelVariant parse_kernel_flag(const std::string& s) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t c = s.find(',', start);
    parts.push_back(s.substr(start, c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty())
    throw usage_error("--kernel expects LABEL,ROLE[,PATCH...], got '" + s + "'");
  KernelVariant k{parts[0], parts[1], {}, {}};
  for (size_t i = 2; i < parts.size(); ++i) k.patches.push_back(fs::absolute(parts[i]));
  return k;
}

void check_range(const char* flag, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) throw usage_error(fmt::format("{} must be in [{}, {}], got {}", flag, lo, hi, v));
}

int host_cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

std::vector<KernelVariant> pick_kernels(const Case& c, const Overrides& o) {
  std::vector<KernelVariant> out = c.kernels;
  if (o.all_kernels) out.insert(out.end(), c.extra_kernels.begin(), c.extra_kernels.end());
  if (!o.kernels.empty()) {
    out.clear();
    for (const auto& k : o.kernels) out.push_back(parse_kernel_flag(k));
  }
  if (!o.kernel_list.empty()) out = o.kernel_list;
  return out;
}

GuestSetup pick_guest(const Case& c, const Overrides& o) {
  GuestSetup g;
  g.test = o.test.empty() ? c.guest_test : o.test;
  g.args = c.args;
  if (!o.variant.empty()) g.args["variant"] = o.variant;
  if (!o.mapping.empty()) g.args["mapping"] = o.mapping;
  apply_arg_flags(g.args, o.args);
  for (const char* own : {"trials", "duration_ms"})
    if (g.args.count(own))
      throw usage_error(fmt::format("guest argument {} is set per boot by racebisect: use --{} instead", own,
                                    own == std::string("trials") ? "trials" : "duration-ms"));
  g.hugepages = o.hugepages.value_or(c.hugepages);
  g.vcpus = o.vcpus.value_or(c.vcpus);
  g.memory_mb = o.memory_mb.value_or(c.memory_mb);
  g.duration_ms = o.duration_ms.value_or(c.duration_ms);
  g.pages_needed = c.pages_needed;
  if (auto it = g.args.find("pages"); it != g.args.end()) g.pages_needed = std::atoi(it->second.c_str());
  g.signature = o.signature;
  return g;
}

void check_guest(const GuestSetup& g) {
  check_range("--vcpus", g.vcpus, 1, 64);
  check_range("--duration-ms", g.duration_ms, 1, 24 * 3600 * 1000.0);
  check_range("--memory-mb", g.memory_mb, 64, 1 << 20);
  // The kernel needs room of its own besides the hugepage pool; 96 MiB is
  // what a tiny kernel + initramfs + test comfortably boot in.
  const long pool = 2L * g.hugepages;
  if (g.hugepages < 0 || pool + 96 > g.memory_mb)
    throw usage_error(fmt::format("hugepages={} ({} MiB) do not fit in {} MiB of guest RAM (leave >= 96 MiB for the "
                                  "kernel): lower --hugepages or raise --memory-mb",
                                  g.hugepages, pool, g.memory_mb));
  if (g.pages_needed > g.hugepages)
    throw usage_error(fmt::format("the guest test needs {} hugepages but only {} are reserved (--hugepages)",
                                  g.pages_needed, g.hugepages));
}

// Guest arguments reach the kernel command line and labels name files in
// the bundle: util/validate holds those rules, shared with the flag table
// and the case loader.
void check_guest_args(const Args& args) {
  for (const auto& [k, v] : args) validate::guest_arg(k, v);
}

void check_labels(const std::vector<KernelVariant>& kernels) {
  std::vector<std::string> labels;
  for (const auto& k : kernels) {
    validate::label(k.label);
    labels.push_back(k.label);
  }
  validate::unique_labels(labels);
}

void check_inputs(const Settings& s) {
  check_guest_args(s.guest.args);
  check_labels(s.kernels);
  for (const auto& k : s.kernels) check_guest_args(k.args);
  const fs::path test = guest_binary_dir() / s.guest.test;
  if (s.guest.test != "none" && !fs::exists(test)) throw usage_error("guest test binary not found: " + test.string());
  if (s.kernels.empty()) throw usage_error("no kernels to run");
  for (const auto& f : s.fragments)
    if (!fs::is_regular_file(f)) throw usage_error("config fragment not found: " + f.string());
  for (const auto& p : s.patches)
    if (!fs::is_regular_file(p)) throw usage_error("patch not found: " + p.string());
  for (const auto& k : s.kernels) {
    if (!k.source.empty() && !fs::exists(k.source))
      throw usage_error("kernel source not found: " + k.source.string() + " (kernel " + k.label + ")");
  }
  for (const auto& k : s.kernels)
    for (const auto& p : k.patches)
      if (!fs::is_regular_file(p)) throw usage_error("patch not found: " + p.string() + " (kernel " + k.label + ")");
  if (!s.source.path.empty() && !fs::exists(s.source.path))
    throw usage_error("kernel source not found: " + s.source.path.string());
}

// Sequential stopping answers one question about one pair: it runs when no
// fixed design was asked for (--trials/--boots) and the kernels are exactly
// one "bug" and one "fixed" kernel.
SequentialDesign pick_design(const Overrides& o, const std::vector<KernelVariant>& kernels, int duration_ms) {
  SequentialDesign d;
  const bool pair = kernels.size() == 2 && kernels[0].role != kernels[1].role &&
                    (kernels[0].role == "bug" || kernels[0].role == "fixed") &&
                    (kernels[1].role == "bug" || kernels[1].role == "fixed");
  if (o.design != "auto" && o.design != "fixed" && o.design != "sequential")
    throw usage_error("--design must be auto, fixed or sequential, got '" + o.design + "'");
  if (o.design == "sequential" && !pair)
    throw usage_error("--design sequential needs exactly one kernel of role bug and one of role fixed");
  d.on = o.design == "sequential" || (o.design == "auto" && pair && !o.trials && !o.boots);
  d.alpha = o.alpha.value_or(d.alpha);
  d.fraction = o.fraction.value_or(d.fraction);
  d.max_racing_s = o.max_racing_s.value_or(d.max_racing_s);
  check_range("--alpha", d.alpha, 1e-9, 0.5);
  check_range("--fraction", d.fraction, 1e-6, 1);
  check_range("--max-racing-seconds", d.max_racing_s, 1, 7 * 24 * 3600.0);
  if (pair) {
    d.bug = kernels[0].role == "bug" ? 0 : 1;
    d.fixed = 1 - d.bug;
  }
  // Enough trials for the cap in one boot, and not so many that one boot's
  // timeout grows without bound.
  d.trials_per_boot = static_cast<int>(std::clamp(d.max_racing_s * 1000 / duration_ms + 1, 1.0, 200.0));
  return d;
}

// --connect: the pool's slots are the VM slots, and the pool runs libvirt.
void pick_hosts(const Overrides& o, Settings& s) {
  s.hosts = vm::parse_connects(o.connect);
  if (s.hosts.empty()) return;
  if (o.backend == "qemu") throw usage_error("--backend qemu cannot be combined with --connect (hosts run libvirt)");
  s.backend = "libvirt";
  int slots = 0;
  for (const auto& h : s.hosts) slots += h.slots;
  check_range("--connect (total slots)", slots, 1, 256);
  // --jobs with a pool: at most that many VMs at once over all its slots.
  s.jobs = o.jobs.value_or(slots);
  check_range("--jobs (VMs at once over the --connect slots)", s.jobs, 1, slots);
}

}  // namespace

vm::Accel parse_accel(const std::string& s) {
  if (s == "auto") return vm::Accel::Auto;
  if (s == "kvm") return vm::Accel::Kvm;
  if (s == "tcg") return vm::Accel::Tcg;
  throw usage_error("--accel must be auto, kvm or tcg, got '" + s + "'");
}

int Settings::trials_for(const KernelVariant& k) const {
  return k.role == "fixed" ? std::max(1, static_cast<int>(trials * fixed_factor + 0.5)) : trials;
}

GuestSetup Settings::guest_for(const KernelVariant& k) const {
  GuestSetup g = guest;
  for (const auto& [key, v] : k.args) g.args[key] = v;
  return g;
}

std::string Settings::identity() const {
  Sha256 h;
  h.field("racebisect-settings-v1").field(read_file(kase.file)).field(guest.test).field(guest.signature);
  for (const auto& [k, v] : guest.args) h.field(k).field(v);
  h.field(fmt::format("{} {} {} {} {}", guest.hugepages, guest.vcpus, guest.memory_mb, guest.duration_ms, trials));
  h.field(vm::to_string(accel)).field(backend);
  for (const auto& f : fragments) h.field("fragment").field(read_file(f));
  for (const auto& p : patches) h.field("patch").field(read_file(p));
  return h.hex();
}

std::string cpu_sharing_warning(const Settings& s, int cores) {
  int vms = s.hosts.empty() ? s.jobs : 0;
  for (const auto& h : s.hosts)
    if (vm::libvirt_uri_runs_here(h.uri)) vms += h.slots;
  if (!s.hosts.empty()) vms = std::min(vms, s.jobs);  // the --jobs cap
  return cpu_sharing_warning(vms, s.guest.vcpus, cores);
}

std::string cpu_sharing_warning(int vms, int vcpus, int cores) {
  if (vms * vcpus <= cores) return "";
  return fmt::format("{} VM(s) x {} vCPU(s) run at once on this machine's {} core(s): races slow down under load, "
                     "so rates measured this way are lower than with {} VM(s) at a time",
                     vms, vcpus, cores, std::max(1, cores / vcpus));
}

Settings resolve_settings(const Overrides& o, const fs::path& default_out) {
  Settings s;
  s.kase = load_case(o.case_file.empty() ? default_case_path() : fs::path(o.case_file));
  const Case& c = s.kase;
  s.source = {o.source.empty() ? c.source : fs::absolute(o.source), o.commit};
  s.fragments = c.fragments;
  for (const auto& f : o.fragments) s.fragments.push_back(fs::absolute(f));
  for (const auto& p : o.patches) s.patches.push_back(fs::absolute(p));
  s.kernels = pick_kernels(c, o);
  s.guest = pick_guest(c, o);
  check_guest(s.guest);
  s.trials = o.trials.value_or(c.trials);
  s.boots = o.boots.value_or(5);
  s.fixed_factor = o.fixed_factor.value_or(3.0);
  check_range("--trials", s.trials, 1, 100000);
  check_range("--boots", s.boots, 1, 100000);
  check_range("--fixed-factor", s.fixed_factor, 0.01, 1000);
  // Each VM wants one host core per vCPU (TCG runs a thread per vCPU): more
  // VMs than that only slow every race down.
  s.jobs = o.jobs.value_or(std::max(1, host_cores() / s.guest.vcpus));
  check_range("--jobs", s.jobs, 1, 256);
  s.build_jobs = o.build_jobs.value_or(0);
  check_range("--build-jobs", s.build_jobs, 0, 1024);
  s.accel = parse_accel(o.accel);
  if (!o.backend.empty() && o.backend != "qemu" && o.backend != "libvirt")
    throw usage_error("--backend must be qemu or libvirt, got '" + o.backend + "'");
  if (!o.backend.empty()) s.backend = o.backend;
  pick_hosts(o, s);
  if (const std::string w = cpu_sharing_warning(s, host_cores()); !w.empty()) spdlog::warn("{}", w);
  s.confidence = o.confidence.value_or(0.95);
  s.significance = o.significance.value_or(0.01);
  if (!(s.confidence > 0.5 && s.confidence < 1)) throw usage_error("--confidence must be in (0.5, 1)");
  if (!(s.significance > 0 && s.significance < 0.5)) throw usage_error("--significance must be in (0, 0.5)");
  s.sequential = pick_design(o, s.kernels, s.guest.duration_ms);
  s.cache = cache_root();
  s.out = o.out.empty() ? default_out : fs::absolute(o.out);
  check_inputs(s);
  return s;
}

}  // namespace rb::run
