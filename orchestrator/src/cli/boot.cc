#include "cli/boot.h"

#include <iostream>

#include "kernel/build.h"
#include "run/settings.h"
#include "run/trial_runner.h"
#include "util/error.h"
#include "util/fs.h"

namespace rb::cli {

namespace {

struct BootFlags {
  run::Overrides o;
  std::string kernel, append;
  bool no_initrd = false;
  int timeout = 300, no_output_timeout = 60;
};

int exit_code(record::Outcome o) {
  switch (o) {
    case record::Outcome::Pass: return 0;
    case record::Outcome::Fail: return 1;
    case record::Outcome::Crash: return 4;
    case record::Outcome::BootFailure: return 5;
    case record::Outcome::Hang:
    case record::Outcome::Timeout: return 6;
    case record::Outcome::Infra: return 3;
  }
  return 3;
}

int run_boot(const BootFlags& f) {
  if (!fs::is_regular_file(f.kernel)) throw usage_error("kernel image not found: " + f.kernel);
  if (f.timeout <= 0 || f.no_output_timeout <= 0) throw usage_error("--timeout and --no-output-timeout must be > 0");
  run::Settings s = run::resolve_settings(f.o, fs::absolute("racebisect-boot"));
  fs::create_directories(s.out);
  run::TrialRunner runner(s.cache, s.out, s.accel, s.backend);
  const fs::path kernel = fs::absolute(f.kernel);
  run::BootRequest req{.label = "boot", .index = 1, .kernel = kernel, .kernel_hz = kernel::cached_kernel_hz(kernel),
                       .guest = s.guest, .trials = s.trials, .seed = 1};
  req.append = f.append;
  req.timeout = std::chrono::seconds(f.timeout);
  req.no_output_timeout = std::chrono::seconds(f.no_output_timeout);
  // --no-initrd boots the kernel with an empty initramfs: it cannot find an
  // init, which is how "a kernel that does not boot" looks from outside.
  if (f.no_initrd) {
    req.initrd = s.out / "empty.cpio";
    write_file_atomic(req.initrd, "");
  }
  const auto b = runner.boot(req);
  std::cout << "accelerator: " << runner.accel(req.kernel).reason << "\n"
            << "boot: " << record::to_string(b.outcome) << " (vm " << vm::to_string(b.end) << ", " << b.seconds
            << " s): " << b.passes() << " pass, " << b.fails() << " fail, " << b.infra() << " infra"
            << (b.detail.empty() ? "" : "; " + b.detail) << "\nconsole: " << b.console_log.string() << "\n";
  return exit_code(b.outcome);
}

}  // namespace

std::function<int()> add_boot(CLI::App& app) {
  auto f = std::make_shared<BootFlags>();
  auto& o = f->o;
  auto* sub = app.add_subcommand("boot", "Boot one kernel image with the guest test and classify the boot "
                                         "(exit 0 pass, 1 fail, 3 infra, 4 crash, 5 boot failure, 6 hang/timeout)");
  sub->add_option("--kernel", f->kernel, "bzImage to boot")->required();
  sub->add_option("--case", o.case_file, "case file giving the guest test and its defaults");
  sub->add_option("--test", o.test, "guest test (default: the case's); 'none' just boots");
  sub->add_option("--trials", o.trials, "trials in this boot (default: the case's)");
  sub->add_option("--duration-ms", o.duration_ms, "length of one trial in the guest");
  sub->add_option("--arg", o.args, "guest test argument KEY=VALUE");
  sub->add_option("--append", f->append, "extra kernel command line arguments");
  sub->add_flag("--no-initrd", f->no_initrd, "boot with an empty initramfs (expect a boot failure)");
  sub->add_option("--vcpus", o.vcpus, "guest vCPUs");
  sub->add_option("--memory-mb", o.memory_mb, "guest RAM");
  sub->add_option("--hugepages", o.hugepages, "2 MiB hugepages to reserve");
  sub->add_option("--timeout", f->timeout, "hard timeout, seconds");
  sub->add_option("--no-output-timeout", f->no_output_timeout, "hang detection: seconds of console silence");
  sub->add_option("--out", o.out, "directory for the console log");
  sub->add_option("--accel", o.accel, "auto, kvm or tcg");
  sub->add_option("--backend", o.backend, "qemu or libvirt");
  return [f, sub]() -> int { return sub->parsed() ? run_boot(*f) : -1; };
}

}  // namespace rb::cli
