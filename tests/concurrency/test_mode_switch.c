/*
 * The reader/writer protocol switches a map between two modes (src/lock.c):
 * asymmetric (readers: compiler barrier; writers: process-wide heavy
 * barrier) and symmetric (readers: full fence; writers: none), going
 * symmetric when writes are frequent and back when they become rare. This
 * test drives a map through write-heavy, calm and write-heavy phases while
 * readers check that every record they see through a view or mmapio_read is
 * whole. Mode changes while readers are inside the fast path are exactly
 * what could tear a record, so any unsafe switch shows up as a torn record.
 *
 * The phases are bounded by counts, never by time; the modes observed are
 * printed (they depend on how fast the machine is) but only correctness is
 * asserted. Runs under TSan too.
 */
#include "test.h"

#include "internal.h"

#define REC 64u
#define NREC 64u
#define NREADERS 2
#define BURST 4096u /* a multiple of NREC */
#define CALM 140u /* two of the protocol's calm check intervals (64 writes) */

static mmapio_map *M;
static int done;
static int saw_symmetric, saw_back;

static void *reader(void *arg)
{
  unsigned id = (unsigned)(uintptr_t)arg;
  uint8_t buf[REC];
  unsigned i = 0;
  while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
    unsigned r = (i * 17u + id) % NREC;
    if (i % 2 == 0) {
      mmapio_view v;
      THREAD_CHECK(mmapio_view_get(&v, M, (uint64_t)r * REC, REC) == MMAPIO_OK);
      int ok = all_bytes(v.data, REC, v.data[0]);
      mmapio_view_release(&v);
      THREAD_CHECK(ok);
    } else {
      THREAD_CHECK(mmapio_read(M, (uint64_t)r * REC, buf, REC) == MMAPIO_OK);
      THREAD_CHECK(all_bytes(buf, REC, buf[0]));
    }
    i++;
  }
  return NULL;
}

static void *write_burst(unsigned n, unsigned salt)
{
  uint8_t buf[REC];
  for (unsigned i = 0; i < n; i++) {
    unsigned r = i % NREC;
    uint8_t v = (uint8_t)(i * 3u + salt);
    if (i % 3 == 0) {
      mmapio_view_mut w;
      THREAD_CHECK(mmapio_view_get_mut(&w, M, (uint64_t)r * REC, REC) == MMAPIO_OK);
      memset(w.data, v, REC);
      THREAD_CHECK(mmapio_view_mut_release(&w) == MMAPIO_OK);
    } else {
      memset(buf, v, REC);
      THREAD_CHECK(mmapio_write(M, (uint64_t)r * REC, buf, REC) == MMAPIO_OK);
    }
    if (__atomic_load_n(&M->rfence, __ATOMIC_RELAXED)) saw_symmetric = 1;
  }
  return NULL;
}

static void *writer(void *arg)
{
  (void)arg;
  void *r = write_burst(BURST, 1);
  if (r != NULL) return r;
  /* Calm: a few writes with pauses, which lets the map go back to the
   * asymmetric mode. */
  for (unsigned i = 0; i < CALM; i++) {
    r = write_burst(1, (uint8_t)i);
    if (r != NULL) return r;
    sleep_ms(4);
  }
  if (saw_symmetric && !__atomic_load_n(&M->rfence, __ATOMIC_RELAXED)) saw_back = 1;
  return write_burst(BURST, 7);
}

int main(void)
{
  char *p = test_tmp_path("mode");
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, NREC * REC);
  ASSERT_OK(mmapio_open(&M, p, &o));

  test_thread r[NREADERS], w;
  for (int i = 0; i < NREADERS; i++) thread_start(&r[i], reader, (void *)(uintptr_t)i);
  thread_start(&w, writer, NULL);
  void *wr = thread_join(&w);
  __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
  int bad = wr != NULL;
  for (int i = 0; i < NREADERS; i++) bad |= thread_join(&r[i]) != NULL;
  if (bad) TEST_FAIL_("a thread saw a torn record or an error");

  /* The last burst wrote record k last with value (i*3+7) for the largest
   * i < BURST with i % NREC == k. */
  for (unsigned k = 0; k < NREC; k++) {
    unsigned i = BURST - NREC + k;
    uint8_t want = (uint8_t)(i * 3u + 7u);
    uint8_t got[REC];
    ASSERT_OK(mmapio_read(M, (uint64_t)k * REC, got, REC));
    ASSERT(all_bytes(got, REC, want));
  }
  printf("protocol: %s; symmetric phase %s; back to asymmetric after the calm phase: %s\n",
         mmapio__reader_fence ? "readers always fence (no heavy barrier here)"
                              : "asymmetric barrier available",
         saw_symmetric ? "seen" : "not seen", saw_back ? "yes" : "no");
  ASSERT_OK(mmapio_close(M));
  test_unlink(p);
  free(p);
  return 0;
}
