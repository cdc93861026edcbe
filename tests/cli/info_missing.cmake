# `mmapio info` on a missing file fails with 1 and a message naming the path.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

set(f "${WORK}/does-not-exist.bin")
mmapio_run(r info "${f}")
expect_rc(r 1)
expect_contains("${r_ERR}" "mmapio info: " "error prefix")
expect_contains("${r_ERR}" "${f}" "the message names the path")

# The same file, once it exists, is described (size 5000 bytes).
string(REPEAT "x" 5000 content)
file(WRITE "${f}" "${content}")
mmapio_run(r info "${f}")
expect_rc(r 0)
expect_contains("${r_OUT}" "size:             5000 bytes" "info size")
expect_contains("${r_OUT}" "page size:" "info page size")
expect_contains("${r_OUT}" "resident:" "info residency")
expect_contains("${r_OUT}" "features:" "info features")
