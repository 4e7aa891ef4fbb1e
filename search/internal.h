/*
 * internal.h: what the files of search/ share (search.h is the interface).
 */
#ifndef NAASC_SEARCH_INTERNAL_H
#define NAASC_SEARCH_INTERNAL_H

#include "search/search.h"

/* The mapper's objective of one evaluation (lower is better). */
typedef double (*FitnessFn)(const CostResult *, MapObjective);

/* The surrogate-gradient strategy of mapper_run (surrogate.c): an MLP of
 * log fitness fitted to the samples so far, descended by gradient, within
 * o->budget evaluations; the best mapping goes into res (mapresult_offer). */
Rc surrogate_run(const Problem *p, const Arch *a, const MapperOptions *o, MapResult *res,
                 FitnessFn fitness);

/* ---- SVG plots (plot.c) ------------------------------------------------------ */

/* A plot's canvas (width x height), its margins around the axes' box, and
 * the data ranges the box spans. */
typedef struct {
  double width, height, left, right, top, bottom;
  double x0, x1, y0, y1;
} SvgFrame;

double svg_x(const SvgFrame *fr, double v); /* data x to canvas x */
double svg_y(const SvgFrame *fr, double v); /* data y to canvas y (up) */
/* The <svg> element, a white background and the title at (left, title_y). */
void svg_begin(FILE *f, const SvgFrame *fr, double title_y, const char *title);
void svg_circle(FILE *f, double x, double y, double r, const char *fill);
void svg_polyline_begin(FILE *f, const char *stroke, double width);
void svg_point(FILE *f, double x, double y);
void svg_polyline_end(FILE *f);
void svg_end(FILE *f);

#endif
