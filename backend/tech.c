/*
 * tech.c: the technology model: energy per action and area of the parts an
 * accelerator is built of (SRAM buffers, register files, MACs by precision,
 * on-chip wires, DRAM), from a component's attributes and the technology
 * node.  docs/technology.md describes the model and measures it against
 * every published point it uses.
 *
 * How it works:
 *   1. SRAM: CACTI 7's figures for single-bank single-port scratch RAMs on a
 *      grid of depth 2^6..2^17 words x width 2^3..2^10 bits at 22, 32, 45, 65
 *      and 90 nm (data/tech/cacti_sram.csv, compiled in as tech_cacti.inc).
 *      Within a node, read/write energy, leakage and area are interpolated
 *      bilinearly in (log2 depth, log2 width) on a log scale; outside the
 *      grid the edge cell's slopes extrapolate (flagged).  Banks and extra
 *      ports multiply the single-bank figures by the ratio CACTI itself
 *      gives for them at that node, interpolated the same way between the
 *      banked and multi-ported points of the same file (and held constant
 *      beyond them).
 *   2. Register files: flip-flop arrays.  Per bit, the Aladdin register
 *      (Shao et al., ISCA 2014; 40 nm) for read/write energy, leakage and
 *      area; a read goes through a depth:1 multiplexer tree, costing mu
 *      times a flip-flop's read energy per tree level, with mu fitted so a
 *      0.5 kB, 16-bit register file read costs one 16-bit MAC at 65 nm, as
 *      in Eyeriss's table (Chen et al., ISCA 2016, Table IV).
 *   3. MACs: a multiplier plus an accumulator adder.  Integer units follow
 *      a power law in the bit width through Horowitz's 8- and 32-bit
 *      figures (ISSCC 2014, 45 nm, 0.9 V); floating-point units a power law
 *      in the significand width through his fp16 and fp32 figures (bf16
 *      from that law); a binary MAC is an XNOR and a popcount full adder.
 *   4. Node scaling: CACTI's own nodes for SRAM, interpolated (log-log)
 *      between them; everything else, and SRAM below 22 or above 90 nm,
 *      moves from its anchor node by Stillmaker and Baas's scaling
 *      (Integration 2017): their energy polynomial per node evaluated at
 *      TECH_VDD for energy and leakage, their area factors for area.  The
 *      model covers 7-130 nm.
 *   5. Wires (a NoC hop): a repeated wire of the given length,
 *      activity * C(node) * V^2 * (1 + repeaters) per bit and mm, with C per
 *      mm from Ho et al. (JSSC 2008) and the repeater overhead of a
 *      minimum-delay repeated wire (Banerjee and Mehrotra, TED 2002).
 *   6. DRAM: a published energy per bit by type times the access width.
 *
 * Invariants: no allocation and no state (every table is const), so any
 * number of threads may call tech_eval at once; every figure is in pJ per
 * action, pJ per cycle (leakage), um^2; a result is finite and >= 0.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/backend.h"

/* ---- data ------------------------------------------------------------------ */

/* One CACTI run (data/tech/cacti_sram.csv): read/write pJ per access, standby
 * leakage of all banks (mW), area (um^2). */
typedef struct {
  double node_nm, depth, width, banks, ports;
  double read_pj, write_pj, leak_mw, area_um2;
} CactiPoint;

#include "gen/backend/tech_cacti.inc" /* static const CactiPoint cacti_sram[] (build tree) */

#define NCACTI ((int)(sizeof cacti_sram / sizeof cacti_sram[0]))

/* CACTI's technology files, and the grid of data/tech/cacti_sram.csv. */
static const double cacti_nodes[] = {22, 32, 45, 65, 90};
#define NCACTI_NODES 5
#define GRID_LOG2_DEPTH_MIN 6
#define GRID_LOG2_DEPTH_MAX 17
#define GRID_LOG2_WIDTH_MIN 3
#define GRID_LOG2_WIDTH_MAX 10

/* Stillmaker and Baas, "Scaling equations for the accurate prediction of
 * CMOS device performance from 180 nm to 7 nm", Integration 58 (2017):
 * energy per operation at supply V is a*V^2 + b*V + c (normalised; Table 5,
 * general-purpose devices), and area relative to 45 nm (their area
 * scaling table), for the nodes below.  Transcribed as in Accelergy's
 * library plug-in (accelergy-library-plug-in scaling.py, ENERGY_SCALING and
 * the 45 nm row of AREA_SCALING). */
static const struct {
  double node_nm, a, b, c, area_vs_45;
} sb_nodes[] = {
    {130, 7.171, -6.709, 2.904, 6.4},     {90, 4.762, -4.781, 2.092, 2.8},
    {65, 3.755, -4.398, 1.975, 1.5},      {45, 1.103, -0.362, 0.2767, 1.0},
    {32, 0.9559, -0.7823, 0.471, 0.46},   {20, 0.373, -0.1582, 0.04104, 0.21},
    {16, 0.2958, -0.1241, 0.03024, 0.19}, {14, 0.2363, -0.09675, 0.02239, 0.17},
    {10, 0.2068, -0.09311, 0.02375, 0.1}, {7, 0.1776, -0.09097, 0.02447, 0.059},
};
#define NSB ((int)(sizeof sb_nodes / sizeof sb_nodes[0]))

