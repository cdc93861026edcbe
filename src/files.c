/*
 * files.c -- whole-file helpers.
 */
#include "internal.h"

int mmapio_copy_file(const char *src, const char *dst)
{
  if (src == NULL || dst == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_copy_file: %s is NULL", src == NULL ? "src" : "dst");
  return mmapio__os_copy_file(src, dst);
}

int mmapio_remove_file(const char *path)
{
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_remove_file: path is NULL");
  return mmapio__os_unlink(path);
}

int mmapio_write_file(const char *path, uint64_t off, const void *src, size_t len)
{
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_write_file: path is NULL");
  if (src == NULL && len > 0) return mmapio__fail(MMAPIO_EINVAL, "mmapio_write_file: src is NULL");
  mmapio_map *m;
  int rc = mmapio_open_rw(&m, path);
  if (rc != MMAPIO_OK) return rc;
  rc = mmapio_write(m, off, src, len);
  if (rc == MMAPIO_OK) rc = mmapio_flush(m);
  int rc2 = mmapio_close(m);
  return rc != MMAPIO_OK ? rc : rc2;
}
