/*
 * map.c -- opening, closing, accessors, reads, writes, views and resize.
 *
 * Portable: every OS interaction goes through platform.h. The lock protocol
 * is described in internal.h; the rules enforced here are API.md sections
 * 4, 5 and 7.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mmapio__next_uid = 1;

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

static int mmapio__mode_valid(int mode)
{
  return mode == MMAPIO_MODE_READ_ONLY || mode == MMAPIO_MODE_READ_WRITE ||
         mode == MMAPIO_MODE_COPY_ON_WRITE;
}

/* Copy the caller's options into `o`, validating every field. */
static int mmapio__read_options(mmapio_options *o, const mmapio_options *in, const char *path)
{
  mmapio_options_init(o);
  if (in == NULL) return MMAPIO_OK;
  if (in->struct_size != sizeof *o)
    return mmapio__fail(MMAPIO_EVERSION,
                        "mmapio_open(%s): options struct_size %u not understood (this library "
                        "uses %u; call mmapio_options_init)",
                        path, (unsigned)in->struct_size, (unsigned)sizeof *o);
  *o = *in;
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
  if (o->flags & MMAPIO_OPEN_TRUNCATE) {
    int rc = mmapio__check_size(o->size, 0);
    if (rc != MMAPIO_OK) return rc;
  }
  /* Checked before any file is created or truncated, so that a rejected
   * max_size changes nothing on disk. */
  if (o->max_size != 0 && o->max_size < o->size &&
      (o->flags & (MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE)))
    return mmapio__fail(MMAPIO_ESIZE, "mmapio_open(%s): max_size %llu is smaller than size %llu",
                        path, (unsigned long long)o->max_size, (unsigned long long)o->size);
  return MMAPIO_OK;
}

/* ---- Map objects -------------------------------------------------------- */

static mmapio_map *mmapio__map_alloc(const char *path)
{
  static int locks_ready;
  if (!mmapio__ld_acquire(&locks_ready)) {
    mmapio__locks_init();
    mmapio__st_release(&locks_ready, 1);
  }
  mmapio_map *m = (mmapio_map *)calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  if (path != NULL) {
    size_t n = strlen(path) + 1;
    m->path = (char *)malloc(n);
    if (m->path == NULL) {
      free(m);
      return NULL;
    }
    memcpy(m->path, path, n);
  }
  if (mmapio__map_index_get(&m->tidx) != MMAPIO_OK) {
    free(m->path);
    free(m);
    return NULL;
  }
  m->uid = mmapio__fetch_add(&mmapio__next_uid, 1);
  m->refs = 1;
  m->file = MMAPIO_INVALID_FILE;
  mmapio__mutex_init(&m->slot_mu);
  mmapio__mutex_init(&m->resize_mu);
  mmapio__rwlock_init(&m->stable);
  return m;
}

static void mmapio__map_free(mmapio_map *m)
{
  mmapio__slots_free(m);
  mmapio__map_index_put(m->tidx);
  mmapio__mutex_destroy(&m->slot_mu);
  mmapio__mutex_destroy(&m->resize_mu);
  mmapio__rwlock_destroy(&m->stable);
  free(m->path);
  free(m);
}

/* Unmap, close and free; returns the final flush's status. */
static int mmapio__map_destroy(mmapio_map *m)
{
  int rc = MMAPIO_OK;
  mmapio__flusher_remove(m);
  if (m->mode == MMAPIO_MODE_READ_WRITE && !m->is_anon &&
      m->policy.kind != MMAPIO_FLUSH_MANUAL)
    rc = mmapio__flush_all(m);
  if (m->om.base != NULL) mmapio__os_unmap(&m->om, mmapio__len(m));
  if (m->file != MMAPIO_INVALID_FILE) mmapio__os_close_file(m->file);
  mmapio__map_free(m);
  return rc;
}

