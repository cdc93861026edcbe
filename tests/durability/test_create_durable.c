/*
 * A file created at MMAPIO_DURABLE_FULL keeps its name after a power cut:
 * its directory is fsynced once, after the name is published (the recorded
 * calls of the backend's syscall table, MMAPIO_TEST_HOOKS builds). Checked
 * for create_rw-style CREATE|TRUNCATE, open_or_create-style CREATE and
 * CREATE|EXCLUSIVE, and for a TRUNCATE in place (the name may be new from
 * someone else); never at DATA or NONE, never when an existing file is
 * just opened, and the
 * first FULL flush after such a create syncs the file, not the directory
 * again.
 */
#include "test.h"

#if defined(MMAPIO_TEST_HOOKS) && !defined(_WIN32)

#  include "platform.h"

#  define MAXREC 256
static mmapio__sys_call REC[MAXREC];
static size_t NREC;

static void dump(const char *why)
{
  fprintf(stderr, "%s; recorded %zu calls:\n", why, NREC);
  for (size_t i = 0; i < NREC; i++) fprintf(stderr, "  %s(flags=%#x)\n", REC[i].name, (unsigned)REC[i].flags);
}

static size_t count(const char *name)
{
  size_t n = 0;
  for (size_t i = 0; i < NREC; i++) n += strcmp(REC[i].name, name) == 0;
  return n;
}

/* Index of the last call that gave the file its name, or -1. */
static long last_publish(void)
{
  long k = -1;
  for (size_t i = 0; i < NREC; i++)
    if (strcmp(REC[i].name, "linkat") == 0 || strcmp(REC[i].name, "renameat2") == 0 ||
        strcmp(REC[i].name, "link") == 0 || strcmp(REC[i].name, "rename") == 0)
      k = (long)i;
  return k;
}

static long first_of(const char *name)
{
  for (size_t i = 0; i < NREC; i++)
    if (strcmp(REC[i].name, name) == 0) return (long)i;
  return -1;
}

#  define EXPECT(cond, why)               \
    do {                                  \
      if (!(cond)) {                      \
        dump(why);                        \
        TEST_FAIL_("%s: %s", why, #cond); \
      }                                   \
    } while (0)

static mmapio_map *open_rec(const char *p, uint32_t flags, mmapio_durability d)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = flags;
  o.size = 3 * KIB;
  o.durability = d;
  mmapio_map *m = NULL;
  mmapio__sys_reset();
  mmapio__sys_record_start();
  int st = mmapio_open(&m, p, &o);
  NREC = mmapio__sys_record_stop(REC, MAXREC);
  ASSERT_OK(st);
  return m;
}

int main(void)
{
  char *p = test_tmp_path("durable-create");
  const uint32_t creates[] = {MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE,
                              MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE,
                              MMAPIO_OPEN_CREATE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE};
  for (size_t i = 0; i < sizeof creates / sizeof creates[0]; i++) {
    test_unlink(p);
    mmapio_map *m = open_rec(p, creates[i], MMAPIO_DURABLE_FULL);
    if (count("open") == 0) {
      ASSERT_OK(mmapio_close(m));
      test_unlink(p);
      free(p);
      TEST_SKIP("the backend routes no call through the test hooks");
    }
    /* SPARSE|TRUNCATE creates the name itself (the first open), sized next. */
    const uint32_t direct = MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE;
    long pub = (creates[i] & direct) == direct ? first_of("ftruncate") : last_publish();
    EXPECT(count("fsync_dir") == 1, "a FULL create syncs the directory once");
    EXPECT(pub >= 0, "the create publishes the name");
    EXPECT(first_of("fsync_dir") > pub, "the directory is synced after the name exists");
    /* The first FULL flush: the file's data and metadata, not the directory again. */
    ASSERT_OK(mmapio_write(m, 10, "abc", 3));
    mmapio__sys_reset();
    mmapio__sys_record_start();
    ASSERT_OK(mmapio_flush(m));
    NREC = mmapio__sys_record_stop(REC, MAXREC);
    EXPECT(count("fsync") == 1 && count("fsync_dir") == 0, "a FULL flush syncs the file");
    ASSERT_OK(mmapio_close(m));

    /* DATA and NONE promise nothing about the name. */
    test_unlink(p);
    m = open_rec(p, creates[i], MMAPIO_DURABLE_DATA);
    EXPECT(count("fsync_dir") == 0, "a DATA create does not sync the directory");
    ASSERT_OK(mmapio_close(m));
    test_unlink(p);
    m = open_rec(p, creates[i], MMAPIO_DURABLE_NONE);
    EXPECT(count("fsync_dir") == 0, "a NONE create does not sync the directory");
    ASSERT_OK(mmapio_close(m));
  }
  /* An existing file: opened or truncated in place, its name is durable already. */
  mmapio_map *m = open_rec(p, MMAPIO_OPEN_CREATE, MMAPIO_DURABLE_FULL);
  EXPECT(count("fsync_dir") == 0, "opening an existing file does not sync the directory");
  ASSERT_OK(mmapio_close(m));
  m = open_rec(p, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, MMAPIO_DURABLE_FULL);
  EXPECT(count("fsync_dir") == 1, "a FULL TRUNCATE syncs the directory once");
  EXPECT(last_publish() < 0, "truncating in place keeps the file (no new name)");
  EXPECT(first_of("fsync_dir") > first_of("ftruncate"), "after the truncation");
  ASSERT_OK(mmapio_close(m));
  m = open_rec(p, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, MMAPIO_DURABLE_DATA);
  EXPECT(count("fsync_dir") == 0, "a DATA TRUNCATE does not sync the directory");
  ASSERT_OK(mmapio_close(m));
  mmapio__sys_reset();
  test_unlink(p);
  free(p);
  return 0;
}

#else
int main(void) { TEST_SKIP("needs the POSIX backend's syscall hooks (MMAPIO_TEST_HOOKS)"); }
#endif
