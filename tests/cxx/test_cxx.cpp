// test_cxx.cpp -- mmapio.hpp: ownership, errors (exceptions and
// std::error_code), views, atomics, segments, range-for over chunks and
// pages, statistics, shared memory. Built as C++17 and C++20.
#include "mmapio.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#ifdef _WIN32
#  include <process.h>
#  define test_getpid _getpid
#else
#  include <unistd.h>
#  define test_getpid getpid
#endif

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: check failed: %s\n  last_error: %s\n", __FILE__, \
                   __LINE__, #cond, mmapio_last_error());                            \
      std::exit(1);                                                                  \
    }                                                                                \
  } while (0)

// The expression must throw mmapio::error with status `st`.
#define CHECK_THROWS(expr, st)                                                       \
  do {                                                                               \
    bool thrown_ = false;                                                            \
    try {                                                                            \
      (void)(expr);                                                                  \
    } catch (const mmapio::error &e_) {                                              \
      thrown_ = true;                                                                \
      CHECK(e_.status() == (st));                                                    \
      CHECK(e_.code() == (st));                                                      \
      CHECK(std::strlen(e_.what()) > 0);                                             \
    }                                                                                \
    CHECK(thrown_);                                                                  \
  } while (0)

static_assert(!std::is_copy_constructible<mmapio::map>::value, "map is move-only");
static_assert(!std::is_copy_assignable<mmapio::map>::value, "map is move-only");
static_assert(std::is_nothrow_move_constructible<mmapio::map>::value, "map moves");
static_assert(std::is_nothrow_move_assignable<mmapio::map>::value, "map moves");
static_assert(!std::is_copy_constructible<mmapio::view>::value, "view is move-only");
static_assert(std::is_nothrow_move_constructible<mmapio::view>::value, "view moves");
static_assert(!std::is_copy_constructible<mmapio::view_mut>::value, "view_mut is move-only");
static_assert(std::is_nothrow_move_constructible<mmapio::view_mut>::value, "view_mut moves");
static_assert(!std::is_copy_constructible<mmapio::atomic_u64>::value, "atomic is move-only");
static_assert(std::is_nothrow_move_constructible<mmapio::atomic_u32>::value, "atomic moves");
static_assert(!std::is_copy_constructible<mmapio::segment>::value, "segment is move-only");
static_assert(std::is_nothrow_move_constructible<mmapio::segment>::value, "segment moves");
static_assert(std::is_base_of<std::runtime_error, mmapio::error>::value, "error is an exception");

static std::string tmp_path(const char *tag)
{
  const char *dir = std::getenv("MMAPIO_TEST_TMPDIR");
  if (dir == nullptr || *dir == '\0') dir = ".";
  return std::string(dir) + "/mmapio-cxx-" + tag + "-" + std::to_string(test_getpid()) + "-" +
         std::to_string(__cplusplus);
}

static void errors()
{
  std::string missing = tmp_path("missing");
  // Exceptions carry the status and the detail message (naming the path).
  try {
    (void)mmapio::map::open_rw(missing.c_str());
    CHECK(false);
  } catch (const mmapio::error &e) {
    CHECK(e.status() == MMAPIO_ENOENT);
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
    CHECK(e.code().category() == mmapio::category());
    CHECK(e.code().message() == mmapio_strerror(MMAPIO_ENOENT));
  }
  // The std::error_code overloads do not throw.
  std::error_code ec;
  mmapio::map m = mmapio::map::open_rw(missing.c_str(), ec);
  CHECK(!m);
  CHECK(ec);
  CHECK(ec == MMAPIO_ENOENT);
  CHECK(ec.value() == MMAPIO_ENOENT);
  CHECK(std::string(ec.category().name()) == "mmapio");
  CHECK(std::strstr(mmapio_last_error(), missing.c_str()) != nullptr);
  CHECK_THROWS(mmapio::map::create_rw(missing.c_str(), 0), MMAPIO_ESIZE);
  static_assert(noexcept(mmapio::map::open_rw("", ec)), "ec overloads are noexcept");
}