/* The supply at which nodes are compared (V): one voltage for all nodes, as
 * Accelergy's library does (its default, 0.8 V). */
#define TECH_VDD 0.8

/* Horowitz, "Computing's energy problem (and what we can do about it)",
 * ISSCC 2014, 45 nm, 0.9 V: energy (pJ) and area (um^2) per operation. */
#define HZ_NODE 45.0
#define HZ_ADD8_PJ 0.03
#define HZ_ADD32_PJ 0.1
#define HZ_MUL8_PJ 0.2
#define HZ_MUL32_PJ 3.1
#define HZ_FADD16_PJ 0.4
#define HZ_FADD32_PJ 0.9
#define HZ_FMUL16_PJ 1.1
#define HZ_FMUL32_PJ 3.7
#define HZ_ADD8_UM2 36.0
#define HZ_ADD32_UM2 137.0
#define HZ_MUL8_UM2 282.0
#define HZ_MUL32_UM2 3495.0
#define HZ_FADD16_UM2 1360.0
#define HZ_FADD32_UM2 4184.0
#define HZ_FMUL16_UM2 1640.0
#define HZ_FMUL32_UM2 7700.0

/* Aladdin's 40 nm characterisation (Shao, Reagen, Wei, Brooks, ISCA 2014;
 * accelergy-aladdin-plug-in data/reg.csv, adder.csv, multiplier.csv, the
 * 1 ns rows): a 1-bit register's access energy, leakage power and area; the
 * 32-bit adder's and 32x32 multiplier's leakage (mW) and area (um^2). */
#define AL_NODE 40.0
#define AL_REG_PJ 0.009
#define AL_REG_LEAK_MW 7e-5
#define AL_REG_UM2 5.98
#define AL_ADD32_LEAK_MW 0.0023
#define AL_ADD32_UM2 278.0
#define AL_MUL32_LEAK_MW 0.08
#define AL_MUL32_UM2 6350.0

/* Chen, Emer, Sze, "Eyeriss: a spatial architecture for energy-efficient
 * dataflow for CNNs", ISCA 2016, Table IV (65 nm, 16-bit): a 0.5 kB
 * register file access costs 1x a MAC. */
#define EY_NODE 65.0
#define EY_RF_VS_MAC 1.0
#define EY_RF_WORDS 256
#define EY_BITS 16

/* Wire capacitance per mm (pF/mm) by node: Ho et al., "High speed and low
 * energy capacitively driven on-chip wires", IEEE JSSC 43(1), 2008 (ITRS
 * projections), as tabulated in accelergy-wire-plugin.  Repeaters of a
 * minimum-delay repeated wire add 1.07x the wire's capacitance (Banerjee and
 * Mehrotra, IEEE TED 49(11), 2002, A = 1.07).  Random data toggles a wire
 * with probability 1/2 and a toggle dissipates C V^2 / 2: activity 1/4.
 * The wire swings the full supply, Horowitz's 0.9 V. */
static const struct {
  double node_nm, pf_per_mm;
} wire_cap[] = {{180, 0.440}, {130, 0.430}, {100, 0.403}, {70, 0.367}, {50, 0.345},
                {35, 0.315},  {25, 0.288},  {18, 0.266},  {13, 0.247}};
#define NWIRE ((int)(sizeof wire_cap / sizeof wire_cap[0]))
#define WIRE_REPEATER 1.07
#define WIRE_ACTIVITY 0.25
#define WIRE_VDD 0.9

/* DRAM energy per bit read or written (pJ/bit). */
static const struct {
  const char *name;
  double pj_per_bit;
} dram_types[TECH_NDRAM] = {
    /* Accelergy CACTI plug-in, CactiDRAM type2energy (the figure behind the
     * reference ERTs of timeloop-accelergy-exercises: 512 pJ per 64 bits). */
    [TECH_LPDDR4] = {"LPDDR4", 8.0},
    /* Horowitz ISSCC 2014: commodity DRAM 1.3-2.6 nJ per 64-bit access at
     * 1.5 V (DDR3); the midpoint, 30.5 pJ/bit, scaled by (1.2 V / 1.5 V)^2
     * to DDR4's JEDEC supply: derived, not a DDR4 measurement. */
    [TECH_DDR4] = {"DDR4", 30.46875 * 0.64},
    /* O'Connor et al., "Fine-grained DRAM", MICRO 2017, via the same
     * Accelergy table (HBM2 3.9, GDDR5 14 pJ/bit). */
    [TECH_HBM2] = {"HBM2", 3.9},
    [TECH_GDDR5] = {"GDDR5", 14.0},
};

/* Node range of the model (Stillmaker and Baas's table). */
#define NODE_MIN TECH_NODE_MIN_NM
#define NODE_MAX TECH_NODE_MAX_NM
/* Limits of the inputs (beyond the grid the answer is extrapolated). */
#define DEPTH_MAX (1LL << 24)
#define WIDTH_MAX 4096
#define BITS_MAX 30.0 /* log2 of the largest SRAM, in bits */
#define BANKS_MAX 32
#define PORTS_MAX 4
#define MAC_BITS_MAX 64

/* ---- node scaling ---------------------------------------------------------- */

