#include "run/matrix.h"

#include <gtest/gtest.h>

#include "util/error.h"
#include "util/fs.h"

namespace rb::run {
namespace {

class MatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>(fs::temp_directory_path(), "matrix");
    write_file_atomic(dir_->path() / "case.toml", "# stands in for a case\n");
    write_file_atomic(dir_->path() / "src.tar.xz", "");
    write_file_atomic(dir_->path() / "p.patch", "");
  }
  fs::path write(const std::string& body) {
    const fs::path p = dir_->path() / "m.toml";
    write_file_atomic(p, body);
    return p;
  }
  std::unique_ptr<TempDir> dir_;
};

constexpr const char* kGoodMatrix = R"(name = "n"
case = "case.toml"
boots = 2
[[kernels]]
label = "a"
source = "src.tar.xz"
[[kernels]]
label = "b"
source = "src.tar.xz"
patches = ["p.patch"]
[[variants]]
name = "missing"
args = { variant = "missing", pages = 8 }
[[variants]]
name = "minor"
)";

TEST_F(MatrixTest, CellsAreKernelsTimesVariants) {
  const Matrix m = load_matrix(write(kGoodMatrix));
  EXPECT_EQ(m.name, "n");
  EXPECT_EQ(m.boots, 2);
  EXPECT_FALSE(m.trials);
  const auto cells = m.cells();
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].name, "a/missing");
  EXPECT_EQ(cells[0].run.label, "a.missing");
  EXPECT_EQ(cells[0].run.args.at("pages"), "8");
  EXPECT_EQ(cells[3].name, "b/minor");
  EXPECT_EQ(cells[3].run.patches.size(), 1u);
  EXPECT_EQ(cells[3].run.source, fs::weakly_canonical(dir_->path() / "src.tar.xz"));
}

// Each row: a change to the good matrix, and what the message must say
// (file and line included).
struct Row {
  const char* name;
  std::string from, to;
  const char* message;
};

TEST_F(MatrixTest, MalformedMatricesNameFileLineAndCell) {
  const Row rows[] = {
      {"unknown key", "boots = 2", "trails = 2", "m.toml:3: unknown key 'trails'"},
      {"unknown kernel key", "label = \"a\"", "label = \"a\"\nsorce = \"x\"", "m.toml:6: unknown key 'sorce' in [[kernels]]"},
      {"kernel without source", "label = \"a\"\nsource = \"src.tar.xz\"", "label = \"a\"", "kernel a has no source"},
      {"missing patch", "[\"p.patch\"]", "[\"nope.patch\"]", "kernel b patch not found"},
      {"missing source", "label = \"a\"\nsource = \"src.tar.xz\"", "label = \"a\"\nsource = \"nope.tar.xz\"",
       "kernel a source not found"},
      {"duplicate label", "label = \"b\"", "label = \"a\"", "kernel label 'a' is used twice"},
      {"path label", "label = \"b\"", "label = \"../b\"", "kernel label '../b'"},
      {"wrong type", "boots = 2", "boots = \"two\"", "m.toml:3: boots must be an integer"},
      {"no case", "case = \"case.toml\"\n", "", "needs case"},
      {"arg of a bad type", "pages = 8", "pages = 1.5", "args.pages must be a string or integer"},
  };
  for (const auto& r : rows) {
    std::string body = kGoodMatrix;
    const size_t at = body.find(r.from);
    ASSERT_NE(at, std::string::npos) << r.name;
    body.replace(at, r.from.size(), r.to);
    try {
      load_matrix(write(body));
      ADD_FAILURE() << r.name << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << r.name;
      EXPECT_NE(std::string(e.what()).find(r.message), std::string::npos) << r.name << ": " << e.what();
    }
  }
}

TEST(Matrix, TheDefaultMatrixLoads) {
  const Matrix m = load_matrix(default_matrix_path());
  EXPECT_GE(m.cells().size(), 6u);
}

}  // namespace
}  // namespace rb::run
