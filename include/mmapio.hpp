/*
 * mmapio.hpp -- a C++17 face for mmapio, header-only over the C API.
 *
 * The C header mmapio.h is the manual: every member below names the C
 * function it calls, and that function's comment says what it does, which
 * statuses it returns and when, and its thread-safety rules. This header
 * only adds ownership (RAII, move-only handles) and C++ error reporting:
 *
 *   - Throwing calls raise mmapio::error (a std::runtime_error): what() is
 *     the detail message (mmapio_last_error() at the failure), status() the
 *     MMAPIO_E* code, code() a std::error_code of mmapio::category().
 *   - Every fallible call has a non-throwing overload taking a
 *     std::error_code& as its last argument: it is cleared on success and
 *     set to the status on failure (then mmapio_last_error() has the detail
 *     on this thread). Such overloads are noexcept. A std::error_code
 *     compares equal to the C enum: `ec == MMAPIO_ENOENT`.
 *   - Views, iterators, atomic views and segments must not outlive their
 *     map object's mapping (a moving resize or close invalidates pointers
 *     exactly as in C); views and iterators are released on the thread
 *     that took them.
 *
 * With C++20, views and chunks also give std::span accessors.
 * @since 1.1.0
 */
#ifndef MMAPIO_HPP
#define MMAPIO_HPP

#include "mmapio.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#if defined(__cpp_lib_span) || (__cplusplus >= 202002L && defined(__has_include))
#  if __has_include(<span>)
#    include <span>
#  endif
#endif
#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L
#  define MMAPIO_HPP_HAS_SPAN 1
#else
#  define MMAPIO_HPP_HAS_SPAN 0
#endif

namespace mmapio {

/* ---- Errors --------------------------------------------------------------- */

namespace detail {
class category_impl final : public std::error_category {
 public:
  const char *name() const noexcept override { return "mmapio"; }
  std::string message(int ev) const override { return mmapio_strerror(ev); }
};
}  // namespace detail

/// The error category of mmapio statuses (messages: mmapio_strerror).
inline const std::error_category &category() noexcept
{
  static const detail::category_impl c;
  return c;
}

/// A std::error_code holding an mmapio status.
inline std::error_code make_error_code(int status) noexcept { return {status, category()}; }

/// What the throwing calls throw: the status and the detail message.
class error : public std::runtime_error {
 public:
  error(int status, const std::string &detail)
      : std::runtime_error(detail.empty() ? std::string(mmapio_strerror(status)) : detail),
        status_(status)
  {
  }
  /// The MMAPIO_E* status.
  int status() const noexcept { return status_; }
  /// The status as a std::error_code.
  std::error_code code() const noexcept { return make_error_code(status_); }

 private:
  int status_;
};

namespace detail {
[[noreturn]] inline void raise(int status) { throw error(status, mmapio_last_error()); }
inline void check(int status)
{
  if (status != MMAPIO_OK) raise(status);
}
inline bool check(int status, std::error_code &ec) noexcept
{
  if (status != MMAPIO_OK) {
    ec = make_error_code(status);
    return false;
  }
  ec.clear();
  return true;
}
}  // namespace detail

class map;
class segment;

/* ---- Views ---------------------------------------------------------------- */

/// A read view (mmapio_view_get); released by the destructor
/// (mmapio_view_release). Move-only.
class view {
 public:
  view() noexcept : v_() {}
  view(view &&o) noexcept : v_(o.v_) { o.v_ = mmapio_view(); }
  view &operator=(view &&o) noexcept
  {
    if (this != &o) {
      reset();
      v_ = o.v_;
      o.v_ = mmapio_view();
    }
    return *this;
  }
  view(const view &) = delete;
  view &operator=(const view &) = delete;
  ~view() { reset(); }

  const std::uint8_t *data() const noexcept { return v_.data; }
  std::size_t size() const noexcept { return v_.len; }
  bool empty() const noexcept { return v_.len == 0; }
  const std::uint8_t *begin() const noexcept { return v_.data; }
  const std::uint8_t *end() const noexcept { return v_.data + v_.len; }
  std::string_view str() const noexcept
  {
    return std::string_view(reinterpret_cast<const char *>(v_.data), v_.len);
  }
#if MMAPIO_HPP_HAS_SPAN
  std::span<const std::uint8_t> span() const noexcept { return {v_.data, v_.len}; }
#endif
  /// Release now (mmapio_view_release); the view becomes empty.
  void reset() noexcept
  {
    mmapio_view_release(&v_);
    v_ = mmapio_view();
  }
  mmapio_view *c_view() noexcept { return &v_; }

