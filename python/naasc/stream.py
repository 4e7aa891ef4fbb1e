"""naasc.Stream: a command stream run through the C API (naasc_stream_*,
docs/api.md "Running a command stream"), what naasc-run does, without numpy.

    s = naasc.Stream("m.cmd", target="eyeriss")
    s.inputs                        # [TensorInfo(name, dtype, shape, nbytes)]
    out = s.run({"input": array.array("f", xs)})   # {name: array.array}
    s.run({"input": xs_list}, jit=True, counts=True); print(s.report("counts"))
    s.read("output")                # the raw bytes; s.write_outputs("out/")

Inputs are bytes-like objects (bytes, bytearray, memoryview, array.array)
holding the tensor's elements, or flat lists of numbers; outputs are
array.array of the element type (bytes for float16 and bfloat16, which
array has no type for).  dtype names are the stream's: "f32", "i64", ...

jit=True compiles the tiles with the LLVM JIT of libnaasc_jit.so, found
through NAASC_JIT_LIBRARY, else beside the libnaasc.so this package loaded,
else by the system's loader; without it the C reference kernels run (the
results are bit-identical).
"""
import array
import collections
import ctypes
import os

from . import _PP, Error, _b, _c, _check, _ctx, _i64, _lib, _library_path, _p, _sig, _string

__all__ = ["Stream", "TensorInfo"]

TensorInfo = collections.namedtuple("TensorInfo", "name dtype shape nbytes")

_MAX_RANK = 8
_LEVELS = 8
_TYPECODES = {"f32": "f", "f64": "d", "u8": "B", "i8": "b", "u16": "H", "i16": "h", "i32": "i",
              "i64": "q", "u32": "I", "u64": "Q", "bool": "B"}


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", _c), ("dtype", ctypes.c_int), ("dtype_name", _c), ("rank", ctypes.c_int),
                ("dims", _i64 * _MAX_RANK), ("numel", _i64), ("bytes", ctypes.c_size_t)]


class _RunOptions(ctypes.Structure):
    _fields_ = [("kernels", _p), ("reference", ctypes.c_int), ("inner", ctypes.c_int),
                ("count", ctypes.c_int), ("count_exact", ctypes.c_int)]


_Grid = (_i64 * 3) * _LEVELS


class _LayerCounts(ctypes.Structure):
    _fields_ = [("name", _c), ("counted", ctypes.c_int), ("exact", ctypes.c_int),
                ("nlevels", ctypes.c_int), ("reads", _Grid), ("fills", _Grid),
                ("updates", _Grid), ("macs", _i64), ("tiles", _i64), ("moved", _Grid),
                ("drained", _i64 * _LEVELS), ("held", ctypes.c_int), ("wide", ctypes.c_int),
                ("host", ctypes.c_int), ("host_op", _c), ("host_nodes", _i64),
                ("host_elements", _i64), ("host_seconds", ctypes.c_double)]


class _Stats(ctypes.Structure):
    _fields_ = [("memory", _i64), ("memory_unshared", _i64), ("max_memory", _i64),
                ("run_seconds", ctypes.c_double), ("host_layers", ctypes.c_int),
                ("host_seconds", ctypes.c_double), ("wide_layers", ctypes.c_int),
                ("kernels_used", ctypes.c_int), ("kernels_compiled", _i64),
                ("compile_seconds", ctypes.c_double)]


_sig("naasc_stream_load", ctypes.c_int, _p, _c, _c, _i64, _PP)
_sig("naasc_stream_destroy", None, _p)
_sig("naasc_stream_disasm", ctypes.c_int, _p, _p, _PP)
_sig("naasc_stream_input_count", ctypes.c_int, _p)
_sig("naasc_stream_output_count", ctypes.c_int, _p)
_sig("naasc_stream_input_info", ctypes.c_int, _p, _p, ctypes.c_int, ctypes.POINTER(_TensorInfo))
_sig("naasc_stream_output_info", ctypes.c_int, _p, _p, ctypes.c_int, ctypes.POINTER(_TensorInfo))
_sig("naasc_stream_bind", ctypes.c_int, _p, _p, _c, ctypes.c_int, ctypes.c_int,
     ctypes.POINTER(_i64), _p, ctypes.c_size_t)
