/*
 * test_truncate_race.c -- another process truncates the file while four
 * threads keep reading and writing it through a MMAPIO_OPEN_FAULT_SAFE map.
 * No crash; every access either succeeds or returns MMAPIO_EFAULT; accesses
 * to the pages that remain never fail; at the end those pages hold exactly
 * the last value each thread wrote there.
 *
 * No timing: the threads run until each has seen the truncation (EFAULT on
 * the lost part) after the child reported it done, with a generous deadline
 * that only catches a hang.
 */
#include "internal.h"
#include "test.h"

#ifdef _WIN32
int main(void) { TEST_SKIP("a mapped file cannot be truncated on Windows"); }
#else

#include <sys/wait.h>
#include <unistd.h>

#define NPAGES 64u
#define KEEP 8u
#define NTHREADS 4

static size_t page;
static mmapio_map *m;
static volatile int truncated;  /* set (seq_cst) once the child is done */
static int started[NTHREADS];

typedef struct {
  int id;
  uint8_t last;        /* last value written to the thread's own page */
  unsigned ok_lost;    /* successful accesses to lost pages before the truncation */
  unsigned faults;     /* EFAULT seen */
  int bad;             /* an unexpected status */
} worker_state;

static void worker(void *arg)
{
  worker_state *w = (worker_state *)arg;
  uint8_t *buf = (uint8_t *)malloc(NPAGES * page);
  if (buf == NULL) { w->bad = MMAPIO_ENOMEM; return; }
  uint64_t own = (uint64_t)w->id * page; /* inside the kept pages */
  uint64_t deadline = mmapio__monotonic_ms() + 120000u;
  for (unsigned it = 0;; it++) {
    uint8_t v = (uint8_t)(it * 13u + (unsigned)w->id + 1u);
    memset(buf, v, page);
    int rc = mmapio_write(m, own, buf, page);
    if (rc != MMAPIO_OK) { w->bad = rc; break; }
    w->last = v;
    rc = mmapio_read(m, own, buf, page);
    if (rc != MMAPIO_OK || buf[0] != v || buf[page - 1] != v) { w->bad = rc ? rc : -100; break; }

    int was_truncated = __atomic_load_n(&truncated, __ATOMIC_SEQ_CST);
    /* The whole file: faults once the child truncated it. */
    rc = mmapio_read(m, 0, buf, NPAGES * page);
    if (rc == MMAPIO_EFAULT) w->faults++;
    else if (rc != MMAPIO_OK) { w->bad = rc; break; }
    /* A write into a lost page (a different page per thread). */
    uint64_t lost = (uint64_t)(KEEP + 4u * (unsigned)w->id + it % 4u) * page + it % 100u;
    rc = mmapio_write(m, lost, buf, 100);
    if (rc == MMAPIO_EFAULT) w->faults++;
    else if (rc != MMAPIO_OK) { w->bad = rc; break; }
    else if (was_truncated) { w->bad = -101; break; } /* must fault after the truncation */

    if (it == 50) __atomic_store_n(&started[w->id], 1, __ATOMIC_SEQ_CST);
    if (was_truncated && w->faults >= 2) break;
    if (mmapio__monotonic_ms() > deadline) { w->bad = -102; break; }
  }
  free(buf);
  /* Also when the thread stopped early, so main does not wait for it. */
  __atomic_store_n(&started[w->id], 1, __ATOMIC_SEQ_CST);
}

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE))
    TEST_SKIP("the FAULT_SAFE feature is compiled out");
  TEST_SKIP_IF_SIGBUS_ADDR_WRONG();
  page = mmapio_page_size();
  char *path = test_tmp_path("trace");
  size_t total = NPAGES * page;
  uint8_t *zero = (uint8_t *)calloc(1, total);
  ASSERT(zero != NULL);
  ASSERT_EQ(test_write_file(path, zero, total), 0);
  free(zero);

  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_FAULT_SAFE;
  ASSERT_OK(mmapio_open(&m, path, &o));

  int go[2], done[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    if (truncate(path, (off_t)(KEEP * page)) != 0) _exit(3);
    if (write(done[1], "d", 1) != 1) _exit(4);
    _exit(0);
  }

  worker_state ws[NTHREADS];
  mmapio__thread th[NTHREADS];
  memset(ws, 0, sizeof ws);
  for (int i = 0; i < NTHREADS; i++) {
    ws[i].id = i;
    ASSERT_OK(mmapio__thread_start(&th[i], worker, &ws[i]));
  }
  /* Let every thread run a while on the intact file, then truncate. */
  uint64_t deadline = mmapio__monotonic_ms() + 120000u;
  for (int i = 0; i < NTHREADS; i++) {
    while (!__atomic_load_n(&started[i], __ATOMIC_SEQ_CST)) {
      ASSERT(mmapio__monotonic_ms() < deadline);
      mmapio__sleep_ms(1);
    }
  }
  ASSERT_EQ(write(go[1], "g", 1), 1);
  char c;
  ASSERT_EQ(read(done[0], &c, 1), 1);
  __atomic_store_n(&truncated, 1, __ATOMIC_SEQ_CST);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

  for (int i = 0; i < NTHREADS; i++) mmapio__thread_join(&th[i]);
  for (int i = 0; i < NTHREADS; i++) {
    if (ws[i].bad != 0) TEST_FAIL_("thread %d: unexpected status %d", i, ws[i].bad);
    ASSERT(ws[i].faults >= 2);
  }

  ASSERT_OK(mmapio_flush_range(m, 0, KEEP * page));
  ASSERT_OK(mmapio_close(m));
  size_t n = 0;
  uint8_t *back = (uint8_t *)test_read_file(path, &n);
  ASSERT(back != NULL);
  ASSERT_EQ(n, KEEP * page);
  for (int i = 0; i < NTHREADS; i++)
    for (size_t k = 0; k < page; k++)
      if (back[(size_t)i * page + k] != ws[i].last)
        TEST_FAIL_("page %d byte %zu: %u, want %u", i, k, back[(size_t)i * page + k], ws[i].last);
  free(back);
  test_unlink(path);
  free(path);
  close(go[0]); close(go[1]); close(done[0]); close(done[1]);
  printf("truncate race: %d threads, no crash, kept pages exact\n", NTHREADS);
  return 0;
}
#endif
