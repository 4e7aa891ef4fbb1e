/*
 * arch_tech.c: an architecture's figures from the technology model
 * (arch_apply_tech), NAAS's assumptions as a mode (arch_assume), and the
 * area and peak power of a design (arch_area_um2, arch_peak_power_mw).
 * docs/technology.md, "In architecture files", describes the rules.
 *
 * How it works:
 *   1. A level's energies, leakage and area that the file leaves out
 *      (Level.derived) are the model's (tech.c) for one array of the level's
 *      capacity: depth capacity_words / block_words, width word_bits x
 *      block_words, its banks and ports; a level split per tensor
 *      (tensor_capacity_words) is one array per tensor: energies of the
 *      largest, leakage and area summed.  LEVEL_MEM_AUTO takes a register
 *      file up to 1 KB per instance and SRAM above (the boundary of the
 *      relative scheme's RF class, backend/presets/README.md).
 *   2. DRAM: the model's energy per bit of the level's dram_type, times the
 *      block's bits.
 *   3. The MAC: the model's MAC for the operand width max(W, I) bits of
 *      Arch.tensor_bits (1 bit: XNOR-popcount), accumulating in the partial
 *      sums' width (Arch.psum_bits) when given, else in O's width when that
 *      differs from the operands'; a float format (Arch.number) is the
 *      model's fp16, bf16 or fp32 MAC (psum_bits 32: an fp32 accumulator).
 *   4. A network hop (levels that fan out): a repeated wire of the width of
 *      the level's word, as long as one child is wide (the square root of
 *      the area of everything below one child: its storage and MACs), so
 *      areas are computed first, innermost level first.
 *   5. --assume naas (arch_assume): every energy in the relative scheme of
 *      Chen, Emer, Sze, ISCA 2016, Table IV (MAC 1, RF 1, buffer 6, array hop
 *      2 on the outermost on-chip level that fans out), DRAM energy 0 and
 *      DRAM bandwidth unlimited: NAAS's evaluation with MAESTRO counts
 *      on-chip energy only and does not limit off-chip bandwidth.  Area is
 *      left as it is (the model's, or the file's).
 *
 * Invariants: figures the file gives are never changed by arch_apply_tech
 * (explicit numbers win: every Timeloop validation case, which gives all of
 * them, is costed exactly as before); arch_apply_tech and arch_assume are
 * idempotent and may be called again after a level is resized (the search
 * does).  No allocation, no state.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"

#define AUTO_REGFILE_BITS 8192 /* 1 KB: the RF class bound (backend/presets/README.md) */

/* Chen, Emer, Sze, "Eyeriss: A Spatial Architecture for Energy-Efficient
 * Dataflow for CNNs", ISCA 2016, Table IV: energy relative to a 16-bit MAC
 * (65 nm).  The same figures as the search's and presets' relative scheme. */
#define REL_MAC 1.0 /* ALU */
#define REL_RF 1.0  /* RF (0.5 kB) */
#define REL_BUF 6.0 /* global buffer (> 100 kB) */
#define REL_HOP 2.0 /* array, inter-PE (1-2 mm) */

static int64_t level_words(const Level *L) {
  int64_t w = L->capacity_words;
  if (w <= 0)
    for (int t = 0; t < NTENSORS; t++) w += L->tensor_capacity_words[t];
  return w;
}

static bool is_regfile(const Level *L, int64_t words) {
  if (L->memory == LEVEL_MEM_SRAM) return false;
  if (L->memory == LEVEL_MEM_REGFILE) return true;
  return words * (int64_t)L->word_bits <= AUTO_REGFILE_BITS;
}

/* One array of `words` words of level L into *c. */
static Rc array_cost(const Arch *a, const Level *L, int64_t words, TechCost *c, Diag *d,
                     const char *where) {
  TechComponent k;
  tech_init(&k, is_regfile(L, words) ? TECH_REGFILE : TECH_SRAM);
  k.node_nm = a->tech_nm;
  int64_t block = L->block_words > 0 ? L->block_words : 1;
  k.depth = (words + block - 1) / block;
  k.width = (int)(L->word_bits * block);
  k.banks = L->banks > 0 ? L->banks : 1;
  k.ports = L->ports > 0 ? L->ports : 1;
  if (a->clock_mhz > 0) k.cycle_ns = 1000.0 / a->clock_mhz;
  if (L->word_bits < 1) {
    diag_error(d, where, "word_bits %d: a width of 0 cannot be costed", L->word_bits);
    return RC_BADINPUT;
  }
  return tech_eval(&k, c, d, where);
}

