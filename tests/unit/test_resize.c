/*
 * mmapio_resize (include/mmapio.h section 7): growth and shrink of file and map, the
 * zeroed tail after shrink + grow, the exact ESIZE messages, EMODE before
 * the size, in-place growth within max_size (same base address, live views
 * stay valid, pins do not block), EBUSY for pins on a moving resize, and
 * waiting for other threads' views.
 */
#include "test.h"

static size_t PS;

static void check_disk_len(const char *p, uint64_t want)
{
  int64_t got = file_len(p);
  if (got != (int64_t)want)
    TEST_FAIL_("file %s is %lld bytes on disk, want %llu", p, (long long)got, (unsigned long long)want);
}

static void check_grow_shrink(void)
{
  uint64_t n0 = 2 * PS + 100;
  char *p = mk_file("resize", (size_t)n0, 91);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_rw(&m, p));

  /* Grow: content kept, new bytes zero, file extended. */
  ASSERT_OK(mmapio_resize(m, 5 * PS + 7));
  ASSERT_U64_EQ(mmapio_len(m), 5 * PS + 7);
  check_disk_len(p, 5 * PS + 7);
  const uint8_t *b = (const uint8_t *)mmapio_unsafe_ptr(m);
  ASSERT(pat_check(b, (size_t)n0, 0, 91));
  ASSERT(all_bytes(b + n0, (size_t)(5 * PS + 7 - n0), 0));
  uint8_t last = 0xFE;
  ASSERT_OK(mmapio_write(m, 5 * PS + 6, &last, 1));

  /* Same size: OK, nothing changes. */
  ASSERT_OK(mmapio_resize(m, 5 * PS + 7));
  ASSERT_U64_EQ(mmapio_len(m), 5 * PS + 7);

  /* Shrink to an odd size: content below kept, file truncated. */
  ASSERT_OK(mmapio_resize(m, PS + 3));
  ASSERT_U64_EQ(mmapio_len(m), PS + 3);
  check_disk_len(p, PS + 3);
  ASSERT(pat_check(mmapio_unsafe_ptr(m), PS + 3, 0, 91));
  uint8_t x;
  ASSERT_BOUNDS(mmapio_read(m, PS + 3, &x, 1), PS + 3, 1, PS + 3);

  /* Shrink + grow: the tail reads zero (in the map and in the file). */
  ASSERT_OK(mmapio_resize(m, 5 * PS + 7));
  b = (const uint8_t *)mmapio_unsafe_ptr(m);
  ASSERT(pat_check(b, PS + 3, 0, 91));
  ASSERT(all_bytes(b + PS + 3, (size_t)(4 * PS + 4), 0));
  ASSERT_OK(mmapio_flush(m));
  {
    size_t n = 0;
    uint8_t *d = (uint8_t *)test_read_file(p, &n);
    ASSERT(d != NULL && n == 5 * PS + 7);
    ASSERT(pat_check(d, PS + 3, 0, 91));
    ASSERT(all_bytes(d + PS + 3, n - PS - 3, 0));
    free(d);
  }

  /* Shrink to 1 byte, then grow a lot. */
  ASSERT_OK(mmapio_resize(m, 1));
  ASSERT_U64_EQ(mmapio_len(m), 1);
  check_disk_len(p, 1);
  ASSERT_OK(mmapio_resize(m, 64 * PS));
  ASSERT(pat_check(mmapio_unsafe_ptr(m), 1, 0, 91));
  ASSERT(all_bytes((uint8_t *)mmapio_unsafe_ptr(m) + 1, 64 * PS - 1, 0));

  /* Sizes: 0 and above the maximum, exact messages, length kept. */
  ASSERT_ERR(mmapio_resize(m, 0), MMAPIO_ESIZE, MSG_NEW_SIZE_ZERO);
  ASSERT_ERR(mmapio_resize(m, MMAPIO_MAX_SIZE + 1), MMAPIO_ESIZE, new_size_max_msg(MMAPIO_MAX_SIZE + 1));
  ASSERT_ERR(mmapio_resize(m, UINT64_MAX), MMAPIO_ESIZE, new_size_max_msg(UINT64_MAX));
  ASSERT_U64_EQ(mmapio_len(m), 64 * PS);
  check_disk_len(p, 64 * PS);
  /* The map stays usable after a failed resize. */
  ASSERT_OK(mmapio_write(m, 64 * PS - 1, &last, 1));
  ASSERT_STATUS(mmapio_resize(NULL, 10), MMAPIO_EINVAL);
  ASSERT_OK(mmapio_close(m));
  check_disk_len(p, 64 * PS);

  /* RO and COW: EMODE, checked before the size. */
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_STATUS(mmapio_resize(m, 10), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_resize(m, 0), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_resize(m, UINT64_MAX), MMAPIO_EMODE);
  ASSERT_U64_EQ(mmapio_len(m), 64 * PS);
  ASSERT_OK(mmapio_close(m));
  if (has_cow()) {
    ASSERT_OK(mmapio_open_cow(&m, p));
    ASSERT_STATUS(mmapio_resize(m, 10), MMAPIO_EMODE);
    ASSERT_STATUS(mmapio_resize(m, 0), MMAPIO_EMODE);
    ASSERT_OK(mmapio_close(m));
  }
  check_disk_len(p, 64 * PS);
  test_unlink(p);
  free(p);
}

