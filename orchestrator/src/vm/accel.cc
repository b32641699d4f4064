#include "vm/accel.h"

#include <fcntl.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <spdlog/spdlog.h>

#include "util/fs.h"

namespace rb::vm {

namespace {

AccelChoice probe(const fs::path& kernel, const fs::path& initrd, const fs::path& workdir) {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return {Accel::Tcg, "no usable /dev/kvm: using TCG (-accel tcg,thread=multi)"};
  ::close(fd);
  BootSpec spec;
  spec.kernel = kernel;
  spec.initrd = initrd;
  spec.cmdline = "console=ttyS0 panic=-1 rb.test=none";
  spec.vcpus = 1;
  spec.memory_mb = 256;
  spec.accel = Accel::Kvm;
  spec.console_log = workdir / "kvm-probe.log";
  spec.timeout = std::chrono::seconds(20);  // KVM boots this in ~1 s
  spec.no_output_timeout = std::chrono::seconds(10);
  std::string seen;
  auto result = make_qemu_backend()->boot(spec, [&](std::string_view chunk) {
    seen.append(chunk.substr(0, 1 << 20));
    return seen.find("racebisect-init: exit status=0") == std::string::npos;
  });
  if (seen.find("racebisect-init: exit status=0") != std::string::npos)
    return {Accel::Kvm, "KVM probe booted a guest in " + std::to_string(result.seconds) + " s: using KVM"};
  std::string why = result.end == BootEnd::LaunchError ? "QEMU refused: " + result.error.substr(0, 200)
                                                       : std::string("guest did not finish (") + to_string(result.end) + ")";
  for (auto& c : why)
    if (c == '\n') c = ' ';
  return {Accel::Tcg, "/dev/kvm exists but KVM cannot run a guest here (" + why +
                          "): falling back to TCG (-accel tcg,thread=multi)"};
}

}  // namespace

AccelChoice resolve_accel(Accel requested, const fs::path& kernel, const fs::path& initrd, const fs::path& workdir) {
  if (requested == Accel::Tcg) return {Accel::Tcg, "TCG requested"};
  if (requested == Accel::Kvm) return {Accel::Kvm, "KVM requested (no probe)"};
  static std::mutex mu;
  static std::optional<AccelChoice> cached;
  std::lock_guard lock(mu);
  if (!cached) {
    fs::create_directories(workdir);
    cached = probe(kernel, initrd, workdir);
    spdlog::info("accelerator: {}", cached->reason);
  }
  return *cached;
}

}  // namespace rb::vm
