// SHA-256 (OpenSSL) for content-addressed caches and reproduction bundles.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace rb {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(std::string_view data);
  // Length-prefixed field: "ab"+"c" and "a"+"bc" hash differently.
  Sha256& field(std::string_view data);
  std::string hex();  // finalizes

 private:
  void* ctx_;
};

std::string sha256_hex(std::string_view data);
std::string sha256_file(const std::filesystem::path& path);  // throws rb::Error

}  // namespace rb
