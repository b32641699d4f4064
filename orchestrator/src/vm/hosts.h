// A pool of VM hosts named by libvirt URIs (`--connect URI[,slots=N]`).
// Each slot of each host runs one VM at a time through its own libvirt
// connection; see docs/FLEET.md for how kernels and consoles reach a host.
#pragma once
#include <string>
#include <vector>

namespace rb::vm {

struct Host {
  std::string uri;  // a libvirt URI of the QEMU driver (qemu:///system, qemu+ssh://...)
  int slots = 1;    // VMs run at once on this host
};

// Parses one --connect value, "URI" or "URI,slots=N". Throws
// rb::Error(Usage) naming the value: a URI that is not a QEMU-driver libvirt
// URI (scheme qemu or qemu+TRANSPORT, path /system or /session), spaces or
// control characters, slots outside [1, 64], an unknown ",key=".
Host parse_connect(const std::string& value);

// All of them; the same URI twice is refused (its slots say how many VMs).
std::vector<Host> parse_connects(const std::vector<std::string>& values);

}  // namespace rb::vm
