/* A minimal Lua host for the walker and `kperf record` tests: runs a script with the shared
   libluajit (whichever libluajit-5.1.so.2 the loader picks: LD_LIBRARY_PATH selects the
   build) and gives it one named C function, `cspin`, for Lua -> C -> Lua stacks. */
#include <stddef.h>
#include <stdio.h>

/* The public Lua 5.1 C API functions used here (no development headers needed). */
typedef struct lua_State lua_State;
typedef int (*lua_CFunction)(lua_State *L);
#define LUA_GLOBALSINDEX (-10002)
lua_State *luaL_newstate(void);
void luaL_openlibs(lua_State *L);
int luaL_loadfile(lua_State *L, const char *filename);
int lua_pcall(lua_State *L, int nargs, int nresults, int errfunc);
void lua_call(lua_State *L, int nargs, int nresults);
const char *lua_tolstring(lua_State *L, int idx, size_t *len);
ptrdiff_t lua_tointeger(lua_State *L, int idx);
void lua_pushvalue(lua_State *L, int idx);
void lua_pushcclosure(lua_State *L, lua_CFunction fn, int n);
void lua_setfield(lua_State *L, int idx, const char *k);

/* cspin(f, n): spins a little in C, then calls f() n times (a lua_CFunction with a
   symbol: kperf shows it once, by its native name, between the Lua frames). */
__attribute__((noinline)) int lj_host_cspin(lua_State *L) {
  static volatile unsigned long sink;
  unsigned long x = 0;
  for (unsigned long i = 0; i < 20000; i++) x += i % 7 + sink;
  sink = x;
  ptrdiff_t n = lua_tointeger(L, 2);
  for (ptrdiff_t i = 0; i < n; i++) {
    lua_pushvalue(L, 1);
    lua_call(L, 0, 0);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCRIPT\n", argv[0]);
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (!L) return 1;
  luaL_openlibs(L);
  lua_pushcclosure(L, lj_host_cspin, 0);
  lua_setfield(L, LUA_GLOBALSINDEX, "cspin");
  if (luaL_loadfile(L, argv[1]) != 0 || lua_pcall(L, 0, 0, 0) != 0) {
    fprintf(stderr, "%s\n", lua_tolstring(L, -1, NULL));
    return 1;
  }
  return 0;
}
