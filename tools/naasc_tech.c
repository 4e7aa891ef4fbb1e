/*
 * naasc_tech.c: `naasc tech`, the technology model (backend/tech.c) on the
 * command line.
 *
 *   naasc tech KIND ATTR=VALUE ...
 *       prints the model's figures for one component as one JSON object on
 *       one line: read_pj, write_pj, update_pj, leak_pj_per_cycle, area_um2
 *       for sram and regfile; energy_pj, leak_pj_per_cycle, area_um2 for
 *       mac; read_pj, write_pj, update_pj for dram; energy_pj for noc; and
 *       "extrapolated": true when the component lies outside the model's data.
 *
 * Exit codes as everywhere in naasc: 0 ok; 1 bad input (an unknown kind or
 * attribute, a value that does not parse or that the model does not cover),
 * with one error line naming the value; 2 usage.  tools/naasc.c calls
 * naasc_tech_main with argv[0] == "tech".
 */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "tools/internal.h"

static const char usage_text[] =
    "usage: naasc tech KIND ATTR=VALUE ...\n"
    "\n"
    "The technology model's energy per action and area of one component, as JSON\n"
    "(docs/technology.md).  KIND and its attributes:\n"
    "  sram     depth=WORDS width=BITS [banks=1..32] [ports=1..4] technology=NODE [cycle_ns=1]\n"
    "  regfile  depth=WORDS width=BITS [banks=1..32] [ports=1..4] technology=NODE [cycle_ns=1]\n"
    "  mac      bits=N | type=int8|binary|fp16|bf16|fp32  [acc=int32|fp32|...]\n"
    "           [op=mac|mul|add] technology=NODE [cycle_ns=1]\n"
    "  dram     type=LPDDR4|DDR4|HBM2|GDDR5 width=BITS\n"
    "  noc      width=BITS length_mm=MM technology=NODE\n"
    "NODE is 7-130 nm, e.g. technology=45nm.  Energies in pJ (per access, MAC or\n"
    "hop), leakage in pJ per cycle of cycle_ns, area in um^2.\n"
    "\n"
    "example: naasc tech sram depth=2048 width=256 banks=4 ports=2 technology=45nm\n";

/* Prints "naasc tech: error: " fmt (with arg) and the help hint; RC_USAGE. */
static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "naasc tech: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'naasc tech --help'.\n");
  return RC_USAGE;
}

static void print_field(JsonWriter *j, const char *name, double v) {
  json_key(j, name);
  json_num(j, "%.6g", v);
}

static void print_json(const TechComponent *c, const TechCost *r) {
  JsonWriter j;
  json_init(&j, stdout);
  json_object(&j, NULL);
  if (c->kind == TECH_SRAM || c->kind == TECH_REGFILE || c->kind == TECH_DRAM) {
    print_field(&j, "read_pj", r->read_pj);
    print_field(&j, "write_pj", r->write_pj);
    print_field(&j, "update_pj", r->update_pj);
  } else {
    print_field(&j, "energy_pj", r->energy_pj);
  }
  if (c->kind != TECH_DRAM && c->kind != TECH_NOC) {
    print_field(&j, "leak_pj_per_cycle", r->leak_pj_per_cycle);
    print_field(&j, "area_um2", r->area_um2);
  }
  if (r->extrapolated) {
    json_key(&j, "extrapolated");
    json_bool(&j, true);
  }
  json_end(&j, NULL);
  putchar('\n');
}

int naasc_tech_main(int argc, char **argv) {
  if (argc < 2) return usage_error("%s", "give a component kind and its attributes");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage_text, stdout);
    return RC_OK;
  }
  Diag d;
  diag_init(&d, stderr, "naasc tech");
  if (argv[1][0] == '-') return usage_error("unknown option '%s'", argv[1]);
  TechKind kind = tech_kind_find(argv[1]);
  if (kind == TECH_NONE) {
    diag_error(&d, NULL, "unknown component kind '%s' (expected sram, regfile, mac, dram or noc)",
               argv[1]);
    return RC_BADINPUT;
  }
  TechComponent c;
  tech_init(&c, kind);
  const char *where = tech_kind_name(kind);
  for (int i = 2; i < argc; i++) {
    const char *eq = strchr(argv[i], '=');
    if (!eq || eq == argv[i]) return usage_error("expected ATTR=VALUE, not '%s'", argv[i]);
    char attr[64];
    size_t n = (size_t)(eq - argv[i]);
    if (n >= sizeof attr) n = sizeof attr - 1;
    memcpy(attr, argv[i], n);
    attr[n] = 0;
    Rc rc = tech_set(&c, attr, eq + 1, &d, where);
    if (rc != RC_OK) return rc;
  }
  TechCost r;
  Rc rc = tech_eval(&c, &r, &d, where);
  if (rc != RC_OK) return rc;
  print_json(&c, &r);
  return RC_OK;
}
