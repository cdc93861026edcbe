/*
 * test_failure_fds.c -- a failing call leaves no descriptor open and no
 * file behind, and an existing file it must not change stays as it was
 * (POSIX backend). Two ways to make the calls fail:
 *   - every OS call the syscall table routes (platform.h "Test hooks")
 *     fails in turn, with EIO, ENOSPC, ENOMEM and EACCES; close() itself is
 *     left out, since an injected close fails without closing while a real
 *     one releases the descriptor anyway;
 *   - the descriptor limit (RLIMIT_NOFILE) lets the call open 0, 1, 2, ...
 *     descriptors before EMFILE, which also reaches the calls the table
 *     does not route (eventfd, inotify_init1, shm_open, memfd_create, dup).
 * Descriptors are counted in /proc/self/fd (Linux), files in a directory
 * of the test's own. tests/inject/test_inject.c checks statuses and maps.
 */
#include "internal.h"
#include "test.h"

#if !defined(MMAPIO_TEST_HOOKS) || defined(_WIN32) || !defined(__linux__)
int main(void) { TEST_SKIP("needs /proc/self/fd and the POSIX backend's syscall table"); }
#else

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir, *src, *dst, *fresh;
static size_t ps;
static uint8_t *src_data, *dst_data;
static size_t src_len, dst_len;
static mmapio_map *m;       /* what an op opened */
static mmapio_map *held;    /* the map an op works on (resize, watch) */
static mmapio_watch *w;
static int user_fd = -1;    /* the descriptor mmapio_open_fd duplicates */

/* Names in the test directory; `clear` removes them. */
static int dir_entries(int clear)
{
  DIR *d = opendir(dir);
  ASSERT(d != NULL);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    n++;
    if (clear) {
      char *p = test_path_in(dir, e->d_name);
      test_unlink(p);
      free(p);
    }
  }
  closedir(d);
  return n;
}

static int dst_intact(void)
{
  size_t n = 0;
  uint8_t *p = (uint8_t *)test_read_file(dst, &n);
  int ok = p != NULL && n == dst_len && memcmp(p, dst_data, n) == 0;
  free(p);
  return ok;
}

static void nop_cb(const mmapio_change *c, void *payload) { (void)c; (void)payload; }

static int op_copy_new(void) { return mmapio_copy_file(src, fresh); }
static int op_copy_over(void) { return mmapio_copy_file(src, dst); }
static int op_create(void) { return mmapio_create_rw(&m, fresh, 3 * ps); }
static int op_create_full(void)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE;
  o.size = 3 * ps;
  o.durability = MMAPIO_DURABLE_FULL;
  return mmapio_open(&m, fresh, &o);
}
static int op_truncate(void) { return mmapio_create_rw(&m, dst, 2 * ps); }
static int op_open_rw(void) { return mmapio_open_rw(&m, dst); }
static int op_open_ro(void) { return mmapio_open_ro(&m, dst); }
static int op_open_extras(void)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_FAULT_SAFE;
  o.touch = MMAPIO_TOUCH_EAGER;
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_MILLIS;
  o.flush_policy.every = 60000;
  return mmapio_open(&m, dst, &o);
}
static int op_open_fd(void)
{
  user_fd = open(dst, O_RDWR | O_CLOEXEC);
  if (user_fd < 0) return MMAPIO_EIO;
  return mmapio_open_fd(&m, user_fd, MMAPIO_MODE_READ_WRITE, dst);
}
static int op_anon_fd(void) { return mmapio_anon(&m, 4 * ps, MMAPIO_ANON_FD); }
static int op_shm(void)
{
  char name[64];
  snprintf(name, sizeof name, "mmapio-failfds-%d", (int)getpid());
  int rc = mmapio_shm_open(&m, name, 2 * ps, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE);
  if (rc == MMAPIO_OK) (void)mmapio_shm_remove(name);
  return rc;
}
static int op_write_file(void) { return mmapio_write_file(dst, 1, "xyz", 3); }
static int op_watch(void) { return mmapio_watch_start(&w, held, nop_cb, NULL); }
static int op_grow(void) { return mmapio_resize(held, 9 * ps); }
static int op_shrink(void) { return mmapio_resize(held, ps); }

