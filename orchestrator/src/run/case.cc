#include "run/case.h"

#include <toml++/toml.h>

#include <algorithm>
#include <optional>
#include <set>

#include "run/paths.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/validate.h"

namespace rb::run {

namespace {

namespace fs = std::filesystem;

// The file being loaded, for messages: "file:line:col: what".
struct Source {
  std::string file;

  std::string at(const toml::source_region& r) const {
    if (r.begin.line == 0) return file;
    return file + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
  }
  [[noreturn]] void fail(const toml::source_region& r, const std::string& what) const {
    throw usage_error(at(r) + ": " + what);
  }
  // Runs a util/validate check and gives its message the node's position.
  template <typename F>
  void located(const toml::source_region& r, F&& check) const {
    try {
      check();
    } catch (const Error& e) {
      fail(r, e.what());
    }
  }
};

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date/time";
  }
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

// Unknown keys are refused, not ignored: a mistyped "trails = 40" would
// otherwise run with the default silently.
void known_keys(const Source& src, const toml::table& t, const std::string& where,
                std::initializer_list<std::string_view> known) {
  for (const auto& kv : t) {
    const std::string_view key = kv.first.str();  // a plain name: lambdas may not capture bindings (clang 14)
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string msg = "unknown key " + validate::quoted(key) + " in " + where;
    const auto best = std::min_element(known.begin(), known.end(), [&](auto a, auto b) {
      return edit_distance(key, a) < edit_distance(key, b);
    });
    if (best != known.end() && edit_distance(key, *best) <= 2) msg += " (did you mean '" + std::string(*best) + "'?)";
    src.fail(kv.first.source(), msg);
  }
}

std::optional<std::string> opt_string(const Source& src, const toml::table& t, std::string_view key,
                                      const std::string& path) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_string()) src.fail(n->source(), path + " must be a string, not " + type_name(*n));
  return n->as_string()->get();
}

int opt_int(const Source& src, const toml::table& t, std::string_view key, const std::string& path, int def,
            int64_t lo, int64_t hi) {
  const toml::node* n = t.get(key);
  if (!n) return def;
  if (!n->is_integer()) src.fail(n->source(), path + " must be an integer, not " + type_name(*n));
  const int64_t v = n->as_integer()->get();
  src.located(n->source(), [&] { validate::int_range(path, v, lo, hi); });
  return static_cast<int>(v);
}

const toml::table* opt_table(const Source& src, const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = t.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) src.fail(n->source(), path + " must be a table, not " + type_name(*n));
  return n->as_table();
}

std::vector<fs::path> opt_paths(const Source& src, const toml::table& t, std::string_view key, const std::string& path,
                                const fs::path& base) {
  std::vector<fs::path> out;
  const toml::node* n = t.get(key);
  if (!n) return out;
  const toml::array* a = n->as_array();
  if (!a) src.fail(n->source(), path + " must be an array of strings, not " + type_name(*n));
  for (const auto& e : *a) {
    if (!e.is_string() || e.as_string()->get().empty())
      src.fail(e.source(), path + " entries must be non-empty strings");
    out.push_back(base / e.as_string()->get());
  }
  return out;
}

Args read_args(const Source& src, const toml::table* t, const std::string& path) {
  Args out;
  if (!t) return out;
  for (const auto& kv : *t) {
    const std::string_view k = kv.first.str();
    const toml::node& n = kv.second;
    std::string v;
    if (auto s = n.as_string()) v = s->get();
    else if (auto i = n.as_integer()) v = std::to_string(i->get());
    else if (auto b = n.as_boolean()) v = b->get() ? "1" : "0";
    else src.fail(n.source(), path + "." + std::string(k) + " must be a string, integer or boolean, not " + type_name(n));
    src.located(n.source(), [&] { validate::guest_arg(k, v); });
    out[std::string(k)] = v;
  }
  return out;
}

