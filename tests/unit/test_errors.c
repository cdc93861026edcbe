/*
 * Status codes, mmapio_strerror, and the per-thread detail message and OS
 * code (include/mmapio.h section 2).
 */
#include "test.h"

#include <limits.h>

static void check_pinned_values(void)
{
  /* Values are pinned forever; a renumbering would break every binary. */
  ASSERT_EQ(MMAPIO_OK, 0);
  ASSERT_EQ(MMAPIO_EINVAL, -1);
  ASSERT_EQ(MMAPIO_EBOUNDS, -2);
  ASSERT_EQ(MMAPIO_EMODE, -3);
  ASSERT_EQ(MMAPIO_EALIGN, -4);
  ASSERT_EQ(MMAPIO_ESIZE, -5);
  ASSERT_EQ(MMAPIO_EBUSY, -6);
  ASSERT_EQ(MMAPIO_EDEADLK, -7);
  ASSERT_EQ(MMAPIO_ENOENT, -8);
  ASSERT_EQ(MMAPIO_EEXIST, -9);
  ASSERT_EQ(MMAPIO_EACCES, -10);
  ASSERT_EQ(MMAPIO_ENOSPC, -11);
  ASSERT_EQ(MMAPIO_ENOMEM, -12);
  ASSERT_EQ(MMAPIO_EIO, -13);
  ASSERT_EQ(MMAPIO_EFAULT, -14);
  ASSERT_EQ(MMAPIO_ENOTSUP, -15);
  ASSERT_EQ(MMAPIO_EVERSION, -16);
  ASSERT_EQ(MMAPIO_EAGAIN, -17);
  ASSERT_EQ(MMAPIO_ETIMEDOUT, -18);
}

static void check_strerror(void)
{
  const char *unknown = mmapio_strerror(-19);
  ASSERT(unknown != NULL && unknown[0] != '\0');
  const int odd[] = {1, 2, -19, -1000, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    const char *s = mmapio_strerror(odd[i]);
    ASSERT(s != NULL);
    ASSERT_STREQ(s, unknown);
  }
  /* Every known code has its own non-empty text, different from "unknown". */
  for (int a = 0; a >= -18; a--) {
    const char *s = mmapio_strerror(a);
    ASSERT(s != NULL && s[0] != '\0');
    if (strcmp(s, unknown) == 0) TEST_FAIL_("status %d has the unknown-status text \"%s\"", a, s);
    for (int b = a - 1; b >= -18; b--)
      if (strcmp(s, mmapio_strerror(b)) == 0)
        TEST_FAIL_("statuses %d and %d share the text \"%s\"", a, b, s);
  }
  /* Static text: the same pointer content on every call. */
  ASSERT_STREQ(mmapio_strerror(MMAPIO_EBOUNDS), mmapio_strerror(MMAPIO_EBOUNDS));
}

/* ---- per-thread detail ---------------------------------------------------- */

typedef struct ctx {
  const char *path;
  char seen_initial[256];
  int initial_os;
  char seen_after[256];
} ctx;

static void *thread_body(void *p)
{
  ctx *c = (ctx *)p;
  snprintf(c->seen_initial, sizeof c->seen_initial, "%s", mmapio_last_error());
  c->initial_os = mmapio_last_os_error();
  mmapio_map *m = BAD_MAP;
  /* A failure of this thread's own: an EBOUNDS-free, OS-free ESIZE. */
  THREAD_CHECK(mmapio_create_rw(&m, c->path, 0) == MMAPIO_ESIZE);
  THREAD_CHECK(m == NULL);
  snprintf(c->seen_after, sizeof c->seen_after, "%s", mmapio_last_error());
  return NULL;
}

static void check_per_thread(void)
{
  /* Nothing has failed yet in this process. */
  ASSERT_STREQ(mmapio_last_error(), "");
  ASSERT_EQ(mmapio_last_os_error(), 0);

  char *missing = test_tmp_path("errors-missing");
  mmapio_map *m = BAD_MAP;
  ASSERT_STATUS(mmapio_open_ro(&m, missing), MMAPIO_ENOENT);
  ASSERT(m == NULL);
  char mine[512];
  snprintf(mine, sizeof mine, "%s", mmapio_last_error());
  /* OS failures: "<call>(<path>): <OS text>" with the OS code. */
  char want[600];
  snprintf(want, sizeof want, "(%s): ", missing);
  if (strstr(mine, want) == NULL) TEST_FAIL_("ENOENT detail \"%s\" lacks \"%s\"", mine, want);
  ASSERT(mine[0] != '(');
#ifndef _WIN32
  ASSERT_EQ(mmapio_last_os_error(), ENOENT);
  const char *tail = strerror(ENOENT);
  size_t ml = strlen(mine), tl = strlen(tail);
  if (ml < tl || strcmp(mine + ml - tl, tail) != 0)
    TEST_FAIL_("detail \"%s\" does not end with \"%s\"", mine, tail);
#else
  ASSERT(mmapio_last_os_error() != 0);
#endif

  /* Another thread starts clean and its failure does not touch ours. */
  ctx c;
  memset(&c, 0, sizeof c);
  c.path = missing;
  test_thread t;
  thread_start(&t, thread_body, &c);
  ASSERT(thread_join(&t) == NULL);
  ASSERT_STREQ(c.seen_initial, "");
  ASSERT_EQ(c.initial_os, 0);
  ASSERT_STREQ(c.seen_after, MSG_SIZE_ZERO);
  ASSERT_STREQ(mmapio_last_error(), mine);

  /* A successful call does not clear the message. */
  char *f = mk_file("errors-ok", 100, 1);
  ASSERT_OK(mmapio_open_ro(&m, f));
  ASSERT_STREQ(mmapio_last_error(), mine);
  ASSERT_OK(mmapio_close(m));
  ASSERT_STREQ(mmapio_last_error(), mine);

  /* A non-OS failure replaces the message and reports OS code 0. */
  ASSERT_ERR(mmapio_create_rw(&m, missing, 0), MMAPIO_ESIZE, MSG_SIZE_ZERO);
  ASSERT_EQ(mmapio_last_os_error(), 0);
  ASSERT(!file_exists(missing));

  test_unlink(f);
  free(f);
  free(missing);
}

int main(void)
{
  check_pinned_values();
  check_per_thread(); /* first: it checks the initial "" */
  check_strerror();
  return 0;
}
