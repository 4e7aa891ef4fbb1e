/*
 * backend.h: the one interface of backend/: the analytical cost model
 * (cost.c), the readers of the Timeloop validation cases and of the YAML
 * arch/problem/mapping files (case.c), the comparison of two CostResults
 * (report.c), and the cost of whole-network schedules and their text form
 * (schedule.c, schedule_text.c).
 *
 * The cost model reproduces Timeloop v3.0.3's counts in closed form
 * (docs/cost-model.md); it allocates nothing and keeps no state, so any
 * number of threads may call cost_eval at once.
 */
#ifndef NAASC_BACKEND_H
#define NAASC_BACKEND_H

#include <stdio.h>

#include "accel.h"
#include "ir.h"
#include "kernel.h"

/* ---- cost model -------------------------------------------------------- */

/* Why a (problem, arch, mapping) triple cannot be evaluated. */
typedef enum {
  COST_OK = 0,
  COST_EPROBLEM,     /* a dim, stride or dilation < 1, or sizes overflow */
  COST_EARCH,        /* the arch is malformed (no levels, fanout < 1, ...) */
  COST_ELEVELS,      /* mapping and arch have different level counts */
  COST_EFACTOR,      /* a factor < 1, a bad remainder or order, or dims not covered exactly */
  COST_EFANOUT,      /* a spatial unrolling exceeds an axis' fanout */
  COST_ECONNECT,     /* a dim unrolled on an axis that does not allow it */
  COST_EKEEP,        /* keep not a subset of keeps_allowed, or DRAM not keeping all */
  COST_ECAPACITY,    /* the kept tiles exceed a level's capacity */
  COST_EUNSUPPORTED, /* valid in principle, not modelled (docs/cost-model.md) */
  COST_NERRORS
} CostError;

/* "ok", "factor", ...: a short name of a CostError. */
const char *cost_error_name(int err);

/* Evaluates the mapping: fills *out and returns COST_OK, or returns the
 * first reason the mapping is invalid (*out is then unspecified).
 * No allocation, no I/O. */
int cost_eval(const Problem *p, const Arch *a, const Mapping *m, CostResult *out);

/* cost_eval with Timeloop's extrapolated walk everywhere instead of the
 * closed forms for perfect nests: slower, the same results; for tests. */
int cost_eval_reference(const Problem *p, const Arch *a, const Mapping *m, CostResult *out);

/* Checks the triple as cost_eval does, reporting every violation through d
 * in words a user can act on.  RC_OK if cost_eval would succeed. */
Rc cost_check_mapping(const Problem *p, const Arch *a, const Mapping *m, Diag *d);

/* ---- validation cases --------------------------------------------------- */

/* A case of shared/validation/timeloop ("dnn-accel-costmodel-validation/1"):
 * the triple plus Timeloop's figures in CostResult form (only the fields
 * the case states are set; edp, seconds and area stay 0). */
typedef struct {
  char name[2 * ACCEL_NAME_MAX + 32];
  Problem problem;
  Arch arch;
  Mapping mapping;
  CostResult expected;
} CostCase;

/* Reads one case file.  Errors name the file, the line and the key
 * ("case.json:12:7: error: 'arch.levels[2].instances': expected an integer"). */
Rc case_load(const char *path, CostCase *c, Diag *d);

/* ---- YAML inputs ---------------------------------------------------------- */

/* The architecture, problem and mapping files of `naasc cost --arch A.yaml
 * --problem P.yaml --mapping M.yaml` (formats in docs/cost-model.md).
 * Unknown keys are errors; every error names file:line:column and the key
 * path.  A mapping is read against its arch (levels are matched by name). */
Rc arch_load(const char *path, Arch *a, Diag *d);
Rc problem_load(const char *path, Problem *p, Diag *d);
Rc mapping_load(const char *path, const Arch *a, Mapping *m, Diag *d);

/* ---- comparison --------------------------------------------------------- */

/* How many figures differ: access counts must be equal; cycles, energies and
 * utilization within COST_REL_TOL.  Prints one line per figure to out (NULL:
 * silent); with only_failures, only the lines that differ. */
