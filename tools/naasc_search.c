/*
 * naasc_search.c: `naasc --search`, the NAAS accelerator and mapping
 * co-search from the command line (docs/search.md): parses the flags,
 * imports (or builds from the zoo) and lowers the models, runs
 * naas_drive and writes its files with naas_drive_write (search/drive.c),
 * writes each model's files on the design, and prints the summary.
 *
 *   naasc --search MODEL.onnx|ZOO-NAME [MORE ...] --budget PRESET|FILE.yaml [-o DIR] [options]
 *
 * Writes into DIR (default ./naasc-search/), every file atomically:
 *   arch.yaml, result.json, search.json, convergence.svg, pareto.svg
 *                        (search/drive.c says what each holds)
 *   MODEL.nir            each model lowered and mapped onto the design
 *   MODEL.cmd            its command stream on the design (naasc-run runs it; layer
 *                        by layer: the stream does not run fused groups yet)
 *   MODEL.report.txt     its cost report (table), MODEL.report.json and .svg, under
 *                        the schedule the design was scored with
 *   MODEL.schedule       that schedule (not with --schedule=layer; --schedule=FILE
 *                        reads it back)
 * With MPI (built with NAASC_MPI, run under mpirun) only rank 0 writes.
 * Exit codes as naasc's: 0 ok, 1 bad input, 2 bad usage, 3 internal.
 *
 * It calls search/'s driver (search/search.h) rather than the C API's
 * NaascSearch, which runs the same naas_search but offers a subset of the
 * driver (no --fixed baselines, gradient optimizer, MPI ranks, checkpoints
 * or result files yet), and passes/ and stream/ for the per-model files
 * (docs/design.md, "The tools and the C API").
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/stream.h"
#include "backend/backend.h"
#include "frontend/frontend.h"
#include "search/search.h"
#include "passes/passes.h"
#include "tools/internal.h"

#ifdef NAASC_MPI
#include <mpi.h>
#endif

/* Two strings: C11 compilers need only take 4095 characters in one. */
static const char usage_text[] =
    "usage: naasc --search MODEL.onnx|ZOO-NAME [MORE ...] --budget NAME|FILE.yaml [options]\n"
    "\n"
    "Searches an accelerator (PEs, array shape and parallel dims, buffer sizes, bandwidth)\n"
    "within the budget design's resources, and the mapping of every layer (docs/search.md).\n"
    "\n"
    "options:\n"
    "  --budget NAME|FILE       the budget: eyeriss, nvdla-256, nvdla-1024, shidiannao, edgetpu\n"
    "                           or an architecture YAML file (its PEs, on-chip bytes, bandwidth)\n"
    "  -o DIR                   output folder (default ./naasc-search)\n"
    "  --objective edp|energy|latency   what to minimise (default edp; geomean over models)\n"
    "  --max-area MM2           bound on the design's area (mm^2; a number with um2 after it: um^2);\n"
    "                           default: the budget design's area when it names a technology\n"
    "  --max-power MW           bound on the design's peak power (mW)\n"
    "  --byte-budget            bound the on-chip bytes by the budget design's (the area is not\n"
    "                           bounded unless --max-area is given)\n"
    "  --assume physical|naas   energies in pJ from the technology model (default), or NAAS's\n"
    "                           assumptions: on-chip energy only, relative scheme, DRAM\n"
    "                           bandwidth unlimited (docs/technology.md)\n"
    "  --precision P            the budget (and every design) at precision P: w8a8, w8a8p32,\n"
    "                           w4a8, w1a1 (binary XNOR-popcount PEs), fp16, bf16, ...\n"
    "                           (docs/technology.md, \"Precision\"); 'model': the models' own\n"
    "  --search-precision FILE  also choose the precision: a search per precision of the\n"
    "                           accuracy table FILE that every model reaches its minimum at;\n"
    "                           the best design is kept\n";
