/*
 * backend.h: the public interface of backend/ (included as
 * "backend/backend.h"; backend/ depends on ir/ only): the analytical cost
 * model (cost.c) and its differentiable form (dcost.c), the readers of the Timeloop validation cases and of the
 * YAML arch/problem/mapping files (case.c), the comparison of two
 * CostResults (report.c), the architecture presets and printer
 * (preset.c, arch_print.c), the technology model (tech.c), Timeloop's and
 * Accelergy's formats (timeloop.c, timeloop_write.c), and the cost of
 * whole-network schedules and their text form (schedule.c, schedule_text.c).
 *
 * The cost model reproduces Timeloop v3.0.3's counts in closed form
 * (docs/cost-model.md); it allocates nothing and keeps no state, so any
 * number of threads may call cost_eval at once.
 */
#ifndef NAASC_BACKEND_H
#define NAASC_BACKEND_H

#include <stdio.h>

#include "ir/ir.h"

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
  COST_ECONSTRAINT,  /* outside the arch's mapping constraints (the mapper's, mapcons_satisfied) */
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

/* ---- the differentiable cost model (dcost.c) ------------------------------
 * cost_eval's energy and cycles as smooth functions of a relaxed mapping,
 * with exact gradients (reverse-mode differentiation on a tape).  At
 * temperature 0 and the relaxed point of a discrete mapping (dcost_relax)
 * the values are cost_eval's (docs/cost-model.md, section 14). */

/* A relaxed mapping of a Problem on an Arch.  Variables that the arch or
 * the problem fix (a dim of bound 1, an axis of fan-out 1 or one whose
 * connectivity excludes the dim, a keep the level must or may not make,
 * DRAM's temporal factors) are ignored. */
typedef struct {
  double t[ACCEL_MAX_LEVELS][NDIMS];                 /* log temporal factor, levels >= 1 */
  double s[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES][NDIMS]; /* log spatial factor */
  double order[ACCEL_MAX_LEVELS][NDIMS];             /* loop importance: higher is outer */
  double keep[ACCEL_MAX_LEVELS][NTENSORS];           /* keep logit: > 0 keeps */
} RelaxedMapping;

typedef struct {
  double energy_pj, cycles;           /* at T = 0 on a discrete point: cost_eval's */
  double log_energy, log_cycles;      /* their logs (what a search descends) */
  double penalty;                     /* smooth excess over the arch's capacities, fan-outs,
                                     instances, and padding beyond the dims; log units,
                                     0 at T = 0 when the point fits */
  double log_words[ACCEL_MAX_LEVELS]; /* log kept tile words per level (>= 1) */
  double log_spatial[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES]; /* log unrolling per axis */
  int nodes;                                            /* tape size */
} DcostResult;

/* The derivative of a loss with respect to each output of a DcostResult. */
typedef struct {
  double log_energy, log_cycles, penalty;
  double log_words[ACCEL_MAX_LEVELS];
  double log_spatial[ACCEL_MAX_LEVELS][ACCEL_MAX_AXES];
} DcostSeed;

/* The record of one evaluation, for its gradient; one per thread. */
typedef struct DcostTape DcostTape;
DcostTape *dcost_tape_create(void); /* NULL if out of memory */
void dcost_tape_destroy(DcostTape *t);

/* The relaxed point of m: log factors, importances from its orders, keep
 * logits of +-8.  COST_EUNSUPPORTED if m has remainders (outside the
 * relaxation), COST_EFACTOR or COST_ELEVELS if it is malformed. */
int dcost_relax(const Problem *p, const Arch *a, const Mapping *m, RelaxedMapping *r);

/* Evaluates r at temperature T >= 0 (0: exact) into *out, recording the
 * tape.  COST_OK, or COST_EPROBLEM / COST_EARCH for a malformed input,
 * COST_EUNSUPPORTED for a negative or NaN temperature or when the tape
 * cannot grow (out of memory). */
