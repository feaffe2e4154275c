# The version and the git revision, for every program that prints them
# (`faultline --version`, the reports' revision, fl-bench's JSON lines).
# The version lives in one place, project(... VERSION) in the top
# CMakeLists.txt; the revision is read at every build and the header is
# rewritten only when it changes, so an unchanged tree recompiles nothing.
# Link fl_version (PRIVATE) and include "fl_version_internal.h":
#   FL_VERSION "0.1.0", FL_REVISION "abc123def456" (+"-dirty"; "unknown"
#   outside git).
set(_fl_gen ${PROJECT_BINARY_DIR}/generated)
set(_fl_rev_script ${_fl_gen}/fl_version.cmake)
file(WRITE ${_fl_rev_script} [=[
execute_process(COMMAND git describe --always --dirty --abbrev=12
  WORKING_DIRECTORY "${SRC}" OUTPUT_VARIABLE rev ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rev)
  set(rev "unknown")
endif()
file(WRITE "${OUT}.tmp" "#define FL_VERSION \"${VERSION}\"\n#define FL_REVISION \"${rev}\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
]=])
add_custom_target(fl-version
  COMMAND ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR} -DVERSION=${PROJECT_VERSION}
          -DOUT=${_fl_gen}/fl_version_internal.h -P ${_fl_rev_script}
  BYPRODUCTS ${_fl_gen}/fl_version_internal.h
  COMMENT "recording the version and git revision" VERBATIM)
add_library(fl_version INTERFACE)
target_include_directories(fl_version INTERFACE ${_fl_gen})
add_dependencies(fl_version fl-version)
