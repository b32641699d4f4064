#include "doctor/doctor.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "run/case.h"
#include "util/error.h"
#include "vm/backend.h"

namespace rb::doctor {

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kGiB = 1024 * kMiB;
// Host memory of one QEMU process beyond its guest RAM (TCG translation
// buffer, device model); measured RSS - guest RAM for a 512 MiB seed-case
// guest under TCG, rounded up.
constexpr std::uint64_t kQemuOverheadMib = 256;
// Free space a first run needs in the cache: the imported 6.1 source tree
// (work tree 1.5 GiB + one pack 0.27 GiB, measured), one build directory (127 MiB)
// and ccache (51 MiB), with room to spare. A warm cache needs only bundles
// and an occasional new build directory.
constexpr std::uint64_t kColdCacheBytes = 3 * kGiB;
constexpr std::uint64_t kWarmCacheBytes = kGiB / 2;
constexpr std::chrono::seconds kCommandTimeout{15};

Check make(std::string id, std::string subject, Status st, std::string summary, std::string fix = "") {
  return {std::move(id), std::move(subject), st, std::move(summary), std::move(fix)};
}

std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string last_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

std::string gib(std::uint64_t bytes) { return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / kGiB); }

// --- data -------------------------------------------------------------------

void add_file(DataInfo& d, std::string role, const fs::path& p) { d.files.push_back({std::move(role), p, fs::is_regular_file(p)}); }

void list_case_files(const run::Case& c, const run::DataLayout& l, DataInfo& d) {
  add_file(d, "case", c.file);
  for (const auto& f : c.fragments) add_file(d, "fragment", f);
  for (const auto* list : {&c.kernels, &c.extra_kernels})
    for (const auto& k : *list)
      for (const auto& p : k.patches)
        if (std::none_of(d.files.begin(), d.files.end(), [&](const DataFile& f) { return f.path == p; }))
          add_file(d, "patch", p);
  add_file(d, "guest test", l.libexec / c.guest_test);
  add_file(d, "init", l.libexec / "rb-init");
}

std::optional<run::Case> check_data(const Options& o, const Host& h, Report& r) {
  try {
    r.data.layout = h.layout();
  } catch (const Error& e) {
    r.checks.push_back(make("data", "", Status::Fail, e.what(),
                            "reinstall (cmake --install build --prefix P) or set RACEBISECT_DATA / RACEBISECT_LIBEXEC"));
    return std::nullopt;
  }
  const auto& l = r.data.layout;
  const fs::path file = o.case_file.empty() ? l.data / "cases" / "uffd-hugetlb.toml" : o.case_file;
  run::Case c;
  try {
    c = run::load_case(file);
  } catch (const Error& e) {
    r.checks.push_back(make("data", file.string(), Status::Fail, e.what(), "pass a valid --case or reinstall"));
    return std::nullopt;
  }
  list_case_files(c, l, r.data);
  std::string missing;
  for (const auto& f : r.data.files)
    if (!f.found) missing += (missing.empty() ? "" : ", ") + f.role + " " + f.path.string();
  const std::string where = fmt::format("data {} ({}), guest binaries {} ({})", l.data.string(), l.data_from,
                                        l.libexec.string(), l.libexec_from);
  if (!missing.empty())
    r.checks.push_back(make("data", c.file.string(), Status::Fail, "missing: " + missing + "; " + where,
                            "reinstall, or fix the case's paths (relative to the case's parent directory)"));
  else
    r.checks.push_back(make("data", c.file.string(), Status::Ok,
                            fmt::format("case {}: {} files found; {}", c.name, r.data.files.size(), where)));
  return c;
}

// --- QEMU and KVM -----------------------------------------------------------

