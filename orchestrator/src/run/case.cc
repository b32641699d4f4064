#include "run/case.h"

#include <toml++/toml.h>

#include "run/paths.h"
#include "util/error.h"

namespace rb::run {

namespace {

namespace fs = std::filesystem;

std::string scalar_string(const toml::node& n) {
  if (auto s = n.value<std::string>()) return *s;
  if (auto i = n.value<int64_t>()) return std::to_string(*i);
  if (auto b = n.value<bool>()) return *b ? "1" : "0";
  if (auto d = n.value<double>()) return std::to_string(*d);
  return "";
}

template <typename View>
Args read_args(View v, const std::string& where) {
  Args out;
  if (!v) return out;
  const toml::table* t = v.as_table();
  if (!t) throw usage_error(where + ": args must be a table");
  for (auto& [k, n] : *t) {
    std::string s = scalar_string(n);
    if (s.empty()) throw usage_error(where + ": args." + std::string(k.str()) + " must be a string or number");
    out[std::string(k.str())] = s;
  }
  return out;
}

std::vector<KernelVariant> read_kernels(const toml::table& root, const char* key, const fs::path& base,
                                        const std::string& file) {
  std::vector<KernelVariant> out;
  auto arr = root[key].as_array();
  if (!arr) return out;
  for (auto& n : *arr) {
    auto t = n.as_table();
    if (!t) throw usage_error(file + ": " + key + " entries must be tables");
    KernelVariant k;
    k.label = (*t)["label"].value_or(std::string());
    k.role = (*t)["role"].value_or(std::string("info"));
    if (k.label.empty()) throw usage_error(file + ": a " + key + " entry has no label");
    if (auto ps = (*t)["patches"].as_array())
      for (auto& p : *ps) k.patches.push_back(base / p.value_or(std::string()));
    k.args = read_args((*t)["args"], file + ": " + key + " " + k.label);
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace

Case load_case(const fs::path& file) {
  if (!fs::exists(file)) throw usage_error("case file not found: " + file.string());
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw usage_error(file.string() + ": " + std::string(e.description()));
  }
  // Paths in a case are relative to kernels/ (the case lives in kernels/cases/).
  const fs::path base = fs::absolute(file).parent_path().parent_path();
  Case c;
  c.file = fs::absolute(file);
  c.name = root["name"].value_or(file.stem().string());
  c.title = root["title"].value_or(std::string());
  c.description = root["description"].value_or(std::string());
  c.source = root["source"].value_or(std::string());
  if (auto fr = root["fragments"].as_array())
    for (auto& f : *fr) c.fragments.push_back(base / f.value_or(std::string()));
  auto g = root["guest"];
  c.guest_test = g["test"].value_or(std::string());
  if (c.guest_test.empty()) throw usage_error(file.string() + ": guest.test is required");
  c.trials = g["trials"].value_or(c.trials);
  c.duration_ms = g["duration_ms"].value_or(c.duration_ms);
  c.hugepages = g["hugepages"].value_or(c.hugepages);
  c.vcpus = g["vcpus"].value_or(c.vcpus);
  c.memory_mb = g["memory_mb"].value_or(c.memory_mb);
  c.pages_needed = g["pages_needed"].value_or(c.pages_needed);
  c.args = read_args(g["args"], file.string() + ": guest");
  c.kernels = read_kernels(root, "kernels", base, file.string());
  c.extra_kernels = read_kernels(root, "extra_kernels", base, file.string());
  if (c.kernels.empty()) throw usage_error(file.string() + ": at least one [[kernels]] entry is required");
  return c;
}

void apply_arg_flags(Args& args, const std::vector<std::string>& flags) {
  for (const auto& a : flags) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) throw usage_error("--arg expects KEY=VALUE, got '" + a + "'");
    args[a.substr(0, eq)] = a.substr(eq + 1);
  }
}

fs::path default_case_path() { return data_layout().data / "cases" / "uffd-hugetlb.toml"; }

}  // namespace rb::run
