/*
 * cow_snapshot.c -- copy-on-write experiments on a file.
 *
 * A copy-on-write map (mmapio_open_cow) reads the file like any mapping,
 * but a page you write to becomes a private copy of this map: the change is
 * visible through this map only and never reaches the file, not even with
 * mmapio_flush. That makes it a cheap scratch pad: apply tentative edits to
 * a big file, inspect the result, then either throw it away (close) or
 * commit the bytes you want through a normal read-write map.
 *
 * Note: pages this map has not written yet may or may not show later
 * changes other processes make to the file (it depends on the OS), so take
 * the "snapshot" only of pages you have written.
 */
#include "mmapio.h"
#include "example_util.h"

#include <stdio.h>
#include <string.h>

static const char original[] = "threshold=10;mode=fast;owner=alice";

static int read_str(mmapio_map *m, char *buf, size_t n)
{
  memset(buf, 0, n);
  return mmapio_read(m, 0, buf, sizeof original - 1);
}

int main(void)
{
  char path[512], buf[64];
  mmapio_map *file = NULL, *a = NULL, *b = NULL, *ro = NULL;
  mmapio_view_mut w;
  int rc;

  example_temp_path(path, sizeof path, "cow.cfg");

  /* The original file. */
  if ((rc = mmapio_create_rw(&file, path, 4096)) != MMAPIO_OK)
    return example_fail("mmapio_create_rw", rc);
  if ((rc = mmapio_write(file, 0, original, sizeof original - 1)) != MMAPIO_OK)
    return example_fail("mmapio_write", rc);
  if ((rc = mmapio_flush(file)) != MMAPIO_OK)
    return example_fail("mmapio_flush", rc);
  mmapio_close(file);

  /* Two independent copy-on-write maps of the same file. */
  rc = mmapio_open_cow(&a, path);
  if (rc == MMAPIO_ENOTSUP) {
    printf("copy-on-write is not available in this build: skipped (%s)\n", mmapio_last_error());
    mmapio_remove_file(path);
    return EXAMPLE_SKIP;
  }
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_open_cow", rc);
  if ((rc = mmapio_open_cow(&b, path)) != MMAPIO_OK)
    return example_fail("mmapio_open_cow", rc);

  /* Experiment A: a plain write. */
  if ((rc = mmapio_write(a, 10, "99", 2)) != MMAPIO_OK)
    return example_fail("mmapio_write(a)", rc);
  /* Experiment B: edit in place through a write view. */
  if ((rc = mmapio_view_get_mut(&w, b, 18, 4)) != MMAPIO_OK)
    return example_fail("mmapio_view_get_mut(b)", rc);
  memcpy(w.data, "safe", 4);
  if ((rc = mmapio_view_mut_release(&w)) != MMAPIO_OK)
    return example_fail("mmapio_view_mut_release", rc);

  /* Flushing a copy-on-write map succeeds and writes nothing. */
  if ((rc = mmapio_flush(a)) != MMAPIO_OK)
    return example_fail("mmapio_flush(a)", rc);

  read_str(a, buf, sizeof buf);
  printf("experiment A sees: %s\n", buf);
  if (strcmp(buf, "threshold=99;mode=fast;owner=alice") != 0)
    return 1;
  read_str(b, buf, sizeof buf);
  printf("experiment B sees: %s\n", buf);
  if (strcmp(buf, "threshold=10;mode=safe;owner=alice") != 0)
    return 1;

  /* The file itself is untouched. */
  if ((rc = mmapio_open_ro(&ro, path)) != MMAPIO_OK)
    return example_fail("mmapio_open_ro", rc);
  read_str(ro, buf, sizeof buf);
  printf("the file still says: %s\n", buf);
  mmapio_close(ro);
  if (strcmp(buf, original) != 0)
    return 1;

  /* A copy-on-write map has a fixed size. */
  rc = mmapio_resize(a, 8192);
  printf("resizing a copy-on-write map: %s\n", mmapio_strerror(rc));
  if (rc != MMAPIO_EMODE)
    return 1;

  /* Keep experiment B: commit its bytes through a read-write map.
   * Experiment A is discarded simply by closing it. */
  read_str(b, buf, sizeof buf);
  if ((rc = mmapio_open_rw(&file, path)) != MMAPIO_OK)
    return example_fail("mmapio_open_rw", rc);
  if ((rc = mmapio_write(file, 0, buf, sizeof original - 1)) != MMAPIO_OK)
    return example_fail("mmapio_write(commit)", rc);
  if ((rc = mmapio_flush(file)) != MMAPIO_OK)
    return example_fail("mmapio_flush(commit)", rc);
  mmapio_close(file);
  mmapio_close(a);
  mmapio_close(b);

  if ((rc = mmapio_open_ro(&ro, path)) != MMAPIO_OK)
    return example_fail("mmapio_open_ro", rc);
  read_str(ro, buf, sizeof buf);
  mmapio_close(ro);
  mmapio_remove_file(path);
  printf("after committing B the file says: %s\n", buf);
  return strcmp(buf, "threshold=10;mode=safe;owner=alice") == 0 ? 0 : 1;
}