/* Map the open file `f` (owned by m from now on) and apply the options. */
static int mmapio__map_finish(mmapio_map *m, mmapio_native_file f, uint64_t len,
                              const mmapio_options *o)
{
  int rc;
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
  for (int tries = 0;; tries++) {
    if (len == 0 && m->mode != MMAPIO_MODE_READ_ONLY)
      return mmapio__fail(MMAPIO_ESIZE, "Cannot map zero-length file");
    if (len > MMAPIO_MAX_SIZE)
      return mmapio__fail(MMAPIO_ESIZE, "Size %llu exceeds maximum safe limit of %llu bytes",
                          (unsigned long long)len, (unsigned long long)MMAPIO_MAX_SIZE);
    if (o->max_size != 0 && o->max_size < len)
      return mmapio__fail(MMAPIO_ESIZE,
                          "mmapio_open(%s): max_size %llu is smaller than the file (%llu bytes)",
                          mmapio__path_or(m->path), (unsigned long long)o->max_size,
                          (unsigned long long)len);
    if (len == 0) break;
    uint64_t reserve = len;
    if (m->mode == MMAPIO_MODE_READ_WRITE && o->max_size > len) reserve = o->max_size;
    rc = mmapio__os_map(&m->om, f, m->mode, len, reserve, o->flags, m->path);
    if (rc == MMAPIO_OK) break;
    /* Another process may have resized the file between our size query and
     * the mapping, and some OSes (Windows) refuse a read-only mapping
     * longer than the file. Look again and retry with the new size; keep
     * the original failure if the size did not change. */
    mmapio__saved_error e;
    mmapio__error_save(&e);
    uint64_t now_len = len;
    int rc2 = mmapio__os_file_size(&now_len, f, m->path);
    mmapio__error_restore(&e);
    if (tries >= 3 || rc2 != MMAPIO_OK || now_len == len) return rc;
    len = now_len;
  }
  m->len = len;
  if (o->flags & MMAPIO_OPEN_FAULT_SAFE) {
    rc = mmapio__fault_enable(m);
    if (rc != MMAPIO_OK) return rc;
  }
  if (o->flags & MMAPIO_OPEN_HUGE_PAGES) mmapio__apply_huge_pages(m);
  if (o->touch != MMAPIO_TOUCH_NEVER && len > 0) {
    rc = mmapio__apply_touch_hint(m, o->touch);
    if (rc != MMAPIO_OK) return rc;
  }
  if (m->mode == MMAPIO_MODE_READ_WRITE && m->policy.kind == MMAPIO_FLUSH_EVERY_MILLIS &&
      m->policy.every > 0) {
    rc = mmapio__flusher_add(m);
    if (rc != MMAPIO_OK) return rc;
  }
  return MMAPIO_OK;
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

/* Failure after the map object exists: unmap/close everything, and remove a
 * file this call created. */
static int mmapio__open_failed(mmapio_map *m, int rc, int created)
{
  /* Keep the detail message of the original failure. */
  m->policy.kind = MMAPIO_FLUSH_MANUAL;
  if (created && m->path != NULL) {
    char *p = m->path;
    m->path = NULL;
    (void)mmapio__map_destroy(m);
    mmapio__unlink_quiet(p);
    free(p);
  } else {
    (void)mmapio__map_destroy(m);
  }
  return rc;
}

/* A call that failed after creating `name`: remove it, keeping the original
 * failure unless the removal fails too (then that is the more pressing
 * problem: something was left behind). */
static int mmapio__remove_created(const char *name, int rc)
{
  mmapio__saved_error e;
  mmapio__error_save(&e);
  int rc2 = mmapio__os_unlink(name);
  if (rc2 != MMAPIO_OK) return rc2;
  mmapio__error_restore(&e);
  return rc;
}

/* Create `name` exclusively with o->size bytes (blocks reserved unless
 * SPARSE); on failure nothing is left. Messages name `path`. */
static int mmapio__create_sized(mmapio_native_file *out, const char *name, const char *path,
                                const mmapio_options *o)
{
  int priv = (o->flags & MMAPIO_OPEN_PRIVATE_PERMS) != 0;
  int sparse = (o->flags & MMAPIO_OPEN_SPARSE) != 0;
  mmapio_native_file f = MMAPIO_INVALID_FILE;
  int rc = mmapio__os_open(&f, name, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, priv);
  if (rc != MMAPIO_OK) return rc;
  rc = mmapio__os_file_set_size(f, 0, o->size, sparse, path);
  if (rc != MMAPIO_OK) {
    mmapio__os_close_file(f);
    return mmapio__remove_created(name, rc);
  }
  *out = f;
  return MMAPIO_OK;
}

/* Create `path` with o->size bytes so that it never exists under that name
 * with another length: temporary name, size, then mmapio__os_publish.
 * Falls back to a direct exclusive create where the file system cannot
 * publish. EEXIST when `path` exists. */
static int mmapio__create_published(mmapio_native_file *out, const char *path,
                                    const mmapio_options *o)
{
  static uint64_t counter;
  size_t n = strlen(path) + 64;
  char *tmp = (char *)malloc(n);
  if (tmp == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open(%s): out of memory", path);
  mmapio_native_file f = MMAPIO_INVALID_FILE;
  int rc = MMAPIO_EEXIST;
  for (int tries = 0; tries < 64 && rc == MMAPIO_EEXIST; tries++) {
    /* Unique enough across processes: time, a process-wide counter and the
     * address of this frame; a collision just tries the next name. */
    snprintf(tmp, n, "%s.mmapio-%llx-%llx-%llx.tmp", path,
             (unsigned long long)mmapio__monotonic_ms(),
             (unsigned long long)mmapio__fetch_add(&counter, 1),
             (unsigned long long)(uintptr_t)&tmp);
    rc = mmapio__create_sized(&f, tmp, path, o);
  }
  if (rc == MMAPIO_OK) {
    rc = mmapio__os_publish(tmp, path);
    if (rc == MMAPIO_OK) {
      free(tmp);
      *out = f;
      return MMAPIO_OK;
    }
    mmapio__os_close_file(f);
    if (rc == MMAPIO_ENOTSUP) {
      /* No hard links here: an exclusive create of the final name, sized
       * right away (a concurrent opener may briefly see length 0). */
      mmapio__unlink_quiet(tmp);
      rc = mmapio__create_sized(out, path, path, o);
    } else {
      rc = mmapio__remove_created(tmp, rc);
    }
  }
  free(tmp);
  return rc;
}

int mmapio_open(mmapio_map **out, const char *path, const mmapio_options *in)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open: out is NULL");
  *out = NULL;
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open: path is NULL");
  mmapio_options o;
  int rc = mmapio__read_options(&o, in, path);
  if (rc != MMAPIO_OK) return rc;

  int sparse = (o.flags & MMAPIO_OPEN_SPARSE) != 0;
  int access = o.mode == MMAPIO_MODE_READ_WRITE ? MMAPIO__OPEN_RDWR : MMAPIO__OPEN_READ;
  int priv = (o.flags & MMAPIO_OPEN_PRIVATE_PERMS) != 0;
  int created = 0;
  mmapio_native_file f = MMAPIO_INVALID_FILE;

  if ((o.flags & MMAPIO_OPEN_CREATE) && mmapio__check_size(o.size, 0) != MMAPIO_OK) {
    /* The size is invalid, so the file may only be opened, never created:
     * a missing file reports the size error and nothing is created. */
    if (o.flags & MMAPIO_OPEN_EXCLUSIVE) return mmapio__check_size(o.size, 0);
    rc = mmapio__os_open(&f, path, access, MMAPIO__CREATE_NO, priv);
    if (rc == MMAPIO_ENOENT) return mmapio__check_size(o.size, 0);
  } else if (o.flags & MMAPIO_OPEN_CREATE) {
    /* Create-or-open without a check-then-open race, and without ever
     * showing the new file with length 0: an existing file is simply
     * opened; a missing one is created and sized under a temporary name,
     * then published with an atomic no-replace link. If someone else
     * published it first, open theirs (unless EXCLUSIVE); if it vanishes
     * in between, start over. */
    for (int tries = 0; tries < 16; tries++) {
      if (!(o.flags & MMAPIO_OPEN_EXCLUSIVE)) {
        rc = mmapio__os_open(&f, path, access, MMAPIO__CREATE_NO, priv);
        if (rc != MMAPIO_ENOENT) break;
      }
      rc = mmapio__create_published(&f, path, &o);
      if (rc == MMAPIO_OK) {
        created = 1;
        break;
      }
      if (rc != MMAPIO_EEXIST || (o.flags & MMAPIO_OPEN_EXCLUSIVE)) break;
    }
  } else {
    rc = mmapio__os_open(&f, path, access, MMAPIO__CREATE_NO, priv);
  }
  if (rc != MMAPIO_OK) return rc;

  mmapio_map *m = mmapio__map_alloc(path);
  if (m == NULL) {
    mmapio__os_close_file(f);
    if (created) mmapio__unlink_quiet(path);
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open(%s): out of memory", path);
  }
  m->file = f;

  uint64_t len = 0;
  rc = mmapio__os_file_size(&len, f, path);
  if (rc != MMAPIO_OK) return mmapio__open_failed(m, rc, created);
  if (created) {
    len = o.size; /* sized before it was published */
  } else if (o.flags & MMAPIO_OPEN_TRUNCATE) {
    /* Make sure the new size fits before destroying the old content. */
    if (!sparse) {
      rc = mmapio__os_file_can_reserve(f, o.size, path);
      if (rc != MMAPIO_OK) return mmapio__open_failed(m, rc, 0);
    }
    rc = mmapio__os_file_set_size(f, len, 0, 1, path);
    if (rc == MMAPIO_OK) rc = mmapio__os_file_set_size(f, 0, o.size, sparse, path);
    if (rc != MMAPIO_OK) return mmapio__open_failed(m, rc, 0);
    len = o.size;
  }
  rc = mmapio__map_finish(m, f, len, &o);
  if (rc != MMAPIO_OK) return mmapio__open_failed(m, rc, created);
  *out = m;
  return MMAPIO_OK;
}

int mmapio_open_ro(mmapio_map **out, const char *path)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_READ_ONLY;
  return mmapio_open(out, path, &o);
}

