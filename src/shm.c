/*
 * shm.c -- named shared memory (mmapio_shm_open / mmapio_shm_remove) and
 * anonymous maps whose descriptor can be handed to another process
 * (mmapio_anon with MMAPIO_ANON_FD).
 *
 * Portable: the name rules are checked here, the backends (shm_posix.c,
 * shm_win.c) open and map the object. A POSIX shared-memory map is a file
 * map of the object's descriptor, so every map operation takes the file
 * paths; a Windows one is paging-file memory like an anonymous map whose
 * section has a name (fixed size: resize is refused in map.c).
 */
#include "internal.h"

#include <string.h>

#define MMAPIO__SHM_KNOWN_FLAGS (MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE)

/* The name rules, the same on every platform so that a program that works
 * on one works on the others (the length limit is the platform's). */
static int mmapio__shm_check_name(const char *op, const char *name)
{
  if (name == NULL) return mmapio__fail(MMAPIO_EINVAL, "%s: name is NULL", op);
  if (name[0] == '\0') return mmapio__fail(MMAPIO_EINVAL, "%s: name is empty", op);
  size_t n = strlen(name), max = mmapio__os_shm_name_max();
  if (n > max)
    return mmapio__fail(MMAPIO_EINVAL, "%s(%.32s...): name is %llu bytes long, the limit is %llu",
                        op, name, (unsigned long long)n, (unsigned long long)max);
  if (strchr(name, '/') != NULL || strchr(name, '\\') != NULL)
    return mmapio__fail(MMAPIO_EINVAL,
                        "%s(%s): name must not contain '/' or '\\' (give a plain name; the "
                        "library adds the platform's prefix)",
                        op, name);
  return MMAPIO_OK;
}

int mmapio_shm_open(mmapio_map **out, const char *name, uint64_t size, uint32_t flags)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_shm_open: out is NULL");
  *out = NULL;
  int rc = mmapio__shm_check_name("mmapio_shm_open", name);
  if (rc != MMAPIO_OK) return rc;
  if (flags & ~(uint32_t)MMAPIO__SHM_KNOWN_FLAGS)
    return mmapio__fail(MMAPIO_EINVAL,
                        "mmapio_shm_open(%s): unknown flag bits 0x%x (only MMAPIO_OPEN_CREATE "
                        "and MMAPIO_OPEN_EXCLUSIVE apply)",
                        name, (unsigned)(flags & ~(uint32_t)MMAPIO__SHM_KNOWN_FLAGS));
  if ((flags & MMAPIO_OPEN_EXCLUSIVE) && !(flags & MMAPIO_OPEN_CREATE))
    return mmapio__fail(MMAPIO_EINVAL,
                        "mmapio_shm_open(%s): MMAPIO_OPEN_EXCLUSIVE needs MMAPIO_OPEN_CREATE", name);
  int create = MMAPIO__CREATE_NO;
  if (flags & MMAPIO_OPEN_CREATE) {
    if (size > MMAPIO_MAX_SIZE)
      return mmapio__fail(MMAPIO_ESIZE, "Size %llu exceeds maximum safe limit of %llu bytes",
                          (unsigned long long)size, (unsigned long long)MMAPIO_MAX_SIZE);
    if (size == 0 && (flags & MMAPIO_OPEN_EXCLUSIVE))
      return mmapio__fail(MMAPIO_ESIZE, "Size must be greater than zero");
    /* CREATE with size 0 may only open: a missing object reports the size. */
    if (size > 0)
      create = (flags & MMAPIO_OPEN_EXCLUSIVE) ? MMAPIO__CREATE_EXCL : MMAPIO__SHM_OPEN_OR_CREATE;
  }

  mmapio_map *m = mmapio__map_alloc(NULL);
  if (m == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_shm_open(%s): out of memory", name);
  m->mode = MMAPIO_MODE_READ_WRITE;
  mmapio__map_fast_set(m);
  m->policy.kind = MMAPIO_FLUSH_MANUAL;
  m->durability = MMAPIO_DURABLE_DATA;
  m->is_shm = 1;
  mmapio_native_file f = MMAPIO_INVALID_FILE;
  uint64_t len = 0;
  rc = mmapio__os_shm_open(&f, &m->om, &len, name, size, create);
  if (rc != MMAPIO_OK) {
    mmapio__map_release_ref(m);
    if (rc == MMAPIO_ENOENT && (flags & MMAPIO_OPEN_CREATE))
      return mmapio__fail(MMAPIO_ESIZE, "Size must be greater than zero");
    return rc;
  }
  m->file = f;
  /* Windows: no descriptor, the section lives in the mapping; the core
   * treats it as anonymous memory (flush has nothing to write back). */
  m->is_anon = f == MMAPIO_INVALID_FILE;
  mmapio__st_release(&m->len, len);
  mmapio__rgate_open(m); /* the fast paths may run from now on */
  *out = m;
  return MMAPIO_OK;
}

int mmapio_shm_remove(const char *name)
{
  int rc = mmapio__shm_check_name("mmapio_shm_remove", name);
  if (rc != MMAPIO_OK) return rc;
  return mmapio__os_shm_remove(name);
}

int mmapio__anon_fd(mmapio_map **out, uint64_t size, uint32_t flags)
{
  mmapio_native_file f = MMAPIO_INVALID_FILE;
  int rc = mmapio__os_memfd(&f, size);
  if (rc != MMAPIO_OK) return rc;
  mmapio_map *m = mmapio__map_alloc(NULL);
  if (m == NULL) {
    mmapio__os_close_file(f);
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_anon: out of memory");
  }
  /* A file map of the memory file: shared by nature, resizable with the
   * file paths; the descriptor is what mmapio_native_handle returns. */
  m->file = f;
  m->mode = MMAPIO_MODE_READ_WRITE;
  mmapio__map_fast_set(m);
  m->policy.kind = MMAPIO_FLUSH_MANUAL;
  m->durability = MMAPIO_DURABLE_DATA;
  m->is_shm = 1;
  rc = mmapio__os_map(&m->om, f, MMAPIO_MODE_READ_WRITE, size, size, 0, "<memfd>");
  if (rc != MMAPIO_OK) {
    mmapio__map_release_ref(m);
    return rc;
  }
  mmapio__st_release(&m->len, size);
  if (flags & MMAPIO_ANON_HUGE_PAGES) {
    m->open_flags |= MMAPIO_OPEN_HUGE_PAGES;
    mmapio__apply_huge_pages(m);
  }
  mmapio__rgate_open(m); /* the fast paths may run from now on */
  *out = m;
  return MMAPIO_OK;
}
