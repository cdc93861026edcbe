/*
 * test_atomic.c -- atomic views (include/mmapio.h section 10): alignment before bounds
 * with the exact messages, bounds and zero-element arrays, writable per mode,
 * pins (close and moving resizes EBUSY, in-place growth allowed, writers never
 * blocked), and every header-inline operation with every memory order.
 */
#include "internal.h"
#include "test.h"

static const char *align_msg(unsigned req, uint64_t off)
{
  return fmt_msg("atomic alignment error: required=%u, offset=%llu", req, (unsigned long long)off);
}

static void test_checks(void)
{
  char *path = mk_file("atom", 64, 1);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, path));
  mmapio_atomic a;

  ASSERT_STATUS(mmapio_atomic_u64(NULL, m, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_atomic_u64(&a, NULL, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_atomic_u32(NULL, m, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_atomic_u32_array(&a, NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_atomic_u64_array(NULL, m, 0, 1), MMAPIO_EINVAL);

  /* Alignment, with the exact message. */
  ASSERT_ERR(mmapio_atomic_u64(&a, m, 4), MMAPIO_EALIGN, align_msg(8, 4));
  ASSERT_ERR(mmapio_atomic_u64(&a, m, 1), MMAPIO_EALIGN, align_msg(8, 1));
  ASSERT_ERR(mmapio_atomic_u32(&a, m, 2), MMAPIO_EALIGN, align_msg(4, 2));
  ASSERT_ERR(mmapio_atomic_u32_array(&a, m, 6, 2), MMAPIO_EALIGN, align_msg(4, 6));
  ASSERT_ERR(mmapio_atomic_u64_array(&a, m, 12, 1), MMAPIO_EALIGN, align_msg(8, 12));
  /* Alignment is checked before bounds. */
  ASSERT_ERR(mmapio_atomic_u64(&a, m, 1000001), MMAPIO_EALIGN, align_msg(8, 1000001));
  ASSERT_ERR(mmapio_atomic_u32(&a, m, UINT64_MAX), MMAPIO_EALIGN, align_msg(4, UINT64_MAX));

  /* Bounds: len = element size x count. */
  ASSERT_BOUNDS(mmapio_atomic_u64(&a, m, 64), 64, 8, 64);
  ASSERT_BOUNDS(mmapio_atomic_u32(&a, m, 64), 64, 4, 64);
  ASSERT_BOUNDS(mmapio_atomic_u64(&a, m, 1000000), 1000000, 8, 64);
  ASSERT_BOUNDS(mmapio_atomic_u64_array(&a, m, 0, 9), 0, 72, 64);
  ASSERT_BOUNDS(mmapio_atomic_u32_array(&a, m, 8, 15), 8, 60, 64);
  ASSERT_BOUNDS(mmapio_atomic_u64_array(&a, m, 72, 0), 72, 0, 64);
  /* A count whose byte length does not fit 64 bits saturates. */
  ASSERT_BOUNDS(mmapio_atomic_u64_array(&a, m, 0, SIZE_MAX), 0,
                (uint64_t)SIZE_MAX > UINT64_MAX / 8 ? UINT64_MAX : (uint64_t)SIZE_MAX * 8, 64);

  /* Edges that fit. */
  ASSERT_OK(mmapio_atomic_u64(&a, m, 56));
  ASSERT_EQ(a.count, 1);
  ASSERT(a.ptr == (uint8_t *)mmapio_unsafe_ptr(m) + 56);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_atomic_u32(&a, m, 60));
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_atomic_u64_array(&a, m, 0, 8));
  ASSERT_EQ(a.count, 8);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_atomic_u32_array(&a, m, 0, 16));
  mmapio_atomic_release(&a);
  /* Zero elements: a zero-length view, fine up to the end. */
  ASSERT_OK(mmapio_atomic_u64_array(&a, m, 64, 0));
  ASSERT_EQ(a.count, 0);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_atomic_u32_array(&a, m, 0, 0));
  mmapio_atomic_release(&a);

  /* Release is idempotent; NULL is fine. */
  mmapio_atomic_release(&a);
  mmapio_atomic_release(NULL);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* Writable per mode; values go through the map to the file on RW only. */