std::vector<KernelVariant> read_kernels(const Source& src, const toml::table& root, std::string_view key,
                                        const fs::path& base, std::set<std::string>& labels) {
  std::vector<KernelVariant> out;
  const toml::node* n = root.get(key);
  if (!n) return out;
  const std::string name(key);
  const toml::array* arr = n->as_array();
  if (!arr) src.fail(n->source(), name + " must be an array of tables ([[" + name + "]])");
  for (const auto& e : *arr) {
    const toml::table* t = e.as_table();
    if (!t) src.fail(e.source(), name + " entries must be tables ([[" + name + "]])");
    known_keys(src, *t, "[[" + name + "]]", {"label", "role", "patches", "args"});
    KernelVariant k;
    k.label = opt_string(src, *t, "label", name + ".label").value_or("");
    if (k.label.empty()) src.fail(t->source(), "a [[" + name + "]] entry has no label");
    src.located(t->get("label")->source(), [&] { validate::label(k.label); });
    if (!labels.insert(k.label).second)
      src.fail(t->get("label")->source(), "kernel label " + validate::quoted(k.label) + " used twice");
    k.role = opt_string(src, *t, "role", name + ".role").value_or("info");
    if (const toml::node* r = t->get("role")) src.located(r->source(), [&] { validate::name("kernel role", k.role); });
    k.patches = opt_paths(src, *t, "patches", name + ".patches", base);
    k.args = read_args(src, opt_table(src, *t, "args", name + ".args"), name + " " + k.label + " args");
    out.push_back(std::move(k));
  }
  return out;
}

void read_guest(const Source& src, const toml::table& g, Case& c) {
  namespace v = validate;
  known_keys(src, g, "[guest]",
             {"test", "trials", "duration_ms", "hugepages", "vcpus", "memory_mb", "pages_needed", "args"});
  c.guest_test = opt_string(src, g, "test", "guest.test").value_or("");
  if (c.guest_test.empty()) src.fail(g.source(), "guest.test is required");
  src.located(g.get("test")->source(), [&] { v::guest_test(c.guest_test); });
  c.trials = opt_int(src, g, "trials", "guest.trials", c.trials, 1, v::kMaxTrialsPerBoot);
  c.duration_ms = opt_int(src, g, "duration_ms", "guest.duration_ms", c.duration_ms, 1, v::kMaxDurationMs);
  c.hugepages = opt_int(src, g, "hugepages", "guest.hugepages", c.hugepages, 0, v::kMaxHugepages);
  c.vcpus = opt_int(src, g, "vcpus", "guest.vcpus", c.vcpus, 1, v::kMaxVcpus);
  c.memory_mb = opt_int(src, g, "memory_mb", "guest.memory_mb", c.memory_mb, v::kMinMemoryMb, v::kMaxMemoryMb);
  c.pages_needed = opt_int(src, g, "pages_needed", "guest.pages_needed", c.pages_needed, 0, v::kMaxHugepages);
  c.args = read_args(src, opt_table(src, g, "args", "guest.args"), "guest.args");
}

}  // namespace

Case load_case_text(std::string_view text, const fs::path& file) {
  const Source src{file.string()};
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    src.fail(e.source(), std::string(e.description()));
  }
  known_keys(src, root, "the case file",
             {"name", "title", "description", "source", "fragments", "guest", "kernels", "extra_kernels"});
  // Paths in a case are relative to kernels/ (the case lives in kernels/cases/).
  const fs::path base = fs::absolute(file).parent_path().parent_path();
  Case c;
  c.file = fs::absolute(file);
  c.name = opt_string(src, root, "name", "name").value_or(file.stem().string());
  src.located(root.get("name") ? root.get("name")->source() : toml::source_region{},
              [&] { validate::case_name(c.name); });
  c.title = opt_string(src, root, "title", "title").value_or("");
  c.description = opt_string(src, root, "description", "description").value_or("");
  c.source = opt_string(src, root, "source", "source").value_or("");
  c.fragments = opt_paths(src, root, "fragments", "fragments", base);
  const toml::table* g = opt_table(src, root, "guest", "guest");
  if (!g) src.fail(root.source(), "a [guest] table with guest.test is required");
  read_guest(src, *g, c);
  std::set<std::string> labels;  // shared: --all-kernels runs both lists together
  c.kernels = read_kernels(src, root, "kernels", base, labels);
  c.extra_kernels = read_kernels(src, root, "extra_kernels", base, labels);
  if (c.kernels.empty()) src.fail(root.source(), "at least one [[kernels]] entry is required");
  return c;
}

Case load_case(const fs::path& file) {
  validate::input_file("case file", file);
  return load_case_text(read_file(file), file);
}

void apply_arg_flags(Args& args, const std::vector<std::string>& flags) {
  for (const auto& a : flags) {
    auto [k, v] = validate::guest_arg_flag("--arg", a);
    args[k] = v;
  }
}

fs::path default_case_path() { return data_layout().data / "cases" / "uffd-hugetlb.toml"; }

}  // namespace rb::run
