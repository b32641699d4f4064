// Placeholder until the libvirt backend lands (being written in parallel).
#include "util/error.h"
#include "vm/backend.h"

namespace rb::vm {
std::unique_ptr<Backend> make_libvirt_backend(const std::string&) {
  throw infra_error("the libvirt backend is not built yet");
}
}  // namespace rb::vm
