/*
 * cmd_counter.c -- an atomic 64-bit counter stored at offset 0 of a file.
 *
 * Every process that maps the same file read-write shares the same physical
 * page, so a lock-free fetch-add on it is atomic across processes too: run
 * "mmapio counter FILE" from many shells at once and no increment is lost.
 * The counter is in the machine's byte order (the file is not portable
 * between little- and big-endian machines, which is normal for shared
 * memory).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

void help_counter(void)
{
  printf("usage: mmapio counter FILE [--add N] [--get] [--init] [--quiet]\n"
         "\n"
         "Maintains an atomic unsigned 64-bit counter at offset 0 of FILE. The\n"
         "file is created (8 zero bytes) if it does not exist. Without options\n"
         "the counter is incremented by 1. The resulting value is printed.\n"
         "\n"
         "  --add N   add N (wraps around modulo 2^64)\n"
         "  --get     print the value without changing it\n"
         "  --init    set the counter to 0 (with --add N: set it to N)\n"
         "  --quiet   do not print the value\n"
         "\n"
         "Any number of processes may update the same file concurrently; each\n"
         "update is a single atomic fetch-add on the shared mapping, flushed to\n"
         "the file before the command exits.\n");
}

int cmd_counter(int argc, char **argv)
{
  const char *file = NULL, *v;
  uint64_t add = 1, value;
  int has_add = 0, get = 0, init = 0, quiet = 0, i, r, rc, rc2;
  mmapio_map *m = NULL;
  mmapio_atomic a;

  for (i = 1; i < argc; i++) {
    if ((r = cli_opt_value(argc, argv, &i, "--add", &v)) != 0) {
      if (r < 0)
        return cli_usage("counter", "--add needs a value");
      if (cli_parse_u64(v, &add) != 0)
        return cli_usage("counter", "invalid --add '%s' (want a non-negative number)", v);
      has_add = 1;
    } else if (strcmp(argv[i], "--get") == 0) {
      get = 1;
    } else if (strcmp(argv[i], "--init") == 0) {
      init = 1;
    } else if (strcmp(argv[i], "--quiet") == 0) {
      quiet = 1;
    } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && file == NULL) {
      file = argv[++i];
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return cli_usage("counter", "unknown option '%s'", argv[i]);
    } else if (file == NULL) {
      file = argv[i];
    } else {
      return cli_usage("counter", "unexpected argument '%s'", argv[i]);
    }
  }
  if (file == NULL)
    return cli_usage("counter", "missing FILE");
  if (get && (has_add || init))
    return cli_usage("counter", "--get cannot be combined with --add or --init");
  /* "--init" alone resets to 0; only a bare invocation means "add 1". */
  if (init && !has_add)
    add = 0;

  /* open_or_create is race free: when two processes start at once, one
   * creates the file and the other opens it, never truncating it. */
  rc = mmapio_open_or_create(&m, file, sizeof(uint64_t));
  if (rc != MMAPIO_OK)
    return cli_fail("counter", rc);
  rc = mmapio_atomic_u64(&a, m, 0);
  if (rc != MMAPIO_OK) {
    cli_fail("counter", rc);
    mmapio_close(m);
    return CLI_FAILED;
  }
  if (get) {
    value = mmapio_load_u64((uint64_t *)a.ptr, MMAPIO_ORDER_ACQUIRE);
  } else {
    if (init) {
      /* One atomic store, so concurrent readers see the old value or the
       * new one, never a zero in between. */
      value = add;
      mmapio_store_u64((uint64_t *)a.ptr, value, MMAPIO_ORDER_SEQ_CST);
    } else {
      value = mmapio_fetch_add_u64((uint64_t *)a.ptr, add, MMAPIO_ORDER_SEQ_CST) + add;
    }
  }
  mmapio_atomic_release(&a);
  /* The fetch-add is already visible to every process mapping the file;
   * the flush makes it survive a crash of the machine as well. */
  rc = get ? MMAPIO_OK : mmapio_flush(m);
  if (rc != MMAPIO_OK)
    cli_fail("counter", rc);
  rc2 = mmapio_close(m);
  if (rc == MMAPIO_OK && rc2 != MMAPIO_OK) {
    cli_fail("counter", rc2);
    rc = rc2;
  }
  if (rc != MMAPIO_OK)
    return CLI_FAILED;
  if (!quiet) printf("%llu\n", (unsigned long long)value);
  return CLI_OK;
}
