// The pieces `kperf flamegraph` and `kperf diff` share (render_flags.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"

namespace kperf {

// The SVG / speedscope rendering flags on `cmd`. `differential`: leave out the flags that
// only matter for palette colors.
void add_render_flags(CLI::App* cmd, fg::RenderOptions& o, fg::RenderFlags& f, bool differential);
// Reads folded files ("-" = stdin) into `trie`; problems with a file are fatal (one
// line), lines that do not parse only counted.
fg::FoldedReader::Stats read_folded_files(const std::vector<std::string>& files,
                                          fg::StackTrie& trie, const fg::FoldedOptions& opts);
// The warning for invalid lines, and the error when nothing valid remains in `what`.
void check_folded_stats(const fg::FoldedReader::Stats& st, std::string_view what);
// Renders to `output` ("-": stdout; a file is written atomically) with --cp's palette
// file around it.
void write_rendered(const fg::StackTrie& trie, fg::RenderOptions& opts, const fg::RenderFlags& flags,
                    const std::string& output);

}  // namespace kperf
