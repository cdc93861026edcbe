/*
 * posix_map.c -- mappings for the POSIX backend: map, anonymous map, unmap,
 * moving resize and flush.
 *
 * Reservations: a file mapping covers `reserved` bytes from offset 0, which
 * may extend past the end of the file (legal with mmap; touching those pages
 * would raise SIGBUS, and the core never touches bytes at or beyond the
 * length). Growing within the reservation therefore only needs the file to
 * grow. Anonymous maps keep the bytes between their length and their
 * reservation zero at all times, so growth within the reservation never
 * shows old data.
 *
 * Moving resize:
 *   Linux:    mremap(MREMAP_MAYMOVE) for files and private anonymous maps.
 *   portable: map anew, then unmap the old mapping (files); anonymous maps
 *             (and shared anonymous maps on Linux, whose shmem object cannot
 *             be extended by mremap) get a new mapping, a copy of the kept
 *             bytes and the old mapping unmapped.
 *
 * Windows (platform.h): a window at file offset om->offset is mapped from
 * the page below it; om->delta bytes precede om->base. The functions below
 * that take a window work on the real mapping: [om->base - delta, om->base
 * + reserved) at file offset om->offset - delta.
 *
 * Flush (docs/design.md, "Durability"): DATA is msync(MS_SYNC); FULL adds fsync
 * (F_FULLFSYNC on macOS); NONE starts writeback with sync_file_range on
 * Linux and msync(MS_ASYNC) elsewhere. MS_ASYNC is never used where
 * durability is promised: on Linux it writes nothing.
 */
#include "posix_sys.h"

#include <stdint.h>
#include <string.h>

static uint64_t page(void) { return (uint64_t)mmapio__os_page_size(); }

/* Bytes of address space actually covered by a reservation of `r` bytes. */
static uint64_t span(uint64_t r) { return mmapio__round_up(r, page()); }

/* POSIX maps a TRUNCATE's new length before the file changes
 * (MMAPIO__OS_MAP_BEYOND_EOF): nothing to ask beforehand. */
int mmapio__os_can_map(uint64_t offset, uint64_t reserve, const char *path)
{
  (void)offset;
  (void)reserve;
  (void)path;
  return MMAPIO_OK;
}

int mmapio__os_map(mmapio__os_mapping *om, mmapio_native_file f, mmapio_mode mode,
                   uint64_t len, uint64_t reserve, uint32_t open_flags, const char *path)
{
  /* Huge pages and touch hints are applied after mapping by hints.c. */
  (void)open_flags;
  om->base = NULL;
  om->reserved = 0;
  om->handle = NULL;
  /* mmap needs a page-multiple file offset: map from the page below (a
   * whole file starts at offset 0, which needs no division). */
  uint64_t d = om->offset != 0 ? om->offset % (uint64_t)mmapio__os_granularity() : 0u;
  om->delta = d;
  if (len == 0) return MMAPIO_OK; /* an empty read-only file: nothing to map */
  uint64_t r = reserve > len ? reserve : len;
  if (r > (uint64_t)SIZE_MAX - d || r + d > (uint64_t)SIZE_MAX - page() ||
      om->offset - d > (uint64_t)INT64_MAX)
    return mmapio__fail_os_status(MMAPIO_ENOMEM, ENOMEM, "mmap", path);
  int prot, flags;
  switch (mode) {
  case MMAPIO_MODE_READ_ONLY:
    prot = PROT_READ;
    flags = MAP_SHARED;
    break;
  case MMAPIO_MODE_COPY_ON_WRITE:
    /* Private and writable over a read-only descriptor: writes fault in
     * private copies and never reach the file. */
    prot = PROT_READ | PROT_WRITE;
    flags = MAP_PRIVATE;
    break;
  case MMAPIO_MODE_READ_WRITE:
  default:
    prot = PROT_READ | PROT_WRITE;
    flags = MAP_SHARED;
    break;
  }
  void *p = mmapio__sys_mmap(NULL, (size_t)(r + d), prot, flags, f, (off_t)(om->offset - d));
  if (p == MAP_FAILED) return mmapio__posix_map_failed(errno, path);
  om->base = (uint8_t *)p + d;
  om->reserved = r;
  return MMAPIO_OK;
}

