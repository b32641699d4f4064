#include "vm/qemu.h"

#include <chrono>
#include <fstream>
#include <thread>

#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"

namespace rb::vm {

const char* to_string(BootEnd e) {
  switch (e) {
    case BootEnd::Exited: return "exited";
    case BootEnd::Stopped: return "stopped";
    case BootEnd::Timeout: return "timeout";
    case BootEnd::NoOutput: return "no-output";
    case BootEnd::ConsoleFull: return "console-full";
    case BootEnd::LaunchError: return "launch-error";
  }
  return "?";
}

const char* to_string(Accel a) {
  switch (a) {
    case Accel::Auto: return "auto";
    case Accel::Kvm: return "kvm";
    case Accel::Tcg: return "tcg";
  }
  return "?";
}

std::vector<std::string> qemu_command(const BootSpec& spec) {
  std::vector<std::string> argv{"qemu-system-x86_64", "-M", "pc", "-nodefaults", "-no-user-config",
                                "-m", std::to_string(spec.memory_mb), "-smp", std::to_string(spec.vcpus)};
  if (spec.accel == Accel::Kvm) {
    argv.insert(argv.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    // One host thread per vCPU: without it TCG runs vCPUs round-robin on one
    // thread and a race between vCPUs can hardly happen.
    argv.insert(argv.end(), {"-accel", "tcg,thread=multi"});
  }
  argv.insert(argv.end(), {"-kernel", spec.kernel.string(), "-initrd", spec.initrd.string(), "-append", spec.cmdline,
                           "-display", "none", "-monitor", "none", "-serial", "file:" + spec.console_log.string(),
                           // reboot -f in the guest = QEMU exits (poweroff only halts).
                           "-no-reboot"});
  return argv;
}

namespace {

class QemuBackend : public Backend {
 public:
  std::string name() const override { return "qemu"; }

  BootResult boot(const BootSpec& spec, const OutputFn& on_output) override {
    BootResult r;
    r.command = qemu_command(spec);
    const auto t0 = std::chrono::steady_clock::now();
    fs::create_directories(spec.console_log.parent_path());
    { std::ofstream truncate(spec.console_log, std::ios::trunc); }
    const fs::path qemu_log = spec.console_log.string() + ".qemu";
    { std::ofstream truncate(qemu_log, std::ios::trunc); }
    try {
      Process p(r.command, ProcessOptions{.cwd = {}, .output = qemu_log, .env = {}});
      std::optional<int> code;
      r.end = watch_console(spec, on_output, [&] {
        if (!code) code = p.wait_for(std::chrono::milliseconds(0));
        return !code.has_value();
      });
      if (r.end != BootEnd::Exited) {
        p.kill();
        p.wait();
        cap_console_file(spec);
      } else {
        r.exit_code = *code;
        // QEMU refusing to start (bad kernel path, KVM error) exits non-zero
        // before the guest prints anything: that is a launch error.
        if (r.exit_code != 0 && fs::file_size(spec.console_log) == 0) {
          r.end = BootEnd::LaunchError;
          r.error = read_tail(qemu_log, 2000);
        }
      }
    } catch (const Error& e) {
      r.end = BootEnd::LaunchError;
      r.error = e.what();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }
};

}  // namespace

std::unique_ptr<Backend> make_qemu_backend() { return std::make_unique<QemuBackend>(); }

}  // namespace rb::vm
