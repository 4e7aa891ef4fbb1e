/*
 * tileplan.c: tile extents, slot layouts, kernels, copies and weight cells
 * of mapped mac layers (the tile plan of stream.h), shared by the stream's
 * writer (emit.c) and the runtime's loader and executor.
 */
#include <string.h>

#include "stream/stream.h"

void tp_extents(TpLoop *loop, int nloops, int nl, int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS],
                int64_t resid[ACCEL_MAX_LEVELS + 1][NDIMS]) {
  int64_t scale[NDIMS], res[NDIMS];
  for (int i = 0; i < NDIMS; i++) scale[i] = res[i] = 1, full[nl][i] = resid[nl][i] = 1;
  int k = nloops - 1;
  for (int l = nl - 1; l >= 0; l--) {
    for (; k >= 0 && loop[k].level == l; k--) {
      TpLoop *lp = &loop[k];
      lp->stride = scale[lp->dim];
      res[lp->dim] += scale[lp->dim] * (lp->r - 1);
      scale[lp->dim] *= lp->f;
    }
    for (int i = 0; i < NDIMS; i++) full[l][i] = scale[i], resid[l][i] = res[i];
  }
}

int tp_compute_level(int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], int nl) {
  if (nl < 2) return 0;
  for (int l = nl - 1; l > 1; l--) {
    int64_t pts = 1;
    for (int d = 0; d < NDIMS && pts < TP_MIN_TILE_MACS; d++) pts *= full[l][d];
    if (pts >= TP_MIN_TILE_MACS) return l;
  }
  return 1;
}

int tp_source(const uint8_t keep[ACCEL_MAX_LEVELS], int lc, int t) {
  for (int l = lc; l >= 1; l--)
    if (keep[l] >> t & 1) return l;
  return lc;
}

int tp_wfetch_level(const uint8_t keep[ACCEL_MAX_LEVELS], int lc) {
  for (int l = 1; l <= lc; l++)
    if (keep[l] >> TENSOR_W & 1) return l;
  return lc;
}

void tp_acc(const Nest *n, const Access *ac, TpAcc *a) {
  memset(a, 0, sizeof *a);
  a->rank = ac->rank;
  for (int q = 0; q < ac->rank; q++) {
    a->cst[q] = ac->idx[q].cst;
    for (int i = 0; i < n->ndims; i++) {
      int d = n->dims[i].dim;
      int64_t c = ac->idx[q].coef[i];
      if (d < 0 || !c) continue;
      if (d == DIM_G) {
        a->gcoef[q] = c;
        a->gi = true;
        continue;
      }
      a->dim[q][a->nterm[q]] = (uint8_t)d;
      a->coef[q][a->nterm[q]++] = c;
    }
  }
}

/* The box of the access over extents e, per tensor dim (without G). */
static void box_size(const TpAcc *ac, const int64_t e[NDIMS], int64_t size[NAASC_MAX_RANK]) {
  for (int q = 0; q < ac->rank; q++) {
    size[q] = 1;
    for (int k = 0; k < ac->nterm[q]; k++) size[q] += ac->coef[q][k] * (e[ac->dim[q][k]] - 1);
  }
}

void tp_slot(const TpAcc *ac, const int64_t ext[NDIMS], TpSlot *s) {
  memset(s, 0, sizeof *s);
  s->rank = ac->rank;
  box_size(ac, ext, s->size);
  int64_t w = 1;
  for (int q = ac->rank - 1; q >= 0; q--) s->row[q] = w, w *= s->size[q];
  s->per_g = w;
  s->words = ac->gi ? w * ext[DIM_G] : w;
  s->lstride[DIM_G] = ac->gi ? w : 0;
  for (int q = 0; q < ac->rank; q++)
    for (int k = 0; k < ac->nterm[q]; k++) s->lstride[ac->dim[q][k]] += ac->coef[q][k] * s->row[q];
}

void tp_base(const TpAcc *ac, const int64_t o[NDIMS], int64_t base[NAASC_MAX_RANK]) {
  for (int q = 0; q < ac->rank; q++) {
    base[q] = ac->cst[q];
    for (int k = 0; k < ac->nterm[q]; k++) base[q] += ac->coef[q][k] * o[ac->dim[q][k]];
  }
}

