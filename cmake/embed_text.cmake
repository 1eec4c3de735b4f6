# cmake -DINPUT=<file> -DOUTPUT=<cpp> -DSYMBOL=<qualified name> -P embed_text.cmake
# Writes a C++ file defining `const char* const SYMBOL` with the file's text.
file(READ ${INPUT} text)
string(FIND "${text}" ")attnhook_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
string(REGEX MATCH "^(.*)::([^:]+)$" _ ${SYMBOL})
set(content "// Generated from ${INPUT}; do not edit.\nnamespace ${CMAKE_MATCH_1} {\nextern const char* const ${CMAKE_MATCH_2};\nconst char* const ${CMAKE_MATCH_2} = R\"attnhook_embed(${text})attnhook_embed\";\n}\n")
file(WRITE ${OUTPUT}.tmp "${content}")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
