// An output destination that is either stdout ("-" or empty path) or a file written
// atomically: data goes to a temporary file beside the target, renamed over it only by
// commit(). An error before commit() leaves no partial output file behind.
#pragma once

#include <fstream>
#include <iostream>
#include <string>

namespace kperf {

class OutputFile {
 public:
  explicit OutputFile(std::string path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::ostream& stream() { return path_.empty() ? std::cout : file_; }
  // Flushes, checks for write errors and moves the file into place. Throws on failure.
  void commit();

 private:
  std::string path_;
  std::string tmp_;
  std::ofstream file_;
  bool committed_ = false;
};

}  // namespace kperf
