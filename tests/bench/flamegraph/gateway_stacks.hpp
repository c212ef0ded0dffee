// Deterministic synthetic gateway stacks for benchmarks: nginx native frames, Lua
// frames ("name chunk:line", some JIT-compiled "_[j]"), kernel "_[k]" frames and VM
// pseudo frames, 20-40 deep; as folded lines or as `perf script` samples.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace kperf::fg::bench {

class GatewayStacks {
 public:
  explicit GatewayStacks(std::uint64_t seed = 42) : state_(seed) {
    const char* natives[] = {"ngx_http_core_run_phases", "ngx_http_core_access_phase",
                             "ngx_http_lua_access_handler", "ngx_http_lua_access_by_chunk",
                             "ngx_http_lua_run_thread", "ngx_http_lua_content_handler",
                             "ngx_http_proxy_handler", "ngx_http_upstream_init",
                             "ngx_http_upstream_connect", "ngx_event_connect_peer",
                             "ngx_http_lua_socket_tcp_receive", "ngx_http_lua_ffi_req_get_headers"};
    for (const char* n : natives) natives_.push_back(n);
    const char* plugins[] = {"acl", "rate-limiting", "key-auth", "jwt", "cors", "prometheus",
                             "request-transformer", "response-transformer", "ip-restriction",
                             "correlation-id", "bot-detection", "proxy-cache"};
    const char* fns[] = {"access", "header_filter", "body_filter", "log", "init_worker", "match",
                         "get_headers", "encode", "decode", "validate", "cache_get", "load_plugin",
                         "execute", "new", "run", "iterator", "select", "parse", "split", "find"};
    for (const char* p : plugins) {
      for (const char* f : fns) {
        lua_.push_back(std::string(f) + " /kong/plugins/" + p +
                       "/handler.lua:" + std::to_string(10 + next() % 400));
      }
    }
    const char* libs[] = {"lj_BC_FUNCC", "lj_vm_call", "lj_ffh_string_find", "lj_str_new",
                          "lj_tab_get", "lj_gc_step", "lj_meta_tget", "lj_cf_ngx_re_match",
                          "lj_buf_more2", "lj_strfmt_putfnum"};
    for (const char* l : libs) leaves_.push_back(l);
    const char* kernel[] = {"entry_SYSCALL_64_after_hwframe_[k]", "do_syscall_64_[k]",
                            "__x64_sys_writev_[k]", "do_iter_write_[k]", "sock_write_iter_[k]",
                            "tcp_sendmsg_[k]", "tcp_sendmsg_locked_[k]", "tcp_push_[k]",
                            "__tcp_push_pending_frames_[k]", "tcp_write_xmit_[k]",
                            "__ip_queue_xmit_[k]", "ip_finish_output2_[k]"};
    for (const char* k : kernel) kernel_.push_back(k);
  }

  // One stack, outermost frame first, and its count.
  void next_stack(std::vector<const std::string*>& frames, std::uint64_t& count) {
    frames.clear();
    frames.push_back(&root_[0]);
    frames.push_back(&root_[1]);
    frames.push_back(&root_[2]);
    const std::size_t depth = 20 + next() % 21;
    const std::size_t native = 3 + next() % 4;
    for (std::size_t i = 0; i < native && frames.size() < depth; ++i) {
      frames.push_back(&natives_[(i * 3 + next() % 3) % natives_.size()]);
    }
    const std::size_t tail = next() % 4;  // 0: lib leaf, 1: kernel, 2: gc, 3: lua leaf
    const std::size_t tail_len = tail == 1 ? 4 + next() % 8 : 1;
    while (frames.size() + tail_len < depth) {
      const std::size_t k = next() % lua_.size();
      frames.push_back(next() % 5 == 0 ? &jit(k) : &lua_[k]);
    }
    switch (tail) {
      case 0: frames.push_back(&leaves_[next() % leaves_.size()]); break;
      case 1:
        for (std::size_t i = 0; i < tail_len; ++i) frames.push_back(&kernel_[i % kernel_.size()]);
        break;
      case 2: frames.push_back(&gc_); break;
      default: frames.push_back(&lua_[next() % lua_.size()]);
    }
    count = 1 + next() % 50;
  }

  void folded_line(std::string& out) {
    std::uint64_t count;
    next_stack(frames_, count);
    for (std::size_t i = 0; i < frames_.size(); ++i) {
      if (i > 0) out += ';';
      out += *frames_[i];
    }
    out += ' ';
    out += std::to_string(count);
    out += '\n';
  }

  // A `perf script` sample: header, frames leaf first, blank line.
  void perf_sample(std::string& out, std::uint64_t index) {
    std::uint64_t count;
    next_stack(frames_, count);
    out += "nginx 4242 [00" + std::to_string(index % 4) + "] " + std::to_string(1000 + index / 1000) +
           "." + std::to_string(100000 + index % 900000) + ": 10101010 cpu-clock:\n";
    for (std::size_t i = frames_.size(); i-- > 1;) {
      const std::string& f = *frames_[i];
      const bool kernel = f.ends_with("_[k]");
      const std::string name = kernel ? f.substr(0, f.size() - 4) : f;
      char addr[32];
      std::snprintf(addr, sizeof addr, "%llx",
                    static_cast<unsigned long long>((kernel ? 0xffffffff81000000ULL : 0x55d0c0000000ULL) +
                                                    (std::hash<std::string>{}(name) & 0xffffff)));
      out += '\t';
      out += addr;
      out += ' ';
      out += name;
      out += "+0x1c (";
      out += kernel ? "[kernel.kallsyms]" : "/usr/sbin/nginx";
      out += ")\n";
    }
    out += '\n';
  }

 private:
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  const std::string& jit(std::size_t k) {
    if (jit_.empty()) {
      for (const auto& l : lua_) jit_.push_back(l + "_[j]");
    }
    return jit_[k];
  }

  std::uint64_t state_;
  std::string root_[3] = {"nginx", "ngx_worker_process_cycle", "ngx_process_events_and_timers"};
  std::string gc_ = "[lua:gc]";
  std::vector<std::string> natives_, lua_, jit_, leaves_, kernel_;
  std::vector<const std::string*> frames_;
};

}  // namespace kperf::fg::bench
