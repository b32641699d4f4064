#include "cli/doctor.h"

#include <iostream>

#include "doctor/doctor.h"
#include "report/doctor_report.h"
#include "util/fs.h"

namespace rb::cli {

namespace {

struct DoctorFlags {
  doctor::Options o;
  std::string json;
  bool strict = false, no_probe = false;
};

int run_doctor(DoctorFlags f) {
  f.o.cache = cache_root();
  f.o.probe = !f.no_probe;
  const doctor::Report r = doctor::run_checks(f.o, *doctor::make_real_host());
  if (f.json == "-") {
    std::cout << report::doctor_json(r, f.strict).dump(2) << "\n";
  } else {
    if (!f.json.empty()) write_file_atomic(f.json, report::doctor_json(r, f.strict).dump(2) + "\n");
    std::cout << report::render_doctor(r, f.strict) << std::flush;
  }
  return r.exit_code(f.strict);
}

}  // namespace

std::function<int()> add_doctor(CLI::App& app) {
  auto f = std::make_shared<DoctorFlags>();
  auto* sub = app.add_subcommand("doctor", "Check what a run needs here (QEMU, KVM, libvirt, memory, disk, build tools, "
                                           "data) and say how to fix each problem; exit 0 ok, 3 a check failed");
  sub->add_option("--connect", f->o.uris, "libvirt URI to check (repeatable; default qemu:///system if libvirt is installed)");
  sub->add_option("--case", f->o.case_file, "case whose data, memory and source to check (default: the seed race)")
      ->check(CLI::ExistingFile);
  sub->add_option("--jobs,-j", f->o.jobs, "parallel VMs planned (default: cores / vCPUs, as reproduce)")
      ->check(CLI::Range(1, 256));
  sub->add_option("--json", f->json, "write the report as JSON to FILE ('-': stdout instead of the text)");
  sub->add_flag("--no-probe", f->no_probe, "do not boot a tiny guest to test KVM (only check /dev/kvm)");
  sub->add_flag("--strict", f->strict, "warnings also exit 3");
  return [f, sub]() -> int { return sub->parsed() ? run_doctor(*f) : -1; };
}

}  // namespace rb::cli
