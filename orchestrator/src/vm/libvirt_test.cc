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

}  // namespace
}  // namespace rb::vm
