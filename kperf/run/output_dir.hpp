// The output directory of `kperf profile` / `kperf attach`: refused when it holds
// something already (unless --force), then written file by file, each complete or absent
// (OutputFile), its names remembered for the summary.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "kperf/cli/output_file.hpp"

namespace kperf {

// Refuses an output directory that exists and is not empty unless `force`, or is a file
// (UsageError: one line, exit 2).
void check_out_dir(const std::filesystem::path& dir, bool force);

// Writes the outputs into a directory as they are produced; remembers their names.
class OutputDir {
 public:
  explicit OutputDir(std::filesystem::path dir) : dir_(std::move(dir)) {}
  template <typename Fn>
  void write(const std::string& name, Fn&& fill) {
    OutputFile f((dir_ / name).string());
    fill(f.stream());
    f.commit();
    names_.push_back(name);
  }
  void text(const std::string& name, const std::string& content) {
    write(name, [&](std::ostream& o) { o << content; });
  }
  std::filesystem::path path(const std::string& name) const { return dir_ / name; }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::filesystem::path dir_;
  std::vector<std::string> names_;
};

}  // namespace kperf