/* Interpolates y(x) given at xs[] (decreasing) linearly in log x, log y. */
static double loglog_interp(const double *xs, const double *ys, int n, double x) {
  int i = 0;
  while (i < n - 2 && x < xs[i + 1]) i++;
  double t = log(x / xs[i]) / log(xs[i + 1] / xs[i]);
  return exp((1 - t) * log(ys[i]) + t * log(ys[i + 1]));
}

/* Stillmaker-Baas energy factor (at TECH_VDD) and area factor of a node. */
static double sb_energy(double node) {
  double xs[NSB], ys[NSB];
  for (int i = 0; i < NSB; i++) {
    xs[i] = sb_nodes[i].node_nm;
    ys[i] = sb_nodes[i].a * TECH_VDD * TECH_VDD + sb_nodes[i].b * TECH_VDD + sb_nodes[i].c;
  }
  return loglog_interp(xs, ys, NSB, node);
}

static double sb_area(double node) {
  double xs[NSB], ys[NSB];
  for (int i = 0; i < NSB; i++) {
    xs[i] = sb_nodes[i].node_nm;
    ys[i] = sb_nodes[i].area_vs_45;
  }
  return loglog_interp(xs, ys, NSB, node);
}

/* A part characterised at node `from`, moved to node `to`. */
typedef struct {
  double energy, area;
} NodeScale;

static NodeScale node_scale(double from, double to) {
  NodeScale s = {sb_energy(to) / sb_energy(from), sb_area(to) / sb_area(from)};
  return s;
}

/* ---- SRAM (CACTI grid) ----------------------------------------------------- */

typedef struct {
  double read, write, leak_mw, area;
} SramFig;

static const CactiPoint *cacti_find(double node, double depth, double width, int banks, int ports) {
  for (int i = 0; i < NCACTI; i++) {
    const CactiPoint *p = &cacti_sram[i];
    if (p->node_nm == node && p->depth == depth && p->width == width && p->banks == banks &&
        p->ports == ports)
      return p;
  }
  return NULL;
}

static double lerp_log(double a, double b, double t) { return exp((1 - t) * log(a) + t * log(b)); }

/* One bank, one port, at CACTI node `node`: log-bilinear in log2 depth and
 * log2 width.  *extrap is set when the point lies outside the grid. */
static bool sram_grid(double node, double depth, double width, SramFig *f, bool *extrap) {
  double ld = log2(depth), lw = log2(width);
  int i0 = (int)floor(ld), j0 = (int)floor(lw);
  if (i0 < GRID_LOG2_DEPTH_MIN) i0 = GRID_LOG2_DEPTH_MIN;
  if (i0 > GRID_LOG2_DEPTH_MAX - 1) i0 = GRID_LOG2_DEPTH_MAX - 1;
  if (j0 < GRID_LOG2_WIDTH_MIN) j0 = GRID_LOG2_WIDTH_MIN;
  if (j0 > GRID_LOG2_WIDTH_MAX - 1) j0 = GRID_LOG2_WIDTH_MAX - 1;
  double t = ld - i0, u = lw - j0;
  if (t < -1e-9 || t > 1 + 1e-9 || u < -1e-9 || u > 1 + 1e-9) *extrap = true;
  const CactiPoint *c[2][2];
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) {
      c[a][b] = cacti_find(node, ldexp(1, i0 + a), ldexp(1, j0 + b), 1, 1);
      if (!c[a][b]) return false;
    }
#define BILIN(field)                                                                \
  exp((1 - t) * (1 - u) * log(c[0][0]->field) + (1 - t) * u * log(c[0][1]->field) + \
      t * (1 - u) * log(c[1][0]->field) + t * u * log(c[1][1]->field))
  f->read = BILIN(read_pj);
  f->write = BILIN(write_pj);
  f->leak_mw = BILIN(leak_mw);
  f->area = BILIN(area_um2);
#undef BILIN
  return true;
}

/* Sorted distinct values of the depth (axis 0) or width (axis 1) of the
 * file's points of that node, banks and ports: at most n of them. */
static int cacti_axis(double node, int banks, int ports, int axis, double *v, int n) {
  int cnt = 0;
  for (int i = 0; i < NCACTI; i++) {
    const CactiPoint *p = &cacti_sram[i];
    if (p->node_nm != node || p->banks != banks || p->ports != ports) continue;
    double x = axis ? p->width : p->depth;
    int j = 0;
    while (j < cnt && v[j] < x) j++;
    if (j < cnt && v[j] == x) continue;
    if (cnt == n) continue;
    memmove(v + j + 1, v + j, (size_t)(cnt - j) * sizeof *v);
    v[j] = x;
    cnt++;
  }
  return cnt;
}

/* The cell of sorted v[0..n) around x, with x's position t in it (log2),
 * clamped to [0, 1]: no extrapolation of a ratio. */
static void axis_cell(const double *v, int n, double x, int *i, double *t) {
  *i = 0;
  *t = 0;
  if (n < 2) return;
  while (*i < n - 2 && x > v[*i + 1]) ++*i;
  double u = log2(x / v[*i]) / log2(v[*i + 1] / v[*i]);
  *t = u < 0 ? 0 : u > 1 ? 1 : u;
}

/* CACTI's figures with k banks (or k ports) over the same array's with one,
 * for a depth x width array at CACTI node `node`: the ratios at the file's
 * banked (multi-ported) points, log-bilinear in log2 depth and log2 width
 * between them and held constant beyond them; k a power of two. */
