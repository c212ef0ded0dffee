// kperf's entry point: builds the command line from the registered commands and turns
// every user-caused error into one line on stderr and exit status 2.
#include <cstdio>
#include <exception>
#include <fmt/core.h>

#include "kperf/command.hpp"

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
    // CLI11 prints its own message; normalize the status to 2 like every usage error.
    app.exit(e);
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "kperf: {}\n", e.what());
    return 2;
  }
  return 0;
}
