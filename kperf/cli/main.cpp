// kperf's entry point: builds the command line from the registered commands and keeps
// the error contract: an error the user caused (bad flag, bad file, bad input, a pid
// that is gone...) ends in one line "kperf: ..." on stderr and exit status 2; a bug in
// kperf itself (a logic error, a JSON type error...) says "internal error" and exits 70.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include <fmt/core.h>

#include "kperf/cli/command.hpp"

namespace {

// CLI11's message on one line, with where to read about the command.
std::string usage_line(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-') {
    std::string names;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    return fmt::format("unknown command '{}' (commands: {})", argv[1], names);
  }
  std::string what = e.what();
  for (char& c : what) {
    if (c == '\n') c = ' ';
  }
  std::string help = "kperf --help";
  for (const CLI::App* sub : app.get_subcommands()) help = fmt::format("kperf {} --help", sub->get_name());
  return fmt::format("{} (see {})", what, help);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kperf — where Kong (nginx + LuaJIT) spends its CPU under load"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every command");
#define KPERF_COMMAND(name) kperf::register_##name(app);
#include "kperf/commands.inc"
#undef KPERF_COMMAND
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "kperf: {}\n", usage_line(app, e, argc, argv));
    return 2;
  } catch (const std::runtime_error& e) {  // UsageError, I/O, system and parse errors of modules
    std::fflush(stdout);
    fmt::print(stderr, "kperf: {}\n", e.what());
    return 2;
  } catch (const std::invalid_argument& e) {  // modules' validation of option values
    std::fflush(stdout);
    fmt::print(stderr, "kperf: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "kperf: internal error: {} (a bug in kperf; please report it with the command line)\n",
               e.what());
    return 70;
  }
  std::fflush(stdout);
  return kperf::exit_status();
}