int dcost_eval(const Problem *p, const Arch *a, const RelaxedMapping *r, double temperature,
               DcostTape *t, DcostResult *out);

/* The gradient of sum(seed x outputs) of the last dcost_eval on t. */
void dcost_grad(DcostTape *t, const DcostSeed *seed, RelaxedMapping *grad);

/* ---- validation cases --------------------------------------------------- */

/* A case of tests/data/timeloop ("dnn-accel-costmodel-validation/1"):
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
 * The presets are backend/presets/NAME.yaml (backend/presets/README.md),
 * compiled into the library. */

/* arch_load of the len bytes at text, named `name` in messages (case.c). */
Rc arch_load_text(const char *text, size_t len, const char *name, Arch *a, Diag *d);

/* arch_load (path) or arch_load_text (text, len; path names it) with the
 * file's `as_built:` section applied: the chip's own dataflow as mapping
 * constraints and must_keep (docs/cost-model.md, "As built").  RC_BADINPUT
 * (reported, naming the arch) if the file has no such section. */
Rc arch_load_as_built(const char *path, const char *text, size_t len, Arch *a, Diag *d);

/* The presets compiled into the library (backend/presets/NAME.yaml): their
 * names, in a fixed order; *n gets the count. */
const char *const *arch_preset_names(int *n);

/* The YAML text of a preset (with its citations), or NULL; *len its length. */
const char *arch_preset_text(const char *name, size_t *len);

/* Loads a preset by name; RC_BADINPUT (reported, listing the presets) if
 * there is no such preset. */
Rc arch_preset_load(const char *name, Arch *a, Diag *d);

/* A --target: a preset name, an arch file (*.yaml, *.yml: naasc's, or a
 * Timeloop specification, told apart by content; timeloop_load), a folder of
 * Timeloop files, or a Timeloop validation case (*.json, its arch).
 * RC_BADINPUT (reported) otherwise. */
Rc arch_resolve(const char *name_or_path, Arch *a, Diag *d);

/* arch_resolve of a preset or a naasc arch file with its `as_built:`
 * dataflow applied (arch_load_as_built; `--fixed=as-built`).  RC_BADINPUT
 * (reported) for anything else, or a file without the section. */
Rc arch_resolve_as_built(const char *name_or_path, Arch *a, Diag *d);

/* Writes a in the YAML arch format; arch_load reads it back to the same
 * struct, so print -> load -> print is byte-identical. */
void arch_print(FILE *f, const Arch *a);

/* ---- technology model (tech.c) ---------------------------------------------
 * Energy per action and area of a component from its attributes and the
 * technology node (docs/technology.md: the model, its data and how far it is
 * from each published point).  No allocation, no state: thread-safe. */

typedef enum {
  TECH_NONE = 0,
  TECH_SRAM,    /* an SRAM array (CACTI): depth, width, banks, ports */
  TECH_REGFILE, /* a flip-flop register file: depth, width, banks, ports */
  TECH_MAC,     /* a multiply-accumulate unit (or its multiplier or adder) */
  TECH_DRAM,    /* off-chip DRAM: type, width per access */
  TECH_NOC,     /* an on-chip wire hop: width, length */
  TECH_NKINDS
} TechKind;

/* Number formats of a MAC's operands and accumulator. */
typedef enum { TECH_INT = 0, TECH_BINARY, TECH_FP16, TECH_BF16, TECH_FP32 } TechNumber;

/* The part of a MAC to cost: all of it, the multiplier, or the adder. */
typedef enum { TECH_OP_MAC = 0, TECH_OP_MUL, TECH_OP_ADD } TechOp;

typedef enum { TECH_LPDDR4 = 0, TECH_DDR4, TECH_HBM2, TECH_GDDR5, TECH_NDRAM } TechDram;

