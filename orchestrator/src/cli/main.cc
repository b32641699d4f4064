// racebisect: reproduce and bisect Linux kernel races in QEMU.
// Exit codes: 0 reproduced / good, 1 not reproduced / bad, 2 bad input,
// 3 infrastructure error, 125 skip (bisect-step), 130 interrupted.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/bisect_cmd.h"
#include "cli/bisect_step.h"
#include "cli/boot.h"
#include "cli/build_cmd.h"
#include "cli/nightly.h"
#include "cli/reproduce.h"
#include "run/campaign.h"
#include "util/error.h"

namespace {

void on_sigint(int) {
  // First Ctrl-C: stop VMs, keep and report what finished. Second: default.
  rb::run::g_interrupted = true;
  std::signal(SIGINT, SIG_DFL);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"racebisect: reproduce and bisect Linux kernel races in QEMU"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "debug logging");
  std::vector<std::function<int()>> commands{rb::cli::add_reproduce(app), rb::cli::add_boot(app),
                                              rb::cli::add_build(app),
                                              rb::cli::add_bisect_step(app),
                                              rb::cli::add_bisect(app)};
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
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  try {
    for (auto& c : commands)
      if (int code = c(); code >= 0) return code;
  } catch (const rb::Error& e) {
    std::cerr << "racebisect: " << (e.kind() == rb::ErrorKind::Usage ? "error: " : "infrastructure error: ")
              << e.what() << "\n";
    return e.kind() == rb::ErrorKind::Usage ? 2 : 3;
  } catch (const std::exception& e) {
    std::cerr << "racebisect: infrastructure error: " << e.what() << "\n";
    return 3;
  }
  return 2;
}