#define COST_REL_TOL 0.01
int cost_compare(const CostResult *got, const CostResult *want, const Arch *a, FILE *out,
                 bool only_failures);

/* ---- architecture presets and printing (preset.c, arch_print.c) ------------
 * Appended for the NAAS baseline presets (backend/presets/README.md). */

/* arch_load of the len bytes at text, named `name` in messages (case.c). */
Rc arch_load_text(const char *text, size_t len, const char *name, Arch *a, Diag *d);

/* The presets compiled into the library (backend/presets/NAME.yaml): their
 * names, in a fixed order; *n gets the count. */
const char *const *arch_preset_names(int *n);

/* The YAML text of a preset (with its citations), or NULL; *len its length. */
const char *arch_preset_text(const char *name, size_t *len);

/* Loads a preset by name; RC_BADINPUT (reported, listing the presets) if
 * there is no such preset. */
Rc arch_preset_load(const char *name, Arch *a, Diag *d);

/* A --target: a preset name, an arch file (*.yaml, *.yml) or a Timeloop
 * validation case (*.json, its arch).  RC_BADINPUT (reported) otherwise. */
Rc arch_resolve(const char *name_or_path, Arch *a, Diag *d);

/* Writes a in the YAML arch format; arch_load reads it back to the same
 * struct, so print -> load -> print is byte-identical. */
void arch_print(FILE *f, const Arch *a);


/* ---- command stream (cmd_emit.c) -------------------------------------------
 * Appended for the runtime (#6); the format is docs/cmd-format.md, its
 * constants ir/cmdfmt.h.  The reader, validator and disassembler are in
 * runtime/ (runtime.h).  Declared only where nest.h is included first:
 * cost.c has a private type named Nest. */
#ifdef NAASC_NEST_H

typedef struct {
  size_t bytes;        /* the whole stream */
  size_t cmd_bytes;    /* the command section */
  size_t weight_bytes; /* the weight section (64-byte aligned entries) */
  int layers, mac_layers;
  int commands;        /* records in the command section */
  uint32_t kernels;    /* distinct compute-tile kernels */
} CmdStats;

/* Writes the command stream of a lowered module (mac nests mapped onto a, or
 * unmapped) into a heap buffer *out (caller frees with xfree).  Weight
 * values come from g, matched by tensor name; a weight without data is an
 * error naming it.  st (may be NULL) gets the sizes. */
Rc cmd_emit(const Module *m, const Model *g, const Arch *a, uint8_t **out, size_t *len,
            CmdStats *st, Diag *d);
#endif

/* ---- codegen: compute tiles compiled with LLVM (codegen.c) ----------------
 * Appended for the JIT of issue #6.  A Codegen owns an ORC LLJIT; each
 * distinct TileKernel (kernel_equal) is compiled once, with LLVM's O2
 * pipeline for the host CPU, into a function whose results are
 * bit-identical to kernel_ref (runtime/kernel.h).  All calls on one
 * Codegen are serialized by its mutex: any number of threads may share it.
 * Compiled functions stay valid until codegen_destroy. */

typedef struct Codegen Codegen;

/* A JIT for the host; NULL (reported) if LLVM cannot target it. */
Codegen *codegen_create(Diag *d);
void codegen_destroy(Codegen *cg);

/* The compiled function of k in *fn, from the cache or compiled now.
 * RC_BADINPUT (reported, *fn NULL) if k breaks ir/kernel.h's invariants
 * (nloops outside 1..KERNEL_MAX_LOOPS, a bound < 1, a stride < 0) or an
 * index or its MAC count overflows int64; RC_INTERNAL (reported) if LLVM
 * fails.  The function requires o to overlap neither i nor w. */
Rc codegen_kernel(Codegen *cg, const TileKernel *k, KernelFn *fn, Diag *d);

/* Kernels compiled so far (cache hits not counted) and the wall-clock
 * seconds spent compiling them (IR, O2, machine code, symbol lookup). */
void codegen_stats(const Codegen *cg, int64_t *kernels, double *compile_seconds);

/* ---- whole-network schedules (schedule.c, schedule_text.c) ------------------
 * The cost of a Schedule (ir/accel.h) of a mapped module: docs/cost-model.md,
 * "Whole-network schedules".  Declared only where nest.h is included first. */
