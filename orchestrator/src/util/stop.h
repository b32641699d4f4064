// The process-wide stop request: set by the signal handlers (cli/main.cc),
// polled by every wait that may last -- child processes (util/process), lock
// waits (util/fs) and VM console watches -- so a Ctrl-C is honoured while
// nothing is happening, not only when output arrives.
#pragma once
#include <atomic>

namespace rb {

// Async-signal-safe. The first signal number is kept (for the exit code).
void request_stop(int signo) noexcept;
bool stop_requested() noexcept;
// The same request as a flag, for code that takes one (bisect::Driver::run,
// whose tests and simulator pass their own).
const std::atomic<bool>& stop_flag() noexcept;
int stop_signal() noexcept;  // 0 while no stop was requested
// Readable (level-triggered, forever) once a stop was requested: poll() it
// next to a child's pidfd to wake at once instead of at the next tick.
int stop_fd() noexcept;
// Tests only: forget a stop request.
void clear_stop_for_testing() noexcept;

// 128 + signal: the shell's convention (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
inline int exit_code_for_signal(int signo) { return 128 + signo; }

}  // namespace rb
