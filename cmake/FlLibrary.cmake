# fl_library(<name> EXPORT_NAME <short> SOURCES <src...>
#            [PUBLIC_LIBS <libs...>] [PRIVATE_LIBS <libs...>] [PRIVATE_INCLUDES <dirs...>])
#
# One faultline library, built the same way everywhere:
# - <name>, a static library of position-independent objects: the project's
#   own programs and tests link it (they may reach fl__ internals);
# - with FAULTLINE_BUILD_SHARED, <name>_shared as well: lib<name>.so.<ABI>,
#   exporting only the public fl_ and FL_ symbols (cmake/fl_exports.map),
#   linked with -z defs so a missing dependency fails the build, not a user.
# Both carry the public headers (<folder>/include, installed as include/) and
# their dependencies; the build flags (warnings, _POSIX_C_SOURCE, sanitizers)
# stay PRIVATE, so nothing leaks into a user's targets. PUBLIC_LIBS naming
# another fl_ library link its static or shared variant to match.
# faultline::<short> (shared when built) and faultline::<short>_static are
# the installed names; the same aliases exist for add_subdirectory users.
function(fl_library name)
  cmake_parse_arguments(L "" "EXPORT_NAME" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS;PRIVATE_INCLUDES" ${ARGN})
  set(variants static)
  if(FAULTLINE_BUILD_SHARED)
    list(APPEND variants shared)
  endif()
  foreach(v ${variants})
    if(v STREQUAL "static")
      set(t ${name})
      add_library(${t} STATIC ${L_SOURCES})
      set_target_properties(${t} PROPERTIES EXPORT_NAME ${L_EXPORT_NAME}_static)
      add_library(faultline::${L_EXPORT_NAME}_static ALIAS ${t})
    else()
      set(t ${name}_shared)
      add_library(${t} SHARED ${L_SOURCES})
      # INSTALL_RPATH $ORIGIN: a library finds the faultline libraries it
      # needs beside itself. A program's RUNPATH covers only its direct
      # needs, so without it a program in a non-system prefix that links
      # libfl_cli found libfl_cli but not libfl_bench behind it.
      set_target_properties(${t} PROPERTIES OUTPUT_NAME ${name} EXPORT_NAME ${L_EXPORT_NAME}
        VERSION ${PROJECT_VERSION} SOVERSION ${FAULTLINE_ABI_VERSION}
        INSTALL_RPATH "$ORIGIN"
        LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/fl_exports.map)
      target_link_options(${t} PRIVATE
        -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/fl_exports.map -Wl,-z,defs)
    endif()
    set_target_properties(${t} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_include_directories(${t}
      PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>
      PRIVATE ${L_PRIVATE_INCLUDES})
    target_link_libraries(${t} PRIVATE $<BUILD_INTERFACE:fl_build_flags>)
    foreach(dep ${L_PRIVATE_LIBS})
      if(dep MATCHES "^fl_") # the project's own build-only targets (fl_internal)
        target_link_libraries(${t} PRIVATE $<BUILD_INTERFACE:${dep}>)
      else()
        target_link_libraries(${t} PRIVATE ${dep})
      endif()
    endforeach()
    foreach(dep ${L_PUBLIC_LIBS})
      if(dep MATCHES "^fl_" AND v STREQUAL "shared")
        target_link_libraries(${t} PUBLIC ${dep}_shared)
      else()
        target_link_libraries(${t} PUBLIC ${dep})
      endif()
    endforeach()
    set_property(GLOBAL APPEND PROPERTY FAULTLINE_LIBRARIES ${t})
  endforeach()
  if(FAULTLINE_BUILD_SHARED)
    add_library(faultline::${L_EXPORT_NAME} ALIAS ${name}_shared)
  else()
    add_library(faultline::${L_EXPORT_NAME} ALIAS ${name})
  endif()
  set_property(GLOBAL APPEND PROPERTY FAULTLINE_INCLUDE_DIRS ${CMAKE_CURRENT_SOURCE_DIR}/include)
endfunction()