int mmapio_open_rw(mmapio_map **out, const char *path)
{
  return mmapio_open(out, path, NULL);
}

int mmapio_open_cow(mmapio_map **out, const char *path)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_COPY_ON_WRITE;
  return mmapio_open(out, path, &o);
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
  const char *name = path_hint != NULL ? path_hint : "<fd>";
  if (!mmapio__mode_valid((int)mode))
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd(%s): unknown mode %d", name, (int)mode);
  if (mode == MMAPIO_MODE_COPY_ON_WRITE && !MMAPIO_WITH_COW)
    return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_open_fd(%s): copy-on-write is not built in", name);
  if (f == MMAPIO_INVALID_FILE)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd(%s): invalid descriptor", name);
  mmapio_native_file dup = MMAPIO_INVALID_FILE;
  int rc = mmapio__os_dup(&dup, f, mode == MMAPIO_MODE_READ_WRITE, name);
  if (rc != MMAPIO_OK) return rc;
  mmapio_map *m = mmapio__map_alloc(path_hint);
  if (m == NULL) {
    mmapio__os_close_file(dup);
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open_fd(%s): out of memory", name);
  }
  m->file = dup;
  uint64_t len = 0;
  rc = mmapio__os_file_size(&len, dup, name);
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  if (rc == MMAPIO_OK) rc = mmapio__map_finish(m, dup, len, &o);
  if (rc != MMAPIO_OK) return mmapio__open_failed(m, rc, 0);
  *out = m;
  return MMAPIO_OK;
}

