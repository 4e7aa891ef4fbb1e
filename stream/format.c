/*
 * format.c: the architecture section of the command stream and its hash
 * (stream.h, docs/cmd-format.md).  The writer (emit.c) and the runtime's
 * loader both call these, so they hash the same bytes.
 */
#include <string.h>

#include "stream/stream.h"

size_t cmdf_arch_bytes(const Arch *a, uint8_t *out, size_t cap) {
  size_t per = ACCEL_NAME_MAX + 8 + 8 * 6;
  size_t need = 8 + (size_t)a->nlevels * per + 8;
  if (a->nlevels < 1 || a->nlevels > ACCEL_MAX_LEVELS || need > cap) return 0;
  memset(out, 0, need);
  uint8_t *p = out;
#define CMDF_PUT64(v)                                                \
  do {                                                               \
    uint64_t x_ = (uint64_t)(v);                                     \
    for (int b_ = 0; b_ < 8; b_++) *p++ = (uint8_t)(x_ >> (8 * b_)); \
  } while (0)
  CMDF_PUT64(a->nlevels);
  for (int l = 0; l < a->nlevels; l++) {
    const Level *lv = &a->level[l];
    memcpy(p, lv->name, strnlen(lv->name, ACCEL_NAME_MAX - 1));
    p += ACCEL_NAME_MAX;
    p[0] = lv->is_dram;
    p[1] = lv->keeps_allowed;
    p[2] = lv->no_multicast;
    p[3] = lv->no_reduction;
    p += 8;
    CMDF_PUT64(lv->instances);
    for (int x = 0; x < ACCEL_MAX_AXES; x++) CMDF_PUT64(lv->fanout[x]);
    CMDF_PUT64(lv->capacity_words);
    CMDF_PUT64(lv->block_words);
  }
  CMDF_PUT64(a->mac_instances);
#undef CMDF_PUT64
  return need;
}

uint64_t cmdf_hash(const uint8_t *p, size_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(0x100000001b3);
  return h;
}

uint64_t cmdf_arch_hash(const Arch *a) {
  uint8_t buf[CMDF_ARCH_MAX];
  size_t n = cmdf_arch_bytes(a, buf, sizeof buf);
  return n ? cmdf_hash(buf, n) : 0;
}
