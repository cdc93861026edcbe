/*
 * cmd_counter.c -- an atomic 64-bit counter stored in a small file.
 *
 * Layout (16 bytes): an 8-byte header, the magic "MMAPCNT" followed by the
 * format version '1', then the unsigned 64-bit counter at offset 8. Every
 * process that maps the same file read-write shares the same physical page,
 * so a lock-free fetch-add on it is atomic across processes too: run
 * "mmapio counter FILE" from many shells at once and no increment is lost.
 * The counter is in the machine's byte order (the file is not portable
 * between little- and big-endian machines, which is normal for shared
 * memory).
 *
 * The header protects other files: a file that does not start with it is
 * refused (unless --force), so a typo in the file name cannot overwrite the
 * first bytes of a document.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define COUNTER_MAGIC "MMAPCNT1" /* 7 bytes of magic + version '1' */
#define COUNTER_HEADER 8u
#define COUNTER_SIZE 16u

void help_counter(void)
{
  printf("usage: mmapio counter FILE [--add N] [--get] [--init] [--quiet] [--force]\n"
         "\n"
         "Maintains an atomic unsigned 64-bit counter in FILE. A missing FILE is\n"
         "created as a counter file of 16 bytes: the header \"MMAPCNT1\" (magic\n"
         "and format version) and the value. Without options the counter is\n"
         "incremented by 1. The resulting value is printed.\n"
         "\n"
         "  --add N   add N (wraps around modulo 2^64)\n"
         "  --get     print the value without changing it\n"
         "  --init    set the counter to 0 (with --add N: set it to N)\n"
         "  --quiet   do not print the value\n"
         "  --force   turn an existing file of 16 bytes or more that is not a\n"
         "            counter file into one (its first 16 bytes are overwritten)\n"
         "\n"
         "A file that is not a counter file is refused (exit 1) and left as it\n"
         "is. Any number of processes may update the same file concurrently;\n"
         "each update is a single atomic fetch-add on the shared mapping,\n"
         "flushed to the file before the command exits.\n");
}

/* The magic as the 64-bit word whose bytes in memory spell it. */
static uint64_t counter_magic(void)
{
  uint64_t v;
  memcpy(&v, COUNTER_MAGIC, sizeof v);
  return v;
}

/* Checks or establishes the header. A file of zeros is a counter file that
 * its creator has not stamped yet (or an empty one this call created): the
 * header is set with one compare-and-swap, so concurrent first users agree.
 * Returns CLI_OK or CLI_FAILED after printing why. */
static int counter_header(mmapio_map *m, const char *file, int force)
{
  mmapio_atomic h;
  uint64_t expected = 0, magic = counter_magic();
  uint8_t head[COUNTER_HEADER];
  int rc, blank = 0;
  /* Only a file of exactly 16 zero bytes is a blank counter file: the value
   * is never changed before the header is set, and a foreign file that
   * merely starts with zeros must not be stamped. */
  if (mmapio_len(m) == COUNTER_SIZE) {
    uint8_t all[COUNTER_SIZE], zero[COUNTER_SIZE];
    memset(zero, 0, sizeof zero);
    rc = mmapio_read(m, 0, all, sizeof all);
    if (rc != MMAPIO_OK)
      return cli_fail("counter", rc);
    blank = memcmp(all + COUNTER_HEADER, zero, COUNTER_SIZE - COUNTER_HEADER) == 0;
  }
  rc = mmapio_atomic_u64(&h, m, 0);
  if (rc != MMAPIO_OK)
    return cli_fail("counter", rc);
  expected = mmapio_load_u64((const uint64_t *)h.ptr, MMAPIO_ORDER_ACQUIRE);
  if (expected == magic) {
    mmapio_atomic_release(&h);
    return CLI_OK;
  }
  if (blank) {
    uint64_t zero = 0;
    /* Fails only when another process stamped it first (or wrote
     * something else): `zero` then holds what is there now. */
    if (mmapio_compare_exchange_u64((uint64_t *)h.ptr, &zero, magic, MMAPIO_ORDER_SEQ_CST,
                                    MMAPIO_ORDER_SEQ_CST) || zero == magic) {
      mmapio_atomic_release(&h);
      return CLI_OK;
    }
    expected = zero;
  }
  mmapio_atomic_release(&h);
  if (force) {
    mmapio_atomic c;
    rc = mmapio_atomic_u64(&c, m, COUNTER_HEADER);
    if (rc != MMAPIO_OK)
      return cli_fail("counter", rc);
    mmapio_store_u64((uint64_t *)c.ptr, 0, MMAPIO_ORDER_SEQ_CST);
    mmapio_atomic_release(&c);
    rc = mmapio_atomic_u64(&h, m, 0);
    if (rc != MMAPIO_OK)
      return cli_fail("counter", rc);
    mmapio_store_u64((uint64_t *)h.ptr, magic, MMAPIO_ORDER_SEQ_CST);
    mmapio_atomic_release(&h);
    return CLI_OK;
  }
  memcpy(head, &expected, sizeof head);
  if (memcmp(head, COUNTER_MAGIC, 7) == 0)
    fprintf(stderr, "mmapio counter: %s is a counter file of format version '%c', which this "
                    "version of mmapio does not know\n", file, (char)head[7]);
  else
    fprintf(stderr, "mmapio counter: %s is not a counter file (it does not start with "
                    "\"MMAPCNT1\"); it was left unchanged. Use --force to overwrite its first "
                    "%u bytes with a counter.\n", file, COUNTER_SIZE);
  return CLI_FAILED;
}

int cmd_counter(int argc, char **argv)
{
  const char *file = NULL, *v;
  uint64_t add = 1, value;
  int has_add = 0, get = 0, init = 0, quiet = 0, force = 0, i, r, rc, rc2;
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
    } else if (strcmp(argv[i], "--force") == 0) {
      force = 1;
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
   * creates the file and the other opens it, never truncating it. An
   * existing file is opened as it is, whatever its size. */
  rc = mmapio_open_or_create(&m, file, COUNTER_SIZE);
  if (rc == MMAPIO_ESIZE) {
    fprintf(stderr, "mmapio counter: %s is empty: not a counter file (a counter file has %u "
                    "bytes); it was left unchanged\n", file, COUNTER_SIZE);
    return CLI_FAILED;
  }
  if (rc != MMAPIO_OK)
    return cli_fail("counter", rc);
  if (mmapio_len(m) < COUNTER_SIZE) {
    fprintf(stderr, "mmapio counter: %s is %llu bytes, too small for a counter file (%u bytes: "
                    "header and value); it was left unchanged\n", file,
            (unsigned long long)mmapio_len(m), COUNTER_SIZE);
    mmapio_close(m);
    return CLI_FAILED;
  }
  if (counter_header(m, file, force) != CLI_OK) {
    mmapio_close(m);
    return CLI_FAILED;
  }
  rc = mmapio_atomic_u64(&a, m, COUNTER_HEADER);
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