int mmapio_anon(mmapio_map **out, uint64_t size, uint32_t flags)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_anon: out is NULL");
  *out = NULL;
  const uint32_t known = MMAPIO_ANON_SHARED | MMAPIO_ANON_HUGE_PAGES;
  if (flags & ~known)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_anon: unknown flag bits 0x%x",
                        (unsigned)(flags & ~known));
  if ((flags & MMAPIO_ANON_HUGE_PAGES) && !MMAPIO_WITH_HUGEPAGES)
    return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_anon: huge pages are not built in");
  int rc = mmapio__check_size(size, 0);
  if (rc != MMAPIO_OK) return rc;
  mmapio_map *m = mmapio__map_alloc(NULL);
  if (m == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_anon: out of memory");
  m->is_anon = 1;
  m->mode = MMAPIO_MODE_READ_WRITE;
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
  if (mmapio__fetch_sub(&m->refs, 1u) == 1u) (void)mmapio__map_destroy(m);
}

int mmapio_close(mmapio_map *m)
{
  if (m == NULL) return MMAPIO_OK;
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
   * view or iterator; pins are counted separately. */
  mmapio__slot *s;
  int rc = mmapio__lock_excl(m, &s, "mmapio_close", 1);
  if (rc != MMAPIO_OK) return rc;
  uint32_t pins = mmapio__ld_acquire(&m->pins);
  mmapio__unlock_excl(m, s);
  if (pins != 0u)
    return mmapio__fail(MMAPIO_EBUSY, "mmapio_close(%s): %u atomic view(s) still outstanding",
                        mmapio__path_or(m->path), (unsigned)pins);
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
  return m != NULL ? mmapio__ld_acquire(&m->pending) : 0;
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
static inline void mmapio__copy(void *dst, const void *src, size_t n)
{
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  if (n > 64u) memcpy(d, s, n);
  else if (n >= 32u) {
    MMAPIO__CP(d, s, 32);
    MMAPIO__CP(d + n - 32u, s + n - 32u, 32);
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

#if defined(__GNUC__) || defined(__clang__)
#  define MMAPIO__COLD __attribute__((noinline, cold))
#else
#  define MMAPIO__COLD
#endif

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
static MMAPIO__COLD int mmapio__read_wake(mmapio_map *m)
{
  mmapio__unlock_shared_wake(m);
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

int mmapio_read(mmapio_map *m, uint64_t off, void *dst, size_t len)
{
  /* Fast path, as in mmapio_view_get: cached slot, fence-free mode, no
   * writer, in bounds, 1..64 bytes, not fault-safe. It makes no calls
   * except tail calls to the cold paths. */
  mmapio__tcache *c = mmapio__tc;
  if (MMAPIO__UNLIKELY(m == NULL || dst == NULL || c == NULL || len - 1u >= 64u ||
                       mmapio__ld_relaxed(&mmapio__reader_fence) ||
                       (m->open_flags & MMAPIO_OPEN_FAULT_SAFE) != 0u || m->tidx >= c->cap))
    return mmapio__read_slow(m, off, dst, len);
  mmapio__tcache_entry *e = &c->e[m->tidx];
  if (MMAPIO__UNLIKELY(e->uid != m->uid)) return mmapio__read_slow(m, off, dst, len);
  mmapio__slot *s = e->slot;
  mmapio__st_relaxed(&s->count, mmapio__ld_relaxed(&s->count) + 1u);
  mmapio__compiler_fence();
  /* rfence is read after the count store (mmapio__reader_barrier). */
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->rfence) != 0u))
    return mmapio__read_retry(m, off, dst, len, s);
  uint64_t total = mmapio__len(m);
  if (MMAPIO__UNLIKELY(mmapio__ld_acquire(&m->wstate) != 0u ||
                       !mmapio__in_bounds(off, len, total)))
    return mmapio__read_retry(m, off, dst, len, s);
  mmapio__copy(dst, mmapio__at(m, off), len);
  mmapio__st_release(&s->count, mmapio__ld_relaxed(&s->count) - 1u);
  mmapio__compiler_fence();
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->wstate) != 0u)) return mmapio__read_wake(m);
  return MMAPIO_OK;
}

