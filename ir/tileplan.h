/*
 * tileplan.h: how a mapped mac layer's tiles are laid out and moved, the
 * one definition the command-stream writer (backend/cmd_emit.c) and its
 * reader and executor (runtime/) share, so the two cannot drift apart.
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
#ifndef NAASC_TILEPLAN_H
#define NAASC_TILEPLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "accel.h"
#include "kernel.h"
#include "nest.h"

#define TP_MAX_LOOPS (ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES) * NDIMS)

/* A compute tile of fewer MACs than this runs at the level above instead:
 * below it the calls, the walk and the small copies cost more than the
 * MACs (measured, docs/design.md "Runtime buffers and weight cells"). */
#define TP_MIN_TILE_MACS 512

/* Nest dim index (N G K C P Q R S) of accel dim d (G N K C P Q R S). */
extern const int tp_nest_dim[NDIMS];

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

/* An affine access compiled for the copies: per tensor dim its terms in
 * the accel dims other than G, its constant, and its G coefficient. */
typedef struct {
  int rank;
  bool gi;                               /* some index depends on G */
  uint8_t nterm[NAASC_MAX_RANK];
  uint8_t dim[NAASC_MAX_RANK][NDIMS];
  int64_t coef[NAASC_MAX_RANK][NDIMS];
  int64_t cst[NAASC_MAX_RANK], gcoef[NAASC_MAX_RANK];
} TpAcc;

void tp_acc(const Access *ac, TpAcc *a);

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
 * each operand (KOP order; acc[op] affine) in the slot of its source level
 * (tp_source over keep), laid out for that level's full tile. */
void tp_layer_kernel(const Access *const acc[KOP_N], const uint8_t keep[ACCEL_MAX_LEVELS], int lc,
                     int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], const int64_t ext[NDIMS],
                     TileKernel *k);

/* Copies between a slot (origin o, extents e, strides of lay) and a dense
 * tensor of rank/dims: positions outside the tensor read as 0 and are not
 * written back. */
void tp_slot_tensor(const TpAcc *ac, int rank, const int64_t *dims, float *tensor, float *slot,
                    const TpSlot *lay, const int64_t o[NDIMS], const int64_t e[NDIMS], bool to_tensor);

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
  int64_t cell[NDIMS];  /* full cell extents: full[level] */
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
void tp_pack_copy(const TpAcc *w, const TpPack *pk, const int64_t bound[NDIMS], const int64_t *offsets,
                  float *packed, int rank, const int64_t *dims, float *tensor, bool to_tensor);
/* The number of the cell holding accel point o. */
int64_t tp_pack_index(const TpPack *pk, const int64_t o[NDIMS]);

#endif
