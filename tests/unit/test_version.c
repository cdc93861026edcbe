/* Version and feature queries (include/mmapio.h sections 1 and 3) and the small limits and
 * helpers every other module relies on (page size, align_up). */
#include "test.h"

static const struct { mmapio_feature f; int compiled; const char *name; } features[] = {
  {MMAPIO_FEATURE_ADVISE, MMAPIO_WITH_ADVISE, "ADVISE"},
  {MMAPIO_FEATURE_ITERATOR, MMAPIO_WITH_ITERATOR, "ITERATOR"},
  {MMAPIO_FEATURE_ASYNC, MMAPIO_WITH_ASYNC, "ASYNC"},
  {MMAPIO_FEATURE_BYTES, MMAPIO_WITH_BYTES, "BYTES"},
  {MMAPIO_FEATURE_HUGEPAGES, MMAPIO_WITH_HUGEPAGES, "HUGEPAGES"},
  {MMAPIO_FEATURE_COW, MMAPIO_WITH_COW, "COW"},
  {MMAPIO_FEATURE_LOCKING, MMAPIO_WITH_LOCKING, "LOCKING"},
  {MMAPIO_FEATURE_ATOMIC, MMAPIO_WITH_ATOMIC, "ATOMIC"},
  {MMAPIO_FEATURE_WATCH, MMAPIO_WITH_WATCH, "WATCH"},
  {MMAPIO_FEATURE_FAULT_SAFE, MMAPIO_WITH_FAULT_SAFE, "FAULT_SAFE"},
};

int main(void)
{
  ASSERT_EQ(MMAPIO_VERSION_NUMBER, 10100);
  ASSERT_EQ(mmapio_version_number(), MMAPIO_VERSION_NUMBER);
  ASSERT_EQ(mmapio_version_number(),
            MMAPIO_VERSION_MAJOR * 10000 + MMAPIO_VERSION_MINOR * 100 + MMAPIO_VERSION_PATCH);
  ASSERT(mmapio_version_string() != NULL);
  ASSERT_STREQ(mmapio_version_string(), "1.1.0");
  ASSERT_STREQ(mmapio_version_string(), MMAPIO_VERSION_STRING);
  char built[32];
  snprintf(built, sizeof built, "%d.%d.%d", MMAPIO_VERSION_MAJOR, MMAPIO_VERSION_MINOR,
           MMAPIO_VERSION_PATCH);
  ASSERT_STREQ(mmapio_version_string(), built);

  for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
    int h = mmapio_has_feature(features[i].f);
    if (h != 0 && h != 1) TEST_FAIL_("has_feature(%s) = %d, want 0 or 1", features[i].name, h);
    /* A compiled-out feature is never reported. */
    if (!features[i].compiled && h)
      TEST_FAIL_("feature %s is compiled out but reported present", features[i].name);
    /* Every feature except huge pages exists on every supported OS, so a
     * compiled-in feature must be reported (huge pages depend on the OS). */
    if (features[i].compiled && !h && features[i].f != MMAPIO_FEATURE_HUGEPAGES)
      TEST_FAIL_("feature %s is compiled in but reported absent", features[i].name);
  }
  ASSERT_EQ(mmapio_has_feature((mmapio_feature)0), 0);
  ASSERT_EQ(mmapio_has_feature((mmapio_feature)11), 0);
  ASSERT_EQ(mmapio_has_feature((mmapio_feature)-1), 0);
  ASSERT_EQ(mmapio_has_feature((mmapio_feature)1000), 0);

  /* Limits and helpers. */
#if UINTPTR_MAX > 0xFFFFFFFFu
  ASSERT_U64_EQ(MMAPIO_MAX_SIZE, UINT64_C(1) << 47);
#else
  ASSERT_U64_EQ(MMAPIO_MAX_SIZE, UINT64_C(1) << 31);
#endif
  size_t ps = mmapio_page_size();
  ASSERT(ps >= 4096 && (ps & (ps - 1)) == 0);
  ASSERT_EQ(mmapio_page_size(), ps);
  size_t g = mmapio_allocation_granularity();
  ASSERT(g >= ps && g % ps == 0);
#ifdef _WIN32
  ASSERT_EQ(g, 65536);
#else
  ASSERT_EQ(g, ps);
#endif
  ASSERT_U64_EQ(mmapio_align_up(0, 4096), 0);
  ASSERT_U64_EQ(mmapio_align_up(1, 4096), 4096);
  ASSERT_U64_EQ(mmapio_align_up(4096, 4096), 4096);
  ASSERT_U64_EQ(mmapio_align_up(4097, 4096), 8192);
  ASSERT_U64_EQ(mmapio_align_up(123, 0), 123);
  ASSERT_U64_EQ(mmapio_align_up(10, 3), 12);
  ASSERT_U64_EQ(mmapio_align_up(UINT64_MAX, 1), UINT64_MAX);
  ASSERT_U64_EQ(mmapio_align_up(UINT64_MAX, 4096), UINT64_MAX);
  ASSERT_U64_EQ(mmapio_align_up(UINT64_MAX - 4094, 4096), UINT64_MAX);
  ASSERT_U64_EQ(mmapio_align_up(UINT64_MAX - 4095 - 4095, 4096), UINT64_MAX - 4095);
  return 0;
}
