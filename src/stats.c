/*
 * stats.c -- per-map statistics (mmapio_stats).
 *
 * Nothing here runs on the read/write fast paths. Counters live where a
 * system call is made anyway (flushes, resizes: atomic adds next to an msync
 * or an mremap) or in the per-thread slots, where the owner thread bumps
 * plain relaxed counters it alone writes (internal.h: mmapio__stat_write,
 * mmapio__stat_view_peak); this file sums the slots when asked.
 */
#include "internal.h"

#include <string.h>

int mmapio__os_flush_counted(mmapio_map *m, uint64_t off, uint64_t len)
{
  uint64_t t0 = mmapio__os_monotonic_ns();
  int rc = mmapio__os_flush(&m->om, m->file, off, len, m->durability, m->path);
  uint64_t dt = mmapio__os_monotonic_ns() - t0;
  mmapio__fetch_add(&m->st.flush_calls, 1u);
  if (rc != MMAPIO_OK) mmapio__fetch_add(&m->st.flush_failures, 1u);
  mmapio__st_relaxed(&m->st.flush_last_ns, dt);
  uint64_t cur = mmapio__ld_relaxed(&m->st.flush_max_ns);
  while (dt > cur && !mmapio__cas(&m->st.flush_max_ns, &cur, dt)) {
  }
  return rc;
}

void mmapio__stat_resize(mmapio_map *m, int in_place)
{
  mmapio__fetch_add(in_place ? &m->st.resize_in_place : &m->st.resize_moving, 1u);
}

/* The slots' statistics fields are written by their owner threads with
 * plain stores (internal.h); reading them here races with those stores by
 * design. Tell the thread sanitizer so (the values are only statistics). */
#if defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define MMAPIO__NO_TSAN __attribute__((no_sanitize("thread")))
#  endif
#endif
#if !defined(MMAPIO__NO_TSAN) && defined(__SANITIZE_THREAD__)
#  define MMAPIO__NO_TSAN __attribute__((no_sanitize_thread))
#endif
#ifndef MMAPIO__NO_TSAN
#  define MMAPIO__NO_TSAN
#endif

static MMAPIO__NO_TSAN void mmapio__stats_slots(mmapio_map_stats *s, const mmapio_map *m)
{
  for (const mmapio__slot *sl = mmapio__ld_acquire(&m->slots); sl != NULL; sl = sl->next) {
    const volatile mmapio__slot *v = sl;
    s->write_calls += v->st_wcalls;
    s->write_bytes += v->st_wbytes;
    s->views_peak += v->st_peak;
    s->views_outstanding += mmapio__ld_relaxed(&sl->count) + mmapio__ld_relaxed(&sl->excl);
    s->slots_in_use++;
  }
}

int mmapio_stats(mmapio_map_stats *st, const mmapio_map *m)
{
  if (st == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_stats: st is NULL");
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_stats: map is NULL");
  uint32_t size = st->struct_size;
  /* An older caller's smaller struct gets the fields it knows; fields are
   * 8 bytes wide, so a size in between would cut one in half. */
  if (size < 8u || size > sizeof(mmapio_map_stats) || size % 8u != 0u)
    return mmapio__fail(MMAPIO_EVERSION,
                        "mmapio_stats: struct_size %u not understood (this library fills up to "
                        "%u bytes; set it to sizeof(mmapio_map_stats))",
                        (unsigned)size, (unsigned)sizeof(mmapio_map_stats));
  mmapio_map_stats s;
  memset(&s, 0, sizeof s);
  s.struct_size = size;
  mmapio__stats_slots(&s, m);
  s.flush_calls = mmapio__ld_relaxed(&m->st.flush_calls);
  s.flush_failures = mmapio__ld_relaxed(&m->st.flush_failures);
  s.flush_last_ns = mmapio__ld_relaxed(&m->st.flush_last_ns);
  s.flush_max_ns = mmapio__ld_relaxed(&m->st.flush_max_ns);
  s.pending_bytes = mmapio__ld_acquire(&m->pending);
  s.resizes_in_place = mmapio__ld_relaxed(&m->st.resize_in_place);
  s.resizes_moving = mmapio__ld_relaxed(&m->st.resize_moving);
  s.pins_outstanding = mmapio__ld_acquire(&m->pins);
  memcpy(st, &s, size);
  return MMAPIO_OK;
}
