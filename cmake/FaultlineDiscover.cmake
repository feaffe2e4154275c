# faultline_discover_scenarios(<target>
#     [LABELS label...] [ARGS arg...] [WILL_FAIL scenario...]
#     [TEST_PREFIX prefix] [WORKING_DIRECTORY dir] [DISCOVERY_TIMEOUT seconds])
#
# One ctest test per scenario of <target>, a program whose main is
# fl_main (link faultline::main, or call fl_main from your own main), in
# the manner of gtest_discover_tests' POST_BUILD mode: after <target>
# builds, `<target> list --names` names its registered scenarios and a
# ctest include file adds, for each NAME,
#   <prefix>NAME:  <target> run NAME --report <dir>/NAME ARGS
# with the exit status as the verdict (0 passes; 1 a failed check, 2 an
# error, 3 a hang fail). Reports go to <target>.faultline/NAME/ in the
# current binary directory (report.json, junit.xml, summary.md, index.html).
#
#   LABELS             labels on every test, beside the scenario's own
#                      (fl_scenario_options.labels, read from list --json).
#   ARGS               arguments after the scenario name. Default
#                      --skip-timing: timing goals are reported, not judged,
#                      so a busy CI machine cannot fail a test on the wall
#                      clock. Passing ARGS replaces that default (pass
#                      --skip-timing yourself to keep it, or --backend sim
#                      to judge timing on virtual time).
#   WILL_FAIL          scenarios whose test passes when they fail (a plant
#                      that the checks must catch).
#   TEST_PREFIX        prepended to each test name; default "<target>.".
#   WORKING_DIRECTORY  where the tests run; default the binary directory.
#   DISCOVERY_TIMEOUT  seconds `list` may take; default 5.
#
# The list is read at build time, so a scenario added or renamed shows up
# after the next build; a program that fails to list (a scenario that failed
# to register exits 2) fails the build with its message.
#
# This file is also the script the POST_BUILD step runs (cmake -P).

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED FL_DISCOVER_PARAMS)
  # ---- build time: ask the program, write the tests -------------------------
  cmake_policy(VERSION 3.25)
  include("${FL_DISCOVER_PARAMS}")
  function(_fl_discover_run out)
    execute_process(COMMAND ${FL_EXECUTOR} "${FL_EXECUTABLE}" ${ARGN}
      WORKING_DIRECTORY "${FL_WORKING_DIRECTORY}" TIMEOUT ${FL_TIMEOUT}
      RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE errtext)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "faultline_discover_scenarios: `${FL_EXECUTABLE} ${ARGN}` "
        "exited with ${rc}:\n${errtext}${text}")
    endif()
    set(${out} "${text}" PARENT_SCOPE)
  endfunction()
  _fl_discover_run(names list --names)
  _fl_discover_run(json list --json)
  string(REPLACE "\n" ";" names "${names}")
  string(JSON count LENGTH "${json}")
  set(body "# Written by faultline_discover_scenarios from `${FL_EXECUTABLE} list`.\n")
  foreach(name ${names})
    set(own "")
    if(count GREATER 0)
      math(EXPR last "${count} - 1")
      foreach(i RANGE ${last})
        string(JSON n GET "${json}" ${i} name)
        if(n STREQUAL name)
          string(JSON own GET "${json}" ${i} labels)
        endif()
      endforeach()
    endif()
    separate_arguments(own UNIX_COMMAND "${own}")
    set(labels ${FL_LABELS} ${own})
    set(test "${FL_PREFIX}${name}")
    set(cmd "")
    foreach(a ${FL_EXECUTOR} "${FL_EXECUTABLE}" run "${name}" --report
        "${FL_REPORT_DIR}/${name}" ${FL_ARGS})
      string(APPEND cmd " [==[${a}]==]")
    endforeach()
    string(APPEND body "add_test([==[${test}]==]${cmd})\n"
      "set_tests_properties([==[${test}]==] PROPERTIES WORKING_DIRECTORY "
      "[==[${FL_WORKING_DIRECTORY}]==] LABELS [==[${labels}]==])\n")
    if(name IN_LIST FL_WILL_FAIL)
      string(APPEND body "set_tests_properties([==[${test}]==] PROPERTIES WILL_FAIL TRUE)\n")
    endif()
  endforeach()
  file(WRITE "${FL_CTEST_FILE}" "${body}")
  return()
endif()

# ---- configure time: the function --------------------------------------------
# A global property, not a variable: a project that vendors faultline with
# add_subdirectory calls the function from its own directory, where a
# variable set in faultline's directory is not visible.
set_property(GLOBAL PROPERTY FAULTLINE_DISCOVER_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")

function(faultline_discover_scenarios target)
  get_property(_FAULTLINE_DISCOVER_SCRIPT GLOBAL PROPERTY FAULTLINE_DISCOVER_SCRIPT)
  cmake_parse_arguments(D "" "TEST_PREFIX;WORKING_DIRECTORY;DISCOVERY_TIMEOUT"
    "LABELS;ARGS;WILL_FAIL" ${ARGN})
  if(NOT TARGET ${target})
    message(FATAL_ERROR "faultline_discover_scenarios: no target '${target}'")
  endif()
  if(D_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "faultline_discover_scenarios: unknown arguments: ${D_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT DEFINED D_TEST_PREFIX)
    set(D_TEST_PREFIX "${target}.")
  endif()
  if(NOT D_WORKING_DIRECTORY)
    set(D_WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  if(NOT D_DISCOVERY_TIMEOUT)
    set(D_DISCOVERY_TIMEOUT 5)
  endif()
  if(NOT DEFINED D_ARGS)
    set(D_ARGS --skip-timing)
  endif()
  get_property(emulator TARGET ${target} PROPERTY CROSSCOMPILING_EMULATOR)
  set(base "${CMAKE_CURRENT_BINARY_DIR}/${target}.faultline")
  # The parameters go through a file, so lists and spaces need no escaping
  # on the POST_BUILD command line.
  set(params "")
  foreach(v EXECUTOR:emulator WORKING_DIRECTORY:D_WORKING_DIRECTORY
      TIMEOUT:D_DISCOVERY_TIMEOUT LABELS:D_LABELS ARGS:D_ARGS WILL_FAIL:D_WILL_FAIL
      PREFIX:D_TEST_PREFIX)
    string(REPLACE ":" ";" v "${v}")
    list(GET v 0 key)
    list(GET v 1 var)
    string(APPEND params "set(FL_${key} [==[${${var}}]==])\n")
  endforeach()
  string(APPEND params "set(FL_REPORT_DIR [==[${base}]==])\n"
    "set(FL_CTEST_FILE [==[${base}_tests.cmake]==])\n")
  file(WRITE "${base}_params.cmake" "${params}")
  add_custom_command(TARGET ${target} POST_BUILD
    BYPRODUCTS "${base}_tests.cmake"
    COMMAND "${CMAKE_COMMAND}" -D "FL_DISCOVER_PARAMS=${base}_params.cmake"
      -D "FL_EXECUTABLE=$<TARGET_FILE:${target}>" -P "${_FAULTLINE_DISCOVER_SCRIPT}"
    VERBATIM)
  file(WRITE "${base}_include.cmake"
    "if(EXISTS [==[${base}_tests.cmake]==])\n"
    "  include([==[${base}_tests.cmake]==])\n"
    "else()\n"
    "  add_test([==[${D_TEST_PREFIX}NOT_BUILT]==] [==[${target}_NOT_BUILT]==])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${base}_include.cmake")
endfunction()
