/*
 * naasc_nas.c: `naasc --search --nas nasbench201`, the network level of
 * NAAS (search/search.h: nas_drive) from the command line (docs/nas.md).
 *
 *   naasc --search --nas nasbench201 --dataset cifar10 --budget eyeriss
 *         (--min-accuracy A | --max-edp X) [-o DIR] [options]
 *
 * Parses the flags and prints the summary line; the run (each cell's
 * network built, the co-search, the files below) is the C API's
 * naasc_nas_drive (api/naasc.h), whose messages reach stderr through the
 * context's diagnostic handler; --progress prints the predictor's fit and
 * each new best from the run's callbacks (on_predictor, on_progress).
 *
 * Writes into DIR (default ./naasc-nas/), every file atomically:
 *   result.json, history.csv, pareto.svg, arch.yaml, network.nir
 *                  (search/nas_drive.c says what each holds)
 *   network.report.txt, .json, .svg   its cost report per layer, under the
 *                                     schedule it was scored with
 * Exit codes as naasc's: 0 ok, 1 bad input, 2 bad usage, 3 internal.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "tools/internal.h"

static const char usage_text[] =
    "usage: naasc --search --nas nasbench201 --budget NAME|FILE.yaml\n"
    "             (--min-accuracy PCT | --max-edp X) [options]\n"
    "\n"
    "Searches a NAS-Bench-201 network together with its accelerator and mappings:\n"
    "regularized evolution over cells, each scored by the accelerator co-search.\n"
    "\n"
    "  --dataset D          cifar10 (default), cifar100 or imagenet16-120\n"
    "  --min-accuracy PCT   minimise EDP among networks at least this accurate\n"
    "  --max-edp X          maximise accuracy among designs with EDP <= X (pJ x cycles)\n"
    "  --budget NAME|FILE   the resources (PEs, on-chip memory, bandwidth): a preset or YAML\n"
    "  --cycles N           cells proposed in all (default 100)\n"
    "  --population P       aging evolution's population (default 20)\n"
    "  --sample S           its tournament size (default 5)\n"
    "  --seed N             the same seed gives the same run (default 1)\n"
    "  --labels K           pretend only K accuracies are known: search on a predictor\n"
    "  --pseudo-rounds R    predictor self-training rounds (default 1), --pseudo-pool N (1000)\n"
    "  --verify N           with --labels: look up the measured accuracy of the N best designs\n"
    "                       by prediction and pick among them (default 10; 0: prediction alone)\n"
    "  --naas-iterations N  accelerator search generations per network (default 4)\n"
    "  --naas-popsize N     its population (default 8)\n"
    "  --map-budget N       mapper evaluations per layer and accelerator (default 400); every\n"
    "                       design's final mapping, the baselines' too, adds a pass of\n"
    "  --final-map-budget N evaluations (default 20000, at least --map-budget)\n"
    "  --fixed              score every network on the budget arch as is (its own dataflow)\n"
    "  --no-baselines       skip the most-accurate-network baselines in result.json\n"
    "  --reference CELL     also compare with this network (arch string or index) on the\n"
    "                       budget arch with its own dataflow, e.g. NAS-Bench-201's ResNet\n"
    "  --nb201-data FILE    the accuracy table (default: found as data/nasbench201/README.md says)\n"
    "  --jobs N, -j N       threads for the accelerator search\n"
    "  -o DIR               output directory (default naasc-nas)\n"
    "  --progress           progress lines on stderr\n";

/* --progress: a line on stderr per new best network. */
static void print_progress(void *user, const NaascNasProgress *p) {
  (void)user;
  fprintf(stderr, "nas: %d cells scored, %lld proposed: best cell %d acc %.2f%% edp %.4g%s\n",
          p->networks, (long long)p->proposed, p->cell, p->accuracy, p->edp,
          p->met ? "" : " (bound not met)");
}

/* --progress with --labels: the predictor's fit, on stderr before the search. */
static void print_predictor(void *user, int64_t labels, double tau, double tau_plain) {
  (void)user;
  fprintf(stderr,
          "nas: predictor on %lld labels: held-out Kendall tau %.4f (%.4f without "
          "pseudo-labels)\n",
          (long long)labels, tau, tau_plain);
}

static int usage_error(const char *fmt, const char *arg) {
  return cli_usage_error("naasc --search --nas nasbench201 --help", fmt, arg);
}

