#include "image/initramfs.h"

#include <sys/stat.h>

#include <cstdio>

#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"

namespace rb::image {

namespace {

void hex8(std::string& out, unsigned long v) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08lX", v & 0xffffffffUL);
  out += buf;
}

void pad4(std::string& out) {
  while (out.size() % 4) out += '\0';
}

void header(std::string& out, unsigned ino, const CpioEntry& e) {
  out += "070701";
  hex8(out, ino);
  hex8(out, e.mode);
  hex8(out, 0);  // uid
  hex8(out, 0);  // gid
  hex8(out, 1);  // nlink
  hex8(out, 0);  // mtime: fixed for determinism
  hex8(out, e.data.size());
  hex8(out, 0);  // devmajor
  hex8(out, 0);  // devminor
  hex8(out, e.rdev_major);
  hex8(out, e.rdev_minor);
  hex8(out, e.name.size() + 1);
  hex8(out, 0);  // check
  out += e.name;
  out += '\0';
  pad4(out);
  out += e.data;
  pad4(out);
}

}  // namespace

std::string write_cpio(const std::vector<CpioEntry>& entries) {
  std::string out;
  unsigned ino = 1;
  for (const auto& e : entries) header(out, ino++, e);
  header(out, 0, CpioEntry{"TRAILER!!!", 0, "", 0, 0});
  return out;
}

Initramfs build_initramfs(const InitramfsSpec& spec, const fs::path& cache) {
  std::vector<CpioEntry> entries;
  for (const char* d : {"bin", "dev", "proc", "sys", "tmp"}) entries.push_back({d, S_IFDIR | 0755, "", 0, 0});
  entries.push_back({"dev/console", S_IFCHR | 0600, "", 5, 1});
  if (!fs::exists(spec.init)) throw infra_error("guest init not built: " + spec.init.string());
  entries.push_back({"init", S_IFREG | 0755, read_file(spec.init), 0, 0});
  for (const auto& t : spec.guest_tests) {
    if (!fs::exists(t)) throw usage_error("guest test not found: " + t.string());
    entries.push_back({"bin/" + t.filename().string(), S_IFREG | 0755, read_file(t), 0, 0});
  }
  std::string bytes = write_cpio(entries);
  Initramfs out;
  out.sha256 = sha256_hex(bytes);
  out.path = cache / "images" / (out.sha256.substr(0, 32) + ".cpio");
  if (!fs::exists(out.path)) write_file_atomic(out.path, bytes);
  return out;
}

}  // namespace rb::image
