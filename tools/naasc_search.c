/*
 * naasc_search.c: `naasc --search`, the NAAS accelerator and mapping
 * co-search from the command line (docs/search.md): parses and checks the
 * flags into the C API's NaascSearchDriveOptions, starts MPI when run under
 * a launcher, and prints what naasc_search_drive (api/naasc.h) returns: the
 * run itself (the models lowered, search/'s driver naas_drive and
 * naas_drive_write, each model's files on the design) is the API's.
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
 * A client of the C API: the flags' checks use the libraries' parsers
 * (precision_parse, opt_parse) so that a bad value is a usage error before
 * any work (docs/design.md, "The tools and the C API").
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "search/search.h"
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
    "  --rerank K               map the best K distinct designs (by the search's score) at\n"
    "                           final effort and keep the best (default 3, 1 to 8; 1: the\n"
    "                           best candidate only)\n"
    "  --optimizer cmaes|random|gradient|cmaes+gradient   the outer optimizer (default cmaes;\n"
    "                           random is the baseline; gradient: sizes and mappings in one\n"
    "                           descent on the differentiable cost model, the budget's\n"
    "                           connectivity kept; cmaes+gradient: CMA-ES over the array axes'\n"
    "                           connectivity, a short gradient search inside (--iterations\n"
    "                           generations, default 6, of --popsize, default 8))\n"
    "  --sizing-only            keep the budget's connectivity, search the sizes only\n"
    "  --early-map-budget N     map the first generations' candidates with N evaluations per\n"
    "                           layer (default: --map-budget in every generation)\n"
    "  --early-iterations K     the generations --early-map-budget applies to (default: half)\n"
    "  --map-share A            map each layer of a candidate with --map-budget x (its share\n"
    "                           of the start design's cost / the largest share)^A evaluations,\n"
    "                           at least an eighth (0: every layer --map-budget; default 0)\n"
    "  --mapper-screen on|off   screen each candidate with an eighth of --map-budget and map\n"
    "                           the best quarter of each generation in full (default off)\n"
    "  --warm-map on|off        map each candidate's layers starting from the best design's\n"
    "                           mappings, fitted to it (default off)\n"
    "  --prune on|off           skip candidates whose lower bound rules them out (default on;\n"
    "                           exact: the result is the same either way)\n"
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

/* ---- main ------------------------------------------------------------------------ */

/* --kill-in-iteration N: SIGKILL in the middle of generation N + 1, once its
 * mapper jobs ran and before its checkpoint, so the checkpoint holds
 * exactly N generations and the work since is lost (tests of --resume). */
static void kill_hook(void *ctx, int64_t iteration) {
  if (iteration == *(const int64_t *)ctx) raise(SIGKILL);
}

