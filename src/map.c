/*
 * map.c -- opening, closing, accessors, reads, writes, views and resize.
 *
 * Portable: every OS interaction goes through platform.h. The lock protocol
 * is described in internal.h; the rules enforced here are include/mmapio.h sections
 * 4, 5 and 7.
 */
#include "internal.h"
#include "os_fast.h" /* the backend's (src/posix/ or src/win/): mmapio_open_ro, its close */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mmapio__next_uid = 1;

#if defined(__GNUC__) || defined(__clang__)
#  define MMAPIO__COLD __attribute__((noinline, cold))
#  define MMAPIO__NOINLINE __attribute__((noinline))
#  define MMAPIO__INLINE static inline __attribute__((always_inline))
#else
#  define MMAPIO__COLD
#  define MMAPIO__NOINLINE
#  define MMAPIO__INLINE static inline
#endif

/* Address of byte `off`; the base of an empty mapping is NULL and is never
 * offset (pointer arithmetic on NULL is undefined). */
static inline uint8_t *mmapio__at(const mmapio_map *m, uint64_t off)
{
  return m->om.base != NULL ? m->om.base + off : NULL;
}

/* ---- Options ------------------------------------------------------------ */

void mmapio_options_init(mmapio_options *o)
{
  if (o == NULL) return;
  memset(o, 0, sizeof *o);
  o->struct_size = (uint32_t)sizeof *o;
  o->mode = MMAPIO_MODE_READ_WRITE;
  o->touch = MMAPIO_TOUCH_NEVER;
  o->durability = MMAPIO_DURABLE_DATA;
  o->flush_policy.kind = MMAPIO_FLUSH_MANUAL;
}

static int mmapio__check_size(uint64_t size, int is_new_size)
{
  if (size == 0)
    return mmapio__fail(MMAPIO_ESIZE, is_new_size ? "New size must be greater than zero"
                                                  : "Size must be greater than zero");
  if (size > MMAPIO_MAX_SIZE)
    return mmapio__fail(MMAPIO_ESIZE,
                        is_new_size ? "New size %llu exceeds maximum safe limit of %llu bytes"
                                    : "Size %llu exceeds maximum safe limit of %llu bytes",
                        (unsigned long long)size, (unsigned long long)MMAPIO_MAX_SIZE);
  return MMAPIO_OK;
}

/* mmapio__check_size without a message. */
static int mmapio__size_valid(uint64_t size) { return size != 0 && size <= MMAPIO_MAX_SIZE; }
/* The options' size may be used for a create or truncate: valid, or 0 with
 * MMAPIO_OPEN_ALLOW_EMPTY. */
static int mmapio__opt_size_ok(const mmapio_options *o)
{
  return mmapio__size_valid(o->size) || (o->size == 0 && (o->flags & MMAPIO_OPEN_ALLOW_EMPTY));
}

static int mmapio__mode_valid(int mode)
{
  return mode == MMAPIO_MODE_READ_ONLY || mode == MMAPIO_MODE_READ_WRITE ||
         mode == MMAPIO_MODE_COPY_ON_WRITE;
}

/* The window of the options in a file of `file_len` bytes: its length in
 * *win_len (see "Window maps" in mmapio.h). Offset 0 and length 0 are the
 * whole file. */
static int mmapio__window(uint64_t *win_len, const mmapio_options *o, uint64_t file_len,
                          const char *path)
{
  if (o->offset > file_len)
    return mmapio__fail(MMAPIO_EBOUNDS,
                        "mmapio_open(%s): window offset %llu is past the end of the file "
                        "(%llu bytes)",
                        path, (unsigned long long)o->offset, (unsigned long long)file_len);
  uint64_t avail = file_len - o->offset;
  if (o->length > avail)
    return mmapio__fail(MMAPIO_EBOUNDS,
                        "mmapio_open(%s): window [%llu, %llu) passes the end of the file "
                        "(%llu bytes)",
                        path, (unsigned long long)o->offset,
                        (unsigned long long)(o->offset + o->length), (unsigned long long)file_len);
  *win_len = o->length != 0 ? o->length : avail;
  return MMAPIO_OK;
}

/* Copy the caller's options into `o`, validating every field. */
static int mmapio__read_options(mmapio_options *o, const mmapio_options *in, const char *path)
{
  mmapio_options_init(o);
  if (in == NULL) return MMAPIO_OK;
  /* Older callers pass the size of the struct their header had (it only
   * grows at its end, a uint64_t field at a time): the fields they do not
   * know keep their defaults. The 1.0 struct ends before the window
   * fields. Accepted: the ends of the fields from there on, as this
   * compiler lays them out (on 32-bit x86 Linux a uint64_t field is
   * 4-byte aligned and the struct 68 bytes, so these are not multiples
   * of 8 everywhere). */
  const size_t v1_0 = offsetof(mmapio_options, offset);
  const size_t with_offset = offsetof(mmapio_options, length);
  if (in->struct_size != v1_0 && in->struct_size != with_offset && in->struct_size != sizeof *o)
    return mmapio__fail(MMAPIO_EVERSION,
                        "mmapio_open(%s): options struct_size %u not understood (this library "
                        "uses %u; call mmapio_options_init)",
                        path, (unsigned)in->struct_size, (unsigned)sizeof *o);
  memcpy(o, in, in->struct_size);
  o->struct_size = (uint32_t)sizeof *o;
  if (o->flags & ~(uint32_t)MMAPIO_OPEN_ALL_FLAGS_)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open(%s): unknown flag bits 0x%x", path,
                        (unsigned)(o->flags & ~(uint32_t)MMAPIO_OPEN_ALL_FLAGS_));
  if (!mmapio__mode_valid((int)o->mode))
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open(%s): unknown mode %d", path, (int)o->mode);
  if ((unsigned)o->touch > (unsigned)MMAPIO_TOUCH_EAGER)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open(%s): unknown touch hint %d", path,
                        (int)o->touch);
  if ((unsigned)o->durability > (unsigned)MMAPIO_DURABLE_NONE)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open(%s): unknown durability %d", path,
                        (int)o->durability);
  if ((unsigned)o->flush_policy.kind > (unsigned)MMAPIO_FLUSH_EVERY_MILLIS)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open(%s): unknown flush policy kind %d", path,
                        (int)o->flush_policy.kind);
  if (o->flush_policy.kind == MMAPIO_FLUSH_EVERY_MILLIS &&
      o->flush_policy.every > MMAPIO_FLUSH_MAX_MILLIS)
    return mmapio__fail(MMAPIO_EINVAL,
                        "mmapio_open(%s): flush period %llu ms out of range (0 = never, at most %llu)",
                        path, (unsigned long long)o->flush_policy.every,
                        (unsigned long long)MMAPIO_FLUSH_MAX_MILLIS);
  if (o->reserved0 != 0)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open(%s): reserved0 must be 0", path);
  if ((o->flags & (MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE)) &&
      o->mode != MMAPIO_MODE_READ_WRITE)
    return mmapio__fail(MMAPIO_EINVAL,
                        "mmapio_open(%s): MMAPIO_OPEN_CREATE/TRUNCATE need MMAPIO_MODE_READ_WRITE",
                        path);
  if ((o->flags & MMAPIO_OPEN_EXCLUSIVE) && !(o->flags & MMAPIO_OPEN_CREATE))
    return mmapio__fail(MMAPIO_EINVAL,
                        "mmapio_open(%s): MMAPIO_OPEN_EXCLUSIVE needs MMAPIO_OPEN_CREATE", path);
  if (o->max_size != 0 && o->mode != MMAPIO_MODE_READ_WRITE)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open(%s): max_size needs MMAPIO_MODE_READ_WRITE",
                        path);
  if (o->max_size > MMAPIO_MAX_SIZE)
    return mmapio__fail(MMAPIO_ESIZE, "Size %llu exceeds maximum safe limit of %llu bytes",
                        (unsigned long long)o->max_size, (unsigned long long)MMAPIO_MAX_SIZE);
  if (o->mode == MMAPIO_MODE_COPY_ON_WRITE && !MMAPIO_WITH_COW)
    return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_open(%s): copy-on-write is not built in", path);
  if ((o->flags & MMAPIO_OPEN_HUGE_PAGES) && !MMAPIO_WITH_HUGEPAGES)
    return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_open(%s): huge pages are not built in", path);
  if ((o->flags & MMAPIO_OPEN_FAULT_SAFE) && !MMAPIO_WITH_FAULT_SAFE)
    return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_open(%s): fault safety is not built in", path);
  /* TRUNCATE always sets the size; CREATE alone only when it creates the
   * file (0 means "keep the size" of an existing file), checked in open. */
  if ((o->flags & MMAPIO_OPEN_TRUNCATE) &&
      !(o->size == 0 && (o->flags & MMAPIO_OPEN_ALLOW_EMPTY))) {
    int rc = mmapio__check_size(o->size, 0);
    if (rc != MMAPIO_OK) return rc;
  }
  /* The window: checked here as far as it can be without the file, and
   * against the new length of a file about to be truncated, so that a
   * rejected window changes nothing on disk. */
  if (o->length > MMAPIO_MAX_SIZE)
    return mmapio__fail(MMAPIO_ESIZE, "Size %llu exceeds maximum safe limit of %llu bytes",
                        (unsigned long long)o->length, (unsigned long long)MMAPIO_MAX_SIZE);
  if (o->offset > (uint64_t)INT64_MAX - o->length)
    return mmapio__fail(MMAPIO_EBOUNDS,
                        "mmapio_open(%s): window offset %llu + length %llu passes the largest "
                        "file offset",
                        path, (unsigned long long)o->offset, (unsigned long long)o->length);
  if (o->length != 0 && o->max_size != 0)
    return mmapio__fail(MMAPIO_EINVAL,
                        "mmapio_open(%s): max_size needs a window that reaches the end of the "
                        "file (length 0)",
                        path);
  if (o->flags & MMAPIO_OPEN_TRUNCATE) {
    uint64_t wl = 0;
    int rc = mmapio__window(&wl, o, o->size, path);
    if (rc != MMAPIO_OK) return rc;
  }
  /* Checked before any file is created or truncated, so that a rejected
   * max_size changes nothing on disk. max_size bounds the window. */
  if (o->max_size != 0 && o->max_size < o->size - (o->offset < o->size ? o->offset : o->size) &&
      (o->flags & (MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE)))
    return mmapio__fail(MMAPIO_ESIZE, "mmapio_open(%s): max_size %llu is smaller than size %llu",
                        path, (unsigned long long)o->max_size, (unsigned long long)o->size);
  return MMAPIO_OK;
}