static void test_modes(void)
{
  char *path = mk_file("atommode", 64, 2);
  mmapio_map *rw = NULL, *ro = NULL;
  mmapio_atomic a, b;
  ASSERT_OK(mmapio_open_rw(&rw, path));
  ASSERT_OK(mmapio_open_ro(&ro, path));

  ASSERT_OK(mmapio_atomic_u64(&a, rw, 8));
  ASSERT_EQ(a.writable, 1);
  mmapio_store_u64((uint64_t *)a.ptr, UINT64_C(0x1122334455667788), MMAPIO_ORDER_RELEASE);
  ASSERT_OK(mmapio_atomic_u64(&b, ro, 8));
  ASSERT_EQ(b.writable, 0);
  /* Same file, two mappings: the RO view sees the store. */
  ASSERT_U64_EQ(mmapio_load_u64((const uint64_t *)b.ptr, MMAPIO_ORDER_ACQUIRE),
                UINT64_C(0x1122334455667788));
  uint64_t viaread = 0;
  ASSERT_OK(mmapio_read(rw, 8, &viaread, 8));
  ASSERT_U64_EQ(viaread, UINT64_C(0x1122334455667788));
  mmapio_atomic_release(&a);
  mmapio_atomic_release(&b);
  ASSERT_OK(mmapio_close(ro));
  ASSERT_OK(mmapio_close(rw));
  {
    size_t n = 0;
    uint8_t *d = (uint8_t *)test_read_file(path, &n);
    uint64_t v;
    ASSERT(d != NULL && n == 64);
    memcpy(&v, d + 8, 8);
    ASSERT_U64_EQ(v, UINT64_C(0x1122334455667788));
    free(d);
  }

  if (has_cow()) {
    mmapio_map *cow = NULL;
    file_snap s = snap_take(path);
    ASSERT_OK(mmapio_open_cow(&cow, path));
    ASSERT_OK(mmapio_atomic_u32_array(&a, cow, 0, 16));
    ASSERT_EQ(a.writable, 1);
    for (uint32_t i = 0; i < 16; i++) mmapio_store_u32((uint32_t *)a.ptr + i, i, MMAPIO_ORDER_RELAXED);
    ASSERT_EQ(mmapio_fetch_add_u32((uint32_t *)a.ptr + 3, 10, MMAPIO_ORDER_SEQ_CST), 3);
    mmapio_atomic_release(&a);
    uint32_t v = 0;
    ASSERT_OK(mmapio_read(cow, 12, &v, 4));
    ASSERT_EQ(v, 13);
    ASSERT_OK(mmapio_close(cow));
    ASSERT_SNAP_SAME(path, s); /* private */
    snap_free(&s);
  }

  mmapio_map *an = NULL;
  ASSERT_OK(mmapio_anon(&an, 4096, 0));
  ASSERT_OK(mmapio_atomic_u64(&a, an, 4088));
  ASSERT_EQ(a.writable, 1);
  ASSERT_U64_EQ(mmapio_fetch_add_u64((uint64_t *)a.ptr, 5, MMAPIO_ORDER_ACQ_REL), 0);
  ASSERT_U64_EQ(mmapio_load_u64((const uint64_t *)a.ptr, MMAPIO_ORDER_SEQ_CST), 5);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_close(an));
  test_unlink(path);
  free(path);
}

/* ---- pins ---------------------------------------------------------------- */

typedef struct wr_arg {
  mmapio_map *m;
  int ok;
} wr_arg;

static void *writer_main(void *p)
{
  wr_arg *w = (wr_arg *)p;
  uint8_t buf[32];
  memset(buf, 0x5A, sizeof buf);
  THREAD_CHECK(mmapio_write(w->m, 100, buf, sizeof buf) == MMAPIO_OK);
  mmapio_view_mut v;
  THREAD_CHECK(mmapio_view_get_mut(&v, w->m, 0, 8) == MMAPIO_OK);
  v.data[0] = 0x77;
  THREAD_CHECK(mmapio_view_mut_release(&v) == MMAPIO_OK);
  w->ok = 1;
  return NULL;
}

