/*
 * What a crash leaves after mmapio_append (include/mmapio.h, section 17):
 * a child appends framed records and is SIGKILLed before it closes the map.
 * The file then holds every appended record, followed by a zero tail (the
 * unused capacity); scanning the frames finds the end, and after
 * mmapio_set_logical_len + mmapio_close the file is exactly that long.
 */
#include "test.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAYLOAD 1000u

int main(void)
{
  char *p = test_tmp_path("append-crash");
  const uint32_t n = 777;
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    mmapio_options o;
    mmapio_map *m = NULL;
    mmapio_options_init(&o);
    o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_ALLOW_EMPTY;
    o.max_size = 64u << 20;
    if (mmapio_open(&m, p, &o) != MMAPIO_OK) _exit(10);
    uint8_t rec[4 + PAYLOAD];
    for (uint32_t i = 0; i < n; i++) {
      uint32_t len = PAYLOAD; /* a non-zero length frames each record */
      memcpy(rec, &len, 4);
      memset(rec + 4, (int)(i % 251u) + 1, PAYLOAD);
      if (mmapio_append(m, rec, sizeof rec, NULL) != MMAPIO_OK) _exit(11);
    }
    uint64_t end = mmapio_logical_len(m);
    if (write(pp[1], &end, sizeof end) != (ssize_t)sizeof end) _exit(12);
    raise(SIGKILL); /* no close: the capacity is not cut */
    _exit(13);
  }
  close(pp[1]);
  uint64_t end = 0;
  ASSERT_EQ(read(pp[0], &end, sizeof end), (ssize_t)sizeof end);
  int ws = 0;
  ASSERT_EQ(waitpid(pid, &ws, 0), pid);
  ASSERT(WIFSIGNALED(ws));
  ASSERT_U64_EQ(end, (uint64_t)n * (4 + PAYLOAD));

  struct stat st;
  ASSERT_EQ(stat(p, &st), 0);
  ASSERT((uint64_t)st.st_size >= end); /* longer by at most one growth step */
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, p));
  ASSERT_U64_EQ(mmapio_logical_len(m), (uint64_t)st.st_size);
  /* Recovery: walk the frames until a zero length. */
  uint64_t off = 0;
  uint32_t count = 0;
  for (;;) {
    uint32_t len = 0;
    if (off + 4 > mmapio_len(m)) break;
    ASSERT_OK(mmapio_read(m, off, &len, 4));
    if (len == 0) break;
    uint8_t b[PAYLOAD];
    ASSERT_OK(mmapio_read(m, off + 4, b, PAYLOAD));
    ASSERT_EQ(b[0], (count % 251u) + 1);
    ASSERT_EQ(b[PAYLOAD - 1], (count % 251u) + 1);
    off += 4 + len;
    count++;
  }
  ASSERT_EQ(count, n);
  ASSERT_U64_EQ(off, end);
  for (uint64_t z = off; z < mmapio_len(m); z += 997) {
    uint8_t c = 1;
    ASSERT_OK(mmapio_read(m, z, &c, 1));
    ASSERT_EQ(c, 0);
  }
  ASSERT_OK(mmapio_set_logical_len(m, off));
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(stat(p, &st), 0);
  ASSERT_U64_EQ((uint64_t)st.st_size, end);
  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