/* A component; tech_init sets the defaults noted. */
typedef struct {
  TechKind kind;
  double node_nm;    /* technology node, 7-130 nm; 0 = not given (needed but for DRAM) */
  int64_t depth;     /* words (sram, regfile) */
  int width;         /* bits per word or access (sram, regfile, dram, noc) */
  int banks;         /* sram, regfile: 1-32 (1) */
  int ports;         /* read-write ports, sram, regfile: 1-4 (1) */
  TechNumber number; /* mac operands (TECH_INT) */
  int bits;          /* mac: integer operand width (0 = not given) */
  TechNumber acc;    /* mac accumulator format, when acc_given */
  int acc_bits;      /* its width for TECH_INT */
  bool acc_given;    /* else: an integer of 2 x bits, or the operands' float format */
  TechOp op;         /* mac: TECH_OP_MAC */
  TechDram dram;     /* dram: TECH_LPDDR4 */
  double length_mm;  /* noc: the hop's wire length (0 = not given) */
  double cycle_ns;   /* clock period that leakage per cycle is for (1 ns) */
} TechComponent;

/* The model's answer.  Storage (sram, regfile, dram): read/write/update pJ
 * per access of one word; mac: energy_pj per operation; noc: energy_pj per
 * hop of width bits.  extrapolated: the component lies outside the data the
 * model was fitted to (the CACTI grid, Horowitz's 8-32 bit points, ...). */
typedef struct {
  double read_pj, write_pj, update_pj;
  double energy_pj;
  double leak_pj_per_cycle;
  double area_um2;
  bool extrapolated;
} TechCost;

/* A component of that kind with the defaults above. */
void tech_init(TechComponent *c, TechKind kind);

/* Sets the attribute `attr` ("depth", "width", "banks", "ports",
 * "technology", "cycle_ns", "type", "bits", "acc", "op", "length_mm", as the
 * kind takes them; docs/technology.md) from its text.  RC_BADINPUT
 * (reported through d at `where`, naming the attribute and the value) for
 * an attribute the kind does not take or a value that does not parse. */
Rc tech_set(TechComponent *c, const char *attr, const char *value, Diag *d, const char *where);

/* Evaluates c into *out.  RC_BADINPUT (reported, naming the value) if c is
 * outside the model: a node outside 7-130 nm, a depth or width of 0 or too
 * large, a missing attribute, ... */
Rc tech_eval(const TechComponent *c, TechCost *out, Diag *d, const char *where);

/* "sram", ...; TECH_NONE if name is no kind. */
const char *tech_kind_name(TechKind k);
TechKind tech_kind_find(const char *name);
const char *tech_number_name(TechNumber t);
const char *tech_dram_name(TechDram t);
/* The model's DRAM energy per bit read or written (pJ). */
double tech_dram_pj_per_bit(TechDram t);

/* The nodes the model covers (nm). */
#define TECH_NODE_MIN_NM 7.0
#define TECH_NODE_MAX_NM 130.0

/* ---- precision (precision.c) ------------------------------------------------
 * docs/technology.md, "Precision": the widths of the weights, inputs,
 * stored outputs and partial sums, and the operands' number format. */

typedef struct {
  int bits[NTENSORS]; /* W, I, O: 1-32 bits */
  int psum_bits;      /* the MAC's accumulator; 0 = the model's default (Arch.psum_bits) */
  TechNumber number;  /* TECH_INT (1-bit operands: XNOR-popcount), TECH_FP16, _BF16, _FP32 */
} Precision;

/* Parses a --precision value: wNaN[oN][pN] (weights, activations = inputs
 * and stored outputs, outputs, partial sums; N 1-32), int4, int8, int16,
 * binary (w1a1), fp16, bf16, fp32 (optionally p32: an fp32 accumulator).
 * RC_BADINPUT (reported at `where`, naming the value and the grammar). */
Rc precision_parse(const char *s, Precision *p, Diag *d, const char *where);