/* Steps 1 and 2 for level l. */
static Rc level_storage(Arch *a, int l, Diag *d) {
  Level *L = &a->level[l];
  char where[2 * ACCEL_NAME_MAX + 16]; /* "ARCH: level 'LEVEL'" */
  snprintf(where, sizeof where, "%s: level '%s'", a->name, L->name);
  if (L->is_dram) {
    if (L->derived & LEVEL_TECH_ENERGY) {
      double bits = (double)L->word_bits * (double)(L->block_words > 0 ? L->block_words : 1);
      double e = tech_dram_pj_per_bit((TechDram)L->dram_type) * bits;
      L->e_read_pj = L->e_fill_pj = L->e_update_pj = e;
    }
    if (L->derived & LEVEL_TECH_LEAK) L->leak_pj_per_cycle = 0;
    if (L->derived & LEVEL_TECH_AREA) L->area_um2_per_word = L->area_um2_fixed = 0;
    return RC_OK;
  }
  if (!(L->derived & (LEVEL_TECH_ENERGY | LEVEL_TECH_LEAK | LEVEL_TECH_AREA))) return RC_OK;
  if (level_words(L) <= 0) {
    diag_error(d, where,
               "has no capacity_words for the technology model to cost: give its capacity, or "
               "its energy_pj, leak_pj_per_cycle and area");
    return RC_BADINPUT;
  }
  bool split = false;
  for (int t = 0; t < NTENSORS; t++) split |= L->tensor_capacity_words[t] > 0;
  TechCost best = {0}, c;
  double leak = 0, area = 0;
  for (int t = 0; t < (split ? NTENSORS : 1); t++) {
    int64_t w = split ? L->tensor_capacity_words[t] : level_words(L);
    if (w <= 0) continue;
    Rc rc = array_cost(a, L, w, &c, d, where);
    if (rc != RC_OK) return rc;
    if (c.read_pj > best.read_pj) best = c;
    leak += c.leak_pj_per_cycle;
    area += c.area_um2;
  }
  if (L->derived & LEVEL_TECH_ENERGY) {
    L->e_read_pj = best.read_pj;
    L->e_fill_pj = best.write_pj;
    L->e_update_pj = best.update_pj;
  }
  if (L->derived & LEVEL_TECH_LEAK) L->leak_pj_per_cycle = leak;
  if (L->derived & LEVEL_TECH_AREA) {
    L->area_um2_per_word = 0;
    L->area_um2_fixed = area;
  }
  return RC_OK;
}

double arch_area_um2(const Arch *a) {
  double area = (double)a->mac_instances * a->mac_area_um2;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    if (L->is_dram) continue;
    area += (double)L->instances *
            ((double)L->capacity_words * L->area_um2_per_word + L->area_um2_fixed);
  }
  return area;
}

/* Step 4: the area below one child of level l (um^2). */
static double child_area(const Arch *a, int l) {
  const Level *L = &a->level[l];
  double children = (double)L->instances * (double)(L->fanout[0] * L->fanout[1] * L->fanout[2]);
  double area = (double)a->mac_instances * a->mac_area_um2;
  for (int k = l + 1; k < a->nlevels; k++) {
    const Level *K = &a->level[k];
    area += (double)K->instances *
            ((double)K->capacity_words * K->area_um2_per_word + K->area_um2_fixed);
  }
  return area / children;
}

