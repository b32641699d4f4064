#include "run/paths.h"

namespace rb::run {

std::filesystem::path guest_binary_dir() { return std::filesystem::path(RB_GUEST_TEST_PATH).parent_path(); }

std::filesystem::path init_binary() { return RB_GUEST_INIT_PATH; }

}  // namespace rb::run
