/*
 * arch_print.c: writes an Arch in naasc's YAML architecture format
 * (docs/cost-model.md, "Input files"), the inverse of arch_load.
 *
 * Invariants: arch_load reads the output back into the same struct, so
 * print -> load -> print is byte-identical; a field equal to the value
 * arch_load would give it by default (including the instance counts and
 * meshes derived from the fan-outs above) is left out; numbers are written
 * in the shortest form that reads back to the same double.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

/* v as an integer when it is one, else the shortest %g form that strtod
 * reads back exactly. */
static void put_num(FILE *f, double v) {
  char buf[40];
  if (v == floor(v) && fabs(v) < 1e15) {
    fprintf(f, "%.0f", v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  fputs(buf, f);
}

/* A name as a plain YAML scalar when that is safe, else double-quoted. */
static void put_name(FILE *f, const char *s) {
  bool plain = s[0] != 0;
  for (const char *p = s; *p && plain; p++) {
    unsigned char c = (unsigned char)*p;
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    plain = alnum || c == '_' || (p != s && (c == '-' || c == '.'));
  }
  if (plain) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      fprintf(f, "\\x%02x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* Flow-mapping writer: "{a: 1, b: 2}" with the separators in between. */
typedef struct {
  FILE *f;
  int n;
} Flow;

static void flow_key(Flow *w, const char *key) {
  fprintf(w->f, "%s%s: ", w->n++ ? ", " : "{", key);
}

static void flow_int(Flow *w, const char *key, int64_t v) {
  flow_key(w, key);
  fprintf(w->f, "%" PRId64, v);
}

static void flow_num(Flow *w, const char *key, double v) {
  flow_key(w, key);
  put_num(w->f, v);
}

static void flow_end(Flow *w) {
  if (w->n) fputc('}', w->f);
}

/* Dimension letters in GNKCPQRS order ("" for none, which arch_load refuses). */
static void put_dims(FILE *f, uint8_t mask) {
  if (!mask) fputs("\"\"", f);
  for (int d = 0; d < NDIMS; d++)
    if (mask >> d & 1) fputc(accel_dim_letter(d), f);
}

/* A level's mapping constraints as a flow mapping (docs/cost-model.md,
 * "Mapping constraints"), or nothing when it has none. */
static void put_cons(FILE *f, const LevelConstraints *c) {
  static const LevelConstraints none;
  static const char *const kinds[2] = {"temporal", "spatial"};
  static const char *const orders[2] = {"order", "spatial_order"};
  if (memcmp(c, &none, sizeof none) == 0) return;
  Flow w = {f, 0};
  fputs("    constraints: ", f);
  for (int k = 0; k < 2; k++) {
    Flow b = {f, 0};
    for (int d = 0; d < NDIMS; d++) {
      int64_t lo = c->lo[k][d], hi = c->hi[k][d];
      if (!lo && !hi) continue;
      if (!b.n) flow_key(&w, kinds[k]);
      char key[2] = {accel_dim_letter(d), 0};
      flow_key(&b, key);
      if (lo == hi && lo == MAPCONS_WHOLE)
        fputs("all", f);
      else if (lo == hi)
        fprintf(f, "%" PRId64, lo);
      else if (lo && hi)
        fprintf(f, "\">=%" PRId64 " <=%" PRId64 "\"", lo, hi);
      else if (lo)
        fprintf(f, "\">=%" PRId64 "\"", lo);
      else
        fprintf(f, "\"<=%" PRId64 "\"", hi);
    }
    flow_end(&b);
  }
  for (int k = 0; k < 2; k++) {
    if (!c->nouter[k] && !c->ninner[k]) continue;
    flow_key(&w, orders[k]);
    Flow b = {f, 0};
    for (int i = 0; i < 2; i++) {
      int n = i ? c->ninner[k] : c->nouter[k];
      if (!n) continue;
      flow_key(&b, i ? "inner" : "outer");
      for (int j = 0; j < n; j++) fputc(accel_dim_letter(i ? c->inner[k][j] : c->outer[k][j]), f);
    }
    flow_end(&b);
  }
  if (c->one_axis) {
    flow_key(&w, "one_axis");
    fputs("true", f);
  }
  flow_end(&w);
  fputc('\n', f);
}

static void put_level(FILE *f, const Arch *a, const Level *L, const LevelConstraints *c,
                      int64_t above, int64_t above_x, int64_t above_y) {
  static const char *const axes[] = {"x", "y", "z"};
  static const char *const tensors[] = {"W", "I", "O"};
  fputs("  - name: ", f);
  put_name(f, L->name);
  fputc('\n', f);
  if (L->is_dram) fputs("    dram: true\n", f);
  if (L->instances != above) fprintf(f, "    instances: %" PRId64 "\n", L->instances);
  if (L->mesh_x != above_x || L->mesh_y != above_y) {
    Flow w = {f, 0};
    fputs("    mesh: ", f);
    if (L->mesh_x != above_x) flow_int(&w, "x", L->mesh_x);
    if (L->mesh_y != above_y) flow_int(&w, "y", L->mesh_y);
    flow_end(&w);
    fputc('\n', f);
  }
  int wb = 0; /* arch_load's default: the widest tensor the level may keep */
  for (int t = 0; t < NTENSORS; t++)
    if (L->keeps_allowed & (1u << t) && arch_tensor_bits(a, t) > wb) wb = arch_tensor_bits(a, t);
  if (L->word_bits != wb) fprintf(f, "    word_bits: %d\n", L->word_bits);
  if (L->block_words != 1) fprintf(f, "    block_words: %" PRId64 "\n", L->block_words);
  if (L->capacity_words != 0) fprintf(f, "    capacity_words: %" PRId64 "\n", L->capacity_words);
  if (L->tensor_capacity_words[0] || L->tensor_capacity_words[1] || L->tensor_capacity_words[2]) {
    Flow w = {f, 0};
    fputs("    tensor_capacity_words: ", f);
    for (int t = 0; t < NTENSORS; t++)
      if (L->tensor_capacity_words[t]) flow_int(&w, tensors[t], L->tensor_capacity_words[t]);
    flow_end(&w);
    fputc('\n', f);
  }
  if (L->multiple_buffering != 1) {
    fputs("    multiple_buffering: ", f);
    put_num(f, L->multiple_buffering);
    fputc('\n', f);
  }
  if (L->keeps_allowed != ACCEL_ALL_TENSORS) {
    int n = 0;
    fputs("    keeps: [", f);
    for (int t = 0; t < NTENSORS; t++)
      if (L->keeps_allowed >> t & 1) fprintf(f, "%s%c", n++ ? ", " : "", accel_tensor_letter(t));
    fputs("]\n", f);
  }
  if (L->keeps_required) {
    int n = 0;
    fputs("    must_keep: [", f);
    for (int t = 0; t < NTENSORS; t++)
      if (L->keeps_required >> t & 1) fprintf(f, "%s%c", n++ ? ", " : "", accel_tensor_letter(t));
    fputs("]\n", f);
  }
  if (L->read_bw != 0 || L->write_bw != 0 || L->shared_bw != 0) {
    Flow w = {f, 0};
    fputs("    bandwidth: ", f);
    if (L->read_bw != 0) flow_num(&w, "read", L->read_bw);
    if (L->write_bw != 0) flow_num(&w, "write", L->write_bw);
    if (L->shared_bw != 0) flow_num(&w, "shared", L->shared_bw);
    flow_end(&w);
    fputc('\n', f);
  }
  if (L->fanout[0] != 1 || L->fanout[1] != 1 || L->fanout[2] != 1) {
    Flow w = {f, 0};
    fputs("    fanout: ", f);
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (L->fanout[x] != 1) flow_int(&w, axes[x], L->fanout[x]);
    flow_end(&w);
    fputc('\n', f);
  }
  bool conn = false;
  for (int x = 0; x < ACCEL_MAX_AXES; x++) conn |= L->connectivity[x] != ACCEL_ALL_DIMS;
  if (conn) {
    Flow w = {f, 0};
    fputs("    connectivity: ", f);
    for (int x = 0; x < ACCEL_MAX_AXES; x++)
      if (L->connectivity[x] != ACCEL_ALL_DIMS) {
        flow_key(&w, axes[x]);
        put_dims(f, L->connectivity[x]);
      }
    flow_end(&w);
    fputc('\n', f);
  }
  put_cons(f, c);
  bool tech = a->tech_nm > 0;
  bool hop = tech ? !(L->derived & LEVEL_TECH_NOC) : L->noc_pj_per_hop != 0;
  if (hop || L->no_multicast || L->no_reduction) {
    Flow w = {f, 0};
    fputs("    noc: ", f);
    if (hop) flow_num(&w, "energy_pj_per_hop", L->noc_pj_per_hop);
    if (L->no_multicast) {
      flow_key(&w, "multicast");
      fputs("false", f);
    }
    if (L->no_reduction) {
      flow_key(&w, "reduction");
      fputs("false", f);
    }
    flow_end(&w);
    fputc('\n', f);
  }
  if (!(tech && L->derived & LEVEL_TECH_ENERGY)) {
    Flow e = {f, 0};
    fputs("    energy_pj: ", f);
    flow_num(&e, "read", L->e_read_pj);
    if (L->e_fill_pj != L->e_read_pj) flow_num(&e, "fill", L->e_fill_pj);
    if (L->e_update_pj != L->e_fill_pj) flow_num(&e, "update", L->e_update_pj);
    flow_end(&e);
    fputc('\n', f);
  }
  if (tech ? !(L->derived & LEVEL_TECH_LEAK) : L->leak_pj_per_cycle != 0) {
    fputs("    leak_pj_per_cycle: ", f);
    put_num(f, L->leak_pj_per_cycle);
    fputc('\n', f);
  }
  bool area = !(tech && L->derived & LEVEL_TECH_AREA);
  if (L->area_um2_per_word != 0 || (tech && area && L->area_um2_fixed == 0)) {
    fputs("    area_um2_per_word: ", f);
    put_num(f, L->area_um2_per_word);
    fputc('\n', f);
  }
  if (area && L->area_um2_fixed != 0) {
    fputs("    area_um2: ", f);
    put_num(f, L->area_um2_fixed);
    fputc('\n', f);
  }
  static const char *const mems[] = {"auto", "sram", "regfile"};
  if (L->memory != LEVEL_MEM_AUTO) fprintf(f, "    memory: %s\n", mems[L->memory]);
  if (L->banks) fprintf(f, "    banks: %d\n", L->banks);
  if (L->ports) fprintf(f, "    ports: %d\n", L->ports);
  if (L->dram_type != 0) fprintf(f, "    dram_type: %s\n", tech_dram_name((TechDram)L->dram_type));
  if (tech && L->derived) { /* what the model gave, for the reader (arch_load recomputes it) */
    fputs("    # technology model:", f);
    if (L->derived & LEVEL_TECH_ENERGY)
      fprintf(f, " read %.4g, fill %.4g, update %.4g pJ;", L->e_read_pj, L->e_fill_pj,
              L->e_update_pj);
    if (L->derived & LEVEL_TECH_LEAK && !L->is_dram)
      fprintf(f, " leak %.4g pJ/cycle;", L->leak_pj_per_cycle);
    if (L->derived & LEVEL_TECH_AREA && !L->is_dram)
      fprintf(f, " area %.6g um^2;", L->area_um2_fixed);
    if (L->derived & LEVEL_TECH_NOC && L->noc_pj_per_hop > 0)
      fprintf(f, " hop %.4g pJ;", L->noc_pj_per_hop);
    fputc('\n', f);
  }
}

void arch_print(FILE *f, const Arch *a) {
  fputs("# naasc architecture (format: docs/cost-model.md, \"Input files\")\n", f);
  fputs("name: ", f);
  put_name(f, a->name);
  fputc('\n', f);
  if (a->cons.min_parallelism != 0) {
    fputs("min_parallelism: ", f);
    put_num(f, a->cons.min_parallelism);
    fputc('\n', f);
  }
  if (a->clock_mhz != 0) {
    fputs("clock_mhz: ", f);
    put_num(f, a->clock_mhz);
    fputc('\n', f);
  }
  if (a->assume == ARCH_ASSUME_NAAS)
    fputs("# energies under --assume naas (relative scheme, on-chip only, DRAM bandwidth "
          "unlimited)\n",
          f);
  if (a->tech_nm > 0) {
    fputs("technology: ", f);
    put_num(f, a->tech_nm);
    fputs("nm\n", f);
  }
  if (a->tensor_bits[0] || a->tensor_bits[1] || a->tensor_bits[2] || a->psum_bits || a->number) {
    fprintf(f, "precision: {W: %d, I: %d, O: %d", arch_tensor_bits(a, 0), arch_tensor_bits(a, 1),
            arch_tensor_bits(a, 2));
    if (a->psum_bits) fprintf(f, ", P: %d", a->psum_bits);
    if (a->number) fprintf(f, ", format: %s", tech_number_name((TechNumber)a->number));
    fputs("}\n", f);
  }
  fputs("levels:\n", f);
  /* The instances and meshes arch_load derives from the fan-outs above. */
  int64_t above = 1, above_x = 1, above_y = 1;
  for (int l = 0; l < a->nlevels; l++) {
    const Level *L = &a->level[l];
    put_level(f, a, L, &a->cons.level[l], above, above_x, above_y);
    above = L->instances * L->fanout[0] * L->fanout[1] * L->fanout[2];
    above_x = L->mesh_x * L->fanout[AXIS_X];
    above_y = L->mesh_y * L->fanout[AXIS_Y] * L->fanout[AXIS_Z];
  }
  Flow w = {f, 0};
  fputs("mac: ", f);
  if (a->mac_instances != above) flow_int(&w, "instances", a->mac_instances);
  if (a->mac_mesh_x != above_x || a->mac_mesh_y != above_y) {
    Flow m = {f, 0};
    flow_key(&w, "mesh");
    if (a->mac_mesh_x != above_x) flow_int(&m, "x", a->mac_mesh_x);
    if (a->mac_mesh_y != above_y) flow_int(&m, "y", a->mac_mesh_y);
    flow_end(&m);
  }
  bool tech = a->tech_nm > 0;
  if (!(tech && a->mac_derived & LEVEL_TECH_ENERGY)) flow_num(&w, "energy_pj", a->mac_energy_pj);
  if (tech ? !(a->mac_derived & LEVEL_TECH_AREA) : a->mac_area_um2 != 0)
    flow_num(&w, "area_um2", a->mac_area_um2);
  if (w.n)
    flow_end(&w);
  else
    fputs("{}", f);
  if (tech && a->mac_derived)
    fprintf(f, "  # technology model: %.4g pJ, %.6g um^2 per MAC", a->mac_energy_pj,
            a->mac_area_um2);
  fputc('\n', f);
  const VectorUnit *v = &a->vector;
  if (v->lanes != 0 || v->energy_pj_per_op != 0 || v->area_um2 != 0) {
    Flow u = {f, 0};
    fputs("vector_unit: ", f);
    if (v->lanes != 0) flow_int(&u, "lanes", v->lanes);
    if (v->energy_pj_per_op != 0) flow_num(&u, "energy_pj_per_op", v->energy_pj_per_op);
    if (v->area_um2 != 0) flow_num(&u, "area_um2", v->area_um2);
    flow_end(&u);
    fputc('\n', f);
  }
}
