/*
 * quickstart.c -- the README's quick start: open (or create) a file as a
 * read-write mapping, write into it, make the write durable, read it back.
 *
 * Build and run:  ./quickstart      (uses a file in the temporary directory)
 */
#include "mmapio.h"
#include "example_util.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
  char path[512];
  mmapio_map *m = NULL;
  char buf[32] = {0};
  const char msg[] = "Hello, mmapio!";
  int rc;

  example_temp_path(path, sizeof path, "quickstart.bin");

  /* Open the file read-write, creating it with 4096 zero bytes if it does
   * not exist yet. An existing file keeps its size and content. */
  rc = mmapio_open_or_create(&m, path, 4096);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_open_or_create", rc);

  /* Copy the bytes into the mapping at offset 100. Offsets and lengths are
   * always bounds-checked: writing past the end is MMAPIO_EBOUNDS, never a
   * crash. */
  rc = mmapio_write(m, 100, msg, sizeof msg);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_write", rc);

  /* Make the change durable: when mmapio_flush returns OK the data is on
   * the storage device, not just in the page cache. */
  rc = mmapio_flush(m);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_flush", rc);

  /* Read it back, either as a copy ... */
  rc = mmapio_read(m, 100, buf, sizeof msg);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_read", rc);
  printf("read back: %s\n", buf);

  /* ... or without copying, through a view that points into the mapping.
   * Release every view you get; while it is held the mapping cannot move. */
  {
    mmapio_view v;
    rc = mmapio_view_get(&v, m, 100, sizeof msg - 1);
    if (rc != MMAPIO_OK)
      return example_fail("mmapio_view_get", rc);
    printf("zero-copy view: %.*s\n", (int)v.len, (const char *)v.data);
    mmapio_view_release(&v);
  }

  rc = mmapio_close(m);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_close", rc);
  mmapio_remove_file(path);
  return strcmp(buf, msg) == 0 ? 0 : 1;
}
