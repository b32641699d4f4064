// Follows a VM's growing console file for every backend: feeds the
// callback, enforces the hard and no-output timeouts.
#include <chrono>
#include <fstream>
#include <thread>

#include "vm/backend.h"

namespace rb::vm {

BootEnd watch_console(const BootSpec& spec, const OutputFn& on_output, const std::function<bool()>& alive) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_output = start;
  std::ifstream in;
  std::string buf(64 * 1024, '\0');
  auto drain = [&]() -> bool {  // returns false if the callback wants to stop
    if (!in.is_open()) {
      in.open(spec.console_log, std::ios::binary);
      if (!in.is_open()) return true;
    }
    in.clear();
    for (;;) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      auto n = in.gcount();
      if (n <= 0) break;
      last_output = Clock::now();
      if (!on_output(std::string_view(buf.data(), static_cast<size_t>(n)))) return false;
    }
    return true;
  };
  for (;;) {
    const bool running = alive();
    if (!drain()) return BootEnd::Stopped;
    if (!running) return BootEnd::Exited;
    const auto now = Clock::now();
    if (now - start > spec.timeout) return BootEnd::Timeout;
    if (now - last_output > spec.no_output_timeout) return BootEnd::NoOutput;
    // 10 ms: boot-to-first-trial and time-to-first-failure are read from this
    // loop, and a decision to stop the VM waits for it (100 ms was 10% of a boot).
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace rb::vm
