/*
 * test_chain.c -- the fault handler is a good neighbour. Once installed (a
 * map opened with MMAPIO_OPEN_FAULT_SAFE), faults that are not ours behave
 * exactly as before:
 *   1. a NULL dereference elsewhere still kills the process with SIGSEGV;
 *   2. a handler the application installed before us still receives its
 *      SIGSEGV and SIGBUS (with siginfo), also from a thread that is not in
 *      a guarded copy;
 *   3. a fault on the caller's side of a guarded copy (a bad user buffer) is
 *      not swallowed: the process dies with SIGSEGV;
 *   4. SIGSEGV sent with kill() is not swallowed either;
 *   5. after many recovered faults the process still dies of an unrelated
 *      NULL dereference (the signal was unblocked after each recovery).
 * Each case runs in a child process; the parent checks how it ended.
 */
#include "internal.h"
#include "test.h"

#ifdef _WIN32
int main(void) { TEST_SKIP("POSIX signal chaining test"); }
#else

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char *path;
static size_t page;

/* Open the fixture with FAULT_SAFE (installs the handler) and use it. */
static mmapio_map *open_safe(void)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_FAULT_SAFE;
  mmapio_map *m = NULL;
  if (mmapio_open(&m, path, &o) != MMAPIO_OK) _exit(90);
  uint8_t b[8];
  if (mmapio_read(m, 0, b, sizeof b) != MMAPIO_OK) _exit(91);
  return m;
}

static volatile int *volatile null_ptr;

/* UBSan would stop at the NULL store itself; the test wants the real fault. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("null")))
#endif
static void die_by_null(void)
{
  *null_ptr = 1; /* SIGSEGV at address 0 */
}

static void app_segv(int sig, siginfo_t *info, void *u)
{
  (void)u;
  _exit(sig == SIGSEGV && info != NULL && info->si_addr == NULL ? 42 : 40);
}

static void app_bus(int sig) { _exit(sig == SIGBUS ? 43 : 41); }

static void install_app_handlers(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = app_segv;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0) _exit(92);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = app_bus;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, NULL) != 0) _exit(92);
}

typedef void (*child_fn)(void);

static int call_child(void *fn)
{
  (*(child_fn *)fn)();
  return 0;
}

/* The wait status of a child that ran fn (and exited 0 if it returned).
 * Under a sanitizer its handler was installed before ours; chained to, it
 * reports a crash and exits non-zero instead of re-raising, which
 * test_child_killed_by accepts. */
static int run_child(child_fn fn) { return test_fork_call(call_child, &fn); }

static void expect_exit(int st, int code, const char *what)
{
  if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
    TEST_FAIL_("%s: child status 0x%x, want exit %d", what, st, code);
}

/* 1 */
static void child_null(void)
{
  mmapio_map *m = open_safe();
  (void)m;
  die_by_null();
}

/* 2a: application SIGSEGV handler (SA_SIGINFO) installed before us. */
static void child_app_segv(void)
{
  install_app_handlers();
  mmapio_map *m = open_safe();
  (void)m;
  die_by_null();
}

/* 2b: application SIGBUS handler (plain) gets a SIGBUS of a map that is
 * not fault-safe, from another thread than the one that installed us. */
static mmapio_map *plain_map;
static void bus_thread(void *arg)
{
  (void)arg;
  uint8_t b[4];
  (void)mmapio_read(plain_map, 2 * page, b, sizeof b); /* past EOF: SIGBUS */
}
static void child_app_bus(void)
{
  install_app_handlers();
  mmapio_map *m = open_safe();
  (void)m;
  if (mmapio_open_ro(&plain_map, path) != MMAPIO_OK) _exit(93);
  if (truncate(path, (off_t)page) != 0) _exit(94);
  mmapio__thread t;
  if (mmapio__thread_start(&t, bus_thread, NULL) != MMAPIO_OK) _exit(95);
  mmapio__thread_join(&t);
}

/* 3: the user buffer is bad, the mapped side is fine. */
static void child_bad_user_buffer(void)
{
  mmapio_map *m = open_safe();
  void *bad = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (bad == MAP_FAILED) _exit(96);
  (void)mmapio_read(m, 0, bad, 16);
}

/* 4 */
static void child_kill(void)
{
  mmapio_map *m = open_safe();
  (void)m;
  kill(getpid(), SIGSEGV);
  /* Delivered on return from kill at the latest. */
  _exit(97);
}

/* 5 */
static void child_after_recoveries(void)
{
  mmapio_map *m = open_safe();
  if (truncate(path, (off_t)page) != 0) _exit(94);
  uint8_t b[64];
  for (int i = 0; i < 1000; i++)
    if (mmapio_read(m, 2 * page, b, sizeof b) != MMAPIO_EFAULT) _exit(98);
  die_by_null();
}

static void reset_fixture(void)
{
  size_t n = 4 * page;
  uint8_t *d = (uint8_t *)calloc(1, n);
  ASSERT(d != NULL);
  ASSERT_EQ(test_write_file(path, d, n), 0);
  free(d);
}

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE))
    TEST_SKIP("the FAULT_SAFE feature is compiled out");
  TEST_SKIP_IF_SIGBUS_ADDR_WRONG();
  page = mmapio_page_size();
  path = test_tmp_path("chain");

  reset_fixture();
  test_child_killed_by(run_child(child_null), SIGSEGV, "NULL dereference after install");
  expect_exit(run_child(child_app_segv), 42, "application SIGSEGV handler (siginfo)");
  expect_exit(run_child(child_app_bus), 43, "application SIGBUS handler, other thread");
  reset_fixture();
  test_child_killed_by(run_child(child_bad_user_buffer), SIGSEGV, "fault on the user buffer");
  test_child_killed_by(run_child(child_kill), SIGSEGV, "SIGSEGV sent by kill");
  reset_fixture();
  test_child_killed_by(run_child(child_after_recoveries), SIGSEGV, "NULL dereference after 1000 recoveries");

  test_unlink(path);
  free(path);
  printf("chain: foreign faults reach the previous handler\n");
  return 0;
}
#endif