 private:
  mmapio_view v_;
};

/// A write view (mmapio_view_get_mut). The destructor releases it
/// (mmapio_view_mut_release) and ignores a failing policy flush; call
/// release() to see that status. Move-only.
class view_mut {
 public:
  view_mut() noexcept : v_() {}
  view_mut(view_mut &&o) noexcept : v_(o.v_) { o.v_ = mmapio_view_mut(); }
  view_mut &operator=(view_mut &&o) noexcept
  {
    if (this != &o) {
      std::error_code ec;
      release(ec);
      v_ = o.v_;
      o.v_ = mmapio_view_mut();
    }
    return *this;
  }
  view_mut(const view_mut &) = delete;
  view_mut &operator=(const view_mut &) = delete;
  ~view_mut()
  {
    std::error_code ec;
    release(ec);
  }

  std::uint8_t *data() const noexcept { return v_.data; }
  std::size_t size() const noexcept { return v_.len; }
  bool empty() const noexcept { return v_.len == 0; }
  std::uint8_t *begin() const noexcept { return v_.data; }
  std::uint8_t *end() const noexcept { return v_.data + v_.len; }
  std::string_view str() const noexcept
  {
    return std::string_view(reinterpret_cast<const char *>(v_.data), v_.len);
  }
#if MMAPIO_HPP_HAS_SPAN
  std::span<std::uint8_t> span() const noexcept { return {v_.data, v_.len}; }
#endif
  /// mmapio_view_mut_release: counts the bytes as written, applies the
  /// flush policy. The view is released (empty) even when that fails.
  void release() { detail::check(take()); }
  void release(std::error_code &ec) noexcept { detail::check(take(), ec); }
  mmapio_view_mut *c_view() noexcept { return &v_; }

