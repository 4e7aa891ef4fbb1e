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
 * naasc_tech_main with argv[0] == "tech".  The figures are the C API's
 * (naasc_tech, api/naasc.h); this file parses the command line and prints.
 */
#include <stdio.h>
#include <string.h>

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

int naasc_tech_main(int argc, char **argv) {
  if (argc < 2) return usage_error("%s", "give a component kind and its attributes");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage_text, stdout);
    return RC_OK;
  }
  if (argv[1][0] == '-') return usage_error("unknown option '%s'", argv[1]);
  NaascContext *ctx = cli_context();
  char *json = NULL;
  NaascStatus st = ctx ? naasc_tech(ctx, argv[1], (const char *const *)argv + 2, argc - 2, &json)
                       : NAASC_INTERNAL;
  if (st == NAASC_OK) fputs(json, stdout);
  if (st == NAASC_USAGE) fputs("Try 'naasc tech --help'.\n", stderr); /* after its error line */
  naasc_string_free(json);
  naasc_context_destroy(ctx);
  return (int)st;
}
