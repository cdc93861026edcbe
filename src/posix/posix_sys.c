/*
 * posix_sys.c -- system facts, errno translation, and the syscall table with
 * its test hooks (recording and fault injection) for the POSIX backend.
 */
#include "posix_sys.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- System facts --------------------------------------------------------- */

size_t mmapio__os_page_size(void)
{
  /* The page size cannot change while the process runs; cache it. A racing
   * first call stores the same value twice, which is harmless. */
  static size_t cached;
  size_t pg = mmapio__ld_relaxed(&cached);
  if (pg == 0) {
    long v = sysconf(_SC_PAGESIZE);
    pg = v > 0 ? (size_t)v : 4096u;
    mmapio__st_relaxed(&cached, pg);
  }
  return pg;
}

/* mmap offsets only need page alignment on POSIX. */
size_t mmapio__os_granularity(void) { return mmapio__os_page_size(); }

/* glibc with _GNU_SOURCE declares the GNU strerror_r (returns char *, may
 * ignore buf), other C libraries the XSI one (returns int, fills buf). The
 * return type picks the matching helper at compile time, so this works with
 * either declaration without guessing from feature macros. */
static const char *mmapio__strerror_gnu(char *r, char *buf) { (void)buf; return r; }
static const char *mmapio__strerror_xsi(int r, char *buf) { return r == 0 ? buf : NULL; }

void mmapio__os_strerror(int oserr, char *buf, size_t n)
{
  if (buf == NULL || n == 0) return;
  buf[0] = '\0';
  const char *s = _Generic(strerror_r(oserr, buf, n),
                           char *: mmapio__strerror_gnu,
                           default: mmapio__strerror_xsi)(strerror_r(oserr, buf, n), buf);
  if (s == NULL || s[0] == '\0') {
    snprintf(buf, n, "error %d", oserr);
  } else if (s != buf) {
    snprintf(buf, n, "%s", s);
  }
}

int mmapio__os_status(int oserr)
{
  switch (oserr) {
  case 0: return MMAPIO_OK;
  case ENOENT:
  case ENOTDIR: /* a path component is not a directory: the file cannot exist */
    return MMAPIO_ENOENT;
  case EEXIST: return MMAPIO_EEXIST;
  case EACCES:
  case EPERM:
  case EROFS:
  case ETXTBSY:
    return MMAPIO_EACCES;
  case ENOSPC:
#ifdef EDQUOT
  case EDQUOT:
#endif
  case EFBIG:
    return MMAPIO_ENOSPC;
  case ENOMEM:
  case EOVERFLOW: /* mmap: the length does not fit the address space */
    return MMAPIO_ENOMEM;
  case EISDIR: return MMAPIO_EINVAL; /* the API reports directories as EINVAL */
#if defined(ENOTSUP)
  case ENOTSUP:
#endif
#if defined(EOPNOTSUPP) && (!defined(ENOTSUP) || EOPNOTSUPP != ENOTSUP)
  case EOPNOTSUPP:
#endif
  case ENOSYS:
    return MMAPIO_ENOTSUP;
  case ETIMEDOUT: return MMAPIO_ETIMEDOUT;
  default:
    /* EINVAL too: by the time the backend calls the OS the arguments were
     * checked, so an EINVAL from the kernel is an OS-side refusal (e.g. a
     * file system without mmap support), not a caller mistake. Call sites
     * that know better pass an explicit status. */
    return MMAPIO_EIO;
  }
}

/* ---- Test hooks ------------------------------------------------------------ */
#if MMAPIO__HOOKS

mmapio__sys_table mmapio__sys = {
  mmapio__sys_real_open,
  mmapio__sys_real_fstat,
  mmapio__sys_real_fcntl,
  mmapio__sys_real_dup,
  mmapio__sys_real_close,
  mmapio__sys_real_ftruncate,
  mmapio__sys_real_fallocate,
  mmapio__sys_real_posix_fallocate,
  mmapio__sys_real_preallocate,
  mmapio__sys_real_mmap,
  mmapio__sys_real_munmap,
  mmapio__sys_real_mremap,
  mmapio__sys_real_msync,
  mmapio__sys_real_madvise,
  mmapio__sys_real_fsync,
  mmapio__sys_real_fdatasync,
  mmapio__sys_real_fullfsync,
  mmapio__sys_real_sync_file_range,
  mmapio__sys_real_copy_file_range,
  mmapio__sys_real_read,
  mmapio__sys_real_write,
  mmapio__sys_real_unlink,
  mmapio__sys_real_link,
  mmapio__sys_real_rename_noreplace,
};

#define MMAPIO__REC_MAX 4096u   /* recorded calls kept; later ones are dropped */
#define MMAPIO__INJ_MAX 16u     /* pending injected failures */
#define MMAPIO__CNT_MAX 64u     /* distinct call names counted */
#define MMAPIO__NAME_MAX 32u

