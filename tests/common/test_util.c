#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <process.h>
#  define test_getpid _getpid
#else
#  include <unistd.h>
#  define test_getpid getpid
#endif

char *test_tmp_path(const char *tag)
{
  static unsigned counter;
  const char *dir = getenv("MMAPIO_TEST_TMPDIR");
  if (dir == NULL || *dir == '\0') dir = getenv("TMPDIR");
#ifdef _WIN32
  if (dir == NULL || *dir == '\0') dir = getenv("TEMP");
  if (dir == NULL || *dir == '\0') dir = ".";
#else
  if (dir == NULL || *dir == '\0') dir = "/tmp";
#endif
  size_t n = strlen(dir) + strlen(tag) + 64;
  char *p = (char *)malloc(n);
  if (p == NULL) abort();
  snprintf(p, n, "%s/mmapio-%s-%d-%u", dir, tag, (int)test_getpid(), counter++);
  return p;
}

int test_write_file(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  if (len > 0 && fwrite(data, 1, len, f) != len) { fclose(f); return -1; }
  return fclose(f) == 0 ? 0 : -1;
}

void *test_read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 4096, n = 0;
  unsigned char *buf = (unsigned char *)malloc(cap);
  for (;;) {
    if (n == cap) { cap *= 2; buf = (unsigned char *)realloc(buf, cap); }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  *len = n;
  return buf;
}

void test_unlink(const char *path) { remove(path); }
