/*
 * arena.c: the one allocation path (xmalloc and friends, with a failure
 * injection hook for tests) and bump arenas built on it.
 *
 * An arena is a list of chunks; a request larger than a quarter chunk gets a
 * chunk of its own, so big weight payloads do not waste a chunk's tail.
 * Memory is zeroed and 16-byte aligned.  Nothing is freed before arena_free.
 * arena_adopt hands the arena a block malloc'd elsewhere (a weight payload
 * protobuf-c unpacked, taken instead of copied): an empty chunk records it
 * and arena_free frees it.
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

static long fail_countdown = -1;
static size_t size_limit; /* 0: none */

void xalloc_fail_after(long n) { fail_countdown = n; }
void xalloc_limit(size_t max) { size_limit = max; }

static bool injected_failure(void) {
  if (fail_countdown < 0) return false;
  if (fail_countdown == 0) return true;
  fail_countdown--;
  return false;
}

void *xmalloc(size_t n) {
  if (injected_failure() || (size_limit && n > size_limit)) return NULL;
  return malloc(n ? n : 1);
}

void *xcalloc(size_t n, size_t sz) {
  if (injected_failure() || (size_limit && sz && n > size_limit / sz)) return NULL;
  return calloc(n ? n : 1, sz ? sz : 1);
}

void *xrealloc(void *p, size_t n) {
  if (injected_failure() || (size_limit && n > size_limit)) return NULL;
  return realloc(p, n ? n : 1);
}

void xfree(void *p) { free(p); }

#define CHUNK_SIZE ((size_t)64 << 10)

struct ArenaChunk {
  ArenaChunk *next;
  size_t cap, used;
  void *adopted; /* a block of malloc's this chunk owns (arena_adopt), or NULL */
  _Alignas(16) unsigned char mem[];
};

void arena_init(Arena *a) {
  a->head = NULL;
  a->used_total = 0;
}

void arena_free(Arena *a) {
  ArenaChunk *c = a->head;
  while (c) {
    ArenaChunk *next = c->next;
    xfree(c->adopted);
    xfree(c);
    c = next;
  }
  a->head = NULL;
  a->used_total = 0;
}

void *arena_alloc(Arena *a, size_t n) {
  size_t need = (n + 15) & ~(size_t)15;
  if (need < n) return NULL; /* overflow */
  ArenaChunk *c = a->head;
  if (need > CHUNK_SIZE / 4) {
    /* A big block: its own chunk, linked behind the head so the head's tail stays usable. */
    if (need > SIZE_MAX - sizeof(ArenaChunk)) return NULL;
    ArenaChunk *big = xcalloc(1, sizeof(ArenaChunk) + need);
    if (!big) return NULL;
    big->cap = big->used = need;
    if (c) {
      big->next = c->next;
      c->next = big;
    } else {
      a->head = big;
    }
    a->used_total += need;
    return big->mem;
  }
  if (!c || c->cap - c->used < need) {
    ArenaChunk *nc = xcalloc(1, sizeof(ArenaChunk) + CHUNK_SIZE);
    if (!nc) return NULL;
    nc->cap = CHUNK_SIZE;
    nc->next = c;
    a->head = c = nc;
  }
  void *p = c->mem + c->used;
  c->used += need;
  a->used_total += need;
  return p;
}

bool arena_adopt(Arena *a, void *p, size_t n) {
  if (!p || ((uintptr_t)p & 15)) return false;
  ArenaChunk *rec = xcalloc(1, sizeof(ArenaChunk));
  if (!rec) return false;
  rec->adopted = p;
  /* behind the head, as a big block: the head's tail stays usable */
  ArenaChunk *c = a->head;
  if (c) {
    rec->next = c->next;
    c->next = rec;
  } else {
    a->head = rec;
  }
  a->used_total += n;
  return true;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  if (!s) return NULL;
  char *p = arena_alloc(a, n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return s ? arena_strndup(a, s, strlen(s)) : NULL; }

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = n >= 0 ? arena_alloc(a, (size_t)n + 1) : NULL;
  if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}
