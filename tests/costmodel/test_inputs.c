/*
 * test_inputs.c: the readers and the mapping checks.
 *
 *   1. yaml/ holds vgg16_conv3_1 on eyeriss_like as naasc YAML files; they
 *      must give exactly the figures Timeloop gives for the same case.
 *   2. Every file in bad/ must be rejected with the message listed below
 *      (file:line:column, the key path, the reason).
 *   3. Invalid mappings, made by editing the good one, must be rejected by
 *      cost_eval with the right CostError and by cost_check_mapping with
 *      the message listed below.
 *
 * Usage: test_inputs TESTS_COSTMODEL_DIR CASES_DIR.  Prints "N passed, M failed".
 */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

static int npass, nfail;
static char dir[2048];

static void expect(bool ok, const char *what) {
  if (ok)
    npass++;
  else
    nfail++, printf("FAIL %s\n", what);
}

static const char *path_of(const char *sub) {
  static char buf[2][4096];
  static int k;
  k ^= 1;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, sub);
  return buf[k];
}

/* Runs fn with a Diag writing into a string; checks that it fails and that
 * the messages contain want. */
typedef Rc (*LoadFn)(const char *path, Diag *d);

static Arch good_arch;

static Rc load_arch(const char *p, Diag *d) {
  static Arch a;
  return arch_load(p, &a, d);
}
static Rc load_problem(const char *p, Diag *d) {
  static Problem pr;
  return problem_load(p, &pr, d);
}
static Rc load_mapping(const char *p, Diag *d) {
  static Mapping m;
  return mapping_load(p, &good_arch, &m, d);
}
static Rc load_case(const char *p, Diag *d) {
  static CostCase c;
  return case_load(p, &c, d);
}

static void expect_error(LoadFn fn, const char *file, const char *want) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  Diag d;
  diag_init(&d, mem, NULL);
  Rc rc = fn(path_of(file), &d);
  fclose(mem);
  bool ok = rc == RC_BADINPUT && text && strstr(text, want) && strstr(text, file);
  if (!ok) printf("  %s: got rc %d, messages:\n%s  wanted: %s\n", file, rc, text ? text : "", want);
  expect(ok, file);
  free(text);
}