static const char usage_text2[] =
    "  --max-latency CYCLES     bound on every model's cycles\n"
    "  --max-energy PJ          bound on every model's energy\n"
    "  --iterations N           generations of the outer search (default 60; gradient:\n"
    "                           roundings of the descent, every 20 steps, default 30)\n"
    "  --popsize N              candidates per generation (default 16)\n"
    "  --map-budget N           mapper evaluations per layer and candidate (default 1000)\n"
    "  --final-map-budget N     the best design's final mapping per layer (default 20000; the\n"
    "                           better of it and the search's mappings is kept)\n"
    "  --optimizer cmaes|random|gradient|cmaes+gradient   the outer optimizer (default cmaes;\n"
    "                           random is the baseline; gradient: sizes and mappings in one\n"
    "                           descent on the differentiable cost model, the budget's\n"
    "                           connectivity kept; cmaes+gradient: CMA-ES over the array axes'\n"
    "                           connectivity, a short gradient search inside (--iterations\n"
    "                           generations, default 6, of --popsize, default 8))\n"
    "  --sizing-only            keep the budget's connectivity, search the sizes only\n"
    "  --schedule fused|layer   score every design (the baseline too) by its best whole-network\n"
    "                           schedule, fused groups (default), or every layer alone\n"
    "  --fixed[=best|as-built]  no search: the budget design itself, mapped with the effort a\n"
    "                           searched design's final mapping gets (--map-budget, then\n"
    "                           --final-map-budget, the better kept); best (default): the best\n"
    "                           mapping its connectivity allows; as-built: its chip's own\n"
    "                           dataflow (the preset's as_built: constraints and must_keep)\n"
    "  --no-baseline            do not map the budget design to compare with (it is mapped with\n"
    "                           the searched design's effort, free and as built when it has an\n"
    "                           as-built dataflow, and printed as ratios by default)\n"
    "  --seed N                 the same seed gives the same result for any --jobs or -np\n"
    "  --jobs N, -j N           threads (default: one per online CPU)\n"
    "  --checkpoint FILE        save the search state after every iteration (atomically)\n"
    "  --resume                 continue from --checkpoint FILE\n"
    "  --no-progress            no progress line (it is shown when stderr is a terminal)\n"
    "  -q                       no summary on stdout\n"
    "\n"
    "Run over MPI ranks: mpirun -np N naasc --search ... (needs a build with NAASC_MPI).\n"
    "exit codes: 0 ok, 1 bad input, 2 bad usage, 3 internal error\n";

static int usage_error(const char *fmt, const char *arg) {
  return cli_usage_error("naasc --search --help", fmt, arg);
}

/* A positive finite number. */
static bool parse_pos(const char *v, double *out) { return cli_parse_f64(v, out) && *out > 0; }

/* The model's label: file name without folder and .onnx, or the zoo name. */
static char *label_of(const char *arg) {
  const char *b = strrchr(arg, '/');
  b = b ? b + 1 : arg;
  size_t n = strlen(b);
  if (n > 5 && strcmp(b + n - 5, ".onnx") == 0) n -= 5;
  char *s = malloc(n + 1);
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) s[i] = (b[i] == ':' || b[i] == '|' || b[i] == ' ') ? '_' : b[i];
  s[n] = 0;
  return s;
}

static bool is_zoo_name(const char *s) {
  int n;
  const ZooEntry *z = zoo_list(&n);
  for (int k = 0; k < n; k++)
    if (strcmp(z[k].name, s) == 0) return true;
  return strncmp(s, "nb201:", 6) == 0;
}

/* Imports (or builds from the zoo) and lowers one model. */
/* Lowers a model; *graph keeps the graph for its weights (the command
 * stream of the best design), the caller destroys it. */
static Rc load_module(const char *arg, const char *label, Module **out, Model **graph, Diag *d) {
  Model *g = NULL;
  Rc rc;
  if (access(arg, F_OK) != 0 && is_zoo_name(arg)) {
    d->file = "naasc zoo";
    rc = zoo_build(arg, true, 1, &g, d); /* weights (seed 1): the stream carries them */
  } else {
    ImportOptions io;
    import_options_default(&io);
    d->file = arg;
    rc = onnx_import(arg, &io, &g, d);
  }
  if (rc != RC_OK) return rc;
  rc = lower_model(g, out, d);
  if (rc != RC_OK) {
    model_destroy(g);
    return rc;
  }
  *graph = g;
  (*out)->name = arena_strdup(&(*out)->arena, label);
  return (*out)->name ? RC_OK : RC_INTERNAL;
}

