"""naasc.Stream: a command stream run through the C API (naasc_stream_*,
docs/api.md "Running a command stream"), what naasc-run does; numpy is
used when it is installed, and not needed.

    s = naasc.Stream("m.cmd", target="eyeriss")
    s.inputs                        # [TensorInfo(name, dtype, shape, nbytes)]
    out = s.run({"input": array.array("f", xs)})   # {name: array.array}
    s.run({"input": xs_list}, jit=True, counts=True); print(s.report("counts"))
    s.read("output")                # the raw bytes; s.write_outputs("out/")

Inputs are bytes-like objects (bytes, bytearray, memoryview, array.array)
holding the tensor's elements, or flat lists of numbers; outputs are
array.array of the element type (bytes for float16 and bfloat16, which
array has no type for).  dtype names are the stream's: "f32", "i64", ...

With numpy, inputs may also be numpy arrays (their dtype and shape must be
the input's; a uint16 array binds a bfloat16 input), run(numpy=True)
returns numpy arrays of the outputs' shapes, and s.array(name) gives one.
naasc.Tensor is the C API's tensor handle (NaascTensor): a dtype, a shape
and its data, loaded from or saved to .npy and .pb files, bound with
s.bind(name, tensor), an output taken with s.tensor(name).  A NumPy .npz
archive (numpy.savez) is read with Tensor.load_npz(path) -> {name: Tensor},
or bound whole with s.bind_npz(path) (naasc-run --inputs).

s.report_json() is the counters as a dict (naasc-run --report-json).

jit=True compiles the tiles with the LLVM JIT of libnaasc_jit.so, found
through NAASC_JIT_LIBRARY, else beside the libnaasc.so this package loaded,
else by the system's loader; without it the C reference kernels run (the
results are bit-identical).
"""
import array
import collections
import ctypes
import json
import os

from . import _PP, Error, _b, _c, _check, _ctx, _i64, _lib, _library_path, _p, _sig, _string

__all__ = ["Stream", "Tensor", "TensorInfo"]

TensorInfo = collections.namedtuple("TensorInfo", "name dtype shape nbytes")

_MAX_RANK = 8
_LEVELS = 8
# naasc's dtype names, their TensorProto.DataType, and numpy's dtype (bf16: its bits)
_DTYPES = {"f32": 1, "u8": 2, "i8": 3, "u16": 4, "i16": 5, "i32": 6, "i64": 7, "bool": 9,
           "f16": 10, "f64": 11, "u32": 12, "u64": 13, "bf16": 16}
_NUMPY = {"f32": "<f4", "f16": "<f2", "f64": "<f8", "u8": "u1", "i8": "i1", "u16": "<u2",
          "i16": "<i2", "i32": "<i4", "i64": "<i8", "u32": "<u4", "u64": "<u8", "bool": "?",
          "bf16": "<u2"}
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
_sig("naasc_stream_bind_npz", ctypes.c_int, _p, _p, _c)
_sig("naasc_stream_run", ctypes.c_int, _p, _p, ctypes.POINTER(_RunOptions))
_sig("naasc_stream_read", ctypes.c_int, _p, _p, _c, _p, ctypes.c_size_t)
_sig("naasc_stream_write_output", ctypes.c_int, _p, _p, _c, _c)
_sig("naasc_stream_write_outputs", ctypes.c_int, _p, _p, _c)
_sig("naasc_stream_layer_count", ctypes.c_int, _p)
_sig("naasc_stream_layer_counts", ctypes.c_int, _p, _p, ctypes.c_int,
     ctypes.POINTER(_LayerCounts))
_sig("naasc_stream_report", ctypes.c_int, _p, _p, _c, _PP)
_sig("naasc_stream_write_report", ctypes.c_int, _p, _p, _c, _c)
_sig("naasc_stream_bind_tensor", ctypes.c_int, _p, _p, _c, _p)
_sig("naasc_stream_output_tensor", ctypes.c_int, _p, _p, _c, _PP)
_sig("naasc_tensor_create", ctypes.c_int, _p, ctypes.c_int, ctypes.c_int, ctypes.POINTER(_i64),
     _p, _PP)
_sig("naasc_tensor_load", ctypes.c_int, _p, _c, _PP)
_sig("naasc_tensor_load_npz", ctypes.c_int, _p, _c, ctypes.POINTER(_PP),
     ctypes.POINTER(ctypes.c_int))
