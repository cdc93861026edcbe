/*
 * open_cost.c -- mmapio-open-cost: N x (mmapio_open_ro + mmapio_close) of
 * one file, or with --raw N x (open + fstat + mmap + munmap + close), for
 * counting the user-space instructions of opening a map under
 * valgrind --tool=callgrind: run it for two N and divide the difference by
 * the difference of N (bench/open_cost.sh does that). Two warm-up rounds run
 * first, so the counts exclude first-use set-up (lazy binding, the first
 * map object, the first thread table).
 *
 * Usage: mmapio-open-cost [--raw] FILE N
 */
#define _POSIX_C_SOURCE 200809L
#include "mmapio.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int rounds_raw(const char *path, unsigned long n)
{
  for (unsigned long i = 0; i < n; i++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    struct stat st;
    if (fstat(fd, &st) != 0) return 1;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return 1;
    munmap(p, (size_t)st.st_size);
    close(fd);
  }
  return 0;
}

static int rounds_mmapio(const char *path, unsigned long n)
{
  for (unsigned long i = 0; i < n; i++) {
    mmapio_map *m;
    int rc = mmapio_open_ro(&m, path);
    if (rc == MMAPIO_OK) rc = mmapio_close(m);
    if (rc != MMAPIO_OK) {
      fprintf(stderr, "mmapio-open-cost: %s\n", mmapio_last_error());
      return 1;
    }
  }
  return 0;
}

int main(int argc, char **argv)
{
  int raw = argc > 1 && strcmp(argv[1], "--raw") == 0;
  if (argc != 3 + raw) {
    fprintf(stderr, "usage: mmapio-open-cost [--raw] FILE N\n");
    return 2;
  }
  const char *path = argv[1 + raw];
  unsigned long n = strtoul(argv[2 + raw], NULL, 10);
  int (*run)(const char *, unsigned long) = raw ? rounds_raw : rounds_mmapio;
  if (run(path, 2) != 0 || run(path, n) != 0) {
    if (raw) perror(path);
    return 1;
  }
  return 0;
}
