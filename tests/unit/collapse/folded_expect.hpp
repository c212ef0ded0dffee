// Test helpers deriving expected folded output from stackcollapse-perf.pl's recorded
// results: merge + Perl sort, the default mode from --pid, the current java rule.
#pragma once

#include <string>

namespace kperf::test {

std::string read_file(const std::string& path);

// Folded text ("STACK COUNT" lines) with identical stacks merged (counts summed) and
// sorted bytewise, as stackcollapse-perf.pl prints its hash (`sort { $a cmp $b }`).
std::string merge_and_sort(const std::string& folded);

// The default mode's output from the --pid output: the root frame "COMM-PID" loses
// its "-PID" suffix (PID is digits or '?'), then stacks are merged and sorted.
std::string default_from_pid(const std::string& pid_folded);

// The recorded results predate FlameGraph commit e54f142 (merged in 57589a4, 2023),
// which tidies Java frames when the root frame *starts with* "java" (so also
// "java-PID" with --pid/--tid) instead of when it *is* "java": such frames lose a
// leading 'L' when they contain a '/'. Applies that rule where the two differ (root
// starting with, but not equal to, "java"), then merges and sorts.
std::string apply_current_java_rule(const std::string& folded);

}  // namespace kperf::test