_sig("naasc_stream_bind_file", ctypes.c_int, _p, _p, _c, _c)
_sig("naasc_stream_run", ctypes.c_int, _p, _p, ctypes.POINTER(_RunOptions))
_sig("naasc_stream_read", ctypes.c_int, _p, _p, _c, _p, ctypes.c_size_t)
_sig("naasc_stream_write_output", ctypes.c_int, _p, _p, _c, _c)
_sig("naasc_stream_write_outputs", ctypes.c_int, _p, _p, _c)
_sig("naasc_stream_layer_count", ctypes.c_int, _p)
_sig("naasc_stream_layer_counts", ctypes.c_int, _p, _p, ctypes.c_int,
     ctypes.POINTER(_LayerCounts))
_sig("naasc_stream_report", ctypes.c_int, _p, _p, _c, _PP)
_sig("naasc_stream_stats", ctypes.c_int, _p, _p, ctypes.POINTER(_Stats))
_sig("naasc_kernel_provider_destroy", None, _p)


class _Provider:
    """The LLVM JIT of libnaasc_jit.so (naasc_jit_provider_create)."""

    def __init__(self):
        path = os.environ.get("NAASC_JIT_LIBRARY")
        if not path:
            lib = _library_path()
            name = "libnaasc_jit.so.0"
            path = os.path.join(os.path.dirname(lib), name) if os.path.dirname(lib) else name
            if not os.path.exists(path) and os.path.dirname(lib):
                path = os.path.join(os.path.dirname(lib), "libnaasc_jit.so")
        self._jit = ctypes.CDLL(path)
        self._jit.naasc_jit_provider_create.restype = _p
        self._jit.naasc_jit_provider_create.argtypes = []
        self._as_parameter_ = self._jit.naasc_jit_provider_create()
        if not self._as_parameter_:
            raise MemoryError("naasc_jit_provider_create")

    def __del__(self):
        ptr, self._as_parameter_ = getattr(self, "_as_parameter_", None), None
        if ptr:
            _lib.naasc_kernel_provider_destroy(ptr)


_jit = None


def _jit_provider():
    global _jit
    if _jit is None:
        _jit = _Provider()
    return _jit


def _info(fn, s, i):
    """(TensorInfo, its TensorProto.DataType)"""
    t = _TensorInfo()
    _check(fn(_ctx, s, i, ctypes.byref(t)))
    info = TensorInfo(t.name.decode(), t.dtype_name.decode(), tuple(t.dims[:t.rank]), t.bytes)
    return info, t.dtype