/* The precision of m's mac layers, from their operands' element types
 * (--precision model): QLinearConv/QLinearMatMul w8a8p32, ConvInteger and
 * MatMulInteger w8a8o32, f16 fp16, bf16 bf16, f32 fp32.  RC_BADINPUT
 * (reported, naming the node) if layers differ, a type has no MAC in the
 * technology model, or there is no mac layer. */
Rc precision_of_model(const Model *m, Precision *p, Diag *d);

/* a's precision (16 bits for widths it does not give). */
void precision_of(const Arch *a, Precision *p);

/* The canonical spelling of p (what precision_parse reads back to p). */
void precision_name(const Precision *p, char *buf, size_t n);

/* a re-expressed at precision p: every level's bits kept, counted in words
 * of the new width (capacity, words per block, bandwidth in words/cycle),
 * then the technology model's figures at p (arch_apply_tech).  The same
 * precision is the identity.  RC_BADINPUT (reported) if a level would hold
 * no word. */
Rc arch_set_precision(Arch *a, const Precision *p, Diag *d);

/* The accuracy table of --search-precision (docs/technology.md): lines
 * `MODEL PRECISION ACCURACY` (a percentage) and one `minimum ACCURACY`;
 * `#` starts a comment. */
#define ACCURACY_MAX_ROWS 64
typedef struct {
  char model[64];
  Precision precision;
  double accuracy;
} AccuracyRow;
typedef struct {
  AccuracyRow row[ACCURACY_MAX_ROWS];
  int n;
  double minimum;
} AccuracyTable;

/* Reads an accuracy table; every error names path:line:col and the value. */
Rc accuracy_load(const char *path, AccuracyTable *t, Diag *d);

/* The precisions (at most max, in table order, each once) at which every
 * one of the models reaches the table's minimum; 0 with why filled if none
 * (or a model has no row). */
int accuracy_allowed(const AccuracyTable *t, const char *const *models, int nmodels, Precision *out,
                     int max, char *why, size_t whylen);

/* ---- an architecture's figures from the model (arch_tech.c) -----------------
 * docs/technology.md, "In architecture files". */

/* Fills the figures of a (tech_nm > 0) that its file left out (the
 * Level.derived and Arch.mac_derived bits) from the technology model; again
 * after a level is resized.  RC_BADINPUT (reported, naming the level and
 * the value) if a component is outside the model. */
Rc arch_apply_tech(Arch *a, Diag *d);

/* Puts a under NAAS's assumptions (ARCH_ASSUME_NAAS: the relative energy
 * scheme, on-chip energy only, DRAM bandwidth unlimited) or records
 * ARCH_PHYSICAL (nothing changes).  Idempotent. */
void arch_assume(Arch *a, ArchAssume mode);
const char *arch_assume_name(int mode); /* "physical", "naas" */
bool arch_assume_parse(const char *s, ArchAssume *out);

/* The design's area before any mapping (cost.c's area terms), um^2. */
double arch_area_um2(const Arch *a);

/* Peak power (mW): every MAC and every level's bandwidth (its ports when
 * unlimited) busy each cycle, plus leakage; 0 without a clock. */
double arch_peak_power_mw(const Arch *a);
/* Level l's share of it, in pJ per cycle (all its instances). */
double arch_level_peak_pj(const Arch *a, int l);

/* ---- Timeloop and Accelergy specifications (timeloop.c) --------------------
 * naasc reads Timeloop's specifications (v0.3 tree, v0.4 node list and the
 * v0.4 processed form of parsed-processed-input.yaml; formats and limits in
 * docs/timeloop.md), Accelergy's ERT/ART and Timeloop's statistics, and
 * writes its own nouns back as Timeloop files (timeloop_write.c). */

#define TL_HAVE_ARCH 1u
#define TL_HAVE_PROBLEM 2u
#define TL_HAVE_MAPPING 4u

