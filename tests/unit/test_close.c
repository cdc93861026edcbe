/*
 * mmapio_retain / mmapio_close (include/mmapio.h section 4): reference counts, NULL,
 * EBUSY while views, write views, atomic pins or iterators are outstanding
 * (in this or another thread; nothing changes, release then close works),
 * the final flush of non-MANUAL RW maps, and no descriptor leaks.
 */
#include "test.h"

#ifndef _WIN32
#  include <fcntl.h>
#endif

typedef struct other { mmapio_map *m; volatile int state; } other;

static void *other_holds_view(void *p)
{
  other *o = (other *)p;
  mmapio_view v;
  THREAD_CHECK(mmapio_view_get(&v, o->m, 0, 8) == MMAPIO_OK);
  __atomic_store_n(&o->state, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(&o->state, __ATOMIC_ACQUIRE) != 2) sleep_ms(1);
  mmapio_view_release(&v);
  return NULL;
}

static void check_busy(mmapio_map *m)
{
  mmapio_view v;
  mmapio_view_mut w;
  uint8_t b;

  ASSERT_OK(mmapio_view_get(&v, m, 0, 8));
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  ASSERT_OK(mmapio_read(m, 0, &b, 1)); /* nothing changed */
  ASSERT(v.data[0] == b);
  mmapio_view_release(&v);

  if (mmapio_mode_of(m) != MMAPIO_MODE_READ_ONLY) {
    ASSERT_OK(mmapio_view_get_mut(&w, m, 0, 8));
    ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
    w.data[0] = 0x31;
    ASSERT_OK(mmapio_view_mut_release(&w));
  }
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    mmapio_atomic a;
    ASSERT_OK(mmapio_atomic_u32(&a, m, 0));
    ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
    mmapio_atomic_release(&a);
  }
  if (mmapio_has_feature(MMAPIO_FEATURE_ITERATOR)) {
    mmapio_iter it;
    ASSERT_OK(mmapio_chunks(&it, m, 100));
    ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
    mmapio_iter_end(&it);
  }
  /* A view held by another thread: EBUSY, no waiting. */
  other o = {m, 0};
  test_thread t;
  thread_start(&t, other_holds_view, &o);
  while (__atomic_load_n(&o.state, __ATOMIC_ACQUIRE) != 1) sleep_ms(1);
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  __atomic_store_n(&o.state, 2, __ATOMIC_RELEASE);
  ASSERT(thread_join(&t) == NULL);

  /* Not the last reference, view held by another thread: the reference
   * is simply dropped (only the last close waits for other threads). */
  ASSERT_OK(mmapio_retain(m));
  o.state = 0;
  thread_start(&t, other_holds_view, &o);
  while (__atomic_load_n(&o.state, __ATOMIC_ACQUIRE) != 1) sleep_ms(1);
  ASSERT_OK(mmapio_close(m));
  __atomic_store_n(&o.state, 2, __ATOMIC_RELEASE);
  ASSERT(thread_join(&t) == NULL);

  /* Not the last reference, but the calling thread holds a view: EBUSY,
   * and nothing changes (mmapio.h: "while ... the calling thread holds
   * views or iterators of m"). */
  ASSERT_OK(mmapio_retain(m));
  ASSERT_OK(mmapio_view_get(&v, m, 0, 8));
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_close(m)); /* drops the extra reference */
  ASSERT_OK(mmapio_read(m, 0, &b, 1));
  ASSERT_OK(mmapio_close(m)); /* the last one */
}