int naasc_nas_main(int argc, char **argv) {
  const char *space = NULL, *budget_name = NULL, *dir = "naasc-nas", *data = NULL,
             *reference = NULL;
  Nb201Dataset dataset = NB201_CIFAR10;
  bool have_min = false, have_max = false, baselines = true, fixed = false, progress = false;
  double min_acc = 0, max_edp = 0;
  int64_t cycles = 100, population = 20, sample = 5, seed = 1, labels = 0, rounds = 1, pool = 1000,
          verify = 10, naas_iters = 4, naas_pop = 8, map_budget = 400, jobs = 1,
          final_map_budget = 20000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      return RC_OK;
    } else if (strcmp(a, "--search") == 0) {
      continue;
    } else if (cli_is_flag(a, "--nas")) {
      if (!(space = cli_flag_value(argc, argv, &i, "--nas")))
        return usage_error("%s", "--nas needs a space (nasbench201)");
    } else if (cli_is_flag(a, "--dataset")) {
      v = cli_flag_value(argc, argv, &i, "--dataset");
      if (!v || !nb201_dataset_parse(v, &dataset))
        return usage_error("--dataset takes cifar10, cifar100 or imagenet16-120, not '%s'",
                           v ? v : "");
    } else if (cli_is_flag(a, "--min-accuracy")) {
      v = cli_flag_value(argc, argv, &i, "--min-accuracy");
      if (!cli_parse_f64(v, &min_acc) || min_acc < 0 || min_acc > 100)
        return usage_error("--min-accuracy takes a percentage, not '%s'", v ? v : "");
      have_min = true;
    } else if (cli_is_flag(a, "--max-edp")) {
      v = cli_flag_value(argc, argv, &i, "--max-edp");
      if (!cli_parse_f64(v, &max_edp) || max_edp <= 0)
        return usage_error("--max-edp takes a positive number, not '%s'", v ? v : "");
      have_max = true;
    } else if (cli_is_flag(a, "--budget")) {
      if (!(budget_name = cli_flag_value(argc, argv, &i, "--budget")))
        return usage_error("%s", "--budget needs a preset name or a file");
    } else if (cli_is_flag(a, "--reference")) {
      if (!(reference = cli_flag_value(argc, argv, &i, "--reference")))
        return usage_error("%s", "--reference needs a cell (arch string or index)");
    } else if (cli_is_flag(a, "--nb201-data")) {
      if (!(data = cli_flag_value(argc, argv, &i, "--nb201-data")))
        return usage_error("%s", "--nb201-data needs a file");
    } else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) return usage_error("%s", "-o needs a directory");
      dir = argv[++i];
    } else if (strcmp(a, "--no-baselines") == 0) {
      baselines = false;
    } else if (strcmp(a, "--fixed") == 0) {
      fixed = true;
    } else if (strcmp(a, "--progress") == 0) {
      progress = true;
    } else {
      static const struct {
        const char *flag;
        int64_t lo;
      } ints[] = {{"--cycles", 1},       {"--population", 1},
                  {"--sample", 1},       {"--seed", 0},
                  {"--labels", 2},       {"--pseudo-rounds", 0},
                  {"--pseudo-pool", 0},  {"--naas-iterations", 1},
                  {"--naas-popsize", 2}, {"--map-budget", 10},
                  {"--jobs", 1},         {"-j", 1},
                  {"--verify", 0},       {"--final-map-budget", 10}};
      int64_t *dst[] = {&cycles, &population,      &sample,   &seed,       &labels, &rounds,
                        &pool,   &naas_iters,      &naas_pop, &map_budget, &jobs,   &jobs,
                        &verify, &final_map_budget};
      int k = 0, nk = (int)(sizeof ints / sizeof ints[0]);
      while (k < nk && !cli_is_flag(a, ints[k].flag)) k++;
      if (k == nk) return usage_error("unknown option '%s' for 'naasc --search --nas'", a);
      v = cli_flag_value(argc, argv, &i, ints[k].flag);
      if (!cli_parse_i64(v, ints[k].lo, dst[k]))
        return usage_error(ints[k].lo ? "%s takes a positive integer" : "%s takes an integer >= 0",
                           ints[k].flag);
    }
  }
  if (!space || strcmp(space, "nasbench201") != 0)
    return usage_error("--nas takes 'nasbench201', not '%s'", space ? space : "");
  if (!budget_name) return usage_error("%s", "naasc --search --nas needs --budget NAME|FILE.yaml");
  if (have_min == have_max)
    return usage_error("%s", "give exactly one of --min-accuracy and --max-edp");
  if (sample > population) return usage_error("%s", "--sample must not exceed --population");
  if (population > 100000 || cycles > 10000000)
    return usage_error("%s", "--population or --cycles too large");

  NaascNasDriveOptions o;
  naasc_nas_drive_options_default(&o);
  o.space = space;
  o.dataset = nb201_dataset_name(dataset);
  o.budget = budget_name;
  o.dir = dir;
  o.min_accuracy = have_min ? min_acc : -1;
  o.max_edp = have_max ? max_edp : 0;
  o.cycles = cycles, o.population = population, o.sample = sample, o.seed = (uint64_t)seed;
  o.labels = labels, o.pseudo_rounds = rounds, o.pseudo_pool = pool, o.verify = verify;
  o.naas_iterations = naas_iters, o.naas_popsize = naas_pop, o.map_budget = map_budget;
  o.final_map_budget = final_map_budget;
  o.jobs = jobs > INT_MAX ? INT_MAX : (int)jobs;
  o.no_baselines = !baselines, o.fixed = fixed;
  if (progress) o.on_progress = print_progress, o.on_predictor = print_predictor;
  o.reference = reference;
  o.data = data;
  NaascContext *ctx = cli_context();
  char *summary = NULL;
  int rc = ctx ? (int)naasc_nas_drive(ctx, &o, &summary) : RC_INTERNAL;
  if (summary) fputs(summary, stdout);
  naasc_string_free(summary);
  naasc_context_destroy(ctx);
  return rc;
}
