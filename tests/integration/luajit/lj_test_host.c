/* A minimal Lua host for the walker tests: runs a script with the shared libluajit
   (whichever libluajit-5.1.so.2 the loader picks: LD_LIBRARY_PATH selects the build). */
#include <stddef.h>
#include <stdio.h>

/* The public Lua 5.1 C API functions used here (no development headers needed). */
typedef struct lua_State lua_State;
lua_State *luaL_newstate(void);
void luaL_openlibs(lua_State *L);
int luaL_loadfile(lua_State *L, const char *filename);
int lua_pcall(lua_State *L, int nargs, int nresults, int errfunc);
const char *lua_tolstring(lua_State *L, int idx, size_t *len);

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCRIPT\n", argv[0]);
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (!L) return 1;
  luaL_openlibs(L);
  if (luaL_loadfile(L, argv[1]) != 0 || lua_pcall(L, 0, 0, 0) != 0) {
    fprintf(stderr, "%s\n", lua_tolstring(L, -1, NULL));
    return 1;
  }
  return 0;
}
