/*
 * passes.h: the one interface of passes/: lowering the graph IR to the
 * loop-nest IR, and the passes over loop nests with their pass manager.
 */
#ifndef NAASC_PASSES_H
#define NAASC_PASSES_H

#include "ir.h"
#include "nest.h"

/* Graph IR -> loop-nest IR: one nest per live node (Concat: one per input). */
Rc lower_model(const Model *g, Module **out, Diag *d);

#endif