typedef struct op {
  const char *name;
  int (*fn)(void);
  int needs_map;   /* works on `held` (dst opened read-write) */
  int keeps_dst;   /* a failure leaves dst unchanged */
  int makes_name;  /* success adds `fresh` */
} op;

static const op ops[] = {
  {"copy_file(new)", op_copy_new, 0, 1, 1},
  {"copy_file(over)", op_copy_over, 0, 1, 0},
  {"create_rw(new)", op_create, 0, 1, 1},
  {"open(CREATE, DURABLE_FULL)", op_create_full, 0, 1, 1},
  {"create_rw(truncate)", op_truncate, 0, 0, 0}, /* test_inject: changes only at the end */
  {"open_rw", op_open_rw, 0, 1, 0},
  {"open_ro", op_open_ro, 0, 1, 0},
  {"open(FAULT_SAFE, EAGER, EVERY_MILLIS)", op_open_extras, 0, 1, 0},
  {"open_fd", op_open_fd, 0, 1, 0},
  {"anon(FD)", op_anon_fd, 0, 1, 0},
  {"shm_open(CREATE)", op_shm, 0, 1, 0},
  {"write_file", op_write_file, 0, 0, 0},
  {"watch_start", op_watch, 1, 1, 0},
  {"resize(grow)", op_grow, 1, 0, 0},
  {"resize(shrink)", op_shrink, 1, 0, 0},
};
#define NOPS (sizeof ops / sizeof ops[0])

static void setup(const op *d)
{
  dir_entries(1);
  ASSERT_EQ(test_write_file(src, src_data, src_len), 0);
  ASSERT_EQ(test_write_file(dst, dst_data, dst_len), 0);
  if (d->needs_map) ASSERT_OK(mmapio_open_rw(&held, dst));
}

static void teardown(void)
{
  if (w != NULL) mmapio_watch_stop(w);
  w = NULL;
  if (m != NULL) ASSERT_OK(mmapio_close(m));
  m = NULL;
  if (held != NULL) ASSERT_OK(mmapio_close(held));
  held = NULL;
  if (user_fd >= 0) close(user_fd);
  user_fd = -1;
}

/* After the op failed with `rc` (or succeeded) and teardown: nothing left
 * open, no stray name, dst as it was where it must be. */
static void check(const op *d, int rc, int fds0, int names0, const char *what)
{
  char detail[600];
  snprintf(detail, sizeof detail, "%s", mmapio_last_error());
  if (rc != MMAPIO_OK && (m != NULL || w != NULL))
    TEST_FAIL_("%s, %s: failed (%d) but set its out-parameter", d->name, what, rc);
  teardown();
  int fds1 = test_count_fds();
  if (fds1 != fds0)
    TEST_FAIL_("%s, %s: status %d, %d descriptor(s) before, %d after [%s]", d->name, what, rc,
               fds0, fds1, detail);
  int want = names0 + (rc == MMAPIO_OK && d->makes_name ? 1 : 0);
  int names1 = dir_entries(0);
  if (names1 != want)
    TEST_FAIL_("%s, %s: status %d, %d name(s) in the directory, want %d [%s]", d->name, what, rc,
               names1, want, detail);
  if (rc != MMAPIO_OK && d->keeps_dst && !dst_intact())
    TEST_FAIL_("%s, %s: failed (%d) but changed the existing file [%s]", d->name, what, rc, detail);
}

