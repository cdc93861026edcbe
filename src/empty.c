/*
 * empty.c -- resizes to and from length 0 for maps opened with
 * MMAPIO_OPEN_ALLOW_EMPTY (include/mmapio.h, section 16).
 *
 * An empty map has no memory mapped at all (base NULL, nothing reserved):
 * most systems refuse zero-length mappings, and mapping a zero-length file
 * would only give pages that fault on touch. So a shrink to 0 truncates the
 * file and unmaps, and a growth from 0 sizes the file and maps it afresh,
 * the same way on every platform.
 */
#include "internal.h"

int mmapio__resize_empty(mmapio_map *m, uint64_t old_len, uint64_t new_len, int sparse)
{
  if (new_len == old_len) return MMAPIO_OK;
  if (new_len == 0) {
    /* The file first: if that fails the mapping is intact. */
    int rc = mmapio__os_file_set_size(m->file, old_len, 0, sparse, m->path);
    if (rc != MMAPIO_OK) return rc;
    if (m->om.base != NULL) mmapio__os_unmap(&m->om, old_len);
    m->om.base = NULL;
    m->om.reserved = 0;
    return MMAPIO_OK;
  }
  /* Growth from 0 (or from a length whose mapping was dropped). */
  if (m->om.base != NULL) mmapio__os_unmap(&m->om, old_len);
  int rc = mmapio__os_file_set_size(m->file, old_len, new_len, sparse, m->path);
  if (rc != MMAPIO_OK) return rc;
  uint64_t reserve = m->max_size > new_len ? m->max_size : new_len;
  rc = mmapio__os_map(&m->om, m->file, m->mode, new_len, reserve, m->open_flags, m->path);
  if (rc != MMAPIO_OK) {
    mmapio__saved_error e;
    mmapio__error_save(&e);
    (void)mmapio__os_file_set_size(m->file, new_len, old_len, 1, m->path);
    mmapio__error_restore(&e);
    m->om.base = NULL;
    m->om.reserved = 0;
    return rc;
  }
  if (m->open_flags & MMAPIO_OPEN_HUGE_PAGES) mmapio__apply_huge_pages(m);
  return MMAPIO_OK;
}
