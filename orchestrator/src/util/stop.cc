#include "util/stop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace rb {

namespace {

std::atomic<int> g_signal{0};
std::atomic<bool> g_stop{false};
// Created before main() runs, so a signal handler never has to create it.
const int g_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

}  // namespace

void request_stop(int signo) noexcept {
  int none = 0;
  g_signal.compare_exchange_strong(none, signo);
  g_stop.store(true);
  const uint64_t one = 1;
  if (g_fd >= 0) [[maybe_unused]] auto n = ::write(g_fd, &one, sizeof one);
}

bool stop_requested() noexcept { return g_stop.load(); }

const std::atomic<bool>& stop_flag() noexcept { return g_stop; }

int stop_signal() noexcept { return g_signal.load(); }

int stop_fd() noexcept { return g_fd; }

void clear_stop_for_testing() noexcept {
  uint64_t v;
  if (g_fd >= 0) [[maybe_unused]] auto n = ::read(g_fd, &v, sizeof v);
  g_stop.store(false);
  g_signal.store(0);
}

}  // namespace rb