_sig("naasc_tensor_list_destroy", None, _PP, ctypes.c_int)
_sig("naasc_tensor_save", ctypes.c_int, _p, _p, _c)
_sig("naasc_tensor_info", None, _p, ctypes.POINTER(_TensorInfo))
_sig("naasc_tensor_data", _p, _p)
_sig("naasc_tensor_destroy", None, _p)
_sig("naasc_stream_stats", ctypes.c_int, _p, _p, ctypes.POINTER(_Stats))
_sig("naasc_kernel_provider_destroy", None, _p)


def _numpy():
    """numpy, or None when it is not installed."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _is_ndarray(x):
    np = _numpy()
    return np is not None and isinstance(x, np.ndarray)


class Tensor:
    """A tensor handle of the C API (NaascTensor): a dtype, a shape and its
    data, owned by the library.  Made by Tensor.load(path) (.npy or .pb),
    Tensor.load_npz(path) (each array of a .npz archive),
    Tensor.create(dtype, shape, data=None), Tensor.from_numpy(a), or
    Stream.tensor(name)."""

    def __init__(self, ptr):
        self._as_parameter_ = ptr
        i = _TensorInfo()
        _lib.naasc_tensor_info(self, ctypes.byref(i))
        self.name = i.name.decode()
        self.dtype = i.dtype_name.decode()
        self.shape = tuple(i.dims[:i.rank])
        self.nbytes = i.bytes

    def __del__(self):
        ptr, self._as_parameter_ = getattr(self, "_as_parameter_", None), None
        if ptr:
            _lib.naasc_tensor_destroy(ptr)

    def __repr__(self):
        return f"Tensor({self.name!r}, {self.dtype}, {self.shape})"

    @classmethod
    def load(cls, path):
        """The tensor of a .npy file (by its extension) or a TensorProto file."""
        out = _p()
        _check(_lib.naasc_tensor_load(_ctx, _b(path), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def load_npz(cls, path):
        """The arrays of a NumPy .npz archive (numpy.savez; a compressed one
        is refused): {member name without .npy: Tensor}, in the archive's
        order."""
        out, n = _PP(), ctypes.c_int()
        _check(_lib.naasc_tensor_load_npz(_ctx, _b(path), ctypes.byref(out), ctypes.byref(n)))
        tensors = {}
        for i in range(n.value):  # each kept by its Tensor: its entry NULL for the list's destroy
            t = cls(out[i])
            out[i] = None
            tensors[t.name] = t
        _lib.naasc_tensor_list_destroy(out, n.value)
        return tensors

    @classmethod
    def create(cls, dtype, shape, data=None):
        """A tensor of dtype ("f32", ...) and shape holding a copy of data (a
        bytes-like object of its bytes), or zeros."""
        if dtype not in _DTYPES:
            raise Error(2, f"unknown dtype {dtype!r} ({', '.join(_DTYPES)})")
        dims = (_i64 * _MAX_RANK)(*shape) if len(shape) <= _MAX_RANK else None
        if dims is None:
            raise Error(1, f"rank {len(shape)} over {_MAX_RANK}")
        buf = None
        if data is not None:
            mv = memoryview(data).cast("B")
            buf = (ctypes.c_char * max(len(mv), 1)).from_buffer_copy(bytes(mv) or b"\0")
            numel = 1
            for d in shape:
                numel *= d
            want = numel * _size(dtype)
            if len(mv) != want:
                raise Error(1, f"{len(mv)} bytes given, the {dtype} tensor of {numel} elements "
                               f"has {want}")
        out = _p()
        _check(_lib.naasc_tensor_create(_ctx, _DTYPES[dtype], len(shape), dims, buf,
                                        ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_numpy(cls, a, dtype=None):
        """A copy of numpy array a (made C-contiguous); dtype "bf16" takes a
        uint16 array's values as bfloat16 bits."""
        np = _numpy()
        a = np.require(a, requirements="C")  # (ascontiguousarray makes a scalar 1-d)
        return cls.create(dtype or _numpy_dtype_name(a.dtype), a.shape, a.tobytes())

    def bytes(self):
        """A copy of its data."""
        return ctypes.string_at(_lib.naasc_tensor_data(self), self.nbytes) if self.nbytes else b""

    def numpy(self):
        """A copy as a numpy array of its shape (bf16 as uint16 bits)."""
        np = _numpy()
        return np.frombuffer(self.bytes(), dtype=_NUMPY[self.dtype]).reshape(self.shape).copy()

    def save(self, path):
        """Writes it to path: .npy if path ends in .npy, else a TensorProto."""
        _check(_lib.naasc_tensor_save(_ctx, self, _b(path)))


