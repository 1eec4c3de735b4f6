# ctest driver: install the built tree into a fresh prefix, then configure, build and
# run test/consumer against it with find_package(attnhook); then run the installed
# `attnhook` tool, which finds its library and its extract plugin relative to itself.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
set(launcher "")
find_program(CCACHE ccache)
if(CCACHE)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE})
endif()
set(sanitize "")
if(SANITIZE)  # the installed libraries need the sanitizer runtimes
  set(sanitize "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/test/consumer -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release ${launcher} ${sanitize})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
run(${prefix}/bin/attnhook extract --model ${FIXTURES}/gpt_custom.pt --layers "attn$"
    --ids 1,2,3 -o ${WORK_DIR}/attn.json)
run(${prefix}/bin/attnhook plot -i ${WORK_DIR}/attn.json --layer h.1.attn -o ${WORK_DIR}/grid.png)
if(NOT EXISTS ${WORK_DIR}/grid.png)
  message(FATAL_ERROR "the installed attnhook plot wrote no ${WORK_DIR}/grid.png")
endif()