/* ---- Map objects -------------------------------------------------------- */

mmapio_map *mmapio__map_alloc(const char *path)
{
  static int locks_ready;
  if (MMAPIO__UNLIKELY(!mmapio__ld_acquire(&locks_ready))) {
    mmapio__locks_init();
    mmapio__st_release(&locks_ready, 1);
  }
  size_t n = path != NULL ? strlen(path) + 1 : 0;
  char *heap = NULL;
  if (MMAPIO__UNLIKELY(n > MMAPIO__PATH_INLINE)) {
    heap = (char *)malloc(n);
    if (heap == NULL) return NULL;
  }
  /* Map objects are reused, never freed (see mmapio__registry_reuse): a
   * pooled one comes back clean (zeroed, `stable` unlocked), live, with its
   * initialised mutexes and its dense index. */
  mmapio_map *m = mmapio__registry_reuse();
  if (MMAPIO__UNLIKELY(m == NULL)) {
    m = (mmapio_map *)calloc(1, sizeof *m);
    if (m == NULL || mmapio__map_index_get(&m->tidx) != MMAPIO_OK) {
      free(heap);
      free(m); /* never published */
      return NULL;
    }
    mmapio__mutex_init(&m->slot_mu);
    mmapio__mutex_init(&m->resize_mu);
    mmapio__registry_add(m);
  }
  /* MMAPIO__MAP_ALLOC_SET and MMAPIO__MAP_READY_SET: the fields set here
   * on every object, pooled ones too (a clean object may hold stale values
   * in the first, and holds mmapio_open_ro's values in the second). */
  m->mode = (mmapio_mode)0;
  m->fastro = 0;
  m->path = NULL;
  if (path != NULL) {
    m->path = heap != NULL ? heap : m->path_buf;
    memcpy(m->path, path, n);
  }
  m->uid = mmapio__fetch_add(&mmapio__next_uid, 1);
  m->refs = 1;
  m->file = MMAPIO_INVALID_FILE;
  m->roff = MMAPIO__NO_FAST; /* until an opener calls mmapio__map_fast_set */
  m->woff = MMAPIO__NO_FAST;
  m->xoff = MMAPIO__NO_FAST;
  m->voff = mmapio__entry_off(m->tidx);
  return m;
}

static void mmapio__map_free(mmapio_map *m)
{
  if (m->path != m->path_buf) free(m->path);
  m->path = NULL;
  mmapio__registry_retire(m); /* also frees the slots */
}

/* mmapio__map_destroy of a fastro map without slots (mmapio_open_ro's
 * map that the backend mapped in its one call and that no thread
 * borrowed): read-only and plain, so there is nothing to flush, no
 * flusher, no logical end, a descriptor of its own, a mapping (om.base
 * and om.reserved; the rest of om is 0) and an inline path. Unmap, close,
 * and put back exactly what such a map's life changed, so that the object
 * goes back to the pool clean (no zeroing of the whole object when it is
 * taken again). What the life of such a map can change: the fields set at
 * open (below), the huge-page answer (hints), `dying` (a reap). Everything
 * else it only reads, or changes and restores (holds, pins, portable
 * views); debug builds check the result (mmapio__registry_check_clean). */
MMAPIO__INLINE void mmapio__map_destroy_fastro(mmapio_map *m)
{
  mmapio__os_unmap_close(&m->om, m->file);
  /* uid, refs and file are set by every allocation (they need no reset,
   * see MMAPIO__MAP_ALLOC_SET); roff, voff, woff, xoff, mode, fastro and
   * path keep the values a clean object holds (MMAPIO__MAP_READY_SET); the
   * statistics stay 0 (a read-only map neither flushes nor resizes). */
  m->len = 0;
  m->rgate = 0;
  m->om.base = NULL;
  m->om.reserved = 0;
  m->huge_active = 0;
  m->dying = 0;
#ifndef NDEBUG
  mmapio__registry_check_clean(m);
#endif
  mmapio__registry_retire_clean(m);
}

/* Unmap, close and free; returns the final flush's status. Called when
 * nothing refers to or borrows the map any more (see lifetime.c). */
int mmapio__map_destroy(mmapio_map *m)
{
  if (m->fastro && m->slots == NULL) {
    mmapio__map_destroy_fastro(m);
    return MMAPIO_OK;
  }
  /* The guards of both calls, here: a map that was only read skips them. */
  if (m->in_flusher) mmapio__flusher_remove(m);
  /* The final flush also reports a sticky write-back error; a map that is
   * not read-write has nothing to flush (mmapio__flushable). */
  int rc = m->mode == MMAPIO_MODE_READ_WRITE ? mmapio__flush_final(m) : MMAPIO_OK;
  if (m->om.base != NULL) mmapio__os_unmap(&m->om, mmapio__len(m));
  if (m->logical1 != 0) {
    int rc2 = mmapio__logical_cut(m);
    if (rc == MMAPIO_OK) rc = rc2;
  }
  if (m->file != MMAPIO_INVALID_FILE && !(m->open_flags & MMAPIO_OPEN_BORROW_FD))
    mmapio__os_close_file(m->file);
  mmapio__map_free(m);
  return rc;
}

/* ---- Opening: the steps ------------------------------------------------ */
/*
 * mmapio_open is built from these steps, in this order, so that a failure
 * never leaves a created file behind and never changes an existing file:
 *   configure  copy the options into the map (cannot fail);
 *   memory     map the file (address space);
 *   extras     fault safety, huge pages, the background flusher;
 *   touch      the touch hint (after the content is final).
 * A new file is created without a visible name, sized, taken through every
 * step and only then published (mmapio__open_new). TRUNCATE of an existing
 * file runs every check that can fail -- size limits, address space, block
 * reservation -- before the first change (mmapio__open_truncate).
 */

/* The chain of a plain open (mmapio__open_valid down to the mapping) is
 * forced inline into each opener: the plain openers pass constant options,
 * so the compiler drops every branch their flags rule out and a plain
 * read-only open runs only what such a map needs, from the same code as
 * mmapio_open. */
#if defined(__GNUC__) || defined(__clang__)
#  define MMAPIO__OPEN_INLINE static inline __attribute__((always_inline))
#else
#  define MMAPIO__OPEN_INLINE static inline
#endif

/* Take the options; `f` is owned by m from now on. */
MMAPIO__OPEN_INLINE void mmapio__map_configure(mmapio_map *m, mmapio_native_file f,
                                              const mmapio_options *o)
{
  m->file = f;
  m->mode = o->mode;
  m->open_flags = o->flags;
  m->durability = o->durability;
  m->policy = o->flush_policy;
  if (m->mode != MMAPIO_MODE_READ_WRITE) {
    m->policy.kind = MMAPIO_FLUSH_MANUAL;
    m->policy.every = 0;
  }
  m->max_size = o->max_size;
  m->om.keep = o->max_size;
  m->om.offset = o->offset;
  mmapio__map_fast_set(m);
  m->fixed_window = o->length != 0;
}

/* The size rules of an open: an empty file only read-only, nothing above
 * MMAPIO_MAX_SIZE, max_size not below the length. */
MMAPIO__OPEN_INLINE int mmapio__check_open_len(const mmapio_map *m, uint64_t len,
                                               const mmapio_options *o)
{
  int empty_ok = (o->flags & MMAPIO_OPEN_ALLOW_EMPTY) != 0;
  if (len == 0 && m->mode != MMAPIO_MODE_READ_ONLY && !empty_ok && o->offset != 0)
    return mmapio__fail(MMAPIO_ESIZE,
                        "Cannot map zero-length file: the window at offset %llu is empty",
                        (unsigned long long)o->offset);
  if (len == 0 && m->mode != MMAPIO_MODE_READ_ONLY && !empty_ok)
    return mmapio__fail(MMAPIO_ESIZE, "Cannot map zero-length file");
  if (len > MMAPIO_MAX_SIZE)
    return mmapio__fail(MMAPIO_ESIZE, "Size %llu exceeds maximum safe limit of %llu bytes",
                        (unsigned long long)len, (unsigned long long)MMAPIO_MAX_SIZE);
  if (o->max_size != 0 && o->max_size < len)
    return mmapio__fail(MMAPIO_ESIZE,
                        "mmapio_open(%s): max_size %llu is smaller than the file (%llu bytes)",
                        mmapio__path_or(m->path), (unsigned long long)o->max_size,
                        (unsigned long long)len);
  return MMAPIO_OK;
}

/* The address space a mapping of `len` bytes reserves: max_size for a
 * read-write map that may grow in place. */
MMAPIO__OPEN_INLINE uint64_t mmapio__map_reserve(const mmapio_map *m, uint64_t len,
                                                 const mmapio_options *o)
{
  return m->mode == MMAPIO_MODE_READ_WRITE && o->max_size > len ? o->max_size : len;
}

/* Map `len` bytes of m->file. `follow`: the file is shared and `len` is
 * its length as queried, so when the mapping fails because another process
 * resized the file in between (some OSes, Windows, refuse a read-only
 * mapping longer than the file), look again and retry with the new length;
 * the original failure stays if the length did not change. */
MMAPIO__OPEN_INLINE int mmapio__map_memory(mmapio_map *m, uint64_t len, const mmapio_options *o,
                                           int follow)
{
  for (int tries = 0;; tries++) {
    int rc = mmapio__check_open_len(m, len, o);
    if (rc != MMAPIO_OK) return rc;
    if (len == 0) break;
    rc = mmapio__os_map(&m->om, m->file, m->mode, len, mmapio__map_reserve(m, len, o), o->flags,
                        m->path);
    if (rc == MMAPIO_OK) break;
    if (!follow) return rc;
    mmapio__saved_error e;
    mmapio__error_save(&e);
    uint64_t now_len = len;
    int rc2 = mmapio__os_file_size(&now_len, m->file, m->path);
    mmapio__error_restore(&e);
    if (tries >= 3 || rc2 != MMAPIO_OK) return rc;
    /* A window of explicit length does not follow the file's length. */
    if (o->length != 0 || now_len < o->offset || now_len - o->offset == len) return rc;
    len = now_len - o->offset;
  }
  m->len = len;
  return MMAPIO_OK;
}