int main(void)
{
  size_t ps = mmapio_page_size();
  char *p = mk_file("close", 2 * ps, 121);
  mmapio_map *m;
  int fds0 = test_count_fds();

  ASSERT_OK(mmapio_close(NULL));
  ASSERT_STATUS(mmapio_retain(NULL), MMAPIO_EINVAL);

  /* Reference counts: each retain needs its own close. */
  ASSERT_OK(mmapio_open_rw(&m, p));
  for (int i = 0; i < 10; i++) ASSERT_OK(mmapio_retain(m));
  for (int i = 0; i < 10; i++) {
    ASSERT_OK(mmapio_close(m));
    ASSERT_U64_EQ(mmapio_len(m), 2 * ps); /* still alive */
  }
  uint8_t b = 9;
  ASSERT_OK(mmapio_write(m, 0, &b, 1));
  ASSERT_OK(mmapio_close(m));
  /* The same for a read-only map that no thread ever borrowed (its close
   * takes a short way of its own): closes before the last one leave it
   * mapped and readable; the last one unmaps it, and an empty file's map
   * (opened the general way) closes too. */
  for (int round = 0; round < 3; round++) {
    ASSERT_OK(mmapio_open_ro(&m, p));
    for (int i = 0; i < 10; i++) ASSERT_OK(mmapio_retain(m));
    for (int i = 0; i < 10; i++) {
      ASSERT_OK(mmapio_close(m));
      ASSERT_U64_EQ(mmapio_len(m), 2 * ps);
    }
    uint8_t c = 0;
    ASSERT_OK(mmapio_read(m, 0, &c, 1));
    ASSERT_EQ(c, 9);
    ASSERT_OK(mmapio_close(m));
  }
  {
    char *e0 = mk_file("close-empty-ro", 0, 0);
    for (int round = 0; round < 3; round++) {
      ASSERT_OK(mmapio_open_ro(&m, e0));
      ASSERT_OK(mmapio_retain(m));
      ASSERT_OK(mmapio_close(m));
      ASSERT_U64_EQ(mmapio_len(m), 0);
      ASSERT_OK(mmapio_close(m));
      ASSERT_OK(mmapio_open_ro(&m, p)); /* reuses the object of the empty file's map */
      ASSERT_U64_EQ(mmapio_len(m), 2 * ps);
      ASSERT_OK(mmapio_close(m));
    }
    free(e0);
  }

  /* EBUSY in every mode. */
  ASSERT_OK(mmapio_open_ro(&m, p));
  check_busy(m);
  ASSERT_OK(mmapio_open_rw(&m, p));
  check_busy(m);
  if (has_cow()) {
    ASSERT_OK(mmapio_open_cow(&m, p));
    check_busy(m);
  }
  ASSERT_OK(mmapio_anon(&m, 2 * ps, 0));
  check_busy(m);

  /* Non-MANUAL policies: close flushes (the data is in the file) and
   * returns OK. The durability tests prove the flush call itself. */
  const mmapio_flush_kind kinds[] = {MMAPIO_FLUSH_ALWAYS, MMAPIO_FLUSH_EVERY_BYTES,
                                     MMAPIO_FLUSH_EVERY_WRITES, MMAPIO_FLUSH_EVERY_MILLIS};
  for (size_t i = 0; i < 4; i++) {
    ASSERT_OK(open_policy(&m, p, kinds[i], 1000000));
    uint8_t v = (uint8_t)(0x50 + i);
    ASSERT_OK(mmapio_write(m, ps + i, &v, 1));
    ASSERT_OK(mmapio_close(m));
    size_t n = 0;
    uint8_t *d = (uint8_t *)test_read_file(p, &n);
    ASSERT(d != NULL && n == 2 * ps);
    ASSERT_EQ(d[ps + i], v);
    free(d);
  }

  /* No descriptor leaks: opens, failures and closes leave the count alone. */
  if (fds0 >= 0) {
    char *e = mk_file("close-empty", 0, 0);
    char *missing = test_tmp_path("close-missing");
    for (int i = 0; i < 50; i++) {
      ASSERT_OK(mmapio_open_rw(&m, p));
      ASSERT_OK(mmapio_close(m));
      ASSERT_OK(mmapio_open_ro(&m, e));
      ASSERT_OK(mmapio_close(m));
      ASSERT_STATUS(mmapio_open_rw(&m, e), MMAPIO_ESIZE);
      ASSERT_STATUS(mmapio_open_ro(&m, missing), MMAPIO_ENOENT);
      mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE, 10);
      ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EEXIST);
      o.max_size = 1; /* smaller than the file: ESIZE after the open */
      o.flags = 0;
      ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_ESIZE);
    }
    int fds1 = test_count_fds();
    if (fds1 != fds0) TEST_FAIL_("descriptor leak: %d open before, %d after", fds0, fds1);
    test_unlink(e);
    free(e);
    free(missing);
  }
#ifndef _WIN32
  /* The map's descriptor is close-on-exec. */
  ASSERT_OK(mmapio_open_rw(&m, p));
  int fl = fcntl(mmapio_native_handle(m), F_GETFD);
  ASSERT(fl != -1 && (fl & FD_CLOEXEC));
  ASSERT_OK(mmapio_close(m));
#endif

  test_unlink(p);
  free(p);
  return 0;
}
