/*
 * test_stress_threads.c -- many threads, mixed operations, one file, then an
 * exact check of what is on disk.
 *
 * Layout of the file (L0 bytes, never shrunk below):
 *   [t*REGION, (t+1)*REGION)  region of writer thread t (only t writes it)
 *   COUNTERS                  one u64 per writer + one shared u64
 * Threads, each for a fixed number of iterations (no time limits):
 *   - NWRITERS writers: random writes into their own region through
 *     mmapio_write, write views and segments; read back through
 *     mmapio_read and read views (must equal their private model); atomic
 *     fetch_add on their own counter and on the shared one (ATOMIC feature);
 *   - a resizer: grows the map past L0 and shrinks it back (EBUSY while an
 *     atomic pin is out is an allowed answer);
 *   - a flusher: flush and flush_range;
 *   - a reopener: opens and closes a second read-only fault-safe map of the
 *     file and reads the regions through it.
 * At the end the map is flushed and closed, and the file must hold exactly
 * each writer's model and the counters' exact totals. Runs under TSan.
 */
#include "internal.h"
#include "test.h"

#define NWRITERS 4
#define REGION (64u * 1024u)
#define ITERS 3000u
#define L0 ((uint64_t)NWRITERS * REGION + 4096u)
#define COUNTERS ((uint64_t)NWRITERS * REGION)

static mmapio_map *m;
static char *path;
static int have_atomic;
static int done_writers;

typedef struct {
  int id;
  uint8_t model[REGION];
  int bad;
  char why[160];
} writer;

static uint32_t rnd(uint32_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

#define CHECK(w, cond, ...)                                                  \
  do {                                                                       \
    if (!(cond)) {                                                           \
      snprintf((w)->why, sizeof (w)->why, __VA_ARGS__);                      \
      (w)->bad = 1;                                                          \
      return;                                                                \
    }                                                                        \
  } while (0)

static void writer_main(void *arg)
{
  writer *w = (writer *)arg;
  uint32_t s = 0x9E3779B9u * (uint32_t)(w->id + 1);
  uint64_t base = (uint64_t)w->id * REGION;
  uint8_t buf[512];
  for (uint32_t i = 0; i < ITERS; i++) {
    uint32_t off = rnd(&s) % (REGION - sizeof buf);
    uint32_t len = 1u + rnd(&s) % (uint32_t)sizeof buf;
    uint8_t v = (uint8_t)(rnd(&s) | 1u);
    int rc;
    switch (rnd(&s) % 6u) {
    case 0: case 1:
      memset(buf, v, len);
      rc = mmapio_write(m, base + off, buf, len);
      CHECK(w, rc == MMAPIO_OK, "write: %d %s", rc, mmapio_last_error());
      memset(w->model + off, v, len);
      break;
    case 2: {
      mmapio_view_mut vm;
      rc = mmapio_view_get_mut(&vm, m, base + off, len);
      CHECK(w, rc == MMAPIO_OK, "view_get_mut: %d %s", rc, mmapio_last_error());
      memset(vm.data, v, len);
      rc = mmapio_view_mut_release(&vm);
      CHECK(w, rc == MMAPIO_OK, "view_mut_release: %d", rc);
      memset(w->model + off, v, len);
      break;
    }
    case 3: {
      mmapio_segment sg;
      rc = mmapio_segment_init(&sg, m, base, REGION);
      CHECK(w, rc == MMAPIO_OK, "segment_init: %d", rc);
      memset(buf, v, len);
      rc = mmapio_segment_write(&sg, off, buf, len);
      mmapio_segment_release(&sg);
      CHECK(w, rc == MMAPIO_OK, "segment_write: %d %s", rc, mmapio_last_error());
      memset(w->model + off, v, len);
      break;
    }
    case 4:
      rc = mmapio_read(m, base + off, buf, len);
      CHECK(w, rc == MMAPIO_OK, "read: %d %s", rc, mmapio_last_error());
      CHECK(w, memcmp(buf, w->model + off, len) == 0, "read content at %u", off);
      break;
    default: {
      mmapio_view vw;
      rc = mmapio_view_get(&vw, m, base + off, len);
      CHECK(w, rc == MMAPIO_OK, "view_get: %d %s", rc, mmapio_last_error());
      int same = memcmp(vw.data, w->model + off, len) == 0;
      mmapio_view_release(&vw);
      CHECK(w, same, "view content at %u", off);
      break;
    }
    }
    if (have_atomic) {
      mmapio_atomic a;
      rc = mmapio_atomic_u64_array(&a, m, COUNTERS, NWRITERS + 1);
      CHECK(w, rc == MMAPIO_OK, "atomic: %d %s", rc, mmapio_last_error());
      uint64_t *c = (uint64_t *)a.ptr;
      mmapio_fetch_add_u64(c + w->id, 1, MMAPIO_ORDER_RELAXED);
      mmapio_fetch_add_u64(c + NWRITERS, 1, MMAPIO_ORDER_ACQ_REL);
      mmapio_atomic_release(&a);
    }
  }
  __atomic_fetch_add(&done_writers, 1, __ATOMIC_SEQ_CST);
}

static int aux_bad;
static char aux_why[160];

static void resizer_main(void *arg)
{
  (void)arg;
  for (uint32_t i = 0; i < 400; i++) {
    uint64_t target = (i % 2u == 0) ? L0 + (uint64_t)(1u + i % 7u) * 4096u : L0;
    int rc = mmapio_resize(m, target);
#ifdef _WIN32
    /* Windows cannot change the length of a file that another mapping (the
     * reopener's) has mapped: SetEndOfFile fails with
     * ERROR_USER_MAPPED_FILE, reported as EACCES. */
    if (rc == MMAPIO_EACCES) continue;
#endif
    if (rc != MMAPIO_OK && rc != MMAPIO_EBUSY) {
      aux_bad = 1;
      snprintf(aux_why, sizeof aux_why, "resize(%llu): %d %s", (unsigned long long)target, rc,
               mmapio_last_error());
      return;
    }
  }
  /* Leave it at L0 (retry while pins are out). */
  int rc;
  while ((rc = mmapio_resize(m, L0)) == MMAPIO_EBUSY || rc == MMAPIO_EACCES) mmapio__sleep_ms(1);
}

static void flusher_main(void *arg)
{
  (void)arg;
  for (uint32_t i = 0; i < 300; i++) {
    int rc = (i % 2u) ? mmapio_flush(m) : mmapio_flush_range(m, (uint64_t)(i % NWRITERS) * REGION, REGION);
    if (rc != MMAPIO_OK) {
      aux_bad = 2;
      snprintf(aux_why, sizeof aux_why, "flush: %d %s", rc, mmapio_last_error());
      return;
    }
  }
}

static void reopener_main(void *arg)
{
  (void)arg;
  uint8_t buf[256];
  for (uint32_t i = 0; i < 200; i++) {
    mmapio_options o;
    mmapio_options_init(&o);
    o.mode = MMAPIO_MODE_READ_ONLY;
    /* The resizer may shrink the file under it: fault safety turns that into
     * EFAULT. Without the feature this reader only reads what stays. */
    o.flags = mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE) ? MMAPIO_OPEN_FAULT_SAFE : 0u;
    mmapio_map *r = NULL;
    int rc = mmapio_open(&r, path, &o);
    if (rc != MMAPIO_OK) {
      aux_bad = 3;
      snprintf(aux_why, sizeof aux_why, "open_ro: %d %s", rc, mmapio_last_error());
      return;
    }
    for (uint64_t off = 0; off < COUNTERS; off += REGION / 4u) {
      rc = mmapio_read(r, off, buf, sizeof buf);
      if (rc != MMAPIO_OK) {
        aux_bad = 4;
        snprintf(aux_why, sizeof aux_why, "read via second map: %d %s", rc, mmapio_last_error());
        break;
      }
    }
    if (mmapio_close(r) != MMAPIO_OK) aux_bad = 5;
    if (aux_bad) return;
  }
}

