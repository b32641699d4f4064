// racebisect: reproduce and bisect Linux kernel races in QEMU.
// Exit codes: 0 reproduced / good, 1 not reproduced / bad, 2 bad input,
// 3 infrastructure error, 125 skip (bisect-step), 128+N stopped by signal N
// (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
#include <CLI/CLI.hpp>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <exception>
#include <iostream>
#include <thread>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/bisect_cmd.h"
#include "cli/bisect_step.h"
#include "cli/boot.h"
#include "cli/build_cmd.h"
#include "cli/nightly.h"
#include "cli/flag_checks.h"
#include "cli/doctor.h"
#include "cli/reproduce.h"
#include "util/error.h"
#include "util/process.h"
#include "util/stop.h"

namespace {

void say(const char* msg) { [[maybe_unused]] auto n = ::write(2, msg, std::strlen(msg)); }

// SIGINT, SIGTERM and SIGHUP alike. The first asks everything to stop: every
// wait (children, locks, VM consoles) wakes, VMs are stopped, finished work is
// kept and reported, and the command exits 128+signal. The second -- of any
// of them -- does not wait for that: it kills every child's process group and
// exits at once (never the default action, which would leave children to the
// guardian and PDEATHSIG alone).
void on_signal(int sig) {
  static std::atomic<int> seen{0};
  if (seen.fetch_add(1) == 0) {
    rb::request_stop(sig);
    say("racebisect: stopping (again to kill everything at once)\n");
    return;
  }
  rb::kill_all_children();
  say("racebisect: stopped at once; child processes killed\n");
  ::_exit(rb::exit_code_for_signal(rb::stop_signal()));
}

// A graceful stop that hangs anyway (a wedged daemon call) is cut short.
constexpr auto kStopGrace = std::chrono::seconds(5);

void stop_watchdog() {
  std::thread([] {
    pollfd p{rb::stop_fd(), POLLIN, 0};
    while (::poll(&p, 1, -1) < 0) {
    }
    std::this_thread::sleep_for(kStopGrace);
    rb::kill_all_children();
    say("racebisect: did not stop within 5 s; child processes killed\n");
    ::_exit(rb::exit_code_for_signal(rb::stop_signal()));
  }).detach();
}

void install_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &sa, nullptr);
  // A closed stdout (| head) is an I/O error to report, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
  // Paths that skip destructors still take the children down.
  std::atexit([] { rb::kill_all_children(); });
  std::set_terminate([] {
    rb::kill_all_children();
    say("racebisect: fatal: uncaught exception");
    if (auto e = std::current_exception()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        say(": ");
        say(ex.what());
      } catch (...) {
      }
    }
    say("\n");
    std::abort();
  });
  stop_watchdog();
}

int stopped_code() { return rb::exit_code_for_signal(rb::stop_signal()); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"racebisect: reproduce and bisect Linux kernel races in QEMU"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "debug logging");
  std::vector<std::function<int()>> commands{rb::cli::add_reproduce(app), rb::cli::add_boot(app),
                                              rb::cli::add_build(app),
                                              rb::cli::add_bisect_step(app),
                                              rb::cli::add_bisect(app), rb::cli::add_doctor(app)};
  for (auto& c : rb::cli::add_nightly(app)) commands.push_back(std::move(c));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("racebisect"));
  // On a terminal, every log line first clears the live progress line.
  spdlog::set_pattern(::isatty(STDERR_FILENO) ? "\r\033[K[%H:%M:%S] %^%l%$ %v" : "[%H:%M:%S] %^%l%$ %v");
  if (verbose) spdlog::set_level(spdlog::level::debug);
  install_handlers();
  if (int code = rb::cli::check_flags(app); code != 0) return code;  // bad input: before any work
  // Once a stop was requested, whatever a command then returns or throws
  // (a killed make "fails") it ends as interrupted.
  try {
    for (auto& c : commands)
      if (int code = c(); code >= 0) return rb::stop_requested() ? stopped_code() : code;
  } catch (const rb::Interrupted& e) {
    std::cerr << "racebisect: interrupted: " << e.what() << "\n";
    return rb::stop_requested() ? stopped_code() : 130;
  } catch (const rb::Error& e) {
    if (rb::stop_requested()) {
      std::cerr << "racebisect: interrupted: " << e.what() << "\n";
      return stopped_code();
    }
    std::cerr << "racebisect: " << (e.kind() == rb::ErrorKind::Usage ? "error: " : "infrastructure error: ")
              << e.what() << "\n";
    return e.kind() == rb::ErrorKind::Usage ? 2 : 3;
  } catch (const std::exception& e) {
    std::cerr << "racebisect: " << (rb::stop_requested() ? "interrupted: " : "infrastructure error: ") << e.what()
              << "\n";
    return rb::stop_requested() ? stopped_code() : 3;
  }
  return 2;
}