int mmapio__posix_map_failed(int e, const char *path)
{
  /* ENODEV: the file system does not support mmap. */
  if (e == ENODEV) return mmapio__fail_os_status(MMAPIO_ENOTSUP, e, "mmap", path);
  return mmapio__fail_os(e, "mmap", path);
}

static int anon_flags(const mmapio__os_mapping *om)
{
  return (om->anon_shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
}

int mmapio__os_map_anon(mmapio__os_mapping *om, uint64_t len, uint32_t flags)
{
  om->base = NULL;
  om->reserved = 0;
  om->handle = NULL;
  om->anon_shared = (flags & MMAPIO_ANON_SHARED) != 0;
  uint64_t r = om->keep > len ? om->keep : len;
  if (r == 0) return MMAPIO_OK;
  if (r > (uint64_t)SIZE_MAX || r > (uint64_t)SIZE_MAX - page())
    return mmapio__fail_os_status(MMAPIO_ENOMEM, ENOMEM, "mmap", NULL);
  void *p = mmapio__sys_mmap(NULL, (size_t)r, PROT_READ | PROT_WRITE, anon_flags(om), -1, 0);
  if (p == MAP_FAILED) return mmapio__fail_os(errno, "mmap", NULL);
  om->base = (uint8_t *)p;
  om->reserved = r;
  return MMAPIO_OK;
}

void mmapio__os_unmap(mmapio__os_mapping *om, uint64_t len)
{
  (void)len; /* the whole reservation goes, whatever the length */
  if (om->base != NULL)
    (void)mmapio__sys_munmap(om->base - om->delta, (size_t)(om->reserved + om->delta));
  om->base = NULL;
  om->reserved = 0;
}

int mmapio__os_grow_in_place(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                             uint64_t new_len, const char *path)
{
  /* The reservation already maps [old_len, new_len) of the file, which the
   * core has extended; anonymous reservations are kept zero. */
  (void)f; (void)old_len;
  if (new_len > om->reserved)
    return mmapio__fail(MMAPIO_EINVAL, "grow(%s): %llu bytes exceed the reservation of %llu",
                        mmapio__path_or(path), (unsigned long long)new_len,
                        (unsigned long long)om->reserved);
  return MMAPIO_OK;
}

/* Release the address space of `om` beyond `keep_to` bytes (page aligned,
 * at least one page). Failure only leaves more address space mapped than
 * needed, which is harmless, so it is not reported. */
static void release_tail(mmapio__os_mapping *om, uint64_t keep_to)
{
  uint64_t have = span(om->reserved);
  if (keep_to >= have) return;
#if MMAPIO__LINUX
  /* Shrinking with mremap never moves the mapping. */
  if (mmapio__sys_mremap(om->base, (size_t)have, (size_t)keep_to, 0) == MAP_FAILED) return;
#else
  if (mmapio__sys_munmap(om->base + keep_to, (size_t)(have - keep_to)) != 0) return;
#endif
  om->reserved = keep_to;
}

/* The reservation to keep after a shrink to new_len: whole pages, never
 * below what was asked for at open. */
static uint64_t keep_after_shrink(const mmapio__os_mapping *om, uint64_t new_len)
{
  uint64_t k = span(new_len);
  uint64_t kk = span(om->keep);
  return k > kk ? k : kk;
}

/* Replace the mapping with a larger one of the file (the file has been
 * extended already). On failure errno is set and the old mapping stays. */
static int file_move(mmapio__os_mapping *om, mmapio_native_file f, uint64_t new_len,
                     uint64_t aoff)
{
#if MMAPIO__LINUX
  if (om->base != NULL) {
    void *p = mmapio__sys_mremap(om->base, (size_t)om->reserved, (size_t)new_len, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return -1;
    om->base = (uint8_t *)p;
    om->reserved = new_len;
    return 0;
  }
#endif
  void *p = mmapio__sys_mmap(NULL, (size_t)new_len, PROT_READ | PROT_WRITE, MAP_SHARED, f,
                             (off_t)aoff);
  if (p == MAP_FAILED) return -1;
  /* The new mapping is complete; an old one that cannot be unmapped only
   * wastes address space. */
  if (om->base != NULL) (void)mmapio__sys_munmap(om->base, (size_t)om->reserved);
  om->base = (uint8_t *)p;
  om->reserved = new_len;
  return 0;
}

/* On the real mapping (om->base is page aligned, lengths count from it);
 * the mapping starts at file offset `aoff`, so the file is aoff + len long. */
static int remap_file(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                      uint64_t new_len, int sparse, const char *path, uint64_t aoff)
{
  if (new_len > old_len) {
    /* The file first: mapping pages past the end would be legal, but the
     * disk space has to be known to exist before the mapping is used. */
    int rc = mmapio__os_file_set_size(f, aoff + old_len, aoff + new_len, sparse, path);
    if (rc != MMAPIO_OK) return rc;
    if (new_len <= om->reserved) return MMAPIO_OK;
    if (file_move(om, f, new_len, aoff) != 0) {
      int e = errno;
      /* mremap refuses a length beyond the address space (TASK_SIZE) with
       * EINVAL, where mmap says ENOMEM; every other argument is valid. */
      if (e == EINVAL) e = ENOMEM;
      /* Put the length back so that the map and the file agree again. */
      (void)mmapio__sys_ftruncate(f, (off_t)(aoff + old_len));
      return mmapio__fail_os(e, MMAPIO__LINUX && om->base != NULL ? "mremap" : "mmap", path);
    }
    return MMAPIO_OK;
  }
  /* Shrink: the file first (if that fails nothing has changed), then the
   * address space beyond the new end that is not part of the reservation
   * asked for at open. The kernel zeroes the tail of the last partial page,
   * so a later growth reads zeros there too. */
  int rc = mmapio__os_file_set_size(f, aoff + old_len, aoff + new_len, sparse, path);
  if (rc != MMAPIO_OK) return rc;
  if (om->base != NULL) release_tail(om, keep_after_shrink(om, new_len));
  return MMAPIO_OK;
}

/* Anonymous resize by copying into a fresh mapping of max(new_len, keep). */
static int anon_copy(mmapio__os_mapping *om, uint64_t old_len, uint64_t new_len)
{
  uint64_t r = om->keep > new_len ? om->keep : new_len;
  if (r > (uint64_t)SIZE_MAX || r > (uint64_t)SIZE_MAX - page())
    return mmapio__fail_os_status(MMAPIO_ENOMEM, ENOMEM, "mmap", NULL);
  void *p = mmapio__sys_mmap(NULL, (size_t)r, PROT_READ | PROT_WRITE, anon_flags(om), -1, 0);
  if (p == MAP_FAILED) return mmapio__fail_os(errno, "mmap", NULL);
  if (om->base != NULL) {
    memcpy(p, om->base, (size_t)(old_len < new_len ? old_len : new_len));
    (void)mmapio__sys_munmap(om->base, (size_t)om->reserved);
  }
  om->base = (uint8_t *)p;
  om->reserved = r;
  return MMAPIO_OK;
}

static int remap_anon(mmapio__os_mapping *om, uint64_t old_len, uint64_t new_len)
{
  if (new_len > old_len) {
    /* Bytes in [old_len, reserved) are zero by the invariant above. */
    if (new_len <= om->reserved) return MMAPIO_OK;
#if MMAPIO__LINUX
    if (!om->anon_shared && om->base != NULL) {
      void *p = mmapio__sys_mremap(om->base, (size_t)om->reserved, (size_t)new_len,
                                   MREMAP_MAYMOVE);
      if (p == MAP_FAILED) return mmapio__fail_os(errno, "mremap", NULL);
      om->base = (uint8_t *)p;
      om->reserved = new_len;
      return MMAPIO_OK;
    }
#endif
    return anon_copy(om, old_len, new_len);
  }
#if MMAPIO__LINUX
  if (!om->anon_shared && om->base != NULL) {
    uint64_t pg_end = span(new_len);
    uint64_t keep_to = keep_after_shrink(om, new_len);
    uint64_t have = span(om->reserved);
    if (keep_to > have) keep_to = have;
    /* Keep the invariant: the rest of the last page is cleared by hand;
     * whole pages that stay reserved are dropped, and private anonymous
     * pages read back as zero after MADV_DONTNEED. */
    if (pg_end > new_len && pg_end <= have) memset(om->base + new_len, 0, (size_t)(pg_end - new_len));
    if (keep_to > pg_end &&
        mmapio__sys_madvise(om->base + pg_end, (size_t)(keep_to - pg_end), MADV_DONTNEED) != 0)
      memset(om->base + pg_end, 0, (size_t)(keep_to - pg_end));
    release_tail(om, keep_to);
    return MMAPIO_OK;
  }
#endif
  return anon_copy(om, old_len, new_len);
}

int mmapio__os_remap(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                     uint64_t new_len, int sparse, const char *path)
{
  if (new_len == old_len) return MMAPIO_OK;
  if (new_len > (uint64_t)SIZE_MAX || new_len > (uint64_t)SIZE_MAX - page())
    return mmapio__fail_os_status(MMAPIO_ENOMEM, ENOMEM, f >= 0 ? "mremap" : "mmap", path);
  if (f < 0) return remap_anon(om, old_len, new_len);
  /* Work on the real mapping, which starts om->delta bytes before the
   * window (0 for whole files), and describe the window again after. */
  uint64_t d = om->delta;
  if (new_len > (uint64_t)SIZE_MAX - page() - d)
    return mmapio__fail_os_status(MMAPIO_ENOMEM, ENOMEM, "mremap", path);
  uint64_t keep = om->keep;
  if (om->base != NULL) {
    om->base -= d;
    om->reserved += d;
  }
  if (keep != 0) om->keep = keep + d;
  int rc = remap_file(om, f, old_len + d, new_len + d, sparse, path, om->offset - d);
  if (om->base != NULL) {
    om->base += d;
    om->reserved -= d;
  }
  om->keep = keep;
  return rc;
}

int mmapio__os_flush(mmapio__os_mapping *om, mmapio_native_file f, uint64_t off, uint64_t len,
                     mmapio_durability d, const char *path)
{
  if (f < 0) return MMAPIO_OK; /* anonymous: nothing to write back */
  /* The window's range on the real mapping, from the start of its page
   * (msync needs a page-aligned address); the file offset follows. */
  uint64_t dl = om->delta;
  uint8_t *rbase = om->base != NULL ? om->base - dl : NULL;
  off += dl;
  len += off % page();
  off -= off % page();
  /* Never msync beyond the mapping (ENOMEM); the caller's range is within
   * the length, so this only guards against misuse. */
  uint64_t have = om->base != NULL ? span(om->reserved + dl) : 0u;
  if (off >= have) len = 0;
  else if (len > have - off) len = have - off;

  if (d == MMAPIO_DURABLE_NONE) {
    if (len == 0) return MMAPIO_OK;
#if MMAPIO__LINUX
    /* Start writeback of the dirty pages of the range and return. Shared
     * file mappings mark pages dirty in the page cache on their first
     * write, so this sees mapped writes. The file offset of the real
     * mapping's start: */
    uint64_t aoff = om->offset - dl;
    if (mmapio__sys_sync_file_range(f, (off_t)(aoff + off), (off_t)len, SYNC_FILE_RANGE_WRITE) !=
        0) {
      int e = errno;
      /* Nothing to start on file systems without it: not an error for a
       * level that promises nothing. */
      if (e == ENOSYS || e == EINVAL || e == ESPIPE || e == EOPNOTSUPP) return MMAPIO_OK;
      return mmapio__fail_os(e, "sync_file_range", path);
    }
#else
    if (mmapio__sys_msync(rbase + off, (size_t)len, MS_ASYNC) != 0)
      return mmapio__fail_os(errno, "msync", path);
#endif
    return MMAPIO_OK;
  }

  if (len > 0) {
    int r = mmapio__sys_msync(rbase + off, (size_t)len, MS_SYNC);
    if (r != 0) return mmapio__fail_os(errno, "msync", path);
  }
  if (d == MMAPIO_DURABLE_FULL) {
    int r;
#if MMAPIO__APPLE
    /* fsync on macOS leaves the data in the drive's cache; F_FULLFSYNC
     * flushes it. File systems that refuse it get a plain fsync. */
    r = mmapio__sys_fullfsync(f);
    if (r == 0) return MMAPIO_OK;
    if (errno != ENOTSUP && errno != ENOTTY && errno != EINVAL)
      return mmapio__fail_os(errno, "fcntl(F_FULLFSYNC)", path);
#endif
    r = mmapio__sys_fsync(f);
    if (r != 0) return mmapio__fail_os(errno, "fsync", path);
  }
  return MMAPIO_OK;
}
