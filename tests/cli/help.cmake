# `mmapio --help` lists the commands and every command has its own --help.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

mmapio_run(main --help)
expect_rc(main 0)
expect_contains("${main_OUT}" "usage: mmapio" "mmapio --help")
foreach(cmd info touch evict lock cat dump counter watch bench demo)
  expect_contains("${main_OUT}" "  ${cmd} " "mmapio --help lists ${cmd}")
  mmapio_run(sub ${cmd} --help)
  expect_rc(sub 0)
  expect_contains("${sub_OUT}" "usage: mmapio ${cmd}" "mmapio ${cmd} --help")
endforeach()

mmapio_run(ver --version)
expect_rc(ver 0)
expect_contains("${ver_OUT}" "mmapio " "mmapio --version")
