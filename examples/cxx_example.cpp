// cxx_example.cpp -- mmapio from C++ with mmapio.hpp.
//
// Creates a file, writes a few records through a write view and through
// map::write, counts them with range-for over fixed-size chunks, keeps a
// counter in the file with an atomic view, and shows both ways errors come
// back: an exception (mmapio::error) and a std::error_code.
#include "mmapio.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main()
{
  const char *dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : ".") + "/mmapio-cxx-example.bin";
  constexpr std::size_t kRecord = 64;
  if (!mmapio_has_feature(MMAPIO_FEATURE_ATOMIC) || !mmapio_has_feature(MMAPIO_FEATURE_ITERATOR)) {
    std::printf("this example needs the ATOMIC and ITERATOR features of the library\n");
    return 77;
  }
  try {
    // RAII: the map closes when `m` goes out of scope.
    mmapio::map m = mmapio::map::create_rw(path.c_str(), 16 * kRecord);

    // Cell 0 holds a record counter, updated atomically (works across
    // processes mapping the same file too).
    mmapio::atomic_u64 count = m.atomic64(0);
    for (std::size_t i = 1; i < 16; i++) {
      std::string rec = "record " + std::to_string(i);
      if (i % 2 == 0) {
        m.write(i * kRecord, rec);  // copy in
      } else {
        mmapio::view_mut w = m.get_view_mut(i * kRecord, kRecord);  // zero-copy
        std::memcpy(w.data(), rec.data(), rec.size());
      }  // the write view is released here
      count.fetch_add(1);
    }

    // Range-for over 64-byte chunks: each is a pointer into the mapping.
    std::size_t non_empty = 0;
    for (const mmapio::chunk &c : m.chunks(kRecord))
      if (c.offset > 0 && c.data[0] != 0) non_empty++;
    std::printf("%zu records written, counter says %llu\n", non_empty,
                static_cast<unsigned long long>(count.load()));

    mmapio::view v = m.get_view(3 * kRecord, 8);
    std::printf("record 3 reads \"%.*s\"\n", static_cast<int>(v.size()), reinterpret_cast<const char *>(v.data()));
    v.reset();
    count.reset();

    // Non-throwing overload: out of bounds comes back as an error code.
    std::error_code ec;
    m.write(m.size(), "x", 1, ec);
    std::printf("write past the end: %s (%s)\n", ec.message().c_str(), mmapio_last_error());

    mmapio_map_stats st = m.stats();
    std::printf("stats: %llu writes, %llu bytes\n", static_cast<unsigned long long>(st.write_calls),
                static_cast<unsigned long long>(st.write_bytes));
    m.flush();
    m.close();
    std::remove(path.c_str());
    return non_empty == 15 ? 0 : 1;
  } catch (const mmapio::error &e) {
    // The status and the detail message, e.g. a missing directory.
    std::fprintf(stderr, "mmapio error %d (%s): %s\n", e.status(), mmapio_strerror(e.status()), e.what());
    std::remove(path.c_str());
    return 1;
  }
}
