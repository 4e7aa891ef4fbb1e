/*
 * svg.c: the one SVG plotting helper of the project (ir/ir.h, "SVG
 * writer"): every chart naasc writes goes through it (the cost report's
 * chart, passes/report.c; the search's convergence and Pareto plots,
 * search/drive.c; the network search's Pareto plot, search/nas_drive.c).
 *
 * A plot is a canvas with margins around its plot area, and the data
 * ranges the area spans on each axis, linear or log10.  The helper maps
 * data to canvas coordinates, draws the axes, their labels and ticks, and
 * the marks (points, series, bars, lines, text) at canvas coordinates.
 *
 * Invariants: every coordinate and size is written by svg_num (one decimal,
 * a trailing ".0" dropped), so a plot is a pure function of its data and
 * integers print as integers; every piece of text is escaped (& < > " and
 * control characters), so a model or layer name cannot break the file.
 */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "ir/ir.h"

/* A coordinate or a size: one decimal, "12" rather than "12.0". */
static void svg_num(FILE *f, double v) {
  char b[64];
  snprintf(b, sizeof b, "%.1f", v);
  size_t n = strlen(b);
  if (n > 2 && b[n - 1] == '0' && b[n - 2] == '.') b[n - 2] = 0;
  if (strcmp(b, "-0") == 0) b[0] = '0', b[1] = 0;
  fputs(b, f);
}

/* name="v" with a leading space. */
static void attr(FILE *f, const char *name, double v) {
  fprintf(f, " %s=\"", name);
  svg_num(f, v);
  fputc('"', f);
}

void svg_escape(FILE *f, const char *s) {
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '&')
      fputs("&amp;", f);
    else if (c == '<')
      fputs("&lt;", f);
    else if (c == '>')
      fputs("&gt;", f);
    else if (c == '"')
      fputs("&quot;", f);
    else if (c < 0x20 && c != '\t' && c != '\n')
      fputc('?', f); /* XML 1.0 has no way to write them */
    else
      fputc(c, f);
  }
}

static double axis_map(double v, bool log) { return log ? log10(v) : v; }

double svg_x(const SvgPlot *p, double v) {
  return p->left +
         (axis_map(v, p->xlog) - p->x0) / (p->x1 - p->x0) * (p->width - p->left - p->right);
}

double svg_y(const SvgPlot *p, double v) {
  return p->height - p->bottom -
         (axis_map(v, p->ylog) - p->y0) / (p->y1 - p->y0) * (p->height - p->top - p->bottom);
}

void svg_begin(const SvgPlot *p, int font_size, double title_y, const char *title) {
  FILE *f = p->f;
  fputs("<svg xmlns=\"http://www.w3.org/2000/svg\"", f);
  attr(f, "width", p->width);
  attr(f, "height", p->height);
  fprintf(f, " font-family=\"sans-serif\" font-size=\"%d\">\n", font_size);
  svg_rect(p, NAN, NAN, p->width, p->height, "white", NULL, NULL);
  svg_text(p, p->left, title_y, NULL, 0, "font-size=\"14\"", "%s", title);
}

void svg_end(const SvgPlot *p) { fputs("</svg>\n", p->f); }

void svg_text(const SvgPlot *p, double x, double y, const char *anchor, double rotate,
              const char *style, const char *fmt, ...) {
  FILE *f = p->f;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fputs("<text", f);
  attr(f, "x", x);
  attr(f, "y", y);
  if (rotate != 0) {
    fputs(" transform=\"rotate(", f);
    svg_num(f, rotate);
    fputc(' ', f);
    svg_num(f, x);
    fputc(' ', f);
    svg_num(f, y);
    fputs(")\"", f);
  }
  if (anchor) fprintf(f, " text-anchor=\"%s\"", anchor);
  if (style) fprintf(f, " %s", style);
  fputc('>', f);
  svg_escape(f, buf);
  fputs("</text>\n", f);
}