/* Fault safety, huge pages and the background flusher: everything after
 * the mapping that can fail, but does not depend on the content. */
MMAPIO__OPEN_INLINE int mmapio__map_extras(mmapio_map *m, const mmapio_options *o)
{
  int rc;
  if (o->flags & MMAPIO_OPEN_FAULT_SAFE) {
    rc = mmapio__fault_enable(m);
    if (rc != MMAPIO_OK) return rc;
  }
  if (o->flags & MMAPIO_OPEN_HUGE_PAGES) mmapio__apply_huge_pages(m);
  if (m->mode == MMAPIO_MODE_READ_WRITE && m->policy.kind == MMAPIO_FLUSH_EVERY_MILLIS &&
      m->policy.every > 0) {
    rc = mmapio__flusher_add(m);
    if (rc != MMAPIO_OK) return rc;
  }
  return MMAPIO_OK;
}

MMAPIO__OPEN_INLINE int mmapio__map_touch(mmapio_map *m, const mmapio_options *o)
{
  if (o->touch == MMAPIO_TOUCH_NEVER || mmapio__len(m) == 0) return MMAPIO_OK;
  return mmapio__apply_touch_hint(m, o->touch);
}

/* Map the open file `f` (owned by m from now on), `len` bytes as queried,
 * and apply the options. */
MMAPIO__OPEN_INLINE int mmapio__map_finish(mmapio_map *m, mmapio_native_file f, uint64_t len,
                              const mmapio_options *o)
{
  mmapio__map_configure(m, f, o);
  int rc = mmapio__map_memory(m, len, o, 1);
  if (rc == MMAPIO_OK) rc = mmapio__map_extras(m, o);
  if (rc == MMAPIO_OK) rc = mmapio__map_touch(m, o);
  return rc;
}

/* Undo what the steps did to m (flusher, mapping, file), keeping the
 * object and its path for another attempt. */
static void mmapio__map_undo(mmapio_map *m)
{
  mmapio__flusher_remove(m);
  if (m->om.base != NULL) mmapio__os_unmap(&m->om, mmapio__len(m));
  /* A borrowed descriptor stays the caller's, also on failure. */
  if (m->file != MMAPIO_INVALID_FILE && !(m->open_flags & MMAPIO_OPEN_BORROW_FD))
    mmapio__os_close_file(m->file);
  m->file = MMAPIO_INVALID_FILE;
  m->len = 0;
  m->rgate = 0;
  memset(&m->om, 0, sizeof m->om);
}

/* Failure after the map object exists: undo the steps, free the object. */
static int mmapio__open_failed(mmapio_map *m, int rc)
{
  mmapio__map_undo(m);
  mmapio__map_free(m);
  return rc;
}

/* Remove a file this call created, keeping the detail of the failure that
 * made us remove it. */
static void mmapio__unlink_quiet(const char *path)
{
  mmapio__saved_error e;
  mmapio__error_save(&e);
  (void)mmapio__os_unlink(path);
  mmapio__error_restore(&e);
}

/* TRUNCATE of the existing file m->file (old_len bytes): checks first, then
 * the change. POSIX maps the new length before the file changes, so that
 * running out of address space changes nothing; Windows cannot map past
 * the end of a file and maps afterwards, after asking whether the address
 * space is there (a 32-bit process has 2 GiB). */
static int mmapio__open_truncate(mmapio_map *m, uint64_t old_len, const mmapio_options *o)
{
  int sparse = (o->flags & MMAPIO_OPEN_SPARSE) != 0;
  uint64_t wl = 0; /* the window in the truncated file */
  int rc = mmapio__window(&wl, o, o->size, m->path);
  if (rc == MMAPIO_OK && o->size > old_len) rc = mmapio__os_file_can_hold(m->file, o->size, m->path);
  if (rc == MMAPIO_OK && MMAPIO__OS_MAP_BEYOND_EOF) rc = mmapio__map_memory(m, wl, o, 0);
  if (rc == MMAPIO_OK && !MMAPIO__OS_MAP_BEYOND_EOF) rc = mmapio__check_open_len(m, wl, o);
  if (rc == MMAPIO_OK && !MMAPIO__OS_MAP_BEYOND_EOF && wl > 0)
    rc = mmapio__os_can_map(o->offset, mmapio__map_reserve(m, wl, o), m->path);
  if (rc == MMAPIO_OK) rc = mmapio__map_extras(m, o);
  if (rc == MMAPIO_OK) rc = mmapio__os_file_reset(m->file, old_len, o->size, sparse, m->path);
  if (rc == MMAPIO_OK && !MMAPIO__OS_MAP_BEYOND_EOF) rc = mmapio__map_memory(m, wl, o, 0);
  if (rc == MMAPIO_OK) rc = mmapio__map_touch(m, o);
  /* FULL: the name of the file just emptied is made durable too (it may
   * itself be new, created by someone who did not sync its directory). */
  if (rc == MMAPIO_OK && o->durability == MMAPIO_DURABLE_FULL) rc = mmapio__os_sync_dir(m->path);
  return rc;
}

/* Open the existing file at m->path; ENOENT when it is missing. */
MMAPIO__OPEN_INLINE int mmapio__open_existing(mmapio_map *m, const mmapio_options *o)
{
  int access = o->mode == MMAPIO_MODE_READ_WRITE ? MMAPIO__OPEN_RDWR : MMAPIO__OPEN_READ;
  int priv = (o->flags & MMAPIO_OPEN_PRIVATE_PERMS) != 0;
  mmapio_native_file f = MMAPIO_INVALID_FILE;
  uint64_t len = 0;
  int rc = mmapio__os_open_stat(&f, &len, m->path, access, MMAPIO__CREATE_NO, priv);
  if (rc != MMAPIO_OK) return rc;
  if ((o->flags & MMAPIO_OPEN_TRUNCATE) && mmapio__opt_size_ok(o)) {
    mmapio__map_configure(m, f, o);
    rc = mmapio__open_truncate(m, len, o);
  } else {
    rc = mmapio__window(&len, o, len, m->path);
    if (rc == MMAPIO_OK) {
      rc = mmapio__map_finish(m, f, len, o);
    } else {
      mmapio__os_close_file(f);
    }
  }
  if (rc != MMAPIO_OK) mmapio__map_undo(m);
  return rc;
}

/* Create m->path with o->size zero bytes: unnamed (or under a short
 * temporary name), sized, taken through every step, then published under
 * its name. EEXIST (nothing left behind) when the name exists by then.
 * SPARSE|TRUNCATE creates the name itself exclusively (EEXIST at once) and
 * removes it again on a later failure. */
static int mmapio__open_new(mmapio_map *m, const mmapio_options *o)
{
  int priv = (o->flags & MMAPIO_OPEN_PRIVATE_PERMS) != 0;
  int sparse = (o->flags & MMAPIO_OPEN_SPARSE) != 0;
  /* SPARSE|TRUNCATE may be seen empty while it is made, like the TRUNCATE
   * of an existing file: created under its name (see mmapio.h). */
  int direct = sparse && (o->flags & MMAPIO_OPEN_TRUNCATE) != 0;
  uint64_t wl = 0; /* the window in the new file */
  int rc = mmapio__window(&wl, o, o->size, m->path);
  if (rc != MMAPIO_OK) return rc;
  mmapio__os_newfile nf;
  rc = mmapio__os_newfile_open(&nf, m->path, priv, direct);
  if (rc != MMAPIO_OK) return rc;
  /* While the file is still empty: the only time btrfs takes the flag. */
  if (o->flags & MMAPIO_OPEN_NOCOW) rc = mmapio__os_file_nocow(nf.f, m->path);
  if (rc == MMAPIO_OK) rc = mmapio__os_file_set_size(nf.f, 0, o->size, sparse, m->path);
  if (rc == MMAPIO_OK) {
    mmapio__map_configure(m, nf.f, o);
    nf.f = MMAPIO_INVALID_FILE; /* m owns the descriptor now */
    rc = mmapio__map_memory(m, wl, o, 0);
    if (rc == MMAPIO_OK) rc = mmapio__map_extras(m, o);
    if (rc == MMAPIO_OK) rc = mmapio__map_touch(m, o);
    if (rc == MMAPIO_OK) {
      nf.f = m->file;
      rc = mmapio__os_newfile_publish(&nf, m->path);
      nf.f = MMAPIO_INVALID_FILE;
    }
  }
  if (rc != MMAPIO_OK) {
    mmapio__map_undo(m);
    mmapio__os_newfile_discard(&nf);
    return rc;
  }
  /* FULL durability covers the name too: one directory sync, now. */
  if (o->durability == MMAPIO_DURABLE_FULL) {
    rc = mmapio__os_sync_dir(m->path);
    if (rc != MMAPIO_OK) {
      mmapio__map_undo(m);
      mmapio__unlink_quiet(m->path);
      return rc;
    }
  }
  return MMAPIO_OK;
}

/* Create-or-open without a check-then-open race, and without ever showing
 * a new file with another length: an existing file is opened (and, with
 * TRUNCATE, truncated in place); a missing one is created by
 * mmapio__open_new. If someone else publishes the name first, open theirs
 * (unless EXCLUSIVE); if it vanishes in between, start over. A SPARSE
 * TRUNCATE creates first (the common case of create_rw, and a wasted
 * attempt costs little); a reserving one opens first, since a thrown-away
 * reservation of the whole size would cost much and could fail for space
 * that truncating in place does not need. */
static int mmapio__open_create(mmapio_map *m, const mmapio_options *o)
{
  int excl = (o->flags & MMAPIO_OPEN_EXCLUSIVE) != 0;
  int existing_first =
      !excl && !((o->flags & MMAPIO_OPEN_TRUNCATE) && (o->flags & MMAPIO_OPEN_SPARSE));
  int rc = MMAPIO_EEXIST;
  for (int tries = 0; tries < 16; tries++) {
    if (existing_first) {
      rc = mmapio__open_existing(m, o);
      if (rc != MMAPIO_ENOENT) return rc;
    }
    rc = mmapio__open_new(m, o);
    if (rc != MMAPIO_EEXIST || excl) return rc;
    existing_first = 1;
  }
  return rc;
}

