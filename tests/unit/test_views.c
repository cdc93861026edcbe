/*
 * Read and write views (include/mmapio.h section 5): zero-copy data, release rules,
 * "many readers, one writer" on RW/COW/anonymous maps, EDEADLK instead of a
 * self-deadlock, waiting for other threads' views, and no locking on RO maps.
 */
#include "test.h"

static size_t PS;

/* Ends by closing `m`: every view was released. */
static void check_basics(mmapio_map *m, unsigned seed)
{
  mmapio_view v;
  uint64_t total = mmapio_len(m);
  ASSERT_OK(mmapio_view_get(&v, m, 10, 100));
  ASSERT_EQ(v.len, 100);
  ASSERT(v.data == (const uint8_t *)mmapio_unsafe_ptr(m) + 10);
  ASSERT(pat_check(v.data, 100, 10, seed));
  mmapio_view_release(&v);
  mmapio_view_release(&v);   /* already released: no-op */
  mmapio_view_release(NULL); /* no-op */
  /* The exported function (not the header's inline fast path). */
  ASSERT_OK(mmapio_view_get(&v, m, 0, total));
  ASSERT_EQ(v.len, total);
  (mmapio_view_release)(&v);
  (mmapio_view_release)(&v);
  (mmapio_view_release)(NULL);
  void (*fn)(mmapio_view *) = &(mmapio_view_release);
  ASSERT_OK(mmapio_view_get(&v, m, total, 0));
  fn(&v);
  /* Many nested views on one thread, released out of order. */
  mmapio_view vs[64];
  for (int i = 0; i < 64; i++) ASSERT_OK(mmapio_view_get(&vs[i], m, (uint64_t)i, 1));
  for (int i = 0; i < 64; i += 2) mmapio_view_release(&vs[i]);
  for (int i = 63; i > 0; i -= 2) mmapio_view_release(&vs[i]);
  ASSERT_OK(mmapio_close(m)); /* all views gone: close works */
}

static void check_mut(mmapio_map *m)
{
  mmapio_view_mut w;
  ASSERT_OK(mmapio_view_get_mut(&w, m, PS - 8, 16));
  ASSERT_EQ(w.len, 16);
  ASSERT(w.data == (uint8_t *)mmapio_unsafe_ptr(m) + PS - 8);
  memset(w.data, 0xAB, 16);
  ASSERT_OK(mmapio_view_mut_release(&w));
  ASSERT_OK(mmapio_view_mut_release(&w)); /* already released */
  ASSERT_OK(mmapio_view_mut_release(NULL));
  uint8_t got[16];
  ASSERT_OK(mmapio_read(m, PS - 8, got, 16));
  ASSERT(all_bytes(got, 16, 0xAB));
}

