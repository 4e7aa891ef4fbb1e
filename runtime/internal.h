/*
 * internal.h: what the files of runtime/ share (runtime.h is the interface).
 * A loaded program: the architecture read back from the stream, the tensor
 * table with the DRAM buffers, and per layer the nest, its loops, tiles and
 * kernel as the validator accepted them.
 */
#ifndef NAASC_RUNTIME_INTERNAL_H
#define NAASC_RUNTIME_INTERNAL_H

#include "runtime/runtime.h"
#include "stream/stream.h"

#define RT_MAX_LOOPS (ACCEL_MAX_LEVELS * (1 + ACCEL_MAX_AXES) * NDIMS)
#define RT_MAX_TILES (ACCEL_MAX_LEVELS * NTENSORS * 2)

typedef TpLoop RtLoop; /* the tile plan of stream/stream.h */

typedef struct {
  bool store;
  uint8_t level, tensor, rank, affine;
  int64_t size[NAASC_MAX_RANK], stride[NAASC_MAX_RANK];
  int64_t pad_lo[NAASC_MAX_RANK], pad_hi[NAASC_MAX_RANK];
} RtTile;

typedef struct {
  Nest nest;
  bool mapped;
  Problem prob; /* mapped mac layers */
  int nloops;
  RtLoop loop[RT_MAX_LOOPS]; /* outermost first */
  int ntiles;
  RtTile tile[RT_MAX_TILES];
  uint8_t keep[ACCEL_MAX_LEVELS]; /* tensors loaded at each level (DRAM: all) */
  int compute_level;
  TileKernel kernel; /* of the full compute tile */
  uint32_t kernel_id;
  /* Weights packed as cells (CMD_WPACK): the plan, the cells' bytes (owned,
   * float32) and each cell's offset in words; wp_cells NULL if dense. */
  bool has_wpack;
  uint32_t wp_tensor;
  uint64_t wp_off, wp_len;
  TpPack wp;
  float *wp_data;
  int64_t *wp_cells;
  /* A host layer (VOP_HOST): its node imported from the stream (host.c),
   * and per graph input and output of that model the program's tensor. */
  Model *host;
  int *host_in, *host_out;
  /* A layer of a fused group (CMD_RESIDE): its group's number (0: none),
   * home level and which of its tensors live there (CMD_RES_*; with
   * CMD_RES_DEPTH the layer does not run: its tile layers do). */
  uint32_t group;
  uint8_t home, res;
  /* A tile layer of a depth-first group (CMD_TILE): the layer it runs for
   * (whose counts it adds to), the tile's number, the origin of its
   * rectangle (rows, columns), the copies around it ([axis] = {lo, hi}) and
   * their words (copy_w: the weights copied into home). */
  bool dft;
  int owner;
  int64_t tile_no, org[2], cin[2][2], cout[2][2];
  int rdim, cdim; /* the nest dims of the output's rows and columns */
  bool wcopy;
  int64_t copy_in, copy_out, copy_w;
  int64_t home_other; /* a resident mac layer's tiles of its other tensors at home (words) */
  RtLayerCounts counts;
} RtLayer;

typedef struct {
  TileKernel k;
  KernelFn fn; /* NULL: the C reference */
  bool i32;    /* an integer mac layer's kernel (int32 words, RT_KERNEL_I32) */
} RtKernelEntry;

/* The shared storage of the intermediate values (memplan.c): each TR_VALUE
 * tensor's offset in one pool, and per layer the values it touches first
 * (zlist[zstart[k] .. zstart[k+1]), zeroed before layer k runs). */
#define RT_POOL_ALIGN 64
#define RT_PLAN_MAX_VALUES 8192
typedef struct {
  int64_t *off;     /* per tensor id: offset in the pool, -1 if not pooled */
  int *zstart;      /* nlayers + 2 entries */
  int *zlist;       /* tensor ids */
  int64_t bytes;    /* the pool's size */
  int64_t unshared; /* the values' bytes, each in a buffer of its own */
} RtBufPlan;

/* Plans the pool from the tensor table and the layers (after every layer
 * is read and checked); false only when out of memory. */
bool rt_plan_buffers(RtProgram *p, RtBufPlan *plan);