static char *join(const char *dir, const char *name, const char *suffix) {
  size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s/%s%s", dir, name, suffix);
  return s;
}

/* The files of model k on the design: its module with the mappings
 * (MODEL.nir), its cost report (.report.txt, .json, .svg) and its command
 * stream (.cmd); cst gets the stream's sizes. */
static Rc write_model(const char *dir, const char *label, Module *mod, const Model *graph, int k,
                      const NaasWorkload *w, const NaasResult *r, CmdStats *cst, Diag *d) {
  Rc rc = naas_attach_mappings(mod, k, w, r, d);
  char *nir = join(dir, label, ".nir"), *txt = join(dir, label, ".report.txt"),
       *js = join(dir, label, ".report.json"), *cmd = join(dir, label, ".cmd");
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  if (rc == RC_OK && (!nir || !txt || !js || !cmd)) rc = RC_INTERNAL;
  if (rc == RC_OK) rc = module_verify(mod, d);
  if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
    module_print(f, mod);
    fclose(f);
    rc = file_write_atomic(nir, buf, len, d);
    free(buf);
    buf = NULL;
  }
  if (rc == RC_OK && r->schedule) {
    /* The report of the schedule the design was scored with, and the
     * schedule itself (MODEL.schedule, --schedule=FILE reads it). */
    SchedModel *sm = NULL;
    CostResult *per = xcalloc((size_t)mod->nnests + 1, sizeof *per);
    SchedTotals tot;
    char *sch = join(dir, label, ".schedule");
    rc = per && sch ? sched_model_create(mod, &r->arch, &sm, d) : RC_INTERNAL;
    if (rc == RC_OK) rc = schedule_eval(sm, &r->schedule[k], per, &tot, d);
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      rc = report_write_schedule(mod, &r->arch, &r->schedule[k], per, f, js, d);
      fclose(f);
      if (rc == RC_OK) rc = file_write_atomic(txt, buf, len, d);
      free(buf);
      buf = NULL;
    }
    if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
      schedule_print(f, mod, &r->arch, &r->schedule[k]);
      fclose(f);
      rc = file_write_atomic(sch, buf, len, d);
      free(buf);
      buf = NULL;
    }
    sched_model_destroy(sm);
    xfree(per);
    free(sch);
  } else if (rc == RC_OK && (f = open_memstream(&buf, &len))) {
    rc = report_write(mod, &r->arch, f, js, d);
    fclose(f);
    if (rc == RC_OK) rc = file_write_atomic(txt, buf, len, d);
    free(buf);
  }
  if (rc == RC_OK) { /* the compiled model on the design: naasc-run runs it */
    uint8_t *bytes = NULL;
    rc = cmd_emit(mod, graph, &r->arch, &bytes, &len, cst, d);
    if (rc == RC_OK) rc = file_write_atomic(cmd, bytes, len, d);
    xfree(bytes);
  }
  free(nir), free(txt), free(js), free(cmd);
  return rc;
}

/* ---- main ------------------------------------------------------------------------ */

/* --kill-in-iteration N: SIGKILL in the middle of generation N + 1, once its
 * mapper jobs ran and before its checkpoint, so the checkpoint holds
 * exactly N generations and the work since is lost (tests of --resume). */
static void kill_hook(void *ctx, int64_t iteration) {
  if (iteration == *(const int64_t *)ctx) raise(SIGKILL);
}