static void test_pins(void)
{
  char *path = mk_file("atompin", 4096, 3);
  mmapio_map *m = NULL;
  mmapio_atomic a, b;
  ASSERT_OK(mmapio_open_rw(&m, path));
  ASSERT_OK(mmapio_atomic_u64(&a, m, 64));
  ASSERT_OK(mmapio_atomic_u32(&b, m, 128));

  /* Close and moving resizes refuse while pins exist; nothing changes. */
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  ASSERT_STATUS(mmapio_resize(m, 2048), MMAPIO_EBUSY);
  ASSERT_STATUS(mmapio_resize(m, 8192), MMAPIO_EBUSY);
  ASSERT_U64_EQ(mmapio_len(m), 4096);

  /* Writers are not blocked: same thread, and another thread. */
  uint8_t one = 1;
  ASSERT_OK(mmapio_write(m, 200, &one, 1));
  wr_arg w;
  w.m = m;
  w.ok = 0;
  test_thread t;
  thread_start(&t, writer_main, &w);
  ASSERT(thread_join(&t) == NULL); /* completes while both pins are held */
  ASSERT_EQ(w.ok, 1);
  /* A write view of this thread and an atomic view coexist too. */
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, m, 0, 16));
  mmapio_atomic c;
  ASSERT_OK(mmapio_atomic_u64(&c, m, 8));
  ASSERT_OK(mmapio_view_mut_release(&vm));
  mmapio_atomic_release(&c);

  mmapio_store_u64((uint64_t *)a.ptr, 42, MMAPIO_ORDER_SEQ_CST);
  mmapio_atomic_release(&a);
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY); /* b still pinned */
  mmapio_atomic_release(&b);
  ASSERT_OK(mmapio_resize(m, 8192));
  uint64_t v = 0;
  ASSERT_OK(mmapio_read(m, 64, &v, 8));
  ASSERT_U64_EQ(v, 42);
  ASSERT_OK(mmapio_close(m));

  /* In-place growth (max_size) keeps the base: pins stay valid. */
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, 0, 0);
  o.max_size = 1u << 20;
  ASSERT_OK(mmapio_open(&m, path, &o));
  ASSERT_OK(mmapio_atomic_u64(&a, m, 0));
  void *base = mmapio_unsafe_ptr(m);
  if (m->om.reserved < 65536) {
    /* The backend could not reserve address space (Windows without
     * placeholder support, e.g. Wine): growth moves, so pins refuse it. */
    printf("atomic: no address-space reservation here; growth is a moving resize\n");
    ASSERT_STATUS(mmapio_resize(m, 65536), MMAPIO_EBUSY);
    mmapio_atomic_release(&a);
    ASSERT_OK(mmapio_close(m));
    test_unlink(path);
    free(path);
    return;
  }
  ASSERT_OK(mmapio_resize(m, 65536));
  ASSERT(mmapio_unsafe_ptr(m) == base);
  mmapio_store_u64((uint64_t *)a.ptr, 7, MMAPIO_ORDER_RELAXED);
  /* A view of the grown part works, and a shrink still refuses. */
  ASSERT_OK(mmapio_atomic_u64(&b, m, 65528));
  ASSERT_STATUS(mmapio_resize(m, 4096), MMAPIO_EBUSY);
  mmapio_atomic_release(&b);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_resize(m, 4096));
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* A pin on a read-only map blocks its close as well. */
static void test_pin_ro(void)
{
  char *path = mk_file("atompinro", 64, 3);
  mmapio_map *m = NULL;
  mmapio_atomic a;
  ASSERT_OK(mmapio_open_ro(&m, path));
  ASSERT_OK(mmapio_atomic_u32(&a, m, 0));
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  uint32_t want;
  uint8_t raw[4];
  pat_fill(raw, 4, 0, 3);
  memcpy(&want, raw, 4);
  ASSERT_EQ(mmapio_load_u32((const uint32_t *)a.ptr, MMAPIO_ORDER_RELAXED), want);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* ---- the inline operations ---------------------------------------------- */

static const mmapio_order orders[5] = {MMAPIO_ORDER_RELAXED, MMAPIO_ORDER_ACQUIRE,
                                       MMAPIO_ORDER_RELEASE, MMAPIO_ORDER_ACQ_REL,
                                       MMAPIO_ORDER_SEQ_CST};

static void test_ops(void)
{
  mmapio_map *m = NULL;
  mmapio_atomic a;
  ASSERT_OK(mmapio_anon(&m, 4096, 0));
  ASSERT_OK(mmapio_atomic_u64_array(&a, m, 0, 64));
  uint64_t *p64 = (uint64_t *)a.ptr;
  uint32_t *p32 = (uint32_t *)(void *)(p64 + 32);

  for (int i = 0; i < 5; i++) {
    mmapio_order o = orders[i];
    uint64_t *q = p64 + i;
    uint32_t *r = p32 + i;
    mmapio_store_u64(q, UINT64_C(0xF0F0F0F0F0F0F0F0), o);
    ASSERT_U64_EQ(mmapio_load_u64(q, o), UINT64_C(0xF0F0F0F0F0F0F0F0));
    ASSERT_U64_EQ(mmapio_fetch_add_u64(q, 0x10, o), UINT64_C(0xF0F0F0F0F0F0F0F0));
    ASSERT_U64_EQ(mmapio_fetch_sub_u64(q, 0x20, o), UINT64_C(0xF0F0F0F0F0F0F100));
    ASSERT_U64_EQ(mmapio_fetch_and_u64(q, UINT64_C(0x00FF00FF00FF00FF), o),
                  UINT64_C(0xF0F0F0F0F0F0F0E0));
    ASSERT_U64_EQ(mmapio_fetch_or_u64(q, UINT64_C(0xFF00000000000000), o),
                  UINT64_C(0x00F000F000F000E0));
    ASSERT_U64_EQ(mmapio_fetch_xor_u64(q, UINT64_C(0x0F), o), UINT64_C(0xFFF000F000F000E0));
    ASSERT_U64_EQ(mmapio_exchange_u64(q, 5, o), UINT64_C(0xFFF000F000F000EF));
    /* Wrap-around both ways, and the top bit (no signed overflow). */
    ASSERT_U64_EQ(mmapio_fetch_sub_u64(q, 6, o), 5);
    ASSERT_U64_EQ(mmapio_load_u64(q, o), UINT64_MAX);
    ASSERT_U64_EQ(mmapio_fetch_add_u64(q, 1, o), UINT64_MAX);
    ASSERT_U64_EQ(mmapio_fetch_sub_u64(q, UINT64_C(1) << 63, o), 0);
    ASSERT_U64_EQ(mmapio_load_u64(q, o), UINT64_C(1) << 63);
    for (int j = 0; j < 5; j++) {
      mmapio_order f = orders[j];
      if (f == MMAPIO_ORDER_RELEASE || f == MMAPIO_ORDER_ACQ_REL) continue; /* not failure orders */
      uint64_t e = 1;
      mmapio_store_u64(q, 9, o);
      ASSERT_EQ(mmapio_compare_exchange_u64(q, &e, 11, o, f), 0);
      ASSERT_U64_EQ(e, 9);
      ASSERT_EQ(mmapio_compare_exchange_u64(q, &e, 11, o, f), 1);
      ASSERT_U64_EQ(e, 9);
      ASSERT_U64_EQ(mmapio_load_u64(q, o), 11);
    }

    mmapio_store_u32(r, 0xF0F0F0F0u, o);
    ASSERT_EQ(mmapio_load_u32(r, o), 0xF0F0F0F0u);
    ASSERT_EQ(mmapio_fetch_add_u32(r, 0x10, o), 0xF0F0F0F0u);
    ASSERT_EQ(mmapio_fetch_sub_u32(r, 0x20, o), 0xF0F0F100u);
    ASSERT_EQ(mmapio_fetch_and_u32(r, 0x00FF00FFu, o), 0xF0F0F0E0u);
    ASSERT_EQ(mmapio_fetch_or_u32(r, 0xFF000000u, o), 0x00F000E0u);
    ASSERT_EQ(mmapio_fetch_xor_u32(r, 0x0Fu, o), 0xFFF000E0u);
    ASSERT_EQ(mmapio_exchange_u32(r, 5, o), 0xFFF000EFu);
    ASSERT_EQ(mmapio_fetch_sub_u32(r, 6, o), 5);
    ASSERT_EQ(mmapio_load_u32(r, o), UINT32_MAX);
    ASSERT_EQ(mmapio_fetch_add_u32(r, 1, o), UINT32_MAX);
    ASSERT_EQ(mmapio_fetch_sub_u32(r, 0x80000000u, o), 0);
    ASSERT_EQ(mmapio_load_u32(r, o), 0x80000000u);
    for (int j = 0; j < 5; j++) {
      mmapio_order f = orders[j];
      if (f == MMAPIO_ORDER_RELEASE || f == MMAPIO_ORDER_ACQ_REL) continue;
      uint32_t e = 1;
      mmapio_store_u32(r, 9, o);
      ASSERT_EQ(mmapio_compare_exchange_u32(r, &e, 11, o, f), 0);
      ASSERT_EQ(e, 9);
      ASSERT_EQ(mmapio_compare_exchange_u32(r, &e, 11, o, f), 1);
      ASSERT_EQ(mmapio_load_u32(r, o), 11);
    }
  }
  /* Neighbouring cells were not touched by the 32-bit operations. */
  ASSERT_U64_EQ(mmapio_load_u64(p64 + 40, MMAPIO_ORDER_RELAXED), 0);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_close(m));
}

