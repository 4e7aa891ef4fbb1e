/*
 * schedule_text.c: the text form of a Schedule (docs/cost-model.md,
 * "Whole-network schedules"), written by `naasc --emit=schedule` and read by
 * `naasc --schedule=FILE`:
 *
 *   # comment
 *   schedule "MODEL" target "TARGET"
 *   group NEST NEST ... : layer home=LEVEL
 *   group NEST NEST ... : depth-first tile=ROWSxCOLS overlap=recompute|cache-h|cache-all weights=dram|home home=LEVEL
 *
 * Nests are named as in the loop-nest IR (bare, or quoted when they hold
 * other characters); a group lists every one of its nests, consecutive in
 * the module's order; groups come in that order too, and nests in no group
 * run alone.  The printer writes every field in this order, so print ->
 * parse -> print is byte-identical.  Every error names line:column.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

static const char *const mode_names[] = {"layer", "depth-first"};
static const char *const overlap_names[] = {"recompute", "cache-h", "cache-all"};

/* ---- printing ------------------------------------------------------------ */

static bool bare_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '/' || c == '-' || c == '$';
}

/* Bare if made of bare characters and not ':' alone (the separator). */
static void print_name(FILE *f, const char *s) {
  bool bare = *s && strcmp(s, ":") != 0;
  for (const char *p = s; *p; p++) bare = bare && bare_char(*p);
  if (bare) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (const char *p = s; *p; p++) {
    if (*p == '"' || *p == '\\') fputc('\\', f);
    if (*p == '\n')
      fputs("\\n", f);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

void schedule_print(FILE *f, const Module *m, const Arch *a, const Schedule *s) {
  fputs(
      "# naasc schedule: groups of consecutive nests (docs/cost-model.md, \"Whole-network schedules\")\n",
      f);
  fputs("schedule ", f);
  print_name(f, m->name ? m->name : "model");
  fputs(" target ", f);
  print_name(f, a->name);
  fputc('\n', f);
  for (uint32_t g = 0; g < s->ngroups; g++) {
    const SchedGroup *gr = &s->group[g];
    fputs("group", f);
    for (uint32_t k = gr->first; k <= gr->last && k < m->nnests; k++) {
      fputc(' ', f);
      print_name(f, m->nests[k].name);
    }
    fprintf(f, " : %s", mode_names[gr->mode == SCHED_DEPTH]);
    if (gr->mode == SCHED_DEPTH)
      fprintf(f, " tile=%" PRId64 "x%" PRId64 " overlap=%s weights=%s", gr->tile[0], gr->tile[1],
              overlap_names[gr->overlap < 3 ? gr->overlap : 0], gr->weights_home ? "home" : "dram");
    fprintf(f, " home=");
    print_name(f, gr->home < a->nlevels ? a->level[gr->home].name : "?");
    fputc('\n', f);
  }
}

/* ---- parsing ------------------------------------------------------------- */

typedef struct {
  const char *p, *end;
  int line, col;
  Diag *d;
  char where[48];
} Lexer;

static const char *at(Lexer *lx, int line, int col) {
  snprintf(lx->where, sizeof lx->where, "%d:%d", line, col);
  return lx->where;
}

/* One token of the current line into buf (quoted names unquoted); 0 at the
 * end of the line, 1 for a token, -1 after an error.  *tl, *tc get where
 * it starts; *quoted whether it was quoted. */
static int next_tok(Lexer *lx, char *buf, size_t cap, int *tl, int *tc, bool *quoted) {
  while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r')) lx->p++, lx->col++;
  *tl = lx->line, *tc = lx->col, *quoted = false;
  if (lx->p >= lx->end || *lx->p == '\n' || *lx->p == '#') return 0;
  size_t n = 0;
  if (*lx->p == '"') {
    *quoted = true;
    lx->p++, lx->col++;
    for (;;) {
      if (lx->p >= lx->end || *lx->p == '\n') {
        diag_error(lx->d, at(lx, *tl, *tc), "unterminated string");
        return -1;
      }
      char c = *lx->p++;
      lx->col++;
      if (c == '"') break;
      if (c == '\\' && lx->p < lx->end && *lx->p != '\n') {
        c = *lx->p++;
        lx->col++;
        if (c == 'n') c = '\n';
      }
      if (n + 1 >= cap) {
        diag_error(lx->d, at(lx, *tl, *tc), "name too long");
        return -1;
      }
      buf[n++] = c;
    }
  } else {
    while (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t' && *lx->p != '\r' && *lx->p != '\n' &&
           *lx->p != '#') {
      if (n + 1 >= cap) {
        diag_error(lx->d, at(lx, *tl, *tc), "token too long");
        return -1;
      }
      buf[n++] = *lx->p++;
      lx->col++;
    }
  }
  buf[n] = 0;
  return 1;
}

static void skip_line(Lexer *lx) {
  while (lx->p < lx->end && *lx->p != '\n') lx->p++;
  if (lx->p < lx->end) lx->p++;
  lx->line++, lx->col = 1;
}

/* Nest index by name: open addressing over the module's nests; -2 marks a
 * name two nests share. */
typedef struct {
  uint32_t cap;
  int32_t *slot; /* nest index + 1, 0 empty */
  bool *dup;
} Names;

static uint32_t name_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static bool names_build(Names *nm, const Module *m) {
  nm->cap = 16;
  while (nm->cap < 2 * m->nnests + 2) nm->cap *= 2;
  nm->slot = xcalloc(nm->cap, sizeof *nm->slot);
  nm->dup = xcalloc(m->nnests + 1, sizeof *nm->dup);
  if (!nm->slot || !nm->dup) return false;
  for (uint32_t i = 0; i < m->nnests; i++) {
    uint32_t j = name_hash(m->nests[i].name) & (nm->cap - 1);
    for (; nm->slot[j]; j = (j + 1) & (nm->cap - 1))
      if (strcmp(m->nests[nm->slot[j] - 1].name, m->nests[i].name) == 0) break;
    if (nm->slot[j])
      nm->dup[nm->slot[j] - 1] = true;
    else
      nm->slot[j] = (int32_t)i + 1;
  }
  return true;
}

static int32_t names_find(const Names *nm, const Module *m, const char *s) {
  for (uint32_t j = name_hash(s) & (nm->cap - 1); nm->slot[j]; j = (j + 1) & (nm->cap - 1)) {
    int32_t i = nm->slot[j] - 1;
    if (strcmp(m->nests[i].name, s) == 0) return nm->dup[i] ? -2 : i;
  }
  return -1;
}

static int level_by_name(const Arch *a, const char *s) {
  for (int l = 0; l < a->nlevels; l++)
    if (strcmp(a->level[l].name, s) == 0) return l;
  return -1;
}

/* A positive integer from s (up to *end), or -1. */
static int64_t parse_pos(const char *s, char **end) {
  errno = 0;
  if (*s < '0' || *s > '9') return -1;
  long long v = strtoll(s, end, 10);
  return errno || v < 1 ? -1 : (int64_t)v;
}

Rc schedule_parse(const char *text, size_t len, SchedModel *sm, Schedule *s, Diag *d) {
  const Module *m = sched_model_module(sm);
  const Arch *a = sched_model_arch(sm);
  memset(s, 0, sizeof *s);
  Lexer lx = {text, text + len, 1, 1, d, {0}};
  Names nm;
  memset(&nm, 0, sizeof nm);
  int *lines = xcalloc(SCHED_MAX_GROUPS, sizeof *lines); /* of each group, for messages */
  if (!lines || !names_build(&nm, m)) {
    xfree(lines);
    xfree(nm.slot);
    xfree(nm.dup);
    return RC_INTERNAL;
  }
  char tok[1024];
  int tl, tc;
  bool q, header = false;
  int before = d->nerrors;
  int32_t next_free = 0; /* first nest not yet in a group */
  while (lx.p < lx.end && d->nerrors == before) {
    int r = next_tok(&lx, tok, sizeof tok, &tl, &tc, &q);
    if (r < 0) break;
    if (r == 0) {
      skip_line(&lx);
      continue;
    }
    if (!header) {
      /* schedule "MODEL" target "TARGET" */
      char model[256], target[256];
      int ml, mc, l2, c2;
      bool q2;
      if (q || strcmp(tok, "schedule") != 0 ||
          next_tok(&lx, model, sizeof model, &ml, &mc, &q2) != 1 ||
          next_tok(&lx, tok, sizeof tok, &l2, &c2, &q2) != 1 || strcmp(tok, "target") != 0 ||
          next_tok(&lx, target, sizeof target, &l2, &c2, &q2) != 1 ||
          next_tok(&lx, tok, sizeof tok, &l2, &c2, &q2) != 0) {
        if (d->nerrors == before)
          diag_error(d, at(&lx, tl, tc), "expected 'schedule \"MODEL\" target \"TARGET\"' first");
        break;
      }
      if (strcmp(target, a->name) != 0)
        diag_warn(d, at(&lx, l2, c2), "this schedule was written for target '%s', not '%s'", target,
                  a->name);
      if (m->name && strcmp(model, m->name) != 0)
        diag_warn(d, at(&lx, ml, mc), "this schedule was written for model '%s', not '%s'", model,
                  m->name);
      header = true;
      skip_line(&lx);
      continue;
    }
    if (q || strcmp(tok, "group") != 0) {
      diag_error(d, at(&lx, tl, tc), "expected 'group', not '%s'", tok);
      break;
    }
    if (s->ngroups == SCHED_MAX_GROUPS) {
      diag_error(d, at(&lx, tl, tc), "more than %d groups", SCHED_MAX_GROUPS);
      break;
    }
    SchedGroup g;
    memset(&g, 0, sizeof g);
    int gl = tl, gc = tc, n = 0;
    int32_t last = -1;
    const char *last_name = NULL;
    /* names up to ':' */
    for (;;) {
      r = next_tok(&lx, tok, sizeof tok, &tl, &tc, &q);
      if (r < 0) break;
      if (r == 0) {
        diag_error(d, at(&lx, tl, tc),
                   "expected ': layer' or ': depth-first' after the group's nests");
        break;
      }
      if (!q && strcmp(tok, ":") == 0) break;
      int32_t k = names_find(&nm, m, tok);
      if (k == -1) {
        diag_error(d, at(&lx, tl, tc), "no nest named '%s' in model '%s'", tok,
                   m->name ? m->name : "model");
        break;
      }
      if (k == -2) {
        diag_error(d, at(&lx, tl, tc),
                   "two nests are named '%s': the schedule cannot tell them apart", tok);
        break;
      }
      if (n == 0) {
        if (k < next_free) {
          int in = -1;
          for (uint32_t q2 = 0; q2 < s->ngroups; q2++)
            if ((uint32_t)k >= s->group[q2].first && (uint32_t)k <= s->group[q2].last) in = (int)q2;
          if (in >= 0)
            diag_error(d, at(&lx, tl, tc),
                       "'%s' is already in the group of line %d: groups do not overlap", tok,
                       lines[in]);
          else
            diag_error(
                d, at(&lx, tl, tc),
                "'%s' comes before the group of line %d in the module: groups come in the module's order",
                tok, lines[s->ngroups - 1]);
          break;
        }
        g.first = (uint32_t)k;
      } else if (k != last + 1) {
        if (k <= last)
          diag_error(d, at(&lx, tl, tc),
                     "'%s' comes before '%s' in the module: a group lists its nests in order", tok,
                     last_name);
        else
          diag_error(
              d, at(&lx, tl, tc),
              "'%s' does not follow '%s': nest '%s' comes between them (a group lists consecutive nests)",
              tok, last_name, m->nests[last + 1].name);
        break;
      }
      last = k, last_name = m->nests[k].name, n++;
    }
    if (d->nerrors != before || r < 0) break;
    if (n < 2) {
      diag_error(d, at(&lx, gl, gc),
                 "a group needs two or more nests (a nest in no group runs alone)");
      break;
    }
    g.last = (uint32_t)last;
    /* mode and settings */
    r = next_tok(&lx, tok, sizeof tok, &tl, &tc, &q);
    if (r <= 0 || q || (strcmp(tok, "layer") != 0 && strcmp(tok, "depth-first") != 0)) {
      if (r >= 0) diag_error(d, at(&lx, tl, tc), "expected 'layer' or 'depth-first' after ':'");
      break;
    }
    g.mode = strcmp(tok, "layer") == 0 ? SCHED_LAYER : SCHED_DEPTH;
    bool have_home = false, have_tile = false, have_overlap = false, have_w = false;
    while ((r = next_tok(&lx, tok, sizeof tok, &tl, &tc, &q)) == 1) {
      char *eq = q ? NULL : strchr(tok, '=');
      if (!eq) {
        diag_error(d, at(&lx, tl, tc), "expected KEY=VALUE, not '%s'", tok);
        break;
      }
      *eq = 0;
      const char *v = eq + 1;
      int vc = tc + (int)(v - tok);
      if (strcmp(tok, "home") == 0 && !have_home) {
        int l = level_by_name(a, v);
        if (l < 0) {
          diag_error(d, at(&lx, tl, vc), "home=%s names no level of target '%s'", v, a->name);
          break;
        }
        g.home = (uint8_t)l, have_home = true;
      } else if (g.mode == SCHED_DEPTH && strcmp(tok, "tile") == 0 && !have_tile) {
        char *e1, *e2;
        int64_t r0 = parse_pos(v, &e1);
        int64_t c0 = r0 > 0 && *e1 == 'x' ? parse_pos(e1 + 1, &e2) : -1;
        if (r0 < 1 || c0 < 1 || *e2) {
          diag_error(d, at(&lx, tl, vc), "tile=%s: expected ROWSxCOLUMNS, two positive integers",
                     v);
          break;
        }
        g.tile[0] = r0, g.tile[1] = c0, have_tile = true;
      } else if (g.mode == SCHED_DEPTH && strcmp(tok, "overlap") == 0 && !have_overlap) {
        int o = 0;
        while (o < 3 && strcmp(v, overlap_names[o]) != 0) o++;
        if (o == 3) {
          diag_error(d, at(&lx, tl, vc), "overlap=%s: expected recompute, cache-h or cache-all", v);
          break;
        }
        g.overlap = (uint8_t)o, have_overlap = true;
      } else if (g.mode == SCHED_DEPTH && strcmp(tok, "weights") == 0 && !have_w) {
        if (strcmp(v, "dram") != 0 && strcmp(v, "home") != 0) {
          diag_error(d, at(&lx, tl, vc), "weights=%s: expected dram or home", v);
          break;
        }
        g.weights_home = strcmp(v, "home") == 0, have_w = true;
      } else {
        diag_error(d, at(&lx, tl, tc), "unknown or repeated setting '%s' for a %s group", tok,
                   mode_names[g.mode == SCHED_DEPTH]);
        break;
      }
    }
    if (d->nerrors != before || r < 0) break;
    if (!have_home || (g.mode == SCHED_DEPTH && (!have_tile || !have_overlap || !have_w))) {
      diag_error(d, at(&lx, gl, gc), "%s",
                 g.mode == SCHED_DEPTH
                     ? "a depth-first group needs tile=, overlap=, weights= and home="
                     : "a layer group needs home=");
      break;
    }
    /* Whether it can run on this target, said at the group's line. */
    char where[64];
    snprintf(where, sizeof where, "%d:%d", gl, gc);
    if (sched_group_check(sm, &g, where, d) != RC_OK) break;
    lines[s->ngroups] = gl;
    s->group[s->ngroups++] = g;
    next_free = last + 1;
    skip_line(&lx);
  }
  if (d->nerrors == before && !header)
    diag_error(d, at(&lx, lx.line, 1), "expected 'schedule \"MODEL\" target \"TARGET\"' first");
  xfree(nm.slot);
  xfree(nm.dup);
  xfree(lines);
  return d->nerrors == before ? RC_OK : RC_BADINPUT;
}