static void check_in_place(void)
{
  char *p = test_tmp_path("resize-inplace");
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, 4 * PS);
  o.max_size = 16 * PS;
  mmapio_map *m;
  ASSERT_OK(mmapio_open(&m, p, &o));
  uint8_t buf[100];
  pat_fill(buf, sizeof buf, 0, 92);
  ASSERT_OK(mmapio_write(m, 0, buf, sizeof buf));
  void *base = mmapio_unsafe_ptr(m);

  /* Where the OS cannot reserve address space (Windows without
   * placeholders, e.g. Wine), growth moves like any resize: say so and skip
   * the in-place part. */
  if (mmapio_capacity(m) < 16 * PS) {
    printf("SKIP part: in-place growth unavailable here (capacity %llu < max_size %llu)\n",
           (unsigned long long)mmapio_capacity(m), (unsigned long long)(16 * PS));
    ASSERT_U64_EQ(mmapio_capacity(m), mmapio_len(m));
    ASSERT_OK(mmapio_close(m));
    test_unlink(p);
    free(p);
    return;
  }
  ASSERT_U64_EQ(mmapio_capacity(m), 16 * PS);
  /* A live read view of this thread: in-place growth does not wait for it
   * (no EDEADLK) and the view stays valid. */
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, m, 0, sizeof buf));
  ASSERT_OK(mmapio_resize(m, 8 * PS));
  ASSERT(mmapio_unsafe_ptr(m) == base);
  ASSERT_U64_EQ(mmapio_len(m), 8 * PS);
  check_disk_len(p, 8 * PS);
  ASSERT_MEMEQ(v.data, buf, sizeof buf);
  ASSERT(all_bytes((const uint8_t *)base + 4 * PS, 4 * PS, 0));
  /* Up to exactly max_size is still in place. */
  ASSERT_OK(mmapio_resize(m, 16 * PS));
  ASSERT(mmapio_unsafe_ptr(m) == base);
  ASSERT_U64_EQ(mmapio_len(m), 16 * PS);
  check_disk_len(p, 16 * PS);
  ASSERT_MEMEQ(v.data, buf, sizeof buf);
  /* Beyond max_size it moves: it must wait for views, so with our own view
   * outstanding it is EDEADLK and nothing changes. */
  ASSERT_STATUS(mmapio_resize(m, 32 * PS), MMAPIO_EDEADLK);
  ASSERT_U64_EQ(mmapio_len(m), 16 * PS);
  /* A shrink is not in-place growth either. */
  ASSERT_STATUS(mmapio_resize(m, 2 * PS), MMAPIO_EDEADLK);
  mmapio_view_release(&v);

  /* The new area is usable. */
  ASSERT_OK(mmapio_write(m, 16 * PS - sizeof buf, buf, sizeof buf));
  ASSERT_MEMEQ((uint8_t *)base + 16 * PS - sizeof buf, buf, sizeof buf);

  /* Shrink then grow again within max_size: the tail reads zero. */
  ASSERT_OK(mmapio_resize(m, 2 * PS));
  check_disk_len(p, 2 * PS);
  ASSERT_OK(mmapio_resize(m, 16 * PS));
  ASSERT(all_bytes((uint8_t *)mmapio_unsafe_ptr(m) + 2 * PS, 14 * PS, 0));
  ASSERT_MEMEQ(mmapio_unsafe_ptr(m), buf, sizeof buf);

  /* Atomic pins: in-place growth is fine, a moving resize is EBUSY. */
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    ASSERT_OK(mmapio_resize(m, 4 * PS));
    base = mmapio_unsafe_ptr(m);
    mmapio_atomic a;
    ASSERT_OK(mmapio_atomic_u64(&a, m, 0));
    ASSERT_OK(mmapio_resize(m, 12 * PS));
    ASSERT(mmapio_unsafe_ptr(m) == base);
    ASSERT_STATUS(mmapio_resize(m, 32 * PS), MMAPIO_EBUSY);
    ASSERT_STATUS(mmapio_resize(m, 2 * PS), MMAPIO_EBUSY);
    ASSERT_U64_EQ(mmapio_len(m), 12 * PS);
    check_disk_len(p, 12 * PS);
    mmapio_atomic_release(&a);
    ASSERT_OK(mmapio_resize(m, 32 * PS));
    ASSERT_U64_EQ(mmapio_len(m), 32 * PS);
    ASSERT_MEMEQ(mmapio_unsafe_ptr(m), buf, sizeof buf);
  }
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
}

