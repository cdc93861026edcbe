/*
 * iter.c -- chunk and page iteration (feature ITERATOR).
 *
 * An iterator lives on the caller's stack (struct mmapio_iter in the header)
 * and allocates nothing. It takes the map's lock once, when it starts, and
 * keeps it until mmapio_iter_end: a shared hold for read iterators (like one
 * read view of the whole map), the exclusive hold for mut iterators (like one
 * write view). mmapio_close sees those holds and returns MMAPIO_EBUSY, and a
 * moving resize waits for them, so every chunk handed out stays valid until
 * the end. Because the holds belong to the calling thread's slot, an
 * iterator must be ended on the thread that started it.
 *
 * The length is read once under the hold: in-place growth during a read
 * iteration does not extend it.
 */
#include "internal.h"

#include <string.h>

/* flags_ bits */
#define MMAPIO__IT_ACTIVE 0x1u /* started and not ended */
#define MMAPIO__IT_MUT 0x2u    /* chunks_mut iterator */
#define MMAPIO__IT_HELD 0x4u   /* holds a shared or exclusive hold on the map */

#if MMAPIO_WITH_ITERATOR

static int mmapio__iter_start(mmapio_iter *it, mmapio_map *m, size_t chunk, int mut)
{
  const char *op = mut ? "mmapio_chunks_mut" : "mmapio_chunks";
  if (it == NULL || m == NULL) return mmapio__fail(MMAPIO_EINVAL, "%s: NULL argument", op);
  if (mut && m->mode == MMAPIO_MODE_READ_ONLY)
    return mmapio__fail(MMAPIO_EMODE, "%s(%s): the map is read-only", op,
                        mmapio__path_or(m->path));
  memset(it, 0, sizeof *it);
  it->map_ = m;
  it->chunk_ = chunk;
  it->flags_ = MMAPIO__IT_ACTIVE | (mut ? MMAPIO__IT_MUT : 0u);
  /* Nothing will be yielded for chunk 0 or an empty map: take no lock, and
   * leave the map alone at the end (it may be closed by then). */
  if (chunk == 0 || mmapio__len(m) == 0) return MMAPIO_OK;

  mmapio__slot *s = NULL;
  int rc = mut ? mmapio__lock_excl(m, &s, op, 0) : mmapio__lock_shared(m, &s);
  if (rc != MMAPIO_OK) {
    it->flags_ = 0;
    it->map_ = NULL;
    return rc;
  }
  it->end_ = mmapio__len(m);
  /* The slot's first member is its shared-hold count, so the borrow's
   * uint32_t slot pointer identifies the slot itself. */
  it->priv_.slot_ = &s->count;
  it->priv_.map_ = m;
  it->flags_ |= MMAPIO__IT_HELD;
  return MMAPIO_OK;
}

int mmapio_chunks(mmapio_iter *it, mmapio_map *m, size_t chunk)
{
  return mmapio__iter_start(it, m, chunk, 0);
}

int mmapio_pages(mmapio_iter *it, mmapio_map *m)
{
  return mmapio__iter_start(it, m, mmapio_page_size(), 0);
}

int mmapio_chunks_mut(mmapio_iter *it, mmapio_map *m, size_t chunk)
{
  return mmapio__iter_start(it, m, chunk, 1);
}

/* The next [offset, len) or 0 at the end; -1 when `it` is unusable. */
static int mmapio__iter_step(uint64_t *off, size_t *len, mmapio_iter *it, int mut)
{
  if (it == NULL || !(it->flags_ & MMAPIO__IT_ACTIVE) ||
      ((it->flags_ & MMAPIO__IT_MUT) != 0) != (mut != 0))
    return -1;
  if (it->pos_ >= it->end_) return 0;
  uint64_t left = it->end_ - it->pos_;
  *len = left < (uint64_t)it->chunk_ ? (size_t)left : it->chunk_;
  *off = it->pos_;
  it->pos_ += *len;
  return 1;
}