struct RtProgram {
  Arena arena;
  Arch arch; /* the fields the stream carries (cmdf_arch_bytes) */
  uint64_t arch_hash;
  int ntensors;
  RtTensor *t;     /* [0] unused */
  uint8_t *packed; /* per tensor: 1 its data comes from a WPACK, 2 it came */
  bool *bound;     /* inputs bound by rt_set_input */
  int nlayers;
  RtLayer *layers;
  int npub; /* the layers rt_nlayers shows: all but tile layers */
  int *pub; /* their indices in layers */
  RtKernelEntry *kcache;
  int nk, capk;
  size_t stream_bytes, cmd_bytes, weight_bytes;
  int64_t max_memory; /* the cap of rt_load_capped */
  int64_t
      mem_bytes;  /* what the loaded program holds or may take: tensors, packed weights, scratch */
  RtBufPlan plan; /* the values' shared storage */
  uint8_t *pool;  /* plan.bytes, owned; the values' data point into it */
};

/* Limits of the loader beyond those of ir.h: the points of a layer's nest,
 * and the capacity of an architecture level in words. */
#define RT_MAX_POINTS (INT64_C(1) << 40)
#define RT_MAX_CAPACITY (INT64_C(1) << 40)

/* Element i of t as a double, and stores (converted to t's type). */
double rt_get(const RtTensor *t, int64_t i);
void rt_set(RtTensor *t, int64_t i, double v);

/* Mac layers: the tiled executor (exec.c) and the access counter (count.c). */
Rc rt_exec_mac(RtProgram *p, RtLayer *L, const RuntimeOptions *o, Diag *d);
void rt_count_layer(const RtProgram *p, RtLayer *L, bool exact);
/* Derived loop strides and extents (tp_extents of the layer's loops). */
void rt_loop_extents(RtLayer *L, int nl, int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS],
                     int64_t resid[ACCEL_MAX_LEVELS + 1][NDIMS]);
/* The kernel of a compute tile of extents ext at level lc, its operands in
 * the slots of their source levels (the tile plan); false if an operand is
 * not affine. */
bool rt_tile_kernel(const RtLayer *L, int lc, int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS],
                    const int64_t ext[NDIMS], TileKernel *k);
/* The mac access of an accel tensor. */
const Access *rt_mac_access(const Nest *n, int t);

/* Host layers (host.c): imports the node blob of layer L and checks it
 * against the program's tensors (false, reported at `where`, if it does
 * not import or does not match); runs it. */
bool rt_host_prepare(RtProgram *p, RtLayer *L, const uint8_t *blob, size_t len, const char *where,
                     Diag *d);
Rc rt_exec_host(RtProgram *p, RtLayer *L, Diag *d);

/* Integer mac layers (qmac.c): whether layer n's I and W are u8/i8 (an
 * integer mac layer); NULL if its types, parameters and zero point or
 * scale operands (Xzp, Wzp, Yzp, Ws) are valid, else why not; running it (widened to i32 words, tiled by rt_exec_mac with
 * kernel_ref_i32 or the provider's i32 kernel as its compute tile, the bias and requantization after);
 * the compute tile: o += i*w in 32 bits, wrapping, on the widened words. */
bool rt_mac_int(const Nest *n, const RtTensor *T);
const char *rt_qmac_check(const Nest *n, const RtTensor *T);
/* The bytes rt_qmac_run allocates for layer n: I and W widened to i32,
 * and the i32 sums of a u8/i8 O (counted against --max-memory). */
int64_t rt_qmac_scratch(const Nest *n, const RtTensor *T);
Rc rt_qmac_run(RtProgram *p, RtLayer *L, const RuntimeOptions *o, Diag *d);
void kernel_ref_i32(const TileKernel *k, int32_t *o, const int32_t *i, const int32_t *w);

/* numpy matmul of whole operands with broadcast batch dims, into o (f32)
 * (interp.c). */
void rt_matmul_whole(const RtTensor *a, const RtTensor *b, float *o);
/* The epilogue of a finished mac output (sums in the O tensor's data):
 * Gemm's alpha and beta, the bias, the activation (interp.c). */
void rt_mac_epilogue(const Nest *n, RtTensor *T);
/* The same on rows [lo[0], hi[0]) and columns [lo[1], hi[1]) (dims 2 and 3)
 * of a rank-4 output only: a tile layer's rectangle. */
void rt_mac_epilogue_box(const Nest *n, RtTensor *T, const int64_t lo[2], const int64_t hi[2]);

#endif