int main(void)
{
  ps = mmapio_page_size();
  dir = test_tmp_path("failfds");
  ASSERT_EQ(mkdir(dir, 0700), 0);
  src = test_path_in(dir, "src");
  dst = test_path_in(dir, "dst");
  fresh = test_path_in(dir, "fresh");
  src_len = 3 * ps + 7;
  dst_len = 4 * ps + 100;
  src_data = (uint8_t *)malloc(src_len);
  dst_data = (uint8_t *)malloc(dst_len);
  ASSERT(src_data != NULL && dst_data != NULL);
  for (size_t i = 0; i < src_len; i++) src_data[i] = (uint8_t)(i * 7u + 1u);
  for (size_t i = 0; i < dst_len; i++) dst_data[i] = (uint8_t)(i * 13u + 5u);
  if (test_count_fds() < 0) TEST_SKIP("/proc/self/fd is not readable");

  static const int errs[] = {EIO, ENOSPC, ENOMEM, EACCES};
  unsigned cases = 0;
  mmapio__sys_call *rec = (mmapio__sys_call *)calloc(256, sizeof *rec);
  ASSERT(rec != NULL);

  /* 1. The descriptor limit first, while the table of descriptors has no
   * holes (the k-th new descriptor is refused). Valgrind applies the limit
   * after the call, so there an open(O_CREAT) that made the file can still
   * answer EMFILE: this part is left out under it. */
  const char *preload = getenv("LD_PRELOAD");
  int valgrind = preload != NULL && strstr(preload, "vgpreload") != NULL;
  if (valgrind) printf("note: under valgrind, the descriptor limit part is left out\n");
  for (size_t o = 0; o < NOPS && !valgrind; o++) {
    const op *d = &ops[o];
    for (int k = 0; k < 8; k++) {
      setup(d);
      int fds0 = test_count_fds() - (d->needs_map ? 1 : 0), names0 = dir_entries(0);
      int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
      ASSERT(lowest >= 0);
      close(lowest);
      struct rlimit old, lim;
      ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
      lim = old;
      lim.rlim_cur = (rlim_t)(lowest + k);
      ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
      int rc = d->fn();
      ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
      char what[64];
      snprintf(what, sizeof what, "descriptor limit +%d", k);
      check(d, rc, fds0, names0, what);
      cases++;
      if (rc == MMAPIO_OK || rc == MMAPIO_ENOTSUP) break;
    }
  }

  /* 2. Every routed call but close, failing in turn. */
  for (size_t o = 0; o < NOPS; o++) {
    const op *d = &ops[o];
    setup(d);
    mmapio__sys_reset();
    mmapio__sys_record_start();
    int rc = d->fn();
    size_t n = mmapio__sys_record_stop(rec, 256);
    mmapio__sys_reset();
    teardown();
    if (rc == MMAPIO_ENOTSUP) continue; /* anon(FD) without memfd_create */
    if (rc != MMAPIO_OK) TEST_FAIL_("%s fails without injection: %d", d->name, rc);
    for (size_t k = 1; k <= n; k++) {
      if (strcmp(rec[k - 1].name, "close") == 0) continue;
      for (size_t e = 0; e < sizeof errs / sizeof errs[0]; e++) {
        setup(d);
        int fds0 = test_count_fds() - (d->needs_map ? 1 : 0), names0 = dir_entries(0);
        mmapio__sys_reset();
        mmapio__sys_fail_nth(NULL, (unsigned)k, errs[e]);
        rc = d->fn();
        mmapio__sys_reset();
        char what[96];
        snprintf(what, sizeof what, "call %zu (%s) failing with errno %d", k, rec[k - 1].name, errs[e]);
        check(d, rc, fds0, names0, what);
        cases++;
      }
    }
  }

  dir_entries(1);
  rmdir(dir);
  free(rec);
  free(src_data);
  free(dst_data);
  free(src);
  free(dst);
  free(fresh);
  free(dir);
  printf("failure_fds: %u cases, nothing left behind\n", cases);
  return 0;
}
#endif
