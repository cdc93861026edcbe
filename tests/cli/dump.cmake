# `mmapio dump` prints the hexdump -C format, with '*' for repeated lines.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

set(f "${WORK}/data.txt")
string(REPEAT "A" 48 as)
file(WRITE "${f}" "Hello, mmapio!\n${as}xyz")

mmapio_run(r dump "${f}")
expect_rc(r 0)
set(want
"00000000  48 65 6c 6c 6f 2c 20 6d  6d 61 70 69 6f 21 0a 41  |Hello, mmapio!.A|
00000010  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|
*
00000030  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 78  |AAAAAAAAAAAAAAAx|
00000040  79 7a                                             |yz|
00000042
")
expect_equal("${r_OUT}" "${want}" "dump whole file")

mmapio_run(r dump "${f}" --offset 7 --length 7)
expect_rc(r 0)
set(want
"00000007  6d 6d 61 70 69 6f 21                              |mmapio!|
0000000e
")
expect_equal("${r_OUT}" "${want}" "dump of a range")