static void basics()
{
  std::string path = tmp_path("basics");
  mmapio::map m = mmapio::map::create_rw(path.c_str(), 3 * 4096 + 100);
  CHECK(m);
  CHECK(m.size() == 3 * 4096 + 100);
  CHECK(m.mode() == MMAPIO_MODE_READ_WRITE);
  CHECK(std::string(m.path()) == path);

  m.write(10, std::string_view("hello, mmapio"));
  char buf[5];
  m.read(10, buf, sizeof buf);
  CHECK(std::memcmp(buf, "hello", 5) == 0);
  std::error_code ec;
  m.write(m.size(), "x", 1, ec);
  CHECK(ec == MMAPIO_EBOUNDS);
  CHECK_THROWS(m.write(m.size(), std::string_view("x")), MMAPIO_EBOUNDS);
  m.read(0, buf, 1, ec);
  CHECK(!ec);

  {
    mmapio::view v = m.get_view(10, 13);
    CHECK(v.size() == 13);
    CHECK(v.str() == "hello, mmapio");
    std::string copy(v.begin(), v.end());
    CHECK(copy == "hello, mmapio");
#if MMAPIO_HPP_HAS_SPAN
    std::span<const std::uint8_t> sp = v.span();
    CHECK(sp.size() == 13 && sp[0] == 'h');
#endif
    // Held view: the last reference cannot close (EBUSY), and keeps it.
    std::error_code cec;
    m.close(cec);
    CHECK(cec == MMAPIO_EBUSY);
    CHECK(m);
    mmapio::view moved = std::move(v);
    CHECK(v.data() == nullptr);
    CHECK(moved.str() == "hello, mmapio");
  }
  CHECK_THROWS(m.get_view(m.size() + 1, 0), MMAPIO_EBOUNDS);
  {
    mmapio::view_mut w = m.get_view_mut(4096, 4);
    std::memcpy(w.data(), "WXYZ", 4);
#if MMAPIO_HPP_HAS_SPAN
    CHECK(w.span().size() == 4);
#endif
    w.release();
    CHECK(w.empty());
  }
  CHECK(m.get_view(4096, 4).str() == "WXYZ");

  // Atomics (feature ATOMIC).
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    mmapio::atomic_u64 a = m.atomic64(64);
    CHECK(a && a.writable());
    CHECK(a.fetch_add(5) == 0);
    CHECK(a.load() == 5);
    std::uint64_t expect = 5;
    CHECK(a.compare_exchange(expect, 7));
    CHECK(a.load(MMAPIO_ORDER_ACQUIRE) == 7);
    mmapio::atomic_u32 b = m.atomic32(128);
    b.store(41);
    CHECK(b.fetch_add(1) == 41 && b.load() == 42);
    CHECK(b.exchange(1) == 42 && b.fetch_sub(1) == 1);
    CHECK_THROWS(m.atomic64(3), MMAPIO_EALIGN);
    std::error_code aec;
    mmapio::atomic_u32 bad = m.atomic32(m.size(), aec);
    CHECK(aec == MMAPIO_EBOUNDS && !bad);
  }

  // Segments.
  {
    mmapio::segment s = m.make_segment(8192, 100);
    CHECK(s.valid() && s.offset() == 8192 && s.size() == 100);
    s.write(0, std::string_view("segment"));
    CHECK(s.get_view().str().substr(0, 7) == "segment");
    CHECK_THROWS(s.write(99, "ab", 2), MMAPIO_EBOUNDS);
    std::error_code sec;
    mmapio::segment bad = m.make_segment(m.size(), 1, sec);
    CHECK(sec == MMAPIO_EBOUNDS);
  }

  // Range-for over chunks and pages (feature ITERATOR).
  if (mmapio_has_feature(MMAPIO_FEATURE_ITERATOR)) {
    std::uint64_t total = 0, next = 0;
    std::size_t n = 0;
    for (const mmapio::chunk &c : m.chunks(1000)) {
      CHECK(c.offset == next);
      next += c.size;
      total += c.size;
      n++;
    }
    CHECK(total == m.size());
    CHECK(n == (m.size() + 999) / 1000);
    n = 0;
    for (auto c : m.pages()) {
      CHECK(c.size <= mmapio_page_size());
      n++;
    }
    CHECK(n == (m.size() + mmapio_page_size() - 1) / mmapio_page_size());
    for (auto c : m.chunks_mut(4096)) std::memset(c.data, 'z', c.size > 8 ? 8 : c.size);
    CHECK(m.get_view(4096, 8).str() == "zzzzzzzz");
    std::error_code iec;
    {
      mmapio::view held = m.get_view(0, 1);
      auto r = m.chunks_mut(16, iec);  // this thread holds a view: EDEADLK
      CHECK(iec == MMAPIO_EDEADLK);
      CHECK(r.begin() == r.end());
    }
    auto r = m.chunks(4096);
    CHECK(r.remaining() == 4);
  }

  // Statistics.
  mmapio_map_stats st = m.stats();
  CHECK(st.write_calls >= 3);
  CHECK(st.views_outstanding == 0);
  m.flush();
  CHECK(m.stats().flush_calls == st.flush_calls + 1);
  m.resize(5 * 4096);
  CHECK(m.size() == 5 * 4096);

  // Moves.
  mmapio::map m2 = std::move(m);
  CHECK(!m && m2);
  m = std::move(m2);
  CHECK(m && !m2);
  m.close();
  CHECK(!m);
  std::remove(path.c_str());
}

static void memory()
{
  mmapio::map a = mmapio::map::anon(1 << 16);
  a.write(0, std::string_view("anon"));
  CHECK(a.get_view(0, 4).str() == "anon");
  CHECK(a.path() == nullptr);

  std::string name = "mmapio-cxx-" + std::to_string(test_getpid()) + "-" + std::to_string(__cplusplus);
  mmapio::map s = mmapio::map::shm_open(name.c_str(), 4096, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE);
  mmapio::map s2 = mmapio::map::shm_open(name.c_str(), 0, 0);
  s.write(0, std::string_view("shared"));
  CHECK(s2.get_view(0, 6).str() == "shared");
  std::error_code ec;
  mmapio::map bad = mmapio::map::shm_open("a/b", 4096, MMAPIO_OPEN_CREATE, ec);
  CHECK(ec == MMAPIO_EINVAL && !bad);
  mmapio::map::shm_remove(name.c_str());
  s.close();
  s2.close();
  mmapio::map::shm_remove(name.c_str(), ec);
  CHECK(ec == MMAPIO_ENOENT);
}

int main()
{
  errors();
  basics();
  memory();
  std::printf("mmapio.hpp OK (__cplusplus %ld, span %d)\n", static_cast<long>(__cplusplus),
              MMAPIO_HPP_HAS_SPAN);
  return 0;
}