/* mmapio_open after the options were read and validated (`o` is a full
 * struct of this library's size). */
MMAPIO__OPEN_INLINE int mmapio__open_valid(mmapio_map **out, const char *path,
                                           const mmapio_options *o)
{
  if (o->flags & MMAPIO_OPEN_BORROW_FD)
    return mmapio__fail(MMAPIO_EINVAL,
                        "mmapio_open(%s): MMAPIO_OPEN_BORROW_FD needs mmapio_open_fd_opts", path);
  /* With CREATE and an invalid size the file may only be opened, never
   * created: a missing file reports the size error. ALLOW_EMPTY makes size
   * 0 valid (an empty file is created). */
  int create = (o->flags & MMAPIO_OPEN_CREATE) != 0;
  int size_ok = mmapio__opt_size_ok(o);
  if (create && !size_ok && (o->flags & MMAPIO_OPEN_EXCLUSIVE))
    return mmapio__check_size(o->size, 0);

  mmapio_map *m = mmapio__map_alloc(path);
  if (m == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open(%s): out of memory", path);
  int rc;
  if (create && size_ok) {
    rc = mmapio__open_create(m, o);
  } else {
    rc = mmapio__open_existing(m, o);
    if (rc == MMAPIO_ENOENT && create) rc = mmapio__check_size(o->size, 0);
  }
  if (rc != MMAPIO_OK) return mmapio__open_failed(m, rc);
  mmapio__rgate_open(m); /* the fast paths may run from now on */
  *out = m;
  return MMAPIO_OK;
}

int mmapio_open(mmapio_map **out, const char *path, const mmapio_options *in)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open: out is NULL");
  *out = NULL;
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open: path is NULL");
  mmapio_options o;
  int rc = mmapio__read_options(&o, in, path);
  if (rc != MMAPIO_OK) return rc;
  return mmapio__open_valid(out, path, &o);
}

/* The options of mmapio_options_init with another mode: what the plain
 * openers pass, known valid, so they skip reading and checking them. */
#define MMAPIO__DEFAULT_OPTIONS(md)                                                       \
  {(uint32_t)sizeof(mmapio_options), 0u, (md), MMAPIO_TOUCH_NEVER, MMAPIO_DURABLE_DATA, 0u, \
   0u, 0u, {MMAPIO_FLUSH_MANUAL, 0u}, 0u, 0u}

MMAPIO__OPEN_INLINE int mmapio__open_plain(mmapio_map **out, const char *path,
                                           const mmapio_options *o)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open: out is NULL");
  *out = NULL;
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open: path is NULL");
  return mmapio__open_valid(out, path, o);
}

/* mmapio_open_ro's own path (below) for what it does not take: argument
 * errors, a long path, no pooled object. The general open of the same
 * options. */
static MMAPIO__COLD int mmapio__open_ro_general(mmapio_map **out, const char *path)
{
  static const mmapio_options o = MMAPIO__DEFAULT_OPTIONS(MMAPIO_MODE_READ_ONLY);
  return mmapio__open_plain(out, path, &o);
}

/* The rest of mmapio_open_ro after mmapio__os_open_map_ro did not map the
 * file (MMAPIO__OS_NOT_MAPPED: the general steps from the mapping on) or
 * failed (undo, free). */
static MMAPIO__COLD int mmapio__open_ro_rest(mmapio_map **out, mmapio_map *m, int rc)
{
  static const mmapio_options o = MMAPIO__DEFAULT_OPTIONS(MMAPIO_MODE_READ_ONLY);
  *out = NULL;
  /* Not a fastro map any more: its close takes the general way (which
   * handles any mapping, or none, and leaves the object to be zeroed). */
  m->fastro = 0;
  if (rc == MMAPIO__OS_NOT_MAPPED) rc = mmapio__map_finish(m, m->file, m->len, &o);
  if (rc != MMAPIO_OK) return mmapio__open_failed(m, rc);
  mmapio__rgate_open(m); /* the fast paths may run from now on */
  *out = m;
  return MMAPIO_OK;
}

/* The plain read-only open, the most frequent one, on a path of its own:
 * a pooled object is clean (everything zero but its index, and the fields
 * mmapio__map_ready fills in), so only the remaining fields a read-only map
 * with the default options has non-zero are set,
 * and one backend call opens, checks and maps the file. The result is the
 * map mmapio__open_valid makes of the same options (same checks, same
 * messages; mmapio__map_configure would store the same values), marked
 * fastro so that its close takes the short way too. */
int mmapio_open_ro(mmapio_map **out, const char *path)
{
  /* *out is set on every return: by the general open, by
   * mmapio__open_ro_rest, or to the new map at the end. */
  if (MMAPIO__UNLIKELY(out == NULL || path == NULL)) return mmapio__open_ro_general(out, path);
  size_t n = strlen(path) + 1;
  if (MMAPIO__UNLIKELY(n > MMAPIO__PATH_INLINE)) return mmapio__open_ro_general(out, path);
  mmapio_map *m = mmapio__registry_reuse();
  if (MMAPIO__UNLIKELY(m == NULL)) return mmapio__open_ro_general(out, path);
  memcpy(m->path_buf, path, n);
  m->uid = mmapio__fetch_add(&mmapio__next_uid, 1);
  m->refs = 1;
  /* A clean object holds the rest of what mmapio__map_configure and
   * mmapio__map_fast_set would store for the default options in READ_ONLY
   * mode (mmapio__map_ready: the mode, fastro, the fast-path offsets, the
   * inline path); the durability (DATA), policy (MANUAL), flags, max_size
   * and window are 0. */
  /* The length goes straight to m->len: nobody else sees m yet. The
   * caller's path (the bytes now in path_buf too) serves the backend, so
   * that path_buf's address need not be kept. */
  int rc = mmapio__os_open_map_ro(&m->om, &m->file, &m->len, path);
  if (MMAPIO__UNLIKELY(rc != MMAPIO_OK)) return mmapio__open_ro_rest(out, m, rc);
  /* The fast paths may run from now on: mmapio__rgate_open, whose value is
   * known here (rfence is 0 in a clean object, and the length, not 0, was
   * just stored by this thread). */
  uint64_t gate = m->len + 1u; /* read before the atomic load: no reload */
  mmapio__st_release(&m->rgate, mmapio__ld_relaxed(&mmapio__reader_fence) ? 0u : gate);
  *out = m;
  return MMAPIO_OK;
}

int mmapio_open_rw(mmapio_map **out, const char *path)
{
  static const mmapio_options o = MMAPIO__DEFAULT_OPTIONS(MMAPIO_MODE_READ_WRITE);
  return mmapio__open_plain(out, path, &o);
}

int mmapio_open_cow(mmapio_map **out, const char *path)
{
  static const mmapio_options o = MMAPIO__DEFAULT_OPTIONS(MMAPIO_MODE_COPY_ON_WRITE);
  if (!MMAPIO_WITH_COW && out != NULL && path != NULL) {
    /* The one check of the options that refuses the defaults (after the
     * argument checks of mmapio__open_plain, as mmapio_open orders them). */
    *out = NULL;
    return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_open(%s): copy-on-write is not built in", path);
  }
  return mmapio__open_plain(out, path, &o);
}

int mmapio_create_rw(mmapio_map **out, const char *path, uint64_t size)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  o.size = size;
  return mmapio_open(out, path, &o);
}

int mmapio_open_or_create(mmapio_map **out, const char *path, uint64_t default_size)
{
  /* CREATE without TRUNCATE: an existing file is opened as it is; the
   * default size is only checked when the file has to be created. */
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE;
  o.size = default_size;
  return mmapio_open(out, path, &o);
}

int mmapio_open_fd(mmapio_map **out, mmapio_native_file f, mmapio_mode mode, const char *path_hint)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd: out is NULL");
  *out = NULL;
  if (!mmapio__mode_valid((int)mode))
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd(%s): unknown mode %d",
                        path_hint != NULL ? path_hint : "<fd>", (int)mode);
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  return mmapio_open_fd_opts(out, f, &o, path_hint);
}

int mmapio_open_fd_opts(mmapio_map **out, mmapio_native_file f, const mmapio_options *in,
                        const char *path_hint)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd: out is NULL");
  *out = NULL;
  const char *name = path_hint != NULL ? path_hint : "<fd>";
  mmapio_options o;
  int rc = mmapio__read_options(&o, in, name);
  if (rc != MMAPIO_OK) return rc;
  /* The file exists and is open: nothing here creates, truncates or sizes it. */
  const uint32_t no_fd = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_EXCLUSIVE |
                         MMAPIO_OPEN_PRIVATE_PERMS;
  if (o.flags & no_fd)
    return mmapio__fail(MMAPIO_EINVAL,
                        "mmapio_open_fd(%s): flags 0x%x (CREATE/TRUNCATE/EXCLUSIVE/"
                        "PRIVATE_PERMS) do not apply to an open descriptor",
                        name, (unsigned)(o.flags & no_fd));
  if (o.size != 0)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd(%s): options size must be 0", name);
  if (f == MMAPIO_INVALID_FILE)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd(%s): invalid descriptor", name);
  mmapio_native_file use = MMAPIO_INVALID_FILE;
  int borrow = (o.flags & MMAPIO_OPEN_BORROW_FD) != 0;
  if (borrow)
    rc = mmapio__os_check_fd(f, o.mode == MMAPIO_MODE_READ_WRITE, name);
  else
    rc = mmapio__os_dup(&use, f, o.mode == MMAPIO_MODE_READ_WRITE, name);
  if (rc != MMAPIO_OK) return rc;
  if (borrow) use = f;
  mmapio_map *m = mmapio__map_alloc(path_hint);
  if (m == NULL) {
    if (!borrow) mmapio__os_close_file(use);
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open_fd(%s): out of memory", name);
  }
  m->file = use;
  m->open_flags = o.flags; /* from now on destroy knows not to close a borrowed fd */
  uint64_t len = 0;
  rc = mmapio__os_file_size(&len, use, name);
  if (rc == MMAPIO_OK) rc = mmapio__window(&len, &o, len, name);
  if (rc == MMAPIO_OK) rc = mmapio__map_finish(m, use, len, &o);
  if (rc != MMAPIO_OK) return mmapio__open_failed(m, rc);
  mmapio__rgate_open(m); /* the fast paths may run from now on */
  *out = m;
  return MMAPIO_OK;
}