/* A moving resize waits for a view held by another thread. */
typedef struct holder { mmapio_map *m; volatile int state; } holder;

static void *hold_view(void *p)
{
  holder *h = (holder *)p;
  mmapio_view v;
  THREAD_CHECK(mmapio_view_get(&v, h->m, 0, 16) == MMAPIO_OK);
  __atomic_store_n(&h->state, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != 2) sleep_ms(1);
  THREAD_CHECK(pat_check(v.data, 16, 0, 93)); /* still mapped while held */
  mmapio_view_release(&v);
  return NULL;
}

typedef struct resizer { mmapio_map *m; uint64_t size; volatile int done; int status; } resizer;

static void *do_resize(void *p)
{
  resizer *r = (resizer *)p;
  r->status = mmapio_resize(r->m, r->size);
  __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void check_waits_for_views(void)
{
  char *p = mk_file("resize-wait", 4 * PS, 93);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_rw(&m, p));
  const uint64_t sizes[] = {2 * PS, 16 * PS};
  for (int i = 0; i < 2; i++) {
    holder h = {m, 0};
    resizer r = {m, sizes[i], 0, 0};
    test_thread th, tr;
    thread_start(&th, hold_view, &h);
    while (__atomic_load_n(&h.state, __ATOMIC_ACQUIRE) != 1) sleep_ms(1);
    thread_start(&tr, do_resize, &r);
    sleep_ms(150); /* a correct library cannot finish meanwhile */
    if (__atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
      TEST_FAIL_("resize to %llu finished (status %d) while another thread held a view",
                 (unsigned long long)sizes[i], r.status);
    __atomic_store_n(&h.state, 2, __ATOMIC_RELEASE);
    ASSERT(thread_join(&th) == NULL);
    thread_join(&tr);
    ASSERT_OK(r.status);
    ASSERT_U64_EQ(mmapio_len(m), sizes[i]);
  }
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
}

int main(void)
{
  PS = mmapio_page_size();
  check_grow_shrink();
  check_in_place();
  check_waits_for_views();
  return 0;
}
