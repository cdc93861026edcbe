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

#include <stdio.h>
#include <string.h>

int mmapio__resize_empty(mmapio_map *m, uint64_t old_len, uint64_t new_len, int sparse)
{
  /* File lengths count from the start of the file: a window (resizable
   * only when opened with length 0, up to the end of the file) starts at
   * file offset fo, and resizing it sets the file length to fo + new_len,
   * as mmapio__resize_in_place does. */
  const uint64_t fo = m->om.offset;
  if (new_len == old_len) return MMAPIO_OK;
  if (new_len == 0) {
    /* Unmap first: some systems (Windows) cannot truncate a mapped file.
     * The caller holds the map exclusively, so nobody touches it meanwhile.
     * If the truncation fails, map the old length again. */
    if (m->om.base != NULL) mmapio__os_unmap(&m->om, old_len);
    m->om.base = NULL;
    m->om.reserved = 0;
    int rc = mmapio__os_file_set_size(m->file, fo + old_len, fo, sparse, m->path);
    if (rc == MMAPIO_OK) return MMAPIO_OK;
    mmapio__saved_error e;
    mmapio__error_save(&e);
    uint64_t reserve = m->max_size > old_len ? m->max_size : old_len;
    int rc2 = mmapio__os_map(&m->om, m->file, m->mode, old_len, reserve, m->open_flags, m->path);
    if (rc2 != MMAPIO_OK) {
      /* Nothing is mapped any more: the map is empty from now on. The
       * status and OS error are those of this failure; the message tells
       * both and what became of the map. */
      mmapio__saved_error e2;
      mmapio__error_save(&e2);
      char second[200];
      size_t n2 = strlen(e2.msg);
      if (n2 >= sizeof second) n2 = sizeof second - 1;
      memcpy(second, e2.msg, n2);
      second[n2] = '\0';
      snprintf(e2.msg, sizeof e2.msg,
               "%.199s; that was mapping the old %llu bytes again after the truncation "
               "failed: %.199s (the map is empty now)",
               second, (unsigned long long)old_len, e.msg);
      mmapio__error_restore(&e2);
      m->om.base = NULL;
      m->om.reserved = 0;
      mmapio__st_release(&m->len, 0);
      return rc2;
    }
    mmapio__error_restore(&e);
    return rc;
  }
  /* Growth from 0 (or from a length whose mapping was dropped). A map of
   * length 0 may still have a file with bytes: an earlier failure (above,
   * or the Windows remap) left the map empty and the file as it was. Its
   * real length is the one a failure here puts back, not 0. */
  if (m->om.base != NULL) mmapio__os_unmap(&m->om, old_len);
  uint64_t file_old = fo + old_len, file_new = fo + new_len;
  if (old_len == 0) {
    int rs = mmapio__os_file_size(&file_old, m->file, m->path);
    if (rs != MMAPIO_OK) return rs;
  }
  int rc = mmapio__os_file_set_size(m->file, file_old, file_new, sparse, m->path);
  if (rc != MMAPIO_OK) return rc;
  uint64_t reserve = m->max_size > new_len ? m->max_size : new_len;
  rc = mmapio__os_map(&m->om, m->file, m->mode, new_len, reserve, m->open_flags, m->path);
  if (rc != MMAPIO_OK) {
    mmapio__saved_error e;
    mmapio__error_save(&e);
    (void)mmapio__os_file_set_size(m->file, file_new, file_old, 1, m->path);
    mmapio__error_restore(&e);
    /* The truncation cut bytes that no mapping held a copy of. */
    if (file_old > file_new)
      mmapio__error_append("; the file's bytes from offset %llu to %llu read zero now",
                           (unsigned long long)file_new, (unsigned long long)file_old);
    m->om.base = NULL;
    m->om.reserved = 0;
    return rc;
  }
  if (m->open_flags & MMAPIO_OPEN_HUGE_PAGES) mmapio__apply_huge_pages(m);
  return MMAPIO_OK;
}
