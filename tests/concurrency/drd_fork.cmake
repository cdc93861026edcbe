# drd_fork.cmake -- runs a fork() test under valgrind's DRD, which follows the
# lock and condition-variable calls of the fork handlers, and fails on what it
# reports about mutexes and reader-writer locks: one initialised again while
# locked, locked by two threads at once, locked twice, unlocked by another
# thread, or left locked. (The maps' `stable` lock is a lock word of the
# library, not a pthread rwlock; the child sets it to unlocked, see
# mmapio__fork_child in src/lifetime.c.)
# (DRD's data-race reports are not checked: it does not understand the
# library's lock-free protocols. A condition variable initialised again in a
# child is expected when it recorded waiters of the parent's threads; see
# mmapio__fcond in src/internal.h.)
#
#   cmake -DVALGRIND=<valgrind> -DTEST_EXE=<test program> -P drd_fork.cmake

if(NOT VALGRIND OR NOT TEST_EXE)
  message(FATAL_ERROR "run with -DVALGRIND=<valgrind> -DTEST_EXE=<test program>")
endif()
execute_process(COMMAND "${VALGRIND}" --tool=drd "${TEST_EXE}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  TIMEOUT 600)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TEST_EXE} failed under DRD (exit ${rc})\nstdout:\n${out}\nstderr:\n${err}")
endif()
set(_mutex_reports
  "Mutex reinitialization"
  "The impossible happened"
  "Recursive locking not allowed"
  "Mutex locked recursively"
  "not locked by calling thread"
  "Mutex not locked"
  "Mutex still locked at thread exit"
  "Destroying locked mutex"
  "Reader-writer lock"
  "reader-writer lock"
  "Destroying locked rwlock"
  "Recursive writer locking")
string(REPLACE ";" "|" _re "${_mutex_reports}")
string(REGEX MATCHALL "[^\n]*(${_re})[^\n]*" hits "${err}")
if(hits)
  string(REPLACE ";" "\n" hits "${hits}")
  message(FATAL_ERROR "DRD reports about mutexes or rwlocks:\n${hits}\n\nfull stderr:\n${err}")
endif()
message(STATUS "DRD: no mutex or rwlock reports")
