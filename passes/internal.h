/*
 * internal.h: what the files of passes/ share (passes.h is the interface).
 */
#ifndef NAASC_PASSES_INTERNAL_H
#define NAASC_PASSES_INTERNAL_H

#include "passes/passes.h"

/* Registers the built-in passes (builtin.c), map.c's among them. */
void builtin_passes_register(PassRegistry *r);
/* Registers the mapping passes map, tile, reorder and bind (map.c). */
void map_passes_register(PassRegistry *r);

#endif
