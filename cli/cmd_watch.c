/*
 * cmd_watch.c -- print the change events of a file until Ctrl-C, until
 * --count events were seen, or until --seconds elapsed.
 *
 * The events arrive on the library's watch thread; the callback prints them
 * (one line each, flushed so a pipe sees them at once) and counts them with
 * an atomic add, and the main thread only polls that count and the
 * interrupt flag.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

void help_watch(void)
{
  printf("usage: mmapio watch FILE [--count N] [--seconds N]\n"
         "\n"
         "Maps FILE read-only and prints one line per change event reported by\n"
         "the library (modified, metadata, removed, renamed, with the offset\n"
         "and length when known) until Ctrl-C, until N events were printed\n"
         "(--count), or until N seconds passed (--seconds). Writes through\n"
         "another process's mapping are reported when the OS updates the\n"
         "file's modification time, which can lag behind the write.\n");
}

typedef struct watch_state {
  uint32_t events; /* updated with the header's atomic operations */
  uint32_t removed;
} watch_state;

static const char *change_name(mmapio_change_kind k)
{
  switch (k) {
  case MMAPIO_CHANGE_MODIFIED: return "modified";
  case MMAPIO_CHANGE_METADATA: return "metadata";
  case MMAPIO_CHANGE_REMOVED: return "removed";
  case MMAPIO_CHANGE_RENAMED: return "renamed";
  }
  return "unknown";
}

static void on_change(const mmapio_change *c, void *payload)
{
  watch_state *st = (watch_state *)payload;
  if (c->len != 0 || c->offset != 0)
    printf("%s offset=%llu len=%llu\n", change_name(c->kind), (unsigned long long)c->offset,
           (unsigned long long)c->len);
  else
    printf("%s\n", change_name(c->kind));
  fflush(stdout);
  if (c->kind == MMAPIO_CHANGE_REMOVED)
    mmapio_store_u32(&st->removed, 1, MMAPIO_ORDER_RELEASE);
  mmapio_fetch_add_u32(&st->events, 1, MMAPIO_ORDER_RELEASE);
}

int cmd_watch(int argc, char **argv)
{
  const char *file = NULL, *v;
  uint64_t count = 0, seconds = 0, ticks = 0;
  int has_count = 0, has_seconds = 0, i, r, rc;
  mmapio_map *m = NULL;
  mmapio_watch *w = NULL;
  watch_state st;

  for (i = 1; i < argc; i++) {
    if ((r = cli_opt_value(argc, argv, &i, "--count", &v)) != 0) {
      if (r < 0 || cli_parse_u64(v, &count) != 0 || count == 0)
        return cli_usage("watch", "--count needs a positive number");
      has_count = 1;
    } else if ((r = cli_opt_value(argc, argv, &i, "--seconds", &v)) != 0) {
      if (r < 0 || cli_parse_u64(v, &seconds) != 0 || seconds > 100000000u)
        return cli_usage("watch", "--seconds needs a number");
      has_seconds = 1;
    } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && file == NULL) {
      file = argv[++i];
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return cli_usage("watch", "unknown option '%s'", argv[i]);
    } else if (file == NULL) {
      file = argv[i];
    } else {
      return cli_usage("watch", "unexpected argument '%s'", argv[i]);
    }
  }
  if (file == NULL)
    return cli_usage("watch", "missing FILE");

  memset(&st, 0, sizeof st);
  rc = mmapio_open_ro(&m, file);
  if (rc != MMAPIO_OK)
    return cli_fail("watch", rc);
  cli_install_interrupt_handler();
  rc = mmapio_watch_start(&w, m, on_change, &st);
  if (rc != MMAPIO_OK) {
    cli_fail("watch", rc);
    mmapio_close(m);
    return CLI_FAILED;
  }
  fprintf(stderr, "watching %s (Ctrl-C to stop)\n", file);
  /* Poll in short ticks: the callback runs on another thread and the
   * interrupt only sets a flag. */
  while (!cli_interrupted()) {
    if (has_count && mmapio_load_u32(&st.events, MMAPIO_ORDER_ACQUIRE) >= count)
      break;
    if (has_seconds && ticks >= seconds * 10u)
      break;
    if (!mmapio_watch_active(w)) {
      fprintf(stderr, "mmapio watch: the watch stopped%s\n",
              mmapio_load_u32(&st.removed, MMAPIO_ORDER_ACQUIRE) ? " (file removed)" : "");
      break;
    }
    cli_sleep_ms(100);
    ticks++;
  }
  /* After watch_stop returns the callback never runs again, so `st` may go
   * out of scope safely. */
  mmapio_watch_stop(w);
  mmapio_close(m);
  return CLI_OK;
}
