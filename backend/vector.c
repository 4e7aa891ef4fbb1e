/*
 * vector.c: the cost of a vector-unit nest (element-wise ops, softmax,
 * normalisations, pools, reductions) on an arch's vector unit.
 *
 * How it works:
 *   1. The nest's iteration points (the product of its dims: an output
 *      element of an element-wise op, an input element of a reduction or a
 *      softmax, a window tap of a pool) times the op's arithmetic per point,
 *      in adds and multiplies (a compare is an add).  Transcendental and
 *      divide steps are decomposed as a vector unit without dedicated
 *      function units evaluates them:
 *        exp      range reduction and a degree-6 polynomial by Horner's
 *                 rule: 7 mul + 7 add (Cephes expf, S. Moshier, "Methods
 *                 and Programs for Mathematical Functions", 1989)
 *        divide   reciprocal by 2 Newton-Raphson steps from a table seed,
 *                 then a multiply: 5 mul + 2 add (Oberman & Flynn, IEEE
 *                 Trans. Computers 46(8), 1997, section 4.1)
 *        sqrt     reciprocal square root by 2 Newton-Raphson steps, times
 *                 x: 7 mul + 2 add (same source)
 *        tanh     1 - 2 / (exp(2x) + 1): exp + divide + 1 mul + 2 add
 *        erf      Abramowitz & Stegun 7.1.26 (5-term polynomial in
 *                 t = 1/(1 + p|x|), times exp(-x^2)): exp + divide + 7 mul
 *                 + 6 add
 *      Softmax per element: max, subtract, exp, sum, times the row's
 *      reciprocal (3 add + 1 mul + exp).  LayerNormalization per element:
 *      mean and variance sums, subtract, square, normalise, scale, shift
 *      (4 add + 3 mul; the per-row rsqrt is amortised) and, two passes, its
 *      input read twice.  Gelu: x * 0.5 * (1 + erf(x / sqrt 2)), 1 add +
 *      3 mul + erf; the host nest does not carry the approximation, and
 *      GPT-2's tanh form, 0.5 x (1 + tanh(c (x + 0.044715 x^3))), is 2 add
 *      + 5 mul + tanh: the one op fewer is not told apart.
 *   2. Energy per add and per multiply: with a technology node, the
 *      technology model's integer adder and multiplier of the arch's output
 *      word width (Horowitz, ISSCC 2014, scaled by node; backend/tech.c);
 *      without, the vector unit's energy_pj_per_op for either, else the
 *      MAC's energy (an add or a multiply costs at most a MAC).
 *   3. Memory: layer by layer, as the mac layers are costed alone: every
 *      operand crosses DRAM once (inputs read, the output written) and the
 *      global buffer (level 1) once each way; LayerNormalization's second
 *      pass reads its input from the global buffer again when a row fits
 *      there, else from DRAM again.  Energy per word is the level's per
 *      block energy / block_words.
 *   4. Cycles: the arithmetic over the lanes (one add or multiply per lane
 *      per cycle), or DRAM traffic over its bandwidth when that is longer.
 * No allocation, no state.  An op not listed (a host op the vector unit
 * does not run, a data movement) or an arch without lanes is not costed
 * (vec_cost returns false) and the report says so.
 */
#include "backend/backend.h"

#include <string.h>

/* Adds and multiplies of the transcendental steps (see above). */
enum { EXP_ADD = 7, EXP_MUL = 7, DIV_ADD = 2, DIV_MUL = 5, SQRT_ADD = 2, SQRT_MUL = 7 };
enum { TANH_ADD = EXP_ADD + DIV_ADD + 2, TANH_MUL = EXP_MUL + DIV_MUL + 1 };
enum { ERF_ADD = EXP_ADD + DIV_ADD + 6, ERF_MUL = EXP_MUL + DIV_MUL + 7 };