int main(void)
{
  path = test_tmp_path("stress");
  have_atomic = mmapio_has_feature(MMAPIO_FEATURE_ATOMIC);
  ASSERT_OK(mmapio_create_rw(&m, path, L0));

  static writer ws[NWRITERS];
  mmapio__thread th[NWRITERS + 3];
  for (int i = 0; i < NWRITERS; i++) {
    ws[i].id = i;
    ASSERT_OK(mmapio__thread_start(&th[i], writer_main, &ws[i]));
  }
  ASSERT_OK(mmapio__thread_start(&th[NWRITERS], resizer_main, NULL));
  ASSERT_OK(mmapio__thread_start(&th[NWRITERS + 1], flusher_main, NULL));
  ASSERT_OK(mmapio__thread_start(&th[NWRITERS + 2], reopener_main, NULL));
  for (int i = 0; i < NWRITERS + 3; i++) mmapio__thread_join(&th[i]);

  for (int i = 0; i < NWRITERS; i++)
    if (ws[i].bad) TEST_FAIL_("writer %d: %s", i, ws[i].why);
  if (aux_bad) TEST_FAIL_("helper thread: %s", aux_why);
  ASSERT_EQ(done_writers, NWRITERS);
  ASSERT_U64_EQ(mmapio_len(m), L0);

  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));

  size_t n = 0;
  uint8_t *back = (uint8_t *)test_read_file(path, &n);
  ASSERT(back != NULL);
  ASSERT_EQ(n, L0);
  for (int i = 0; i < NWRITERS; i++)
    if (memcmp(back + (size_t)i * REGION, ws[i].model, REGION) != 0)
      TEST_FAIL_("region %d differs from what thread %d wrote", i, i);
  if (have_atomic) {
    for (int i = 0; i <= NWRITERS; i++) {
      uint64_t c;
      memcpy(&c, back + COUNTERS + 8u * (unsigned)i, 8);
      ASSERT_U64_EQ(c, i < NWRITERS ? ITERS : (uint64_t)ITERS * NWRITERS);
    }
  }
  free(back);
  test_unlink(path);
  free(path);
  printf("stress: %d writers x %u ops + resize/flush/reopen threads: file exact\n", NWRITERS, ITERS);
  return 0;
}