int mmapio_iter_next(mmapio_chunk *out, mmapio_iter *it)
{
  uint64_t off;
  size_t len;
  int r = out == NULL ? -1 : mmapio__iter_step(&off, &len, it, 0);
  if (MMAPIO__UNLIKELY(r < 0))
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_iter_next: NULL, ended or mut iterator");
  if (r == 0) return 0;
  out->offset = off;
  out->data = it->map_->om.base + off;
  out->len = len;
  return 1;
}

int mmapio_iter_next_mut(mmapio_chunk_mut *out, mmapio_iter *it)
{
  uint64_t off;
  size_t len;
  int r = out == NULL ? -1 : mmapio__iter_step(&off, &len, it, 1);
  if (MMAPIO__UNLIKELY(r < 0))
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_iter_next_mut: NULL, ended or read iterator");
  if (r == 0) return 0;
  out->offset = off;
  out->data = it->map_->om.base + off;
  out->len = len;
  return 1;
}

size_t mmapio_iter_remaining(const mmapio_iter *it)
{
  if (it == NULL || !(it->flags_ & MMAPIO__IT_ACTIVE) || it->chunk_ == 0 ||
      it->pos_ >= it->end_)
    return 0;
  uint64_t left = it->end_ - it->pos_;
  return (size_t)(left / it->chunk_ + (left % it->chunk_ != 0));
}

void mmapio_iter_end(mmapio_iter *it)
{
  if (it == NULL || !(it->flags_ & MMAPIO__IT_ACTIVE)) return;
  uint32_t flags = it->flags_;
  mmapio_map *m = it->map_;
  it->flags_ = 0;
  if (!(flags & MMAPIO__IT_HELD)) return;
  mmapio__slot *s = (mmapio__slot *)(void *)it->priv_.slot_;
  it->priv_.slot_ = NULL;
  if (flags & MMAPIO__IT_MUT) {
    /* Every byte handed out may have been written: count them for the flush
     * policy, after the lock is gone (a policy flush must not run under the
     * exclusive hold). A failing policy flush has already recorded its
     * detail message; iter_end cannot return it. */
    uint64_t written = it->pos_;
    if (written > 0) mmapio__stat_write(s, written);
    /* The iterator may be the map's last borrow: keep it from being
     * destroyed until the policy is done (see lifetime.c). */
    int policy = written > 0 && m->mode == MMAPIO_MODE_READ_WRITE && !m->is_anon &&
                 m->policy.kind != MMAPIO_FLUSH_MANUAL;
    if (policy) mmapio__map_busy_begin(m);
    mmapio__unlock_excl(m, s);
    if (policy) {
      (void)mmapio__policy_after_write(m, written);
      mmapio__map_busy_end(m);
    }
  } else {
    mmapio__unlock_shared(m, s);
  }
}

#else /* !MMAPIO_WITH_ITERATOR: linkable stubs */

static int mmapio__iter_off(void)
{
  return mmapio__fail(MMAPIO_ENOTSUP, "iterators (feature ITERATOR) are not built in");
}
int mmapio_chunks(mmapio_iter *it, mmapio_map *m, size_t chunk)
{
  (void)it; (void)m; (void)chunk;
  return mmapio__iter_off();
}
int mmapio_pages(mmapio_iter *it, mmapio_map *m)
{
  (void)it; (void)m;
  return mmapio__iter_off();
}
int mmapio_chunks_mut(mmapio_iter *it, mmapio_map *m, size_t chunk)
{
  (void)it; (void)m; (void)chunk;
  return mmapio__iter_off();
}
int mmapio_iter_next(mmapio_chunk *out, mmapio_iter *it)
{
  (void)out; (void)it;
  return mmapio__iter_off();
}
int mmapio_iter_next_mut(mmapio_chunk_mut *out, mmapio_iter *it)
{
  (void)out; (void)it;
  return mmapio__iter_off();
}
size_t mmapio_iter_remaining(const mmapio_iter *it)
{
  (void)it;
  return 0;
}
void mmapio_iter_end(mmapio_iter *it) { (void)it; }

#endif
