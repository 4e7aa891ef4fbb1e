/*
 * internal.h: what the files of ir/ share (ir.h is the interface): the
 * spellings of enum-valued attributes that the graph printer writes and the
 * graph parser reads back, and the characters of a bare word in that text.
 */
#ifndef NAASC_IR_INTERNAL_H
#define NAASC_IR_INTERNAL_H

#include "ir/ir.h"

/* Resize's mode, coordinate_transformation_mode and nearest_mode, in the
 * order of their enums (RZ_*). */
extern const char *const rz_mode_names[3];
extern const char *const rz_coord_names[6];
extern const char *const rz_near_names[4];

/* Whether c may appear in a bare word of the graph text (a keyword, an op, an
 * attribute key); a host op whose name has another character prints quoted. */
static inline bool graph_word_char(int c) {
  return c > ' ' && c < 127 && c != ',' && c != '(' && c != ')' && c != '[' && c != ']' &&
         c != '=' && c != ':' && c != '"' && c != '|' && c != '{' && c != '}';
}

#endif
