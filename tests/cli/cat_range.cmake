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

# A range that ends past the file is refused before anything is written,
# also when it is longer than one streaming step (1 MiB), and the message
# names the range asked for.
set(big "${WORK}/big.bin")
string(REPEAT "0123456789abcdef" 163840 content) # 2.5 MiB
file(WRITE "${big}" "${content}")
mmapio_run(r cat "${big}" --offset 1000 --length 2621440)
expect_rc(r 1)
expect_equal("${r_OUT}" "" "cat of a long range past the end writes nothing")
expect_contains("${r_ERR}" "mmapio cat: range out of bounds: offset=1000, len=2621440, total=2621440"
                "cat long range past the end")
mmapio_run(r dump "${big}" --offset 16 --length 2621440)
expect_rc(r 1)
expect_equal("${r_OUT}" "" "dump of a long range past the end writes nothing")
expect_contains("${r_ERR}" "mmapio dump: range out of bounds: offset=16, len=2621440, total=2621440"
                "dump long range past the end")
mmapio_run(r cat "${f}" --length 18446744073709551615)
expect_rc(r 1)
expect_contains("${r_ERR}" "range out of bounds: offset=0, len=18446744073709551615, total=26"
                "cat --length UINT64_MAX")
# A long range inside the file is copied exactly.
mmapio_run(r cat "${big}" --offset 2621424 --length 16)
expect_rc(r 0)
expect_equal("${r_OUT}" "0123456789abcdef" "cat of the last 16 bytes of a long file")
