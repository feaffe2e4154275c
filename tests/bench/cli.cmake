# The faultline-bench and `faultline report merge` commands end to end:
# exit codes of the gate (0 pass, 1 regression, 2 usage), sharded sweeps
# merged by `faultline report merge` and drawn by sweep-report.
# cmake -DBENCH=<faultline-bench> -DFAULTLINE=<faultline> -DDIR=<scratch> -P cli.cmake
file(REMOVE_RECURSE ${DIR})
file(MAKE_DIRECTORY ${DIR})

function(expect code)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "${code}")
    message(FATAL_ERROR "expected exit ${code}, got ${rc}: ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

set(LOAD --clock virtual --rate 3000 --items 20000 --warmup 1s --service lognormal\(100us,0.2\))
expect(0 ${BENCH} gate --save ${DIR}/base.json ${LOAD} --seed 1000)
expect(0 ${BENCH} gate ${DIR}/base.json ${LOAD} --seed 2000 --json ${DIR}/aa.json --md ${DIR}/aa.md)
expect(1 ${BENCH} gate ${DIR}/base.json ${LOAD} --seed 2000 --faults stage1=slow\(1.05\)
       --json ${DIR}/slow.json)
file(READ ${DIR}/slow.json verdict)
if(NOT verdict MATCHES "\"regression\": true")
  message(FATAL_ERROR "slow.json does not say regression:\n${verdict}")
endif()
expect(2 ${BENCH} gate ${DIR}/base.json --no-such-option)
expect(2 ${BENCH} gate ${DIR}/base.json --service gamma\(1ms\))
expect(2 ${BENCH} gate ${DIR}/missing.json ${LOAD})

# run: no SLO unless asked (a hidden one once said FAIL in the report
# while the run exited 0); asked, the exit status is its verdict.
set(RUN run --clock virtual --rate 2000 --items 2000 --service exp\(100us\))
expect(0 ${BENCH} ${RUN} --json ${DIR}/run.json)
file(READ ${DIR}/run.json run)
if(run MATCHES "\"fail\"")
  message(FATAL_ERROR "a run without --slo reports a failure:\n${run}")
endif()
expect(1 ${BENCH} ${RUN} --slo 1ns)
expect(0 ${BENCH} ${RUN} --slo 1s)

set(SWEEP sweep --clock virtual --service exp\(100us\) --workers 1,2 --rate 2000,8000,12000
    --cell 0.5s --warmup 0.1s --slo 5ms)
expect(0 ${BENCH} ${SWEEP} --shard 1/2 --report ${DIR}/s1)
expect(0 ${BENCH} ${SWEEP} --shard 2/2 --report ${DIR}/s2)
expect(0 ${FAULTLINE} report merge ${DIR}/all.json ${DIR}/s1/sweep.json ${DIR}/s2/sweep.json)
expect(0 ${FAULTLINE} report merge ${DIR}/all.hlog ${DIR}/s1/sweep.hlog ${DIR}/s2/sweep.hlog)
expect(0 ${BENCH} sweep-report ${DIR}/all.json --report ${DIR}/all)
file(READ ${DIR}/all/index.html page)
if(NOT page MATCHES "knee")
  message(FATAL_ERROR "the merged sweep page shows no knee")
endif()
expect(2 ${FAULTLINE} report merge ${DIR}/all.txt ${DIR}/s1/sweep.json)
expect(2 ${FAULTLINE} report merge ${DIR}/x.json ${DIR}/s1/sweep.hlog)
expect(2 ${BENCH} ${SWEEP} --shard 3/2)

# One set of flag names (issue 16): --json - is standard output, and the
# human summary moves to standard error so the JSON stays parseable; the
# old spellings still work and say they are deprecated.
execute_process(COMMAND ${BENCH} ${RUN} --faults=stage1=slow\(2\) --json -
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "0" OR NOT out MATCHES "^{" OR NOT err MATCHES "items 2000 measured"
   OR err MATCHES "deprecated")
  message(FATAL_ERROR "--json -: exit ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()
string(JSON plan GET "${out}" run fault_plan)
if(NOT plan STREQUAL "stage1=slow(2)")
  message(FATAL_ERROR "--json - holds fault plan '${plan}'")
endif()
execute_process(COMMAND ${BENCH} ${RUN} --fault-plan stage1=slow\(2\) --out ${DIR}/old
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "0" OR NOT err MATCHES "--fault-plan is deprecated, use --faults"
   OR NOT err MATCHES "--out is deprecated, use --report" OR NOT EXISTS ${DIR}/old/report.json)
  message(FATAL_ERROR "old spellings: exit ${rc}\n${out}\n${err}")
endif()
# A real-clock run with a plan: its fires are on the report's fault
# timeline (counts, not times, are asserted: evaluations 5..7 fire).
execute_process(COMMAND ${BENCH} run --rate 1000 --items 40 --warmup 0 --service const\(1us\)
  --faults stage1=@5..7\ sleep\(1us\) --json -
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "real-clock run with faults: exit ${rc}\n${err}")
endif()
string(JSON total GET "${out}" faults total)
string(JSON fired GET "${out}" faults counts stage1)
if(NOT total STREQUAL "3" OR NOT fired STREQUAL "3")
  message(FATAL_ERROR "the run's report holds ${total} fault events (stage1: ${fired}), not 3")
endif()
expect(0 ${BENCH} run --help)
expect(0 ${BENCH} gate -h)
expect(2 ${BENCH} run --clock=sundial)