/* Several threads increment one cell: the total is exact. */
#define NTHREADS 4
#define NINC 100000

static void *inc_main(void *p)
{
  uint64_t *cell = (uint64_t *)p;
  for (int i = 0; i < NINC; i++) (void)mmapio_fetch_add_u64(cell, 1, MMAPIO_ORDER_RELAXED);
  return NULL;
}

static void test_threads(void)
{
  char *path = mk_file("atomthr", 4096, 0);
  mmapio_map *m = NULL;
  mmapio_atomic a;
  ASSERT_OK(mmapio_open_rw(&m, path));
  ASSERT_OK(mmapio_atomic_u64(&a, m, 0));
  mmapio_store_u64((uint64_t *)a.ptr, 0, MMAPIO_ORDER_SEQ_CST);
  test_thread t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) thread_start(&t[i], inc_main, a.ptr);
  for (int i = 0; i < NTHREADS; i++) ASSERT(thread_join(&t[i]) == NULL);
  ASSERT_U64_EQ(mmapio_load_u64((const uint64_t *)a.ptr, MMAPIO_ORDER_SEQ_CST),
                (uint64_t)NTHREADS * NINC);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

int main(void)
{
  if (!MMAPIO_WITH_ATOMIC) {
    mmapio_atomic a;
    memset(&a, 0, sizeof a);
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ATOMIC), 0);
    ASSERT_STATUS(mmapio_atomic_u32(&a, NULL, 0), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_atomic_u64(&a, NULL, 0), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_atomic_u32_array(&a, NULL, 0, 1), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_atomic_u64_array(&a, NULL, 0, 1), MMAPIO_ENOTSUP);
    mmapio_atomic_release(&a);
    TEST_SKIP("feature ATOMIC is compiled out (stubs checked)");
  }
  ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ATOMIC), 1);
  test_checks();
  test_modes();
  test_pins();
  test_pin_ro();
  test_ops();
  test_threads();
  printf("atomic: all checks passed\n");
  return 0;
}