static bool cacti_ratio_k(double node, int banks, int ports, double depth, double width,
                          SramFig *g) {
  double ds[8], ws[8];
  int nd = cacti_axis(node, banks, ports, 0, ds, 8), nw = cacti_axis(node, banks, ports, 1, ws, 8);
  if (!nd || !nw) return false;
  int i, j;
  double t, u;
  axis_cell(ds, nd, depth, &i, &t);
  axis_cell(ws, nw, width, &j, &u);
  double lr[4] = {0, 0, 0, 0};
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) {
      double wt = (a ? t : 1 - t) * (b ? u : 1 - u);
      if (wt == 0) continue;
      double d = ds[nd > 1 ? i + a : 0], w = ws[nw > 1 ? j + b : 0];
      const CactiPoint *p = cacti_find(node, d, w, banks, ports);
      const CactiPoint *q = cacti_find(node, d, w, 1, 1);
      if (!p || !q) return false;
      lr[0] += wt * log(p->read_pj / q->read_pj);
      lr[1] += wt * log(p->write_pj / q->write_pj);
      lr[2] += wt * log(p->leak_mw / q->leak_mw);
      lr[3] += wt * log(p->area_um2 / q->area_um2);
    }
  *g = (SramFig){exp(lr[0]), exp(lr[1]), exp(lr[2]), exp(lr[3])};
  return true;
}

/* The factor for `banks` banks (or `ports` ports) against one, any count in
 * range: log-interpolated in log2 of the count between powers of two. */
static bool cacti_factor(double node, int banks, int ports, double depth, double width,
                         SramFig *g) {
  bool by_banks = banks > 1;
  int n = by_banks ? banks : ports, max = by_banks ? BANKS_MAX : PORTS_MAX;
  int k0 = 1;
  while (k0 * 2 <= n && k0 * 2 < max) k0 *= 2;
  SramFig gk[2];
  for (int j = 0; j < 2; j++) {
    int k = k0 << j;
    if (k == 1)
      gk[j] = (SramFig){1, 1, 1, 1};
    else if (!cacti_ratio_k(node, by_banks ? k : 1, by_banks ? 1 : k, depth, width, &gk[j]))
      return false;
  }
  double t = log2((double)n / k0);
  g->read = lerp_log(gk[0].read, gk[1].read, t);
  g->write = lerp_log(gk[0].write, gk[1].write, t);
  g->leak_mw = lerp_log(gk[0].leak_mw, gk[1].leak_mw, t);
  g->area = lerp_log(gk[0].area, gk[1].area, t);
  return true;
}

/* The SRAM at one of CACTI's nodes. */
static bool sram_at_cacti_node(double node, const TechComponent *c, SramFig *f, bool *extrap) {
  if (!sram_grid(node, (double)c->depth, c->width, f, extrap)) return false;
  SramFig g;
  if (c->banks > 1) {
    if (!cacti_factor(node, c->banks, 1, (double)c->depth, c->width, &g)) return false;
    f->read *= g.read, f->write *= g.write, f->leak_mw *= g.leak_mw, f->area *= g.area;
  }
  if (c->ports > 1) {
    if (!cacti_factor(node, 1, c->ports, (double)c->depth, c->width, &g)) return false;
    f->read *= g.read, f->write *= g.write, f->leak_mw *= g.leak_mw, f->area *= g.area;
  }
  return true;
}

static bool sram_eval(const TechComponent *c, TechCost *out, bool *extrap) {
  double node = c->node_nm;
  SramFig f;
  int hi = 0;
  while (hi < NCACTI_NODES - 1 && cacti_nodes[hi] < node) hi++;
  if (node <= cacti_nodes[0] || node >= cacti_nodes[NCACTI_NODES - 1]) {
    /* below 22 or above 90 nm: the nearest CACTI node, then Stillmaker-Baas */
    double from = node <= cacti_nodes[0] ? cacti_nodes[0] : cacti_nodes[NCACTI_NODES - 1];
    if (!sram_at_cacti_node(from, c, &f, extrap)) return false;
    NodeScale s = node_scale(from, node);
    f.read *= s.energy, f.write *= s.energy, f.leak_mw *= s.energy, f.area *= s.area;
  } else if (cacti_nodes[hi] == node) {
    if (!sram_at_cacti_node(node, c, &f, extrap)) return false;
  } else {
    /* between two CACTI nodes: log-log in the node */
    SramFig a, b;
    double n0 = cacti_nodes[hi - 1], n1 = cacti_nodes[hi];
    if (!sram_at_cacti_node(n0, c, &a, extrap) || !sram_at_cacti_node(n1, c, &b, extrap))
      return false;
    double t = log(node / n0) / log(n1 / n0);
    f.read = lerp_log(a.read, b.read, t);
    f.write = lerp_log(a.write, b.write, t);
    f.leak_mw = lerp_log(a.leak_mw, b.leak_mw, t);
    f.area = lerp_log(a.area, b.area, t);
  }
  out->read_pj = f.read;
  out->write_pj = f.write;
  out->update_pj = f.write;
  out->leak_pj_per_cycle = f.leak_mw * c->cycle_ns; /* mW x ns = pJ */
  out->area_um2 = f.area;
  return true;
}

/* ---- arithmetic ------------------------------------------------------------ */