Check check_qemu(const Host& h) {
  const fs::path q = h.find_program("qemu-system-x86_64");
  if (q.empty())
    return make("qemu", "qemu-system-x86_64", Status::Fail, "qemu-system-x86_64 not found on PATH",
                "apt-get install qemu-system-x86");
  const RunResult v = h.run({q.string(), "--version"}, kCommandTimeout);
  if (v.timed_out || v.exit_code != 0)
    return make("qemu", q.string(), Status::Fail, "`qemu-system-x86_64 --version` failed: " + first_line(v.output),
                "reinstall qemu-system-x86");
  return make("qemu", q.string(), Status::Ok, first_line(v.output));
}

// Without udev the node stays root:root 0600: a root run works, but libvirtd
// then sees KVM "enabled when probing but not available now" and re-probes
// QEMU on every call (~55 s per boot measured, 4 s once fixed).
Check check_kvm_device(const Host& h) {
  const DeviceNode d = h.device("/dev/kvm");
  if (!d.exists) return make("kvm-device", "/dev/kvm", Status::Skip, "no /dev/kvm: guests run under TCG");
  const std::string group = d.group.empty() ? fmt::format("gid {} (no name here)", d.gid) : d.group;
  const std::string found = fmt::format("group {}, mode {:04o}, {} by this user", group, d.mode,
                                        d.usable ? "usable" : "not usable");
  // A gid without a name is a host's group seen from a container: its name
  // is the host's business, only its mode and our access count here.
  const bool kvm_group = d.group == "kvm" || (d.group.empty() && d.gid != 0);
  if (!kvm_group || (d.mode & 0660) != 0660)
    return make("kvm-device", "/dev/kvm", Status::Warn, found,
                "chgrp kvm /dev/kvm && chmod 0660 /dev/kvm (what udev does; scripts/bootstrap does it): otherwise "
                "libvirtd re-probes QEMU on every call (~55 s per boot)");
  if (!d.usable)
    return make("kvm-device", "/dev/kvm", Status::Warn, found,
                "add this user to group kvm (container: --device /dev/kvm --group-add <gid of /dev/kvm>)");
  return make("kvm-device", "/dev/kvm", Status::Ok, found);
}

const char* kTcgFix = "none needed: TCG runs every test (one host thread per vCPU), only slower; for KVM run on a "
                      "host whose KVM runs ordinary guests (container: --device /dev/kvm)";

Check check_accel(const Options& o, const Host& h, bool have_qemu) {
  if (!have_qemu) return make("accel", "", Status::Skip, "not checked: QEMU is missing");
  const DeviceNode d = h.device("/dev/kvm");
  if (!d.exists || !d.usable)
    return make("accel", "/dev/kvm", Status::Warn,
                std::string(d.exists ? "/dev/kvm not usable by this user" : "no /dev/kvm") + ": runs use TCG", kTcgFix);
  if (!o.probe)
    return make("accel", "/dev/kvm", Status::Skip,
                "/dev/kvm is usable; not probed (--no-probe): a run boots a tiny guest under KVM first, TCG if that fails");
  const auto choice = h.probe_kvm(o.cache);
  if (!choice)
    return make("accel", "/dev/kvm", Status::Skip,
                "/dev/kvm is usable; no kernel cached yet to probe it with: the first run probes KVM, TCG if that fails",
                "run `racebisect build --only patched`, then doctor again");
  if (choice->accel == vm::Accel::Kvm) return make("accel", "/dev/kvm", Status::Ok, choice->reason);
  return make("accel", "/dev/kvm", Status::Warn, choice->reason, kTcgFix);
}

// --- libvirt ----------------------------------------------------------------

Check check_uri(const Host& h, const std::string& uri, bool asked) {
  const Status bad = asked ? Status::Fail : Status::Warn;
  const fs::path virsh = h.find_program("virsh");
  if (virsh.empty()) return make("libvirt", uri, bad, "virsh not found", "apt-get install libvirt-clients");
  const RunResult r = h.run({virsh.string(), "-c", uri, "version"}, kCommandTimeout);
  const std::string why = asked ? "" : " (only --backend libvirt needs it)";
  if (r.timed_out)
    return make("libvirt", uri, bad, fmt::format("no answer within {} s{}", kCommandTimeout.count(), why),
                "check the host, its libvirtd and the URI (ssh keys for qemu+ssh://)");
  if (r.exit_code != 0)
    return make("libvirt", uri, bad, "unreachable: " + last_line(r.output) + why,
                vm::libvirt_uri_is_local(uri) ? "start libvirtd: scripts/start-libvirtd" : "check the URI and the remote libvirtd");
  std::smatch m;
  const std::regex hv("Running hypervisor: (.*)");
  std::string summary = "reachable";
  if (std::regex_search(r.output, m, hv)) summary += ", hypervisor " + std::string(m[1]);
  return make("libvirt", uri, Status::Ok, summary);
}