const char *vec_kind_name(VecKind k) {
  static const char *const names[] = {"none", "elementwise", "softmax", "normalization",
                                      "pool/reduce"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* Per iteration point: adds, multiplies, input passes; false if not costed. */
static bool op_work(const Nest *n, int *add, int *mul, int *passes, VecKind *kind) {
  *add = *mul = 0;
  *passes = 1;
  *kind = VK_ELEMENTWISE;
  switch (n->vop) {
  case VOP_RELU:
  case VOP_CLIP:
  case VOP_ADD:
  case VOP_SUB:
  case VOP_MAX:
  case VOP_CAST: *add = 1; return true;
  case VOP_LEAKYRELU: *add = 1, *mul = 1; return true;
  case VOP_HARDSIGMOID: *add = 2, *mul = 1; return true;
  case VOP_HARDSWISH: *add = 2, *mul = 2; return true;
  case VOP_MUL: *mul = 1; return true;
  case VOP_DIV: *add = DIV_ADD, *mul = DIV_MUL; return true;
  case VOP_SQRT: *add = SQRT_ADD, *mul = SQRT_MUL; return true;
  case VOP_SIGMOID: *add = EXP_ADD + DIV_ADD + 1, *mul = EXP_MUL + DIV_MUL; return true;
  case VOP_POW: *add = EXP_ADD + 2, *mul = EXP_MUL + 2; return true; /* exp(y log x), log ~ exp */
  case VOP_BATCHNORM: *add = 1, *mul = 1; return true;               /* folded scale and shift */
  case VOP_SOFTMAX:
    *kind = VK_SOFTMAX;
    *add = 3 + EXP_ADD, *mul = 1 + EXP_MUL;
    return true;
  case VOP_MAXPOOL:
  case VOP_AVGPOOL:
  case VOP_GLOBALAVGPOOL:
  case VOP_REDUCEMEAN: *kind = VK_REDUCE, *add = 1; return true;
  case VOP_HOST: break;
  default: return false;
  }
  const char *op = n->host_op ? n->host_op : "";
  if (strcmp(op, "LayerNormalization") == 0) {
    *kind = VK_NORM, *add = 4, *mul = 3, *passes = 2;
  } else if (strcmp(op, "Gelu") == 0) {
    *add = 1 + ERF_ADD, *mul = 3 + ERF_MUL; /* the tanh form costs within 2 ops of it */
  } else if (strcmp(op, "Erf") == 0) {
    *add = ERF_ADD, *mul = ERF_MUL;
  } else if (strcmp(op, "Tanh") == 0) {
    *add = TANH_ADD, *mul = TANH_MUL;
  } else if (strcmp(op, "Exp") == 0) {
    *add = EXP_ADD, *mul = EXP_MUL;
  } else {
    return false;
  }
  return true;
}

/* Energy of one add and one multiply on a's vector unit (step 2). */
static void op_energy(const Arch *a, double *e_add, double *e_mul) {
  if (a->tech_nm > 0) {
    TechComponent k;
    TechCost c;
    tech_init(&k, TECH_MAC);
    k.node_nm = a->tech_nm;
    k.bits = arch_tensor_bits(a, TENSOR_O);
    k.op = TECH_OP_ADD;
    bool ok = tech_eval(&k, &c, NULL, NULL) == RC_OK;
    *e_add = ok ? c.energy_pj : a->mac_energy_pj;
    k.op = TECH_OP_MUL;
    ok = tech_eval(&k, &c, NULL, NULL) == RC_OK;
    *e_mul = ok ? c.energy_pj : a->mac_energy_pj;
    return;
  }
  double e = a->vector.energy_pj_per_op > 0 ? a->vector.energy_pj_per_op : a->mac_energy_pj;
  *e_add = *e_mul = e;
}

static int64_t nt_numel(const NTensor *t) {
  int64_t v = 1;
  for (int k = 0; k < t->rank; k++) v *= t->dims[k];
  return v;
}

static double word_pj(const Level *l, double block_pj) {
  return block_pj / (double)(l->block_words > 0 ? l->block_words : 1);
}

bool vec_cost(const Arch *a, const Module *m, const Nest *n, VecCost *out) {
  memset(out, 0, sizeof *out);
  int add, mul, passes;
  VecKind kind;
  if (n->kind != NK_VEC || a->vector.lanes <= 0 || !op_work(n, &add, &mul, &passes, &kind))
    return false;
  out->kind = kind;
  int64_t pts = 1;
  for (int d = 0; d < n->ndims; d++) pts *= n->dims[d].bound;
  if (n->vop == VOP_HOST) { /* whole accesses: the output's elements */
    const Access *o = nest_access(n, ROLE_O);
    pts = o ? nt_numel(&m->tensors[o->tensor]) : 0;
  }
  out->points = pts;
  out->adds = pts * add;
  out->muls = pts * mul;
  double e_add, e_mul;
  op_energy(a, &e_add, &e_mul);
  out->op_energy_pj = (double)out->adds * e_add + (double)out->muls * e_mul;
  /* Step 3: operand words. */
  int64_t in_words = 0, out_words = 0, row = 1;
  for (int k = 0; k < n->nacc; k++) {
    const Access *ac = &n->acc[k];
    const NTensor *t = &m->tensors[ac->tensor];
    int64_t w = nt_numel(t);
    if (ac->kind == ACC_READ)
      in_words += w;
    else
      out_words += w;
  }
  if (passes > 1) { /* LayerNormalization: a row is the last dim */
    const Access *x = nest_access(n, ROLE_X);
    const NTensor *t = x ? &m->tensors[x->tensor] : NULL;
    row = t && t->rank > 0 ? t->dims[t->rank - 1] : 1;
  }
  const Level *dram = &a->level[0], *glb = a->nlevels > 1 ? &a->level[1] : NULL;
  int64_t dram_words = in_words + out_words, glb_words = glb ? 2 * (in_words + out_words) : 0;
  if (passes > 1) {
    if (glb && (glb->capacity_words == 0 || row <= glb->capacity_words))
      glb_words += in_words;
    else
      dram_words += in_words;
  }
  out->dram_words = dram_words;
  out->glb_words = glb_words;
  double mem =
      (double)(in_words + (dram_words - in_words - out_words)) * word_pj(dram, dram->e_read_pj) +
      (double)out_words * word_pj(dram, dram->e_fill_pj);
  if (glb) /* half the global-buffer words written (fills, results), half read */
    mem += (double)glb_words / 2 * (word_pj(glb, glb->e_read_pj) + word_pj(glb, glb->e_fill_pj));
  out->mem_energy_pj = mem;
  out->energy_pj = out->op_energy_pj + mem;
  int64_t ops = out->adds + out->muls;
  out->compute_cycles = (ops + a->vector.lanes - 1) / a->vector.lanes;
  int64_t cyc = out->compute_cycles;
  double bw = dram->read_bw > 0 ? dram->read_bw : dram->shared_bw;
  if (bw > 0) {
    int64_t mc = (int64_t)((double)dram_words / bw + 0.999999);
    if (mc > cyc) cyc = mc;
  }
  out->cycles = cyc;
  return true;
}

int vec_totals(const Arch *a, const Module *m, int64_t *cycles, double *energy_pj) {
  int64_t cyc = 0;
  double e = 0;
  int costed = 0;
  for (uint32_t i = 0; i < m->nnests; i++) {
    VecCost v;
    if (!vec_cost(a, m, &m->nests[i], &v)) continue;
    cyc += v.cycles, e += v.energy_pj;
    costed++;
  }
  *cycles = cyc;
  *energy_pj = e;
  return costed;
}
