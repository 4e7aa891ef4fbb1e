/*
 * accel.h: the accelerator-side nouns of naasc.  A Problem is one layer as a
 * perfectly nested loop over G N K C P Q R S; an Arch is a storage hierarchy
 * from DRAM inwards over a PE array of up to three spatial axes; a Mapping
 * tiles, orders, unrolls and bypasses the Problem on the Arch; a CostResult
 * is what backend/cost.c derives from the three (docs/cost-model.md); a
 * Schedule groups a network's layers above their mappings.
 *
 * Invariants:
 *   - every struct here is plain data with fixed-size arrays and no pointers,
 *     so the search copies candidates with memcpy and never frees them;
 *   - storage levels are listed outermost (DRAM) first, at most
 *     ACCEL_MAX_LEVELS of them; Arch.nlevels == Mapping.nlevels;
 *   - dimension and tensor indices are the DIM_* and TENSOR_* enumerators,
 *     and masks over them use bit (1u << index);
 *   - counts are in words, energies in pJ, bandwidths in words per cycle.
 */
#ifndef NAASC_ACCEL_H
#define NAASC_ACCEL_H

#include <stdbool.h>
#include <stdint.h>

/* ---- dimensions and tensors ------------------------------------------- */

/* Loop dimensions of a convolution (Timeloop calls K "M").  Depthwise is
 * G = channels, K = C = 1; a matmul or FC layer is P = Q = R = S = 1. */
typedef enum {
  DIM_G = 0, /* groups */
  DIM_N,     /* batch */
  DIM_K,     /* output channels per group */
  DIM_C,     /* input channels per group */
  DIM_P,     /* output rows (pairs with R, stride[0], dilation[0]) */
  DIM_Q,     /* output columns (pairs with S, stride[1], dilation[1]) */
  DIM_R,     /* filter rows */
  DIM_S,     /* filter columns */
  NDIMS
} Dim;

/* W[g,k,c,r,s], I[n,g,c,p*stride0+r*dil0,q*stride1+s*dil1], O[n,g,k,p,q]. */
typedef enum { TENSOR_W = 0, TENSOR_I, TENSOR_O, NTENSORS } AccelTensor;

#define ACCEL_ALL_DIMS ((uint8_t)0xFF)
#define ACCEL_ALL_TENSORS ((uint8_t)0x07)

#define ACCEL_MAX_LEVELS 8 /* storage levels, DRAM included */
#define ACCEL_MAX_AXES 3   /* PE-array axes: x, y, z */
#define ACCEL_NAME_MAX 48  /* names, NUL included */

enum { AXIS_X = 0, AXIS_Y, AXIS_Z };

/* Dimension letters in DIM_* order and tensor letters in TENSOR_* order. */
static inline char accel_dim_letter(int d) { return "GNKCPQRS"[d & 7]; }
static inline char accel_tensor_letter(int t) { return "WIO"[t % 3]; }

/* DIM_* for a letter (K or M for output channels), or -1. */
static inline int accel_dim_from_letter(char c) {
  switch (c) {
  case 'G': return DIM_G;
  case 'N': return DIM_N;
  case 'K': case 'M': return DIM_K;
  case 'C': return DIM_C;
  case 'P': return DIM_P;
  case 'Q': return DIM_Q;
  case 'R': return DIM_R;
  case 'S': return DIM_S;
  default: return -1;
  }
}

/* TENSOR_* for a letter, or -1. */
static inline int accel_tensor_from_letter(char c) {
  return c == 'W' ? TENSOR_W : c == 'I' ? TENSOR_I : c == 'O' ? TENSOR_O : -1;
}

/* Mask of the dims that index tensor t (the others leave its tile in place). */
static inline uint8_t accel_tensor_dims(int t) {
  switch (t) {
  case TENSOR_W: return (uint8_t)(1u << DIM_G | 1u << DIM_K | 1u << DIM_C | 1u << DIM_R | 1u << DIM_S);
  case TENSOR_I:
    return (uint8_t)(1u << DIM_G | 1u << DIM_N | 1u << DIM_C | 1u << DIM_P | 1u << DIM_Q |
                     1u << DIM_R | 1u << DIM_S);
  default: return (uint8_t)(1u << DIM_G | 1u << DIM_N | 1u << DIM_K | 1u << DIM_P | 1u << DIM_Q);
  }
}

/* ---- Problem ----------------------------------------------------------- */

typedef struct {
  char name[ACCEL_NAME_MAX];
  int64_t dim[NDIMS];  /* bounds, each >= 1 */
  int64_t stride[2];   /* [0] pairs with P/R, [1] with Q/S */
  int64_t dilation[2]; /* likewise */
} Problem;

static inline int64_t problem_macs(const Problem *p) {
  int64_t m = 1;
  for (int d = 0; d < NDIMS; d++) m *= p->dim[d];
  return m;
}