int naasc_search_main(int argc, char **argv) {
  NaascSearchDriveOptions o;
  naasc_search_drive_options_default(&o);
  const char *models[NAAS_MAX_MODELS];
  bool quiet = false, no_progress = false, gradient = false, random = false;
  int64_t kill_in = 0;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  o.jobs = ncpu > 64 ? 64 : ncpu > 1 ? (int)ncpu : 1; /* results do not depend on it */
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
      o.dir = argv[++i];
    } else if (cli_is_flag(a, "--objective")) {
      v = cli_flag_value(argc, argv, &i, "--objective");
      if (v && (strcmp(v, "edp") == 0 || strcmp(v, "energy") == 0 || strcmp(v, "latency") == 0))
        o.objective = v;
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
      if (!v || vl >= sizeof num || !parse_pos(num, &o.max_area_um2))
        return usage_error("--max-area takes a positive area in mm^2 (or 'NUMum2'), not '%s'",
                           v ? v : "");
      if (!um) o.max_area_um2 *= 1e6;
    } else if (cli_is_flag(a, "--max-power")) {
      v = cli_flag_value(argc, argv, &i, "--max-power");
      if (!v || !parse_pos(v, &o.max_power_mw))
        return usage_error("--max-power takes a positive power in mW, not '%s'", v ? v : "");
    } else if (strcmp(a, "--byte-budget") == 0) {
      o.byte_budget = 1;
    } else if (cli_is_flag(a, "--assume")) {
      v = cli_flag_value(argc, argv, &i, "--assume");
      if (!v || (strcmp(v, "physical") != 0 && strcmp(v, "naas") != 0))
        return usage_error("--assume takes physical or naas, not '%s'", v ? v : "");
      o.assume = v;
    } else if (cli_is_flag(a, "--precision")) {
      v = cli_flag_value(argc, argv, &i, "--precision");
      Precision p;
      Diag pd;
      diag_init(&pd, stderr, "naasc");
      if (!v) return usage_error("%s", "--precision needs a value (e.g. w8a8, w1a1, fp16)");
      if (strcmp(v, "model") != 0 && precision_parse(v, &p, &pd, "--precision") != RC_OK)
        return RC_USAGE;
      o.precision = v;
    } else if (cli_is_flag(a, "--search-precision")) {
      if (!(o.accuracy_table = cli_flag_value(argc, argv, &i, "--search-precision")))
        return usage_error("%s", "--search-precision needs an accuracy table file");
    } else if (cli_is_flag(a, "--max-latency")) {
      v = cli_flag_value(argc, argv, &i, "--max-latency");
      if (!v || !parse_pos(v, &o.max_cycles))
        return usage_error("--max-latency takes a positive number of cycles, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--max-energy")) {
      v = cli_flag_value(argc, argv, &i, "--max-energy");
      if (!v || !parse_pos(v, &o.max_energy_pj))
        return usage_error("--max-energy takes a positive energy in pJ, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--iterations")) {
      v = cli_flag_value(argc, argv, &i, "--iterations");
      if (!v || !cli_parse_i64(v, 1, &o.iterations))
        return usage_error("--iterations takes a positive integer, not '%s'", v ? v : "");
    } else if (cli_is_flag(a, "--popsize")) {
      v = cli_flag_value(argc, argv, &i, "--popsize");
      if (!v || !cli_parse_i64(v, 4, &n) || n > 4096)
        return usage_error("--popsize takes an integer from 4 to 4096, not '%s'", v ? v : "");
      o.popsize = (int)n;
    } else if (cli_is_flag(a, "--map-budget")) {
      v = cli_flag_value(argc, argv, &i, "--map-budget");
      if (!v || !cli_parse_i64(v, 1, &o.map_budget) || o.map_budget > MAPPER_MAX_BUDGET)
        return usage_error("--map-budget takes an integer from 1 to 1000000000, not '%s'",
                           v ? v : "");
    } else if (cli_is_flag(a, "--early-map-budget") || cli_is_flag(a, "--early-iterations")) {
      bool eb = cli_is_flag(a, "--early-map-budget");
      v = cli_flag_value(argc, argv, &i, eb ? "--early-map-budget" : "--early-iterations");
      if (!v || !cli_parse_i64(v, 1, &n) || n > MAPPER_MAX_BUDGET)
        return usage_error(
            eb ? "--early-map-budget takes an integer from 1 to 1000000000, not '%s'"
               : "--early-iterations takes an integer from 1 to 1000000000, not '%s'",
            v ? v : "");
      if (eb)
        o.early_map_budget = n;
      else
        o.early_iterations = n;
    } else if (cli_is_flag(a, "--map-share")) {
      v = cli_flag_value(argc, argv, &i, "--map-share");
      double f;
      if (!v || !cli_parse_f64(v, &f) || f < 0 || f > 4)
        return usage_error("--map-share takes a number from 0 to 4, not '%s'", v ? v : "");
      o.map_share = f;
    } else if (cli_is_flag(a, "--optimizer")) {
      v = cli_flag_value(argc, argv, &i, "--optimizer");
      OptKind k = OPT_CMAES;
      gradient = v && (strcmp(v, "gradient") == 0 || strcmp(v, "cmaes+gradient") == 0);
      if (!gradient && (!v || !opt_parse(v, &k) || k == OPT_GENETIC))
        return usage_error("--optimizer takes cmaes, random, gradient or cmaes+gradient, not '%s'",
                           v ? v : "");
      random = !gradient && k == OPT_RANDOM;
      o.optimizer = v;
    } else if (cli_is_flag(a, "--final-map-budget")) {
      v = cli_flag_value(argc, argv, &i, "--final-map-budget");
      if (!v || !cli_parse_i64(v, 1, &o.final_map_budget) || o.final_map_budget > MAPPER_MAX_BUDGET)
        return usage_error("--final-map-budget takes an integer from 1 to 1000000000, not '%s'",
                           v ? v : "");
    } else if (cli_is_flag(a, "--rerank")) {
      v = cli_flag_value(argc, argv, &i, "--rerank");
      if (!v || !cli_parse_i64(v, 1, &n) || n > NAAS_TOP_MAX)
        return usage_error("--rerank takes an integer from 1 to 8 (NAAS_TOP_MAX), not '%s'",
                           v ? v : "");
      o.rerank = (int)n;
    } else if (strcmp(a, "--sizing-only") == 0) {
      o.sizing_only = 1;
    } else if (cli_is_flag(a, "--mapper-screen") || cli_is_flag(a, "--prune") ||
               cli_is_flag(a, "--warm-map")) {
      const char *flag = cli_is_flag(a, "--mapper-screen") ? "--mapper-screen"
                         : cli_is_flag(a, "--prune")       ? "--prune"
                                                           : "--warm-map"; /* search/naas.c */
      v = cli_flag_value(argc, argv, &i, flag);
      if (!v || (strcmp(v, "on") != 0 && strcmp(v, "off") != 0))
        return usage_error(flag[2] == 'm'   ? "--mapper-screen takes on or off, not '%s'"
                           : flag[2] == 'p' ? "--prune takes on or off, not '%s'"
                                            : "--warm-map takes on or off, not '%s'",
                           v ? v : "");
      bool on = strcmp(v, "on") == 0;
      if (flag[2] == 'm')
        o.mapper_screen = on;
      else if (flag[2] == 'p')
        o.no_prune = !on;
      else
        o.warm_map = on;
    } else if (cli_is_flag(a, "--schedule")) {
      v = cli_flag_value(argc, argv, &i, "--schedule");
      if (v && (strcmp(v, "fused") == 0 || strcmp(v, "layer") == 0))
        o.schedule = v;
      else
        return usage_error("--schedule takes fused or layer, not '%s'", v ? v : "");
    } else if (strcmp(a, "--fixed") == 0 || strncmp(a, "--fixed=", 8) == 0) {
      o.fixed = 1;
      if (a[7] == '=' && strcmp(a + 8, "as-built") == 0)
        o.fixed_as_built = 1;
      else if (a[7] == '=' && strcmp(a + 8, "best") != 0)
        return usage_error("--fixed takes best or as-built (--fixed=as-built), not '%s'", a + 8);
    } else if (strcmp(a, "--no-baseline") == 0) {
      o.no_baseline = 1;
    } else if (cli_is_flag(a, "--seed")) {
      v = cli_flag_value(argc, argv, &i, "--seed");
      if (!v || !cli_parse_i64(v, 0, &n))
        return usage_error("--seed takes a non-negative integer, not '%s'", v ? v : "");
      o.seed = (uint64_t)n;
    } else if (cli_is_flag(a, "--jobs") || strncmp(a, "-j", 2) == 0) {
      v = strcmp(a, "-j") == 0 ? (i + 1 < argc ? argv[++i] : NULL)
          : a[1] == 'j'        ? a + 2
                               : cli_flag_value(argc, argv, &i, "--jobs");
      if (!v || !cli_parse_i64(v, 1, &n) || n > 64)
        return usage_error("--jobs takes an integer from 1 to 64, not '%s'", v ? v : "");
      o.jobs = (int)n;
    } else if (cli_is_flag(a, "--checkpoint")) {
      if (!(o.checkpoint = cli_flag_value(argc, argv, &i, "--checkpoint")))
        return usage_error("%s", "--checkpoint needs a file");
    } else if (strcmp(a, "--resume") == 0) {
      o.resume = 1;
    } else if (cli_is_flag(a, "--stop-after-iteration")) { /* hidden: tests of --resume */
      v = cli_flag_value(argc, argv, &i, "--stop-after-iteration");
      if (!v || !cli_parse_i64(v, 1, &o.stop_after_iteration))
        return usage_error("--stop-after-iteration takes a positive integer, not '%s'", v ? v : "");
    } else if (cli_is_flag(a,
                           "--kill-in-iteration")) { /* hidden: tests of --resume after SIGKILL */
      v = cli_flag_value(argc, argv, &i, "--kill-in-iteration");
      if (!v || !cli_parse_i64(v, 0, &kill_in))
        return usage_error("--kill-in-iteration takes a non-negative integer, not '%s'",
                           v ? v : "");
      o.on_generation = kill_hook;
      o.on_generation_user = &kill_in;
    } else if (strcmp(a, "--no-progress") == 0) {
      no_progress = true;
    } else if (strcmp(a, "-q") == 0) {
      quiet = true;
    } else if (a[0] == '-' && a[1]) {
      return usage_error("unknown option '%s' for naasc --search", a);
    } else {
      if (o.nmodels == NAAS_MAX_MODELS) return usage_error("%s", "too many models (at most 16)");
      models[o.nmodels++] = a;
    }
  }
  if (!o.nmodels)
    return usage_error("%s",
                       "naasc --search needs at least one model (a .onnx file or a zoo name)");
  if (!o.budget) return usage_error("%s", "naasc --search needs --budget NAME|FILE.yaml");
  if (o.resume && !o.checkpoint) return usage_error("%s", "--resume needs --checkpoint FILE");
  if (gradient && (o.checkpoint || o.resume))
    return usage_error("%s", "--optimizer gradient takes no --checkpoint or --resume "
                             "(it keeps no optimizer state between rounds)");
  if (o.precision && o.accuracy_table)
    return usage_error("%s", "--precision and --search-precision: give one (the search chooses "
                             "the precision among the accuracy table's)");
  if (o.accuracy_table && (o.checkpoint || o.resume))
    return usage_error("%s", "--search-precision takes no --checkpoint or --resume");
  if (o.fixed && (o.sizing_only || random || gradient))
    return usage_error("%s", "--fixed searches nothing: no --sizing-only or --optimizer");
  if (o.rerank && (o.fixed || gradient))
    return usage_error("%s", "--rerank goes with the CMA-ES and random searches: --fixed searches "
                             "nothing, and --optimizer gradient or cmaes+gradient ends with one "
                             "design");

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
  o.models = models;
  o.progress = !no_progress && rank == 0 && isatty(2);
  o.rank = rank;
  o.nranks = nranks;
  /* only rank 0 prints its messages */
  NaascContext *ctx = rank == 0 ? cli_context() : naasc_context_create();
  char *summary = NULL;
  int rc = ctx ? (int)naasc_search_drive(ctx, &o, &summary) : RC_INTERNAL;
  if (summary && rank == 0 && !quiet) fputs(summary, stdout);
  naasc_string_free(summary);
  naasc_context_destroy(ctx);
#ifdef NAASC_MPI
  if (use_mpi) MPI_Finalize();
#endif
  return rc;
}