int naasc_search_main(int argc, char **argv) {
  NaasDriveOptions o;
  naas_drive_options_default(&o);
  const char *dir = "naasc-search";
  const char *models[NAAS_MAX_MODELS];
  int nmodels = 0;
  bool quiet = false, no_progress = false;
  ArchAssume assume = ARCH_PHYSICAL;
  const char *precision = NULL, *accuracy_file = NULL;
  int64_t kill_in = 0;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  o.naas.jobs = ncpu > 64 ? 64 : ncpu > 1 ? (int)ncpu : 1; /* results do not depend on it */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int64_t n;
    if (strcmp(a, "--search") == 0) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      fputs(usage_text2, stdout);
      return RC_OK;
    } else if (cli_is_flag(a, "--budget")) {
      if (!(o.budget = cli_flag_value(argc, argv, &i, "--budget")))
        return usage_error("%s", "--budget needs a preset name or a file");
    } else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) return usage_error("%s", "-o needs a folder");
      dir = argv[++i];
    } else if (cli_is_flag(a, "--objective")) {
      v = cli_flag_value(argc, argv, &i, "--objective");
      if (v && strcmp(v, "edp") == 0)
        o.naas.objective = NAAS_OBJ_EDP;
      else if (v && strcmp(v, "energy") == 0)
        o.naas.objective = NAAS_OBJ_ENERGY;
      else if (v && strcmp(v, "latency") == 0)
        o.naas.objective = NAAS_OBJ_LATENCY;
      else
        return usage_error("--objective takes edp, energy or latency, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--max-area")) {
      v = cli_flag_value(argc, argv, &i, "--max-area");
      char num[64];
      size_t vl = v ? strlen(v) : 0;
      bool um = vl > 3 && vl < sizeof num && strcmp(v + vl - 3, "um2") == 0;
      bool mm = vl > 3 && vl < sizeof num && strcmp(v + vl - 3, "mm2") == 0;
      if (v && vl < sizeof num)
        snprintf(num, sizeof num, "%.*s", (int)(vl - (um || mm ? 3 : 0)), v);
      if (!v || vl >= sizeof num || !parse_pos(num, &o.naas.max_area_um2))
        return usage_error("--max-area takes a positive area in mm^2 (or 'NUMum2'), not '%s'",
                           v ? v : "");
      if (!um) o.naas.max_area_um2 *= 1e6;
    } else if (cli_is_flag(a, "--max-power")) {
      v = cli_flag_value(argc, argv, &i, "--max-power");
      if (!v || !parse_pos(v, &o.naas.max_power_mw))
        return usage_error("--max-power takes a positive power in mW, not '%s'", v ? v : "");
    } else if (strcmp(a, "--byte-budget") == 0) {
      o.naas.byte_budget = true;
    } else if (cli_is_flag(a, "--assume")) {
      v = cli_flag_value(argc, argv, &i, "--assume");
      if (!v || !arch_assume_parse(v, &assume))
        return usage_error("--assume takes physical or naas, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--precision")) {
      v = cli_flag_value(argc, argv, &i, "--precision");
      Precision p;
      Diag pd;
      diag_init(&pd, stderr, "naasc");
      if (!v) return usage_error("%s", "--precision needs a value (e.g. w8a8, w1a1, fp16)");
      if (strcmp(v, "model") != 0 && precision_parse(v, &p, &pd, "--precision") != RC_OK)
        return RC_USAGE;
      precision = v;
    } else if (cli_is_flag(a, "--search-precision")) {
      if (!(accuracy_file = cli_flag_value(argc, argv, &i, "--search-precision")))
        return usage_error("%s", "--search-precision needs an accuracy table file");
    } else if (cli_is_flag(a, "--max-latency")) {
      v = cli_flag_value(argc, argv, &i, "--max-latency");
      if (!v || !parse_pos(v, &o.naas.max_cycles))
        return usage_error("--max-latency takes a positive number of cycles, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--max-energy")) {
      v = cli_flag_value(argc, argv, &i, "--max-energy");
      if (!v || !parse_pos(v, &o.naas.max_energy_pj))
        return usage_error("--max-energy takes a positive energy in pJ, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--iterations")) {
      v = cli_flag_value(argc, argv, &i, "--iterations");
      if (!v || !cli_parse_i64(v, 1, &o.naas.iterations))
        return usage_error("--iterations takes a positive integer, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--popsize")) {
      v = cli_flag_value(argc, argv, &i, "--popsize");
      if (!v || !cli_parse_i64(v, 4, &n) || n > 4096)
        return usage_error("--popsize takes an integer from 4 to 4096, not '%s'", v ? v : "");
      o.naas.popsize = (int)n;
    } else if (cli_is_flag(a, "--map-budget")) {
      v = cli_flag_value(argc, argv, &i, "--map-budget");
      if (!v || !cli_parse_i64(v, 1, &o.naas.map_budget) || o.naas.map_budget > MAPPER_MAX_BUDGET)
        return usage_error("--map-budget takes an integer from 1 to 1000000000, not '%s'",
                           v ? v : "");
    } else if (cli_is_flag(a, "--optimizer")) {
      v = cli_flag_value(argc, argv, &i, "--optimizer");
      o.naas.gradient = o.naas.gradient_conn = false;
      if (v && strcmp(v, "gradient") == 0)
        o.naas.gradient = true, o.naas.optimizer = OPT_CMAES;
      else if (v && strcmp(v, "cmaes+gradient") == 0)
        o.naas.gradient = o.naas.gradient_conn = true, o.naas.optimizer = OPT_CMAES;
      else if (!v || !opt_parse(v, &o.naas.optimizer) || o.naas.optimizer == OPT_GENETIC)
        return usage_error("--optimizer takes cmaes, random, gradient or cmaes+gradient, not '%s'",
                           v ? v : "");
    } else if (cli_is_flag(a, "--final-map-budget")) {
      v = cli_flag_value(argc, argv, &i, "--final-map-budget");
      if (!v || !cli_parse_i64(v, 1, &o.naas.final_map_budget) ||
          o.naas.final_map_budget > MAPPER_MAX_BUDGET)
        return usage_error("--final-map-budget takes an integer from 1 to 1000000000, not '%s'",
                           v ? v : "");
    } else if (strcmp(a, "--sizing-only") == 0) {
      o.naas.sizing_only = true;
    } else if (cli_is_flag(a, "--schedule")) {
      v = cli_flag_value(argc, argv, &i, "--schedule");
      if (v && strcmp(v, "fused") == 0)
        o.naas.schedule = NAAS_SCHED_FUSED;
      else if (v && strcmp(v, "layer") == 0)
        o.naas.schedule = NAAS_SCHED_LAYER;
      else
        return usage_error("--schedule takes fused or layer, not '%s'", v ? v : "");
    } else if (strcmp(a, "--fixed") == 0 || strncmp(a, "--fixed=", 8) == 0) {
      o.fixed = true;
      if (a[7] == '=' && strcmp(a + 8, "as-built") == 0)
        o.fixed_as_built = true;
      else if (a[7] == '=' && strcmp(a + 8, "best") != 0)
        return usage_error("--fixed takes best or as-built (--fixed=as-built), not '%s'", a + 8);
    } else if (strcmp(a, "--no-baseline") == 0) {
      o.no_baseline = true;
    } else if (cli_is_flag(a, "--seed")) {
      v = cli_flag_value(argc, argv, &i, "--seed");
      if (!v || !cli_parse_i64(v, 0, &n))
        return usage_error("--seed takes a non-negative integer, not '%s'", v ? v : "");
      o.naas.seed = (uint64_t)n;
    } else if (cli_is_flag(a, "--jobs") || strncmp(a, "-j", 2) == 0) {
      v = strcmp(a, "-j") == 0 ? (i + 1 < argc ? argv[++i] : NULL)
          : a[1] == 'j'        ? a + 2
                               : cli_flag_value(argc, argv, &i, "--jobs");
      if (!v || !cli_parse_i64(v, 1, &n) || n > 64)
        return usage_error("--jobs takes an integer from 1 to 64, not '%s'", v ? v : "");
      o.naas.jobs = (int)n;
    } else if (cli_is_flag(a, "--checkpoint")) {
      if (!(o.naas.checkpoint = cli_flag_value(argc, argv, &i, "--checkpoint")))
        return usage_error("%s", "--checkpoint needs a file");
    } else if (strcmp(a, "--resume") == 0) {
      o.naas.resume = true;
    } else if (cli_is_flag(a, "--stop-after-iteration")) { /* hidden: tests of --resume */
      v = cli_flag_value(argc, argv, &i, "--stop-after-iteration");
      if (!v || !cli_parse_i64(v, 1, &o.naas.stop_after_iteration))
        return usage_error("--stop-after-iteration takes a positive integer, not '%s'", v ? v : "");
    } else if (cli_is_flag(a,
                           "--kill-in-iteration")) { /* hidden: tests of --resume after SIGKILL */
      v = cli_flag_value(argc, argv, &i, "--kill-in-iteration");
      if (!v || !cli_parse_i64(v, 0, &kill_in))
        return usage_error("--kill-in-iteration takes a non-negative integer, not '%s'",
                           v ? v : "");
      o.naas.on_generation = kill_hook;
      o.naas.on_generation_ctx = &kill_in;
    } else if (strcmp(a, "--no-progress") == 0) {
      no_progress = true;
    } else if (strcmp(a, "-q") == 0) {
      quiet = true;
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown option '%s' for naasc --search", a);
    } else {
      if (nmodels == NAAS_MAX_MODELS) return usage_error("%s", "too many models (at most 16)");
      models[nmodels++] = a;
    }
  }
  if (!nmodels)
    return usage_error("%s",
                       "naasc --search needs at least one model (a .onnx file or a zoo name)");
  if (!o.budget) return usage_error("%s", "naasc --search needs --budget NAME|FILE.yaml");
  if (o.naas.resume && !o.naas.checkpoint)
    return usage_error("%s", "--resume needs --checkpoint FILE");
  if (o.naas.gradient && (o.naas.checkpoint || o.naas.resume))
    return usage_error("%s", "--optimizer gradient takes no --checkpoint or --resume "
                             "(it keeps no optimizer state between rounds)");
  if (precision && accuracy_file)
    return usage_error("%s", "--precision and --search-precision: give one (the search chooses "
                             "the precision among the accuracy table's)");
  if (accuracy_file && (o.naas.checkpoint || o.naas.resume))
    return usage_error("%s", "--search-precision takes no --checkpoint or --resume");
  if (o.fixed && (o.naas.sizing_only || o.naas.optimizer == OPT_RANDOM || o.naas.gradient))
    return usage_error("%s", "--fixed searches nothing: no --sizing-only or --optimizer");

  int rank = 0, nranks = 1;
