/*
 * posix_fork.c -- fork() support for the POSIX backend: registers the
 * core's handlers with pthread_atfork once, and adds the backend's own
 * state (the address-wait table of portable builds, the syscall hooks of
 * test builds) to them.
 *
 * What the handlers do, and what a child may do afterwards, is described in
 * src/lifetime.c and in the "Threads, fork, signals" section of the header.
 */
#include "posix_sys.h"

static pthread_once_t mmapio__atfork_once = PTHREAD_ONCE_INIT;

static void mmapio__posix_prepare(void)
{
  mmapio__fork_prepare();
  mmapio__posix_waits_fork(MMAPIO__FORK_PREPARE);
  mmapio__hooks_fork(MMAPIO__FORK_PREPARE);
}

static void mmapio__posix_parent(void)
{
  mmapio__hooks_fork(MMAPIO__FORK_PARENT);
  mmapio__posix_waits_fork(MMAPIO__FORK_PARENT);
  mmapio__fork_parent();
}

static void mmapio__posix_child(void)
{
  mmapio__hooks_fork(MMAPIO__FORK_CHILD);
  mmapio__posix_waits_fork(MMAPIO__FORK_CHILD);
  mmapio__fork_child();
}

static void mmapio__atfork_init(void)
{
  /* Fails only without memory for the handler record; fork() then works
   * as before this library took care of it. */
  (void)pthread_atfork(mmapio__posix_prepare, mmapio__posix_parent, mmapio__posix_child);
}

void mmapio__os_atfork_register(void) { (void)pthread_once(&mmapio__atfork_once, mmapio__atfork_init); }
