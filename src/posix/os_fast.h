/*
 * os_fast.h (POSIX) -- the backend calls of mmapio_open_ro and of its close,
 * defined inline so that the core's plain read-only open and close (map.c)
 * make their system calls without a call into the backend. Every backend
 * has an os_fast.h with these two functions and MMAPIO__OS_NOT_MAPPED
 * (src/win/os_fast.h); CMake puts
 * the platform's directory on the include path, and only map.c includes it.
 *
 * mmapio__os_open_map_ro: mmapio__os_open_stat (read access, existing file,
 * default permissions) and, for a regular file of 1 to MMAPIO_MAX_SIZE
 * bytes, mmapio__os_map of the whole file read-only into `om` (clean: all
 * zero, so offset 0). Returns
 *   MMAPIO_OK             opened (*f) and mapped, *len bytes; of `om`
 *                         only base and reserved are set (the core's
 *                         close of such a map resets just those);
 *   MMAPIO__OS_NOT_MAPPED opened (*f), *len bytes as mmapio__os_open_stat
 *                         reports, not mapped: the caller maps it the
 *                         general way (an empty file, a device, a length
 *                         above the limit, or a file whose length changed
 *                         when its mapping failed);
 *   a failure             recorded, as those two functions record it; *f
 *                         is then MMAPIO_INVALID_FILE, or the open file
 *                         when its mapping failed (the caller closes it).
 * The same system calls as the two functions make (so test hooks see the
 * same sequence) with one call instead of two.
 *
 * mmapio__os_unmap_close: the close of what mmapio__os_open_map_ro opened
 * and mapped (MMAPIO_OK): mmapio__os_unmap of the whole mapping (base not
 * NULL, delta 0) and mmapio__os_close_file(f) (f valid); `om` is left as
 * it was.
 */
#ifndef MMAPIO_OS_FAST_H
#define MMAPIO_OS_FAST_H

#include "posix_sys.h"

#include <assert.h>

#define MMAPIO__OS_NOT_MAPPED 1

#if defined(__GNUC__) || defined(__clang__)
#  define MMAPIO__OS_FAST_COLD __attribute__((cold))
#else
#  define MMAPIO__OS_FAST_COLD
#endif

/* The cold paths, out of line (posix_file.c), behind one call (so that the
 * plain path keeps no addresses for them): `stage` says what happened.
 * MMAPIO__RO_UNOPENED: the open failed (errno; EINTR is retried);
 * MMAPIO__RO_NO_STAT: its fstat failed (errno; EINTR is retried into *st);
 * MMAPIO__RO_OTHER: *st is anything but a plain regular file of 1 to
 * MMAPIO_MAX_SIZE bytes; MMAPIO__RO_UNMAPPED: the mapping of *len bytes
 * failed (errno). */
#define MMAPIO__RO_UNOPENED 0
#define MMAPIO__RO_NO_STAT 1
#define MMAPIO__RO_OTHER 2
#define MMAPIO__RO_UNMAPPED 3
MMAPIO__OS_FAST_COLD int mmapio__posix_open_ro_cold(mmapio_native_file *out, uint64_t *len,
                                                    const char *path, int stage, int fd,
                                                    struct stat *st);

/* The flags every open of mmapio__os_open_stat makes (open_flags in
 * posix_file.c adds the access and the creation to them), and those of its
 * open of an existing file for reading: O_NONBLOCK so that a FIFO or a
 * leased file does not block the open (posix_file.c retries a leased file
 * blocking). */
#ifdef O_NOCTTY
#  define MMAPIO__OPEN_BASE_FLAGS (O_CLOEXEC | O_NOCTTY)
#else
#  define MMAPIO__OPEN_BASE_FLAGS O_CLOEXEC
#endif
#define MMAPIO__OPEN_RO_FLAGS (O_RDONLY | MMAPIO__OPEN_BASE_FLAGS | O_NONBLOCK)

/* One attempt of open and of fstat, as the wrappers make each (the test
 * hooks see it as one call) but without their EINTR loop: an interrupted
 * attempt leads to the cold path of its failure, which retries it. */
static inline int mmapio__os_fast_open(const char *path)
{
  int e = MMAPIO__SYS_HOOK_("open", 0, 0, MMAPIO__OPEN_RO_FLAGS);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return MMAPIO__SYS_CALL(open)(path, MMAPIO__OPEN_RO_FLAGS, (mode_t)0666);
}
static inline int mmapio__os_fast_fstat(int fd, struct stat *st)
{
  int e = MMAPIO__SYS_HOOK_("fstat", 0, 0, 0);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return MMAPIO__SYS_CALL(fstat)(fd, st);
}

static inline int mmapio__os_open_map_ro(mmapio__os_mapping *om, mmapio_native_file *out,
                                         uint64_t *len, const char *path)
{
  struct stat st;
  int stage;
  int fd = mmapio__os_fast_open(path);
  if (MMAPIO__UNLIKELY(fd < 0)) {
    stage = MMAPIO__RO_UNOPENED;
    goto cold;
  }
  *out = fd;
  if (MMAPIO__UNLIKELY(mmapio__os_fast_fstat(fd, &st) != 0)) {
    stage = MMAPIO__RO_NO_STAT;
    goto cold;
  }
  /* 1 to MMAPIO_MAX_SIZE bytes: one unsigned compare (0 and below wrap). */
  if (MMAPIO__UNLIKELY(!S_ISREG(st.st_mode) ||
                       (uint64_t)st.st_size - 1u >= (uint64_t)MMAPIO_MAX_SIZE)) {
    stage = MMAPIO__RO_OTHER;
    goto cold;
  }
  uint64_t n = (uint64_t)st.st_size;
  void *p = mmapio__sys_mmap(NULL, (size_t)n, PROT_READ, MAP_SHARED, fd, 0);
  *len = n; /* after the call: the caller can use it without a reload */
  if (MMAPIO__UNLIKELY(p == MAP_FAILED)) {
    stage = MMAPIO__RO_UNMAPPED;
    goto cold;
  }
  om->base = (uint8_t *)p;
  om->reserved = n;
  return MMAPIO_OK;
cold:
  return mmapio__posix_open_ro_cold(out, len, path, stage, fd, &st);
}

static inline void mmapio__os_unmap_close(const mmapio__os_mapping *om, mmapio_native_file f)
{
  assert(om->base != NULL && om->delta == 0u && f >= 0);
  (void)mmapio__sys_munmap(om->base, (size_t)om->reserved);
  /* Not retried on EINTR (mmapio__os_close_file). */
  (void)mmapio__sys_close(f);
}

#endif /* MMAPIO_OS_FAST_H */
