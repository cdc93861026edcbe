# common.cmake -- helpers for the CTest scripts that drive the mmapio tool.
# Each script is run as `cmake -DMMAPIO=<tool> -DWORK=<scratch dir> -P x.cmake`
# and fails the test with message(FATAL_ERROR) on the first mismatch.

if(NOT MMAPIO OR NOT WORK)
  message(FATAL_ERROR "run with -DMMAPIO=<path to the mmapio tool> -DWORK=<scratch dir>")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

# When cross-compiling, EMULATOR is the command that runs the tool (Wine,
# through scripts/wine-run.sh), with '|' standing for ';'. The test's
# environment has MMAPIO_WINE_EXPECT_MARKER=1 (cli/CMakeLists.txt), so the
# launcher starts Wine again when it failed before the tool ran, and never
# runs a tool that started twice.
string(REPLACE "|" ";" EMULATOR "${EMULATOR}")
if(EMULATOR)
  set(RUN_TIMEOUT 300)
else()
  set(RUN_TIMEOUT 60)
endif()

# mmapio_run(<prefix> args...) runs the tool and sets <prefix>_RC,
# <prefix>_OUT and <prefix>_ERR in the caller's scope. Carriage returns are
# dropped so that text output compares the same on Windows. Under the
# emulator, the launcher's own reports (lines starting "wine-run.sh: ", such
# as a retried Wine start-up failure) are not the tool's: they are moved from
# <prefix>_ERR to this script's output.
function(mmapio_run prefix)
  execute_process(COMMAND ${EMULATOR} "${MMAPIO}" ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err
    TIMEOUT ${RUN_TIMEOUT})
  string(REPLACE "\r" "" out "${out}")
  string(REPLACE "\r" "" err "${err}")
  if(EMULATOR)
    # A newline in front makes every line start after one, then it goes.
    string(REGEX MATCHALL "\nwine-run\\.sh: [^\n]*" reports "\n${err}")
    if(reports)
      # The list's separators are the ';' in front of each line's newline
      # (the reports themselves contain ';').
      string(REPLACE ";\n" "\n" reports "${reports}")
      message(STATUS "mmapio_run(${prefix}): the launcher reported:${reports}")
    endif()
    string(REGEX REPLACE "\nwine-run\\.sh: [^\n]*" "" err "\n${err}")
    string(SUBSTRING "${err}" 1 -1 err)
  endif()
  set(${prefix}_RC "${rc}" PARENT_SCOPE)
  set(${prefix}_OUT "${out}" PARENT_SCOPE)
  set(${prefix}_ERR "${err}" PARENT_SCOPE)
endfunction()

# expect_rc(<prefix> <code>): the run must have exited with <code>.
function(expect_rc prefix code)
  if(NOT "${${prefix}_RC}" STREQUAL "${code}")
    message(FATAL_ERROR "${prefix}: exit code '${${prefix}_RC}', expected ${code}\n"
                        "stdout:\n${${prefix}_OUT}\nstderr:\n${${prefix}_ERR}")
  endif()
endfunction()

# expect_contains(<text> <needle> <what>): <needle> must occur in <text>.
function(expect_contains text needle what)
  string(FIND "${text}" "${needle}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "${what}: '${needle}' not found in:\n${text}")
  endif()
endfunction()

# expect_equal(<got> <want> <what>)
function(expect_equal got want what)
  if(NOT "${got}" STREQUAL "${want}")
    message(FATAL_ERROR "${what}: got\n[${got}]\nexpected\n[${want}]")
  endif()
endfunction()
