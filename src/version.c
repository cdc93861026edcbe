/*
 * version.c -- version numbers, feature queries and small size helpers.
 */
#include "internal.h"

unsigned mmapio_version_number(void) { return MMAPIO_VERSION_NUMBER; }
const char *mmapio_version_string(void) { return MMAPIO_VERSION_STRING; }

int mmapio_has_feature(mmapio_feature f)
{
  switch (f) {
    case MMAPIO_FEATURE_ADVISE: return MMAPIO_WITH_ADVISE;
    case MMAPIO_FEATURE_ITERATOR: return MMAPIO_WITH_ITERATOR;
    case MMAPIO_FEATURE_ASYNC: return MMAPIO_WITH_ASYNC;
    case MMAPIO_FEATURE_BYTES: return MMAPIO_WITH_BYTES;
    case MMAPIO_FEATURE_HUGEPAGES: return MMAPIO_WITH_HUGEPAGES;
    case MMAPIO_FEATURE_COW: return MMAPIO_WITH_COW;
    case MMAPIO_FEATURE_LOCKING: return MMAPIO_WITH_LOCKING;
    case MMAPIO_FEATURE_ATOMIC: return MMAPIO_WITH_ATOMIC;
    case MMAPIO_FEATURE_WATCH: return MMAPIO_WITH_WATCH;
    case MMAPIO_FEATURE_FAULT_SAFE: return MMAPIO_WITH_FAULT_SAFE;
    default: return 0;
  }
}

size_t mmapio_page_size(void)
{
  static size_t cached;
  size_t v = mmapio__ld_relaxed(&cached);
  if (v == 0) {
    v = mmapio__os_page_size();
    mmapio__st_relaxed(&cached, v);
  }
  return v;
}

size_t mmapio_allocation_granularity(void)
{
  static size_t cached;
  size_t v = mmapio__ld_relaxed(&cached);
  if (v == 0) {
    v = mmapio__os_granularity();
    mmapio__st_relaxed(&cached, v);
  }
  return v;
}

uint64_t mmapio_align_up(uint64_t v, uint64_t a)
{
  if (a == 0) return v;
  uint64_t rem = v % a;
  if (rem == 0) return v;
  uint64_t add = a - rem;
  if (v > UINT64_MAX - add) return UINT64_MAX;
  return v + add;
}
