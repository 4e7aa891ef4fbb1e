/*
 * cmdfmt.h: the constants of the binary command stream (docs/cmd-format.md),
 * shared by its writer (backend/cmd_emit.c) and its reader (runtime/), which
 * may not include each other's headers (STYLE.md: backend, runtime -> ir).
 *
 * Invariants:
 *   - all integers are little-endian; every record is length-prefixed, so a
 *     reader can bounds-check before it looks inside;
 *   - CMDF_VERSION changes whenever a record's layout changes; a reader
 *     refuses any other version;
 *   - cmdf_arch_bytes and cmdf_hash define the architecture hash: writer and
 *     reader compute it from an Arch with the same code.
 */
#ifndef NAASC_CMDFMT_H
#define NAASC_CMDFMT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "accel.h"

#define CMDF_MAGIC "NAASCCMD" /* 8 bytes, no NUL */
#define CMDF_VERSION 2
#define CMDF_HEADER_BYTES 80

/* Header, at offset 0 (all u64 unless noted):
 *   0 magic[8]   8 u32 version   12 u32 header_bytes   16 arch_hash
 *   24 arch_off  32 arch_len     40 tensors_off        48 tensors_len
 *   56 cmds_off  64 cmds_len     72 weights_len (the weight section follows the commands)
 * Sections lie inside the file, in this order, without overlap. */

/* Command records: u8 op, u8 0, u16 0, u32 payload bytes, then the payload. */
typedef enum {
  CMD_LAYER = 1,   /* a layer: its loop-nest descriptor (dims, accesses, epilogue, params) */
  CMD_LOOP = 2,    /* one mapping loop: level, axis (0 temporal, 1..3 spatial x/y/z), dim, factor, rem */
  CMD_LOAD = 3,    /* a tile of a tensor moves from its parent into a level */
  CMD_STORE = 4,   /* an output tile moves from a level back to its parent */
  CMD_COMPUTE = 5, /* the PE array computes the tile held at a level, with a kernel */
  CMD_VECOP = 6,   /* the vector unit runs the layer (element-wise, pooling, moves, views) */
  CMD_SYNC = 7,    /* barrier: everything before it is complete */
  CMD_END = 8,     /* end of a layer */
  CMD_KERNEL = 9,  /* a TileKernel descriptor, referenced by CMD_COMPUTE */
  CMD_WPACK = 10   /* a mapped layer's weights, packed as its cells (ir/tileplan.h) */
} CmdOp;

#define CMDF_MAX_PAYLOAD (1u << 20)

/* The bytes of the architecture section: what the runtime needs of an Arch
 * to size and check its buffers.  Returns the length written (at most cap;
 * 0 if cap is too small).  Per level: name[ACCEL_NAME_MAX], u8 is_dram,
 * u8 keeps_allowed, u8 no_multicast, u8 no_reduction, u32 0, i64 instances, fanout[3], capacity_words,
 * block_words; then i64 nlevels first and mac_instances last.  The bytes
 * after is_dram and keeps_allowed are no_multicast and no_reduction. */
static inline size_t cmdf_arch_bytes(const Arch *a, uint8_t *out, size_t cap) {
  size_t per = ACCEL_NAME_MAX + 8 + 8 * 6;
  size_t need = 8 + (size_t)a->nlevels * per + 8;
  if (a->nlevels < 1 || a->nlevels > ACCEL_MAX_LEVELS || need > cap) return 0;
  memset(out, 0, need);
  uint8_t *p = out;
#define CMDF_PUT64(v)                                                                              \
  do {                                                                                             \
    uint64_t x_ = (uint64_t)(v);                                                                   \
    for (int b_ = 0; b_ < 8; b_++) *p++ = (uint8_t)(x_ >> (8 * b_));                               \
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

/* FNV-1a, 64 bits. */
static inline uint64_t cmdf_hash(const uint8_t *p, size_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(0x100000001b3);
  return h;
}

#define CMDF_ARCH_MAX (16 + ACCEL_MAX_LEVELS * (ACCEL_NAME_MAX + 56))

/* The hash of an architecture as the stream records it; 0 if malformed. */
static inline uint64_t cmdf_arch_hash(const Arch *a) {
  uint8_t buf[CMDF_ARCH_MAX];
  size_t n = cmdf_arch_bytes(a, buf, sizeof buf);
  return n ? cmdf_hash(buf, n) : 0;
}

#endif