/* y through (x0, y0) and (x1, y1) as a power law, at x. */
static double power_law(double x0, double y0, double x1, double y1, double x) {
  return y0 * pow(x / x0, log(y1 / y0) / log(x1 / x0));
}

/* Significand bits (with the hidden bit) of a floating-point format. */
static int significand_bits(TechNumber t) {
  switch (t) {
  case TECH_FP16: return 11;
  case TECH_BF16: return 8;
  case TECH_FP32: return 24;
  default: return 0;
  }
}

/* A multiplier or adder at Horowitz's node: energy (pJ) and area (um^2). */
static void unit45(TechOp op, TechNumber t, int bits, double *e, double *a) {
  if (t == TECH_INT) {
    if (op == TECH_OP_MUL) {
      *e = power_law(8, HZ_MUL8_PJ, 32, HZ_MUL32_PJ, bits);
      *a = power_law(8, HZ_MUL8_UM2, 32, HZ_MUL32_UM2, bits);
    } else {
      *e = power_law(8, HZ_ADD8_PJ, 32, HZ_ADD32_PJ, bits);
      *a = power_law(8, HZ_ADD8_UM2, 32, HZ_ADD32_UM2, bits);
    }
  } else {
    double m = significand_bits(t);
    if (op == TECH_OP_MUL) {
      *e = power_law(11, HZ_FMUL16_PJ, 24, HZ_FMUL32_PJ, m);
      *a = power_law(11, HZ_FMUL16_UM2, 24, HZ_FMUL32_UM2, m);
    } else {
      *e = power_law(11, HZ_FADD16_PJ, 24, HZ_FADD32_PJ, m);
      *a = power_law(11, HZ_FADD16_UM2, 24, HZ_FADD32_UM2, m);
    }
  }
}

/* Leakage power (mW) of logic of area a45 um^2 at 45 nm: Aladdin's leakage
 * per area of its 32-bit adder and multiplier at 40 nm, moved to 45 nm. */
static double logic_leak45(double a45) {
  NodeScale s = node_scale(AL_NODE, HZ_NODE);
  double density40 = (AL_ADD32_LEAK_MW + AL_MUL32_LEAK_MW) / (AL_ADD32_UM2 + AL_MUL32_UM2);
  return density40 * (a45 / s.area) * s.energy;
}

/* The MAC (or its multiplier or adder alone) at 45 nm. */
static void mac45(const TechComponent *c, double *e, double *a) {
  if (c->number == TECH_BINARY) {
    /* XNOR + one popcount full-adder bit; a full adder is Horowitz's 8-bit
     * adder / 8, an XNOR half a full adder (one of its two XORs). */
    double fa_e = HZ_ADD8_PJ / 8, fa_a = HZ_ADD8_UM2 / 8;
    double k = c->op == TECH_OP_MUL ? 0.5 : c->op == TECH_OP_ADD ? 1.0 : 1.5;
    *e = k * fa_e;
    *a = k * fa_a;
    return;
  }
  double em = 0, am = 0, ea = 0, aa = 0;
  if (c->op != TECH_OP_ADD) unit45(TECH_OP_MUL, c->number, c->bits, &em, &am);
  if (c->op == TECH_OP_ADD)
    unit45(TECH_OP_ADD, c->number, c->bits, &ea, &aa);
  else if (c->op == TECH_OP_MAC)
    unit45(TECH_OP_ADD, c->acc, c->acc_bits, &ea, &aa);
  *e = em + ea;
  *a = am + aa;
}

static void mac_eval(const TechComponent *c, TechCost *out) {
  double e, a;
  mac45(c, &e, &a);
  NodeScale s = node_scale(HZ_NODE, c->node_nm);
  out->energy_pj = e * s.energy;
  out->area_um2 = a * s.area;
  out->leak_pj_per_cycle = logic_leak45(a) * s.energy * c->cycle_ns;
}

/* ---- register files ---------------------------------------------------------- */

/* mu: a read-multiplexer level's energy per bit in flip-flop reads, from
 * Eyeriss's RF = 1 MAC (16-bit MAC with a 32-bit accumulator, 0.5 kB of
 * 16-bit words, at 65 nm). */
static double rf_mux_mu(void) {
  TechComponent m;
  tech_init(&m, TECH_MAC);
  m.node_nm = EY_NODE;
  m.bits = EY_BITS;
  m.acc_bits = 2 * EY_BITS; /* the product's width, as tech_eval's default */
  double e, a;
  mac45(&m, &e, &a);
  double mac65 = e * node_scale(HZ_NODE, EY_NODE).energy;
  double bit65 = AL_REG_PJ * node_scale(AL_NODE, EY_NODE).energy;
  return (EY_RF_VS_MAC * mac65 / (EY_BITS * bit65) - 1) / log2(EY_RF_WORDS);
}

static void regfile_eval(const TechComponent *c, TechCost *out) {
  NodeScale s = node_scale(AL_NODE, c->node_nm);
  double mu = rf_mux_mu();
  double banks = c->banks, words = ceil((double)c->depth / banks), w = c->width;
  double levels = words > 1 ? ceil(log2(words)) : 0;
  double ebit = AL_REG_PJ * s.energy;
  out->read_pj = w * ebit * (1 + mu * levels);
  out->write_pj = w * ebit;
  out->update_pj = out->write_pj;
  /* flip-flops, and one (words-1)-mux tree per bit per read port, a mux
   * cell taken at mu flip-flops of area */
  double cells = words * w + c->ports * w * (words - 1) * mu;
  out->area_um2 = banks * cells * AL_REG_UM2 * s.area;
  out->leak_pj_per_cycle = banks * cells * AL_REG_LEAK_MW * s.energy * c->cycle_ns;
}