/* Padded input extent along axis a (0: rows, from P and R; 1: columns). */
static inline int64_t problem_input_extent(const Problem *p, int a) {
  int64_t out = p->dim[a ? DIM_Q : DIM_P], win = p->dim[a ? DIM_S : DIM_R];
  return (out - 1) * p->stride[a] + (win - 1) * p->dilation[a] + 1;
}

/* ---- Arch -------------------------------------------------------------- */

/* One storage level.  Capacities are per instance; bandwidths per instance
 * in words/cycle, <= 0 meaning unlimited.  Energies are per access of one
 * block of block_words words (Timeloop's vector access, README 4.5). */
typedef struct {
  char name[ACCEL_NAME_MAX];
  bool is_dram;                      /* unbounded, no in-place reduction */
  int64_t instances;                 /* physical instances (= mesh_x * mesh_y) */
  int64_t mesh_x, mesh_y;
  int64_t fanout[ACCEL_MAX_AXES];    /* to the next inner level (or the MACs), per axis; >= 1 */
  uint8_t connectivity[ACCEL_MAX_AXES]; /* dims allowed to unroll on each axis (NAAS parallel dims) */
  int word_bits;
  int64_t block_words;               /* words per access, >= 1 */
  int64_t capacity_words;            /* 0 = unbounded */
  int64_t tensor_capacity_words[NTENSORS]; /* optional per-tensor limit, 0 = none */
  double multiple_buffering;         /* effective capacity = capacity / this (1 = single) */
  uint8_t keeps_allowed;             /* tensors this level may hold (bit per TENSOR_*) */
  uint8_t keeps_required;            /* of those, tensors it must hold (YAML must_keep;
                                        Timeloop's `keep` constraint); 0 = none */
  double read_bw, write_bw, shared_bw; /* words/cycle per instance; "write" = fills + updates */
  double e_read_pj, e_fill_pj, e_update_pj; /* pJ per block access */
  /* The network from this level to its fan-out (YAML `noc`): energy to move
   * one word one hop, and whether one parent access may serve every child
   * needing the same word (multicast; spatial reduction for outputs).  The
   * zero defaults are Timeloop's: free wires, multicast and reduction on. */
  double noc_pj_per_hop;
  bool no_multicast, no_reduction;
  /* Area placeholders (um^2), not yet calibrated to a technology; see
   * docs/cost-model.md "Area".  0 leaves the term out. */
  double area_um2_per_word;
  double area_um2_fixed;
} Level;

/* The vector unit beside the array (pooling, element-wise ops); not yet
 * used by the layer cost model, carried for the compiler. */
typedef struct {
  int64_t lanes;           /* 0 = none */
  double energy_pj_per_op;
  double area_um2;         /* placeholder */
} VectorUnit;

typedef struct {
  char name[ACCEL_NAME_MAX];
  int nlevels;                   /* 1..ACCEL_MAX_LEVELS */
  Level level[ACCEL_MAX_LEVELS]; /* [0] is DRAM */
  int64_t mac_instances, mac_mesh_x, mac_mesh_y;
  double mac_energy_pj;          /* one MAC */
  double mac_area_um2;           /* placeholder, as Level.area_* */
  VectorUnit vector;
  double clock_mhz;              /* for seconds; 0 = unknown */
} Arch;

/* ---- Mapping ----------------------------------------------------------- */

/* One storage level's loops.  Nesting, outermost first: level 0 temporal,
 * level 0 spatial z, y, x, level 1 temporal, ... down to the innermost
 * level's temporal loops around one MAC.  A temporal factor f with
 * remainder r (0 < r < f) runs r iterations instead of f when every
 * enclosing loop of the same dim is in its last iteration (Timeloop's
 * "Q=5,2"); remainder 0 or == factor means a perfect factor. */
typedef struct {
  int64_t factor[NDIMS];                    /* temporal factor f >= 1 */
  int64_t remainder[NDIMS];                 /* 0 or r in 1..f */
  uint8_t order[NDIMS];                     /* temporal permutation, outermost first */
  int64_t spatial[ACCEL_MAX_AXES][NDIMS];   /* unrolling per axis, >= 1 */
  uint8_t spatial_order[ACCEL_MAX_AXES][NDIMS]; /* permutation per axis, outermost first */
  uint8_t keep;                             /* tensors stored here (bit per TENSOR_*) */
} LevelMapping;

typedef struct {
  int nlevels;
  LevelMapping level[ACCEL_MAX_LEVELS];
} Mapping;

/* Loop iterations of a factor: r if 0 < r < f, else f. */
static inline int64_t mapping_residual(const LevelMapping *m, int d) {
  int64_t f = m->factor[d], r = m->remainder[d];
  return (r > 0 && r < f) ? r : f;
}