def _size(dtype):
    return {"u8": 1, "i8": 1, "bool": 1, "u16": 2, "i16": 2, "f16": 2, "bf16": 2, "f32": 4,
            "i32": 4, "u32": 4}.get(dtype, 8)


def _numpy_dtype_name(dt):
    """naasc's name of numpy dtype dt (little-endian or byte-sized), or an Error."""
    np = _numpy()
    for name, code in _NUMPY.items():
        if name != "bf16" and np.dtype(code) == dt:
            return name
    raise Error(1, f"numpy dtype {dt} is not a type naasc runs ({', '.join(_DTYPES)}; "
                   "little-endian)")


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
        """Binds input name to data: a bytes-like object of its bytes, a flat
        list of its elements, a Tensor, or a numpy array of its dtype and
        shape (a uint16 array binds a bfloat16 input)."""
        if isinstance(data, Tensor):
            _check(_lib.naasc_stream_bind_tensor(_ctx, self, _b(name), data))
            return
        if _is_ndarray(data):
            bf16 = any(t.name == name and t.dtype == "bf16" for t in self.inputs)
            dtype = "bf16" if bf16 and data.dtype == _numpy().uint16 else None
            _check(_lib.naasc_stream_bind_tensor(_ctx, self, _b(name),
                                                 Tensor.from_numpy(data, dtype)))
            return
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
        """Binds input name to a file: a NumPy .npy file if path ends in
        .npy, else a serialized ONNX TensorProto (.pb)."""
        _check(_lib.naasc_stream_bind_file(_ctx, self, _b(name), _b(path)))

    def bind_npz(self, path):
        """Binds every input from a NumPy .npz archive (numpy.savez): a member
        NAME.npy per input NAME, no other member (naasc-run --inputs)."""
        _check(_lib.naasc_stream_bind_npz(_ctx, self, _b(path)))

    def run(self, inputs=None, jit=False, reference=False, inner=False, counts=False,
            exact=False, numpy=False):
        """Binds inputs ({name: data}, as bind takes), runs, and returns
        {output name: array.array (bytes for f16/bf16)}, or with numpy=True
        {output name: numpy array of its shape}."""
        for name, data in (inputs or {}).items():
            self.bind(name, data)
        o = _RunOptions(None, int(reference), int(inner), int(counts or exact), int(exact))
        if jit and not reference:
            self._provider = _jit_provider()
            o.kernels = self._provider._as_parameter_
        _check(_lib.naasc_stream_run(_ctx, self, ctypes.byref(o)))
        get = self.array if numpy else self.output
        return {t.name: get(t.name) for t in self.outputs}

    def tensor(self, name):
        """Output (or input) name after a run as a Tensor (a copy)."""
        out = _p()
        _check(_lib.naasc_stream_output_tensor(_ctx, self, _b(name), ctypes.byref(out)))
        return Tensor(out)

    def array(self, name):
        """Output (or input) name as a numpy array of its shape (a copy)."""
        return self.tensor(name).numpy()

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
        """Output name to path: .npy if path ends in .npy, else a TensorProto."""
        _check(_lib.naasc_stream_write_output(_ctx, self, _b(name), _b(path)))

    def write_outputs(self, directory):
        """Every output as DIRECTORY/NAME.pb (naasc-run -o)."""
        _check(_lib.naasc_stream_write_outputs(_ctx, self, _b(directory)))

    def disasm(self):
        return _string(_lib.naasc_stream_disasm, self)

    def report(self, kind):
        """The counters as naasc-run prints them: "counts", "moved" or "host";
        or "json", all of them as naasc-run --report-json writes them."""
        return _string(_lib.naasc_stream_report, self, _b(kind))

    def report_json(self):
        """The counters as a dict (naasc-run-report/1, docs/api.md)."""
        return json.loads(self.report("json"))

    def write_report(self, kind, path):
        """The report of kind written to path, atomically."""
        _check(_lib.naasc_stream_write_report(_ctx, self, _b(kind), _b(path)))

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

