/*
 * hints.c -- advise, prefetch, touch, residency, eviction, huge pages.
 * (Initial version: open-time hooks only; the hints work replaces it.)
 */
#include "internal.h"

int mmapio__apply_touch_hint(mmapio_map *m, mmapio_touch_hint t)
{
  (void)m; (void)t;
  return MMAPIO_OK;
}

void mmapio__apply_huge_pages(mmapio_map *m)
{
  m->huge_active = 0;
}
