// The libvirt backend against hosts that cannot be reached: the real libvirt
// client library, no daemon needed.
#include <gtest/gtest.h>

#include "util/fs.h"
#include "vm/backend.h"

namespace rb::vm {
namespace {

// A refused connection is the host's failure (another host can run the
// boot), not a property of the boot.
TEST(LibvirtHost, RefusedConnectionIsAHostFailure) {
  TempDir dir(fs::temp_directory_path(), "rb-libvirt-unit");
  BootSpec spec;
  spec.kernel = "/nonexistent/bzImage";
  spec.initrd = "/nonexistent/initrd";
  spec.console_log = dir.path() / "console.log";
  const auto r = make_libvirt_backend("qemu+unix:///system?socket=" + (dir.path() / "no-daemon.sock").string())
                     ->boot(spec, [](std::string_view) { return true; });
  EXPECT_EQ(r.end, BootEnd::LaunchError);
  EXPECT_TRUE(r.host_failed) << r.error;
}

// local: where scripts/start-libvirtd is the hint (a daemon on this
// machine); here: where a pool's VMs share this machine's cores.
TEST(LibvirtHost, LocalUrisAndUrisThatRunHere) {
  const struct {
    const char* uri;
    bool local, here;
  } cases[] = {
      {"qemu:///system", true, true},
      {"qemu+unix:///system?socket=/run/x.sock", true, true},
      {"qemu+ssh://root@127.0.0.1/system", false, true},
      {"qemu+ssh://root@localhost:2222/system?keyfile=/k", false, true},
      {"qemu+ssh://[::1]:22/system", false, true},
      {"qemu+tcp://host/system", false, false},
      {"test:///default", false, false},
      {"qemu+ssh://root@build-2.example/system", false, false},
      {"qemu+tcp://10.0.0.7/system", false, false},
      {"qemu+ssh://localhost.example/system", false, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(libvirt_uri_is_local(c.uri), c.local) << c.uri;
    EXPECT_EQ(libvirt_uri_runs_here(c.uri), c.here) << c.uri;
  }
}

}  // namespace
}  // namespace rb::vm
