# What `cmake --install` and `make deb` put on a machine (docs/install.md):
# headers under include/fl/, every library static and shared, the CMake
# package (faultlineConfig.cmake, targets faultline::<lib>, and
# faultline_discover_scenarios), one pkg-config file per library plus
# faultline.pc, the commands and their manual pages.
# Components: runtime (the shared libraries), dev (headers, static
# libraries, .so links, CMake and pkg-config files), tools (commands, man).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(_fl_libs GLOBAL PROPERTY FAULTLINE_LIBRARIES)
get_property(_fl_incs GLOBAL PROPERTY FAULTLINE_INCLUDE_DIRS)
install(TARGETS ${_fl_libs} EXPORT faultlineTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
foreach(dir ${_fl_incs})
  install(DIRECTORY ${dir}/fl DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
endforeach()

set(_fl_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/faultline)
install(EXPORT faultlineTargets NAMESPACE faultline:: DESTINATION ${_fl_cmake_dir}
  COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/faultlineConfig.cmake.in
  ${PROJECT_BINARY_DIR}/faultlineConfig.cmake INSTALL_DESTINATION ${_fl_cmake_dir})
# Before 1.0 a minor version may change the ABI (docs/install.md).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/faultlineConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/faultlineConfig.cmake
  ${PROJECT_BINARY_DIR}/faultlineConfigVersion.cmake DESTINATION ${_fl_cmake_dir} COMPONENT dev)
# faultline_discover_scenarios(), included by faultlineConfig.cmake.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/FaultlineDiscover.cmake DESTINATION ${_fl_cmake_dir}
  COMPONENT dev)

# pkg-config: faultline-<lib>.pc each, faultline.pc for everything. The
# prefix is found from the file's own place, so an install moved with
# --prefix or a .deb unpacked anywhere still points at itself.
file(RELATIVE_PATH PC_RELPREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
function(fl_pc file name description requires requires_private libs libs_private)
  set(PC_NAME ${name})
  set(PC_DESCRIPTION ${description})
  set(PC_REQUIRES ${requires})
  set(PC_REQUIRES_PRIVATE ${requires_private})
  set(PC_LIBS ${libs})
  set(PC_LIBS_PRIVATE ${libs_private})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/faultline.pc.in ${PROJECT_BINARY_DIR}/pc/${file}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pc/${file}.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endfunction()
fl_pc(faultline-runtime "faultline runtime" "errors, contexts, channels, groups, scheduler"
  "" "" "-lfl_runtime" "-pthread -lm")
fl_pc(faultline-patterns "faultline patterns" "retry, breaker, hedge, bulkhead, DLQ, batch, saga, cursor"
  "faultline-runtime" "sqlite3" "-lfl_patterns" "")
fl_pc(faultline-faults "faultline faults" "fault points and plans"
  "faultline-runtime" "" "-lfl_faults" "-lm")
fl_pc(faultline-reports "faultline reports" "HDR histograms and report writers"
  "faultline-runtime" "zlib jansson" "-lfl_reports" "-lm")
fl_pc(faultline-scenarios "faultline scenarios" "scenarios, checks and job files"
  "faultline-runtime faultline-patterns faultline-faults faultline-reports" "inih"
  "-lfl_scenarios" "-lm")
fl_pc(faultline-bench "faultline bench" "open-loop load, users' loads (FL_LOAD), sweeps, the gate"
  "faultline-scenarios" "jansson" "-lfl_bench" "-lm")
# The command line over a program's registered scenarios, and the main()
# that calls it (a static archive; never in faultline.pc, whose users have
# a main of their own).
fl_pc(faultline-cli "faultline cli" "fl_main: the command line over registered scenarios"
  "faultline-scenarios faultline-bench" "jansson" "-lfl_cli" "")
fl_pc(faultline-main "faultline main" "a main() that runs fl_main, for test binaries of scenarios"
  "faultline-cli" "" "-lfl_main" "")
fl_pc(faultline "faultline" "chaos testing for concurrent C pipelines: every library"
  "faultline-cli faultline-bench faultline-scenarios faultline-patterns faultline-faults faultline-reports faultline-runtime"
  "" "" "")

if(FAULTLINE_BUILD_CLI)
  install(TARGETS faultline faultline-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    COMPONENT tools)
  # Manual pages, compressed as Debian installs them (gzip -n: reproducible).
  find_program(FL_GZIP gzip REQUIRED)
  set(_fl_man_gz "")
  foreach(page faultline.1 faultline-bench.1 faultline-jobs.5 faultline-plan.7)
    string(REGEX REPLACE ".*\\.([0-9])$" "\\1" sec ${page})
    set(gz ${PROJECT_BINARY_DIR}/man/${page}.gz)
    add_custom_command(OUTPUT ${gz}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${FL_GZIP} -9n -c ${PROJECT_SOURCE_DIR}/man/${page} > ${gz}
      DEPENDS ${PROJECT_SOURCE_DIR}/man/${page} VERBATIM)
    list(APPEND _fl_man_gz ${gz})
    install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${sec} COMPONENT tools)
  endforeach()
  add_custom_target(fl-man ALL DEPENDS ${_fl_man_gz})
  foreach(cmd faultline faultline-bench) # one script completes both
    install(FILES cli/completion.bash
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions RENAME ${cmd}
      COMPONENT tools)
  endforeach()
endif()

# Each package's copyright and changelog (Debian's /usr/share/doc/<package>).
set(_fl_changelog_gz ${PROJECT_BINARY_DIR}/debian/changelog.gz)
add_custom_command(OUTPUT ${_fl_changelog_gz}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/debian
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/cmake/debian/changelog > ${_fl_changelog_gz}
  DEPENDS ${PROJECT_SOURCE_DIR}/cmake/debian/changelog VERBATIM)
add_custom_target(fl-changelog ALL DEPENDS ${_fl_changelog_gz})
foreach(pair runtime:libfaultline${FAULTLINE_ABI_VERSION} dev:libfaultline-dev tools:faultline)
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 comp)
  list(GET pair 1 pkg)
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright ${_fl_changelog_gz}
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg} COMPONENT ${comp})
endforeach()

# Debian packages (`make deb`): one per component.
set(CPACK_PACKAGE_NAME faultline)
set(CPACK_PACKAGE_VENDOR "The faultline authors")
set(CPACK_PACKAGE_CONTACT "The faultline authors <faultline@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "chaos testing and benchmarks for concurrent C pipelines")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "The shared libraries of faultline: a pipeline runtime with Go's errors,
 contexts, channels and errgroup semantics on three scheduler backends;
 production patterns (retry, breaker, hedge, bulkhead, DLQ, batch, saga,
 cursor); a reproducible fault injector; HDR histogram reports; scenarios
 and checks; an open-loop load generator.")
set(CPACK_DEBIAN_DEV_DESCRIPTION "Headers, static libraries, the CMake package (find_package(faultline)) and
 pkg-config files (faultline-runtime, faultline-faults, ...) for building C
 programs against faultline's libraries.")
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "faultline runs, stresses, replays and sweeps concurrent pipelines under
 injected faults and writes JSON, JUnit, Markdown and HTML reports;
 faultline-bench drives open-loop load, capacity sweeps and a statistical
 regression gate.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libfaultline${FAULTLINE_ABI_VERSION})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libfaultline-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libfaultline${FAULTLINE_ABI_VERSION} (= ${PROJECT_VERSION}), libsqlite3-dev, zlib1g-dev, libinih-dev, libjansson-dev, pkg-config")
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME faultline)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION devel)
include(CPack)