void tp_kernel(const TpSlot *const lay[KOP_N], const int64_t ext[NDIMS], TileKernel *k) {
  static const uint8_t order[NDIMS] = {DIM_C, DIM_R, DIM_S, DIM_G, DIM_N, DIM_K, DIM_P, DIM_Q};
  memset(k, 0, sizeof *k);
  for (int i = 0; i < NDIMS; i++) {
    int d = order[i];
    if (ext[d] <= 1) continue;
    k->bound[k->nloops] = ext[d];
    for (int op = 0; op < KOP_N; op++) k->stride[op][k->nloops] = lay[op]->lstride[d];
    k->nloops++;
  }
  if (k->nloops == 0) k->bound[k->nloops++] = 1;
}

void tp_slot_tensor(const TpAcc *ac, int rank, const int64_t *dims, float *tensor, float *slot,
                    const TpSlot *lay, const int64_t o[NDIMS], const int64_t e[NDIMS],
                    bool to_tensor) {
  int64_t b0[NAASC_MAX_RANK], size[NAASC_MAX_RANK];
  tp_base(ac, o, b0);
  box_size(ac, e, size);
  int64_t ng = ac->gi ? e[DIM_G] : 1;
  if (rank == 0) {
    if (to_tensor)
      tensor[0] = slot[0];
    else
      slot[0] = tensor[0];
    return;
  }
  for (int64_t g = 0; g < ng; g++) {
    int64_t base[NAASC_MAX_RANK];
    for (int q = 0; q < rank; q++) base[q] = b0[q] + ac->gcoef[q] * (o[DIM_G] + g);
    float *sg = slot + g * lay->per_g;
    int64_t x[NAASC_MAX_RANK] = {0};
    int64_t inner = size[rank - 1], b = base[rank - 1], dim = dims[rank - 1];
    int64_t lo = b < 0 ? -b : 0, hi = b + inner > dim ? dim - b : inner; /* valid j in [lo, hi) */
    for (;;) {
      bool in = true;
      int64_t off = 0, soff = 0;
      for (int q = 0; q < rank - 1; q++) {
        int64_t v = base[q] + x[q];
        if (v < 0 || v >= dims[q]) in = false;
        off = off * dims[q] + v;
        soff += x[q] * lay->row[q];
      }
      float *lp = sg + soff;
      if (!in || hi <= lo) {
        if (!to_tensor) memset(lp, 0, sizeof(float) * (size_t)inner);
      } else {
        float *rowp = tensor + off * dim + b;
        if (to_tensor) {
          memcpy(rowp + lo, lp + lo, sizeof(float) * (size_t)(hi - lo));
        } else {
          if (lo) memset(lp, 0, sizeof(float) * (size_t)lo);
          memcpy(lp + lo, rowp + lo, sizeof(float) * (size_t)(hi - lo));
          if (hi < inner) memset(lp + hi, 0, sizeof(float) * (size_t)(inner - hi));
        }
      }
      int q = rank - 2;
      for (; q >= 0; q--) {
        if (++x[q] < size[q]) break;
        x[q] = 0;
      }
      if (q < 0) break;
    }
  }
}

void tp_slot_slot(const TpAcc *ac, const float *parent, const TpSlot *pl, const int64_t po[NDIMS],
                  float *child, const TpSlot *cl, const int64_t o[NDIMS], const int64_t e[NDIMS],
                  bool to_parent) {
  int64_t bp[NAASC_MAX_RANK], bc[NAASC_MAX_RANK], size[NAASC_MAX_RANK];
  tp_base(ac, po, bp);
  tp_base(ac, o, bc);
  box_size(ac, e, size);
  int rank = ac->rank;
  bool gi = ac->gi;
  int64_t ng = gi ? e[DIM_G] : 1;
  int64_t poff0 = gi ? (o[DIM_G] - po[DIM_G]) * pl->per_g : 0;
  for (int q = 0; q < rank; q++) poff0 += (bc[q] - bp[q]) * pl->row[q];
  int64_t inner = rank ? size[rank - 1] : 1;
  for (int64_t g = 0; g < ng; g++) {
    const float *pg = parent + poff0 + g * pl->per_g;
    float *cg = child + g * cl->per_g;
    int64_t x[NAASC_MAX_RANK] = {0};
    for (;;) {
      int64_t po_ = 0, co = 0;
      for (int q = 0; q < rank - 1; q++) po_ += x[q] * pl->row[q], co += x[q] * cl->row[q];
      if (to_parent)
        memcpy((float *)pg + po_, cg + co, sizeof(float) * (size_t)inner);
      else
        memcpy(cg + co, pg + po_, sizeof(float) * (size_t)inner);
      int q = rank - 2;
      for (; q >= 0; q--) {
        if (++x[q] < size[q]) break;
        x[q] = 0;
      }
      if (q < 0) break;
    }
  }
}

