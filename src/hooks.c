/*
 * hooks.c -- the syscall hook engine of builds with MMAPIO_TEST_HOOKS:
 * call counts, a recording of the calls, and injected failures ("the nth
 * call named X fails with error E"). Both backends call it (hooks.h); the
 * interface tests use is the "Test hooks" section of platform.h.
 */
#include "hooks.h"
#include "internal.h"

#include <string.h>

#if MMAPIO__HOOKS

#define MMAPIO__REC_MAX 4096u  /* recorded calls kept; later ones are dropped */
#define MMAPIO__INJ_MAX 16u    /* pending injected failures */
#define MMAPIO__CNT_MAX 64u    /* distinct call names counted */
#define MMAPIO__NAME_MAX 48u   /* longest call name an injection can match, plus 1 */

typedef struct mmapio__inject {
  char name[MMAPIO__NAME_MAX]; /* "" matches any call */
  unsigned left;               /* matching calls still to let through, plus one; 0: unused */
  int err;
} mmapio__inject;

typedef struct mmapio__count {
  const char *name; /* the static name string passed by the backend */
  unsigned n;
} mmapio__count;

/* One mutex guards all state. The hooks run only in test builds and only
 * around system calls, so a lock per call is cheap next to the call. */
static mmapio__mutex hook_mu = MMAPIO__MUTEX_INIT;
static int hook_recording;
static size_t hook_nrec;
static mmapio__sys_call hook_rec[MMAPIO__REC_MAX];
static mmapio__inject hook_inj[MMAPIO__INJ_MAX];
static mmapio__count hook_cnt[MMAPIO__CNT_MAX];
static unsigned hook_total;

static void count_call(const char *name)
{
  hook_total++;
  for (size_t i = 0; i < MMAPIO__CNT_MAX; i++) {
    if (hook_cnt[i].name == NULL) {
      hook_cnt[i].name = name;
      hook_cnt[i].n = 1;
      return;
    }
    if (hook_cnt[i].name == name || strcmp(hook_cnt[i].name, name) == 0) {
      hook_cnt[i].n++;
      return;
    }
  }
}

int mmapio__hook_call(const char *name, uint64_t a, uint64_t b, int flags, int *err)
{
  int fail = 0;
  mmapio__mutex_lock(&hook_mu);
  count_call(name);
  if (hook_recording && hook_nrec < MMAPIO__REC_MAX) {
    mmapio__sys_call *c = &hook_rec[hook_nrec++];
    c->name = name;
    c->a = a;
    c->b = b;
    c->flags = flags;
  }
  /* Every armed injection that matches counts this call; the first one
   * that reaches its turn decides the error. */
  for (size_t i = 0; i < MMAPIO__INJ_MAX; i++) {
    mmapio__inject *in = &hook_inj[i];
    if (in->left == 0) continue;
    if (in->name[0] != '\0' && strcmp(in->name, name) != 0) continue;
    if (--in->left == 0 && !fail) {
      fail = 1;
      *err = in->err;
    }
  }
  mmapio__mutex_unlock(&hook_mu);
  return fail;
}

void mmapio__sys_reset(void)
{
  mmapio__mutex_lock(&hook_mu);
  hook_recording = 0;
  hook_nrec = 0;
  hook_total = 0;
  memset(hook_inj, 0, sizeof hook_inj);
  memset(hook_cnt, 0, sizeof hook_cnt);
  mmapio__mutex_unlock(&hook_mu);
}

/* Starting clears the previous recording; stopping keeps it, so a second
 * stop returns the same calls. */
void mmapio__sys_record_start(void)
{
  mmapio__mutex_lock(&hook_mu);
  hook_nrec = 0;
  hook_recording = 1;
  mmapio__mutex_unlock(&hook_mu);
}

size_t mmapio__sys_record_stop(mmapio__sys_call *out, size_t max)
{
  mmapio__mutex_lock(&hook_mu);
  hook_recording = 0;
  size_t n = hook_nrec < max ? hook_nrec : max;
  if (out != NULL && n > 0) memcpy(out, hook_rec, n * sizeof *out);
  if (out == NULL) n = 0;
  mmapio__mutex_unlock(&hook_mu);
  return n;
}

void mmapio__sys_fail_nth(const char *name, unsigned nth, int err)
{
  if (nth == 0) nth = 1;
  if (name == NULL) name = "";
  mmapio__mutex_lock(&hook_mu);
  for (size_t i = 0; i < MMAPIO__INJ_MAX; i++) {
    mmapio__inject *in = &hook_inj[i];
    if (in->left != 0) continue;
    size_t k = 0;
    while (name[k] != '\0' && k + 1 < sizeof in->name) {
      in->name[k] = name[k];
      k++;
    }
    in->name[k] = '\0';
    in->left = nth;
    in->err = err;
    break;
  }
  mmapio__mutex_unlock(&hook_mu);
}

unsigned mmapio__sys_count(const char *name)
{
  unsigned n = 0;
  mmapio__mutex_lock(&hook_mu);
  if (name == NULL) {
    n = hook_total;
  } else {
    for (size_t i = 0; i < MMAPIO__CNT_MAX && hook_cnt[i].name != NULL; i++) {
      if (strcmp(hook_cnt[i].name, name) == 0) {
        n = hook_cnt[i].n;
        break;
      }
    }
  }
  mmapio__mutex_unlock(&hook_mu);
  return n;
}

/* fork(): another thread inside a hook at fork time would leave hook_mu
 * locked in the child (the backend's fork handlers call this in each
 * phase). The prepare phase always takes it, so the child's only thread
 * holds it and lets it go (an unlock, which thread checkers follow, where
 * a re-initialisation would leave them believing it still held). */
void mmapio__hooks_fork(int phase)
{
  if (phase == MMAPIO__FORK_PREPARE) mmapio__mutex_lock(&hook_mu);
  else mmapio__mutex_unlock(&hook_mu);
}

#else /* !MMAPIO__HOOKS */

void mmapio__hooks_fork(int phase) { (void)phase; }

/* Without hooks the calls go straight to the OS: nothing is recorded or
 * injected, and every count is 0. Tests that need the hooks detect this
 * (a recorded flush shows no msync) and skip. */
void mmapio__sys_reset(void) {}
void mmapio__sys_record_start(void) {}
size_t mmapio__sys_record_stop(mmapio__sys_call *out, size_t max)
{
  (void)out; (void)max;
  return 0;
}
void mmapio__sys_fail_nth(const char *name, unsigned nth, int err)
{
  (void)name; (void)nth; (void)err;
}
unsigned mmapio__sys_count(const char *name)
{
  (void)name;
  return 0;
}

#endif /* MMAPIO__HOOKS */
