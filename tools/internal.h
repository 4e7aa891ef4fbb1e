/*
 * internal.h: what the files of tools/ share: the entry points of the naasc
 * binary's modes (naasc_cost.c, naasc_search.c, naasc_nas.c, called from
 * naasc.c's main) and the command-line helpers of those modes: a usage
 * error, and the two forms of a flag with a value, "--flag=value" and
 * "--flag value"; the C API context the modes call the library through
 * (cli_context: its messages go to stderr as they are reported, as the
 * library's own Diag on stderr would print them).
 *
 * Invariants:
 *   - a usage error is one line "naasc: error: ..." then one line naming
 *     the mode's help ("Try 'naasc --help'."), both on stderr, and the
 *     exit code RC_USAGE (2, docs/user-guide.md);
 *   - a flag matches only whole: "--seed" matches "--seed" and "--seed=1",
 *     never "--seeds".
 * The number parsers take the whole string (no sign games, no trailing text,
 * no overflow) and accept NULL (false), so a missing value is a usage error.
 * static inline: the naasc executable exports its symbols to pass plugins
 * (ENABLE_EXPORTS), and these add none.
 */
#ifndef NAASC_TOOLS_INTERNAL_H
#define NAASC_TOOLS_INTERNAL_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/naasc.h"
#include "ir/ir.h"

/* The modes of naasc: `naasc cost ...` (argv[0] is "cost"), `naasc --search
 * ...` and `naasc --search --nas ...` (the whole command line).  Each returns
 * the exit code. */
int naasc_cost_main(int argc, char **argv);
int naasc_search_main(int argc, char **argv);
int naasc_nas_main(int argc, char **argv);
int naasc_tech_main(int argc, char **argv);

static inline void cli_diag_stderr(void *user, const char *text, size_t len) {
  (void)user;
  fwrite(text, 1, len, stderr);
}

/* A context of the C API whose messages (errors, warnings, notes) go to
 * stderr as they are reported; NULL if out of memory.  Freed with
 * naasc_context_destroy. */
static inline NaascContext *cli_context(void) {
  NaascContext *c = naasc_context_create();
  if (c) naasc_context_set_diagnostic_handler(c, cli_diag_stderr, NULL);
  return c;
}

/* Prints "naasc: error: " fmt (with arg) and "Try 'help'."; returns RC_USAGE. */
static inline int cli_usage_error(const char *help, const char *fmt, const char *arg) {
  fprintf(stderr, "naasc: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry '%s'.\n", help);
  return RC_USAGE;
}

/* "--flag=value" or "--flag value" at argv[*i]: returns the value (moving *i
 * past it in the second form) or NULL. */
static inline const char *cli_flag_value(int argc, char **argv, int *i, const char *flag) {
  size_t n = strlen(flag);
  if (strncmp(argv[*i], flag, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] == 0 && *i + 1 < argc) return argv[++*i];
  return NULL;
}

/* arg is flag, alone or as "flag=...". */
static inline bool cli_is_flag(const char *arg, const char *flag) {
  size_t n = strlen(flag);
  return strncmp(arg, flag, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

/* A decimal integer >= min. */
static inline bool cli_parse_i64(const char *v, int64_t min, int64_t *out) {
  char *end;
  errno = 0;
  long long x = v ? strtoll(v, &end, 10) : 0;
  if (!v || !*v || *end || errno || x < min) return false;
  *out = x;
  return true;
}

/* A finite number. */
static inline bool cli_parse_f64(const char *v, double *out) {
  char *end;
  double x = v ? strtod(v, &end) : 0;
  if (!v || !*v || *end || !isfinite(x)) return false;
  *out = x;
  return true;
}

#endif
