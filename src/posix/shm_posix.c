/*
 * shm_posix.c -- named shared memory (shm_open) and descriptor-passable
 * anonymous memory (memfd_create) for the POSIX backend.
 *
 * A shared-memory object is a file without a directory entry in the normal
 * file system, so once it is open the rest of the library treats it as a
 * file map: the same mmap, msync (cheap: nothing to write back), ftruncate
 * and mremap paths. What this file adds is the name handling, sizing on
 * create, and waiting for a creator that has not sized the object yet.
 */
#include "posix_sys.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if MMAPIO__LINUX
#  include <sys/syscall.h>
#endif

#ifndef NAME_MAX
#  define NAME_MAX 255
#endif

size_t mmapio__os_shm_name_max(void)
{
#if MMAPIO__APPLE
  return 30; /* PSHMNAMLEN is 31 including the leading '/' */
#else
  return (size_t)NAME_MAX - 1u;
#endif
}

/* "/" + name, in a buffer the caller provides (the core checked the length). */
static void shm_full_name(char *buf, size_t n, const char *name)
{
  (void)snprintf(buf, n, "/%s", name);
}

static void shm_sleep_1ms(void)
{
  struct timespec ts = {0, 1000000L};
  (void)nanosleep(&ts, NULL);
}

int mmapio__os_shm_open(mmapio_native_file *f, mmapio__os_mapping *om, uint64_t *len,
                        const char *name, uint64_t size, int create)
{
  char full[NAME_MAX + 2];
  int created = 0, fd = -1, rc;
  *f = MMAPIO_INVALID_FILE;
  *len = 0;
  shm_full_name(full, sizeof full, name);

  /* Open-or-create without a check-then-open race: try the exclusive
   * create first, and open what someone else created on EEXIST. */
  for (int tries = 0; tries < 16 && fd < 0; tries++) {
    if (create != MMAPIO__CREATE_NO) {
      fd = shm_open(full, O_RDWR | O_CREAT | O_EXCL, 0666);
      if (fd >= 0) {
        created = 1;
        break;
      }
      if (errno != EEXIST || create == MMAPIO__CREATE_EXCL)
        return mmapio__fail_os(errno, "shm_open", full);
    }
    fd = shm_open(full, O_RDWR, 0);
    if (fd >= 0) break;
    if (errno != ENOENT || create == MMAPIO__CREATE_NO) return mmapio__fail_os(errno, "shm_open", full);
    /* It vanished between our two calls: start over. */
  }
  if (fd < 0) return mmapio__fail_os(ENOENT, "shm_open", full);
  /* shm_open sets FD_CLOEXEC (POSIX requires it); make sure anyway. */
  (void)mmapio__sys_fcntl(fd, F_SETFD, FD_CLOEXEC);

  if (created) {
    int r = mmapio__sys_ftruncate(fd, (off_t)size);
    if (r != 0) {
      rc = mmapio__fail_os(errno, "ftruncate", full);
      goto fail;
    }
    *len = size;
  } else {
    /* The creator makes the object and sizes it in two steps; give it a
     * moment (up to ~200 ms) before calling an empty object an error. */
    for (int waits = 0;; waits++) {
      rc = mmapio__os_file_size(len, fd, full);
      if (rc != MMAPIO_OK) goto fail;
      if (*len > 0 || waits >= 200) break;
      shm_sleep_1ms();
    }
    if (*len == 0) {
      rc = mmapio__fail(MMAPIO_ESIZE, "mmapio_shm_open(%s): Cannot map zero-length object", full);
      goto fail;
    }
    if (*len > MMAPIO_MAX_SIZE) {
      rc = mmapio__fail(MMAPIO_ESIZE, "Size %llu exceeds maximum safe limit of %llu bytes",
                        (unsigned long long)*len, (unsigned long long)MMAPIO_MAX_SIZE);
      goto fail;
    }
  }
  rc = mmapio__os_map(om, fd, MMAPIO_MODE_READ_WRITE, *len, *len, 0, full);
  if (rc != MMAPIO_OK) goto fail;
  *f = fd;
  return MMAPIO_OK;

fail:
  mmapio__posix_close_quiet(fd);
  if (created) {
    int saved = errno;
    (void)shm_unlink(full);
    errno = saved;
  }
  *len = 0;
  return rc;
}

int mmapio__os_shm_remove(const char *name)
{
  char full[NAME_MAX + 2];
  shm_full_name(full, sizeof full, name);
  if (shm_unlink(full) != 0) return mmapio__fail_os(errno, "shm_unlink", full);
  return MMAPIO_OK;
}

int mmapio__os_shm_resizable(void) { return 1; }

int mmapio__os_memfd(mmapio_native_file *out, uint64_t size)
{
  *out = MMAPIO_INVALID_FILE;
#if MMAPIO__LINUX && defined(SYS_memfd_create)
  /* The raw syscall: memfd_create() is in glibc only since 2.27. */
  int fd = (int)syscall(SYS_memfd_create, "mmapio-anon", 1u /* MFD_CLOEXEC */);
  if (fd < 0) return mmapio__fail_os(errno, "memfd_create", "<anonymous>");
  int r = mmapio__sys_ftruncate(fd, (off_t)size);
  if (r != 0) {
    int rc = mmapio__fail_os(errno, "ftruncate", "<memfd>");
    mmapio__posix_close_quiet(fd);
    return rc;
  }
  *out = fd;
  return MMAPIO_OK;
#else
  (void)size;
  return mmapio__fail(MMAPIO_ENOTSUP,
                      "mmapio_anon: MMAPIO_ANON_FD needs memfd_create (Linux); use mmapio_shm_open");
#endif
}

/* ---- Clock for the statistics (stats.c) -------------------------------- */
uint64_t mmapio__os_monotonic_ns(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