 private:
  int take() noexcept
  {
    int rc = mmapio_view_mut_release(&v_);
    v_ = mmapio_view_mut();
    return rc;
  }
  mmapio_view_mut v_;
};

/* ---- Atomic views --------------------------------------------------------- */

namespace detail {
template <class T> struct atomic_ops;
template <> struct atomic_ops<std::uint32_t> {
  static int get(mmapio_atomic *a, mmapio_map *m, std::uint64_t off) { return mmapio_atomic_u32(a, m, off); }
  static std::uint32_t load(const std::uint32_t *p, mmapio_order o) { return mmapio_load_u32(p, o); }
  static void store(std::uint32_t *p, std::uint32_t v, mmapio_order o) { mmapio_store_u32(p, v, o); }
  static std::uint32_t add(std::uint32_t *p, std::uint32_t v, mmapio_order o) { return mmapio_fetch_add_u32(p, v, o); }
  static std::uint32_t sub(std::uint32_t *p, std::uint32_t v, mmapio_order o) { return mmapio_fetch_sub_u32(p, v, o); }
  static std::uint32_t xchg(std::uint32_t *p, std::uint32_t v, mmapio_order o) { return mmapio_exchange_u32(p, v, o); }
  static bool cas(std::uint32_t *p, std::uint32_t *e, std::uint32_t d, mmapio_order s, mmapio_order f)
  {
    return mmapio_compare_exchange_u32(p, e, d, s, f) != 0;
  }
};
template <> struct atomic_ops<std::uint64_t> {
  static int get(mmapio_atomic *a, mmapio_map *m, std::uint64_t off) { return mmapio_atomic_u64(a, m, off); }
  static std::uint64_t load(const std::uint64_t *p, mmapio_order o) { return mmapio_load_u64(p, o); }
  static void store(std::uint64_t *p, std::uint64_t v, mmapio_order o) { mmapio_store_u64(p, v, o); }
  static std::uint64_t add(std::uint64_t *p, std::uint64_t v, mmapio_order o) { return mmapio_fetch_add_u64(p, v, o); }
  static std::uint64_t sub(std::uint64_t *p, std::uint64_t v, mmapio_order o) { return mmapio_fetch_sub_u64(p, v, o); }
  static std::uint64_t xchg(std::uint64_t *p, std::uint64_t v, mmapio_order o) { return mmapio_exchange_u64(p, v, o); }
  static bool cas(std::uint64_t *p, std::uint64_t *e, std::uint64_t d, mmapio_order s, mmapio_order f)
  {
    return mmapio_compare_exchange_u64(p, e, d, s, f) != 0;
  }
};

/// One atomic cell (mmapio_atomic_u32 / _u64): a pin released by the
/// destructor (mmapio_atomic_release). Move-only.
template <class T> class atomic_cell {
  using ops = atomic_ops<T>;

 public:
  atomic_cell() noexcept : a_() {}
  atomic_cell(atomic_cell &&o) noexcept : a_(o.a_) { o.a_ = mmapio_atomic(); }
  atomic_cell &operator=(atomic_cell &&o) noexcept
  {
    if (this != &o) {
      reset();
      a_ = o.a_;
      o.a_ = mmapio_atomic();
    }
    return *this;
  }
  atomic_cell(const atomic_cell &) = delete;
  atomic_cell &operator=(const atomic_cell &) = delete;
  ~atomic_cell() { reset(); }

  T load(mmapio_order o = MMAPIO_ORDER_SEQ_CST) const noexcept { return ops::load(ptr(), o); }
  void store(T v, mmapio_order o = MMAPIO_ORDER_SEQ_CST) noexcept { ops::store(ptr(), v, o); }
  T fetch_add(T v, mmapio_order o = MMAPIO_ORDER_SEQ_CST) noexcept { return ops::add(ptr(), v, o); }
  T fetch_sub(T v, mmapio_order o = MMAPIO_ORDER_SEQ_CST) noexcept { return ops::sub(ptr(), v, o); }
  T exchange(T v, mmapio_order o = MMAPIO_ORDER_SEQ_CST) noexcept { return ops::xchg(ptr(), v, o); }
  bool compare_exchange(T &expected, T desired, mmapio_order s = MMAPIO_ORDER_SEQ_CST,
                        mmapio_order f = MMAPIO_ORDER_SEQ_CST) noexcept
  {
    return ops::cas(ptr(), &expected, desired, s, f);
  }
  /// 0 on READ_ONLY maps: only load() may be used.
  bool writable() const noexcept { return a_.writable != 0; }
  explicit operator bool() const noexcept { return a_.ptr != nullptr; }
  void reset() noexcept
  {
    mmapio_atomic_release(&a_);
    a_ = mmapio_atomic();
  }
  mmapio_atomic *c_atomic() noexcept { return &a_; }

 private:
  friend class mmapio::map;
  T *ptr() const noexcept { return static_cast<T *>(a_.ptr); }
  mmapio_atomic a_;
};
}  // namespace detail

using atomic_u32 = detail::atomic_cell<std::uint32_t>;
using atomic_u64 = detail::atomic_cell<std::uint64_t>;

/* ---- Iteration -------------------------------------------------------------- */

/// One piece yielded by map::chunks / map::pages (mmapio_chunk).
struct chunk {
  std::uint64_t offset;
  const std::uint8_t *data;
  std::size_t size;
  std::string_view str() const noexcept
  {
    return std::string_view(reinterpret_cast<const char *>(data), size);
  }
#if MMAPIO_HPP_HAS_SPAN
  std::span<const std::uint8_t> span() const noexcept { return {data, size}; }
#endif
};
/// One writable piece yielded by map::chunks_mut (mmapio_chunk_mut).
struct chunk_mut {
  std::uint64_t offset;
  std::uint8_t *data;
  std::size_t size;
#if MMAPIO_HPP_HAS_SPAN
  std::span<std::uint8_t> span() const noexcept { return {data, size}; }
#endif
};

namespace detail {
struct end_sentinel {};

/// A range over a map's chunks for range-for: starts the C iterator
/// (mmapio_chunks / mmapio_pages / mmapio_chunks_mut) when made, ends it
/// (mmapio_iter_end) when destroyed. Neither copyable nor movable: use it
/// directly, `for (auto c : m.chunks(4096))`. Single pass.
template <bool Mut> class chunk_range {
  using item = typename std::conditional<Mut, chunk_mut, chunk>::type;

 public:
  class iterator {
   public:
    using value_type = item;
    using difference_type = std::ptrdiff_t;
    using reference = const item &;
    using pointer = const item *;
    using iterator_category = std::input_iterator_tag;
    reference operator*() const noexcept { return r_->cur_; }
    pointer operator->() const noexcept { return &r_->cur_; }
    iterator &operator++() noexcept
    {
      r_->advance();
      return *this;
    }
    void operator++(int) noexcept { r_->advance(); }
    friend bool operator==(const iterator &i, end_sentinel) noexcept { return i.at_end(); }
    friend bool operator!=(const iterator &i, end_sentinel s) noexcept { return !(i == s); }
    friend bool operator==(end_sentinel s, const iterator &i) noexcept { return i == s; }
    friend bool operator!=(end_sentinel s, const iterator &i) noexcept { return !(i == s); }

   private:
    friend class chunk_range;
    explicit iterator(chunk_range *r) noexcept : r_(r) {}
    bool at_end() const noexcept { return r_->done_; }
    chunk_range *r_;
  };

  chunk_range(const chunk_range &) = delete;
  chunk_range &operator=(const chunk_range &) = delete;
  ~chunk_range()
  {
    if (started_) mmapio_iter_end(&it_);
  }
  /// First call: the first chunk; the range is single-pass.
  iterator begin() noexcept
  {
    if (!primed_) {
      primed_ = true;
      advance();
    }
    return iterator(this);
  }
  end_sentinel end() const noexcept { return {}; }
  /// Chunks not yet yielded (mmapio_iter_remaining).
  std::size_t remaining() const noexcept { return started_ ? mmapio_iter_remaining(&it_) : 0; }

 private:
  friend class mmapio::map;
  // kind: 0 chunks, 1 pages, 2 chunks_mut
  chunk_range(mmapio_map *m, int kind, std::size_t n, std::error_code *ec)
      : it_(), cur_(), started_(false), primed_(false), done_(true)
  {
    int rc = kind == 1 ? mmapio_pages(&it_, m)
             : kind == 2 ? mmapio_chunks_mut(&it_, m, n)
                         : mmapio_chunks(&it_, m, n);
    if (ec != nullptr) {
      if (!check(rc, *ec)) return;
    } else {
      check(rc);
    }
    started_ = true;
    done_ = false;
  }
  void advance() noexcept
  {
    if (done_) return;
    int r;
    if constexpr (Mut) {
      mmapio_chunk_mut c;
      r = mmapio_iter_next_mut(&c, &it_);
      if (r == 1) cur_ = item{c.offset, c.data, c.len};
    } else {
      mmapio_chunk c;
      r = mmapio_iter_next(&c, &it_);
      if (r == 1) cur_ = item{c.offset, c.data, c.len};
    }
    if (r != 1) done_ = true;
  }
  mmapio_iter it_;
  item cur_;
  bool started_, primed_, done_;
};
}  // namespace detail

using chunk_range = detail::chunk_range<false>;
using chunk_mut_range = detail::chunk_range<true>;

/* ---- The map -------------------------------------------------------------- */

/// Owns one reference to a mmapio_map; the destructor closes it
/// (mmapio_close, status ignored: call close() to see it). Move-only.
/// Thread-safety as in C: one map object may be used from many threads.
class map {
 public:
  map() noexcept = default;
  /// Adopt a reference the caller owns (e.g. from mmapio_open).
  explicit map(mmapio_map *adopt) noexcept : m_(adopt) {}
  map(map &&o) noexcept : m_(o.m_) { o.m_ = nullptr; }
  map &operator=(map &&o) noexcept
  {
    if (this != &o) {
      (void)mmapio_close(m_);
      m_ = o.m_;
      o.m_ = nullptr;
    }
    return *this;
  }
  map(const map &) = delete;
  map &operator=(const map &) = delete;
  ~map() { (void)mmapio_close(m_); }

