// uffd-race: the guest-side race test for "mm/hugetlb: fix race condition of
// uffd missing/minor handling". Runs inside the VM as a static binary and
// prints KTAP v1 on stdout, one result line per trial with its counts, so the
// host can stop mid-boot and still count every trial that finished.
//
// Oracle: userfaultfd may raise spurious-but-harmless events, never logically
// wrong ones. Once every page of the range is installed (UFFDIO_COPY for
// MISSING, mapped via UFFDIO_CONTINUE for MINOR), a MISSING or MINOR event on
// that range is the bug: the fault read a pte that UFFDIO_WRITEPROTECT had
// transiently cleared (huge_ptep_modify_prot_start .. _commit).
//
// Trigger (measured best): one thread toggles UFFDIO_WRITEPROTECT over the
// range, readers read random 4 KiB offsets. A read of a present page faults
// only inside that window, so reads cost nothing until the race hits.
//
// Environment problems (no hugepages, missing uffd features, too few CPUs)
// are reported as `not ok N trial # ERROR env: ...`: never as pass or fail.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "proc_text.h"  // images/: /proc without iostreams

namespace {

constexpr size_t kHugePage = 2UL << 20;
constexpr size_t kSmallPage = 4096;

// One write() per line: /init forwards whole lines, each as one printk record.
void emit(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void emit(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > static_cast<int>(sizeof(buf)) - 2) n = sizeof(buf) - 2;
  buf[n++] = '\n';
  ssize_t off = 0;
  while (off < n) {
    ssize_t w = write(1, buf + off, n - off);
    if (w <= 0) return;
    off += w;
  }
}

struct Options {
  std::string variant = "missing";  // missing | minor
  std::string mapping = "noreserve";  // noreserve | reserved (private only)
  // How MISSING pages get installed before racing. copy: UFFDIO_COPY from
  // this thread, no fault; touch: the test faults each page and the handler
  // resolves it with UFFDIO_COPY.
  std::string install = "copy";  // copy | touch (MISSING only)
  // Under TCG a kernel path is slow the first time it runs (QEMU translates
  // it), and a cold fault -> handle_userfault path loses the race. warmup=1
  // runs that path once per boot, on a one-page mapping before trial 1, and
  // counts nothing from it (docs/PERFORMANCE.md, "The cold first trial").
  bool warmup = true;
  int pages = 32;
  int readers = 2;
  int trials = 10;
  int duration_ms = 3000;
  // Toggler spins a random 0..max_spin pause iterations between toggles. A
  // sleep would be far too coarse: measured, sleeping 0-20 us between toggles
  // cut toggling from ~12000/s to ~260/s and hid the race for 25 s. Spinning
  // 0, 8 and 64 iterations failed 7/8, 8/8 and 6/8 two-second trials on the
  // fix-reverted kernel (TCG, 2 vCPUs).
  int max_spin = 8;
  uint64_t seed = 1;
  bool pin = true;
  bool stop_on_bogus = true;
  int min_cpus = 2;
};

[[noreturn]] void usage(const std::string& why) {
  emit("KTAP version 1");
  emit("1..0 # SKIP usage: %s", why.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    if (eq == std::string::npos) usage("expected key=value, got '" + a + "'");
    std::string k = a.substr(0, eq), v = a.substr(eq + 1);
    auto num = [&](long lo, long hi) {
      char* end = nullptr;
      long x = strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || x < lo || x > hi)
        usage(k + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      return x;
    };
    if (k == "variant") {
      if (v != "missing" && v != "minor") usage("variant must be missing or minor");
      o.variant = v;
    } else if (k == "mapping") {
      if (v != "noreserve" && v != "reserved") usage("mapping must be noreserve or reserved");
      o.mapping = v;
    } else if (k == "install") {
      if (v != "copy" && v != "touch") usage("install must be copy or touch");
      o.install = v;
    } else if (k == "pages") o.pages = num(1, 4096);
    else if (k == "readers") o.readers = num(1, 64);
    else if (k == "trials") o.trials = num(1, 1000000);
    else if (k == "duration_ms") o.duration_ms = num(1, 86400000);
    else if (k == "max_spin") o.max_spin = num(0, 100000000);
    else if (k == "seed") o.seed = num(0, 0x7fffffff);
    else if (k == "pin") o.pin = num(0, 1);
    else if (k == "warmup") o.warmup = num(0, 1);
    else if (k == "stop_on_bogus") o.stop_on_bogus = num(0, 1);
    else if (k == "min_cpus") o.min_cpus = num(1, 1024);
    else usage("unknown option '" + k + "'");
  }
  return o;
}

std::map<std::string, long> meminfo() {
  std::map<std::string, long> m;
  for (const auto& line : rb_init::split(rb_init::read_text("/proc/meminfo"), "\n"))
    if (const auto c = line.find(':'); c != std::string::npos) m[line.substr(0, c)] = atol(line.c_str() + c + 1);
  return m;
}

int online_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
}

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

