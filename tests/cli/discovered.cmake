# cmake -DFILE=<discovery's tests file> -DEXE=<the program> -P discovered.cmake
# Checks what faultline_discover_scenarios wrote for discover_demo.c: one
# test per scenario, each running `EXE run NAME --report DIR --skip-timing`,
# the labels given plus the scenario's own, WILL_FAIL on demo_fail only.
file(READ "${FILE}" text)
function(want what)
  string(FIND "${text}" "${what}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "discovery: expected\n  ${what}\nin ${FILE}:\n${text}")
  endif()
endfunction()
foreach(name demo_pass demo_fail)
  want("add_test([==[discover.${name}]==] [==[${EXE}]==] [==[run]==] [==[${name}]==] [==[--report]==]")
  want("${name}]==] [==[--skip-timing]==])") # the report directory ends in the name
endforeach()
want("set_tests_properties([==[discover.demo_pass]==] PROPERTIES WORKING_DIRECTORY")
want("LABELS [==[cli;discover]==])")
want("LABELS [==[cli;discover;negative_control]==])")
want("set_tests_properties([==[discover.demo_fail]==] PROPERTIES WILL_FAIL TRUE)")
string(FIND "${text}" "[==[discover.demo_pass]==] PROPERTIES WILL_FAIL" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "discovery: demo_pass must not be WILL_FAIL:\n${text}")
endif()
string(REGEX MATCHALL "add_test\\(" adds "${text}")
list(LENGTH adds n)
if(NOT n EQUAL 2)
  message(FATAL_ERROR "discovery: ${n} tests, expected 2:\n${text}")
endif()
