#include "run/matrix.h"

#include <toml++/toml.h>

#include <set>

#include "util/error.h"

namespace rb::run {

namespace {

namespace fs = std::filesystem;

// Errors point at the file and line of the offending node.
class Reader {
 public:
  explicit Reader(fs::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const toml::node& n, const std::string& what) const {
    const auto& r = n.source();
    throw usage_error(file_.string() + (r.begin.line ? ":" + std::to_string(r.begin.line) : "") + ": " + what);
  }
  void known_keys(const toml::table& t, const std::set<std::string>& keys, const std::string& where) const {
    for (const auto& [k, v] : t)
      if (!keys.count(std::string(k.str()))) fail(v, "unknown key '" + std::string(k.str()) + "' in " + where);
  }
  std::string string(const toml::table& t, const char* key, const std::string& where, bool required) const {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required) fail(t, where + " needs " + key);
      return {};
    }
    if (!n->is_string() || n->as_string()->get().empty()) fail(*n, where + "." + key + " must be a non-empty string");
    return n->as_string()->get();
  }
  std::optional<int> integer(const toml::table& t, const char* key, int lo, int hi) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(*n, std::string(key) + " must be an integer");
    const auto v = n->as_integer()->get();
    if (v < lo || v > hi) fail(*n, std::string(key) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return static_cast<int>(v);
  }
  const toml::array& tables(const toml::table& t, const char* key) const {
    const toml::node* n = t.get(key);
    if (!n) fail(t, std::string("at least one [[") + key + "]] is required");
    if (!n->is_array_of_tables() || n->as_array()->empty()) fail(*n, std::string(key) + " must be [[" + key + "]] tables");
    return *n->as_array();
  }
  fs::path path(const toml::node& n, const fs::path& base, const std::string& what) const {
    if (!n.is_string()) fail(n, what + " must be a string");
    const fs::path p = fs::path(n.as_string()->get()).is_absolute() ? fs::path(n.as_string()->get())
                                                                      : base / n.as_string()->get();
    if (!fs::exists(p)) fail(n, what + " not found: " + p.string());
    return fs::weakly_canonical(p);
  }

 private:
  fs::path file_;
};

bool safe_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && s[0] != '.' &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
}

KernelVariant read_kernel(const Reader& rd, const toml::table& t, const fs::path& base) {
  rd.known_keys(t, {"label", "source", "patches", "role"}, "[[kernels]]");
  KernelVariant k;
  k.label = rd.string(t, "label", "[[kernels]]", true);
  if (!safe_name(k.label)) rd.fail(*t.get("label"), "kernel label '" + k.label + "' must be [A-Za-z0-9._-]");
  k.role = t.get("role") ? rd.string(t, "role", "kernel " + k.label, false) : "cell";
  if (!t.get("source")) rd.fail(t, "kernel " + k.label + " has no source");
  k.source = rd.path(*t.get("source"), base, "kernel " + k.label + " source");
  if (const toml::node* ps = t.get("patches")) {
    if (!ps->is_array()) rd.fail(*ps, "kernel " + k.label + ": patches must be an array of paths");
    for (const auto& p : *ps->as_array()) k.patches.push_back(rd.path(p, base, "kernel " + k.label + " patch"));
  }
  return k;
}

MatrixVariant read_variant(const Reader& rd, const toml::table& t) {
  rd.known_keys(t, {"name", "args"}, "[[variants]]");
  MatrixVariant v;
  v.name = rd.string(t, "name", "[[variants]]", true);
  if (!safe_name(v.name)) rd.fail(*t.get("name"), "variant name '" + v.name + "' must be [A-Za-z0-9._-]");
  if (const toml::node* a = t.get("args")) {
    if (!a->is_table()) rd.fail(*a, "variant " + v.name + ": args must be a table");
    for (const auto& [key, val] : *a->as_table()) {
      if (auto s = val.value<std::string>()) v.args[std::string(key.str())] = *s;
      else if (auto i = val.value<int64_t>()) v.args[std::string(key.str())] = std::to_string(*i);
      else rd.fail(val, "variant " + v.name + ": args." + std::string(key.str()) + " must be a string or integer");
    }
  }
  return v;
}

}  // namespace

std::vector<MatrixCell> Matrix::cells() const {
  std::vector<MatrixCell> out;
  for (const auto& k : kernels)
    for (const auto& v : variants) {
      MatrixCell c{k.label + "/" + v.name, k.label, v.name, k};
      c.run.label = k.label + "." + v.name;
      c.run.args = v.args;
      out.push_back(std::move(c));
    }
  return out;
}

Matrix load_matrix(const fs::path& file) {
  if (!fs::is_regular_file(file)) throw usage_error("matrix file not found (or not a file): " + file.string());
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw usage_error(file.string() + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  const Reader rd(file);
  rd.known_keys(root, {"name", "case", "boots", "trials", "duration_ms", "kernels", "variants"}, "the matrix");
  const fs::path base = fs::absolute(file).parent_path();
  Matrix m;
  m.file = fs::absolute(file);
  m.name = root.get("name") ? rd.string(root, "name", "the matrix", false) : file.stem().string();
  if (!safe_name(m.name)) rd.fail(*root.get("name"), "matrix name '" + m.name + "' must be [A-Za-z0-9._-]");
  if (!root.get("case")) rd.fail(root, "the matrix needs case = \"<case file>\"");
  m.case_file = rd.path(*root.get("case"), base, "case");
  m.boots = rd.integer(root, "boots", 1, 1000);
  m.trials = rd.integer(root, "trials", 1, 10000);
  m.duration_ms = rd.integer(root, "duration_ms", 1, 3600 * 1000);
  std::set<std::string> labels, names;
  for (const auto& n : rd.tables(root, "kernels")) {
    m.kernels.push_back(read_kernel(rd, *n.as_table(), base));
    if (!labels.insert(m.kernels.back().label).second)
      rd.fail(n, "kernel label '" + m.kernels.back().label + "' is used twice");
  }
  for (const auto& n : rd.tables(root, "variants")) {
    m.variants.push_back(read_variant(rd, *n.as_table()));
    if (!names.insert(m.variants.back().name).second)
      rd.fail(n, "variant name '" + m.variants.back().name + "' is used twice");
  }
  return m;
}

fs::path default_matrix_path() { return default_case_path().parent_path().parent_path() / "nightly" / "default.toml"; }

}  // namespace rb::run