bool tp_pack_plan(const TpAcc *w, const TpLoop *loop, int nloops, int pw,
                  int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], const int64_t bound[NDIMS],
                  int64_t max_cells, TpPack *pk) {
  memset(pk, 0, sizeof *pk);
  pk->level = pw;
  pk->ncells = 1;
  int first[NDIMS];
  for (int d = 0; d < NDIMS; d++) {
    pk->cell[d] = full[pw][d];
    pk->count[d] = 1;
    first[d] = -1;
  }
  for (int k = nloops - 1; k >= 0; k--)
    if (loop[k].level < pw) first[loop[k].dim] = k;
  for (int d = 0; d < NDIMS; d++) {
    bool used = d == DIM_G && w->gi;
    for (int q = 0; q < w->rank; q++)
      for (int k = 0; k < w->nterm[q]; k++) used |= w->dim[q][k] == d;
    if (!used || first[d] < 0) continue;
    pk->count[d] = (bound[d] + pk->cell[d] - 1) / pk->cell[d];
    if (pk->count[d] < 2) continue;
    pk->ncells *= pk->count[d];
    if (pk->ncells > max_cells) return false;
    pk->order[pk->n++] = (uint8_t)d;
  }
  /* Outermost loop first. */
  for (int i = 1; i < pk->n; i++)
    for (int j = i; j > 0 && first[pk->order[j]] < first[pk->order[j - 1]]; j--) {
      uint8_t t = pk->order[j];
      pk->order[j] = pk->order[j - 1];
      pk->order[j - 1] = t;
    }
  return true;
}

void tp_pack_cell(const TpPack *pk, const int64_t bound[NDIMS], int64_t i, int64_t o[NDIMS],
                  int64_t e[NDIMS]) {
  for (int d = 0; d < NDIMS; d++) o[d] = 0;
  for (int j = pk->n - 1; j >= 0; j--) {
    int d = pk->order[j];
    o[d] = (i % pk->count[d]) * pk->cell[d];
    i /= pk->count[d];
  }
  for (int d = 0; d < NDIMS; d++) {
    int64_t left = bound[d] - o[d];
    e[d] = pk->cell[d] < left ? pk->cell[d] : left;
  }
}

int64_t tp_pack_index(const TpPack *pk, const int64_t o[NDIMS]) {
  int64_t i = 0;
  for (int j = 0; j < pk->n; j++) {
    int d = pk->order[j];
    i = i * pk->count[d] + o[d] / pk->cell[d];
  }
  return i;
}

void tp_layer_kernel(const Nest *n, const Access *const acc[KOP_N],
                     const uint8_t keep[ACCEL_MAX_LEVELS], int lc,
                     int64_t full[ACCEL_MAX_LEVELS + 1][NDIMS], const int64_t ext[NDIMS],
                     TileKernel *k) {
  static const int tens[KOP_N] = {TENSOR_O, TENSOR_I, TENSOR_W};
  TpSlot lay[KOP_N];
  const TpSlot *lp[KOP_N];
  for (int op = 0; op < KOP_N; op++) {
    TpAcc ta;
    tp_acc(n, acc[op], &ta);
    tp_slot(&ta, full[tp_source(keep, lc, tens[op])], &lay[op]);
    lp[op] = &lay[op];
  }
  tp_kernel(lp, ext, k);
}

int64_t tp_pack_offsets(const TpAcc *w, const TpPack *pk, const int64_t bound[NDIMS],
                        int64_t *offsets, int64_t max_words) {
  int64_t words = 0;
  for (int64_t i = 0; i < pk->ncells; i++) {
    int64_t o[NDIMS], e[NDIMS];
    tp_pack_cell(pk, bound, i, o, e);
    TpSlot lay;
    tp_slot(w, e, &lay);
    if (offsets) offsets[i] = words;
    words += lay.words;
    if (words > max_words) return -1;
  }
  if (offsets) offsets[pk->ncells] = words;
  return words;
}

void tp_pack_copy(const TpAcc *w, const TpPack *pk, const int64_t bound[NDIMS],
                  const int64_t *offsets, float *packed, int rank, const int64_t *dims,
                  float *tensor, bool to_tensor) {
  for (int64_t i = 0; i < pk->ncells; i++) {
    int64_t o[NDIMS], e[NDIMS];
    tp_pack_cell(pk, bound, i, o, e);
    TpSlot lay;
    tp_slot(w, e, &lay);
    tp_slot_tensor(w, rank, dims, tensor, packed + offsets[i], &lay, o, e, to_tensor);
  }
}
