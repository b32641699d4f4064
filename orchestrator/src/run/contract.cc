#include "run/contract.h"

#include <random>
#include <sstream>

#include "util/error.h"
#include "util/validate.h"

namespace rb::run {

std::string new_nonce() {
  std::random_device rd;  // getrandom(2): not guessable from the host's clock or pid
  std::string s;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    for (int k = 0; k < 4; ++k, v >>= 4) s += hex[v & 15];
  }
  return s;
}

std::string guest_cmdline(int hugepages, const std::string& test, const Args& args) {
  return guest_cmdline(hugepages, test, args, new_nonce());
}

std::string guest_cmdline(int hugepages, const std::string& test, const Args& args, std::string_view nonce) {
  if (test != "none") validate::guest_test(test);
  // oops=panic + panic=-1: any oops ends the boot at once (QEMU exits through
  // -no-reboot) instead of leaving a half-dead guest to time out.
  // printk.devkmsg=on: /init prints through /dev/kmsg (images/init.cc),
  // unthrottled, and the test cannot turn that off. log_buf_len=4M: records
  // wait there while the slow serial console catches up; a kernel storm
  // that outruns the console by more than the buffer drops them (measured:
  // 128 KiB, the base config's, lost results under the console-noise flood).
  std::string s = "console=ttyS0 oops=panic panic=-1 printk.devkmsg=on log_buf_len=4M hugepages=" +
                  std::to_string(hugepages) + " rb.test=" + test + " rb.nonce=" + std::string(nonce);
  std::string joined;
  for (const auto& [k, v] : args) {
    validate::guest_arg(k, v);
    joined += (joined.empty() ? "" : ",") + k + "=" + v;
  }
  if (!joined.empty()) s += " rb.args=" + joined;
  validate::kernel_cmdline_length(s);
  return s;
}

console::Contract contract_for(std::string_view cmdline) {
  // The first occurrence of each rb.* word wins, as in /init.
  std::istringstream words{std::string(cmdline)};
  std::optional<std::string> test, nonce, args;
  for (std::string w; words >> w;) {
    if (w.starts_with("rb.test=") && !test) test = w.substr(8);
    else if (w.starts_with("rb.nonce=") && !nonce) nonce = w.substr(9);
    else if (w.starts_with("rb.args=") && !args) args = w.substr(8);
  }
  console::Contract c;
  c.nonce = nonce.value_or("");
  if (!test || test->empty() || *test == "none") {
    c.planned = 0;
    return c;
  }
  std::istringstream parts(args.value_or(""));
  for (std::string a; std::getline(parts, a, ',');) {
    if (!a.starts_with("trials=")) continue;
    const std::string v = a.substr(7);
    if (!v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos) c.planned = std::stoi(v);
    break;
  }
  return c;
}

}  // namespace rb::run