// RAII for file descriptors and mappings, so a failed trial leaks nothing
// into the next one.
struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { if (fd >= 0) close(fd); }
};
struct Mapping {
  void* addr = MAP_FAILED;
  size_t len = 0;
  Mapping(void* a, size_t l) : addr(a), len(l) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { if (addr != MAP_FAILED) munmap(addr, len); }
  char* bytes() const { return static_cast<char*>(addr); }
  bool ok() const { return addr != MAP_FAILED; }
};

int open_uffd() {
  return static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
}

// Returns the features the kernel supports (probing costs one uffd: the API
// handshake can be done once per fd), or -errno.
long long supported_features() {
  Fd fd(open_uffd());
  if (fd.fd < 0) return -errno;
  uffdio_api api{};
  api.api = UFFD_API;
  if (ioctl(fd.fd, UFFDIO_API, &api) != 0) return -errno;
  return static_cast<long long>(api.features);
}

struct TrialResult {
  long events = 0, bogus = 0, toggles = 0, reads = 0;
  long ms = 0, first_bogus_ms = -1;
  std::string error;  // non-empty: environment/infrastructure problem
};

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

std::string errstr(const char* what) {
  return std::string(what) + ": " + strerror(errno);
}

TrialResult run_trial(const Options& o, int trial, int cpus) {
  TrialResult r;
  const bool minor = o.variant == "minor";
  const size_t len = static_cast<size_t>(o.pages) * kHugePage;

  Fd uffd(open_uffd());
  if (uffd.fd < 0) { r.error = errstr("env: userfaultfd"); return r; }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM | (minor ? UFFD_FEATURE_MINOR_HUGETLBFS : 0);
  if (ioctl(uffd.fd, UFFDIO_API, &api) != 0) { r.error = errstr("env: UFFDIO_API"); return r; }

  // Backing: private anonymous hugetlb (MISSING) or a hugetlb memfd whose
  // page cache is filled through a second, unregistered alias (MINOR).
  Fd memfd;
  std::unique_ptr<Mapping> alias;
  void* addr;
  if (minor) {
    memfd.fd = memfd_create("uffd-race", MFD_CLOEXEC | MFD_HUGETLB);
    if (memfd.fd < 0) { r.error = errstr("env: memfd_create(MFD_HUGETLB)"); return r; }
    if (ftruncate(memfd.fd, static_cast<off_t>(len)) != 0) { r.error = errstr("env: ftruncate"); return r; }
    alias = std::make_unique<Mapping>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.fd, 0), len);
    if (!alias->ok()) { r.error = errstr("env: mmap alias"); return r; }
    for (int p = 0; p < o.pages; ++p) alias->bytes()[p * kHugePage] = static_cast<char>(p + 1);
    addr = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.fd, 0);
  } else {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
    if (o.mapping == "noreserve") flags |= MAP_NORESERVE;
    addr = mmap(nullptr, len, PROT_READ | PROT_WRITE, flags, -1, 0);
  }
  Mapping area(addr, len);
  if (!area.ok()) { r.error = errstr("env: mmap hugetlb area"); return r; }

  uffdio_register reg{};
  reg.range.start = reinterpret_cast<uint64_t>(area.addr);
  reg.range.len = len;
  reg.mode = UFFDIO_REGISTER_MODE_WP | (minor ? UFFDIO_REGISTER_MODE_MINOR : UFFDIO_REGISTER_MODE_MISSING);
  if (ioctl(uffd.fd, UFFDIO_REGISTER, &reg) != 0) { r.error = errstr("env: UFFDIO_REGISTER"); return r; }

  std::atomic<bool> installed{false}, stop{false}, handler_stop{false};
  std::atomic<long> events{0}, bogus{0}, toggles{0}, reads{0};
  std::atomic<long> first_bogus_ms{-1};
  std::atomic<int> handler_errno{0};
  Clock::time_point t0 = Clock::now();

  // The handler resolves every fault: an event before `installed` is the
  // legitimate first touch (MINOR variant); after it, a bug.
  auto resolve = [&](uint64_t page) {
    if (minor) {
      uffdio_continue c{};
      c.range.start = page;
      c.range.len = kHugePage;
      if (ioctl(uffd.fd, UFFDIO_CONTINUE, &c) != 0 && errno != EEXIST && errno != EAGAIN)
        handler_errno = errno;
    } else {
      static thread_local std::vector<char> src(kHugePage, 0x5a);
      uffdio_copy cp{};
      cp.dst = page;
      cp.src = reinterpret_cast<uint64_t>(src.data());
      cp.len = kHugePage;
      if (ioctl(uffd.fd, UFFDIO_COPY, &cp) != 0 && errno != EEXIST && errno != EAGAIN)
        handler_errno = errno;
    }
    // EEXIST leaves the faulting thread asleep: wake it explicitly.
    uffdio_range wake{page, kHugePage};
    ioctl(uffd.fd, UFFDIO_WAKE, &wake);
  };
  std::thread handler([&] {
    if (o.pin) pin_to(0);
    pollfd pfd{uffd.fd, POLLIN, 0};
    while (!handler_stop.load()) {
      int n = poll(&pfd, 1, 20);
      if (n <= 0) continue;
      uffd_msg msg;
      ssize_t got = read(uffd.fd, &msg, sizeof(msg));
      if (got != sizeof(msg)) continue;
      if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
      uint64_t page = msg.arg.pagefault.address & ~(kHugePage - 1);
      events++;
      if (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
        // No writes happen after install, so a WP fault is unexpected but not
        // the race; unprotect to let it through.
        uffdio_writeprotect wp{{page, kHugePage}, 0};
        ioctl(uffd.fd, UFFDIO_WRITEPROTECT, &wp);
        continue;
      }
      if (installed.load()) {
        if (bogus++ == 0) first_bogus_ms = ms_since(t0);
        if (o.stop_on_bogus) stop = true;
      }
      resolve(page);
      if (!installed.load() && handler_errno.load()) {
        // The faulting thread would fault again forever: end the run here
        // (the warm-up, trial 0, stands for trial 1, which cannot run).
        emit("not ok %d trial # ERROR env: installing a page failed (hugepages exhausted?): %s", std::max(trial, 1),
             strerror(handler_errno.load()));
        _exit(3);
      }
    }
  });

  // Install every page, so that any later MISSING/MINOR event is bogus.
  if (minor || o.install == "touch") {
    for (int p = 0; p < o.pages; ++p) (void)*static_cast<volatile char*>(area.bytes() + p * kHugePage);
  } else {
    std::vector<char> src(kHugePage, 0x5a);
    for (int p = 0; p < o.pages; ++p) {
      uffdio_copy cp{};
      cp.dst = reinterpret_cast<uint64_t>(area.bytes() + p * kHugePage);
      cp.src = reinterpret_cast<uint64_t>(src.data());
      cp.len = kHugePage;
      if (ioctl(uffd.fd, UFFDIO_COPY, &cp) != 0) {
        r.error = errstr("env: UFFDIO_COPY install (hugepages exhausted?)");
        handler_stop = true;
        handler.join();
        return r;
      }
    }
  }
  installed = true;
  t0 = Clock::now();
  const long setup_events = events.load();

  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // toggler
    if (o.pin) pin_to(0);
    std::mt19937_64 rng(o.seed * 7919 + trial);
    uffdio_writeprotect wp{};
    wp.range.start = reinterpret_cast<uint64_t>(area.addr);
    wp.range.len = len;
    while (!stop.load(std::memory_order_relaxed)) {
      wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
      ioctl(uffd.fd, UFFDIO_WRITEPROTECT, &wp);
      wp.mode = 0;
      ioctl(uffd.fd, UFFDIO_WRITEPROTECT, &wp);
      toggles++;
      if (o.max_spin > 0)
        for (long d = static_cast<long>(rng() % (o.max_spin + 1)); d > 0; --d) __builtin_ia32_pause();
    }
  });
  for (int i = 0; i < o.readers; ++i) {
    threads.emplace_back([&, i] {
      if (o.pin && cpus > 1) pin_to(1 + i % (cpus - 1));
      std::mt19937_64 rng(o.seed * 104729 + trial * 131 + i);
      const size_t slots = len / kSmallPage;
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        (void)*static_cast<volatile char*>(area.bytes() + (rng() % slots) * kSmallPage);
        ++n;
      }
      reads += n;
    });
  }
  while (!stop.load() && ms_since(t0) < o.duration_ms)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  r.ms = ms_since(t0);
  stop = true;
  for (auto& t : threads) t.join();  // the handler keeps resolving meanwhile
  handler_stop = true;
  handler.join();

  r.events = events - setup_events;
  r.bogus = bogus;
  r.toggles = toggles;
  r.reads = reads;
  r.first_bogus_ms = first_bogus_ms;
  if (handler_errno) r.error = std::string("env: resolving a fault failed: ") + strerror(handler_errno);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IONBF, 0);
  Options o = parse_options(argc, argv);
  const int cpus = online_cpus();
  auto mi = meminfo();
  long long features = supported_features();
  const long hp_total = mi.count("HugePages_Total") ? mi["HugePages_Total"] : -1;
  const long hp_free = mi.count("HugePages_Free") ? mi["HugePages_Free"] : -1;

  emit("KTAP version 1");
  emit("# uffd-race variant=%s mapping=%s install=%s warmup=%d pages=%d readers=%d trials=%d duration_ms=%d "
       "max_spin=%d seed=%llu",
       o.variant.c_str(), o.variant == "minor" ? "shared" : o.mapping.c_str(),
       o.variant == "minor" ? "touch" : o.install.c_str(), o.warmup ? 1 : 0, o.pages, o.readers, o.trials,
       o.duration_ms, o.max_spin, static_cast<unsigned long long>(o.seed));
  emit("# env cpus=%d hugepages_total=%ld hugepages_free=%ld uffd_features=0x%llx", cpus, hp_total, hp_free,
       features < 0 ? 0ULL : static_cast<unsigned long long>(features));
  emit("1..%d", o.trials);

  // Environment checks: each failure is an ERROR line, never a pass or fail.
  std::string env;
  if (features < 0)
    env = std::string("env: userfaultfd unavailable: ") + strerror(static_cast<int>(-features));
  else {
    long long need = UFFD_FEATURE_WP_HUGETLBFS_SHMEM | (o.variant == "minor" ? UFFD_FEATURE_MINOR_HUGETLBFS : 0);
    if ((features & need) != need) {
      char buf[128];
      snprintf(buf, sizeof(buf), "env: uffd features missing: need 0x%llx have 0x%llx", need, features);
      env = buf;
    }
  }
  if (env.empty() && hp_free < o.pages)
    env = "env: hugepages got " + std::to_string(hp_free) + " free expected " + std::to_string(o.pages);
  if (env.empty() && cpus < o.min_cpus)
    env = "env: cpus got " + std::to_string(cpus) + " expected " + std::to_string(o.min_cpus);
  if (!env.empty()) {
    emit("not ok 1 trial # ERROR %s", env.c_str());
    return 3;
  }

  int failed = 0, errors = 0;
  if (o.warmup) {
    // A one-page trial installed by faulting, results discarded: an error
    // here shows again, and is reported, in trial 1.
    Options w = o;
    w.pages = 1;
    w.install = "touch";
    w.duration_ms = 1;
    (void)run_trial(w, 0, cpus);
  }
  for (int t = 1; t <= o.trials; ++t) {
    TrialResult r = run_trial(o, t, cpus);
    if (!r.error.empty()) {
      emit("not ok %d trial # ERROR %s", t, r.error.c_str());
      ++errors;
      continue;
    }
    const bool fail = r.bogus > 0;
    failed += fail;
    std::string extra = fail ? " first_bogus_ms=" + std::to_string(r.first_bogus_ms) : "";
    emit("%s %d trial events=%ld bogus=%ld toggles=%ld reads=%ld ms=%ld%s", fail ? "not ok" : "ok", t, r.events,
         r.bogus, r.toggles, r.reads, r.ms, extra.c_str());
  }
  emit("# summary trials=%d failed=%d errors=%d", o.trials, failed, errors);
  // The guest contract: exit 0 means "every planned result was printed"
  // (failures included: they are results); anything else voids the boot.
  return errors ? 3 : 0;
}