/* MMAPIO_OPEN_EXTERNAL_SYNC: a shared hold keeps the mapping from moving;
 * excluding other readers and writers is the caller's business. */
static int mmapio__write_external(mmapio_map *m, uint64_t off, const void *src, size_t len)
{
  mmapio__slot *s;
  int rc = mmapio__lock_shared(m, &s);
  if (rc != MMAPIO_OK) return rc;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) rc = mmapio__fail_bounds(off, len, total);
  else if (MMAPIO__LIKELY((m->open_flags & MMAPIO_OPEN_FAULT_SAFE) == 0u))
    mmapio__copy(mmapio__at(m, off), src, len);
  else rc = mmapio__copy_in(m, mmapio__at(m, off), src, len, off);
  mmapio__unlock_shared(m, s);
  if (rc == MMAPIO_OK) rc = mmapio__after_write(m, len);
  return rc;
}

int mmapio_write(mmapio_map *m, uint64_t off, const void *src, size_t len)
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
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) rc = mmapio__fail_bounds(off, len, total);
  else if (MMAPIO__LIKELY((m->open_flags & MMAPIO_OPEN_FAULT_SAFE) == 0u))
    mmapio__copy(mmapio__at(m, off), src, len);
  else rc = mmapio__copy_in(m, mmapio__at(m, off), src, len, off);
  mmapio__unlock_excl(m, s);
  if (rc == MMAPIO_OK) rc = mmapio__after_write(m, len);
  return rc;
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
  mmapio__unlock_shared(m, s);
  return mmapio__view_get_slow(out, m, off, len);
}

