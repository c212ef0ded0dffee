// Test files: a private temporary directory removed with its contents, whole-file reads
// and writes.
#pragma once

#include <string>

namespace kperf::test {

// The whole file (empty if it cannot be read).
std::string read_file(const std::string& path);
// Replaces the file's contents with text.
void write_file(const std::string& path, const std::string& text);

// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace kperf::test
