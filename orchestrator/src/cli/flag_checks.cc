#include "cli/flag_checks.h"

#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/validate.h"
#include "vm/hosts.h"

namespace rb::cli {

namespace {

namespace v = validate;

using Check = std::function<void(const std::string& flag, const CLI::Option& o)>;

struct Row {
  const char* subcommand;  // "*" = any that has the flag
  const char* flag;
  Check check;
};

Check ints(int64_t lo, int64_t hi) {
  return [=](const std::string& flag, const CLI::Option& o) { v::int_range(flag, o.as<int64_t>(), lo, hi); };
}
Check reals(double lo, double hi) {
  return [=](const std::string& flag, const CLI::Option& o) { v::real_range(flag, o.as<double>(), lo, hi); };
}
Check probability() {
  return [](const std::string& flag, const CLI::Option& o) { v::probability(flag, o.as<double>()); };
}
Check open_reals(double lo, double hi) {
  return [=](const std::string& flag, const CLI::Option& o) { v::open_range(flag, o.as<double>(), lo, hi); };
}
// For options given several times (--arg, --kernel): each value.
Check each(std::function<void(const std::string& flag, const std::string& value)> f) {
  return [f](const std::string& flag, const CLI::Option& o) {
    for (const auto& s : o.results()) f(flag, s);
  };
}

// reproduce --kernel LABEL,ROLE[,PATCH...]: the label becomes a path part.
void kernel_spec(const std::string& flag, const std::string& s) {
  const size_t c1 = s.find(',');
  v::name(flag + " label", s.substr(0, c1));
  if (c1 != std::string::npos) v::name(flag + " role", s.substr(c1 + 1, s.find(',', c1 + 1) - c1 - 1));
}

void unique_kernel_labels(const std::string&, const CLI::Option& o) {
  std::vector<std::string> labels;
  for (const auto& s : o.results()) labels.push_back(s.substr(0, s.find(',')));
  v::unique_labels(labels);
}

void connects(const std::string&, const CLI::Option& o) { vm::parse_connects(o.results()); }

const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      {"*", "--case", [](auto& f, auto& o) { v::input_file(f, o.template as<std::string>()); }},
      {"*", "--trials", ints(1, v::kMaxTrialsPerBoot)},
      {"*", "--trials-per-boot", ints(1, v::kMaxTrialsPerBoot)},
      {"*", "--boots", ints(1, v::kMaxBoots)},
      {"*", "--duration-ms", ints(1, v::kMaxDurationMs)},
      {"*", "--vcpus", ints(1, v::kMaxVcpus)},
      {"*", "--memory-mb", ints(v::kMinMemoryMb, v::kMaxMemoryMb)},
      {"*", "--hugepages", ints(0, v::kMaxHugepages)},
      {"reproduce", "--jobs", ints(1, v::kMaxParallelVms)},
      {"build", "--jobs", ints(1, 1024)},
      {"*", "--build-jobs", ints(1, 1024)},
      {"*", "--slots", ints(1, v::kMaxParallelVms)},
      {"*", "--fixed-factor", reals(0.001, 1000)},
      {"*", "--confidence", probability()},
      {"bisect", "--confidence", open_reals(0.5, 1)},  // the top commit must hold most of the mass
      {"*", "--min-rate", probability()},
      {"*", "--clean-power", probability()},
      {"*", "--significance", probability()},
      {"*", "--p0", reals(0, 0.999999)},
      {"*", "--p1", probability()},
      {"*", "--alpha", probability()},
      {"*", "--beta", probability()},
      {"*", "--max-trials", ints(1, 1000000)},
      {"*", "--budget", reals(1, 1e9)},
      {"*", "--build-cost", reals(0, 1e9)},
      {"*", "--endpoint-trials", ints(1, 1000000)},
      {"*", "--timeout", ints(1, v::kMaxTimeoutS)},
      {"*", "--no-output-timeout", ints(1, v::kMaxTimeoutS)},
      {"*", "--json", [](auto& f, auto& o) { v::output_file(f, o.template as<std::string>()); }},
      {"*", "--db", [](auto& f, auto& o) { v::output_file(f, o.template as<std::string>()); }},
      {"*", "--out", [](auto& f, auto& o) { v::output_dir(f, o.template as<std::string>()); }},
      {"*", "--arg", each([](auto& f, auto& s) { v::guest_arg_flag(f, s); })},
      {"*", "--variant", [](auto&, auto& o) { v::guest_arg("variant", o.template as<std::string>()); }},
      {"*", "--mapping", [](auto&, auto& o) { v::guest_arg("mapping", o.template as<std::string>()); }},
      {"*", "--commit", [](auto& f, auto& o) { v::git_revision(f, o.template as<std::string>()); }},
      {"*", "--good", [](auto& f, auto& o) { v::git_revision(f, o.template as<std::string>()); }},
      {"*", "--bad", [](auto& f, auto& o) { v::git_revision(f, o.template as<std::string>()); }},
      {"boot", "--kernel", [](auto& f, auto& o) { v::input_file(f, o.template as<std::string>()); }},
      {"boot", "--test",
       [](auto&, auto& o) {
         if (const auto t = o.template as<std::string>(); t != "none") v::guest_test(t);
       }},
      {"boot", "--append", [](auto&, auto& o) { v::kernel_append(o.template as<std::string>()); }},
      {"reproduce", "--kernel", each(kernel_spec)},
      {"reproduce", "--kernel", unique_kernel_labels},
      {"build", "--only", each([](auto& f, auto& s) { v::name(f, s); })},
      // Pools of VM hosts (doctor's --connect takes plain URIs of any driver).
      {"reproduce", "--connect", connects},
      {"nightly", "--connect", connects},
      {"bisect", "--connect", connects},
      {"bisect-step", "--connect", connects},
  };
  return table;
}

int given_int(const CLI::App& sub, const char* flag, int def) {
  const CLI::Option* o = sub.get_option_no_throw(flag);
  return o && o->count() ? o->as<int>() : def;
}

// Guest RAM x parallel VMs against MemAvailable, from what the flags say
// (512 MiB, the shipped case's RAM, when only the VM count is given).
void host_memory(const CLI::App& sub) {
  const CLI::Option* mem = sub.get_option_no_throw("--memory-mb");
  const CLI::Option* vms = sub.get_option_no_throw(sub.get_name() == "reproduce" ? "--jobs" : "--slots");
  if (!(mem && mem->count()) && !(vms && vms->count())) return;
  if (sub.get_name() == "build") return;
  const auto available = v::host_available_mb();
  if (!available) return;  // no /proc/meminfo: nothing to check against
  v::host_memory(given_int(sub, "--memory-mb", 512), vms && vms->count() ? vms->as<int>() : 1, *available);
}

void check(const CLI::App& sub) {
  for (const auto& r : rows()) {
    if (std::string(r.subcommand) != "*" && sub.get_name() != r.subcommand) continue;
    const CLI::Option* o = sub.get_option_no_throw(r.flag);
    if (o && o->count()) r.check(r.flag, *o);
  }
  host_memory(sub);
}

}  // namespace

int check_flags(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    try {
      check(*sub);
    } catch (const Error& e) {
      std::cerr << "racebisect: error: " << e.what() << "\n";
      return sub->get_name() == "bisect-step" ? 128 : 2;
    }
  }
  return 0;
}

}  // namespace rb::cli
