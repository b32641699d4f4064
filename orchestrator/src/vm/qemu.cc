#include "vm/qemu.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "util/error.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/stop.h"
#include "vm/tcg_boot.h"

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

namespace {

// Everything a guest kernel cannot need from the host process: no new
// privileges, no spawning, no affinity/priority changes, no obsolete calls.
const char* const kSandbox = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

}  // namespace

bool probe_qemu_sandbox() {
  // QEMU installs the seccomp filter early in start-up, before it writes its
  // pid file: a pid file means the sandbox is on. A QEMU built without
  // seccomp, or a kernel without it, exits with an error instead.
  try {
    TempDir dir(fs::temp_directory_path(), "rb-sandbox-probe");
    const fs::path pidfile = dir.path() / "pid";
    Process p({"qemu-system-x86_64", "-sandbox", kSandbox, "-machine", "none", "-nodefaults", "-no-user-config",
               "-display", "none", "-monitor", "none", "-serial", "none", "-S", "-pidfile", pidfile.string()},
              ProcessOptions{.cwd = {}, .output = dir.path() / "log", .env = {}, .what = "QEMU -sandbox probe"});
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < end && !stop_requested()) {
      std::error_code ec;
      if (fs::file_size(pidfile, ec) > 0 && !ec) return true;
      if (p.wait_for(std::chrono::milliseconds(20))) {
        spdlog::warn("QEMU runs without -sandbox (not supported here: {})", read_tail(dir.path() / "log", 300));
        return false;
      }
    }
    spdlog::warn("QEMU runs without -sandbox (the probe did not finish)");
  } catch (const Error& e) {
    spdlog::warn("QEMU runs without -sandbox (probe failed: {})", e.what());
  }
  return false;
}

namespace {

bool sandbox_supported() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    // An escape hatch, e.g. to measure whether the sandbox changes a race.
    if (const char* e = std::getenv("RACEBISECT_QEMU_SANDBOX"); e && std::string(e) == "off") {
      spdlog::warn("QEMU runs without -sandbox (RACEBISECT_QEMU_SANDBOX=off)");
      return;
    }
    ok = probe_qemu_sandbox();
  });
  return ok;
}

}  // namespace

std::vector<std::string> qemu_command(const BootSpec& spec) {
  std::vector<std::string> argv{"qemu-system-x86_64", "-M", "pc", "-nodefaults", "-no-user-config",
                                "-m", std::to_string(spec.memory_mb), "-smp", std::to_string(spec.vcpus)};
  std::string cmdline = spec.cmdline;
  if (spec.accel == Accel::Kvm) {
    argv.insert(argv.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    // One host thread per vCPU: without it TCG runs vCPUs round-robin on one
    // thread and a race between vCPUs can hardly happen.
    argv.insert(argv.end(), {"-accel", "tcg,thread=multi"});
    // Shorter firmware and no TSC calibration: see vm/tcg_boot.h.
    if (const auto rom = qboot_rom()) argv.insert(argv.end(), {"-bios", rom->string()});
    cmdline = with_tcg_presets(cmdline, host_tsc_khz(), spec.kernel_hz);
  }
  argv.insert(argv.end(), {"-kernel", spec.kernel.string(), "-initrd", spec.initrd.string(), "-append", cmdline,
                           "-display", "none", "-monitor", "none", "-serial", "file:" + spec.console_log.string(),
                           // reboot -f in the guest = QEMU exits (poweroff only halts).
                           "-no-reboot"});
  if (sandbox_supported()) argv.insert(argv.end(), {"-sandbox", kSandbox});
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
    std::optional<std::chrono::steady_clock::time_point> watch_end;
    { std::ofstream truncate(qemu_log, std::ios::trunc); }
    try {
      Process p(r.command, ProcessOptions{.cwd = {}, .output = qemu_log, .env = {}, .what = "QEMU (" + spec.name + ")"});
      const auto watching = std::chrono::steady_clock::now();
      r.launch_seconds = std::chrono::duration<double>(watching - t0).count();
      std::optional<int> code;
      bool stopped = false;
      r.end = watch_console(spec, on_output, [&] {
        // A stop request ends the boot even while the guest prints nothing.
        if (stop_requested()) return !(stopped = true);
        if (!code) code = p.wait_for(std::chrono::milliseconds(0));
        return !code.has_value();
      });
      watch_end = std::chrono::steady_clock::now();
      if (stopped) r.end = BootEnd::Stopped;
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
    const auto end = std::chrono::steady_clock::now();
    r.seconds = std::chrono::duration<double>(end - t0).count();
    if (watch_end) r.stop_seconds = std::chrono::duration<double>(end - *watch_end).count();
    return r;
  }
};

}  // namespace

std::unique_ptr<Backend> make_qemu_backend() { return std::make_unique<QemuBackend>(); }

}  // namespace rb::vm