std::vector<Check> check_libvirt(const Options& o, const Host& h) {
  std::vector<Check> out;
  for (const auto& uri : o.uris) out.push_back(check_uri(h, uri, true));
  if (!o.uris.empty()) return out;
  const bool installed = !h.find_program("virsh").empty() || h.exists("/usr/sbin/libvirtd");
  if (!installed)
    out.push_back(make("libvirt", "qemu:///system", Status::Skip,
                       "libvirt not installed: only --backend libvirt needs it"));
  else
    out.push_back(check_uri(h, "qemu:///system", false));
  return out;
}

// --- memory and disk ----------------------------------------------------------

std::optional<std::uint64_t> mem_available_kib(const std::string& meminfo) {
  std::smatch m;
  if (!std::regex_search(meminfo, m, std::regex(R"(MemAvailable:\s+(\d+) kB)"))) return std::nullopt;
  return std::stoull(m[1]);
}

Check check_memory(const run::Case& c, const Options& o, const Host& h) {
  const int jobs = o.jobs > 0 ? o.jobs : std::max(1, h.cores() / std::max(1, c.vcpus));
  const std::uint64_t need_mib = static_cast<std::uint64_t>(jobs) * (c.memory_mb + kQemuOverheadMib);
  const std::string subject = fmt::format("{} VM(s) x ({} MiB guest + {} MiB QEMU)", jobs, c.memory_mb, kQemuOverheadMib);
  const auto avail = mem_available_kib(h.read("/proc/meminfo"));
  if (!avail) return make("memory", subject, Status::Warn, "cannot read MemAvailable from /proc/meminfo");
  const std::uint64_t avail_mib = *avail / 1024;
  const std::string found = fmt::format("{} MiB needed, {} MiB available", need_mib, avail_mib);
  if (avail_mib < need_mib)
    return make("memory", subject, Status::Fail, found,
                "run fewer VMs at once (--jobs) or a smaller guest (--memory-mb), or free memory");
  return make("memory", subject, Status::Ok, found);
}

bool has_imported_source(const Host& h, const fs::path& cache) { return h.exists(cache / "src"); }

Check check_disk(const Options& o, const Host& h) {
  const auto free = h.free_bytes(o.cache);
  if (!free) return make("disk", o.cache.string(), Status::Warn, "cannot stat the filesystem of the cache");
  const bool warm = has_imported_source(h, o.cache);
  const std::uint64_t need = warm ? kWarmCacheBytes : kColdCacheBytes;
  const std::string found = fmt::format("{} free, {} needed ({} cache)", gib(*free), gib(need), warm ? "warm" : "cold");
  if (*free < need)
    return make("disk", o.cache.string(), Status::Fail, found,
                "free space there or point RACEBISECT_CACHE at a larger filesystem");
  return make("disk", o.cache.string(), Status::Ok, found);
}

Check check_cache(const Options& o, const Host& h) {
  const std::string why = h.writable(o.cache);
  if (!why.empty())
    return make("cache", o.cache.string(), Status::Fail, "not writable: " + why,
                "set RACEBISECT_CACHE to a writable directory (container: mount a volume owned by the user)");
  return make("cache", o.cache.string(), Status::Ok, "writable (RACEBISECT_CACHE, else ~/.cache/racebisect)");
}

// --- kernel build tools -------------------------------------------------------

struct Tool {
  const char* program;  // on PATH, or an absolute header path
  const char* package;  // the Debian package that provides it
};

