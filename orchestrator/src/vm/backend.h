// One interface for every way of booting a guest. A backend boots a kernel +
// initramfs with a command line, streams the serial console to a file and to
// a callback, and enforces the timeouts; it knows nothing about race tests.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rb::vm {

enum class Accel { Auto, Kvm, Tcg };

struct BootSpec {
  std::filesystem::path kernel, initrd;
  std::string cmdline;
  int vcpus = 2;
  int memory_mb = 512;
  Accel accel = Accel::Tcg;           // resolved (never Auto) by the caller
  // The kernel's CONFIG_HZ (the jiffy's length) when known: a TCG boot then
  // presets the delay loop's loops per jiffy (vm/tcg_boot.h).
  std::optional<int> kernel_hz;
  std::filesystem::path console_log;  // the serial console, as captured
  std::chrono::seconds timeout{600};            // hard limit for the whole boot
  std::chrono::seconds no_output_timeout{120};  // hang detection
  // The console file is untrusted and unbounded: the VM is stopped once this
  // many bytes arrived (BootEnd::ConsoleFull) and the file cut to it.
  size_t console_cap = size_t{64} << 20;
  std::string name = "racebisect";    // VM name (libvirt domain name prefix)
};

enum class BootEnd {
  Exited,      // the guest rebooted/powered off and the VM ended by itself
  Stopped,     // the on_output callback asked to stop (e.g. enough evidence)
  Timeout,     // hard timeout hit, VM killed
  NoOutput,    // console silent for no_output_timeout, VM killed
  ConsoleFull, // the console reached console_cap bytes, VM killed
  LaunchError, // the VM could not be started at all
};
const char* to_string(BootEnd e);

struct BootResult {
  BootEnd end = BootEnd::LaunchError;
  int exit_code = -1;
  double seconds = 0;
  double launch_seconds = 0;  // of `seconds`: starting the VM, until the console watch began
  double stop_seconds = 0;    // of `seconds`: from the end of the watch (exit, stop, timeout) to the return
  std::vector<std::string> command;  // exact command line / definition used, for bundles
  std::string error;                 // LaunchError details (e.g. QEMU's stderr)
  // LaunchError because the host itself failed (libvirt connection refused
  // or lost), not this boot: another host can run it.
  bool host_failed = false;
};

// Return false to stop the VM early.
using OutputFn = std::function<bool(std::string_view chunk)>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual BootResult boot(const BootSpec& spec, const OutputFn& on_output) = 0;
};

std::unique_ptr<Backend> make_qemu_backend();
std::unique_ptr<Backend> make_libvirt_backend(const std::string& uri = "qemu:///system");
// A URI whose libvirtd runs on this machine (qemu:///, qemu+unix://): the
// place where scripts/start-libvirtd is the fix when it does not answer.
bool libvirt_uri_is_local(std::string_view uri);
// A URI whose VMs run on this machine's cores: a local one, or any
// transport to a loopback host (qemu+ssh://root@localhost/system).
bool libvirt_uri_runs_here(std::string_view uri);

const char* to_string(Accel a);

// Shared by backends: follow a growing console file, feed the callback,
// enforce the timeouts. `alive` says whether the VM is still running.
// Returns ConsoleFull once spec.console_cap bytes arrived (and hands no more
// than that to the callback).
BootEnd watch_console(const BootSpec& spec, const OutputFn& on_output, const std::function<bool()>& alive);
// After the VM is gone: cuts a console file that overshot the cap (QEMU may
// write more between the watcher's check and the kill).
void cap_console_file(const BootSpec& spec);

}  // namespace rb::vm