class Stream:
    """A command stream loaded to run (naasc_stream_load): path, the target
    it must have been compiled for (a preset or a file; None: any), the
    memory cap in bytes (0: 4 GiB)."""

    def __init__(self, path, target=None, max_memory=0):
        out = _p()
        _check(_lib.naasc_stream_load(_ctx, _b(path), _b(target), int(max_memory),
                                      ctypes.byref(out)))
        self._as_parameter_ = out
        self._provider = None  # the provider of a JIT run: freed after the stream
        ins = [_info(_lib.naasc_stream_input_info, self, i)
               for i in range(_lib.naasc_stream_input_count(self))]
        outs = [_info(_lib.naasc_stream_output_info, self, i)
                for i in range(_lib.naasc_stream_output_count(self))]
        self.inputs = [t for t, _ in ins]
        self.outputs = [t for t, _ in outs]
        self._dtype = {t.name: k for t, k in ins + outs}

    def __del__(self):
        ptr, self._as_parameter_ = getattr(self, "_as_parameter_", None), None
        if ptr:
            _lib.naasc_stream_destroy(ptr)

    def _tensor(self, name):
        for t in self.inputs + self.outputs:
            if t.name == name:
                return t
        raise Error(1, f"{name!r}: the stream has no input or output of that name")

    def bind(self, name, data):
        """Binds input name to data: a bytes-like object of its bytes, or a
        flat list of its elements."""
        t = self._tensor(name)
        if isinstance(data, (list, tuple)):
            code = _TYPECODES.get(t.dtype)
            if code is None:
                raise Error(1, f"input {name!r}: a list cannot give {t.dtype} elements; "
                               "pass their bytes")
            data = array.array(code, data)
        mv = memoryview(data).cast("B")
        buf = (ctypes.c_char * len(mv)).from_buffer_copy(mv) if len(mv) else ctypes.c_char()
        dims = (_i64 * _MAX_RANK)(*t.shape)
        _check(_lib.naasc_stream_bind(_ctx, self, _b(name), self._dtype[name], len(t.shape),
                                      dims, buf, len(mv)))

    def bind_file(self, name, path):
        """Binds input name to a serialized ONNX TensorProto (.pb) file."""
        _check(_lib.naasc_stream_bind_file(_ctx, self, _b(name), _b(path)))

    def run(self, inputs=None, jit=False, reference=False, inner=False, counts=False,
            exact=False):
        """Binds inputs ({name: data}, as bind takes), runs, and returns
        {output name: array.array (bytes for f16/bf16)}."""
        for name, data in (inputs or {}).items():
            self.bind(name, data)
        o = _RunOptions(None, int(reference), int(inner), int(counts or exact), int(exact))
        if jit and not reference:
            self._provider = _jit_provider()
            o.kernels = self._provider._as_parameter_
        _check(_lib.naasc_stream_run(_ctx, self, ctypes.byref(o)))
        return {t.name: self.output(t.name) for t in self.outputs}

    def read(self, name):
        """The bytes of output (or input) name."""
        t = self._tensor(name)
        buf = ctypes.create_string_buffer(max(t.nbytes, 1))
        _check(_lib.naasc_stream_read(_ctx, self, _b(name), buf, t.nbytes))
        return buf.raw[:t.nbytes]

    def output(self, name):
        """Output name as an array.array of its element type (bytes for f16, bf16)."""
        raw = self.read(name)
        code = _TYPECODES.get(self._tensor(name).dtype)
        if code is None:
            return raw
        a = array.array(code)
        a.frombytes(raw)
        return a

    def write_output(self, name, path):
        """Output name as a TensorProto file."""
        _check(_lib.naasc_stream_write_output(_ctx, self, _b(name), _b(path)))

    def write_outputs(self, directory):
        """Every output as DIRECTORY/NAME.pb (naasc-run -o)."""
        _check(_lib.naasc_stream_write_outputs(_ctx, self, _b(directory)))

    def disasm(self):
        return _string(_lib.naasc_stream_disasm, self)

    def report(self, kind):
        """The counters as naasc-run prints them: "counts", "moved" or "host"."""
        return _string(_lib.naasc_stream_report, self, _b(kind))

    def layer_counts(self):
        """Per layer after a run: a dict of naasc_stream_layer_counts's fields
        (reads, fills, updates over the counted levels, moved over all eight:
        [level][W, I, O])."""
        layers = []
        for i in range(_lib.naasc_stream_layer_count(self)):
            c = _LayerCounts()
            _check(_lib.naasc_stream_layer_counts(_ctx, self, i, ctypes.byref(c)))
            def grid(g, n):
                return [list(g[level]) for level in range(n)]
            n = c.nlevels  # counted levels; moved and drained: over every level
            layers.append({
                "name": c.name.decode(), "counted": bool(c.counted), "exact": bool(c.exact),
                "reads": grid(c.reads, n), "fills": grid(c.fills, n),
                "updates": grid(c.updates, n), "macs": c.macs, "tiles": c.tiles,
                "moved": grid(c.moved, _LEVELS), "drained": list(c.drained),
                "held": c.held, "wide": bool(c.wide),
                "host": bool(c.host), "host_op": c.host_op.decode() if c.host_op else None,
                "host_nodes": c.host_nodes, "host_elements": c.host_elements,
                "host_seconds": c.host_seconds})
        return layers

    def stats(self):
        """The memory it holds and its last run's figures (naasc-run --time)."""
        s = _Stats()
        _check(_lib.naasc_stream_stats(_ctx, self, ctypes.byref(s)))
        return {f: getattr(s, f) for f, _ in _Stats._fields_}

