/*
 * bench_smoke_test.c -- CTest entry "bench_smoke": runs the benchmark
 * library in --smoke mode and checks that it ran and that its outputs are
 * well formed. It never looks at the timings (a loaded 2-core machine may
 * miss any target): it checks the exit status, that the JSON parses and
 * names every workload exactly once with a known status, that every "ok"
 * result carries positive medians, and that the SVG is a complete document.
 *
 * usage: bench_smoke_test DIR   (DIR: where the benchmark files and outputs go)
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <process.h>
#  define smoke_getpid _getpid
#else
#  include <unistd.h>
#  define smoke_getpid getpid
#endif

static char *read_all(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  buf = (char *)malloc((size_t)n + 1);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    return NULL;
  }
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* ---- A strict little JSON validator (RFC 8259 grammar) ------------------ */

typedef struct jp { const char *p; int depth; } jp;

static void ws(jp *j)
{
  while (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t') j->p++;
}

static int value(jp *j);

static int string(jp *j)
{
  if (*j->p != '"') return 0;
  j->p++;
  while (*j->p != '"') {
    unsigned char c = (unsigned char)*j->p;
    if (c == '\0' || c < 0x20) return 0;
    if (c == '\\') {
      j->p++;
      if (*j->p == 'u') {
        int k;
        for (k = 1; k <= 4; k++) {
          char h = j->p[k];
          if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return 0;
        }
        j->p += 5;
        continue;
      }
      if (strchr("\"\\/bfnrt", *j->p) == NULL || *j->p == '\0') return 0;
    }
    j->p++;
  }
  j->p++;
  return 1;
}

static int number(jp *j)
{
  const char *s = j->p;
  if (*j->p == '-') j->p++;
  if (*j->p == '0') j->p++;
  else if (*j->p >= '1' && *j->p <= '9') while (*j->p >= '0' && *j->p <= '9') j->p++;
  else return 0;
  if (*j->p == '.') {
    j->p++;
    if (!(*j->p >= '0' && *j->p <= '9')) return 0;
    while (*j->p >= '0' && *j->p <= '9') j->p++;
  }
  if (*j->p == 'e' || *j->p == 'E') {
    j->p++;
    if (*j->p == '+' || *j->p == '-') j->p++;
    if (!(*j->p >= '0' && *j->p <= '9')) return 0;
    while (*j->p >= '0' && *j->p <= '9') j->p++;
  }
  return j->p > s;
}

static int container(jp *j, char open, char close, int keyed)
{
  if (*j->p != open || ++j->depth > 64) return 0;
  j->p++;
  ws(j);
  if (*j->p == close) {
    j->p++;
    j->depth--;
    return 1;
  }
  for (;;) {
    ws(j);
    if (keyed) {
      if (!string(j)) return 0;
      ws(j);
      if (*j->p != ':') return 0;
      j->p++;
    }
    if (!value(j)) return 0;
    ws(j);
    if (*j->p == ',') {
      j->p++;
      continue;
    }
    if (*j->p != close) return 0;
    j->p++;
    j->depth--;
    return 1;
  }
}

static int value(jp *j)
{
  ws(j);
  switch (*j->p) {
  case '{': return container(j, '{', '}', 1);
  case '[': return container(j, '[', ']', 0);
  case '"': return string(j);
  case 't': if (strncmp(j->p, "true", 4) == 0) { j->p += 4; return 1; } return 0;
  case 'f': if (strncmp(j->p, "false", 5) == 0) { j->p += 5; return 1; } return 0;
  case 'n': if (strncmp(j->p, "null", 4) == 0) { j->p += 4; return 1; } return 0;
  default: return number(j);
  }
}

static int count(const char *hay, const char *needle)
{
  int n = 0;
  const char *p = hay;
  while ((p = strstr(p, needle)) != NULL) {
    n++;
    p += strlen(needle);
  }
  return n;
}

#define CHECK(cond, ...)                      \
  do {                                        \
    if (!(cond)) {                            \
      fprintf(stderr, "bench_smoke: FAIL: "); \
      fprintf(stderr, __VA_ARGS__);           \
      fprintf(stderr, "\n");                  \
      return 1;                               \
    }                                         \
  } while (0)

int main(int argc, char **argv)
{
  /* Every workload the program must know; keep in step with bench_workloads[]. */
  static const char *names[] = { "view_rw", "view_ro", "read_1m", "scan_views", "flush_page",
                                 "millis_writes", "millis_rewrite", "millis_raw", "chunks_4k", "chunks_64k", "atomic_add", "touch_1g",
                                 "create", "create_reserved", "create_excl", "create_sparse",
                                 "resize_reserved", "resize_sparse", "random_reads", "seq_reads", "resize", "resize_inplace",
                                 "advise", "write_shared", "cow_open", "append_4k", "views_maps_1", "views_maps_16",
                                 "views_maps_64", "views_maps_1000", "write_64", "write_churn",
                                 "write_ext_shared" };
  const char *dir = argc > 1 ? argv[1] : ".";
  char json[1024], svg[1024], needle[128];
  char *args[16];
  char *text;
  const char *p;
  jp j;
  size_t i;
  int rc, ok = 0, na = 0;

  snprintf(json, sizeof json, "%s/bench-smoke-%d.json", dir, (int)smoke_getpid());
  snprintf(svg, sizeof svg, "%s/bench-smoke-%d.svg", dir, (int)smoke_getpid());
  args[0] = (char *)"mmapio-bench";
  args[1] = (char *)"--smoke";
  args[2] = (char *)"--quiet";
  args[3] = (char *)"--dir";
  args[4] = (char *)dir;
  args[5] = (char *)"--json";
  args[6] = json;
  args[7] = (char *)"--svg";
  args[8] = svg;
  args[9] = NULL;
  rc = mmapio_bench_main(9, args);
  CHECK(rc == MMAPIO_BENCH_EXIT_OK, "mmapio_bench_main --smoke returned %d", rc);

  /* Bad command lines are usage errors, not crashes. */
  args[1] = (char *)"--only";
  args[2] = (char *)"no_such_workload";
  CHECK(mmapio_bench_main(3, args) == MMAPIO_BENCH_EXIT_USAGE, "--only with an unknown name");
  args[1] = (char *)"--reps";
  args[2] = (char *)"0";
  CHECK(mmapio_bench_main(3, args) == MMAPIO_BENCH_EXIT_USAGE, "--reps 0");

  text = read_all(json);
  CHECK(text != NULL, "cannot read %s", json);
  j.p = text;
  j.depth = 0;
  CHECK(value(&j), "invalid JSON near offset %ld of %s", (long)(j.p - text), json);
  ws(&j);
  CHECK(*j.p == '\0', "trailing bytes after the JSON value in %s", json);
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(needle, sizeof needle, "{\"name\": \"%s\",", names[i]);
    CHECK(count(text, needle) == 1, "workload %s appears %d times in the JSON", names[i], count(text, needle));
  }
  CHECK(count(text, "\"status\": \"error\"") == 0, "a workload reported an error:\n%s", text);
  ok = count(text, "\"status\": \"ok\"");
  na = count(text, "\"status\": \"n/a\"");
  CHECK(ok + na == (int)(sizeof names / sizeof names[0]), "statuses: %d ok + %d n/a", ok, na);
  CHECK(ok > 0, "no workload ran");
  /* Every measured result has positive medians and a ratio. */
  for (p = strstr(text, "\"ours_median\": "); p != NULL; p = strstr(p + 1, "\"ours_median\": ")) {
    double o = strtod(p + 15, NULL);
    const char *b = strstr(p, "\"baseline_median\": ");
    CHECK(o > 0.0, "non-positive ours_median");
    CHECK(b != NULL && strtod(b + 19, NULL) > 0.0, "missing or non-positive baseline_median");
  }
  CHECK(count(text, "\"ratio\": ") == ok, "every ok result needs a ratio");
  free(text);

  text = read_all(svg);
  CHECK(text != NULL, "cannot read %s", svg);
  CHECK(strncmp(text, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0, "SVG does not start with <svg>");
  CHECK(strstr(text, "</svg>\n") != NULL && strcmp(strstr(text, "</svg>\n"), "</svg>\n") == 0,
        "SVG does not end with </svg>");
  CHECK(count(text, "<text") == count(text, "</text>"), "unbalanced <text> elements");
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    CHECK(strstr(text, names[i]) != NULL, "SVG lacks %s", names[i]);
  free(text);

  remove(json);
  remove(svg);
  printf("bench_smoke: ok (%d measured, %d n/a)\n", ok, na);
  return 0;
}