  /* Opening: each is the C function of the same name. */
  static map open(const char *path, const mmapio_options *o = nullptr)
  {
    return make([&](mmapio_map **p) { return mmapio_open(p, path, o); });
  }
  static map open(const char *path, const mmapio_options *o, std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_open(p, path, o); }, ec);
  }
  static map open_ro(const char *path) { return make([&](mmapio_map **p) { return mmapio_open_ro(p, path); }); }
  static map open_ro(const char *path, std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_open_ro(p, path); }, ec);
  }
  static map open_rw(const char *path) { return make([&](mmapio_map **p) { return mmapio_open_rw(p, path); }); }
  static map open_rw(const char *path, std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_open_rw(p, path); }, ec);
  }
  static map open_cow(const char *path) { return make([&](mmapio_map **p) { return mmapio_open_cow(p, path); }); }
  static map open_cow(const char *path, std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_open_cow(p, path); }, ec);
  }
  static map create_rw(const char *path, std::uint64_t size)
  {
    return make([&](mmapio_map **p) { return mmapio_create_rw(p, path, size); });
  }
  static map create_rw(const char *path, std::uint64_t size, std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_create_rw(p, path, size); }, ec);
  }
  static map open_or_create(const char *path, std::uint64_t default_size)
  {
    return make([&](mmapio_map **p) { return mmapio_open_or_create(p, path, default_size); });
  }
  static map open_or_create(const char *path, std::uint64_t default_size, std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_open_or_create(p, path, default_size); }, ec);
  }
  static map open_fd(mmapio_native_file f, mmapio_mode mode, const char *path_hint = nullptr)
  {
    return make([&](mmapio_map **p) { return mmapio_open_fd(p, f, mode, path_hint); });
  }
  static map open_fd(mmapio_native_file f, mmapio_mode mode, const char *path_hint,
                     std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_open_fd(p, f, mode, path_hint); }, ec);
  }
  static map anon(std::uint64_t size, std::uint32_t flags = 0)
  {
    return make([&](mmapio_map **p) { return mmapio_anon(p, size, flags); });
  }
  static map anon(std::uint64_t size, std::uint32_t flags, std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_anon(p, size, flags); }, ec);
  }
  static map shm_open(const char *name, std::uint64_t size, std::uint32_t flags)
  {
    return make([&](mmapio_map **p) { return mmapio_shm_open(p, name, size, flags); });
  }
  static map shm_open(const char *name, std::uint64_t size, std::uint32_t flags,
                      std::error_code &ec) noexcept
  {
    return make([&](mmapio_map **p) { return mmapio_shm_open(p, name, size, flags); }, ec);
  }
  /// mmapio_shm_remove.
  static void shm_remove(const char *name) { detail::check(mmapio_shm_remove(name)); }
  static void shm_remove(const char *name, std::error_code &ec) noexcept
  {
    detail::check(mmapio_shm_remove(name), ec);
  }

  /// mmapio_close now. On failure (EBUSY, a failing final flush) the C
  /// rules apply: EBUSY keeps the map open and owned by this object; after
  /// a failing final flush the map is gone.
  void close() { detail::check(close_status()); }
  void close(std::error_code &ec) noexcept { detail::check(close_status(), ec); }

  explicit operator bool() const noexcept { return m_ != nullptr; }
  mmapio_map *get() const noexcept { return m_; }
  /// Give up ownership (the caller must mmapio_close the result).
  mmapio_map *release() noexcept
  {
    mmapio_map *m = m_;
    m_ = nullptr;
    return m;
  }

  /* Accessors (never fail). */
  std::uint64_t size() const noexcept { return mmapio_len(m_); }
  mmapio_mode mode() const noexcept { return mmapio_mode_of(m_); }
  const char *path() const noexcept { return mmapio_path(m_); }
  mmapio_native_file native_handle() const noexcept { return mmapio_native_handle(m_); }
  std::uint64_t pending_bytes() const noexcept { return mmapio_pending_bytes(m_); }
  std::uint64_t capacity() const noexcept { return mmapio_capacity(m_); }
  void *unsafe_ptr() const noexcept { return mmapio_unsafe_ptr(m_); }

  /* Reading, writing (mmapio_read / mmapio_write). */
  void read(std::uint64_t off, void *dst, std::size_t len) { detail::check(mmapio_read(m_, off, dst, len)); }
  void read(std::uint64_t off, void *dst, std::size_t len, std::error_code &ec) noexcept
  {
    detail::check(mmapio_read(m_, off, dst, len), ec);
  }
  void write(std::uint64_t off, const void *src, std::size_t len)
  {
    detail::check(mmapio_write(m_, off, src, len));
  }
  void write(std::uint64_t off, const void *src, std::size_t len, std::error_code &ec) noexcept
  {
    detail::check(mmapio_write(m_, off, src, len), ec);
  }
  void write(std::uint64_t off, std::string_view s) { write(off, s.data(), s.size()); }
  void write(std::uint64_t off, std::string_view s, std::error_code &ec) noexcept
  {
    write(off, s.data(), s.size(), ec);
  }

  /* Views (mmapio_view_get / mmapio_view_get_mut). */
  view get_view(std::uint64_t off, std::uint64_t len) const
  {
    view v;
    detail::check(mmapio_view_get(v.c_view(), m_, off, len));
    return v;
  }
  view get_view(std::uint64_t off, std::uint64_t len, std::error_code &ec) const noexcept
  {
    view v;
    detail::check(mmapio_view_get(v.c_view(), m_, off, len), ec);
    return v;
  }
  view_mut get_view_mut(std::uint64_t off, std::uint64_t len)
  {
    view_mut v;
    detail::check(mmapio_view_get_mut(v.c_view(), m_, off, len));
    return v;
  }
  view_mut get_view_mut(std::uint64_t off, std::uint64_t len, std::error_code &ec) noexcept
  {
    view_mut v;
    detail::check(mmapio_view_get_mut(v.c_view(), m_, off, len), ec);
    return v;
  }

  /* Flush, resize (mmapio_flush / mmapio_flush_range / mmapio_resize). */
  void flush() { detail::check(mmapio_flush(m_)); }
  void flush(std::error_code &ec) noexcept { detail::check(mmapio_flush(m_), ec); }
  void flush_range(std::uint64_t off, std::uint64_t len) { detail::check(mmapio_flush_range(m_, off, len)); }
  void flush_range(std::uint64_t off, std::uint64_t len, std::error_code &ec) noexcept
  {
    detail::check(mmapio_flush_range(m_, off, len), ec);
  }
  void resize(std::uint64_t n) { detail::check(mmapio_resize(m_, n)); }
  void resize(std::uint64_t n, std::error_code &ec) noexcept { detail::check(mmapio_resize(m_, n), ec); }

  /* Atomic views (mmapio_atomic_u32 / mmapio_atomic_u64). */
  atomic_u32 atomic32(std::uint64_t off) { return atomic<std::uint32_t>(off, nullptr); }
  atomic_u32 atomic32(std::uint64_t off, std::error_code &ec) noexcept { return atomic<std::uint32_t>(off, &ec); }
  atomic_u64 atomic64(std::uint64_t off) { return atomic<std::uint64_t>(off, nullptr); }
  atomic_u64 atomic64(std::uint64_t off, std::error_code &ec) noexcept { return atomic<std::uint64_t>(off, &ec); }

  /* Segments (mmapio_segment_init). */
  segment make_segment(std::uint64_t off, std::uint64_t len);
  segment make_segment(std::uint64_t off, std::uint64_t len, std::error_code &ec) noexcept;

  /* Iteration (mmapio_chunks / mmapio_pages / mmapio_chunks_mut). */
  chunk_range chunks(std::size_t n) { return chunk_range(m_, 0, n, nullptr); }
  chunk_range chunks(std::size_t n, std::error_code &ec) noexcept { return chunk_range(m_, 0, n, &ec); }
  chunk_range pages() { return chunk_range(m_, 1, 0, nullptr); }
  chunk_range pages(std::error_code &ec) noexcept { return chunk_range(m_, 1, 0, &ec); }
  chunk_mut_range chunks_mut(std::size_t n) { return chunk_mut_range(m_, 2, n, nullptr); }
  chunk_mut_range chunks_mut(std::size_t n, std::error_code &ec) noexcept
  {
    return chunk_mut_range(m_, 2, n, &ec);
  }

  /* Statistics (mmapio_stats). */
  mmapio_map_stats stats() const
  {
    mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
    detail::check(mmapio_stats(&st, m_));
    return st;
  }
  mmapio_map_stats stats(std::error_code &ec) const noexcept
  {
    mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
    detail::check(mmapio_stats(&st, m_), ec);
    return st;
  }

 private:
  template <class F> static map make(F f)
  {
    mmapio_map *p = nullptr;
    detail::check(f(&p));
    return map(p);
  }
  template <class F> static map make(F f, std::error_code &ec) noexcept
  {
    mmapio_map *p = nullptr;
    detail::check(f(&p), ec);
    return map(p);
  }
  template <class T> detail::atomic_cell<T> atomic(std::uint64_t off, std::error_code *ec)
  {
    detail::atomic_cell<T> a;
    int rc = detail::atomic_ops<T>::get(a.c_atomic(), m_, off);
    if (ec != nullptr) detail::check(rc, *ec);
    else detail::check(rc);
    return a;
  }
  int close_status() noexcept
  {
    int rc = mmapio_close(m_);
    if (rc != MMAPIO_EBUSY) m_ = nullptr;
    return rc;
  }
  mmapio_map *m_ = nullptr;
};

