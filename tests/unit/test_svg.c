/*
 * test_svg.c: the SVG plotting helper (ir/svg.c): the mapping of data to
 * the canvas on linear and log10 axes, the number format (one decimal,
 * ".0" dropped), text escaping, and the axes, ticks and marks as the exact
 * bytes written.
 */
#include <math.h>
#include <stdlib.h>

#include "ir/ir.h"
#include "tests/unit/test.h"

static char out[8192];

static void test_mapping(void) {
  /* plot area x 10..90, y 10..90 on a 100 x 100 canvas */
  SvgPlot p = {NULL, 100, 100, 10, 10, 10, 10, 0, 4, 1, 3, false, true};
  CHECK_NEAR(svg_x(&p, 0), 10, 1e-12);
  CHECK_NEAR(svg_x(&p, 1), 30, 1e-12);
  CHECK_NEAR(svg_y(&p, 10), 90, 1e-12);  /* log10(10) = 1: the bottom */
  CHECK_NEAR(svg_y(&p, 100), 50, 1e-12); /* 2: the middle */
  CHECK_NEAR(svg_y(&p, 1000), 10, 1e-12);
}

static void test_plot(void) {
  FILE *f = fmemopen(out, sizeof out, "w");
  SvgPlot p = {f, 100, 100, 10, 10, 10, 10, 0, 4, 1, 3, false, true};
  svg_begin(&p, 12, 8, "a<b & \"c\"");
  svg_axes(&p, "x", "y");
  svg_ticks(&p, 'x', 2, "%.0f");
  svg_ticks(&p, 'y', 2, "%.3g");
  svg_circle(&p, svg_x(&p, 1), svg_y(&p, 100), 2.5, "#999", NULL);
  svg_rect(&p, 1.25, 2.04, 3, 4, NULL, "black", "L<1>");
  svg_series_begin(&p, "red", 2);
  svg_series_point(&p, 10.04, 49.96);
  svg_series_point(&p, -0.01, 1.5);
  svg_series_end(&p);
  svg_end(&p);
  fclose(f);
  const char *want =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100\" height=\"100\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"8\" font-size=\"14\">a&lt;b &amp; &quot;c&quot;</text>\n"
      "<line x1=\"10\" y1=\"90\" x2=\"90\" y2=\"90\" stroke=\"black\"/>\n"
      "<line x1=\"10\" y1=\"10\" x2=\"10\" y2=\"90\" stroke=\"black\"/>\n"
      "<text x=\"50\" y=\"90\" text-anchor=\"middle\">x</text>\n"
      "<text x=\"14\" y=\"50\" transform=\"rotate(-90 14 50)\" text-anchor=\"middle\">y</text>\n"
      "<text x=\"10\" y=\"106\" text-anchor=\"middle\">0</text>\n"
      "<text x=\"50\" y=\"106\" text-anchor=\"middle\">2</text>\n"
      "<text x=\"90\" y=\"106\" text-anchor=\"middle\">4</text>\n"
      "<text x=\"6\" y=\"94\" text-anchor=\"end\">10</text>\n"
      "<text x=\"6\" y=\"54\" text-anchor=\"end\">100</text>\n"
      "<text x=\"6\" y=\"14\" text-anchor=\"end\">1e+03</text>\n"
      "<circle cx=\"30\" cy=\"50\" r=\"2.5\" fill=\"#999\"/>\n"
      "<rect x=\"1.2\" y=\"2\" width=\"3\" height=\"4\" fill=\"none\" stroke=\"black\">"
      "<title>L&lt;1&gt;</title></rect>\n"
      "<polyline fill=\"none\" stroke=\"red\" stroke-width=\"2\" points=\"10,50 0,1.5 \"/>\n"
      "</svg>\n";
  if (strcmp(out, want) != 0) fprintf(stderr, "got:\n%s", out);
  CHECK(strcmp(out, want) == 0);
}

int main(void) {
  RUN(test_mapping);
  RUN(test_plot);
  TEST_END();
}
