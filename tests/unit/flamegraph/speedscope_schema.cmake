# ctest script: kperf flamegraph --format speedscope (plain and differential) validated
# against speedscope's own file-format-schema.json with node.
if(NOT EXISTS ${SCHEMA})
  message(FATAL_ERROR "no speedscope schema at ${SCHEMA}: scripts/setup installs speedscope (npm) there")
endif()
file(MAKE_DIRECTORY ${WORK})
file(WRITE ${WORK}/plain.folded
  "nginx;ngx_http_handler;access /srv/acl.lua:12;match /srv/router.lua:40_[j] 30\n"
  "nginx;ngx_http_handler;[lua:gc] 5\nnginx;epoll_wait;do_syscall_64_[k] 12\nodd\\\"&<> 1.5\n")
file(WRITE ${WORK}/diff.folded "a;b 10 20\na;c 5 0\nd 0 3\n")
foreach(name plain diff)
  execute_process(COMMAND ${KPERF} flamegraph --format speedscope ${WORK}/${name}.folded -o ${WORK}/${name}.json
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "kperf flamegraph --format speedscope failed on ${name}: ${rc}")
  endif()
  execute_process(COMMAND ${NODE} ${SRC}/validate_schema.js ${SCHEMA} ${WORK}/${name}.json RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}.json does not validate against ${SCHEMA}")
  endif()
endforeach()
# The validator itself must reject a broken file.
file(WRITE ${WORK}/broken.json "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"shared\":{\"frames\":[]},\"profiles\":[{\"type\":\"sampled\"}]}")
execute_process(COMMAND ${NODE} ${SRC}/validate_schema.js ${SCHEMA} ${WORK}/broken.json RESULT_VARIABLE rc
  OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "the validator accepted a profile without its required fields")
endif()
