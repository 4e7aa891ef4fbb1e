/*
 * stream.h: the public interface of stream/, what the command stream's
 * writer and its reader share (included as "stream/stream.h"; stream/
 * depends on ir/ only, and backend/ and runtime/ may both depend on it):
 *
 *   - the binary format (docs/cmd-format.md): the header, the record kinds,
 *     the architecture section and its hash;
 *   - the tile plan: how a mapped mac layer's tiles are laid out and moved,
 *     its compute level, its kernel and its weight cells, derived the same
 *     way by the writer and by the runtime's loader, so the two cannot drift
 *     apart;
 *   - the compute-tile kernel (TileKernel) and the definition of what it
 *     computes, kernel_ref;
 *   - the writer, cmd_emit.  The reader, validator, disassembler and
 *     executor are runtime/'s (runtime/runtime.h); the LLVM compiler of
 *     kernels is codegen/'s (codegen/codegen.h).
 */
#ifndef NAASC_STREAM_H
#define NAASC_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

/* ==== the binary format ================================================== */

/*
 * Invariants:
 *   - all integers are little-endian; every record is length-prefixed, so a
 *     reader can bounds-check before it looks inside;
 *   - CMDF_VERSION changes whenever a record's layout changes; a reader
 *     refuses any other version;
 *   - cmdf_arch_bytes and cmdf_hash define the architecture hash: writer and
 *     reader compute it from an Arch with the same code.
 */

#define CMDF_MAGIC "NAASCCMD" /* 8 bytes, no NUL */
#define CMDF_VERSION 5
#define CMDF_HEADER_BYTES 80

/* Header, at offset 0 (all u64 unless noted):
 *   0 magic[8]   8 u32 version   12 u32 header_bytes   16 arch_hash
 *   24 arch_off  32 arch_len     40 tensors_off        48 tensors_len
 *   56 cmds_off  64 cmds_len     72 weights_len (the weight section follows the commands)
 * Sections lie inside the file, in this order, without overlap. */

/* Command records: u8 op, u8 0, u16 0, u32 payload bytes, then the payload. */
typedef enum {
  CMD_LAYER = 1, /* a layer: its loop-nest descriptor (dims, accesses, epilogue, params) */
  CMD_LOOP =
      2, /* one mapping loop: level, axis (0 temporal, 1..3 spatial x/y/z), dim, factor, rem */
  CMD_LOAD = 3,    /* a tile of a tensor moves from its parent into a level */
  CMD_STORE = 4,   /* an output tile moves from a level back to its parent */
  CMD_COMPUTE = 5, /* the PE array computes the tile held at a level, with a kernel */
  CMD_VECOP = 6,   /* the vector unit runs the layer (element-wise, pooling, moves, views);
                      a host layer's: u64 offset, u64 length of its node (an ONNX model)
                      in the weight section */
  CMD_SYNC = 7,    /* barrier: everything before it is complete */
  CMD_END = 8,     /* end of a layer */
  CMD_KERNEL = 9,  /* a TileKernel descriptor, referenced by CMD_COMPUTE */
  CMD_WPACK = 10,  /* a mapped layer's weights, packed as its cells (the tile plan below) */
  CMD_RESIDE = 11, /* the layer belongs to a fused group: u8 home level, u8 flags (CMD_RES_*),
                      u16 0, u32 the group's number (from 1, in stream order); right after
                      CMD_LAYER.  Every layer of a group has one (version 5) */
  CMD_TILE = 12    /* a tile layer of a depth-first group (version 5): the layer, cut down to
                      one tile's rectangle of its output (tp_tile_nest), runs in place of its
                      group's layer.  u32 that layer's index, u8 home, u8 flags (CMD_RES_I,
                      CMD_RES_O, CMD_RES_W), u16 0, i64 tile number, i64 row0, i64 col0 (the
                      rectangle's origin), i64 copy-in rows lo, hi, columns lo, hi (of the
                      layer's I, copied from DRAM into home first), i64 copy-out rows lo, hi,
                      columns lo, hi (of its O, copied from home to DRAM after), u8 1 if the
                      layer's weights are copied into home first, 7 bytes 0; right after
                      CMD_LAYER.  docs/cmd-format.md, "Depth-first groups" */
} CmdOp;