int mmapio_anon(mmapio_map **out, uint64_t size, uint32_t flags)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_anon: out is NULL");
  *out = NULL;
  const uint32_t known = MMAPIO_ANON_SHARED | MMAPIO_ANON_HUGE_PAGES | MMAPIO_ANON_FD;
  if (flags & ~known)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_anon: unknown flag bits 0x%x",
                        (unsigned)(flags & ~known));
  if ((flags & MMAPIO_ANON_HUGE_PAGES) && !MMAPIO_WITH_HUGEPAGES)
    return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_anon: huge pages are not built in");
  int rc = mmapio__check_size(size, 0);
  if (rc != MMAPIO_OK) return rc;
  if (flags & MMAPIO_ANON_FD) return mmapio__anon_fd(out, size, flags); /* shm.c */
  mmapio_map *m = mmapio__map_alloc(NULL);
  if (m == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_anon: out of memory");
  m->is_anon = 1;
  m->mode = MMAPIO_MODE_READ_WRITE;
  mmapio__map_fast_set(m);
  m->policy.kind = MMAPIO_FLUSH_MANUAL;
  rc = mmapio__os_map_anon(&m->om, size, flags);
  if (rc != MMAPIO_OK) {
    mmapio__map_free(m);
    return rc;
  }
  m->len = size;
  if (flags & MMAPIO_ANON_HUGE_PAGES) {
    m->open_flags |= MMAPIO_OPEN_HUGE_PAGES;
    mmapio__apply_huge_pages(m);
  }
  mmapio__rgate_open(m); /* the fast paths may run from now on */
  *out = m;
  return MMAPIO_OK;
}

int mmapio_retain(mmapio_map *m)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_retain: map is NULL");
  mmapio__fetch_add(&m->refs, 1u);
  return MMAPIO_OK;
}

void mmapio__map_release_ref(mmapio_map *m)
{
  if (m == NULL) return;
  if (mmapio__fetch_sub(&m->refs, 1u) == 1u) mmapio__map_reap(m);
}

static int mmapio__close_general(mmapio_map *m);

/* The close of a fastro map that no thread ever borrowed: the checks of
 * mmapio__close_general for such a map (mmapio__close_probe, pins, busy;
 * with no slot, no thread holds a view, write view or iterator of it),
 * then the reference goes, and with the last one the short destruction.
 * Anything else, or anything held, takes the general path, which reports
 * it. */
MMAPIO__INLINE int mmapio__close_fastro(mmapio_map *m)
{
  if (MMAPIO__LIKELY(__atomic_load_n(&m->slots, __ATOMIC_SEQ_CST) == NULL &&
                     (__atomic_load_n(&m->wstate, __ATOMIC_SEQ_CST) |
                      __atomic_load_n(&m->phold, __ATOMIC_SEQ_CST) |
                      mmapio__ld_acquire(&m->pins) | mmapio__ld_acquire(&m->busy)) == 0u)) {
    if (mmapio__fetch_sub(&m->refs, 1u) != 1u) return MMAPIO_OK;
    mmapio__map_destroy_fastro(m);
    return MMAPIO_OK;
  }
  return mmapio__close_general(m);
}

int mmapio_close(mmapio_map *m)
{
  if (m == NULL) return MMAPIO_OK;
  if (m->fastro) return mmapio__close_fastro(m);
  return mmapio__close_general(m);
}

static int mmapio__close_general(mmapio_map *m)
{
  /* Dropping a reference that is not the last cannot invalidate anything:
   * the borrows check only guards the destruction of the mapping. */
  uint32_t r = mmapio__ld_acquire(&m->refs);
  if (r > 1u) {
    /* Not the last reference: the mapping stays alive for the other
     * holders, so only this thread's own borrows and pins make it EBUSY
     * (other threads' momentary reads and writes are not borrows). */
    mmapio__slot *self = mmapio__slot_get(m);
    if (self == NULL) return MMAPIO_ENOMEM;
    if (mmapio__ld_relaxed(&self->count) != 0u || mmapio__ld_relaxed(&self->excl))
      return mmapio__fail(MMAPIO_EBUSY, "mmapio_close(%s): views or iterators are still outstanding",
                          mmapio__path_or(m->path));
    uint32_t pins = mmapio__ld_acquire(&m->pins);
    if (pins != 0u)
      return mmapio__fail(MMAPIO_EBUSY, "mmapio_close(%s): %u atomic view(s) still outstanding",
                          mmapio__path_or(m->path), (unsigned)pins);
    while (r > 1u) {
      if (mmapio__cas(&m->refs, &r, r - 1u)) return MMAPIO_OK;
    }
  }
  /* A non-waiting exclusive hold proves that no thread holds a view, write
   * view or iterator (a map no thread ever borrowed needs no hold for that:
   * mmapio__close_probe); pins and releases still finishing (busy) are
   * counted separately. */
  mmapio__slot *s = NULL;
  int rc = mmapio__close_probe(m, "mmapio_close");
  int held = rc == 1;
  if (held) rc = mmapio__lock_excl(m, &s, "mmapio_close", 1);
  if (rc != MMAPIO_OK) return rc;
  uint32_t pins = mmapio__ld_acquire(&m->pins);
  uint32_t busy = mmapio__ld_acquire(&m->busy);
  if (held) mmapio__unlock_excl(m, s);
  if (pins != 0u)
    return mmapio__fail(MMAPIO_EBUSY, "mmapio_close(%s): %u atomic view(s) still outstanding",
                        mmapio__path_or(m->path), (unsigned)pins);
  if (busy != 0u)
    return mmapio__fail(MMAPIO_EBUSY, "mmapio_close(%s): a write view release is still running",
                        mmapio__path_or(m->path));
  if (mmapio__fetch_sub(&m->refs, 1u) != 1u) return MMAPIO_OK;
  return mmapio__map_destroy(m);
}

/* ---- Accessors ---------------------------------------------------------- */

uint64_t mmapio_len(const mmapio_map *m) { return m != NULL ? mmapio__len(m) : 0; }
mmapio_mode mmapio_mode_of(const mmapio_map *m)
{
  return m != NULL ? m->mode : MMAPIO_MODE_READ_ONLY;
}
const char *mmapio_path(const mmapio_map *m) { return m != NULL ? m->path : NULL; }
mmapio_flush_policy mmapio_flush_policy_of(const mmapio_map *m)
{
  mmapio_flush_policy p = {MMAPIO_FLUSH_MANUAL, 0};
  return m != NULL ? m->policy : p;
}
uint64_t mmapio_pending_bytes(const mmapio_map *m)
{
  return m != NULL ? mmapio__pending_report(m) : 0;
}
mmapio_native_file mmapio_native_handle(const mmapio_map *m)
{
  return m != NULL ? m->file : MMAPIO_INVALID_FILE;
}
void *mmapio_unsafe_ptr(mmapio_map *m)
{
  return m != NULL ? (void *)mmapio__ld_acquire(&m->om.base) : NULL;
}
uint64_t mmapio_capacity(const mmapio_map *m)
{
  if (m == NULL) return 0;
  uint64_t len = mmapio__len(m);
  if (m->is_anon || m->max_size == 0) return len;
  uint64_t r = mmapio__ld_acquire(&m->om.reserved);
  if (r > m->max_size) r = m->max_size;
  return r > len ? r : len;
}

int mmapio_huge_pages_active(const mmapio_map *m)
{
  /* Huge pages appear when pages are first faulted in, so ask the OS now
   * rather than report what open saw. */
  return m != NULL ? mmapio__huge_pages_query(m) : 0;
}

/* ---- Reading and writing ------------------------------------------------ */

/* memcpy for the small copies of mmapio_read/mmapio_write: up to 64 bytes
 * with a few fixed-size moves (overlapping at the end), so the fast paths
 * make no call and need no stack frame; larger copies call memcpy. */
#define MMAPIO__CP(d, s, k)               \
  do {                                    \
    unsigned char t_[k];                  \
    memcpy(t_, (s), k);                   \
    memcpy((d), t_, k);                   \
  } while (0)
typedef unsigned char mmapio__v16 __attribute__((vector_size(16)));
static inline void mmapio__copy(void *dst, const void *src, size_t n)
{
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  if (n > 64u) memcpy(d, s, n);
  else if (n >= 32u) {
    /* Four 16-byte loads, then four stores: no temporary on the stack. */
    mmapio__v16 a, b, y, z;
    memcpy(&a, s, 16);
    memcpy(&b, s + 16, 16);
    memcpy(&y, s + n - 32u, 16);
    memcpy(&z, s + n - 16u, 16);
    memcpy(d, &a, 16);
    memcpy(d + 16, &b, 16);
    memcpy(d + n - 32u, &y, 16);
    memcpy(d + n - 16u, &z, 16);
  } else if (n >= 16u) {
    MMAPIO__CP(d, s, 16);
    MMAPIO__CP(d + n - 16u, s + n - 16u, 16);
  } else if (n >= 8u) {
    MMAPIO__CP(d, s, 8);
    MMAPIO__CP(d + n - 8u, s + n - 8u, 8);
  } else if (n >= 4u) {
    MMAPIO__CP(d, s, 4);
    MMAPIO__CP(d + n - 4u, s + n - 4u, 4);
  } else if (n > 0u) {
    d[0] = s[0];
    d[n / 2u] = s[n / 2u];
    d[n - 1u] = s[n - 1u];
  }
}

/* The flush policy after a write; MANUAL (the default) needs no call. */
static inline int mmapio__after_write(mmapio_map *m, uint64_t n)
{
  if (MMAPIO__LIKELY(m->policy.kind == MMAPIO_FLUSH_MANUAL)) return MMAPIO_OK;
  return mmapio__policy_after_write(m, n);
}


