// Boots a real kernel through the libvirt backend (needs a running libvirtd:
// scripts/start-libvirtd). The kernel is the seed case's patched kernel from
// `racebisect build` (cached by the other e2e tests), the initramfs
// racebisect's own; RB_E2E_KERNEL / RB_E2E_INITRD override both.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>

#include "image/initramfs.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/stop.h"
#include "vm/backend.h"

namespace rb::vm {
namespace {

struct Inputs {
  fs::path kernel, initrd;
};

std::optional<Inputs> inputs() {
  const char* k = std::getenv("RB_E2E_KERNEL");
  const char* i = std::getenv("RB_E2E_INITRD");
  if (k && *k && i && *i) return Inputs{k, i};
  static std::optional<Inputs> built = []() -> std::optional<Inputs> {
    RunResult r = run_process({RB_BINARY, "build", "--only", "patched"});
    if (r.exit_code != 0) return std::nullopt;
    std::string path = r.output.substr(r.output.rfind('\t') + 1);
    while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
    const fs::path test = fs::path(RB_GUEST_TEST_PATH);
    auto img = image::build_initramfs({fs::path(RB_GUEST_INIT_PATH), {test}}, cache_root());
    return Inputs{path, img.path};
  }();
  return built;
}

#define REQUIRE_INPUTS(var)                                                                      \
  const auto var = inputs();                                                                     \
  ASSERT_TRUE(var.has_value()) << "could not build the kernel with `racebisect build --only patched`"

BootSpec base_spec(const Inputs& in, const fs::path& dir, const std::string& cmdline) {
  BootSpec spec;
  spec.kernel = in.kernel;
  spec.initrd = in.initrd;
  spec.cmdline = cmdline;
  spec.vcpus = 2;
  spec.memory_mb = 512;
  spec.accel = Accel::Tcg;  // KVM does not work on every host; TCG does
  spec.console_log = dir / "console.log";
  spec.timeout = std::chrono::seconds(300);
  spec.no_output_timeout = std::chrono::seconds(120);
  spec.name = "rb-e2e";
  return spec;
}

// A guest that runs for minutes: 100 trials of 3 s (uffd-race needs its
// hugepage pool, as in run::guest_cmdline()).
constexpr const char* kLongGuest =
    "console=ttyS0 hugepages=64 rb.test=uffd-race rb.args=trials=100,duration_ms=3000";

// The domain name the backend chose, from the XML it reports.
std::string domain_name_of(const BootResult& r) {
  if (r.command.size() != 1) return {};
  const std::string& xml = r.command[0];
  const size_t a = xml.find("<name>"), b = xml.find("</name>");
  if (a == std::string::npos || b == std::string::npos) return {};
  return xml.substr(a + 6, b - a - 6);
}

std::vector<std::string> running_domains() {
  auto res = run_process({"virsh", "-c", "qemu:///system", "list", "--all", "--name"}, {},
                         std::chrono::seconds(30));
  EXPECT_EQ(res.exit_code, 0) << res.output;
  std::vector<std::string> names;
  std::istringstream in(res.output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  return names;
}

class LibvirtE2E : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = std::make_unique<TempDir>(fs::temp_directory_path(), "rb-libvirt-e2e"); }
  fs::path dir() const { return dir_->path(); }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(LibvirtE2E, BootsToInitExitAndEndsByItself) {
  REQUIRE_INPUTS(in);
  auto spec = base_spec(*in, dir(), "console=ttyS0 rb.test=none");
  std::string seen;
  auto r = make_libvirt_backend()->boot(spec, [&](std::string_view chunk) {
    seen.append(chunk);
    return true;
  });
  ASSERT_EQ(r.end, BootEnd::Exited) << to_string(r.end) << ": " << r.error << "\n" << seen;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(seen.find("racebisect-init: exit status=0"), std::string::npos) << seen;
  EXPECT_EQ(read_file(spec.console_log), seen);  // the callback saw the whole console
  ASSERT_EQ(r.command.size(), 1u);
  EXPECT_NE(r.command[0].find("<domain type='qemu'>"), std::string::npos) << r.command[0];
  const auto name = domain_name_of(r);
  ASSERT_FALSE(name.empty());
  for (const auto& d : running_domains()) EXPECT_NE(d, name) << "transient domain left behind";
  std::cout << "libvirt boot (rb.test=none, TCG, 2 vCPUs): " << r.seconds << " s\n";
}

TEST_F(LibvirtE2E, CommandLineIsXmlEscaped) {
  REQUIRE_INPUTS(in);
  // The kernel echoes its command line; '&', '<', '>', quotes must survive.
  const std::string odd = "rb.note=a&b<c>d'e";
  auto spec = base_spec(*in, dir(), "console=ttyS0 rb.test=none " + odd);
  std::string seen;
  auto r = make_libvirt_backend()->boot(spec, [&](std::string_view chunk) {
    seen.append(chunk);
    return true;
  });
  ASSERT_EQ(r.end, BootEnd::Exited) << r.error << "\n" << seen;
  EXPECT_NE(seen.find(odd), std::string::npos) << seen;
  EXPECT_NE(r.command[0].find("a&amp;b&lt;c&gt;d&apos;e"), std::string::npos) << r.command[0];
}

TEST_F(LibvirtE2E, TimeoutDestroysTheDomain) {
  REQUIRE_INPUTS(in);
  auto spec = base_spec(*in, dir(), kLongGuest);
  spec.timeout = std::chrono::seconds(3);
  auto r = make_libvirt_backend()->boot(spec, [](std::string_view) { return true; });
  ASSERT_EQ(r.end, BootEnd::Timeout) << to_string(r.end) << ": " << r.error;
  const auto name = domain_name_of(r);
  ASSERT_FALSE(name.empty());
  for (const auto& d : running_domains()) EXPECT_NE(d, name) << "domain still exists after the timeout";
  // Timed from the moment the domain ran (start-up, however slow the daemon
  // is, is launch_seconds) to the end of the watch (tearing down is
  // stop_seconds): the timeout under test, plus at most the watcher's
  // 100 ms poll and one state call -- 2 s is that margin, not a speed guess.
  const double watched = r.seconds - r.launch_seconds - r.stop_seconds;
  EXPECT_GE(watched, spec.timeout.count());
  EXPECT_LT(watched, spec.timeout.count() + 2.0) << "the timeout was not enforced on time";
  std::cout << "libvirt timeout boot: launch " << r.launch_seconds << " s, watched " << watched << " s, destroy "
            << r.stop_seconds << " s\n";
}

TEST_F(LibvirtE2E, SilentGuestIsNoOutput) {
  REQUIRE_INPUTS(in);
  // No console= : the kernel prints nothing on ttyS0, and the test runs for
  // minutes, so the only way out is the no-output timeout.
  auto spec = base_spec(*in, dir(), std::string(kLongGuest).substr(std::string("console=ttyS0 ").size()));
  spec.no_output_timeout = std::chrono::seconds(3);
  auto r = make_libvirt_backend()->boot(spec, [](std::string_view) { return true; });
  ASSERT_EQ(r.end, BootEnd::NoOutput) << to_string(r.end) << ": " << r.error;
  const auto name = domain_name_of(r);
  for (const auto& d : running_domains()) EXPECT_NE(d, name) << "domain still exists after no-output";
}

TEST_F(LibvirtE2E, CallbackCanStopTheGuest) {
  REQUIRE_INPUTS(in);
  auto spec = base_spec(*in, dir(), kLongGuest);
  std::string seen;
  auto r = make_libvirt_backend()->boot(spec, [&](std::string_view chunk) {
    seen.append(chunk);
    return seen.find("racebisect-init: start") == std::string::npos;
  });
  ASSERT_EQ(r.end, BootEnd::Stopped) << to_string(r.end) << ": " << r.error << "\n" << seen;
  const auto name = domain_name_of(r);
  for (const auto& d : running_domains()) EXPECT_NE(d, name) << "domain still exists after stop";
}

// A stop request (Ctrl-C) ends a boot whose guest prints nothing at once,
// long before its no-output timeout.
TEST_F(LibvirtE2E, StopRequestEndsASilentGuest) {
  REQUIRE_INPUTS(in);
  auto spec = base_spec(*in, dir(), std::string(kLongGuest).substr(std::string("console=ttyS0 ").size()));
  spec.no_output_timeout = std::chrono::seconds(600);
  std::thread stopper([] {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    request_stop(SIGINT);
  });
  auto r = make_libvirt_backend()->boot(spec, [](std::string_view) { return true; });
  stopper.join();
  clear_stop_for_testing();
  EXPECT_EQ(r.end, BootEnd::Stopped) << to_string(r.end) << ": " << r.error;
  const auto name = domain_name_of(r);
  for (const auto& d : running_domains()) EXPECT_NE(d, name) << "domain still exists after the stop";
}

// kill -9 of racebisect mid-boot: libvirt's auto-destroy takes the domain
// down when our connection closes.
TEST_F(LibvirtE2E, KilledRunLeavesNoDomain) {
  REQUIRE_INPUTS(in);
  Process run({RB_BINARY, "boot", "--kernel", in->kernel.string(), "--backend", "libvirt", "--accel", "tcg", "--trials",
               "100", "--duration-ms", "3000", "--out", (dir() / "boot").string()},
              {.cwd = {}, .output = dir() / "boot.log", .env = {}});
  const std::string mine = "-" + std::to_string(run.pid()) + "-";
  auto ours = [&] {
    for (const auto& d : running_domains())
      if (d.rfind("racebisect-", 0) == 0 && d.find(mine) != std::string::npos) return d;
    return std::string();
  };
  std::string name;
  for (int i = 0; i < 1200 && name.empty() && run.running(); ++i) {
    name = ours();
    if (name.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(name.empty()) << "the boot never started a domain:\n" << read_tail(dir() / "boot.log", 4000);
  ::kill(run.pid(), SIGKILL);
  run.wait();
  bool gone = false;
  for (int i = 0; i < 600 && !(gone = ours().empty()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(gone) << name << " outlived the run that started it";
}

// Leftovers of killed runs that auto-destroy missed (a daemon restart forgets
// it) are destroyed by the next run -- only domains named racebisect-* that
// carry our metadata naming an owner that is gone; a foreign domain and a
// live run's domain are left alone.
TEST_F(LibvirtE2E, StartupSweepDestroysOnlyDeadRunsDomains) {
  REQUIRE_INPUTS(in);
  const pid_t dead = [] {
    const pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    ::waitpid(p, nullptr, 0);
    return p;
  }();
  std::string boot_id = read_file("/proc/sys/kernel/random/boot_id");
  boot_id.erase(boot_id.find_last_not_of("\n") + 1);
  std::string self_stat = read_file("/proc/self/stat");
  std::istringstream rest(self_stat.substr(self_stat.rfind(')') + 2));
  std::string start;
  for (int i = 3; i <= 22; ++i) rest >> start;
  const std::string tag = std::to_string(::getpid());
  auto create = [&](const std::string& name, const std::string& metadata) {
    // A guest that never ends: no initramfs, panic=0 waits forever.
    const std::string xml =
        "<domain type='qemu'><name>" + name + "</name>" + metadata +
        "<memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type><kernel>" +
        in->kernel.string() + "</kernel><cmdline>panic=0</cmdline></os><on_poweroff>destroy</on_poweroff>"
        "<on_reboot>destroy</on_reboot><on_crash>destroy</on_crash><devices><controller type='usb' model='none'/>"
        "<memballoon model='none'/></devices><seclabel type='static' model='dac' relabel='no'><label>+0:+0</label>"
        "</seclabel></domain>";
    write_file_atomic(dir() / (name + ".xml"), xml);
    RunResult r = run_process({"virsh", "-c", "qemu:///system", "create", (dir() / (name + ".xml")).string()}, {},
                              std::chrono::seconds(120));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  };
  auto meta = [&](pid_t pid, const std::string& st) {
    return "<metadata><racebisect:run xmlns:racebisect='https://racebisect.invalid/libvirt-domain/1'><racebisect:pid>" +
           std::to_string(pid) + "</racebisect:pid><racebisect:start>" + st + "</racebisect:start><racebisect:boot>" +
           boot_id + "</racebisect:boot></racebisect:run></metadata>";
  };
  const std::string leftover = "racebisect-e2e-dead-" + tag, foreign = "racebisect-e2e-foreign-" + tag,
                    live = "racebisect-e2e-live-" + tag;
  create(leftover, meta(dead, "1"));
  create(foreign, "");
  create(live, meta(::getpid(), start));
  RunResult r = run_process({RB_BINARY, "boot", "--kernel", in->kernel.string(), "--backend", "libvirt", "--accel",
                             "tcg", "--test", "none", "--out", (dir() / "boot").string()},
                            {}, std::chrono::seconds(600));
  const auto after = running_domains();
  for (const auto& d : {foreign, live}) run_process({"virsh", "-c", "qemu:///system", "destroy", d}, {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto has = [&](const std::string& n) { return std::find(after.begin(), after.end(), n) != after.end(); };
  EXPECT_FALSE(has(leftover)) << "a dead run's domain was left running";
  EXPECT_TRUE(has(foreign)) << "a domain without our metadata was destroyed";
  EXPECT_TRUE(has(live)) << "a live run's domain was destroyed";
  if (has(leftover)) run_process({"virsh", "-c", "qemu:///system", "destroy", leftover}, {}, std::chrono::seconds(60));
}

TEST_F(LibvirtE2E, MissingKernelIsLaunchError) {
  REQUIRE_INPUTS(in);
  auto spec = base_spec(*in, dir(), "console=ttyS0 rb.test=none");
  spec.kernel = dir() / "no-such-bzImage";
  auto r = make_libvirt_backend()->boot(spec, [](std::string_view) { return true; });
  EXPECT_EQ(r.end, BootEnd::LaunchError);
  EXPECT_NE(r.error.find("no-such-bzImage"), std::string::npos) << r.error;
}

TEST(LibvirtBackend, UnreachableDaemonIsLaunchErrorWithAHint) {
  BootSpec spec;
  spec.kernel = "/nonexistent/bzImage";
  spec.initrd = "/nonexistent/initrd";
  TempDir dir(fs::temp_directory_path(), "rb-libvirt-e2e");
  spec.console_log = dir.path() / "console.log";
  auto r = make_libvirt_backend("qemu+unix:///system?socket=/nonexistent/libvirt-sock")
               ->boot(spec, [](std::string_view) { return true; });
  EXPECT_EQ(r.end, BootEnd::LaunchError);
  EXPECT_NE(r.error.find("scripts/start-libvirtd"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace rb::vm
