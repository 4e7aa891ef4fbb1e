/*
 * json.c: the one JSON writer of the project (ir/ir.h, "JSON writer"): every
 * report, result and log that naasc writes as JSON goes through it.
 *
 * It streams to a FILE, writes the separators, escapes strings and formats
 * numbers; the caller keeps the layout (which containers break their items
 * onto indented lines), so each file's bytes stay what its documentation
 * shows.  Invariants: a string is written with '"', '\\' and every control
 * character escaped (\" \\ \u00XX), so any name gives valid JSON; a number
 * that is not finite is written as null (JSON has no inf or nan).
 */
#include <inttypes.h>
#include <math.h>

#include "ir/ir.h"

void json_init(JsonWriter *j, FILE *f) {
  j->f = f;
  j->depth = 0;
  j->brk = NULL;
  j->after_key = false;
}

/* The separator before a new item of the open container. */
static void item(JsonWriter *j) {
  if (j->after_key) {
    j->after_key = false;
    return;
  }
  if (j->depth == 0) return;
  int k = j->depth - 1;
  const char *pre = j->brk ? j->brk : j->indent[k];
  if (j->any[k]) fputc(',', j->f);
  if (pre)
    fputs(pre, j->f);
  else if (j->any[k])
    fputc(' ', j->f);
  j->any[k] = true;
  j->brk = NULL;
}

static void open_container(JsonWriter *j, char open, char close, const char *indent) {
  item(j);
  fputc(open, j->f);
  if (j->depth < JSON_MAX_DEPTH) {
    j->any[j->depth] = false;
    j->indent[j->depth] = indent;
    j->close[j->depth] = close;
  }
  j->depth++;
}

void json_object(JsonWriter *j, const char *indent) { open_container(j, '{', '}', indent); }
void json_array(JsonWriter *j, const char *indent) { open_container(j, '[', ']', indent); }

void json_end(JsonWriter *j, const char *before) {
  if (j->depth == 0) return;
  j->depth--;
  if (before) fputs(before, j->f);
  fputc(j->depth < JSON_MAX_DEPTH ? j->close[j->depth] : '}', j->f);
  j->brk = NULL;
}

void json_break(JsonWriter *j, const char *prefix) { j->brk = prefix; }

static void string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

void json_key(JsonWriter *j, const char *key) {
  item(j);
  string(j->f, key);
  fputs(": ", j->f);
  j->after_key = true;
}

void json_str(JsonWriter *j, const char *s) {
  item(j);
  string(j->f, s ? s : "");
}

void json_num(JsonWriter *j, const char *fmt, double v) {
  item(j);
  if (isfinite(v))
    fprintf(j->f, fmt, v);
  else
    fputs("null", j->f);
}

void json_int(JsonWriter *j, int64_t v) {
  item(j);
  fprintf(j->f, "%" PRId64, v);
}

void json_uint(JsonWriter *j, uint64_t v) {
  item(j);
  fprintf(j->f, "%" PRIu64, v);
}

void json_bool(JsonWriter *j, bool v) {
  item(j);
  fputs(v ? "true" : "false", j->f);
}