/* What a set of Timeloop files holds, in naasc's nouns. */
typedef struct {
  char design[ACCEL_NAME_MAX]; /* the top container's name */
  unsigned have;               /* TL_HAVE_* read */
  Arch arch;                   /* constraints applied: keeps, connectivity */
  Problem problem;
  Mapping mapping;
  char mac_name[ACCEL_NAME_MAX];              /* the compute component */
  char dim_name[NDIMS][16];                   /* Timeloop's name of each DIM_*, "" if none */
  char tensor_name[NTENSORS][ACCEL_NAME_MAX]; /* the data spaces W, I, O */
  char stats_path[4096];                      /* a *.stats.txt among the inputs, or "" */
  /* What the technology model needs to cost the design itself
   * (timeloop_tech_arch): the components' technology attribute ("32nm";
   * 0 if none), each level's component class and banks. */
  double tech_nm;
  char level_class[ACCEL_MAX_LEVELS][64];
  int level_banks[ACCEL_MAX_LEVELS];
  int mac_bits[2]; /* the MAC's multiplier_width and adder_width attributes; 0 if not given */
} TimeloopSpec;

/* Reads Timeloop files: each path a file, or a folder (with Timeloop's
 * parsed-processed-input.yaml: it and the *.map.yaml, *.ERT.yaml, *.ART.yaml
 * and *.stats.txt beside it; else its *.yaml files).  An architecture's
 * ERT/ART are also looked for beside its file.  need: TL_HAVE_* that must be
 * present (a mapping needs the arch and problem).  Every error names
 * file:line:column; sparse specifications are refused. */
Rc timeloop_load(const char *const *paths, int npaths, unsigned need, TimeloopSpec *s, Diag *d);

/* What a YAML file is, by its top-level keys. */
typedef enum { SPEC_UNREADABLE, SPEC_NAASC, SPEC_TIMELOOP, SPEC_OTHER } SpecKind;
SpecKind spec_file_kind(const char *path);

/* Timeloop's figures from a *.stats.txt, as a CostResult over s's arch;
 * stated[l] tells the levels it reports (it leaves out those that keep
 * nothing).  Level energies include leakage. */
Rc timeloop_stats_load(const char *path, const TimeloopSpec *s, CostResult *want,
                       bool stated[ACCEL_MAX_LEVELS], Diag *d);

/* s's architecture with every energy, leakage and area from naasc's
 * technology model instead of the ERT/ART (docs/timeloop.md, "Costed with
 * naasc's technology model"): node nm (0: the spec's technology attribute),
 * each level's array kind from its component class (register file for a
 * class naming RF or regfile, else SRAM; DRAM as LPDDR4, Accelergy's
 * default), its banks, the MAC at its multiplier_width and adder_width
 * (else the innermost levels' word widths).  The
 * network stays free, as in the ERT.  RC_BADINPUT (reported) without a node. */
Rc timeloop_tech_arch(const TimeloopSpec *s, double nm, Arch *out, Diag *d);

/* r printed in Timeloop's terms (its names and statistics labels). */
void timeloop_print_result(FILE *f, const TimeloopSpec *s, const CostResult *r);

/* cost_compare over the levels with stated[l] (all if stated is NULL) (report.c). */
int cost_compare_levels(const CostResult *got, const CostResult *want, const Arch *a,
                        const bool *stated, FILE *out, bool only_failures);

/* Writes Timeloop's input files into folder dir (timeloop_write.c): with a
 * and no layer, arch.yaml (the processed v0.4 tree, constraints included),
 * arch.ERT.yaml and arch.ART.yaml; with p, LAYER.problem.yaml; with m (needs
 * a and p), LAYER.map.yaml; layer NULL names them problem.yaml and map.yaml.  What
 * Timeloop cannot express is refused (a third array axis, a dimension on
 * both axes of one level) or, when it changes no count, kept in naasc_*
 * attributes Timeloop ignores, with a warning through d. */
Rc timeloop_write(const char *dir, const char *layer, const Arch *a, const Problem *p,
                  const Mapping *m, Diag *d);

/* m as a Timeloop v0.4 mapping (the LAYER.map.yaml timeloop_write writes) on f. */
Rc timeloop_print_mapping(FILE *f, const Arch *a, const Problem *p, const Mapping *m, Diag *d);