/* Sets every factor to 1, orders to G N K C P Q R S, keep to `keep`. */
static inline void level_mapping_init(LevelMapping *m, uint8_t keep) {
  for (int d = 0; d < NDIMS; d++) {
    m->factor[d] = 1;
    m->remainder[d] = 0;
    m->order[d] = (uint8_t)d;
    for (int a = 0; a < ACCEL_MAX_AXES; a++) {
      m->spatial[a][d] = 1;
      m->spatial_order[a][d] = (uint8_t)d;
    }
  }
  m->keep = keep;
}

/* ---- CostResult --------------------------------------------------------- */

typedef struct {
  int64_t reads, fills, updates;
} AccessCounts;

typedef struct {
  AccessCounts total[NTENSORS];        /* summed over utilized instances (Timeloop's totals) */
  AccessCounts per_instance[NTENSORS]; /* one instance */
  int64_t utilized_instances;          /* product of the spatial factors above this level */
  int64_t tile_words[NTENSORS];        /* utilized capacity; 0 if not kept */
  int64_t partition_words[NTENSORS];   /* distinct words one instance holds over the run */
  int64_t cycles;                      /* this level's bandwidth-limited cycles */
  double slowdown;                     /* <= 1; 1 = keeps up with compute */
  double energy_pj;                    /* all tensors, all utilized instances (NoC included) */
  double noc_energy_pj;                /* of which the network below this level */
  double tensor_energy_pj[NTENSORS];
} LevelCost;

typedef struct {
  int nlevels;
  LevelCost level[ACCEL_MAX_LEVELS];
  int64_t macs;                   /* real MACs (the problem's) */
  int64_t mac_utilized_instances; /* PEs the mapping uses */
  int64_t compute_cycles;         /* product of all temporal factors (remainders padded) */
  int64_t cycles;                 /* max of compute_cycles and every level's cycles */
  int bottleneck;                 /* -1: compute; else the level setting cycles */
  double mac_energy_pj;
  double tensor_energy_pj[NTENSORS]; /* summed over levels */
  double energy_pj;               /* MACs + all levels (network energy is 0) */
  double edp;                     /* energy_pj * cycles (pJ x cycles) */
  double seconds;                 /* cycles / clock; 0 if the clock is unknown */
  double utilization;             /* macs / (mac_instances * cycles) */
  double area_um2;                /* placeholder model, docs/cost-model.md */
} CostResult;

/* ---- Schedule ------------------------------------------------------------ */

/* A whole-network schedule above the per-layer mappings (docs/cost-model.md,
 * "Whole-network schedules").  The nests of a lowered module run in module
 * order (a topological order); a group is a range [first, last] of two or
 * more consecutive nests that runs as one unit, its activations kept in the
 * on-chip level `home`.  Nests in no group run alone: a schedule with no
 * groups is the layer-by-layer schedule of cost_eval.
 *
 *   SCHED_LAYER  the group's layers run one after another, whole, and the
 *                tensors produced and consumed inside the group stay in home.
 *   SCHED_DEPTH  depth-first (DeFiNES, Mei et al., HPCA 2023): the last
 *                nest's output is cut into tiles of tile[0] rows x tile[1]
 *                columns, visited row-major; per tile every nest computes the
 *                part of its output that the tile needs; every activation the
 *                group's layers read or write lives in home.  `overlap` says
 *                what happens to the parts two neighbouring tiles share.
 *
 * Invariants: groups are listed in module order and do not overlap; first <
 * last; home >= 1 names an on-chip storage level.  Plain data, as every
 * noun here: a Schedule is copied with memcpy. */
typedef enum {
  SCHED_LAYER = 0, /* layer by layer, intermediates resident in home */
  SCHED_DEPTH      /* depth-first over tiles of the last nest's output */
} SchedMode;

/* DeFiNES's three ways to treat the overlap of neighbouring tiles. */
typedef enum {
  OVERLAP_RECOMPUTE = 0, /* fully recompute: every tile computes all it needs */
  OVERLAP_CACHE_H,       /* cache horizontally (the left neighbour's columns), recompute vertically */
  OVERLAP_CACHE_ALL      /* fully cache: every element of every tensor is computed once */
} SchedOverlap;

#define SCHED_MAX_GROUPS 2048

typedef struct {
  uint32_t first, last;  /* nest indices in module order, first < last */
  uint8_t mode;          /* SchedMode */
  uint8_t overlap;       /* SchedOverlap; SCHED_DEPTH only (else 0) */
  uint8_t home;          /* storage level holding the group's activations (>= 1) */
  uint8_t weights_home;  /* SCHED_DEPTH: the group's weights are fetched once and kept in home */
  int64_t tile[2];       /* SCHED_DEPTH: rows, columns of the last nest's output per tile (else 0) */
} SchedGroup;

typedef struct {
  uint32_t ngroups;
  SchedGroup group[SCHED_MAX_GROUPS];
} Schedule;

#endif