/* The EDEADLK matrix on a map that locks (RW, COW, anonymous). */
static void check_deadlock(mmapio_map *m, int can_resize)
{
  mmapio_view v, v2;
  mmapio_view_mut w, w2;
  uint8_t b = 1;
  uint64_t total = mmapio_len(m);

  /* Holding a read view. */
  ASSERT_OK(mmapio_view_get(&v, m, 0, 16));
  ASSERT_STATUS(mmapio_write(m, 100, &b, 1), MMAPIO_EDEADLK);
  ASSERT_STATUS(mmapio_view_get_mut(&w, m, 100, 1), MMAPIO_EDEADLK);
  if (can_resize) {
    ASSERT_STATUS(mmapio_resize(m, total + PS), MMAPIO_EDEADLK); /* moving: no max_size */
    ASSERT_STATUS(mmapio_resize(m, total - 1), MMAPIO_EDEADLK);
    ASSERT_U64_EQ(mmapio_len(m), total);
  }
  ASSERT_OK(mmapio_write(m, 100, &b, 0)); /* zero-length action: no lock taken */
  ASSERT_OK(mmapio_view_get(&v2, m, 8, 8)); /* a second read view: fine */
  ASSERT_OK(mmapio_read(m, 0, &b, 1));     /* a shared read: fine */
  ASSERT_OK(mmapio_flush(m));              /* flush does not exclude readers */
  ASSERT_OK(mmapio_flush_range(m, 0, 1));
  mmapio_view_release(&v2);
  ASSERT_STATUS(mmapio_write(m, 100, &b, 1), MMAPIO_EDEADLK); /* still one view */
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_write(m, 100, &b, 1));

  /* Holding a write view. */
  ASSERT_OK(mmapio_view_get_mut(&w, m, 0, 16));
  ASSERT_STATUS(mmapio_view_get(&v, m, 100, 1), MMAPIO_EDEADLK);
  ASSERT_STATUS(mmapio_read(m, 100, &b, 1), MMAPIO_EDEADLK);
  ASSERT_STATUS(mmapio_write(m, 100, &b, 1), MMAPIO_EDEADLK);
  ASSERT_STATUS(mmapio_view_get_mut(&w2, m, 100, 1), MMAPIO_EDEADLK);
  if (can_resize) ASSERT_STATUS(mmapio_resize(m, total + PS), MMAPIO_EDEADLK);
  ASSERT_OK(mmapio_view_mut_release(&w));
  ASSERT_OK(mmapio_view_get(&v, m, 100, 1));
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_read(m, 100, &b, 1));
  if (can_resize) {
    ASSERT_OK(mmapio_resize(m, total + PS));
    ASSERT_OK(mmapio_resize(m, total));
  }
}

/* ---- other threads' views make writers wait ----------------------------- */

typedef struct waiter {
  mmapio_map *m;
  int op; /* 0 write, 1 view_get_mut, 2 resize, 3 read, 4 view_get */
  volatile int started, done;
  int status;
} waiter;

