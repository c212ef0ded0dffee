// `kperf symbolize`: addresses of an ELF file or a live process to function names and
// source lines, printed like `llvm-symbolizer --output-style=GNU`.
#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kperf/cli/command.hpp"
#include "symbolizer/module_cache.hpp"
#include "symbolizer/session.hpp"

namespace kperf {

namespace {

struct SymbolizeArgs {
  std::string elf;
  int pid = 0;
  bool no_demangle = false;
  std::vector<std::string> addrs;
};

uint64_t parse_address(const std::string& s) {
  std::string_view v(s);
  if (v.starts_with("0x") || v.starts_with("0X")) v.remove_prefix(2);
  uint64_t out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out, 16);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size())
    throw UsageError(fmt::format("bad address '{}' (expected hex, with or without 0x)", s));
  return out;
}

void print(fmt::memory_buffer& out, const sym::AddressInfo& info) {
  fmt::format_to(std::back_inserter(out), "{}\n", info.function.empty() ? "??" : info.function);
  if (info.file.empty()) fmt::format_to(std::back_inserter(out), "??:0\n");
  else fmt::format_to(std::back_inserter(out), "{}:{}\n", info.file, info.line);
}

void flush(fmt::memory_buffer& out) {
  if (out.size() && std::fwrite(out.data(), 1, out.size(), stdout) != out.size())
    throw std::runtime_error("cannot write to stdout");
  out.clear();
}

void run(const SymbolizeArgs& a) {
  if (a.elf.empty() == (a.pid == 0)) throw UsageError("symbolize: give exactly one of -e ELF or --pid PID");
  std::shared_ptr<sym::Module> module;
  std::unique_ptr<sym::ModuleCache> cache;
  std::unique_ptr<sym::Session> session;
  if (!a.elf.empty()) {
    cache = std::make_unique<sym::ModuleCache>(sym::ModuleOptions{!a.no_demangle, true, "/usr/lib/debug"});
    module = cache->for_file(a.elf);
  } else {
    session = std::make_unique<sym::Session>(sym::SessionOptions{!a.no_demangle, true, true});
    session->add_process(a.pid);
  }
  std::vector<std::string> tokens = a.addrs;
  if (tokens.empty()) {
    // Whole stdin at once, split on whitespace (much faster than std::cin >> token).
    std::string input;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) input.append(buf, n);
    size_t pos = 0;
    while (pos < input.size()) {
      while (pos < input.size() && std::isspace(static_cast<unsigned char>(input[pos]))) ++pos;
      size_t start = pos;
      while (pos < input.size() && !std::isspace(static_cast<unsigned char>(input[pos]))) ++pos;
      if (pos > start) tokens.emplace_back(input, start, pos - start);
    }
  }
  std::vector<uint64_t> addrs;
  addrs.reserve(tokens.size());
  for (const auto& t : tokens) addrs.push_back(parse_address(t));
  // Resolve in address order (neighbouring lookups share cache lines), print in input order.
  std::vector<uint32_t> order(addrs.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) { return addrs[x] < addrs[y]; });
  fmt::memory_buffer text;
  std::vector<std::pair<size_t, size_t>> spans(addrs.size());  // per input address: [begin, end) in text
  for (uint32_t i : order) {
    size_t begin = text.size();
    print(text, module ? module->describe(addrs[i]) : session->describe(a.pid, addrs[i]));
    spans[i] = {begin, text.size()};
  }
  fmt::memory_buffer out;
  for (const auto& [begin, end] : spans) {
    out.append(text.data() + begin, text.data() + end);
    if (out.size() > (1 << 16)) flush(out);
  }
  flush(out);
  std::fflush(stdout);
}

}  // namespace

void register_symbolize(CLI::App& app) {
  auto args = std::make_shared<SymbolizeArgs>();
  auto* cmd = app.add_subcommand("symbolize",
                                 "Print function and file:line of addresses (llvm-symbolizer --output-style=GNU)");
  cmd->footer(
      "Addresses are hex, with or without 0x; read from stdin (whitespace separated) when none\n"
      "are given. With -e they are file virtual addresses of the ELF (as llvm-symbolizer's);\n"
      "with --pid they are runtime addresses in that process. Per address two lines are\n"
      "printed: the function (demangled symbol; NAME+0xSTART for a function known only from\n"
      ".eh_frame; ?? if unknown) and FILE:LINE from DWARF (??:0 if unknown).");
  cmd->add_option("-e,--exe,--obj", args->elf, "ELF file whose file addresses are given");
  cmd->add_option("-p,--pid", args->pid, "Process whose runtime addresses are given")->check(CLI::PositiveNumber);
  cmd->add_flag("--no-demangle", args->no_demangle, "Print C++ names mangled");
  cmd->add_option("addresses", args->addrs, "Addresses (hex); stdin when none");
  cmd->callback([args] { run(*args); });
}

}  // namespace kperf