/* Every case of mmapio_read: arguments, waits, errors, fault-safe and large
 * copies. */
static MMAPIO__COLD int mmapio__read_slow(mmapio_map *m, uint64_t off, void *dst, size_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_read: map is NULL");
  if (dst == NULL && len > 0) return mmapio__fail(MMAPIO_EINVAL, "mmapio_read: dst is NULL");
  mmapio__slot *s;
  int rc = mmapio__lock_shared(m, &s);
  if (rc != MMAPIO_OK) return rc;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) rc = mmapio__fail_bounds(off, len, total);
  else if (len > 0) rc = mmapio__copy_out(m, dst, mmapio__at(m, off), len, off);
  mmapio__unlock_shared(m, s);
  return rc;
}

/* The fast path found a waiting writer when it dropped its count. */
static MMAPIO__COLD int mmapio__read_wake(mmapio_map *m, mmapio__slot *s)
{
  mmapio__unlock_shared_wake(m, s);
  return MMAPIO_OK;
}

/* The fast path took a count and then saw a writer: give it back and start
 * over on the slow path. */
static MMAPIO__COLD int mmapio__read_retry(mmapio_map *m, uint64_t off, void *dst, size_t len,
                                          mmapio__slot *s)
{
  mmapio__unlock_shared(m, s);
  return mmapio__read_slow(m, off, dst, len);
}

/* The fast paths of mmapio_read, as in mmapio_view_get: cached slot, open
 * read gate (no writer, fence-free mode, in bounds), not fault-safe (roff is
 * MMAPIO__NO_FAST then). m and dst are not NULL and len >= 1. `large`
 * (constant in each caller) picks the copy: the inline small copy of up to
 * 64 bytes, which keeps mmapio_read free of calls except tail calls to the
 * cold paths and to mmapio__read_large, or one memcpy call. */
MMAPIO__INLINE int mmapio__read_gated(mmapio_map *m, uint64_t off, void *dst, size_t len,
                                            int large)
{
  mmapio__tcache *c = mmapio__tc;
  if (MMAPIO__UNLIKELY(m->roff >= c->rlim)) return mmapio__read_slow(m, off, dst, len);
  mmapio__tcache_entry *e = (mmapio__tcache_entry *)(void *)((char *)c->e + m->roff);
  if (MMAPIO__UNLIKELY(e->uid != m->uid)) return mmapio__read_slow(m, off, dst, len);
  mmapio__slot *s = e->slot;
  /* Only this thread writes its count, so the value to restore is known
   * (no reload after the copy). */
  uint32_t held = mmapio__ld_relaxed(&s->count);
  mmapio__st_relaxed(&s->count, held + 1u);
  mmapio__compiler_fence();
  /* The gate, read after the count store, is len + 1 or 0 (closed):
   * off + len < gate (len >= 1) is the writer, mode and bounds test at once. */
  uint64_t gate = mmapio__ld_acquire(&m->rgate);
  if (MMAPIO__UNLIKELY(off >= gate || len >= gate - off))
    return mmapio__read_retry(m, off, dst, len, s);
  /* len >= 1 is in bounds, so the mapping is not empty and base not NULL. */
  if (large) memcpy(dst, m->om.base + off, len);
  else mmapio__copy(dst, m->om.base + off, len);
  mmapio__st_release(&s->count, held);
  mmapio__compiler_fence();
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->wstate) != 0u)) return mmapio__read_wake(m, s);
  return MMAPIO_OK;
}

/* Reads of more than 64 bytes: a function of their own with a frame for the
 * memcpy call. Through the slow path's shared hold they cost about 8 ns more
 * per call (4% of a 4 KiB copy). */
static MMAPIO__NOINLINE int mmapio__read_large(mmapio_map *m, uint64_t off, void *dst, size_t len)
{
  return mmapio__read_gated(m, off, dst, len, 1);
}

int mmapio_read(mmapio_map *m, uint64_t off, void *dst, size_t len)
{
  if (MMAPIO__UNLIKELY(m == NULL || dst == NULL || len - 1u >= 64u)) {
    if (m != NULL && dst != NULL && len > 64u) return mmapio__read_large(m, off, dst, len);
    return mmapio__read_slow(m, off, dst, len);
  }
  return mmapio__read_gated(m, off, dst, len, 0);
}

/* The bounds check, the copy and the statistics of a write, with the map
 * held (exclusively, or shared under MMAPIO_OPEN_EXTERNAL_SYNC) through slot s. */
static inline int mmapio__write_held(mmapio_map *m, mmapio__slot *s, uint64_t off,
                                     const void *src, size_t len)
{
  int rc = MMAPIO_OK;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) rc = mmapio__fail_bounds(off, len, total);
  else if (MMAPIO__LIKELY((m->open_flags & MMAPIO_OPEN_FAULT_SAFE) == 0u))
    mmapio__copy(mmapio__at(m, off), src, len);
  else rc = mmapio__copy_in(m, mmapio__at(m, off), src, len, off);
  if (rc == MMAPIO_OK) mmapio__stat_write(s, len);
  return rc;
}

/* The rest of a write once the exclusive hold is taken: copy, let go, then
 * the flush policy. */
static int mmapio__write_excl_held(mmapio_map *m, mmapio__slot *s, uint64_t off,
                                   const void *src, size_t len)
{
  int rc = mmapio__write_held(m, s, off, src, len);
  mmapio__unlock_excl(m, s);
  if (rc == MMAPIO_OK) rc = mmapio__after_write(m, len);
  return rc;
}

/* MMAPIO_OPEN_EXTERNAL_SYNC: a shared hold keeps the mapping from moving;
 * excluding other readers and writers is the caller's business. */
static int mmapio__write_external(mmapio_map *m, uint64_t off, const void *src, size_t len)
{
  mmapio__slot *s;
  int rc = mmapio__lock_shared(m, &s);
  if (rc != MMAPIO_OK) return rc;
  rc = mmapio__write_held(m, s, off, src, len);
  mmapio__unlock_shared(m, s);
  if (rc == MMAPIO_OK) rc = mmapio__after_write(m, len);
  return rc;
}

/* Every case of mmapio_write the fast path below does not take: argument
 * errors, read-only, EXTERNAL_SYNC and FAULT_SAFE maps, copies of more than
 * 64 bytes, a thread that holds the map itself, another writer. */
static MMAPIO__COLD int mmapio__write_slow(mmapio_map *m, uint64_t off, const void *src,
                                          size_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_write: map is NULL");
  if (len == 0) return MMAPIO_OK;
  if (src == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_write: src is NULL");
  if (m->mode == MMAPIO_MODE_READ_ONLY)
    return mmapio__fail(MMAPIO_EMODE, "mmapio_write(%s): map is read-only",
                        mmapio__path_or(m->path));
  if (m->open_flags & MMAPIO_OPEN_EXTERNAL_SYNC) return mmapio__write_external(m, off, src, len);
  mmapio__slot *s;
  int rc = mmapio__lock_excl(m, &s, "mmapio_write", 0);
  if (rc != MMAPIO_OK) return rc;
  return mmapio__write_excl_held(m, s, off, src, len);
}

/* The fast path took wstate and found portable holds or a slot of another
 * thread in the map's list: finish the exclusive hold the general way (portable-hold
 * decision, heavy barrier or symmetric mode, waiting for other counts). */
static MMAPIO__COLD int mmapio__write_contended(mmapio_map *m, mmapio__slot *s, uint64_t off,
                                               const void *src, size_t len)
{
  int rc = mmapio__lock_excl_rest(m, s, "mmapio_write", 0);
  if (rc != MMAPIO_OK) return rc;
  return mmapio__write_excl_held(m, s, off, src, len);
}

/* The fast path holds the map and found the range out of bounds: let go,
 * then the slow path takes the map again and reports the error. */
static MMAPIO__COLD int mmapio__write_unwind(mmapio_map *m, mmapio__slot *s, uint64_t off,
                                            const void *src, size_t len)
{
  mmapio__unlock_excl(m, s);
  return mmapio__write_slow(m, off, src, len);
}

/* The fast path's unlock found the symmetric mode on (its writer_mode_end
 * bookkeeping) -- the data is written, the statistics counted. */
static MMAPIO__COLD int mmapio__write_unlock_slow(mmapio_map *m, mmapio__slot *s, size_t len)
{
  mmapio__unlock_excl(m, s);
  return mmapio__after_write(m, len);
}

/* The fast path's unlock found sleepers on wstate. */
static MMAPIO__COLD int mmapio__write_wake(mmapio_map *m, size_t len)
{
  mmapio__wake_u32(&m->wstate);
  return mmapio__after_write(m, len);
}

/* The fast path of a write to an MMAPIO_OPEN_EXTERNAL_SYNC map: a shared
 * hold (it only keeps the mapping from moving) taken as mmapio_read takes
 * it -- count, read gate -- then the copy, the statistics and the release.
 * No stack frame; tail calls to the cold paths. */
static MMAPIO__COLD int mmapio__write_ext_retry(mmapio_map *m, uint64_t off, const void *src,
                                               size_t len, mmapio__slot *s)
{
  mmapio__unlock_shared(m, s);
  return mmapio__write_slow(m, off, src, len);
}

static MMAPIO__COLD int mmapio__write_ext_wake(mmapio_map *m, mmapio__slot *s, size_t len)
{
  mmapio__unlock_shared_wake(m, s);
  return mmapio__after_write(m, len);
}

static int mmapio__write_ext(mmapio_map *m, uint64_t off, const void *src, size_t len)
{
  mmapio__tcache *c = mmapio__tc;
  /* Only m, src and len were tested by the caller. */
  if (MMAPIO__UNLIKELY(m->xoff >= c->rlim)) return mmapio__write_slow(m, off, src, len);
  mmapio__tcache_entry *e = (mmapio__tcache_entry *)(void *)((char *)c->e + m->xoff);
  if (MMAPIO__UNLIKELY(e->uid != m->uid)) return mmapio__write_slow(m, off, src, len);
  mmapio__slot *s = e->slot;
  uint32_t held = mmapio__ld_relaxed(&s->count);
  mmapio__st_relaxed(&s->count, held + 1u);
  mmapio__compiler_fence();
  uint64_t gate = mmapio__ld_acquire(&m->rgate);
  if (MMAPIO__UNLIKELY(off >= gate || len >= gate - off))
    return mmapio__write_ext_retry(m, off, src, len, s);
  mmapio__copy(m->om.base + off, src, len);
  mmapio__stat_write(s, len);
  mmapio__st_release(&s->count, held);
  mmapio__compiler_fence();
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->wstate) != 0u))
    return mmapio__write_ext_wake(m, s, len);
  return mmapio__after_write(m, len);
}

