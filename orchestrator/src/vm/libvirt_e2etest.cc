// Boots a real kernel through the libvirt backend (needs a running libvirtd:
// scripts/start-libvirtd). The kernel is the seed case's patched kernel from
// `racebisect build` (cached by the other e2e tests), the initramfs
// racebisect's own; RB_E2E_KERNEL / RB_E2E_INITRD override both.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "image/initramfs.h"
#include "util/fs.h"
#include "util/process.h"
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
  EXPECT_LT(r.seconds, 30) << "destroying the domain took too long";
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
