/*
 * internal.h: what the files of ir/ share (ir.h is the interface): the
 * spellings of enum-valued attributes that the graph printer writes and the
 * graph parser reads back.
 */
#ifndef NAASC_IR_INTERNAL_H
#define NAASC_IR_INTERNAL_H

#include "ir/ir.h"

/* Resize's mode, coordinate_transformation_mode and nearest_mode, in the
 * order of their enums (RZ_*). */
extern const char *const rz_mode_names[3];
extern const char *const rz_coord_names[6];
extern const char *const rz_near_names[4];

#endif