int mmapio_write(mmapio_map *m, uint64_t off, const void *src, size_t len)
{
  /* Fast path: 1..64 bytes to a READ_WRITE/COPY_ON_WRITE map without
   * EXTERNAL_SYNC or FAULT_SAFE, by a thread with a cached slot that holds
   * nothing of the map, no other writer. It is mmapio__lock_excl +
   * mmapio__write_held + mmapio__unlock_excl written out for the case where
   * no other thread owns a slot of the map and no portable hold exists: the CAS of wstate and the unlock exchange are its only atomic
   * read-modify-writes, and it makes no calls but tail calls to the cold
   * paths above, so it needs no stack frame. The order of the protocol's
   * steps is the one of lock.c: CAS of wstate (sequentially consistent), then
   * the sequentially consistent loads of phold and of the slot list and its
   * owners -- a
   * thread that claims a slot publishes it and fences before it reads wstate
   * (mmapio__slot_slow), and a portable holder adds to phold before it reads
   * wstate, so either they see this hold or this load sees them -- and only
   * then the COMMITTED decision in pgate. */
  mmapio__tcache *c = mmapio__tc;
  /* woff is MMAPIO__NO_FAST for read-only, EXTERNAL_SYNC and FAULT_SAFE maps. */
  if (MMAPIO__UNLIKELY(m == NULL || src == NULL || len - 1u >= 64u))
    return mmapio__write_slow(m, off, src, len);
  if (MMAPIO__UNLIKELY(m->woff >= c->wlim)) {
    if (m->xoff != MMAPIO__NO_FAST) return mmapio__write_ext(m, off, src, len);
    return mmapio__write_slow(m, off, src, len);
  }
  mmapio__tcache_entry *e = (mmapio__tcache_entry *)(void *)((char *)c->e + m->woff);
  if (MMAPIO__UNLIKELY(e->uid != m->uid)) return mmapio__write_slow(m, off, src, len);
  mmapio__slot *s = e->slot;
  if (MMAPIO__UNLIKELY((mmapio__ld_relaxed(&s->count) | mmapio__ld_relaxed(&s->excl)) != 0u))
    return mmapio__write_slow(m, off, src, len); /* EDEADLK */
  uint32_t w = 0u;
  if (MMAPIO__UNLIKELY(!__atomic_compare_exchange_n(&m->wstate, &w, MMAPIO__W_HELD, 0,
                                                    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)))
    return mmapio__write_slow(m, off, src, len); /* another writer: wait there */
  if (MMAPIO__UNLIKELY(__atomic_load_n(&m->phold, __ATOMIC_SEQ_CST) != 0u))
    return mmapio__write_contended(m, s, off, src, len);
  /* The owner scan of mmapio__lock_excl_rest: usually the list is just s
   * (or s and the free slots of threads that exited). */
  for (mmapio__slot *t = __atomic_load_n(&m->slots, __ATOMIC_SEQ_CST); t != NULL; t = t->next)
    if (MMAPIO__UNLIKELY(t != s && __atomic_load_n(&t->owner, __ATOMIC_SEQ_CST) != 0u))
      return mmapio__write_contended(m, s, off, src, len);
  mmapio__st_release(&m->pgate, MMAPIO__PG_COMMITTED);
  mmapio__st_relaxed(&s->excl, 1u);
  uint64_t total = mmapio__len(m);
  if (MMAPIO__UNLIKELY(!mmapio__in_bounds(off, len, total)))
    return mmapio__write_unwind(m, s, off, src, len);
  /* len >= 1 is in bounds, so the mapping is not empty and base not NULL. */
  mmapio__copy(m->om.base + off, src, len);
  mmapio__stat_write(s, len);
  mmapio__st_relaxed(&s->excl, 0u);
  /* Unlock (mmapio__unlock_excl): writer_mode_end has work only in the
   * symmetric mode, which only writers (serialised by wstate) switch. */
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->rfence) != 0u))
    return mmapio__write_unlock_slow(m, s, len);
  mmapio__st_release(&m->pgate, MMAPIO__PG_UNDECIDED);
  if (MMAPIO__UNLIKELY(__atomic_exchange_n(&m->wstate, 0u, __ATOMIC_SEQ_CST) &
                       MMAPIO__W_WAITERS))
    return mmapio__write_wake(m, len);
  if (MMAPIO__LIKELY(m->policy.kind == MMAPIO_FLUSH_MANUAL)) return MMAPIO_OK;
  return mmapio__policy_after_write(m, len);
}

/* ---- Views -------------------------------------------------------------- */
/* Cold paths of mmapio_view_get are kept out of line (MMAPIO__COLD) so the
 * fast path needs no stack frame. */

#define MMAPIO__BORROW_MUT 0x4u      /* write view, exclusive hold */
#define MMAPIO__BORROW_PORTABLE 0x8u /* read view counted in m->phold */
#define MMAPIO__BORROW_MUT_EXT 0x10u /* write view of an EXTERNAL_SYNC map: shared hold */

/* The bookkeeping a view carries so that release finds its slot and map. */
static inline void mmapio__borrow_fill(struct mmapio_borrow_ *b, mmapio_map *m, mmapio__slot *s,
                                       uint32_t kind)
{
  b->slot_ = s != NULL ? &s->count : NULL;
  b->wstate_ = &m->wstate;
  b->map_ = m;
  b->kind_ = kind;
  b->version_ = MMAPIO_BORROW_VERSION_;
}
#define MMAPIO__BORROW_DROPPED 0x80000000u

static MMAPIO__COLD int mmapio__view_get_slow(mmapio_view *out, mmapio_map *m, uint64_t off,
                                             uint64_t len)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_view_get: out is NULL");
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_view_get: map is NULL");
  mmapio__slot *s;
  int rc = mmapio__lock_shared(m, &s);
  if (rc != MMAPIO_OK) return rc;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total) || len > (uint64_t)SIZE_MAX) {
    mmapio__unlock_shared(m, s);
    return mmapio__fail_bounds(off, len, total);
  }
  mmapio__stat_view_peak(s, mmapio__ld_relaxed(&s->count));
  mmapio__borrow_fill(&out->priv_, m, s,
                      MMAPIO__BORROW_FAST | ((mmapio__ld_relaxed(&mmapio__reader_fence) |
                                              mmapio__ld_relaxed(&m->rfence))
                                                 ? MMAPIO__BORROW_FENCE
                                                 : 0u));
  out->data = mmapio__at(m, off);
  out->len = (size_t)len;
  return MMAPIO_OK;
}

/* The fast path took a count and then saw a writer or a bad range: give
 * the count back (waking a writer that may wait for it), then start over on
 * the slow path, which waits or reports the error. */
static MMAPIO__COLD int mmapio__view_get_retry(mmapio_view *out, mmapio_map *m, uint64_t off,
                                              uint64_t len, mmapio__slot *s)
{
  /* The symmetric mode keeps the gate closed: with the count taken and
   * rfence read after it (mmapio__reader_barrier), fence and make the
   * tests the gate stands for, so such a view costs one fence. */
  if (mmapio__ld_relaxed(&m->rfence) != 0u) {
    mmapio__full_fence();
    uint64_t total = mmapio__len(m);
    if (mmapio__ld_acquire(&m->wstate) == 0u && mmapio__in_bounds(off, len, total) &&
        len <= (uint64_t)SIZE_MAX) {
      mmapio__borrow_fill(&out->priv_, m, s, MMAPIO__BORROW_FAST | MMAPIO__BORROW_FENCE);
      out->data = mmapio__at(m, off);
      out->len = (size_t)len;
      return MMAPIO_OK;
    }
  }
  mmapio__unlock_shared(m, s);
  return mmapio__view_get_slow(out, m, off, len);
}

int mmapio_view_get(mmapio_view *out, mmapio_map *m, uint64_t off, uint64_t len)
{
  /* Fast path: cached slot, open read gate (no writer, fence-free mode, in
   * bounds; see mmapio__rgate_value). It makes no calls except tail calls to
   * the cold paths, so it needs no frame. */
  mmapio__tcache *c = mmapio__tc;
  if (MMAPIO__UNLIKELY(out == NULL || m == NULL)) return mmapio__view_get_slow(out, m, off, len);
  /* rlim is 0 when readers must fence (no heavy barrier): slow path. */
  if (MMAPIO__UNLIKELY(m->voff >= c->rlim)) return mmapio__view_get_slow(out, m, off, len);
  mmapio__tcache_entry *e = (mmapio__tcache_entry *)(void *)((char *)c->e + m->voff);
  if (MMAPIO__UNLIKELY(e->uid != m->uid)) return mmapio__view_get_slow(out, m, off, len);
  mmapio__slot *s = e->slot;
  uint32_t held = mmapio__ld_relaxed(&s->count) + 1u;
  mmapio__st_relaxed(&s->count, held);
  mmapio__stat_view_peak(s, held);
  mmapio__compiler_fence();
  /* Read after the count store: off + len < gate is the writer, mode and
   * bounds test at once (a closed gate is 0). In a write-heavy phase the
   * gate is closed: the slow path fences, and so does the view's release
   * (the exported function, selected by the FENCE bit). */
  uint64_t gate = mmapio__ld_acquire(&m->rgate);
  if (MMAPIO__UNLIKELY(off >= gate || len >= gate - off || len > (uint64_t)SIZE_MAX))
    return mmapio__view_get_retry(out, m, off, len, s);
  mmapio__borrow_fill(&out->priv_, m, s, MMAPIO__BORROW_FAST);
  out->data = m->om.base + off; /* an open gate: the map is not empty */
  out->len = (size_t)len;
  return MMAPIO_OK;
}

