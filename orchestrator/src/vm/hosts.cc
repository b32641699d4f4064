#include "vm/hosts.h"

#include <fmt/format.h>

#include <regex>
#include <set>

#include "util/error.h"

namespace rb::vm {

namespace {

// The QEMU driver over any libvirt transport, system or session daemon.
bool libvirt_qemu_uri(const std::string& uri) {
  static const std::regex re(R"(^qemu(\+(ssh|libssh|libssh2|tcp|tls|unix|ext))?://[^/?#]*/(system|session)(\?.*)?$)");
  return std::regex_match(uri, re);
}

int parse_slots(const std::string& value, const std::string& text) {
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || n < 1 || n > 64)
    throw usage_error(fmt::format("--connect '{}': slots must be a whole number in [1, 64], got '{}'", value, text));
  return n;
}

}  // namespace

Host parse_connect(const std::string& value) {
  for (const unsigned char c : value)
    if (c <= 0x20 || c == 0x7f)
      throw usage_error("--connect '" + value + "': spaces or control characters in a URI");
  Host h;
  h.uri = value;
  // Options follow the URI after a comma; URIs of the QEMU driver have none.
  if (const size_t comma = value.find(','); comma != std::string::npos) {
    h.uri = value.substr(0, comma);
    const std::string opt = value.substr(comma + 1);
    if (opt.rfind("slots=", 0) != 0)
      throw usage_error("--connect '" + value + "': unknown option '" + opt + "' (only slots=N)");
    h.slots = parse_slots(value, opt.substr(6));
  }
  if (h.uri.empty()) throw usage_error("--connect '" + value + "': empty URI");
  if (!libvirt_qemu_uri(h.uri))
    throw usage_error("--connect '" + value +
                      "': not a libvirt URI of the QEMU driver (qemu[+ssh|+tcp|+tls|+unix|...]://[user@]host[:port]/"
                      "system|session[?params])");
  return h;
}

std::vector<Host> parse_connects(const std::vector<std::string>& values) {
  std::vector<Host> hosts;
  std::set<std::string> seen;
  for (const auto& v : values) {
    hosts.push_back(parse_connect(v));
    if (!seen.insert(hosts.back().uri).second)
      throw usage_error("--connect " + hosts.back().uri + " is given twice (use slots=N for more VMs on one host)");
  }
  return hosts;
}

}  // namespace rb::vm
