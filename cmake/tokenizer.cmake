# attnhook_text: text to token ids without LibTorch (include/attnhook/tokenizer.h).
# HF tokenizer.json pipelines over ICU (Unicode), SentencePiece .model files through
# Debian's libsentencepiece. Included by the top-level CMakeLists after the other libraries.
#
# libsentencepiece is linked by the shim libattnhook_sentencepiece.so alone, never by
# attnhook_text: its global FLAGS_minloglevel clashes with the torch wheel's libc10
# (src/text/sentencepiece_shim.h). attnhook_text dlopens the shim from its own directory
# when a .model is loaded, so the two are built into, and installed to, one directory.
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc icu-i18n)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)

set(ATTNHOOK_TEXT_SOURCES
  src/text/added_vocabulary.cpp
  src/text/byte_level.cpp
  src/text/encode.cpp
  src/text/encoding.cpp
  src/text/json_fields.cpp
  src/text/load_json.cpp
  src/text/models.cpp
  src/text/normalized_string.cpp
  src/text/normalizers.cpp
  src/text/patterns.cpp
  src/text/post_processors.cpp
  src/text/pre_tokenizers.cpp
  src/text/sentencepiece_library.cpp
  src/text/sentencepiece_model.cpp
  src/text/tokenizer.cpp
  src/text/unicode.cpp)
list(TRANSFORM ATTNHOOK_TEXT_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/)

add_library(attnhook_text SHARED ${ATTNHOOK_TEXT_SOURCES})
add_library(attnhook::text ALIAS attnhook_text)
target_include_directories(attnhook_text PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:include>)
target_include_directories(attnhook_text PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(attnhook_text PRIVATE fmt::fmt nlohmann_json::nlohmann_json
  PkgConfig::ICU ${CMAKE_DL_LIBS})
target_compile_options(attnhook_text PRIVATE -Wall -Wextra -Wno-unused-parameter)
set_target_properties(attnhook_text PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION 0)

# The shim: a module with one exported symbol (the C interface's entry point). Both
# targets keep the default output directory, the current binary directory.
add_library(attnhook_sentencepiece MODULE ${PROJECT_SOURCE_DIR}/src/text/sentencepiece_shim.cpp)
target_include_directories(attnhook_sentencepiece PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(attnhook_sentencepiece PRIVATE PkgConfig::SENTENCEPIECE)
target_compile_options(attnhook_sentencepiece PRIVATE -Wall -Wextra)
set_target_properties(attnhook_sentencepiece PROPERTIES
  CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
target_compile_definitions(attnhook_text PRIVATE
  ATTNHOOK_SENTENCEPIECE_SHIM="$<TARGET_FILE_NAME:attnhook_sentencepiece>")
add_dependencies(attnhook_text attnhook_sentencepiece)  # whoever builds the library gets it

install(TARGETS attnhook_text EXPORT attnhookTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS attnhook_sentencepiece LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