int mmapio_view_get_flags(mmapio_view *out, mmapio_map *m, uint64_t off, uint64_t len,
                          uint32_t flags)
{
  if (flags == 0u) return mmapio_view_get(out, m, off, len);
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_view_get_flags: out is NULL");
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_view_get_flags: map is NULL");
  if (flags & ~(uint32_t)MMAPIO_VIEW_PORTABLE)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_view_get_flags(%s): unknown flag bits 0x%x",
                        mmapio__path_or(m->path), (unsigned)(flags & ~(uint32_t)MMAPIO_VIEW_PORTABLE));
  int rc = mmapio__lock_portable(m, "mmapio_view_get_flags");
  if (rc != MMAPIO_OK) return rc;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total) || len > (uint64_t)SIZE_MAX) {
    mmapio__unlock_portable(m);
    return mmapio__fail_bounds(off, len, total);
  }
  mmapio__borrow_fill(&out->priv_, m, NULL, MMAPIO__BORROW_PORTABLE);
  out->data = mmapio__at(m, off);
  out->len = (size_t)len;
  return MMAPIO_OK;
}

void(mmapio_view_release)(mmapio_view *v)
{
  if (v == NULL || v->priv_.kind_ == 0u) return;
  if (v->priv_.version_ != MMAPIO_BORROW_VERSION_) return; /* not ours */
  uint32_t kind = v->priv_.kind_;
  v->priv_.kind_ = 0u;
  if (kind == MMAPIO__BORROW_PORTABLE) {
    mmapio__unlock_portable(v->priv_.map_);
    return;
  }
  if (!(kind & MMAPIO__BORROW_FAST)) return; /* a write view or garbage: not a read view */
  if (kind & MMAPIO__BORROW_DROPPED) {
    /* The inline fast path dropped the count and saw a waiting writer. */
    mmapio__wake_u32(v->priv_.slot_);
    return;
  }
  /* Views taken in the write-heavy symmetric mode come here: let them
   * notice that writes have stopped (while the view still keeps the map). */
  if (kind & MMAPIO__BORROW_FENCE) mmapio__writer_mode_poll(v->priv_.map_);
  mmapio__unlock_shared(v->priv_.map_, (mmapio__slot *)(void *)v->priv_.slot_);
}

int mmapio_view_get_mut(mmapio_view_mut *out, mmapio_map *m, uint64_t off, uint64_t len)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_view_get_mut: out is NULL");
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_view_get_mut: map is NULL");
  if (m->mode == MMAPIO_MODE_READ_ONLY)
    return mmapio__fail(MMAPIO_EMODE, "mmapio_view_get_mut(%s): map is read-only",
                        mmapio__path_or(m->path));
  mmapio__slot *s;
  int ext = (m->open_flags & MMAPIO_OPEN_EXTERNAL_SYNC) != 0u;
  int rc = ext ? mmapio__lock_shared(m, &s) : mmapio__lock_excl(m, &s, "mmapio_view_get_mut", 0);
  if (rc != MMAPIO_OK) return rc;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total) || len > (uint64_t)SIZE_MAX) {
    if (ext) mmapio__unlock_shared(m, s);
    else mmapio__unlock_excl(m, s);
    return mmapio__fail_bounds(off, len, total);
  }
  mmapio__borrow_fill(&out->priv_, m, s, ext ? MMAPIO__BORROW_MUT_EXT : MMAPIO__BORROW_MUT);
  out->data = mmapio__at(m, off);
  out->len = (size_t)len;
  return MMAPIO_OK;
}

int mmapio_view_mut_release(mmapio_view_mut *v)
{
  if (v == NULL || v->priv_.version_ != MMAPIO_BORROW_VERSION_ ||
      (v->priv_.kind_ != MMAPIO__BORROW_MUT && v->priv_.kind_ != MMAPIO__BORROW_MUT_EXT))
    return MMAPIO_OK;
  mmapio_map *m = v->priv_.map_;
  uint32_t kind = v->priv_.kind_;
  v->priv_.kind_ = 0u;
  if (v->len != 0) mmapio__stat_write((mmapio__slot *)(void *)v->priv_.slot_, v->len);
  /* The policy runs after the hold is gone (a policy flush must not keep
   * writers out), and the view may be the map's last borrow: mark the map
   * busy while still holding it, so it is not destroyed under the flush. */
  int policy = v->len != 0 && m->mode == MMAPIO_MODE_READ_WRITE && !m->is_anon &&
               m->policy.kind != MMAPIO_FLUSH_MANUAL;
  if (policy) mmapio__map_busy_begin(m);
  if (kind == MMAPIO__BORROW_MUT_EXT) mmapio__unlock_shared(m, (mmapio__slot *)(void *)v->priv_.slot_);
  else mmapio__unlock_excl(m, (mmapio__slot *)(void *)v->priv_.slot_);
  if (!policy) return MMAPIO_OK;
  int rc = mmapio__policy_after_write(m, v->len);
  mmapio__map_busy_end(m);
  return rc;
}

/* ---- Resize ------------------------------------------------------------- */

/* With resize_mu held: nothing to do (same size), or in-place growth within
 * the reservation: extend the file first, then publish the length; views and
 * pins stay valid and nobody waits. MMAPIO__NOT_IN_PLACE when the resize
 * must move or shrink the mapping. */
#define MMAPIO__NOT_IN_PLACE 1
static int mmapio__resize_in_place(mmapio_map *m, uint64_t new_size, int sparse)
{
  uint64_t old = mmapio__len(m);
  if (new_size == old) return MMAPIO_OK;
  if (m->is_anon || new_size < old || m->max_size == 0 || new_size > m->om.reserved)
    return MMAPIO__NOT_IN_PLACE;
  /* The file ends where the window ends (om.offset is 0 for whole files). */
  uint64_t fo = m->om.offset;
  int rc = mmapio__os_file_set_size(m->file, fo + old, fo + new_size, sparse, m->path);
  if (rc == MMAPIO_OK) {
    rc = mmapio__os_grow_in_place(&m->om, m->file, old, new_size, m->path);
    if (rc != MMAPIO_OK)
      (void)mmapio__os_file_set_size(m->file, fo + new_size, fo + old, 1, m->path);
  }
  if (rc == MMAPIO_OK) {
    mmapio__st_release(&m->len, new_size);
    /* Move an open read gate up with the length (a closed one is opened by
     * its holder with the length it then finds). */
    uint64_t g = old + 1u;
    (void)__atomic_compare_exchange_n(&m->rgate, &g, new_size + 1u, 0, __ATOMIC_RELEASE,
                                      __ATOMIC_RELAXED);
    mmapio__stat_resize(m, 1);
  }
  return rc;
}

int mmapio_resize(mmapio_map *m, uint64_t new_size)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_resize: map is NULL");
  const char *path = mmapio__path_or(m->path);
  if (m->mode != MMAPIO_MODE_READ_WRITE)
    return mmapio__fail(MMAPIO_EMODE, "mmapio_resize(%s): only READ_WRITE maps can be resized",
                        path);
  if (m->fixed_window)
    return mmapio__fail(MMAPIO_ENOTSUP,
                        "mmapio_resize(%s): a window opened with an explicit length cannot be "
                        "resized (open it with length 0 to map up to the end of the file)",
                        path);
  int allow_empty = (m->open_flags & MMAPIO_OPEN_ALLOW_EMPTY) != 0 && !m->is_anon;
  int rc = new_size == 0 && allow_empty ? MMAPIO_OK : mmapio__check_size(new_size, 1);
  if (rc != MMAPIO_OK) return rc;
  if (m->is_shm && !mmapio__os_shm_resizable())
    return mmapio__fail(MMAPIO_ENOTSUP,
                        "mmapio_resize: a Windows shared-memory section cannot change its size");
  int sparse = (m->open_flags & MMAPIO_OPEN_SPARSE) != 0;

  /* Lock order: exclusive hold (wstate) before resize_mu. In-place growth takes
   * only resize_mu, so it may run while the caller holds views, and a
   * moving resize never holds resize_mu while it waits for views. */
  mmapio__mutex_lock(&m->resize_mu);
  rc = mmapio__resize_in_place(m, new_size, sparse);
  mmapio__mutex_unlock(&m->resize_mu);
  if (rc != MMAPIO__NOT_IN_PLACE) return rc;

  mmapio__slot *s;
  rc = mmapio__lock_excl(m, &s, "mmapio_resize", 0);
  if (rc != MMAPIO_OK) return rc;
  mmapio__mutex_lock(&m->resize_mu);
  /* Another resize may have run while we waited. */
  rc = mmapio__resize_in_place(m, new_size, sparse);
  if (rc == MMAPIO__NOT_IN_PLACE) {
    uint64_t old = mmapio__len(m);
    uint32_t pins = mmapio__ld_acquire(&m->pins);
    if (pins != 0u) {
      rc = mmapio__fail(MMAPIO_EBUSY, "mmapio_resize(%s): %u atomic view(s) still outstanding",
                        path, (unsigned)pins);
    } else {
      /* Flushes and hints hold `stable` shared: wait for them before the
       * mapping may move. The file is truncated only now, under the
       * exclusive hold, so no reader can touch a page that is going away. */
      mmapio__slock_wr(&m->stable);
      if (allow_empty && (old == 0 || new_size == 0 || m->om.base == NULL))
        rc = mmapio__resize_empty(m, old, new_size, sparse);
      else
        rc = mmapio__os_remap(&m->om, m->is_anon ? MMAPIO_INVALID_FILE : m->file, old, new_size,
                              sparse, m->path);
      if (rc == MMAPIO_OK) mmapio__st_release(&m->len, new_size);
      /* A failed remap that could not map the old length again either
       * (platform.h) left nothing mapped: the map is empty from now on, so
       * accesses fail the bounds check instead of reaching a gone mapping. */
      else if (m->om.base == NULL && old != 0) mmapio__st_release(&m->len, 0);
      if (rc == MMAPIO_OK) mmapio__stat_resize(m, 0);
      mmapio__slock_wrunlock(&m->stable);
    }
  }
  mmapio__mutex_unlock(&m->resize_mu);
  mmapio__unlock_excl(m, s);
  return rc;
}
