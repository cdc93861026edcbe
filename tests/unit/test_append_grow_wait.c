/*
 * The appenders' growth handshake (src/append.c; white-box: internal.h).
 * One appender at a time grows the capacity; an appender that needs the
 * capacity meanwhile announces its sleep in the map's append_grow word (2)
 * before it sleeps, so the grower wakes it when it is done -- and an
 * uncontended growth makes no wake-up call. Checked here: the sleeper's
 * announcement, and that it gets its record in once the growth is over.
 * Each step waits for a state, never for a time.
 */
#include "test.h"

#include "internal.h"

enum { REC = 256 };

typedef struct {
  mmapio_map *m;
  uint64_t off;
  int rc;
  uint32_t done;
} app_arg;

static void *appender(void *p)
{
  app_arg *a = (app_arg *)p;
  uint8_t rec[REC];
  memset(rec, 0x5A, sizeof rec);
  a->rc = mmapio_append(a->m, rec, sizeof rec, &a->off);
  __atomic_store_n(&a->done, 1u, __ATOMIC_RELEASE);
  return NULL;
}

int main(void)
{
  char *p = mk_file("append_grow", 4096, 3);
  mmapio_map *m = NULL;
  mmapio_options o;
  mmapio_options_init(&o);
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_logical_len(m), 4096);

  /* Pretend another appender is growing the map: the new appender needs
   * capacity past the length, so it must announce itself and sleep. */
  __atomic_store_n(&m->append_grow, 1u, __ATOMIC_RELEASE);
  app_arg a = {m, 0, -1, 0};
  test_thread t;
  thread_start(&t, appender, &a);
  while (__atomic_load_n(&m->append_grow, __ATOMIC_ACQUIRE) != 2u) mmapio__sleep_ms(1);
  ASSERT_EQ(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE), 0u);

  /* The pretend grower finishes the way src/append.c's grower does. */
  ASSERT_EQ(__atomic_exchange_n(&m->append_grow, 0u, __ATOMIC_ACQ_REL), 2u);
  mmapio__wake_u32(&m->append_grow);
  thread_join(&t);
  ASSERT_OK(a.rc);
  ASSERT_U64_EQ(a.off, 4096);
  ASSERT_U64_EQ(mmapio_logical_len(m), 4096 + REC);
  ASSERT(mmapio_len(m) >= 4096 + REC);
  /* The real grower left the word idle. */
  ASSERT_EQ(__atomic_load_n(&m->append_grow, __ATOMIC_ACQUIRE), 0u);

  uint8_t back[REC], want[REC];
  memset(want, 0x5A, sizeof want);
  ASSERT_OK(mmapio_read(m, 4096, back, REC));
  ASSERT_MEMEQ(back, want, REC);
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
  return 0;
}
