/*
 * graph_print.c: the text form of the graph IR (--emit=graph).  One line per
 * graph input, constant, node and output; each node line shows its output
 * types, its op, its inputs (then, after " | ", the outer values its
 * subgraphs capture) and the attributes that op defines.  A node's
 * subgraphs follow it, indented, each in braces with its own inputs, outer
 * values, constants, nodes and outputs.  The format is documented in
 * docs/user-guide.md; tests compare it byte for byte.
 */
#include "ir/internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* "S", escaping '"', '\\', newline, carriage return and tab, and any other
 * control byte as \xHH (graph_parse.c's gp_string reads it back). */
static void put_quoted(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p == '\r')
      fputs("\\r", f);
    else if (*p == '\t')
      fputs("\\t", f);
    else if (*p < ' ' || *p == 127)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

/* A name bare when no character of it ends it where the parser reads it (a
 * space, a control byte, one of stops) and it does not start with '"' (or, for a
 * dim, with a digit or '?'); quoted otherwise. */
static void put_name(FILE *f, const char *s, const char *stops, bool dim) {
  bool bare = s && *s && *s != '"' && !(dim && ((*s >= '0' && *s <= '9') || *s == '?'));
  for (const unsigned char *p = (const unsigned char *)s; bare && *p; p++)
    if (*p <= ' ' || *p == 127 || strchr(stops, *p)) bare = false;
  if (bare)
    fputs(s, f);
  else
    put_quoted(f, s);
}

static void put_value(FILE *f, const char *name) {
  fputc('%', f);
  put_name(f, name, ",)", false);
}

void type_print(FILE *f, const Tensor *t) {
  fprintf(f, "%s", dtype_name(t->dtype));
  if (t->rank < 0) {
    fputs("[*]", f);
    return;
  }
  fputc('[', f);
  for (int i = 0; i < t->rank; i++) {
    if (i) fputc(',', f);
    if (t->dims[i] >= 0)
      fprintf(f, "%" PRId64, t->dims[i]);
    else if (t->dim_param[i])
      put_name(f, t->dim_param[i], ",]", true);
    else
      fputc('?', f);
  }
  fputc(']', f);
}

static void ilist(FILE *f, const char *key, const int64_t *v, int n) {
  fprintf(f, " %s=[", key);
  for (int i = 0; i < n; i++) fprintf(f, i ? ",%" PRId64 : "%" PRId64, v[i]);
  fputc(']', f);
}

static void fval(FILE *f, const char *key, float v) {
  if (isinf(v))
    fprintf(f, " %s=%sinf", key, v < 0 ? "-" : "");
  else
    fprintf(f, " %s=%.9g", key, v);
}

static const char *const autopad_names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
const char *const rz_mode_names[3] = {"nearest", "linear", "cubic"};
const char *const rz_coord_names[6] = {"half_pixel",           "asymmetric",
                                       "align_corners",        "pytorch_half_pixel",
                                       "tf_half_pixel_for_nn", "tf_crop_and_resize"};
const char *const rz_near_names[4] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

/* The AttrSpec rows of op (the ops beyond the first 37), in row order. */
static void spec_print(FILE *f, Op op, const Attrs *a) {
  int n;
  const AttrSpec *s = op_attr_specs(op, &n);
  for (int r = 0; r < n; r++) {
    const AttrSpec *sp = &s[r];
    const void *p = (const char *)a + sp->off;
    if (sp->has_off && !*(const bool *)((const char *)a + sp->has_off - 1)) continue;
    int cnt = sp->count_off ? *(const int *)((const char *)a + sp->count_off) : 0;
    switch (sp->kind) {
    case AK_INT: fprintf(f, " %s=%" PRId64, sp->name, *(const int64_t *)p); break;
    case AK_BOOL: fprintf(f, " %s=%d", sp->name, *(const bool *)p); break;
    case AK_FLOAT: fval(f, sp->name, *(const float *)p); break;
    case AK_ENUM: {
      int v = *(const int *)p;
      fprintf(f, " %s=%s", sp->name, v >= 0 && v < sp->nnames ? sp->names[v] : "?");
      break;
    }
    case AK_DTYPE:
      fprintf(f, " %s=%s", sp->name, *(const int *)p ? dtype_name(*(const DType *)p) : "none");
      break;
    case AK_INTS: ilist(f, sp->name, p, cnt); break;
    case AK_LIST_I: ilist(f, sp->name, *(const int64_t *const *)p, cnt); break;
    case AK_FLOATS:
    case AK_LIST_F: {
      const float *v = sp->kind == AK_FLOATS ? p : *(const float *const *)p;
      fprintf(f, " %s=[", sp->name);
      for (int i = 0; i < cnt; i++) fprintf(f, i ? ",%.9g" : "%.9g", v[i]);
      fputc(']', f);
      break;
    }
    case AK_ENUMS: {
      const int *v = p;
      fprintf(f, " %s=[", sp->name);
      for (int i = 0; i < cnt; i++)
        fprintf(f, "%s%s", i ? "," : "", v[i] >= 0 && v[i] < sp->nnames ? sp->names[v[i]] : "?");
      fputc(']', f);
      break;
    }
    case AK_STRING:
      fprintf(f, " %s=", sp->name);
      put_quoted(f, *(const char *const *)p);
      break;
    case AK_TENSOR:
      if (a->value_dtype == DT_F32 || a->value_dtype == DT_F64 || a->value_dtype == DT_F16 ||
          a->value_dtype == DT_BF16)
        fprintf(f, " %s=%s:%.9g", sp->name, dtype_name(a->value_dtype), a->value_f);
      else
        fprintf(f, " %s=%s:%" PRId64, sp->name, dtype_name(a->value_dtype), a->value_i);
      break;
    }
  }
}

/* rank: of the node's first output (Resize's scales), -1 if unknown. */
static void attrs_print(FILE *f, Op op, const Attrs *a, int rank) {
  switch (op) {
  case OP_QLINEARCONV:
  case OP_CONVINTEGER:
  case OP_CONV:
  case OP_CONVTRANSPOSE:
    fprintf(f, " group=%" PRId64, a->group);
    ilist(f, "kernel", a->kernel, a->nsp);
    ilist(f, "strides", a->strides, a->nsp);
    ilist(f, "pads", a->pads, 2 * a->nsp);
    ilist(f, "dilations", a->dilations, a->nsp);
    if (op == OP_CONVTRANSPOSE) ilist(f, "output_padding", a->out_pad, a->nsp);
    break;
  case OP_MAXUNPOOL:
    ilist(f, "kernel", a->kernel, a->nsp);
    ilist(f, "strides", a->strides, a->nsp);
    ilist(f, "pads", a->pads, 2 * a->nsp);
    if (a->nshape) ilist(f, "output_shape", a->shape, a->nshape);
    break;
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    ilist(f, "kernel", a->kernel, a->nsp);
    ilist(f, "strides", a->strides, a->nsp);
    ilist(f, "pads", a->pads, 2 * a->nsp);
    if (op == OP_MAXPOOL) ilist(f, "dilations", a->dilations, a->nsp);
    if (a->ceil_mode) fputs(" ceil_mode=1", f);
    if (op == OP_AVGPOOL) fprintf(f, " count_include_pad=%d", a->count_include_pad);
    break;
  case OP_GEMM:
    fprintf(f, " transA=%d transB=%d", a->trans_a, a->trans_b);
    fval(f, "alpha", a->alpha);
    fval(f, "beta", a->beta);
    break;
  case OP_LEAKYRELU: fval(f, "alpha", a->alpha); break;
  case OP_HARDSIGMOID:
    fval(f, "alpha", a->alpha);
    fval(f, "beta", a->beta);
    break;
  case OP_CLIP:
    fval(f, "min", a->clip_min);
    fval(f, "max", a->clip_max);
    break;
  case OP_BATCHNORM: fval(f, "epsilon", a->epsilon); break;
  case OP_CONCAT:
  case OP_FLATTEN:
  case OP_GATHER:
  case OP_SOFTMAX:
    fprintf(f, " axis=%" PRId64, a->axis);
    if (a->coerce2d) fputs(" coerce2d=1", f);
    break;
  case OP_TRANSPOSE: ilist(f, "perm", a->axes, a->naxes); break;
  case OP_SQUEEZE:
  case OP_UNSQUEEZE: ilist(f, "axes", a->axes, a->naxes); break;
  case OP_REDUCEMEAN:
    ilist(f, "axes", a->axes, a->naxes);
    fprintf(f, " keepdims=%d", a->keepdims);
    if (a->noop_empty) fputs(" noop_with_empty_axes=1", f);
    break;
  case OP_CAST: fprintf(f, " to=%s", dtype_name(a->to)); break;
  case OP_RESIZE:
    fprintf(f, " mode=%s coord=%s", rz_mode_names[a->rz_mode], rz_coord_names[a->rz_coord]);
    if (a->rz_mode == RZ_NEAREST) fprintf(f, " nearest=%s", rz_near_names[a->rz_nearest]);
    if (a->rz_mode == RZ_CUBIC) {
      fval(f, "cubic_a", a->rz_cubic_a);
      if (a->rz_exclude_outside) fputs(" exclude_outside=1", f);
    }
    if (rank > 0) { /* taken from the inputs by shape inference */
      fputs(" scales=[", f);
      for (int i = 0; i < rank && i < NAASC_MAX_RANK; i++)
        fprintf(f, i ? ",%.9g" : "%.9g", a->rz_scales[i]);
      fputc(']', f);
      if (a->rz_from_sizes) fputs(" from_sizes=1", f);
    }
    if (a->rz_coord == RZC_TF_CROP_AND_RESIZE && rank > 0) {
      fputs(" roi=[", f);
      for (int i = 0; i < 2 * rank && i < 2 * NAASC_MAX_RANK; i++)
        fprintf(f, i ? ",%.9g" : "%.9g", a->rz_roi[i]);
      fputc(']', f);
      fval(f, "extrapolation", a->rz_extrapolation);
    }
    break;
  case OP_SLICE: /* taken from the inputs by shape inference */
    if (a->naxes >= 0) {
      ilist(f, "starts", a->starts, a->naxes);
      ilist(f, "ends", a->ends, a->naxes);
      ilist(f, "axes", a->axes, a->naxes);
      ilist(f, "steps", a->steps, a->naxes);
    }
    break;
  case OP_RESHAPE:
    if (a->allowzero) fputs(" allowzero=1", f);
    break;
  default:
    spec_print(f, op, a);
    if ((op == OP_LOGSOFTMAX || op == OP_HARDMAX) && a->coerce2d) fputs(" coerce2d=1", f);
    break;
  }
  (void)autopad_names;
}

static void const_values(FILE *f, const Tensor *t) {
  int64_t n = tensor_numel(t);
  if (!t->data || n < 0 || n > 8 || dtype_size(t->dtype) == 0) return;
  fputs(" = [", f);
  bool fl = t->dtype == DT_F32 || t->dtype == DT_F64 || t->dtype == DT_F16 || t->dtype == DT_BF16;
  for (int64_t i = 0; i < n; i++) {
    if (i) fputc(',', f);
    if (fl)
      fprintf(f, "%.9g", tensor_get_f(t, i));
    else
      fprintf(f, "%" PRId64, tensor_get_i(t, i));
  }
  fputc(']', f);
}

static void print_body(FILE *f, const Model *m, int ind);

static void print_node(FILE *f, const Model *m, const Node *n, int ind) {
  fprintf(f, "%*s", ind, "");
  int shown = 0, last = n->nout - 1;
  while (last >= 0 && !n->out[last]) last--;
  for (int j = 0; j <= last; j++) {
    if (!n->out[j]) { /* an absent output before a present one keeps its slot */
      fputs(shown++ ? ", _" : "_", f);
      continue;
    }
    const Tensor *t = &m->tensors[n->out[j]];
    if (shown++) fputs(", ", f);
    put_value(f, t->name);
    fputs(" : ", f);
    type_print(f, t);
  }
  const char *opname = n->op == OP_HOST ? n->onnx_op : op_name(n->op);
  bool word = opname && *opname;
  for (const char *p = opname; word && *p; p++) word = graph_word_char((unsigned char)*p);
  fputs(" = ", f);
  if (word)
    fputs(opname, f);
  else
    put_quoted(f, opname);
  fputc('(', f);
  for (int j = 0; j < n->nin; j++) {
    if (j)
      fputs(j == n->nin - n->ncap ? " | " : ", ", f);
    else if (n->nin == n->ncap)
      fputs("| ", f);
    if (n->in[j])
      put_value(f, m->tensors[n->in[j]].name);
    else
      fputs("_", f);
  }
  fputc(')', f);
  const Tensor *o0 = n->nout && n->out[0] ? &m->tensors[n->out[0]] : NULL;
  attrs_print(f, n->op, &n->a, o0 ? o0->rank : -1);
  if (n->bn_folded) fputs(" +BatchNormalization", f);
  if (n->act) {
    fprintf(f, " +%s", op_name(n->act));
    attrs_print(f, n->act, &n->act_a, -1);
  }
  if (n->host_only) fputs(" host", f);
  fputs("  # ", f);
  bool raw = n->name && n->name[0] != '"';
  for (const unsigned char *p = (const unsigned char *)n->name; raw && *p; p++)
    if (*p < ' ' || *p == 127) raw = false;
  if (raw)
    fputs(n->name, f);
  else
    put_quoted(f, n->name);
  fputc('\n', f);
  for (int s = 0; s < 2; s++) {
    if (!n->sub[s] || n->sub[s] >= m->nsubs) continue;
    const Model *g = &m->subs[n->sub[s]];
    const char *label = n->op == OP_IF ? (s ? "else_branch" : "then_branch") : "body";
    fprintf(f, "%*s%s ", ind + 2, "", label);
    put_quoted(f, g->name);
    fputs(" {\n", f);
    print_body(f, g, ind + 4);
    fprintf(f, "%*s}\n", ind + 2, "");
  }
}

static void print_body(FILE *f, const Model *m, int ind) {
  for (uint32_t i = 0; i < m->ninputs; i++) {
    const Tensor *t = &m->tensors[m->inputs[i]];
    fprintf(f, "%*sinput ", ind, "");
    put_value(f, t->name);
    fputs(" : ", f);
    type_print(f, t);
    fputc('\n', f);
  }
  for (uint32_t i = 1; i < m->ntensors; i++) { /* a subgraph's values from outside */
    const Tensor *t = &m->tensors[i];
    if (t->kind != TK_OUTER) continue;
    fprintf(f, "%*souter ", ind, "");
    put_value(f, t->name);
    fputs(" : ", f);
    type_print(f, t);
    fputc('\n', f);
  }
  /* Constants that a live node reads, in tensor order. */
  for (uint32_t i = 1; i < m->ntensors; i++) {
    const Tensor *t = &m->tensors[i];
    if (t->kind != TK_CONST || (!t->is_output && graph_uses(m, i) == 0)) continue;
    fprintf(f, "%*sconst ", ind, "");
    put_value(f, t->name);
    fputs(" : ", f);
    type_print(f, t);
    if (!t->data && !t->data_elided) fputs(" (no data)", f);
    const_values(f, t);
    fputc('\n', f);
  }
  for (uint32_t i = 1; i < m->nnodes; i++)
    if (!m->nodes[i].dead) print_node(f, m, &m->nodes[i], ind);
  for (uint32_t i = 0; i < m->noutputs; i++) {
    const Tensor *t = &m->tensors[m->outputs[i]];
    fprintf(f, "%*soutput ", ind, "");
    put_value(f, t->name);
    fputs(" : ", f);
    type_print(f, t);
    fputc('\n', f);
  }
}

void graph_print(FILE *f, const Model *m) {
  fputs("graph ", f);
  put_quoted(f, m->name);
  fprintf(f, " ir=%" PRId64 " opset=%" PRId64 " {\n", m->ir_version, m->opset);
  print_body(f, m, 2);
  fputs("}\n", f);
}