/* ---- wires and DRAM -------------------------------------------------------- */

static double wire_pf_per_mm(double node, bool *extrap) {
  double xs[NWIRE], ys[NWIRE];
  for (int i = 0; i < NWIRE; i++) xs[i] = wire_cap[i].node_nm, ys[i] = wire_cap[i].pf_per_mm;
  if (node < xs[NWIRE - 1]) *extrap = true;
  return loglog_interp(xs, ys, NWIRE, node);
}

static void noc_eval(const TechComponent *c, TechCost *out, bool *extrap) {
  double pf = wire_pf_per_mm(c->node_nm, extrap);
  double pj_bit_mm = WIRE_ACTIVITY * pf * WIRE_VDD * WIRE_VDD * (1 + WIRE_REPEATER);
  out->energy_pj = pj_bit_mm * c->width * c->length_mm;
}

/* ---- the interface ---------------------------------------------------------- */

static const char *const kind_names[TECH_NKINDS] = {[TECH_SRAM] = "sram",
                                                    [TECH_REGFILE] = "regfile",
                                                    [TECH_MAC] = "mac",
                                                    [TECH_DRAM] = "dram",
                                                    [TECH_NOC] = "noc"};

const char *tech_kind_name(TechKind k) {
  return k > TECH_NONE && k < TECH_NKINDS ? kind_names[k] : "?";
}

TechKind tech_kind_find(const char *name) {
  for (int k = TECH_NONE + 1; k < TECH_NKINDS; k++)
    if (strcmp(name, kind_names[k]) == 0) return (TechKind)k;
  return TECH_NONE;
}

static const char *const number_names[] = {[TECH_INT] = "int",
                                           [TECH_BINARY] = "binary",
                                           [TECH_FP16] = "fp16",
                                           [TECH_BF16] = "bf16",
                                           [TECH_FP32] = "fp32"};

const char *tech_number_name(TechNumber t) {
  return t >= TECH_INT && t <= TECH_FP32 ? number_names[t] : "?";
}

const char *tech_dram_name(TechDram t) {
  return t >= 0 && t < TECH_NDRAM ? dram_types[t].name : "?";
}

double tech_dram_pj_per_bit(TechDram t) {
  return t >= 0 && t < TECH_NDRAM ? dram_types[t].pj_per_bit : 0;
}

void tech_init(TechComponent *c, TechKind kind) {
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->banks = 1;
  c->ports = 1;
  c->number = TECH_INT;
  c->acc = TECH_INT;
  c->op = TECH_OP_MAC;
  c->dram = TECH_LPDDR4;
  c->cycle_ns = 1.0;
}

/* The attributes each kind takes, as in tech_set (for messages). */
static const char *kind_attrs(TechKind k) {
  switch (k) {
  case TECH_SRAM:
  case TECH_REGFILE: return "depth, width, banks, ports, technology, cycle_ns";
  case TECH_MAC: return "type, bits, acc, op, technology, cycle_ns";
  case TECH_DRAM: return "type, width";
  case TECH_NOC: return "width, length_mm, technology";
  default: return "";
  }
}

/* Whole-string conversions; false if value is not a number. */
static bool parse_int(const char *v, long long *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end) return false;
  *out = x;
  return true;
}

static bool parse_double(const char *v, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || *end || !isfinite(x)) return false;
  *out = x;
  return true;
}

/* "int8", "fp16", ...: a number format with its width for integers. */
static bool parse_number(const char *v, TechNumber *t, int *bits) {
  for (int i = TECH_BINARY; i <= TECH_FP32; i++)
    if (strcmp(v, number_names[i]) == 0) {
      *t = (TechNumber)i;
      *bits = 0;
      return true;
    }
  long long b;
  if (strcmp(v, "int") == 0) {
    *t = TECH_INT;
    *bits = 0;
    return true;
  }
  if (strncmp(v, "int", 3) == 0 && parse_int(v + 3, &b) && b >= 2 && b <= MAC_BITS_MAX) {
    *t = TECH_INT;
    *bits = (int)b;
    return true;
  }
  return false;
}

