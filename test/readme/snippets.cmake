# Every snippet of README.md is compiled or run by a test. Each ```cpp block is a whole
# program: extracted at configure time (CMake re-runs when README.md changes), built
# against attnhook like a user's program, run by ctest in a fresh directory. A line
# `// args: a b` in a block gives its command-line arguments (@FIXTURES@: the fixture
# folder of this LibTorch). The ```sh blocks are run by run_sh_snippets.py.
set(README ${PROJECT_SOURCE_DIR}/README.md)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${README} ${CMAKE_CURRENT_LIST_DIR}/extract_snippets.py)
execute_process(COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/extract_snippets.py ${README}
                        ${PROJECT_BINARY_DIR}/readme
                OUTPUT_VARIABLE snippets RESULT_VARIABLE result)
if(NOT result EQUAL 0 OR snippets STREQUAL "")
  message(FATAL_ERROR "README.md: no ```cpp snippet found, or extract_snippets.py failed (${result})")
endif()
set(fixtures ${PROJECT_SOURCE_DIR}/test/fixtures/torch${Torch_VERSION_MAJOR}.${Torch_VERSION_MINOR})
string(REPLACE "\n" ";" snippets "${snippets}")
foreach(entry IN LISTS snippets)
  if(entry STREQUAL "")
    continue()
  endif()
  string(REGEX MATCH "^([0-9]+)\\|(.*)$" unused "${entry}")
  set(n ${CMAKE_MATCH_1})
  set(arguments "${CMAKE_MATCH_2}")
  string(REPLACE "@FIXTURES@" "${fixtures}" arguments "${arguments}")
  add_executable(readme_snippet_${n} ${PROJECT_BINARY_DIR}/readme/snippet_${n}.cpp)
  target_link_libraries(readme_snippet_${n} PRIVATE attnhook::attnhook)
  target_precompile_headers(readme_snippet_${n} REUSE_FROM attnhook)
  # The library's precompiled header was made with fmt's FMT_SHARED (the library links
  # fmt); GCC ignores it for a TU without that define. The snippets use no fmt.
  target_compile_definitions(readme_snippet_${n} PRIVATE FMT_SHARED)
  attnhook_match_pch_flags(readme_snippet_${n})
  set(work ${PROJECT_BINARY_DIR}/readme/run_${n})
  add_test(NAME readme_cpp_snippet_${n}
    COMMAND sh -c "rm -rf '${work}' && mkdir -p '${work}' && cd '${work}' && '$<TARGET_FILE:readme_snippet_${n}>' ${arguments}")
endforeach()

add_test(NAME readme_sh_snippets
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/run_sh_snippets.py ${README} ${PROJECT_SOURCE_DIR}
          ${PROJECT_BINARY_DIR} ${Torch_VERSION})
set_tests_properties(readme_sh_snippets PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