/* CMD_RESIDE flags: the layer's I lives in the home level (written inside the
 * group), its O does (read inside the group), and O is copied out to DRAM
 * once as well (read after the group).  A layer of a depth-first group has
 * CMD_RES_DEPTH and does not run itself: its tile layers (CMD_TILE) do,
 * with I, O and (CMD_RES_W) its weights resident.  docs/cmd-format.md,
 * "Fused groups". */
enum { CMD_RES_I = 1, CMD_RES_O = 2, CMD_RES_COPY_OUT = 4, CMD_RES_W = 8, CMD_RES_DEPTH = 16 };

#define CMDF_MAX_PAYLOAD (1u << 20)

/* The bytes of the architecture section: what the runtime needs of an Arch
 * to size and check its buffers.  Returns the length written (at most cap;
 * 0 if cap is too small).  Per level: name[ACCEL_NAME_MAX], u8 is_dram,
 * u8 keeps_allowed, u8 no_multicast, u8 no_reduction, u32 0, i64 instances, fanout[3], capacity_words,
 * block_words; then i64 nlevels first and mac_instances last.  The bytes
 * after is_dram and keeps_allowed are no_multicast and no_reduction. */
size_t cmdf_arch_bytes(const Arch *a, uint8_t *out, size_t cap);

/* FNV-1a, 64 bits. */
uint64_t cmdf_hash(const uint8_t *p, size_t n);

#define CMDF_ARCH_MAX (16 + ACCEL_MAX_LEVELS * (ACCEL_NAME_MAX + 56))

/* The hash of an architecture as the stream records it; 0 if malformed. */
uint64_t cmdf_arch_hash(const Arch *a);

/* ==== the compute-tile kernel ============================================ */

/*
 * A compute tile is the unit of work the PE array executes between two
 * loads of its innermost buffers.  The stream names a TileKernel per
 * distinct tile shape; the runtime executes it either through kernel_ref or
 * as host code compiled with the LLVM C API (codegen/) and called through
 * libffi (runtime/).
 *
 * A kernel is a perfect nest of up to KERNEL_MAX_LOOPS loops, outermost
 * first, with constant bounds, around one multiply-accumulate
 *
 *     o[oi] += i[ii] * w[wi]      (float32)
 *
 * where each index is the sum over loops of (loop index x the operand's
 * element stride for that loop).  A convolution window is affine in the
 * loop indices (input row = p*stride + r*dilation), so one stride per loop
 * and operand covers it; padding was already written into the input tile
 * as zeros by the load that filled it.
 *
 * Invariants:
 *   - 1 <= nloops <= KERNEL_MAX_LOOPS; every bound >= 1;
 *   - strides are >= 0 (0: the loop does not index that operand); the
 *     caller guarantees every index stays inside the buffers it passes;
 *   - two kernels with equal fields (compare with kernel_equal) compute the
 *     same function, so compiled code is cached by value.
 */

#define KERNEL_MAX_LOOPS 8

enum { KOP_O = 0, KOP_I, KOP_W, KOP_N }; /* operand order in strides and calls */

typedef struct {
  int nloops;
  int64_t bound[KERNEL_MAX_LOOPS];         /* outermost first */
  int64_t stride[KOP_N][KERNEL_MAX_LOOPS]; /* element stride per loop, per operand */
} TileKernel;

static inline bool kernel_equal(const TileKernel *a, const TileKernel *b) {
  if (a->nloops != b->nloops) return false;
  for (int l = 0; l < a->nloops; l++) {
    if (a->bound[l] != b->bound[l]) return false;
    for (int k = 0; k < KOP_N; k++)
      if (a->stride[k][l] != b->stride[k][l]) return false;
  }
  return true;
}