#ifdef NAASC_MPI
  /* MPI only under a launcher (mpirun sets these): a plain run starts no MPI
   * runtime, which is slow to start and keeps memory LeakSanitizer reports. */
  bool use_mpi = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
  if (use_mpi) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  }
#endif
  o.naas.progress = !no_progress && rank == 0 && isatty(2);
  o.nranks = nranks;
  Diag d;
  diag_init(&d, rank == 0 ? stderr : NULL, "naasc");
  static Arch barch, bbuilt;
  NaasWorkload w = {0};
  Module *mods[NAAS_MAX_MODELS] = {0};
  Model *graphs[NAAS_MAX_MODELS] = {0};
  char *labels[NAAS_MAX_MODELS] = {0};
  CmdStats cst[NAAS_MAX_MODELS] = {{0}};
  NaasDriveResult res = {0};
  const NaasResult *r = &res.r;
  static Arch base_arch;
  Precision cand[ACCURACY_MAX_ROWS];
  int ncand = 0;
  Rc rc = arch_resolve(o.budget, &barch, &d);
  if (rc == RC_OK && precision && strcmp(precision, "model") != 0) {
    Precision p;
    rc = precision_parse(precision, &p, &d, "--precision");
    if (rc == RC_OK) rc = arch_set_precision(&barch, &p, &d);
  }
  base_arch = barch;
  if (rc == RC_OK) arch_assume(&barch, assume);
  /* The as-built baseline: the budget's own dataflow, when it has one (a
   * preset, or an arch file with `as_built:`); --fixed=as-built needs it. */
  if (rc == RC_OK && (o.fixed_as_built || (!o.fixed && !o.no_baseline))) {
    Diag qd;
    diag_init(&qd, o.fixed_as_built ? d.out : NULL, "naasc");
    if (arch_resolve_as_built(o.budget, &bbuilt, &qd) == RC_OK) {
      arch_assume(&bbuilt, assume);
      o.as_built = &bbuilt;
    } else if (o.fixed_as_built) {
      rc = RC_BADINPUT; /* reported through qd */
    }
  }
  for (int k = 0; k < nmodels && rc == RC_OK; k++) {
    labels[k] = label_of(models[k]);
    if (!labels[k]) rc = RC_INTERNAL;
    for (int j = 0; j < k && rc == RC_OK; j++)
      if (strcmp(labels[j], labels[k]) == 0) {
        diag_error(&d, models[k], "two models named '%s'; give each model once", labels[k]);
        rc = RC_BADINPUT;
      }
    if (rc == RC_OK) rc = load_module(models[k], labels[k], &mods[k], &graphs[k], &d);
    d.file = models[k];
    if (rc == RC_OK) rc = naas_workload_add_module(&w, mods[k], &d);
  }
  d.file = "naasc";
  if (rc == RC_OK && precision && strcmp(precision, "model") == 0) {
    /* the models' own precision: every model's layers must agree */
    Precision mp, first;
    for (int k = 0; k < nmodels && rc == RC_OK; k++) {
      d.file = models[k];
      if (!graphs[k]) {
        diag_error(&d, NULL, "--precision model needs the ONNX graph of every model");
        rc = RC_BADINPUT;
      }
      if (rc == RC_OK) rc = precision_of_model(graphs[k], &mp, &d);
      if (rc == RC_OK && k == 0) first = mp;
      if (rc == RC_OK && memcmp(&first, &mp, sizeof mp) != 0) {
        char a[48], b[48];
        precision_name(&first, a, sizeof a);
        precision_name(&mp, b, sizeof b);
        diag_error(&d, NULL, "--precision model: this model is %s, '%s' %s; give --precision", b,
                   models[0], a);
        rc = RC_BADINPUT;
      }
    }
    d.file = "naasc";
    barch = base_arch;
    if (rc == RC_OK) rc = arch_set_precision(&barch, &first, &d);
    base_arch = barch;
    if (rc == RC_OK) arch_assume(&barch, assume);
  }
  if (rc == RC_OK && accuracy_file) {
    static AccuracyTable table;
    char why[256];
    rc = accuracy_load(accuracy_file, &table, &d);
    if (rc == RC_OK) {
      ncand = accuracy_allowed(&table, (const char *const *)labels, nmodels, cand,
                               ACCURACY_MAX_ROWS, why, sizeof why);
      if (ncand == 0) {
        diag_error(&d, accuracy_file, "%s", why);
        rc = RC_BADINPUT;
      }
    }
  }
  if (rc == RC_OK && rank == 0) rc = naas_drive_mkdir(dir, &d);
  /* --search-precision: one search per precision the table allows, the best kept. */
  for (int k = 0; k < ncand && rc == RC_OK; k++) {
    static Arch pa;
    static NaasDriveResult pres;
    char name[48];
    pa = base_arch;
    precision_name(&cand[k], name, sizeof name);
    rc = arch_set_precision(&pa, &cand[k], &d);
    if (rc != RC_OK) break;
    arch_assume(&pa, assume);
    memset(&pres, 0, sizeof pres);
    rc = naas_drive(&w, &pa, &o, &pres, &d);
    if (rc == RC_OK && rank == 0 && !quiet)
      printf(
          "precision %s: score %.6g (EDP %.6g pJ x cycles, energy %.6g pJ, %.6g cycles), %" PRId64
          " PEs, area %.4g mm^2\n",
          name, pres.r.score, pres.r.edp, pres.r.energy_pj, pres.r.cycles,
          pres.r.arch.mac_instances, pres.r.area_um2 / 1e6);
    if (rc == RC_OK && (k == 0 || pres.r.score < res.r.score)) {
      naas_drive_free(&res);
      res = pres;
      barch = pa;
    } else {
      naas_drive_free(&pres);
    }
  }
  if (rc == RC_OK && ncand && rank == 0 && !quiet) {
    char name[48];
    Precision chosen;
    precision_of(&barch, &chosen);
    precision_name(&chosen, name, sizeof name);
    printf("chosen precision: %s (of %d the accuracy table allows)\n", name, ncand);
  }
  if (rc == RC_OK && !ncand) {
    rc = naas_drive(&w, &barch, &o, &res, &d);
    if (rc == RC_OK && r->stopped) {
      if (rank == 0 && !quiet)
        printf("stopped after iteration %" PRId64 " (checkpoint %s)\n", r->iterations,
               o.naas.checkpoint ? o.naas.checkpoint : "none");
      goto done;
    }
  }
  if (rc == RC_OK && rank == 0) rc = naas_drive_write(dir, &w, &barch, &o, &res, &d);
  for (int k = 0; k < w.nmodels && rc == RC_OK && rank == 0; k++)
    rc = write_model(dir, labels[k], mods[k], graphs[k], k, &w, r, &cst[k], &d);
  const char *what = naas_objective_label(o.naas.objective);
  if (rc == RC_OK && rank == 0 && !quiet) {
    printf(
        "%s within %s: %s %.6g (EDP %.6g pJ x cycles, energy %.6g pJ, %.6g cycles; geomean over %d model%s)\n",
        naas_drive_mode(&o), o.budget, o.naas.objective == NAAS_OBJ_EDP ? "EDP" : what, r->score,
        r->edp, r->energy_pj, r->cycles, w.nmodels, w.nmodels > 1 ? "s" : "");
    const Arch *a = &r->arch;
    printf("design %s: %" PRId64 " PEs", a->name, a->mac_instances);
    for (int l = 0; l < a->nlevels; l++)
      for (int ax = 0; ax < ACCEL_MAX_AXES; ax++)
        if (a->level[l].fanout[ax] > 1) {
          char s[NDIMS + 1];
          naas_conn_string(a->level[l].connectivity[ax], s);
          printf(", %s %c=%" PRId64 " [%s]", a->level[l].name, "xyz"[ax], a -> level[l].fanout[ax],
                 s);
        }
    for (int l = 1; l < a->nlevels; l++)
      printf(", %s %" PRId64 " words", a->level[l].name, a->level[l].capacity_words);
    printf(", DRAM %.4g words/cycle, area %.4g mm^2\n", a->level[0].shared_bw, r->area_um2 / 1e6);
    printf("%" PRId64 " candidates, %" PRId64 " cost evaluations, %.1f s; outputs in %s/\n",
           r->candidates, r->evals, r->seconds, dir);
    printf("mapper effort per layer: %" PRId64 " evaluations, then %" PRId64
           ", the better kept (seed %" PRIu64 ")\n",
           r->effort.map_budget, r->effort.final_map_budget, r->effort.seed);
    if (res.have_base)
      printf("against %s itself, best mapping (--fixed=best; mapped with the same effort: EDP "
             "%.6g, energy %.6g pJ, %.6g cycles): speedup %.3fx, energy saving %.3fx, EDP %.3fx\n",
             res.base.arch.name, res.base.edp, res.base.energy_pj, res.base.cycles, res.q.speedup,
             res.q.energy_saving, res.q.edp_gain);
    if (res.have_built)
      printf("against %s as built, its own dataflow (--fixed=as-built; the kind of baseline NAAS's "
             "figures are against; same effort: EDP %.6g, energy %.6g pJ, %.6g cycles): speedup "
             "%.3fx, energy saving %.3fx, EDP %.3fx\n",
             res.built.arch.name, res.built.edp, res.built.energy_pj, res.built.cycles,
             res.qb.speedup, res.qb.energy_saving, res.qb.edp_gain);
    for (int k = 0; k < w.nmodels; k++)
      printf(
          "command stream: %s/%s.cmd (%zu bytes: %zu of commands, %zu of weights; run it with naasc-run)\n",
          dir, labels[k], cst[k].bytes, cst[k].cmd_bytes, cst[k].weight_bytes);
  }
done:
  naas_drive_free(&res);
  naas_workload_free(&w);
  for (int k = 0; k < nmodels; k++) {
    if (mods[k]) module_destroy(mods[k]);
    if (graphs[k]) model_destroy(graphs[k]);
    free(labels[k]);
  }
#ifdef NAASC_MPI
  if (use_mpi) MPI_Finalize();
#endif
  return rc;
}
