/*
 * diag.c: diagnostics.  Every message names the input file and the place in
 * it, in the compiler convention "FILE: WHERE: error: MESSAGE".
 */
#include "ir/ir.h"

void diag_init(Diag *d, FILE *out, const char *file) {
  d->out = out;
  d->file = file;
  d->nerrors = 0;
  d->nwarnings = 0;
  d->max_errors = 0;
}

void diag_verror(Diag *d, const char *kind, const char *where, const char *fmt, va_list ap) {
  if (!d || !d->out) return;
  if (d->max_errors && d->nerrors > d->max_errors) return;
  if (d->file) fprintf(d->out, "%s: ", d->file);
  if (where) fprintf(d->out, "%s: ", where);
  fprintf(d->out, "%s: ", kind);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
}

void diag_error(Diag *d, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (d) d->nerrors++;
  diag_verror(d, "error", where, fmt, ap);
  va_end(ap);
}

void diag_warn(Diag *d, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (d) d->nwarnings++;
  diag_verror(d, "warning", where, fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, "note", where, fmt, ap);
  va_end(ap);
}
