#include "util/process.h"

#include <signal.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <thread>

#include "util/error.h"
#include "util/fs.h"

namespace bp = boost::process;

namespace rb {

struct Process::Impl {
  bp::child child;
  bp::ipstream out;  // used only when capturing
  std::string captured;
  std::thread reader;
};

namespace {

// New process group so kill() takes make's or QEMU's children too.
struct SetPgid : bp::extend::handler {
  template <typename Exec>
  void on_exec_setup(Exec&) const {
    ::setpgid(0, 0);
  }
};

}  // namespace

Process::Process(const std::vector<std::string>& argv, const ProcessOptions& opts) : impl_(new Impl) {
  if (argv.empty()) throw infra_error("empty command");
  std::filesystem::path exe = argv[0];
  if (exe.filename() == exe) exe = find_program(argv[0]);
  if (exe.empty()) throw infra_error("program not found on PATH: " + argv[0]);
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  bp::environment env = boost::this_process::environment();
  for (auto& [k, v] : opts.env) env[k] = v;
  std::string cwd = opts.cwd.empty() ? std::filesystem::current_path().string() : opts.cwd.string();
  try {
    if (!opts.output.empty()) {
      // Append, so one log can hold a sequence of commands (config, build).
      std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(opts.output.c_str(), "ab"), &std::fclose);
      if (!f) throw infra_error("cannot open " + opts.output.string());
      impl_->child = bp::child(bp::exe = exe.string(), bp::args = args, bp::start_dir = cwd, env,
                               (bp::std_out & bp::std_err) > f.get(), bp::std_in < bp::null, SetPgid{});
    } else {
      impl_->child = bp::child(bp::exe = exe.string(), bp::args = args, bp::start_dir = cwd, env,
                               (bp::std_out & bp::std_err) > impl_->out, bp::std_in < bp::null, SetPgid{});
      impl_->reader = std::thread([this] {
        std::string line;
        while (std::getline(impl_->out, line)) impl_->captured += line + "\n";
      });
    }
  } catch (const bp::process_error& e) {
    throw infra_error("cannot start " + exe.string() + ": " + e.what());
  }
}

Process::~Process() {
  if (impl_->child.valid() && impl_->child.running()) kill();
  if (impl_->child.valid()) {
    std::error_code ec;
    impl_->child.wait(ec);
  }
  if (impl_->reader.joinable()) impl_->reader.join();
}

bool Process::running() {
  std::error_code ec;
  return impl_->child.running(ec);
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
  std::error_code ec;
  if (impl_->child.wait_for(timeout, ec)) return impl_->child.exit_code();
  if (ec && !impl_->child.running(ec)) return impl_->child.exit_code();
  return std::nullopt;
}

int Process::wait() {
  std::error_code ec;
  impl_->child.wait(ec);
  if (impl_->reader.joinable()) impl_->reader.join();
  return impl_->child.exit_code();
}

void Process::kill() {
  pid_t pid = impl_->child.id();
  if (pid > 0) ::kill(-pid, SIGKILL);
  std::error_code ec;
  impl_->child.terminate(ec);
}

int Process::pid() const { return impl_->child.id(); }

const std::string& Process::output() const { return impl_->captured; }

RunResult run_process(const std::vector<std::string>& argv, const ProcessOptions& opts,
              std::optional<std::chrono::seconds> timeout) {
  Process p(argv, opts);
  RunResult r;
  if (timeout) {
    auto code = p.wait_for(*timeout);
    if (!code) {
      p.kill();
      r.timed_out = true;
      p.wait();
    } else {
      r.exit_code = *code;
    }
  } else {
    r.exit_code = p.wait();
  }
  if (!r.timed_out) r.exit_code = p.wait();
  r.output = p.output();
  return r;
}

std::string run_checked(const std::vector<std::string>& argv, const ProcessOptions& opts) {
  RunResult r = run_process(argv, opts);
  if (r.exit_code != 0) {
    std::string tail = opts.output.empty() ? r.output : read_tail(opts.output, 4000);
    if (tail.size() > 4000) tail = tail.substr(tail.size() - 4000);
    throw infra_error("command failed (exit " + std::to_string(r.exit_code) + "): " + join_argv(argv) + "\n" + tail);
  }
  return r.output;
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string s;
  for (auto& a : argv) {
    if (!s.empty()) s += ' ';
    bool plain = !a.empty() && a.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") == std::string::npos;
    if (plain) {
      s += a;
    } else {
      s += '\'';
      for (char c : a) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
      s += '\'';
    }
  }
  return s;
}

std::filesystem::path find_program(const std::string& name) {
  auto p = bp::search_path(name);
  return p.empty() ? std::filesystem::path() : std::filesystem::path(p.string());
}

}  // namespace rb
