/*
 * mmapio_open_or_create (include/mmapio.h section 4): keeps an existing file's length
 * and content, creates a missing one with the default size, refuses an
 * existing empty file, checks default_size only when creating, and has no
 * race between the existence test and the open.
 */
#include "test.h"

#define NTHREADS 8

typedef struct race {
  const char *path;
  volatile int go;
  int status[NTHREADS];
  mmapio_map *map[NTHREADS];
  char msg[NTHREADS][256];
} race;

typedef struct race_arg { race *r; int i; } race_arg;

static void *racer(void *p)
{
  race_arg *a = (race_arg *)p;
  while (!__atomic_load_n(&a->r->go, __ATOMIC_ACQUIRE)) {}
  a->r->status[a->i] = mmapio_open_or_create(&a->r->map[a->i], a->r->path, 3 * 4096);
  snprintf(a->r->msg[a->i], sizeof a->r->msg[a->i], "%s", mmapio_last_error());
  return NULL;
}

int main(void)
{
  size_t ps = mmapio_page_size();
  mmapio_map *m = BAD_MAP;
  char *p = test_tmp_path("ooc");

  /* Missing: created with default_size zero bytes, READ_WRITE. */
  ASSERT_OK(mmapio_open_or_create(&m, p, 2 * ps + 5));
  ASSERT_U64_EQ(mmapio_len(m), 2 * ps + 5);
  ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_WRITE);
  ASSERT_EQ(file_len(p), (int64_t)(2 * ps + 5));
  ASSERT(all_bytes(mmapio_unsafe_ptr(m), 2 * ps + 5, 0));
  uint8_t buf[100];
  pat_fill(buf, sizeof buf, 0, 11);
  ASSERT_OK(mmapio_write(m, ps, buf, sizeof buf));
  ASSERT_OK(mmapio_close(m));

  /* Existing: length and content kept, whatever default_size says. */
  const uint64_t defaults[] = {1, 10 * ps, 0, MMAPIO_MAX_SIZE + 1, UINT64_MAX};
  for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
    file_snap s = snap_take(p);
    ASSERT_OK(mmapio_open_or_create(&m, p, defaults[i]));
    ASSERT_U64_EQ(mmapio_len(m), 2 * ps + 5);
    ASSERT_MEMEQ((uint8_t *)mmapio_unsafe_ptr(m) + ps, buf, sizeof buf);
    ASSERT_OK(mmapio_close(m));
    ASSERT_SNAP_SAME(p, s);
    snap_free(&s);
  }
  test_unlink(p);

  /* Missing with a bad default size: ESIZE with the exact message, no file. */
  m = BAD_MAP;
  ASSERT_ERR(mmapio_open_or_create(&m, p, 0), MMAPIO_ESIZE, MSG_SIZE_ZERO);
  ASSERT(m == NULL);
  ASSERT(!file_exists(p));
  ASSERT_ERR(mmapio_open_or_create(&m, p, MMAPIO_MAX_SIZE + 1), MMAPIO_ESIZE,
             size_max_msg(MMAPIO_MAX_SIZE + 1));
  ASSERT(!file_exists(p));
  ASSERT_ERR(mmapio_open_or_create(&m, p, UINT64_MAX), MMAPIO_ESIZE, size_max_msg(UINT64_MAX));
  ASSERT(!file_exists(p));

  /* Existing empty file: ESIZE, and it stays empty. */
  ASSERT(test_write_file(p, "", 0) == 0);
  m = BAD_MAP;
  ASSERT_ERR(mmapio_open_or_create(&m, p, 100), MMAPIO_ESIZE, MSG_ZERO_FILE);
  ASSERT(m == NULL);
  ASSERT_EQ(file_len(p), 0);
  test_unlink(p);

  /* NULL arguments. */
  ASSERT_STATUS(mmapio_open_or_create(NULL, p, 100), MMAPIO_EINVAL);
  ASSERT(!file_exists(p));
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_open_or_create(&m, NULL, 100), MMAPIO_EINVAL);
  ASSERT(m == NULL);

  /* A missing directory component: ENOENT naming the path. */
  {
    char *dir = test_tmp_path("ooc-nodir");
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/x.bin", dir);
    ASSERT_ERR_HAS(mmapio_open_or_create(&m, sub, 100), MMAPIO_ENOENT, sub);
    ASSERT(!file_exists(dir));
    free(dir);
  }

  /* Race: many threads open_or_create the same missing path at once. Every
   * one must succeed on the same file (never ESIZE from seeing the file
   * between create and size-set, never EEXIST), and its size must be the
   * default. */
  for (int round = 0; round < 20; round++) {
    race r;
    race_arg args[NTHREADS];
    test_thread t[NTHREADS];
    memset(&r, 0, sizeof r);
    r.path = p;
    for (int i = 0; i < NTHREADS; i++) {
      args[i].r = &r;
      args[i].i = i;
      thread_start(&t[i], racer, &args[i]);
    }
    __atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < NTHREADS; i++) thread_join(&t[i]);
    for (int i = 0; i < NTHREADS; i++) {
      if (r.status[i] != MMAPIO_OK)
        TEST_FAIL_("round %d thread %d: open_or_create returned %d (%s): \"%s\"", round, i,
                   r.status[i], mmapio_strerror(r.status[i]), r.msg[i]);
      ASSERT_U64_EQ(mmapio_len(r.map[i]), 3 * 4096);
    }
    /* They all map the same file: a write through one is seen by the others. */
    uint8_t v = (uint8_t)(round + 1);
    ASSERT_OK(mmapio_write(r.map[0], 4096, &v, 1));
    for (int i = 0; i < NTHREADS; i++) {
      uint8_t got = 0;
      ASSERT_OK(mmapio_read(r.map[i], 4096, &got, 1));
      ASSERT_EQ(got, v);
      ASSERT_OK(mmapio_close(r.map[i]));
    }
    ASSERT_EQ(file_len(p), 3 * 4096);
    test_unlink(p);
  }
  free(p);
  return 0;
}