/* A mapping edit and the error it must raise. */
static void expect_invalid(const Problem *p, const Arch *a, const Mapping *m, int code,
                           const char *want, const char *what) {
  CostResult r;
  int err = cost_eval(p, a, m, &r);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  Diag d;
  diag_init(&d, mem, "m.yaml");
  Rc rc = cost_check_mapping(p, a, m, &d);
  fclose(mem);
  bool ok = err == code && rc == RC_BADINPUT && text && strstr(text, want);
  if (!ok)
    printf("  %s: cost_eval %s (wanted %s), messages:\n%s  wanted: %s\n", what,
           cost_error_name(err), cost_error_name(code), text ? text : "", want);
  expect(ok, what);
  free(text);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_inputs TESTS_COSTMODEL_DIR CASES_DIR\n");
    return 2;
  }
  snprintf(dir, sizeof dir, "%s", argv[1]);
  Diag d;
  diag_init(&d, stdout, NULL);

  /* 1. The YAML triple reproduces Timeloop's figures. */
  static Problem p;
  static Mapping m;
  static CostCase c;
  bool loaded = arch_load(path_of("yaml/eyeriss_like.arch.yaml"), &good_arch, &d) == RC_OK &&
                problem_load(path_of("yaml/vgg16_conv3_1.problem.yaml"), &p, &d) == RC_OK &&
                mapping_load(path_of("yaml/vgg16_conv3_1.eyeriss_like.mapping.yaml"), &good_arch,
                             &m, &d) == RC_OK;
  expect(loaded, "yaml/ loads");
  char cpath[4096];
  snprintf(cpath, sizeof cpath, "%s/vgg16_conv3_1__eyeriss_like__mapper.json", argv[2]);
  expect(case_load(cpath, &c, &d) == RC_OK, "the reference case loads");
  if (loaded) {
    CostResult r;
    int err = cost_eval(&p, &good_arch, &m, &r);
    expect(err == COST_OK, "yaml/ mapping evaluates");
    if (!err)
      expect(cost_compare(&r, &c.expected, &good_arch, stdout, true) == 0,
             "yaml/ gives Timeloop's figures");
  }

  /* 2. Malformed files. */
  expect_error(load_arch, "bad/arch_unknown_key.yaml",
               "6:5: error: 'levels[0].capacty_words': unknown key");
  expect_error(load_arch, "bad/arch_capacity_not_integer.yaml",
               "7:21: error: 'levels[1].capacity_words': expected an integer");
  expect_error(load_arch, "bad/arch_connectivity_letter.yaml",
               "7:23: error: 'levels[0].connectivity.x': not a dimension letter");
  expect_error(load_arch, "bad/yaml_syntax.yaml", "error: not valid YAML/JSON");
  expect_error(load_problem, "bad/problem_missing_dims.yaml", "1:1: error: 'dims': missing");
  expect_error(load_problem, "bad/problem_stride_pair.yaml",
               "3:9: error: 'stride': expected [along P/R, along Q/S]");
  expect_error(load_mapping, "bad/mapping_level_count.yaml",
               "2:3: error: 'levels': needs one entry per level of arch 'eyeriss_like' (6)");
  expect_error(load_mapping, "bad/mapping_level_name.yaml",
               "4:12: error: 'levels[2].level': expected 'DummyBuffer'");
  expect_error(load_mapping, "bad/mapping_dim_letter.yaml",
               "3:22: error: 'levels[0].temporal.X': not a dimension letter");
  expect_error(load_mapping, "bad/mapping_order_repeat.yaml",
               "3:12: error: 'levels[0].order': not a permutation");
  expect_error(load_case, "bad/case_format.json",
               "1:12: error: 'format': expected \"dnn-accel-costmodel-validation/1\"");
  expect_error(load_case, "bad/case_instances_not_integer.json",
               "7:56: error: 'arch.levels[0].instances': expected an integer");

  /* 3. Invalid mappings (indices: 0 DRAM, 1 shared_glb, 2 DummyBuffer,
   *    3 ifmap_spad, 4 weights_spad, 5 psum_spad). */
  if (loaded) {
    Mapping e = m;
    e.level[5].factor[DIM_K] = 8;
    expect_invalid(&p, &good_arch, &e, COST_EFACTOR,
                   "the factors of K cover 128, the problem has 256", "factors_cover_dims");
    e = m, e.level[4].factor[DIM_C] = 8, e.level[0].factor[DIM_C] = 16;
    expect_invalid(&p, &good_arch, &e, COST_ECAPACITY,
                   "level 'weights_spad': the kept tiles need 384 words, it holds 192",
                   "capacity_exceeded");
    e = m, e.level[1].spatial[AXIS_X][DIM_K] = 4, e.level[0].factor[DIM_K] = 1;
    expect_invalid(&p, &good_arch, &e, COST_EFANOUT,
                   "28-way unrolling on axis x exceeds its fanout 14", "fanout_exceeded");
    Arch a = good_arch;
    a.level[1].connectivity[AXIS_X] = (uint8_t)(1u << DIM_K | 1u << DIM_C);
    expect_invalid(&p, &a, &m, COST_ECONNECT,
                   "level 'shared_glb': dim Q may not be unrolled on axis x",
                   "connectivity_respected");
    e = m, e.level[1].keep |= 1u << TENSOR_W;
    expect_invalid(&p, &good_arch, &e, COST_EKEEP, "level 'shared_glb' may not keep",
                   "keep_within_allowed");
    e = m, e.level[0].keep = 1u << TENSOR_W | 1u << TENSOR_I;
    expect_invalid(&p, &good_arch, &e, COST_EKEEP,
                   "the outermost level 'DRAM' must keep W, I and O", "dram_keeps_all");
    e = m, e.level[0].factor[DIM_K] = 1, e.level[5].factor[DIM_K] = 44,
    e.level[5].remainder[DIM_K] = 40;
    expect_invalid(&p, &good_arch, &e, COST_EUNSUPPORTED,
                   "a spatial loop over K encloses a remainder on K", "remainder_inside_spatial");
    e = m, e.level[4].order[1] = DIM_R; /* R twice */
    expect_invalid(&p, &good_arch, &e, COST_EFACTOR, "temporal order is not a permutation",
                   "order_permutation");
    e = m, e.level[0].remainder[DIM_Q] = 9;
    expect_invalid(&p, &good_arch, &e, COST_EFACTOR, "remainder Q = 9 is not in 0..8",
                   "remainder_range");
  }

  printf("%d passed, %d failed\n", npass, nfail);
  return nfail == 0 ? 0 : 1;
}
