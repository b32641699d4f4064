// The libvirt backend: the same boot as vm/qemu.cc (kernel + initramfs +
// command line, serial console to a file, no disks, no network), described as
// a transient libvirt domain and started through libvirt's C API.
//
// Decisions (see also scripts/start-libvirtd):
//  * Transient domains (virDomainCreateXML): nothing is left defined when the
//    boot ends; on_poweroff/on_reboot/on_crash = destroy, so the guest init's
//    final reboot ends the domain (libvirt runs QEMU with -no-shutdown, sees
//    the guest-reset SHUTDOWN event and terminates QEMU; the effect is the
//    direct backend's -no-reboot). libvirt then logs "shutting down,
//    reason=shutdown"; BootResult::exit_code is 0 for that reason (or when the
//    log is unreadable) and 1 for any other (failed, crashed, ...).
//  * Each domain carries its own <seclabel>s, built from the security models
//    the daemon reports: DAC is static "+0:+0" with relabel='no' (QEMU runs as
//    root, and libvirt does not chown the kernel, initramfs or console log),
//    and every other model (AppArmor, SELinux) is type='none'. So the stock
//    /etc/libvirt/qemu.conf works unchanged (Debian's runs QEMU as
//    libvirt-qemu, who could neither traverse /root/.cache nor write a console
//    log there), and the files keep their owners.
//  * TCG threading: libvirt 9.0 has no element for TCG's thread= option
//    (<features><tcg> only knows tb-cache) and generates plain `-accel tcg`
//    (<qemu:commandline> could only append a second -accel after libvirt's,
//    not replace it, so it is not used). QEMU enables multi-threaded TCG by default when guest and host
//    are both x86 (the guest memory model is not stronger than the host's),
//    so every vCPU still gets its own host thread: the QEMU process libvirt
//    starts has threads "CPU 0/TCG", "CPU 1/TCG" (single-threaded TCG would
//    show one "ALL CPUs/TCG").
//  * The console is a <serial type='file'> on a local path, followed with
//    watch_console(); so the URI must name a local daemon.
//  * Nothing outlives us: domains are created with VIR_DOMAIN_START_AUTODESTROY
//    (the daemon destroys them when our connection closes, however we die),
//    the connection has a keepalive (an event loop thread answers it), so a
//    dead or wedged daemon turns every pending call into an error within
//    ~20 s instead of a hang, and a stop request (Ctrl-C) destroys the domain
//    at once. Domains are named racebisect-<name>-<pid>-<n> and carry our
//    <metadata> (owner pid, its start time, the host's boot id); the first
//    boot of a process destroys domains with that name prefix AND that
//    metadata whose owner is gone (left by a daemon restart, which forgets
//    auto-destroy) -- never someone else's, never a live run's.
//  * QEMU's own stdout/stderr (libvirt's per-domain log) is copied next to the
//    console as <console>.qemu, like the direct backend's, and the per-domain
//    file under /var/log/libvirt/qemu is removed, since every boot has a new
//    domain name.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include "util/error.h"
#include "util/fs.h"
#include "util/stop.h"
#include "vm/backend.h"