/* ---- whole-network schedules (schedule.c, schedule_text.c) ------------------
 * The cost of a Schedule (ir/ir.h) of a mapped module: docs/cost-model.md,
 * "Whole-network schedules".  */

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

/* The costs of every group [a, b] with amin <= a < b and the settings of
 * cfg (its first and last are ignored): E[a - amin] pJ and C[a - amin]
 * cycles, summed over the group's mac nests, where ok[a - amin]; groups that
 * cannot run get ok false.  The search's entry point: one pass serves every
 * start a. */
Rc sched_range_costs(SchedModel *sm, const SchedGroup *cfg, uint32_t amin, uint32_t b, double *E,
                     int64_t *C, bool *ok);

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
Rc schedule_eval(SchedModel *sm, const Schedule *s, CostResult *per_nest, SchedTotals *tot,
                 Diag *d);

/* The activations of group g that live in its home level, as schedule_eval
 * counts them (NestGroup, ir/ir.h): per mac nest its I and O, kept
 * (RES_KEEP), copied in (RES_COPY_IN: a depth-first group's input) or copied
 * out as well (RES_COPY_OUT), each tensor once, in nest order.  The count,
 * or -1 if more than max. */
int sched_group_residents(const SchedModel *sm, const SchedGroup *g, NestResident *out, int max);
/* Sets m's fused groups (the loop-nest IR's) to schedule s's, with their
 * residency; m is the module sm was made from. */
Rc sched_attach(SchedModel *sm, const Schedule *s, Module *m, Diag *d);
/* The schedule of m's fused groups, checked against sm's target: each
 * group's target and home level, whether it can run there (fits; located
 * at the group: nest_group_where) and its residency against
 * sched_group_residents.  RC_BADINPUT (reported) on the first failure of
 * each group. */
Rc sched_of_module(SchedModel *sm, const Module *m, Schedule *s, Diag *d);

/* The text form (docs/cost-model.md): a header naming the model and target,
 * then one line per group naming its nests.  print -> parse -> print is
 * byte-identical. */
void schedule_print(FILE *f, const Module *m, const Arch *a, const Schedule *s);

/* Parses the text form against the model: names must be nests of the
 * module, each group consecutive nests, groups in order; each group is then
 * checked (sched_group_check).  Errors carry line:col (d->file names the
 * file). */
Rc schedule_parse(const char *text, size_t len, SchedModel *sm, Schedule *s, Diag *d);

/* ---- the vector unit (backend/vector.c) -------------------------------- */

typedef enum { VK_NONE = 0, VK_ELEMENTWISE, VK_SOFTMAX, VK_NORM, VK_REDUCE } VecKind;

/* One vector nest on an arch's vector unit, layer by layer. */
typedef struct {
  VecKind kind;
  int64_t points;     /* iteration points (elements, or window taps) */
  int64_t adds, muls; /* arithmetic, exp/divide/sqrt decomposed */
  int64_t dram_words, glb_words;
  double op_energy_pj, mem_energy_pj, energy_pj;
  int64_t compute_cycles, cycles;
} VecCost;

/* The cost of vector nest n of m on a's vector unit; false (out zeroed) if
 * it is not costed: a nest that is not NK_VEC, an op the unit does not run
 * (a host op other than LayerNormalization, Gelu, Erf, Tanh, Exp), or an
 * arch without lanes.  No allocation. */
bool vec_cost(const Arch *a, const Module *m, const Nest *n, VecCost *out);
/* The sum over m's vector nests that vec_cost costs on a (layer by layer,
 * one after another): their cycles and energy; returns how many were
 * costed.  What the report's "vector total" line prints and what the search
 * adds to a design's mac-layer figures. */
int vec_totals(const Arch *a, const Module *m, int64_t *cycles, double *energy_pj);
const char *vec_kind_name(VecKind k);

#endif
