/*
 * bench_schedule.c: whole-network schedules against layer by layer, side by
 * side in one run (docs/benchmarks.md, "Whole-network schedules").
 *
 *   bench_schedule TARGET[,TARGET...] MODEL.onnx[@NAME=DIMS] [MODEL...] [--jobs N] [--groups]
 *
 * Per model and target: the default pipeline (fold-bn,fuse-act,lower,map,
 * verify; the mapper's default budget and seed) maps every layer, then the
 * schedule search runs and both schedules are evaluated (schedule_eval).  A
 * markdown row gives, layer by layer -> best: DRAM words, energy, cycles,
 * EDP and the EDP gain, the DRAM words by tensor (W, I, O) of both, and two
 * floors that bound any schedule of these mappings:
 *   cycles floor  the sum of the layers' compute cycles (no schedule makes a
 *                 mapping compute faster; depth-first tiles only add);
 *   energy floor  the layers' energies without any DRAM access of I and O,
 *                 plus reading the network's inputs and writing its outputs
 *                 once (as if every activation stayed on chip for free);
 *   bound         layer EDP / (energy floor x cycles floor): no schedule of
 *                 these mappings can gain more.
 * and the CPU seconds of the mapping and of the schedule search.  --groups
 * also prints the chosen schedule.  @NAME=DIMS fixes a dynamic input (as
 * --input-shape).  A benchmark, not a test.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "search/search.h"
#include "passes/passes.h"

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
  int64_t dram[NTENSORS], compute;
  double e_noio;
} Split;

static void split(const Module *m, const CostResult *per, Split *s) {
  memset(s, 0, sizeof *s);
  for (uint32_t i = 0; i < m->nnests; i++) {
    const CostResult *r = &per[i];
    if (!r->nlevels) continue;
    for (int t = 0; t < NTENSORS; t++)
      s->dram[t] +=
          r->level[0].total[t].reads + r->level[0].total[t].fills + r->level[0].total[t].updates;
    s->compute += r->compute_cycles;
    s->e_noio += r->energy_pj - r->level[0].tensor_energy_pj[TENSOR_I] -
                 r->level[0].tensor_energy_pj[TENSOR_O];
  }
}

static int run(const char *target, const char *spec, int jobs, bool groups) {
  Diag d;
  diag_init(&d, stderr, "bench_schedule");
  char path[1024];
  snprintf(path, sizeof path, "%s", spec);
  ImportOptions io;
  import_options_default(&io);
  char *at = strchr(path, '@');
  if (at) {
    *at = 0;
    if (!parse_input_shape(at + 1, &io.shapes[io.nshapes++], &d)) return 1;
  }
  static Arch arch;
  if (arch_resolve(target, &arch, &d) != RC_OK) return 1;
  Model *g = NULL;
  d.file = path;
  if (onnx_import(path, &io, &g, &d) != RC_OK) return 1;
  PassRegistry *reg = pass_registry_create();
  Pipeline pl;
  if (!reg || pipeline_parse(reg, PIPELINE_O2_MAP, &pl, &d) != RC_OK) return 1;
  PMOptions pmo;
  pm_options_default(&pmo);
  Program prog = {.graph = g, .arch = &arch, .jobs = jobs};
  double t0 = cpu_now();
  Rc rc = pm_run(&pl, &prog, &pmo, &d);
  double t_map = cpu_now() - t0;
  SchedModel *sm = NULL;
  if (rc == RC_OK) rc = sched_model_create(prog.mod, &arch, &sm, &d);
  if (rc != RC_OK) return 1;
  const Module *m = prog.mod;
  CostResult *per = calloc(m->nnests + 1, sizeof *per), *per0 = calloc(m->nnests + 1, sizeof *per0);
  Schedule *best = calloc(1, sizeof *best), *none = calloc(1, sizeof *none);
  SchedOptions o;
  sched_options_default(&o);
  SchedSearchStats st;
  t0 = cpu_now();
  rc = sched_search(sm, &o, best, &st, &d);
  double t_sched = cpu_now() - t0;
  SchedTotals tb, tl;
  if (rc == RC_OK) rc = schedule_eval(sm, best, per, &tb, &d);
  if (rc == RC_OK) rc = schedule_eval(sm, none, per0, &tl, &d);
  if (rc != RC_OK) return 1;
  if (!(tb.edp < tl.edp)) best->ngroups = 0, tb = tl, memcpy(per, per0, sizeof *per * m->nnests);
  Split sl, sb;
  split(m, per0, &sl);
  split(m, per, &sb);
  /* the network's inputs read and outputs written once */
  double io_e = 0;
  for (uint32_t t = 1; t < m->ntensors; t++) {
    const NTensor *nt = &m->tensors[t];
    int64_t w = 1;
    for (int k = 0; k < nt->rank; k++) w *= nt->dims[k];
    if (nt->role == TR_INPUT) io_e += (double)w * arch.level[0].e_read_pj;
    if (nt->role == TR_OUTPUT) io_e += (double)w * arch.level[0].e_update_pj;
  }
  double e_floor = sl.e_noio + io_e, c_floor = (double)sl.compute;
  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  printf("| %s | %s | %.4g -> %.4g | %.4g -> %.4g | %lld -> %lld | %.4g -> %.4g | **%.2fx** | "
         "%.3g/%.3g/%.3g -> %.3g/%.3g/%.3g | %.4g | %lld | %.2fx | %u | %.1f | %.2f |\n",
         name, arch.name, (double)tl.dram_words, (double)tb.dram_words, tl.energy_pj, tb.energy_pj,
         (long long)tl.cycles, (long long)tb.cycles, tl.edp, tb.edp, tl.edp / tb.edp,
         (double)sl.dram[TENSOR_W], (double)sl.dram[TENSOR_I], (double)sl.dram[TENSOR_O],
         (double)sb.dram[TENSOR_W], (double)sb.dram[TENSOR_I], (double)sb.dram[TENSOR_O], e_floor,
         (long long)sl.compute, tl.edp / (e_floor * c_floor), best->ngroups, t_map, t_sched);
  if (groups) {
    printf("\n```\n");
    schedule_print(stdout, m, &arch, best);
    printf("```\n\n");
  }
  fflush(stdout);
  free(per), free(per0), free(best), free(none);
  sched_model_destroy(sm);
  program_free(&prog);
  pipeline_free(&pl);
  pass_registry_destroy(reg);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(
        stderr,
        "usage: bench_schedule TARGET[,TARGET...] MODEL.onnx[@NAME=DIMS]... [--jobs N] [--groups]\n");
    return 2;
  }
  int jobs = 1;
  bool groups = false;
  const char *models[32];
  int nm = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
      jobs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--groups") == 0)
      groups = true;
    else if (nm < 32)
      models[nm++] = argv[i];
  }
  printf("| model | target | DRAM words | energy pJ | cycles | EDP | EDP gain | DRAM W/I/O words | "
         "energy floor | cycles floor | bound | groups | map s | search s |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  int bad = 0;
  char *ts = strdup(argv[1]);
  for (int k = 0; k < nm; k++) {
    char *tc = strdup(ts);
    for (char *sv, *t = strtok_r(tc, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
      bad |= run(t, models[k], jobs, groups);
    free(tc);
  }
  free(ts);
  return bad;
}
