# `mmapio counter` creates the file, counts 1, 2, ... and supports
# --get, --add and --init.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

# The counter needs atomic views; a build without them is a skip, not a failure.
mmapio_run(feat info "${CMAKE_CURRENT_LIST_FILE}")
expect_rc(feat 0)
if(NOT feat_OUT MATCHES "features:[^\n]* atomic")
  message("SKIPPED: this build has no atomic views (MMAPIO_WITH_ATOMIC=OFF)")
  return()
endif()

set(f "${WORK}/counter.bin")
mmapio_run(r counter "${f}")
expect_rc(r 0)
expect_equal("${r_OUT}" "1\n" "first increment")
mmapio_run(r counter "${f}")
expect_rc(r 0)
expect_equal("${r_OUT}" "2\n" "second increment")
file(SIZE "${f}" sz)
expect_equal("${sz}" "16" "counter file size (header and value)")
file(READ "${f}" head LIMIT 8)
expect_equal("${head}" "MMAPCNT1" "counter file header")

mmapio_run(r counter "${f}" --add 40)
expect_rc(r 0)
expect_equal("${r_OUT}" "42\n" "--add 40")
mmapio_run(r counter "${f}" --get)
expect_rc(r 0)
expect_equal("${r_OUT}" "42\n" "--get")
mmapio_run(r counter "${f}" --init)
expect_rc(r 0)
expect_equal("${r_OUT}" "0\n" "--init")
mmapio_run(r counter "${f}" --init --add 7)
expect_rc(r 0)
expect_equal("${r_OUT}" "7\n" "--init --add 7")

# Eight processes started together (execute_process runs its COMMANDs
# concurrently, as a pipeline) share the counter without losing an update.
# --quiet: a process that printed into the pipe of one that already exited
# would die of SIGPIPE.
set(cmds)
foreach(i RANGE 1 8)
  list(APPEND cmds COMMAND ${EMULATOR} "${MMAPIO}" counter "${f}" --quiet)
endforeach()
execute_process(${cmds} RESULTS_VARIABLE prc OUTPUT_QUIET ERROR_VARIABLE perr TIMEOUT ${RUN_TIMEOUT})
expect_equal("${prc}" "0;0;0;0;0;0;0;0" "exit codes of the concurrent counters (${perr})")
mmapio_run(r counter "${f}" --get)
expect_rc(r 0)
expect_equal("${r_OUT}" "15\n" "7 + 8 concurrent increments")

# An existing empty file cannot hold a counter: the library's message.
file(WRITE "${WORK}/empty.bin" "")
mmapio_run(r counter "${WORK}/empty.bin")
expect_rc(r 1)
expect_contains("${r_ERR}" "mmapio counter: " "error prefix")
expect_contains("${r_ERR}" "is empty: not a counter file" "empty file")

# A foreign file is refused and left byte for byte as it was.
set(text "${WORK}/notes.txt")
file(WRITE "${text}" "Hello, this is a text file and not a counter.\n")
mmapio_run(r counter "${text}")
expect_rc(r 1)
expect_contains("${r_ERR}" "is not a counter file" "foreign file refused")
file(READ "${text}" after)
expect_equal("${after}" "Hello, this is a text file and not a counter.\n" "foreign file unchanged")
mmapio_run(r counter "${text}" --get)
expect_rc(r 1)
file(READ "${text}" after)
expect_equal("${after}" "Hello, this is a text file and not a counter.\n" "foreign file unchanged by --get")
# Sixteen bytes that start with zeros are not a blank counter either.
string(ASCII 1 one)
file(WRITE "${WORK}/bin16.bin" "")
foreach(i RANGE 1 15)
  file(APPEND "${WORK}/bin16.bin" "0")
endforeach()
file(APPEND "${WORK}/bin16.bin" "${one}")
mmapio_run(r counter "${WORK}/bin16.bin")
expect_rc(r 1)
expect_contains("${r_ERR}" "is not a counter file" "16 other bytes refused")

# Too small: an 8-byte file (also the format of mmapio 1.0) is refused.
file(WRITE "${WORK}/small.bin" "12345678")
mmapio_run(r counter "${WORK}/small.bin")
expect_rc(r 1)
expect_contains("${r_ERR}" "is 8 bytes, too small for a counter file" "too small")
file(READ "${WORK}/small.bin" after)
expect_equal("${after}" "12345678" "small file unchanged")

# --force turns a foreign file into a counter.
mmapio_run(r counter "${text}" --force --add 5)
expect_rc(r 0)
expect_equal("${r_OUT}" "5\n" "--force")
mmapio_run(r counter "${text}")
expect_rc(r 0)
expect_equal("${r_OUT}" "6\n" "counter after --force")
