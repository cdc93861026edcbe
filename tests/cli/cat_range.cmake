# `mmapio cat` prints exactly the requested bytes; out-of-range fails with 1.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

set(f "${WORK}/data.txt")
file(WRITE "${f}" "abcdefghijklmnopqrstuvwxyz")

mmapio_run(r cat "${f}" --offset 3 --length 5)
expect_rc(r 0)
expect_equal("${r_OUT}" "defgh" "cat --offset 3 --length 5")

mmapio_run(r cat "${f}" --offset=20)
expect_rc(r 0)
expect_equal("${r_OUT}" "uvwxyz" "cat --offset=20 (to the end)")

mmapio_run(r cat "${f}")
expect_rc(r 0)
expect_equal("${r_OUT}" "abcdefghijklmnopqrstuvwxyz" "cat whole file")

mmapio_run(r cat "${f}" --offset 0x18 --length 2)
expect_rc(r 0)
expect_equal("${r_OUT}" "yz" "cat hex offset")

# A leading zero is decimal, never octal.
mmapio_run(r cat "${f}" --offset 010 --length 09)
expect_rc(r 0)
expect_equal("${r_OUT}" "klmnopqrs" "cat --offset 010 --length 09 (decimal)")
mmapio_run(r cat "${f}" --offset 0x --length 1)
expect_rc(r 2)

mmapio_run(r cat "${f}" --offset 20 --length 10)
expect_rc(r 1)
expect_contains("${r_ERR}" "mmapio cat: range out of bounds: offset=20, len=10, total=26" "cat past the end")

mmapio_run(r cat "${f}" --offset 27)
expect_rc(r 1)
expect_contains("${r_ERR}" "range out of bounds" "cat offset past the end")
