/*
 * hooks.h -- the one engine behind platform.h's "Test hooks": it counts,
 * records and fails (fault injection) the OS calls of either backend.
 *
 * Each backend calls mmapio__hook_call() before every OS call it routes
 * through its table (src/posix/posix_sys.h, src/win/win.h) and, when that
 * returns 1, fails the call with *err without calling the OS. The engine
 * exists only in builds with MMAPIO_TEST_HOOKS; elsewhere MMAPIO__HOOKS is 0,
 * the backends call the OS directly and the platform.h functions
 * (mmapio__sys_reset, ...) are no-ops.
 */
#ifndef MMAPIO_HOOKS_H
#define MMAPIO_HOOKS_H

#include <stdint.h>

/* MMAPIO__HOOKS is 1 in a build with MMAPIO_TEST_HOOKS (the public macro is
 * left untouched for files that test it with #ifdef). */
#if defined(MMAPIO_TEST_HOOKS) && (MMAPIO_TEST_HOOKS + 0) != 0
#  define MMAPIO__HOOKS 1
#else
#  define MMAPIO__HOOKS 0
#endif

#if MMAPIO__HOOKS
/* Count the call `name` (a static string, the OS function's name) and
 * record it with a, b, flags while recording is on. Returns 1 when the call
 * must fail, with *err set to the OS error a test asked for (0 when it asked
 * for none: the backend then uses its generic I/O error, EIO or
 * ERROR_GEN_FAILURE); else 0. Thread-safe. */
int mmapio__hook_call(const char *name, uint64_t a, uint64_t b, int flags, int *err);
#endif

/* fork(): keep the hook engine's mutex consistent (MMAPIO__FORK_* phase);
 * a no-op without hooks. */
void mmapio__hooks_fork(int phase);

#endif /* MMAPIO_HOOKS_H */
