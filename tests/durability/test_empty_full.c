/*
 * An empty map (MMAPIO_OPEN_ALLOW_EMPTY) at MMAPIO_DURABLE_FULL: a flush
 * still syncs the file, so that a shrink to length 0 is durable (the
 * recorded calls of the backend's syscall table, MMAPIO_TEST_HOOKS builds);
 * at DATA an empty map makes no call.
 */
#include "test.h"

#if defined(MMAPIO_TEST_HOOKS) && !defined(_WIN32)

#  include "platform.h"

#  define MAXREC 256
static mmapio__sys_call REC[MAXREC];

static size_t count_calls(size_t n, const char *name)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += strcmp(REC[i].name, name) == 0;
  return k;
}

static size_t flush_and_count(mmapio_map *m, const char *name)
{
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio_flush(m));
  size_t n = mmapio__sys_record_stop(REC, MAXREC);
  return count_calls(n, name);
}

int main(void)
{
  char *p = test_tmp_path("empty-full");
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_ALLOW_EMPTY;
  o.size = 8192;
  o.durability = MMAPIO_DURABLE_FULL;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_write(m, 0, "x", 1));
  ASSERT_OK(mmapio_resize(m, 0));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  if (flush_and_count(m, "fsync") != 1) TEST_FAIL_("the flush of an empty FULL map made no fsync");
  ASSERT_OK(mmapio_close(m));

  o.flags = MMAPIO_OPEN_ALLOW_EMPTY;
  o.size = 0;
  o.durability = MMAPIO_DURABLE_DATA;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_U64_EQ(flush_and_count(m, "fsync") + flush_and_count(m, "msync"), 0);
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
  return 0;
}

#else
int main(void)
{
  printf("SKIP: needs the recording syscall table of a POSIX MMAPIO_TEST_HOOKS build\n");
  return 77;
}
#endif