int mmapio_view_get(mmapio_view *out, mmapio_map *m, uint64_t off, uint64_t len)
{
  /* Fast path: cached slot, fence-free mode, no writer, in bounds. It makes
   * no calls except tail calls to the cold paths, so it needs no frame. */
  mmapio__tcache *c = mmapio__tc;
  if (MMAPIO__UNLIKELY(out == NULL || m == NULL || c == NULL ||
                       mmapio__ld_relaxed(&mmapio__reader_fence)))
    return mmapio__view_get_slow(out, m, off, len);
  uint32_t idx = m->tidx;
  if (MMAPIO__UNLIKELY(idx >= c->cap)) return mmapio__view_get_slow(out, m, off, len);
  mmapio__tcache_entry *e = &c->e[idx];
  if (MMAPIO__UNLIKELY(e->uid != m->uid)) return mmapio__view_get_slow(out, m, off, len);
  mmapio__slot *s = e->slot;
  mmapio__st_relaxed(&s->count, mmapio__ld_relaxed(&s->count) + 1u);
  mmapio__compiler_fence();
  /* Read after the count store (see mmapio__reader_barrier). In a
   * write-heavy phase the view fences, and so does its release (the
   * exported function, selected by the FENCE bit). */
  uint32_t kind = MMAPIO__BORROW_FAST;
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->rfence) != 0u)) {
    mmapio__full_fence();
    kind |= MMAPIO__BORROW_FENCE;
  }
  uint64_t total = mmapio__len(m);
  if (MMAPIO__UNLIKELY(mmapio__ld_acquire(&m->wstate) != 0u ||
                       !mmapio__in_bounds(off, len, total) || len > (uint64_t)SIZE_MAX))
    return mmapio__view_get_retry(out, m, off, len, s);
  mmapio__borrow_fill(&out->priv_, m, s, kind);
  out->data = mmapio__at(m, off);
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
  if (kind == MMAPIO__BORROW_MUT_EXT) mmapio__unlock_shared(m, (mmapio__slot *)(void *)v->priv_.slot_);
  else mmapio__unlock_excl(m, (mmapio__slot *)(void *)v->priv_.slot_);
  if (v->len == 0) return MMAPIO_OK;
  return mmapio__policy_after_write(m, v->len);
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
  int rc = mmapio__os_file_set_size(m->file, old, new_size, sparse, m->path);
  if (rc == MMAPIO_OK) {
    rc = mmapio__os_grow_in_place(&m->om, m->file, old, new_size, m->path);
    if (rc != MMAPIO_OK) (void)mmapio__os_file_set_size(m->file, new_size, old, 1, m->path);
  }
  if (rc == MMAPIO_OK) mmapio__st_release(&m->len, new_size);
  return rc;
}

int mmapio_resize(mmapio_map *m, uint64_t new_size)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_resize: map is NULL");
  const char *path = mmapio__path_or(m->path);
  if (m->mode != MMAPIO_MODE_READ_WRITE)
    return mmapio__fail(MMAPIO_EMODE, "mmapio_resize(%s): only READ_WRITE maps can be resized",
                        path);
  int rc = mmapio__check_size(new_size, 1);
  if (rc != MMAPIO_OK) return rc;
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
      mmapio__rwlock_wrlock(&m->stable);
      rc = mmapio__os_remap(&m->om, m->is_anon ? MMAPIO_INVALID_FILE : m->file, old, new_size,
                            sparse, m->path);
      if (rc == MMAPIO_OK) mmapio__st_release(&m->len, new_size);
      mmapio__rwlock_wrunlock(&m->stable);
    }
  }
  mmapio__mutex_unlock(&m->resize_mu);
  mmapio__unlock_excl(m, s);
  return rc;
}
