/*
 * Open and create make no system call the result does not need (recorded
 * through the backend's syscall table, MMAPIO_TEST_HOOKS builds):
 *   - open_ro / open_rw / open_or_create of an existing file: open, one
 *     fstat, mmap -- no fcntl (O_NONBLOCK, which only keeps a FIFO from
 *     blocking the open, has no effect on a regular file and stays set);
 *   - a SPARSE create_rw of a new file: open(O_CREAT|O_EXCL) of the name
 *     itself, ftruncate, mmap -- no existence probe, no temporary name, no
 *     publication step, no fstat (every POSIX build);
 *   - a reserving create_rw of a new file: the failed open of the missing
 *     name, open(O_TMPFILE), fallocate, mmap, linkat(AT_EMPTY_PATH); when
 *     AT_EMPTY_PATH is refused, linkat through /proc (and only that from
 *     then on).
 * Elsewhere (portable build) only the general rules are checked: no fcntl
 * and at most one fstat per open.
 */
#include "test.h"

#if defined(MMAPIO_TEST_HOOKS) && !defined(_WIN32)

#  include "platform.h"

#  define MAXREC 64
static mmapio__sys_call REC[MAXREC];
static size_t NREC;

static void dump(const char *why)
{
  fprintf(stderr, "%s; recorded %zu calls:", why, NREC);
  for (size_t i = 0; i < NREC; i++) fprintf(stderr, " %s", REC[i].name);
  fprintf(stderr, "\n");
}

static size_t count(const char *name)
{
  size_t n = 0;
  for (size_t i = 0; i < NREC; i++) n += strcmp(REC[i].name, name) == 0;
  return n;
}

/* 1 when the recording is exactly the space-separated list `want`. */
static int exactly(const char *want)
{
  char buf[512];
  buf[0] = '\0';
  for (size_t i = 0; i < NREC; i++) {
    if (i > 0) strncat(buf, " ", sizeof buf - strlen(buf) - 1);
    strncat(buf, REC[i].name, sizeof buf - strlen(buf) - 1);
  }
  return strcmp(buf, want) == 0;
}

#  define EXPECT(cond, why)               \
    do {                                  \
      if (!(cond)) {                      \
        dump(why);                        \
        TEST_FAIL_("%s: %s", why, #cond); \
      }                                   \
    } while (0)

static void rec_start(void)
{
  mmapio__sys_reset();
  mmapio__sys_record_start();
}
static void rec_stop(void) { NREC = mmapio__sys_record_stop(REC, MAXREC); }

int main(void)
{
  char *f = mk_file("calls-existing", 10000, 5);
  char *n = test_tmp_path("calls-new");
  mmapio_map *m;
  const int linux_native =
#  if defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)
      1;
#  else
      0;
#  endif

  /* Existing files. */
  int (*opens[])(mmapio_map **, const char *) = {mmapio_open_ro, mmapio_open_rw};
  for (size_t i = 0; i < 2; i++) {
    rec_start();
    ASSERT_OK(opens[i](&m, f));
    rec_stop();
    if (NREC == 0) TEST_SKIP("the backend routes no call through the test hooks");
    EXPECT(exactly("open fstat mmap"), "open of an existing file");
    ASSERT_OK(mmapio_close(m));
  }
  rec_start();
  ASSERT_OK(mmapio_open_or_create(&m, f, 4 * KIB));
  rec_stop();
  EXPECT(exactly("open fstat mmap"), "open_or_create of an existing file");
  ASSERT_OK(mmapio_close(m));

  /* New files. */
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE;
  o.size = MIB;
  rec_start();
  ASSERT_OK(mmapio_open(&m, n, &o));
  rec_stop();
  EXPECT(count("fcntl") == 0 && count("fstat") == 0, "a new file needs no fcntl and no fstat");
  EXPECT(exactly("open ftruncate mmap"), "SPARSE create_rw of a new file");
  EXPECT(NREC > 0 && (REC[0].flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL),
         "SPARSE create_rw creates the name exclusively");
  ASSERT_OK(mmapio_close(m));
  test_unlink(n);
  rec_start();
  ASSERT_OK(mmapio_create_rw(&m, n, MIB));
  rec_stop();
  EXPECT(count("fcntl") == 0 && count("fstat") == 0, "a new file needs no fcntl and no fstat");
  if (linux_native) {
    int tmpfile = exactly("open open fallocate mmap linkat");
    int named = exactly("open open fallocate mmap renameat2");
    EXPECT(tmpfile || named, "create_rw of a new file");
  }
  ASSERT_OK(mmapio_close(m));
  test_unlink(n);
  if (linux_native && count("linkat") == 1) {
    /* The unnamed file is named with AT_EMPTY_PATH; where that is refused
     * (ENOENT: kernels before 6.10 without CAP_DAC_READ_SEARCH), through
     * /proc, and from then on through /proc directly. */
    EXPECT((REC[NREC - 1].flags & AT_EMPTY_PATH) != 0, "linkat with AT_EMPTY_PATH first");
    for (int round = 0; round < 2; round++) {
      rec_start();
      if (round == 0) mmapio__sys_fail_nth("linkat", 1, ENOENT);
      ASSERT_OK(mmapio_create_rw(&m, n, MIB));
      rec_stop();
      EXPECT(exactly(round == 0 ? "open open fallocate mmap linkat linkat" : "open open fallocate mmap linkat"),
             "a refused AT_EMPTY_PATH falls back to /proc");
      EXPECT((REC[NREC - 1].flags & AT_EMPTY_PATH) == 0, "the last linkat goes through /proc");
      ASSERT_OK(mmapio_close(m));
      ASSERT_EQ(file_len(n), (int64_t)MIB);
      test_unlink(n);
    }
  }
  mmapio__sys_reset();
  test_unlink(f);
  free(n);
  free(f);
  return 0;
}

#else
int main(void) { TEST_SKIP("needs the POSIX backend's syscall hooks (MMAPIO_TEST_HOOKS)"); }
#endif
