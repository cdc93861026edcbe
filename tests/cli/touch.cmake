# `mmapio touch` / `evict` report residency; a range outside the file fails.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

set(f "${WORK}/data.bin")
string(REPEAT "0123456789abcdef" 4096 content) # 64 KiB
file(WRITE "${f}" "${content}")

mmapio_run(r touch "${f}")
expect_rc(r 0)
expect_contains("${r_OUT}" "resident after touch (100.0%)" "touch loads every page")
mmapio_run(r touch "${f}" --range 4K:8K)
expect_rc(r 0)
mmapio_run(r evict "${f}")
expect_rc(r 0)
expect_contains("${r_OUT}" "resident after evict" "evict")
mmapio_run(r touch "${f}" --range 60K:8K)
expect_rc(r 1)
expect_contains("${r_ERR}" "range out of bounds" "touch past the end")

# `lock --seconds 0` pins one page, reports and releases at once (a single
# page stays within every RLIMIT_MEMLOCK default).
mmapio_run(feat info "${f}")
if(feat_OUT MATCHES "features:[^\n]* locking")
  mmapio_run(r lock "${f}" --range 0:4K --seconds 0)
  expect_rc(r 0)
  expect_contains("${r_OUT}" "released" "lock --seconds 0")
endif()