Rc arch_apply_tech(Arch *a, Diag *d) {
  if (a->tech_nm <= 0) return RC_OK;
  char where[2 * ACCEL_NAME_MAX + 16]; /* also "ARCH: level 'LEVEL'" below */
  snprintf(where, sizeof where, "%s: mac", a->name);
  if (a->mac_derived) {
    TechComponent k;
    TechCost c;
    tech_init(&k, TECH_MAC);
    k.node_nm = a->tech_nm;
    int bits = arch_tensor_bits(a, TENSOR_W) > arch_tensor_bits(a, TENSOR_I)
                   ? arch_tensor_bits(a, TENSOR_W)
                   : arch_tensor_bits(a, TENSOR_I);
    if (a->number != TECH_INT) {
      k.number = (TechNumber)a->number;
      if (a->psum_bits == 32 && a->number != TECH_FP32) { /* fp16p32, bf16p32 */
        k.acc_given = true;
        k.acc = TECH_FP32;
      }
    } else if (bits <= 1) {
      k.number = TECH_BINARY;
    } else {
      k.bits = bits;
      if (a->psum_bits > 0) {
        k.acc_given = true;
        k.acc = TECH_INT;
        k.acc_bits = a->psum_bits;
      } else if (arch_tensor_bits(a, TENSOR_O) != bits) {
        k.acc_given = true;
        k.acc = TECH_INT;
        k.acc_bits = arch_tensor_bits(a, TENSOR_O);
      }
    }
    if (a->clock_mhz > 0) k.cycle_ns = 1000.0 / a->clock_mhz;
    Rc rc = tech_eval(&k, &c, d, where);
    if (rc != RC_OK) return rc;
    if (a->mac_derived & LEVEL_TECH_ENERGY) a->mac_energy_pj = c.energy_pj;
    if (a->mac_derived & LEVEL_TECH_AREA) a->mac_area_um2 = c.area_um2;
  }
  for (int l = a->nlevels - 1; l >= 0; l--) {
    Rc rc = level_storage(a, l, d);
    if (rc != RC_OK) return rc;
  }
  for (int l = 0; l < a->nlevels; l++) {
    Level *L = &a->level[l];
    if (!(L->derived & LEVEL_TECH_NOC)) continue;
    L->noc_pj_per_hop = 0;
    if (L->fanout[0] * L->fanout[1] * L->fanout[2] <= 1) continue;
    TechComponent k;
    TechCost c;
    tech_init(&k, TECH_NOC);
    k.node_nm = a->tech_nm;
    k.width = L->word_bits;
    k.length_mm = sqrt(child_area(a, l)) * 1e-3;
    if (!(k.length_mm > 0)) continue; /* nothing below with an area: no wire to cost */
    snprintf(where, sizeof where, "%s: level '%s'", a->name, L->name);
    Rc rc = tech_eval(&k, &c, d, where);
    if (rc != RC_OK) return rc;
    L->noc_pj_per_hop = c.energy_pj;
  }
  return RC_OK;
}

void arch_assume(Arch *a, ArchAssume mode) {
  a->assume = (uint8_t)mode;
  if (mode != ARCH_ASSUME_NAAS) return;
  bool hop_done = false;
  a->mac_derived &= (uint8_t)~LEVEL_TECH_ENERGY; /* the energies are now given */
  for (int l = 0; l < a->nlevels; l++) {
    Level *L = &a->level[l];
    L->derived &= (uint8_t) ~(LEVEL_TECH_ENERGY | LEVEL_TECH_LEAK | LEVEL_TECH_NOC);
    L->leak_pj_per_cycle = 0;
    L->noc_pj_per_hop = 0;
    if (L->is_dram) {
      L->e_read_pj = L->e_fill_pj = L->e_update_pj = 0;
      L->read_bw = L->write_bw = L->shared_bw = 0;
      continue;
    }
    int64_t per_instance = level_words(L);
    double e = (per_instance * (int64_t)L->word_bits <= AUTO_REGFILE_BITS ? REL_RF : REL_BUF) *
               (double)(L->block_words > 0 ? L->block_words : 1);
    L->e_read_pj = L->e_fill_pj = L->e_update_pj = e;
    if (!hop_done && L->fanout[0] * L->fanout[1] * L->fanout[2] > 1) {
      L->noc_pj_per_hop = REL_HOP;
      hop_done = true;
    }
  }
  a->mac_energy_pj = REL_MAC;
}

const char *arch_assume_name(int mode) { return mode == ARCH_ASSUME_NAAS ? "naas" : "physical"; }

bool arch_assume_parse(const char *s, ArchAssume *out) {
  if (s && strcmp(s, "physical") == 0) return *out = ARCH_PHYSICAL, true;
  if (s && strcmp(s, "naas") == 0) return *out = ARCH_ASSUME_NAAS, true;
  return false;
}

/* Every MAC busy and every on-chip port moving a word each cycle: the MACs,
 * each level's accesses at its bandwidth limit (its ports when unlimited),
 * leakage, and DRAM at its bandwidth (docs/technology.md). */
double arch_level_peak_pj(const Arch *a, int l) {
  const Level *L = &a->level[l];
  double e = fmax(L->e_read_pj, fmax(L->e_fill_pj, L->e_update_pj));
  double bw = L->shared_bw > 0
                  ? L->shared_bw
                  : (L->read_bw > 0 ? L->read_bw : 0) + (L->write_bw > 0 ? L->write_bw : 0);
  if (bw <= 0) bw = L->is_dram ? 0 : (double)(L->ports > 0 ? L->ports : 1);
  double blocks = bw / (double)(L->block_words > 0 ? L->block_words : 1);
  return (double)L->instances * (blocks * e + L->leak_pj_per_cycle);
}

double arch_peak_power_mw(const Arch *a) {
  if (!(a->clock_mhz > 0)) return 0;
  double pj = (double)a->mac_instances * a->mac_energy_pj; /* per cycle */
  for (int l = 0; l < a->nlevels; l++) pj += arch_level_peak_pj(a, l);
  return pj * a->clock_mhz * 1e-3; /* pJ/cycle x MHz = uW; mW */
}
