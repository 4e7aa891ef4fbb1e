/*
 * plot.c: the SVG plotting helper of the search's reports (internal.h):
 * a frame (the canvas, its margins and the data ranges), the mapping of
 * data to canvas coordinates, and the marks the plots draw.  The plots of
 * naasc --search (drive.c: convergence.svg, pareto.svg) and of --nas
 * (nas_drive.c: pareto.svg) are drawn with it; coordinates are printed
 * with one decimal, sizes with %g, so a plot is a pure function of its data.
 */
#include <math.h>

#include "search/internal.h"

double svg_x(const SvgFrame *fr, double v) {
  return fr->left + (v - fr->x0) / (fr->x1 - fr->x0) * (fr->width - fr->left - fr->right);
}

double svg_y(const SvgFrame *fr, double v) {
  return fr->height - fr->bottom -
         (v - fr->y0) / (fr->y1 - fr->y0) * (fr->height - fr->top - fr->bottom);
}

void svg_begin(FILE *f, const SvgFrame *fr, double title_y, const char *title) {
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"%g\" y=\"%g\" font-size=\"14\">%s</text>\n",
          fr->width, fr->height, fr->left, title_y, title);
}

void svg_circle(FILE *f, double x, double y, double r, const char *fill) {
  fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%g\" fill=\"%s\"/>\n", x, y, r, fill);
}

void svg_polyline_begin(FILE *f, const char *stroke, double width) {
  fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" points=\"", stroke, width);
}

void svg_point(FILE *f, double x, double y) { fprintf(f, "%.1f,%.1f ", x, y); }

void svg_polyline_end(FILE *f) { fputs("\"/>\n", f); }

void svg_end(FILE *f) { fputs("</svg>\n", f); }
