/* A program that knows mmapio only through its installed header and
 * pkg-config: it maps a file it creates and reads its bytes back. */
#include <mmapio.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  mmapio_map *m = NULL;
  char buf[6] = {0};
  const char *path = argc > 1 ? argv[1] : "consumer.bin";
  if (mmapio_create_rw(&m, path, 4096) != MMAPIO_OK) {
    fprintf(stderr, "create: %s\n", mmapio_last_error());
    return 1;
  }
  if (mmapio_write(m, 10, "hello", 5) != MMAPIO_OK || mmapio_read(m, 10, buf, 5) != MMAPIO_OK) {
    fprintf(stderr, "write/read: %s\n", mmapio_last_error());
    return 1;
  }
  if (mmapio_close(m) != MMAPIO_OK || strcmp(buf, "hello") != 0)
    return 1;
  printf("consumer ok with libmmapio %s\n", mmapio_version_string());
  return 0;
}