typedef struct mmapio__inject {
  char name[MMAPIO__NAME_MAX]; /* "" matches any call */
  unsigned left;               /* matching calls still to let through, plus one */
  int err;
  int active;
} mmapio__inject;

typedef struct mmapio__count {
  const char *name; /* the static name string passed by the wrapper */
  unsigned n;
} mmapio__count;

/* One mutex guards all hook state. The hooks run only in test builds and
 * only around system calls, so a lock per call is cheap next to the call. */
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static int hook_recording;
static size_t hook_nrec;
static mmapio__sys_call hook_rec[MMAPIO__REC_MAX];
static mmapio__inject hook_inj[MMAPIO__INJ_MAX];
static mmapio__count hook_cnt[MMAPIO__CNT_MAX];
static unsigned hook_total;

int mmapio__sys_hook(const char *name, uint64_t a, uint64_t b, int flags)
{
  int fail = 0;
  pthread_mutex_lock(&hook_mu);
  hook_total++;
  for (size_t i = 0; i < MMAPIO__CNT_MAX; i++) {
    if (hook_cnt[i].name == NULL) {
      hook_cnt[i].name = name;
      hook_cnt[i].n = 1;
      break;
    }
    if (hook_cnt[i].name == name || strcmp(hook_cnt[i].name, name) == 0) {
      hook_cnt[i].n++;
      break;
    }
  }
  if (hook_recording && hook_nrec < MMAPIO__REC_MAX) {
    mmapio__sys_call *c = &hook_rec[hook_nrec++];
    c->name = name;
    c->a = a;
    c->b = b;
    c->flags = flags;
  }
  for (size_t i = 0; i < MMAPIO__INJ_MAX; i++) {
    mmapio__inject *in = &hook_inj[i];
    if (!in->active) continue;
    if (in->name[0] != '\0' && strcmp(in->name, name) != 0) continue;
    if (--in->left == 0) {
      in->active = 0;
      if (fail == 0) fail = in->err;
    }
  }
  pthread_mutex_unlock(&hook_mu);
  return fail;
}

void mmapio__sys_reset(void)
{
  pthread_mutex_lock(&hook_mu);
  hook_recording = 0;
  hook_nrec = 0;
  hook_total = 0;
  memset(hook_inj, 0, sizeof hook_inj);
  memset(hook_cnt, 0, sizeof hook_cnt);
  pthread_mutex_unlock(&hook_mu);
}

/* Starting clears the previous recording; stopping keeps it, so a second
 * stop returns the same calls. */
void mmapio__sys_record_start(void)
{
  pthread_mutex_lock(&hook_mu);
  hook_nrec = 0;
  hook_recording = 1;
  pthread_mutex_unlock(&hook_mu);
}

/* Copies at most `max` recorded calls and returns how many were copied. */
size_t mmapio__sys_record_stop(mmapio__sys_call *out, size_t max)
{
  pthread_mutex_lock(&hook_mu);
  hook_recording = 0;
  size_t n = hook_nrec < max ? hook_nrec : max;
  if (out != NULL && n > 0) memcpy(out, hook_rec, n * sizeof *out);
  if (out == NULL) n = 0;
  pthread_mutex_unlock(&hook_mu);
  return n;
}

void mmapio__sys_fail_nth(const char *name, unsigned nth, int err)
{
  if (nth == 0) nth = 1;
  pthread_mutex_lock(&hook_mu);
  for (size_t i = 0; i < MMAPIO__INJ_MAX; i++) {
    mmapio__inject *in = &hook_inj[i];
    if (in->active) continue;
    snprintf(in->name, sizeof in->name, "%s", name != NULL ? name : "");
    in->left = nth;
    in->err = err;
    in->active = 1;
    break;
  }
  pthread_mutex_unlock(&hook_mu);
}

unsigned mmapio__sys_count(const char *name)
{
  unsigned n = 0;
  pthread_mutex_lock(&hook_mu);
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
  pthread_mutex_unlock(&hook_mu);
  return n;
}

/* fork(): another thread inside a hook at fork time would leave hook_mu
 * locked in the child (posix_fork.c calls this in each phase). */
void mmapio__posix_hooks_fork(int phase)
{
  if (phase == MMAPIO__FORK_PREPARE) pthread_mutex_lock(&hook_mu);
  else if (phase == MMAPIO__FORK_PARENT) pthread_mutex_unlock(&hook_mu);
  else pthread_mutex_init(&hook_mu, NULL);
}

#else /* !MMAPIO__HOOKS */

/* Without hooks the calls go straight to the OS: nothing is recorded or
 * injected, and every count is 0. Tests that need the hooks detect this
 * (a recorded flush shows no msync) and skip. */
void mmapio__sys_reset(void) {}
/* Starting clears the previous recording; stopping keeps it, so a second
 * stop returns the same calls. */
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

void mmapio__posix_hooks_fork(int phase) { (void)phase; }

#endif /* MMAPIO__HOOKS */
