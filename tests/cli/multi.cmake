# Several FILE arguments and directories (like vmtouch): per-file lines, a
# summary with the elapsed time, -q, -v, -m, -i, -I, -b and -0.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(MAKE_DIRECTORY "${WORK}/tree/sub/deeper")
string(REPEAT "0123456789abcdef" 512 k8) # 8 KiB
file(WRITE "${WORK}/tree/a.bin" "${k8}")
file(WRITE "${WORK}/tree/sub/b.txt" "small")
file(WRITE "${WORK}/tree/sub/deeper/c.bin" "${k8}${k8}${k8}${k8}")
file(WRITE "${WORK}/single.bin" "${k8}")

mmapio_run(r touch "${WORK}/tree" "${WORK}/single.bin")
expect_rc(r 0)
foreach(f tree/a.bin tree/sub/b.txt tree/sub/deeper/c.bin single.bin)
  expect_contains("${r_OUT}" "${f}: " "per-file line of ${f}")
endforeach()
expect_contains("${r_OUT}" "files: 4, directories: 3" "summary counts")
expect_contains("${r_OUT}" "after touch (100.0%)" "summary residency")
expect_contains("${r_OUT}" "elapsed: " "elapsed time")

mmapio_run(r info "${WORK}/tree")
expect_rc(r 0)
expect_contains("${r_OUT}" "files: 3, directories: 3" "info on a directory")
expect_contains("${r_OUT}" "resident pages: " "info summary")

mmapio_run(r touch -q "${WORK}/tree")
expect_rc(r 0)
expect_equal("${r_OUT}" "" "-q prints nothing")

mmapio_run(r info -v "${WORK}/single.bin")
expect_rc(r 0)
expect_contains("${r_OUT}" "  [" "-v page map")

mmapio_run(r touch -m 10K "${WORK}/tree")
expect_rc(r 0)
expect_contains("${r_OUT}" "files: 2, directories: 3, size: 8.0 KiB, skipped: 1" "-m skips the big file")

mmapio_run(r touch -i "*.bin" "${WORK}/tree")
expect_rc(r 0)
expect_contains("${r_OUT}" "files: 1, directories: 3" "-i *.bin")
mmapio_run(r touch -i deeper "${WORK}/tree")
expect_rc(r 0)
expect_contains("${r_OUT}" "files: 2, directories: 2" "-i skips a directory")
mmapio_run(r touch -I "*.txt" "${WORK}/tree")
expect_rc(r 0)
expect_contains("${r_OUT}" "files: 1, directories: 3" "-I *.txt")
expect_contains("${r_OUT}" "b.txt: " "-I keeps b.txt")

file(WRITE "${WORK}/list.txt" "${WORK}/tree/a.bin\n${WORK}/single.bin\n")
mmapio_run(r touch -b "${WORK}/list.txt")
expect_rc(r 0)
expect_contains("${r_OUT}" "files: 2, directories: 0" "-b list")
# (-0 is tested in posix_files.sh: CMake strings cannot hold NUL bytes.)

mmapio_run(r evict "${WORK}/tree" "${WORK}/missing.bin")
expect_rc(r 1)
expect_contains("${r_ERR}" "missing.bin" "a missing file is reported")
# On tmpfs the pages are the files' only copy: evict refuses each file.
execute_process(COMMAND stat -f -c %T "${WORK}" OUTPUT_VARIABLE work_fs OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)
if(work_fs STREQUAL "tmpfs" OR work_fs STREQUAL "ramfs")
  expect_contains("${r_ERR}" "is on a memory file system" "tmpfs: evict says why it does nothing")
else()
  expect_contains("${r_OUT}" "files: 3, directories: 3, size: 40.0 KiB, failed: 1" "and the others are done")
endif()

mmapio_run(r touch)
expect_rc(r 2)
mmapio_run(r touch -q -v "${WORK}/single.bin")
expect_rc(r 2)

# info --range
mmapio_run(r info "${WORK}/single.bin" --range 4K:4K)
expect_rc(r 0)
expect_contains("${r_OUT}" "range:            4096 bytes at offset 4096" "info --range")
mmapio_run(r info "${WORK}/single.bin" --range 8K:1)
expect_rc(r 1)
expect_contains("${r_ERR}" "range out of bounds" "info --range past the end")

# Symbolic links inside a directory are skipped unless -f.
if(NOT WIN32 AND NOT EMULATOR)
  file(CREATE_LINK "${WORK}/single.bin" "${WORK}/tree/link.bin" SYMBOLIC RESULT lrc)
  if(lrc EQUAL 0)
    mmapio_run(r touch "${WORK}/tree")
    expect_contains("${r_OUT}" "files: 3, directories: 3, size: 40.0 KiB, skipped: 1" "link skipped")
    mmapio_run(r touch -f "${WORK}/tree")
    expect_contains("${r_OUT}" "files: 4, directories: 3" "-f follows the link")
  endif()
endif()

# A missing --dir stops at once with one line.
mmapio_run(r demo --dir "${WORK}/no-such-dir")
expect_rc(r 1)
expect_equal("${r_ERR}" "mmapio demo: --dir ${WORK}/no-such-dir: no such directory\n" "demo --dir missing")
mmapio_run(r bench --dir "${WORK}/no-such-dir" --smoke)
if(NOT r_ERR MATCHES "not built")
  expect_rc(r 1)
  expect_equal("${r_ERR}" "mmapio bench: --dir ${WORK}/no-such-dir: no such directory\n" "bench --dir missing")
endif()
# Error messages name the file, not the library's system calls.
mmapio_run(r info "${WORK}/no-such-file")
expect_rc(r 1)
# The OS's own text ends the line (Windows: "File not found.").
if(WIN32 OR EMULATOR)
  expect_contains("${r_ERR}" "mmapio info: ${WORK}/no-such-file: " "missing file message")
else()
  expect_equal("${r_ERR}" "mmapio info: ${WORK}/no-such-file: No such file or directory\n" "missing file message")
endif()