static void *waiter_body(void *p)
{
  waiter *w = (waiter *)p;
  uint8_t b = 7;
  __atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
  switch (w->op) {
  case 0: w->status = mmapio_write(w->m, 200, &b, 1); break;
  case 1: {
    mmapio_view_mut vm;
    w->status = mmapio_view_get_mut(&vm, w->m, 200, 1);
    if (w->status == MMAPIO_OK) w->status = mmapio_view_mut_release(&vm);
    break;
  }
  case 2: w->status = mmapio_resize(w->m, mmapio_len(w->m) + 4096); break;
  case 3: w->status = mmapio_read(w->m, 200, &b, 1); break;
  case 4: {
    mmapio_view v;
    w->status = mmapio_view_get(&v, w->m, 200, 1);
    if (w->status == MMAPIO_OK) mmapio_view_release(&v);
    break;
  }
  }
  __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* `hold_mut`: main holds a write view (else a read view); the other thread
 * runs `op` and must not finish before main releases. */
static void check_waits(mmapio_map *m, int hold_mut, int op)
{
  mmapio_view v;
  mmapio_view_mut vm;
  if (hold_mut) ASSERT_OK(mmapio_view_get_mut(&vm, m, 0, 8));
  else ASSERT_OK(mmapio_view_get(&v, m, 0, 8));
  waiter w;
  memset(&w, 0, sizeof w);
  w.m = m;
  w.op = op;
  test_thread t;
  thread_start(&t, waiter_body, &w);
  while (!__atomic_load_n(&w.started, __ATOMIC_ACQUIRE)) sleep_ms(1);
  /* A correct library cannot finish while we hold the view, so this check
   * can only fail for a real bug, however slow the machine. */
  sleep_ms(150);
  if (__atomic_load_n(&w.done, __ATOMIC_ACQUIRE))
    TEST_FAIL_("op %d finished (status %d) while another thread held a %s view", op, w.status,
               hold_mut ? "write" : "read");
  if (hold_mut) ASSERT_OK(mmapio_view_mut_release(&vm));
  else mmapio_view_release(&v);
  thread_join(&t);
  ASSERT(w.done);
  ASSERT_OK(w.status);
}

/* Read views of several threads at once do not exclude each other. */
typedef struct sharer { mmapio_map *m; volatile int *holding; int n; } sharer;
static void *sharer_body(void *p)
{
  sharer *s = (sharer *)p;
  mmapio_view v;
  THREAD_CHECK(mmapio_view_get(&v, s->m, 0, 64) == MMAPIO_OK);
  __atomic_fetch_add(s->holding, 1, __ATOMIC_ACQ_REL);
  /* Wait until every sharer holds its view at the same time. */
  uint64_t deadline = now_ms() + POLL_DEADLINE_MS;
  while (__atomic_load_n(s->holding, __ATOMIC_ACQUIRE) < s->n && now_ms() < deadline) sleep_ms(1);
  int all = __atomic_load_n(s->holding, __ATOMIC_ACQUIRE) >= s->n;
  mmapio_view_release(&v);
  THREAD_CHECK(all);
  return NULL;
}

static void check_shared(mmapio_map *m)
{
  enum { N = 4 };
  volatile int holding = 0;
  sharer s = {m, &holding, N};
  test_thread t[N];
  for (int i = 0; i < N; i++) thread_start(&t[i], sharer_body, &s);
  for (int i = 0; i < N; i++) ASSERT(thread_join(&t[i]) == NULL);
}

static void check_locking_map(mmapio_map *m, unsigned seed, int can_resize)
{
  check_deadlock(m, can_resize);
  check_shared(m);
  for (int op = 0; op <= 4; op++) {
    if (op == 2 && !can_resize) continue;
    if (op == 3 || op == 4) {
      check_waits(m, 1, op); /* readers wait for a writer */
    } else {
      check_waits(m, 0, op); /* writers wait for a reader */
      check_waits(m, 1, op); /* writers wait for a writer */
    }
  }
  (void)seed;
}

int main(void)
{
  PS = mmapio_page_size();
  uint64_t total = 4 * PS;
  char *p = mk_file("views", (size_t)total, 71);
  mmapio_map *m;

  /* NULL arguments. */
  mmapio_view v;
  mmapio_view_mut w;
  ASSERT_STATUS(mmapio_view_get(&v, NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_view_get_mut(&w, NULL, 0, 1), MMAPIO_EINVAL);

  /* RO: views work, write views are EMODE, and nothing locks: a read view
   * held by this thread does not stop another read view or a read. */
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_STATUS(mmapio_view_get_mut(&w, m, 0, 1), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_view_get_mut(&w, m, UINT64_MAX, 1), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_view_get_mut(NULL, m, 0, 1), MMAPIO_EINVAL);
  check_basics(m, 71);
  ASSERT_OK(mmapio_open_ro(&m, p));
  check_shared(m);
  {
    mmapio_view a;
    ASSERT_OK(mmapio_view_get(&a, m, 0, 1));
    ASSERT_STATUS(mmapio_resize(m, total * 2), MMAPIO_EMODE);
    ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY); /* RO views are still counted */
    mmapio_view_release(&a);
  }
  ASSERT_OK(mmapio_close(m));

  /* RW. */
  ASSERT_OK(mmapio_open_rw(&m, p));
  check_basics(m, 71);
  ASSERT_OK(mmapio_open_rw(&m, p));
  check_mut(m);
  check_locking_map(m, 71, 1);
  ASSERT_OK(mmapio_close(m));

  /* COW. */
  if (has_cow()) {
    ASSERT_OK(mmapio_open_cow(&m, p));
    check_mut(m);
    check_locking_map(m, 71, 0);
    ASSERT_OK(mmapio_close(m));
  }

  /* Anonymous. */
  ASSERT_OK(mmapio_anon(&m, total, 0));
  check_mut(m);
  check_locking_map(m, 0, 1);
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_anon(&m, total, MMAPIO_ANON_SHARED));
  check_locking_map(m, 0, 1);
  ASSERT_OK(mmapio_close(m));

  test_unlink(p);
  free(p);
  return 0;
}