Rc tech_set(TechComponent *c, const char *attr, const char *value, Diag *d, const char *where) {
  const char *kn = tech_kind_name(c->kind);
  bool storage = c->kind == TECH_SRAM || c->kind == TECH_REGFILE;
  long long n;
  double x;
  if (strcmp(attr, "technology") == 0 && c->kind != TECH_DRAM) {
    char buf[32];
    size_t len = strlen(value);
    if (len >= sizeof buf) len = sizeof buf - 1;
    memcpy(buf, value, len);
    buf[len] = 0;
    if (len > 2 && strcmp(buf + len - 2, "nm") == 0) buf[len - 2] = 0;
    if (!parse_double(buf, &x) || x <= 0) {
      diag_error(d, where, "technology=%s: expected a node in nm, e.g. technology=45nm", value);
      return RC_BADINPUT;
    }
    c->node_nm = x;
    return RC_OK;
  }
  if ((strcmp(attr, "depth") == 0 && storage) ||
      (strcmp(attr, "width") == 0 && c->kind != TECH_MAC) ||
      (strcmp(attr, "banks") == 0 && storage) || (strcmp(attr, "ports") == 0 && storage) ||
      (strcmp(attr, "bits") == 0 && c->kind == TECH_MAC)) {
    if (!parse_int(value, &n)) {
      diag_error(d, where, "%s=%s: expected a whole number", attr, value);
      return RC_BADINPUT;
    }
    if (n < 1) {
      diag_error(d, where, "%s=%s: must be at least 1", attr, value);
      return RC_BADINPUT;
    }
    if (n > DEPTH_MAX) n = DEPTH_MAX + 1; /* out of range; reported by tech_eval */
    if (attr[0] == 'd')
      c->depth = n;
    else if (attr[0] == 'w')
      c->width = (int)n;
    else if (attr[0] == 'b' && attr[1] == 'a')
      c->banks = (int)n;
    else if (attr[0] == 'p')
      c->ports = (int)n;
    else
      c->bits = (int)n;
    return RC_OK;
  }
  if ((strcmp(attr, "cycle_ns") == 0 && c->kind != TECH_DRAM && c->kind != TECH_NOC) ||
      (strcmp(attr, "length_mm") == 0 && c->kind == TECH_NOC)) {
    if (!parse_double(value, &x)) {
      diag_error(d, where, "%s=%s: expected a number", attr, value);
      return RC_BADINPUT;
    }
    if (x <= 0) {
      diag_error(d, where, "%s=%s: must be greater than 0", attr, value);
      return RC_BADINPUT;
    }
    if (attr[0] == 'c')
      c->cycle_ns = x;
    else
      c->length_mm = x;
    return RC_OK;
  }
  if (strcmp(attr, "type") == 0 && c->kind == TECH_DRAM) {
    for (int i = 0; i < TECH_NDRAM; i++)
      if (strcasecmp(value, dram_types[i].name) == 0) {
        c->dram = (TechDram)i;
        return RC_OK;
      }
    diag_error(d, where, "type=%s: unknown DRAM type (expected LPDDR4, DDR4, HBM2 or GDDR5)",
               value);
    return RC_BADINPUT;
  }
  if ((strcmp(attr, "type") == 0 || strcmp(attr, "acc") == 0) && c->kind == TECH_MAC) {
    TechNumber t;
    int bits;
    if (!parse_number(value, &t, &bits)) {
      diag_error(d, where, "%s=%s: expected int2..int64, binary, fp16, bf16 or fp32", attr, value);
      return RC_BADINPUT;
    }
    if (attr[0] == 't') {
      c->number = t;
      if (bits) c->bits = bits;
    } else {
      c->acc = t;
      c->acc_given = true;
      c->acc_bits = bits;
    }
    return RC_OK;
  }
  if (strcmp(attr, "op") == 0 && c->kind == TECH_MAC) {
    if (strcmp(value, "mac") == 0)
      c->op = TECH_OP_MAC;
    else if (strcmp(value, "mul") == 0)
      c->op = TECH_OP_MUL;
    else if (strcmp(value, "add") == 0)
      c->op = TECH_OP_ADD;
    else {
      diag_error(d, where, "op=%s: expected mac, mul or add", value);
      return RC_BADINPUT;
    }
    return RC_OK;
  }
  diag_error(d, where, "unknown attribute '%s' for %s (it takes %s)", attr, kn,
             kind_attrs(c->kind));
  return RC_BADINPUT;
}