namespace rb::vm {

namespace {

// ---- libvirt errors: captured per thread, never printed by libvirt ----

thread_local std::string t_last_error;

void capture_error(void*, virErrorPtr err) {
  if (err && err->message) t_last_error = err->message;
}

// The keepalive is answered by an event loop, which a client must run itself.
void init_libvirt() {
  static std::once_flag once;
  std::call_once(once, [] {
    virInitialize();
    virSetErrorFunc(nullptr, capture_error);
    if (virEventRegisterDefaultImpl() != 0) return;
    std::thread([] {
      for (;;)
        if (virEventRunDefaultImpl() < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }).detach();
  });
}

// Probe every 5 s; after 3 unanswered probes the connection is closed and
// every call on it fails.
constexpr int kKeepAliveInterval = 5, kKeepAliveCount = 3;

// The message of the last failed libvirt call on this thread.
std::string take_error() {
  std::string m = std::move(t_last_error);
  t_last_error.clear();
  if (m.empty()) {
    virErrorPtr e = virGetLastError();
    m = e && e->message ? e->message : "unknown libvirt error";
  }
  virResetLastError();
  return m;
}

int last_error_code() {
  virErrorPtr e = virGetLastError();
  return e ? e->code : VIR_ERR_OK;
}

// ---- RAII handles ----

struct ConnCloser {
  void operator()(virConnectPtr c) const { virConnectClose(c); }
};
using Conn = std::unique_ptr<virConnect, ConnCloser>;

// A running transient domain: destroyed on scope exit unless it has ended by
// itself, so an exception or an early return never leaves a guest running.
class Domain {
 public:
  explicit Domain(virDomainPtr d) : d_(d) {}
  ~Domain() {
    if (!d_) return;
    if (!gone_) {
      virDomainDestroy(d_);
      take_error();  // "domain is not running" if it ended meanwhile
    }
    virDomainFree(d_);
  }
  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;

  // Still running (exists and not shut off)? A lost connection to the daemon
  // counts as not running, with the reason kept in `lost`.
  bool alive() {
    if (gone_) return false;
    int state = 0, reason = 0;
    if (virDomainGetState(d_, &state, &reason, 0) < 0) {
      const int code = last_error_code();
      std::string msg = take_error();
      if (code != VIR_ERR_NO_DOMAIN) lost = msg;
      gone_ = true;
      return false;
    }
    if (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED) {
      gone_ = true;
      return false;
    }
    return true;
  }
  // Kills the guest now (graceful SIGTERM first, SIGKILL after libvirt's grace).
  void destroy() {
    if (gone_) return;
    if (virDomainDestroy(d_) < 0) take_error();
    gone_ = true;
  }

  std::string lost;

 private:
  virDomainPtr d_;
  bool gone_ = false;
};

// ---- domain XML ----

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r')
      throw usage_error("cannot put control character 0x" + std::to_string(u) + " into libvirt domain XML");
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// ---- ownership: which domains are ours, and is their owner still alive ----

constexpr const char* kNamePrefix = "racebisect-";
constexpr const char* kMetaUri = "https://racebisect.invalid/libvirt-domain/1";

// A process identity that survives pid reuse: pid + start time + boot id.
struct Owner {
  long pid = 0;
  std::string start, boot;
};

std::string field(const std::string& xml, const std::string& tag) {
  const size_t a = xml.find("<" + tag + ">");
  const size_t b = xml.find("</" + tag + ">");
  if (a == std::string::npos || b == std::string::npos || b < a) return {};
  return xml.substr(a + tag.size() + 2, b - a - tag.size() - 2);
}

// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or "".
std::string start_time(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return {};
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string f;
  for (int i = 3; i <= 22 && rest >> f; ++i) {
  }
  return f;
}

const Owner& self() {
  static const Owner me = [] {
    Owner o;
    o.pid = ::getpid();
    o.start = start_time(o.pid);
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::getline(in, o.boot);
    return o;
  }();
  return me;
}

// Stale = left by a racebisect process of this host that no longer runs.
bool owner_gone(const std::string& meta) {
  Owner o;
  o.pid = std::atol(field(meta, "pid").c_str());
  o.start = field(meta, "start");
  o.boot = field(meta, "boot");
  if (o.pid <= 0 || o.boot.empty() || o.boot != self().boot) return false;  // not provably ours to judge
  return start_time(o.pid) != o.start;  // dead, or the pid now belongs to another process
}

// Domain names end up in file names (/var/log/libvirt/qemu/NAME.log).
std::string domain_name(const std::string& prefix) {
  static std::atomic<unsigned> counter{0};
  std::string clean;
  std::string_view p = prefix;
  if (p.rfind("racebisect", 0) == 0) p.remove_prefix(std::string_view("racebisect").size());
  if (!p.empty() && p[0] == '-') p.remove_prefix(1);
  for (const char c : p.substr(0, 64)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    clean += ok ? c : '-';
  }
  if (clean.empty()) clean = "vm";
  return kNamePrefix + clean + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

// Destroys leftovers of killed earlier runs (see the header comment); once
// per process and URI.
void sweep_leftovers(virConnectPtr conn, const std::string& uri) {
  static std::mutex mu;
  static std::set<std::string> swept;
  std::lock_guard lock(mu);
  if (!swept.insert(uri).second) return;
  virDomainPtr* doms = nullptr;
  const int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  if (n < 0) {
    spdlog::warn("libvirt: cannot list domains to clean up leftovers: {}", take_error());
    return;
  }
  std::vector<std::string> destroyed;
  for (int i = 0; i < n; ++i) {
    const char* name = virDomainGetName(doms[i]);
    if (name && std::string(name).rfind(kNamePrefix, 0) == 0) {
      char* meta = virDomainGetMetadata(doms[i], VIR_DOMAIN_METADATA_ELEMENT, kMetaUri, VIR_DOMAIN_AFFECT_LIVE);
      if (!meta) take_error();  // no metadata of ours: not ours
      if (meta && owner_gone(meta) && virDomainDestroy(doms[i]) == 0) destroyed.push_back(name);
      free(meta);
    }
    virDomainFree(doms[i]);
  }
  free(doms);
  take_error();
  if (!destroyed.empty()) {
    std::string names;
    for (const auto& d : destroyed) names += " " + d;
    spdlog::warn("libvirt: destroyed {} domain(s) left by killed earlier runs:{}", destroyed.size(), names);
  }
}

// Security models the daemon runs with, from <host><secmodel><model>.
std::vector<std::string> security_models(virConnectPtr conn) {
  std::vector<std::string> models;
  char* caps = virConnectGetCapabilities(conn);
  if (!caps) {
    take_error();
    return {"dac"};  // the Linux default; a missing model would be an error, so guess the usual one
  }
  const std::string xml(caps);
  free(caps);
  const std::string open = "<model>", close = "</model>";
  for (size_t sec = xml.find("<secmodel>"); sec != std::string::npos; sec = xml.find("<secmodel>", sec + 1)) {
    const size_t end = xml.find("</secmodel>", sec);
    const size_t a = xml.find(open, sec);
    if (a == std::string::npos || (end != std::string::npos && a > end)) continue;
    const size_t b = xml.find(close, a);
    if (b == std::string::npos) continue;
    models.push_back(xml.substr(a + open.size(), b - a - open.size()));
  }
  return models;
}

std::string domain_xml(const BootSpec& spec, const std::string& name, const std::vector<std::string>& secmodels) {
  const bool kvm = spec.accel == Accel::Kvm;
  std::ostringstream x;
  x << "<domain type='" << (kvm ? "kvm" : "qemu") << "'>\n"
    << "  <name>" << xml_escape(name) << "</name>\n"
    << "  <metadata>\n    <racebisect:run xmlns:racebisect='" << kMetaUri << "'>"
    << "<racebisect:pid>" << self().pid << "</racebisect:pid><racebisect:start>" << xml_escape(self().start)
    << "</racebisect:start><racebisect:boot>" << xml_escape(self().boot)
    << "</racebisect:boot></racebisect:run>\n  </metadata>\n"
    << "  <memory unit='MiB'>" << spec.memory_mb << "</memory>\n"
    << "  <vcpu>" << spec.vcpus << "</vcpu>\n"
    << "  <os>\n"
    << "    <type arch='x86_64' machine='pc'>hvm</type>\n"
    << "    <kernel>" << xml_escape(fs::absolute(spec.kernel).string()) << "</kernel>\n"
    << "    <initrd>" << xml_escape(fs::absolute(spec.initrd).string()) << "</initrd>\n"
    << "    <cmdline>" << xml_escape(spec.cmdline) << "</cmdline>\n"
    << "  </os>\n"
    // What plain `qemu-system-x86_64 -M pc` gives the guest.
    << "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n";
  if (kvm) x << "  <cpu mode='host-passthrough'/>\n";  // = -cpu host
  x << "  <clock offset='utc'/>\n"
    << "  <on_poweroff>destroy</on_poweroff>\n"
    << "  <on_reboot>destroy</on_reboot>\n"
    << "  <on_crash>destroy</on_crash>\n"
    << "  <devices>\n"
    << "    <serial type='file'>\n"
    << "      <source path='" << xml_escape(fs::absolute(spec.console_log).string()) << "' append='off'/>\n"
    << "      <target port='0'/>\n"
    << "    </serial>\n"
    << "    <controller type='usb' model='none'/>\n"
    << "    <memballoon model='none'/>\n"
    << "  </devices>\n";
  for (const auto& m : secmodels) {
    if (m == "dac")
      x << "  <seclabel type='static' model='dac' relabel='no'>\n    <label>+0:+0</label>\n  </seclabel>\n";
    else if (m != "none" && !m.empty())
      x << "  <seclabel type='none' model='" << xml_escape(m) << "'/>\n";
  }
  x << "</domain>\n";
  return x.str();
}

// Where the daemon puts QEMU's stdout/stderr for a domain (local daemons only).
fs::path libvirt_qemu_log(const std::string& uri, const std::string& name) {
  if (uri.rfind("qemu:///system", 0) == 0) return fs::path("/var/log/libvirt/qemu") / (name + ".log");
  if (uri.rfind("qemu:///session", 0) == 0) {
    fs::path cache;
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) cache = x;
    else if (const char* h = std::getenv("HOME"); h && *h) cache = fs::path(h) / ".cache";
    if (!cache.empty()) return cache / "libvirt/qemu/log" / (name + ".log");
  }
  return {};
}

class LibvirtBackend : public Backend {
 public:
  explicit LibvirtBackend(std::string uri) : uri_(std::move(uri)) {}
  std::string name() const override { return "libvirt"; }

  BootResult boot(const BootSpec& spec, const OutputFn& on_output) override {
    BootResult r;
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    std::optional<Clock::time_point> watch_end;
    auto finish = [&]() -> BootResult {
      const auto end = Clock::now();
      r.seconds = std::chrono::duration<double>(end - t0).count();
      if (watch_end) r.stop_seconds = std::chrono::duration<double>(end - *watch_end).count();
      return r;
    };
    init_libvirt();
    const std::string name = domain_name(spec.name);
    const fs::path qemu_log_copy = spec.console_log.string() + ".qemu";
    try {
      fs::create_directories(fs::absolute(spec.console_log).parent_path());
      { std::ofstream truncate(spec.console_log, std::ios::trunc); }
      { std::ofstream truncate(qemu_log_copy, std::ios::trunc); }

      Conn conn(virConnectOpen(uri_.c_str()));
      if (!conn) {
        r.error = "cannot connect to " + uri_ + ": " + take_error() +
                  (libvirt_uri_is_local(uri_) ? " (libvirtd not running? start it with scripts/start-libvirtd)" : "");
        r.host_failed = true;
        return finish();
      }
      if (virConnectSetKeepAlive(conn.get(), kKeepAliveInterval, kKeepAliveCount) < 0)
        spdlog::warn("libvirt: no keepalive on {} (a wedged daemon would not be noticed): {}", uri_, take_error());
      sweep_leftovers(conn.get(), uri_);
      const std::string xml = domain_xml(spec, name, security_models(conn.get()));
      r.command = {xml};

      // Auto-destroy: if we die, our connection closes and the daemon
      // destroys the domain; nothing is left running for anyone to find.
      virDomainPtr raw = virDomainCreateXML(conn.get(), xml.c_str(), VIR_DOMAIN_START_AUTODESTROY);
      if (!raw) {
        r.error = "libvirt could not start domain " + name + ": " + take_error();
        // A refused definition is this boot's problem; a dead connection is the host's.
        r.host_failed = virConnectIsAlive(conn.get()) != 1;
        collect_qemu_log(name, qemu_log_copy);
        return finish();
      }
      Domain dom(raw);
      spdlog::debug("libvirt: domain {} running on {}", name, uri_);
      r.launch_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      bool stopped = false;
      r.end = watch_console(spec, on_output, [&] {
        if (stop_requested()) return !(stopped = true);  // Ctrl-C with a silent guest
        return dom.alive();
      });
      watch_end = Clock::now();
      if (stopped) r.end = BootEnd::Stopped;
      if (r.end == BootEnd::Exited) {
        const std::string log = collect_qemu_log(name, qemu_log_copy);
        const std::string reason = shutoff_reason(log);
        r.exit_code = reason.empty() || reason == "shutdown" ? 0 : 1;
        if (!dom.lost.empty()) {
          r.end = BootEnd::LaunchError;
          r.host_failed = true;
          r.error = "lost the connection to libvirtd during the boot (domain " + name +
                    " may still be running: virsh destroy it): " + dom.lost;
        } else if (r.exit_code != 0 && fs::file_size(spec.console_log) == 0) {
          // QEMU died before the guest printed anything: a launch error, as
          // in the direct backend.
          r.end = BootEnd::LaunchError;
          r.error = "domain " + name + " ended (" + reason + ") before any console output: " + tail(log, 2000);
        }
      } else {
        dom.destroy();
        collect_qemu_log(name, qemu_log_copy);
        cap_console_file(spec);
      }
    } catch (const std::exception& e) {
      r.end = BootEnd::LaunchError;
      r.error = e.what();
    }
    return finish();
  }

 private:
  // Copies libvirt's per-domain QEMU log next to the console and removes the
  // original (best effort: the daemon may be remote or the log unreadable).
  std::string collect_qemu_log(const std::string& name, const fs::path& dest) const {
    const fs::path src = libvirt_qemu_log(uri_, name);
    if (src.empty()) return {};
    std::error_code ec;
    if (!fs::exists(src, ec)) return {};
    std::string text;
    try {
      text = read_file(src);
      write_file_atomic(dest, text);
    } catch (const std::exception&) {
      return text;
    }
    fs::remove(src, ec);
    return text;
  }

  // libvirt ends each domain's log with "shutting down, reason=...".
  static std::string shutoff_reason(const std::string& log) {
    const std::string key = "shutting down, reason=";
    const size_t p = log.rfind(key);
    if (p == std::string::npos) return {};
    const size_t a = p + key.size();
    const size_t b = log.find_first_of(" \n", a);
    return log.substr(a, b == std::string::npos ? std::string::npos : b - a);
  }

  static std::string tail(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(s.size() - n); }

  std::string uri_;
};

}  // namespace

bool libvirt_uri_is_local(std::string_view uri) {
  return uri.starts_with("qemu:///") || uri.starts_with("qemu+unix://");
}

bool libvirt_uri_runs_here(std::string_view uri) {
  if (libvirt_uri_is_local(uri)) return true;
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view host = uri.substr(scheme_end + 3);
  host = host.substr(0, host.find_first_of("/?"));
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
  if (host.starts_with("[")) host = host.substr(1, host.find(']') - 1);  // [::1]:22
  else host = host.substr(0, host.find(':'));
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

std::unique_ptr<Backend> make_libvirt_backend(const std::string& uri) {
  return std::make_unique<LibvirtBackend>(uri);
}

}  // namespace rb::vm