/* MACs one call performs: the product of the bounds. */
static inline int64_t kernel_macs(const TileKernel *k) {
  int64_t m = 1;
  for (int l = 0; l < k->nloops; l++) m *= k->bound[l];
  return m;
}

/* The signature of every compiled kernel (and of the C reference). */
typedef void (*KernelFn)(float *o, const float *i, const float *w);

/* The definition of what a TileKernel computes (stream/kernel.c): the
 * loops in order, outermost first, and in the innermost body the float32
 * product i*w rounded, then added to o and rounded (no contraction into an
 * FMA: the file is built with -ffp-contract=off).  Compiled kernels
 * perform the same operations in the same order per output element, so
 * their results are bit-identical to kernel_ref's.
 *
 * Requires a kernel that passes the checks of codegen_kernel (1 <= nloops
 * <= KERNEL_MAX_LOOPS, bounds >= 1, strides >= 0, no index overflows
 * int64), buffers that hold every index the kernel touches, and o
 * overlapping neither i nor w.  Reentrant: any number of threads may call
 * it at once. */
void kernel_ref(const TileKernel *k, float *o, const float *i, const float *w);

/* ==== the tile plan ====================================================== */

/*
 * How a mapped mac layer's tiles are laid out and moved (stream/tileplan.c).
 *
 * - Loops: the mapping as a list of loops, outermost first (level, axis,
 *   dim, factor, remainder), with each loop's stride (the product of the
 *   factors of the same-dim loops inside it) and the tile extents full[l]
 *   and resid[l] of every level (docs/cmd-format.md, "Loops").
 * - Slots: an on-chip tile of an operand is held as one dense box per
 *   group g of the tile, the bounding box of the access over the tile's
 *   other dims, row-major.  Its words equal the cost model's tile words for
 *   convolutions and matrix products, grouped or not.
 * - The compute level: the level whose tiles the kernel runs (rule below);
 *   operands come from the innermost level at or above it that keeps them,
 *   or from a staging box the size of the compute tile.
 * - Weight packing: the weights of a mapped layer are stored as cells, the
 *   tiles of the level that fetches them from DRAM, each cell a dense slot,
 *   the cells in the order the mapping's loops visit them.
 *
 * Invariants: accesses are affine with coefficients >= 0 (the loader checks
 * this before calling anything here); extents are >= 1.
 */

#define TP_MAX_LOOPS (ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES) * NDIMS)

/* A compute tile of fewer MACs than this runs at the level above instead:
 * below it the calls, the walk and the small copies cost more than the
 * MACs (measured, docs/design.md "Runtime buffers and weight cells"). */
#define TP_MIN_TILE_MACS 512

typedef struct {
  uint8_t level, axis, dim; /* axis 0: temporal; 1..3: spatial x, y, z */
  int64_t f, r;             /* factor, and iterations when every enclosing loop of dim is last */
  int64_t stride;           /* product of f of the same-dim loops inside (tp_extents) */
} TpLoop;

/* Sets every loop's stride, and full[l][d] / resid[l][d] for l in 0..nl:
 * the extent of level l's tile, and of its last tile along d. */
void tp_extents(TpLoop *loop, int nloops, int nl, int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS],
                int64_t resid[ACCEL_MAX_LEVELS + 1][NDIMS]);

/* The compute level: the deepest on-chip level (1..nl-1) whose full tile
 * has at least TP_MIN_TILE_MACS points, else 1; 0 on a one-level arch. */
int tp_compute_level(int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], int nl);

/* The level a compute tile's operand t is read from: the innermost level
 * in 1..lc that keeps it, or lc itself (a staging box) if none does. */