void svg_line(const SvgPlot *p, double x1, double y1, double x2, double y2, const char *stroke,
              const char *dash) {
  FILE *f = p->f;
  fputs("<line", f);
  attr(f, "x1", x1);
  attr(f, "y1", y1);
  attr(f, "x2", x2);
  attr(f, "y2", y2);
  fprintf(f, " stroke=\"%s\"", stroke);
  if (dash) fprintf(f, " stroke-dasharray=\"%s\"", dash);
  fputs("/>\n", f);
}

void svg_rect(const SvgPlot *p, double x, double y, double w, double h, const char *fill,
              const char *stroke, const char *tip) {
  FILE *f = p->f;
  fputs("<rect", f);
  if (!isnan(x)) attr(f, "x", x);
  if (!isnan(y)) attr(f, "y", y);
  attr(f, "width", w);
  attr(f, "height", h);
  fprintf(f, " fill=\"%s\"", fill ? fill : "none");
  if (stroke) fprintf(f, " stroke=\"%s\"", stroke);
  if (tip) {
    fputs("><title>", f);
    svg_escape(f, tip);
    fputs("</title></rect>\n", f);
  } else {
    fputs("/>\n", f);
  }
}

void svg_circle(const SvgPlot *p, double x, double y, double r, const char *fill,
                const char *stroke) {
  FILE *f = p->f;
  fputs("<circle", f);
  attr(f, "cx", x);
  attr(f, "cy", y);
  attr(f, "r", r);
  fprintf(f, " fill=\"%s\"", fill ? fill : "none");
  if (stroke) fprintf(f, " stroke=\"%s\" stroke-width=\"2\"", stroke);
  fputs("/>\n", f);
}

void svg_series_begin(const SvgPlot *p, const char *stroke, double width) {
  fprintf(p->f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"", stroke);
  svg_num(p->f, width);
  fputs("\" points=\"", p->f);
}

void svg_series_point(const SvgPlot *p, double x, double y) {
  svg_num(p->f, x);
  fputc(',', p->f);
  svg_num(p->f, y);
  fputc(' ', p->f);
}

void svg_series_end(const SvgPlot *p) { fputs("\"/>\n", p->f); }

void svg_axes(const SvgPlot *p, const char *xlabel, const char *ylabel) {
  double l = p->left, r = p->width - p->right, t = p->top, b = p->height - p->bottom;
  svg_line(p, l, b, r, b, "black", NULL);
  svg_line(p, l, t, l, b, "black", NULL);
  if (xlabel) svg_text(p, (l + r) / 2, p->height - 10, "middle", 0, NULL, "%s", xlabel);
  if (ylabel) svg_text(p, 14, (t + b) / 2, "middle", -90, NULL, "%s", ylabel);
}

void svg_axis_right(const SvgPlot *p, const char *label) {
  double r = p->width - p->right, t = p->top, b = p->height - p->bottom;
  svg_line(p, r, t, r, b, "black", NULL);
  if (label) svg_text(p, p->width - 10, (t + b) / 2, "middle", 90, NULL, "%s", label);
}

void svg_ticks(const SvgPlot *p, char axis, int n, const char *fmt) {
  bool x = axis == 'x', log = x ? p->xlog : p->ylog;
  double lo = x ? p->x0 : p->y0, hi = x ? p->x1 : p->y1;
  for (int k = 0; k <= n; k++) {
    double at = lo + (hi - lo) * k / n, v = log ? pow(10, at) : at;
    char label[64];
    snprintf(label, sizeof label, fmt, v);
    if (x)
      svg_text(p, svg_x(p, v), p->height - p->bottom + 16, "middle", 0, NULL, "%s", label);
    else if (axis == 'y')
      svg_text(p, p->left - 4, svg_y(p, v) + 4, "end", 0, NULL, "%s", label);
    else
      svg_text(p, p->width - p->right + 4, svg_y(p, v) + 4, NULL, 0, NULL, "%s", label);
  }
}