/* Reports a component the model has no answer for. */
static Rc check(const TechComponent *c, Diag *d, const char *where) {
  const char *kn = tech_kind_name(c->kind);
  if (c->kind <= TECH_NONE || c->kind >= TECH_NKINDS) {
    diag_error(d, where, "unknown component kind (expected sram, regfile, mac, dram or noc)");
    return RC_BADINPUT;
  }
  if (c->kind != TECH_DRAM) {
    if (c->node_nm == 0) {
      diag_error(d, where, "%s needs technology=NODE, e.g. technology=45nm", kn);
      return RC_BADINPUT;
    }
    if (c->node_nm < NODE_MIN || c->node_nm > NODE_MAX) {
      diag_error(
          d, where,
          "technology=%gnm is outside the model's data (%g-%g nm: Stillmaker and Baas's scaling)",
          c->node_nm, NODE_MIN, NODE_MAX);
      return RC_BADINPUT;
    }
    if (!(c->cycle_ns > 0)) {
      diag_error(d, where, "cycle_ns=%g: must be greater than 0", c->cycle_ns);
      return RC_BADINPUT;
    }
  }
  if (c->kind == TECH_SRAM || c->kind == TECH_REGFILE) {
    if (c->depth < 1 || c->width < 1) {
      diag_error(d, where,
                 "%s needs depth=WORDS and width=BITS of at least 1 (depth=%lld, width=%d)", kn,
                 (long long)c->depth, c->width);
      return RC_BADINPUT;
    }
    if (c->depth > DEPTH_MAX || c->width > WIDTH_MAX ||
        log2((double)c->depth) + log2(c->width) > BITS_MAX + 1e-9) {
      diag_error(
          d, where,
          "%s of %lld words x %d bits is outside the model's data (at most %lld words, %d bits, "
          "2^%g bits in all)",
          kn, (long long)c->depth, c->width, (long long)DEPTH_MAX, WIDTH_MAX, BITS_MAX);
      return RC_BADINPUT;
    }
    if (c->banks < 1 || c->banks > BANKS_MAX || c->banks > c->depth) {
      diag_error(d, where, "banks=%d: the model covers 1-%d banks, at most one per word", c->banks,
                 BANKS_MAX);
      return RC_BADINPUT;
    }
    if (c->ports < 1 || c->ports > PORTS_MAX) {
      diag_error(d, where, "ports=%d: the model covers 1-%d read-write ports", c->ports, PORTS_MAX);
      return RC_BADINPUT;
    }
  }
  if (c->kind == TECH_MAC) {
    if (c->number == TECH_INT && (c->bits < 2 || c->bits > MAC_BITS_MAX)) {
      if (c->bits)
        diag_error(d, where, "bits=%d: an integer MAC covers 2-%d bits", c->bits, MAC_BITS_MAX);
      else
        diag_error(d, where,
                   "mac needs bits=N for an integer MAC, or type=binary, fp16, bf16 or fp32");
      return RC_BADINPUT;
    }
    if (c->number != TECH_INT && c->bits) {
      diag_error(d, where, "bits=%d: bits applies to integer MACs, not type=%s", c->bits,
                 tech_number_name(c->number));
      return RC_BADINPUT;
    }
    if (c->acc_given && (c->op != TECH_OP_MAC || c->number == TECH_BINARY)) {
      diag_error(d, where,
                 "acc=%s: only a multiply-accumulate (op=mac) of numbers has an accumulator",
                 tech_number_name(c->acc));
      return RC_BADINPUT;
    }
    if (c->acc_given && c->acc == TECH_BINARY) {
      diag_error(d, where, "acc=binary: an accumulator is an integer or a float");
      return RC_BADINPUT;
    }
    if (c->acc_given && (c->acc == TECH_INT) != (c->number == TECH_INT)) {
      char acc[16];
      if (c->acc == TECH_INT)
        snprintf(acc, sizeof acc, "int%d", c->acc_bits);
      else
        snprintf(acc, sizeof acc, "%s", tech_number_name(c->acc));
      diag_error(d, where, "acc=%s: a %s MAC accumulates in %s", acc, tech_number_name(c->number),
                 c->number == TECH_INT ? "an integer (acc=intN)"
                                       : "a float (acc=fp16, bf16 or fp32)");
      return RC_BADINPUT;
    }
    if (c->acc_given && c->acc == TECH_INT && c->acc_bits == 0) {
      diag_error(d, where, "acc=int: give the accumulator's width, e.g. acc=int32");
      return RC_BADINPUT;
    }
  }
  if (c->kind == TECH_DRAM || c->kind == TECH_NOC) {
    if (c->width < 1 || c->width > (1 << 20)) {
      diag_error(d, where, "%s needs width=BITS per access, 1-%d (width=%d)", kn, 1 << 20,
                 c->width);
      return RC_BADINPUT;
    }
    if (c->kind == TECH_DRAM && (c->dram < 0 || c->dram >= TECH_NDRAM)) {
      diag_error(d, where, "unknown DRAM type");
      return RC_BADINPUT;
    }
    if (c->kind == TECH_NOC && !(c->length_mm > 0)) {
      diag_error(d, where, "noc needs length_mm=MM, the wire length of a hop, greater than 0");
      return RC_BADINPUT;
    }
  }
  return RC_OK;
}

Rc tech_eval(const TechComponent *c, TechCost *out, Diag *d, const char *where) {
  memset(out, 0, sizeof *out);
  Rc rc = check(c, d, where);
  if (rc != RC_OK) return rc;
  bool extrap = false;
  switch (c->kind) {
  case TECH_SRAM:
    if (!sram_eval(c, out, &extrap)) {
      diag_error(d, where,
                 "internal: the CACTI table (data/tech/cacti_sram.csv) misses a grid point");
      return RC_INTERNAL;
    }
    break;
  case TECH_REGFILE: regfile_eval(c, out); break;
  case TECH_MAC: {
    TechComponent m = *c;
    if (!m.acc_given) { /* the product's width, or the operands' format */
      m.acc = m.number;
      m.acc_bits = m.number == TECH_INT ? 2 * m.bits : 0;
    }
    if ((m.number == TECH_INT && (m.bits < 8 || m.bits > 32)) ||
        (m.op == TECH_OP_MAC && m.acc == TECH_INT && (m.acc_bits < 8 || m.acc_bits > 32)))
      extrap = true; /* beyond Horowitz's 8- and 32-bit points */
    if (m.number == TECH_BF16 || m.acc == TECH_BF16) extrap = true;
    mac_eval(&m, out);
    break;
  }
  case TECH_DRAM:
    out->read_pj = out->write_pj = out->update_pj = dram_types[c->dram].pj_per_bit * c->width;
    break;
  case TECH_NOC: noc_eval(c, out, &extrap); break;
  default: break;
  }
  out->extrapolated = extrap;
  if (!(isfinite(out->read_pj) && isfinite(out->write_pj) && isfinite(out->energy_pj) &&
        isfinite(out->leak_pj_per_cycle) && isfinite(out->area_um2))) {
    diag_error(d, where, "internal: the model gave a non-finite figure");
    return RC_INTERNAL;
  }
  return RC_OK;
}