// What `make tinyconfig` + fragments + `make bzImage` (x86_64, objtool) and
// the tarball import use.
constexpr Tool kBuildTools[] = {
    {"make", "make"},   {"gcc", "gcc"},          {"flex", "flex"},        {"bison", "bison"},
    {"bc", "bc"},       {"perl", "perl"},        {"tar", "tar"},          {"xz", "xz-utils"},
    {"lz4", "lz4"},     {"/usr/include/gelf.h", "libelf-dev"},
};

Check check_build_tools(const Host& h) {
  std::string missing, packages;
  for (const auto& t : kBuildTools) {
    const bool found = t.program[0] == '/' ? h.exists(t.program) : !h.find_program(t.program).empty();
    if (found) continue;
    missing += std::string(missing.empty() ? "" : ", ") + t.program;
    packages += std::string(" ") + t.package;
  }
  const std::string subject = "make gcc flex bison bc perl tar xz lz4 libelf";
  if (!missing.empty()) return make("build-tools", subject, Status::Fail, "missing: " + missing, "apt-get install" + packages);
  return make("build-tools", subject, Status::Ok, "all found");
}

Check check_ccache(const Host& h) {
  if (h.find_program("ccache").empty())
    return make("ccache", "ccache", Status::Warn, "not found: kernels still build, rebuilds of other patch sets are slower",
                "apt-get install ccache");
  return make("ccache", "ccache", Status::Ok, "found: kernel objects are cached under the cache root");
}

Check check_git(const Host& h) {
  const fs::path g = h.find_program("git");
  if (g.empty()) return make("git", "git", Status::Fail, "git not found: every kernel source becomes a git work tree", "apt-get install git");
  const RunResult v = h.run({g.string(), "--version"}, kCommandTimeout);
  if (v.timed_out || v.exit_code != 0) return make("git", g.string(), Status::Fail, "`git --version` failed", "reinstall git");
  return make("git", g.string(), Status::Ok, first_line(v.output));
}

Check check_source(const run::Case& c, const Host& h) {
  if (c.source.empty()) return make("source", "", Status::Skip, "the case names no source: pass --source");
  if (h.exists(c.source)) return make("source", c.source.string(), Status::Ok, "found");
  std::smatch m;
  const std::string s = c.source.string();
  const std::string fix = std::regex_search(s, m, std::regex(R"(/usr/src/(linux-source-[0-9.]+)\.tar)"))
                              ? "apt-get install " + std::string(m[1])
                              : "install it or pass --source TARBALL|GIT-TREE";
  return make("source", s, Status::Fail, "not found", fix);
}

}  // namespace

const char* to_string(Status s) {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::Skip: return "skip";
    case Status::Warn: return "warn";
    case Status::Fail: return "fail";
  }
  return "?";
}

int Report::exit_code(bool strict) const {
  for (const auto& c : checks)
    if (c.status == Status::Fail || (strict && c.status == Status::Warn)) return 3;
  return 0;
}

const Check* Report::find(const std::string& id) const {
  for (const auto& c : checks)
    if (c.id == id) return &c;
  return nullptr;
}

Report run_checks(const Options& o, const Host& h) {
  Report r;
  const auto kase = check_data(o, h, r);
  r.checks.push_back(check_qemu(h));
  const bool have_qemu = r.checks.back().status == Status::Ok;
  r.checks.push_back(check_kvm_device(h));
  r.checks.push_back(check_accel(o, h, have_qemu));
  for (auto& c : check_libvirt(o, h)) r.checks.push_back(std::move(c));
  if (kase) r.checks.push_back(check_memory(*kase, o, h));
  r.checks.push_back(check_disk(o, h));
  r.checks.push_back(check_cache(o, h));
  r.checks.push_back(check_build_tools(h));
  r.checks.push_back(check_ccache(h));
  r.checks.push_back(check_git(h));
  if (kase) r.checks.push_back(check_source(*kase, h));
  return r;
}

}  // namespace rb::doctor