/* ---- Segments ------------------------------------------------------------- */

/// A window of a map holding its own map reference (mmapio_segment_init);
/// released by the destructor (mmapio_segment_release). Move-only.
class segment {
 public:
  segment() noexcept : s_() {}
  segment(segment &&o) noexcept : s_(o.s_) { o.s_ = mmapio_segment(); }
  segment &operator=(segment &&o) noexcept
  {
    if (this != &o) {
      reset();
      s_ = o.s_;
      o.s_ = mmapio_segment();
    }
    return *this;
  }
  segment(const segment &) = delete;
  segment &operator=(const segment &) = delete;
  ~segment() { reset(); }

  std::uint64_t offset() const noexcept { return s_.offset; }
  std::uint64_t size() const noexcept { return s_.len; }
  /// mmapio_segment_valid.
  bool valid() const noexcept { return mmapio_segment_valid(&s_) != 0; }
  /// mmapio_segment_view / mmapio_segment_view_mut / mmapio_segment_write.
  view get_view() const
  {
    view v;
    detail::check(mmapio_segment_view(v.c_view(), &s_));
    return v;
  }
  view get_view(std::error_code &ec) const noexcept
  {
    view v;
    detail::check(mmapio_segment_view(v.c_view(), &s_), ec);
    return v;
  }
  view_mut get_view_mut() const
  {
    view_mut v;
    detail::check(mmapio_segment_view_mut(v.c_view(), &s_));
    return v;
  }
  view_mut get_view_mut(std::error_code &ec) const noexcept
  {
    view_mut v;
    detail::check(mmapio_segment_view_mut(v.c_view(), &s_), ec);
    return v;
  }
  void write(std::uint64_t rel_off, const void *src, std::size_t len) const
  {
    detail::check(mmapio_segment_write(&s_, rel_off, src, len));
  }
  void write(std::uint64_t rel_off, const void *src, std::size_t len, std::error_code &ec) const noexcept
  {
    detail::check(mmapio_segment_write(&s_, rel_off, src, len), ec);
  }
  void write(std::uint64_t rel_off, std::string_view s) const { write(rel_off, s.data(), s.size()); }
  void reset() noexcept
  {
    mmapio_segment_release(&s_);
    s_ = mmapio_segment();
  }
  mmapio_segment *c_segment() noexcept { return &s_; }

 private:
  mmapio_segment s_;
};

inline segment map::make_segment(std::uint64_t off, std::uint64_t len)
{
  segment s;
  detail::check(mmapio_segment_init(s.c_segment(), m_, off, len));
  return s;
}
inline segment map::make_segment(std::uint64_t off, std::uint64_t len, std::error_code &ec) noexcept
{
  segment s;
  detail::check(mmapio_segment_init(s.c_segment(), m_, off, len), ec);
  return s;
}

}  // namespace mmapio

/* `ec == MMAPIO_ENOENT` and friends: the C status enum is an error code enum. */
namespace std {
template <> struct is_error_code_enum<mmapio_status> : true_type {};
}  // namespace std
inline std::error_code make_error_code(mmapio_status s) noexcept { return mmapio::make_error_code(static_cast<int>(s)); }

#endif /* MMAPIO_HPP */
