/*
 * fuzz_input.h -- reading a libFuzzer input as a stream of small integers,
 * shared by the fuzz targets. Reads past the end give zeros, so every input
 * is a complete program.
 */
#ifndef MMAPIO_FUZZ_INPUT_H
#define MMAPIO_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *p;
  size_t n;
} input;

/* The next `nbytes` bytes as a big-endian number. */
static uint64_t take(input *in, unsigned nbytes)
{
  uint64_t v = 0;
  for (unsigned i = 0; i < nbytes; i++) {
    v <<= 8;
    if (in->n > 0) {
      v |= *in->p++;
      in->n--;
    }
  }
  return v;
}

#endif