int tp_source(const uint8_t keep[ACCEL_MAX_LEVELS], int lc, int t);
/* The level that fetches weights from DRAM: the outermost in 1..lc that
 * keeps W, or lc (the staging box). */
int tp_wfetch_level(const uint8_t keep[ACCEL_MAX_LEVELS], int lc);

/* An affine access of a mac nest compiled for the copies: per tensor dim
 * its terms in the DIM_* other than G (in the nest's loop order), its
 * constant, and its G coefficient. */
typedef struct {
  int rank;
  bool gi; /* some index depends on G */
  uint8_t nterm[NAASC_MAX_RANK];
  uint8_t dim[NAASC_MAX_RANK][NDIMS];
  int64_t coef[NAASC_MAX_RANK][NDIMS];
  int64_t cst[NAASC_MAX_RANK], gcoef[NAASC_MAX_RANK];
} TpAcc;

void tp_acc(const Nest *n, const Access *ac, TpAcc *a);

/* The slot of an access over a tile of extents ext: per g in [0, ext[G]), a
 * row-major box of size[q] over the tensor dims. */
typedef struct {
  int rank;
  int64_t size[NAASC_MAX_RANK];
  int64_t row[NAASC_MAX_RANK]; /* row-major element stride of each tensor dim in a box */
  int64_t per_g, words;        /* words of one box, and of the slot */
  int64_t lstride[NDIMS];      /* element stride in the slot of one step of each accel dim */
} TpSlot;

void tp_slot(const TpAcc *ac, const int64_t ext[NDIMS], TpSlot *s);

/* The index of the access at accel point o, per tensor dim, without G's
 * term (G selects the box): base[q] = cst + sum_{d != G} coef * o[d]. */
void tp_base(const TpAcc *ac, const int64_t o[NDIMS], int64_t base[NAASC_MAX_RANK]);

/* The kernel of a compute tile of extents ext whose operands (KOP order
 * O, I, W) sit in slots with the strides lay[op]->lstride: one loop per dim
 * of extent > 1 in the order C R S G N K P Q (reductions outermost, Q, the
 * outputs' unit stride, innermost so the JIT vectorizes it). */
void tp_kernel(const TpSlot *const lay[KOP_N], const int64_t ext[NDIMS], TileKernel *k);

/* The kernel of a mapped layer's compute tile of extents ext at level lc:
 * each operand (KOP order; acc[op] an affine access of mac nest n) in the
 * slot of its source level (tp_source over keep), laid out for that
 * level's full tile. */
void tp_layer_kernel(const Nest *n, const Access *const acc[KOP_N],
                     const uint8_t keep[ACCEL_MAX_LEVELS], int lc,
                     int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], const int64_t ext[NDIMS],
                     TileKernel *k);

/* Copies between a slot (origin o, extents e, strides of lay) and a dense
 * tensor of rank/dims: positions outside the tensor read as 0 and are not
 * written back. */
void tp_slot_tensor(const TpAcc *ac, int rank, const int64_t *dims, float *tensor, float *slot,
                    const TpSlot *lay, const int64_t o[NDIMS], const int64_t e[NDIMS],
                    bool to_tensor);

/* Copies the sub-tile (origin o, extents e) between a parent slot (origin
 * po, strides pl) and a child slot (strides cl); the sub-tile lies inside
 * the parent's tile. */
void tp_slot_slot(const TpAcc *ac, const float *parent, const TpSlot *pl, const int64_t po[NDIMS],
                  float *child, const TpSlot *cl, const int64_t o[NDIMS], const int64_t e[NDIMS],
                  bool to_parent);

/* Weight cells of a layer packed at level pw: the dims the cells step
 * over, outermost first, and the cells per dim. */
typedef struct {
  int level;
  int n;
  uint8_t order[NDIMS];
  int64_t count[NDIMS]; /* per accel dim (1 for dims not in order) */
  int64_t ncells;
  int64_t cell[NDIMS]; /* full cell extents: full[level] */
} TpPack;

