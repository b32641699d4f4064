#include "cli/boot.h"

#include <iostream>

#include "image/initramfs.h"
#include "run/campaign.h"
#include "util/error.h"
#include "util/fs.h"
#include "vm/accel.h"

namespace rb::cli {

namespace {

struct BootFlags {
  std::string kernel, test = "uffd-race", out, accel = "auto", backend = "qemu", append;
  std::vector<std::string> args;
  bool no_initrd = false;
  int vcpus = 2, memory_mb = 512, hugepages = 64, timeout = 300, no_output_timeout = 60;
};

int run_boot(const BootFlags& f) {
  if (!fs::exists(f.kernel)) throw usage_error("kernel image not found: " + f.kernel);
  run::Args args;
  run::apply_arg_flags(args, f.args);
  // The host always says how many trials it wants: the guest contract checks
  // the plan and the results against it.
  if (f.test != "none" && !args.count("trials")) args["trials"] = "10";
  const fs::path out = f.out.empty() ? fs::absolute("racebisect-boot") : fs::absolute(f.out);
  fs::create_directories(out);
  const fs::path test_bin = fs::path(RB_GUEST_TEST_PATH).parent_path() / f.test;
  std::vector<fs::path> tests;
  if (f.test != "none") tests.push_back(test_bin);
  auto img = image::build_initramfs({fs::path(RB_GUEST_INIT_PATH), tests}, cache_root());
  vm::BootSpec spec;
  spec.kernel = fs::absolute(f.kernel);
  // --no-initrd boots the kernel with an empty initramfs: it cannot find an
  // init, which is how "a kernel that does not boot" looks from outside.
  const fs::path empty = out / "empty.cpio";
  if (f.no_initrd) write_file_atomic(empty, "");
  spec.initrd = f.no_initrd ? empty : img.path;
  spec.cmdline = run::guest_cmdline(f.hugepages, f.test, args);
  if (!f.append.empty()) spec.cmdline += " " + f.append;
  spec.vcpus = f.vcpus;
  spec.memory_mb = f.memory_mb;
  const vm::Accel want = f.accel == "kvm" ? vm::Accel::Kvm : f.accel == "tcg" ? vm::Accel::Tcg : vm::Accel::Auto;
  auto choice = vm::resolve_accel(want, spec.kernel, img.path, out);
  spec.accel = choice.accel;
  spec.console_log = out / "console.log";
  spec.timeout = std::chrono::seconds(f.timeout);
  spec.no_output_timeout = std::chrono::seconds(f.no_output_timeout);
  auto backend = f.backend == "libvirt" ? vm::make_libvirt_backend() : vm::make_qemu_backend();
  auto r = backend->boot(spec, [](std::string_view) { return !run::g_interrupted.load(); });
  auto b = run::classify_boot_file(spec, r.end);
  if (r.end == vm::BootEnd::LaunchError) b.detail = "VM did not start: " + r.error;
  std::cout << "accelerator: " << choice.reason << "\n"
            << "boot: " << run::to_string(b.outcome) << " (vm " << vm::to_string(r.end) << ", " << r.seconds
            << " s): " << b.passes() << " pass, " << b.fails() << " fail, " << b.infra() << " infra"
            << (b.detail.empty() ? "" : "; " + b.detail) << "\nconsole: " << spec.console_log.string() << "\n";
  switch (b.outcome) {
    case run::Outcome::Pass: return 0;
    case run::Outcome::Fail: return 1;
    case run::Outcome::Crash: return 4;
    case run::Outcome::BootFailure: return 5;
    case run::Outcome::Hang:
    case run::Outcome::Timeout: return 6;
    case run::Outcome::Infra: return 3;
  }
  return 3;
}

}  // namespace

std::function<int()> add_boot(CLI::App& app) {
  auto f = std::make_shared<BootFlags>();
  auto* sub = app.add_subcommand("boot", "Boot one kernel image with the guest test and classify the boot "
                                         "(exit 0 pass, 1 fail, 3 infra, 4 crash, 5 boot failure, 6 hang/timeout)");
  sub->add_option("--kernel", f->kernel, "bzImage to boot")->required();
  sub->add_option("--test", f->test, "guest test (default uffd-race); 'none' just boots");
  sub->add_option("--arg", f->args, "guest test argument KEY=VALUE");
  sub->add_option("--append", f->append, "extra kernel command line arguments");
  sub->add_flag("--no-initrd", f->no_initrd, "boot with an empty initramfs (expect a boot failure)");
  sub->add_option("--vcpus", f->vcpus, "guest vCPUs");
  sub->add_option("--memory-mb", f->memory_mb, "guest RAM");
  sub->add_option("--hugepages", f->hugepages, "2 MiB hugepages to reserve");
  sub->add_option("--timeout", f->timeout, "hard timeout, seconds");
  sub->add_option("--no-output-timeout", f->no_output_timeout, "hang detection: seconds of console silence");
  sub->add_option("--out", f->out, "directory for the console log");
  sub->add_option("--accel", f->accel, "auto, kvm or tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  sub->add_option("--backend", f->backend, "qemu or libvirt")->check(CLI::IsMember({"qemu", "libvirt"}));
  return [f, sub]() -> int { return sub->parsed() ? run_boot(*f) : -1; };
}

}  // namespace rb::cli