#ifdef NAASC_NEST_H

/* A module and its target analysed for schedules: every mac nest's layer
 * cost (cost_eval of its mapping), the writers and readers of every tensor,
 * and a cache of tile costs.  Not to be shared between threads. */
typedef struct SchedModel SchedModel;

/* RC_BADINPUT (reported, naming the nest) if a mac nest has no mapping or
 * its mapping does not evaluate on a.  m and a must outlive the model. */
Rc sched_model_create(const Module *m, const Arch *a, SchedModel **out, Diag *d);
void sched_model_destroy(SchedModel *sm);

/* The levels (bit per level) that may hold a group's activations: on chip,
 * one instance, allowed to keep I and O. */
uint8_t sched_model_homes(const SchedModel *sm);
const Module *sched_model_module(const SchedModel *sm);
const Arch *sched_model_arch(const SchedModel *sm);
/* A mac nest's cost alone (cost_eval of its mapping), or NULL. */
const CostResult *sched_model_layer(const SchedModel *sm, uint32_t nest);
/* cost_eval calls made for depth-first tiles so far. */
int64_t sched_model_tile_evals(const SchedModel *sm);
/* Whether nest's output can end a depth-first group; its rows and columns. */
bool sched_nest_tileable(const SchedModel *sm, uint32_t nest, int64_t *rows, int64_t *cols);

/* Recomputes r's total energy, cycles, EDP and utilization from its level
 * energies and per-instance counts, as schedule.c does after it moves
 * counts (cost.c's formulas, README 4.5-4.6).  On cost_eval's own result it
 * must reproduce it exactly (checked on every zoo layer by schedule.zoo). */
void sched_recount(CostResult *r, const Arch *a);

/* The mapping of a tile of rows x cols of a layer: full's loops over P and
 * Q cut down (innermost first, each factor to the largest divisor of what
 * is left; DRAM takes the rest).  Equal bounds give full unchanged. */
void sched_shrink_mapping(const Mapping *full, int64_t rows, int64_t cols, Mapping *out);

/* The costs of every group [a, b] with amin <= a < b and the settings of
 * cfg (its first and last are ignored): E[a - amin] pJ and C[a - amin]
 * cycles, summed over the group's mac nests, where ok[a - amin]; groups that
 * cannot run get ok false.  The search's entry point: one pass serves every
 * start a. */
Rc sched_range_costs(SchedModel *sm, const SchedGroup *cfg, uint32_t amin, uint32_t b, double *E, int64_t *C,
                     bool *ok);

/* RC_OK if group g can run; else RC_BADINPUT, with why reported at
 * "where: group 'FIRST'..'LAST'". */
Rc sched_group_check(SchedModel *sm, const SchedGroup *g, const char *where, Diag *d);

typedef struct {
  double energy_pj;   /* sum over the mac nests, in module order */
  int64_t cycles;     /* sum: the nests and tiles run one after another */
  double edp;         /* energy_pj * cycles */
  int64_t macs;       /* MACs run (recomputed overlaps included) */
  int64_t dram_words; /* reads + fills + updates at level 0, every tensor */
} SchedTotals;

/* Evaluates schedule s: per_nest[i] (m->nnests entries) gets mac nest i's
 * counts under s in cost_eval's form, zero for other nests; a nest in no
 * group gets cost_eval's result unchanged.  RC_BADINPUT (reported) if a
 * group cannot run. */
Rc schedule_eval(SchedModel *sm, const Schedule *s, CostResult *per_nest, SchedTotals *tot, Diag *d);

/* The text form (docs/cost-model.md): a header naming the model and target,
 * then one line per group naming its nests.  print -> parse -> print is
 * byte-identical. */
void schedule_print(FILE *f, const Module *m, const Arch *a, const Schedule *s);

/* Parses the text form against the model: names must be nests of the
 * module, each group consecutive nests, groups in order; each group is then
 * checked (sched_group_check).  Errors carry line:col (d->file names the
 * file). */
Rc schedule_parse(const char *text, size_t len, SchedModel *sm, Schedule *s, Diag *d);

#endif

#endif