/* The cell grid of W at level pw; false if it would exceed max_cells. */
bool tp_pack_plan(const TpAcc *w, const TpLoop *loop, int nloops, int pw,
                  int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], const int64_t bound[NDIMS],
                  int64_t max_cells, TpPack *pk);
/* Cell number i's origin and extents. */
void tp_pack_cell(const TpPack *pk, const int64_t bound[NDIMS], int64_t i, int64_t o[NDIMS],
                  int64_t e[NDIMS]);
/* Each cell's offset in words in the packed data (offsets[ncells] is the
 * total; offsets may be NULL); returns the total, or -1 past max_words. */
int64_t tp_pack_offsets(const TpAcc *w, const TpPack *pk, const int64_t bound[NDIMS],
                        int64_t *offsets, int64_t max_words);
/* Copies every cell between the packed data (at offsets) and the dense
 * tensor (rank, dims): packs it, or with to_tensor unpacks it. */
void tp_pack_copy(const TpAcc *w, const TpPack *pk, const int64_t bound[NDIMS],
                  const int64_t *offsets, float *packed, int rank, const int64_t *dims,
                  float *tensor, bool to_tensor);
/* The number of the cell holding accel point o. */
int64_t tp_pack_index(const TpPack *pk, const int64_t o[NDIMS]);

/* ==== depth-first groups (stream/dfplan.c) =============================== */

/* The nest dims of the output's rows and columns (dims 2 and 3 of a rank-4
 * output indexed by one nest dim each, coefficient 1, no constant). */
bool tp_row_col_dims(const Nest *n, int *rd, int *cd);

/* n cut down to rows [r0, r0 + rows) and columns [c0, c0 + cols) of its
 * output: those dims' bounds become rows and cols and every affine index
 * is shifted so the nest's dims keep naming the same points.  false if n
 * has no row and column dims or the rectangle is not inside them. */
bool tp_tile_nest(const Nest *n, int64_t r0, int64_t rows, int64_t c0, int64_t cols, Nest *out);

typedef struct {
  int64_t lo, hi; /* [lo, hi); empty if hi <= lo */
} TpIv;

/* One step of a depth-first group: nest `nest` in tile `tile` (row-major)
 * computes rows comp[0] x columns comp[1] of its output, after copying in
 * cin of its I and (wcopy) its weights, and copies cout of its O out. */
typedef struct {
  uint32_t nest;
  int64_t tile;
  TpIv comp[2], cin[2], cout[2]; /* [0] rows, [1] columns; empty: none */
  bool wcopy;
} TpDfStep;

/* The steps of depth-first group fg of m, in order (*out xfree'd by the
 * caller).  RC_BADINPUT with *why if the group cannot run tile by tile. */
Rc tp_depth_plan(const Module *m, const NestGroup *fg, TpDfStep **out, int64_t *nout,
                 const char **why);

/* ==== the writer ========================================================= */

typedef struct {
  size_t bytes;        /* the whole stream */
  size_t cmd_bytes;    /* the command section */
  size_t weight_bytes; /* the weight section (64-byte aligned entries) */
  int layers, mac_layers;
  int commands;     /* records in the command section */
  uint32_t kernels; /* distinct compute-tile kernels */
} CmdStats;

/* Which nests the stream carries as integer mac layers, and which it runs
 * tile by tile in a depth-first group, are ir's rules (nest_mac_int_types,
 * nest_runs_tiled), shared with the schedule search. */

/* Writes the command stream of a lowered module (mac nests mapped onto a, or
 * unmapped) into a heap buffer *out (caller frees with xfree).  Weight
 * values come from g, matched by tensor name; a weight without data is an
 * error naming it.  st (may be NULL) gets the sizes (stream/emit.c). */
Rc cmd_emit(const Module *m, const Model *g, const Arch *a, uint8_t **out, size_t *len,
            CmdStats *st, Diag *d);

#endif
