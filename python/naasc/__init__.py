"""naasc: the Python module of naasc, a ctypes client of libnaasc.so (the C
API of api/naasc.h; docs/api.md).  Only the standard library is needed.

    import naasc
    m = naasc.Model("resnet18.onnx")            # or naasc.Model.zoo("resnet18")
    t = naasc.Target("eyeriss")                 # a preset, a YAML file, Timeloop files
    report = m.compile(t).report()              # naasc-report/1 as a dict
    c = naasc.cost(arch, problem, mapping)      # one layer; each a path or a dict
    mapping, c = naasc.map_layer(t, problem)    # the mapper on one layer
    s = naasc.Search(naasc.Target("eyeriss"), iterations=2, popsize=4, map_budget=200)
    s.add(m); s.run(progress=lambda g, n: print(g, n)); s.result(); s.design()

Every failure raises naasc.Error, whose message is the located message of
the C library ("a.yaml:3:5: error: ...") and whose .status is the C status.

The library is found through the environment variable NAASC_LIBRARY (a
path to libnaasc.so), else the path CMake wrote into _build.py beside this
file (the build tree's copy of the package), else the system's loader.
"""
import ctypes
import json
import os
import struct
import sys
import tempfile

__all__ = ["Error", "Model", "Target", "Module", "Problem", "Mapping", "Search", "cost",
           "map_layer", "load_layer", "timeloop_load", "timeloop_write", "presets", "version"]

OK, BADINPUT, USAGE, INTERNAL = 0, 1, 2, 3
MAX_LEVELS = 8
NAME_MAX = 48


class Error(Exception):
    """A failed call of the C API: str(e) is its located message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _library_path():
    p = os.environ.get("NAASC_LIBRARY")
    if p:
        return p
    try:
        from . import _build  # written by CMake into the build tree's copy
        return _build.LIBRARY
    except ImportError:
        return "libnaasc.so.0"


_lib = ctypes.CDLL(_library_path())
_c = ctypes.c_char_p
_p = ctypes.c_void_p
_i64 = ctypes.c_int64


class _Cost(ctypes.Structure):
    _fields_ = [("energy_pj", ctypes.c_double), ("mac_energy_pj", ctypes.c_double),
                ("edp", ctypes.c_double), ("utilization", ctypes.c_double),
                ("seconds", ctypes.c_double), ("area_um2", ctypes.c_double),
                ("cycles", _i64), ("compute_cycles", _i64), ("macs", _i64),
                ("mac_utilized_instances", _i64), ("bottleneck", ctypes.c_int),
                ("nlevels", ctypes.c_int), ("level_energy_pj", ctypes.c_double * MAX_LEVELS),
                ("level_cycles", _i64 * MAX_LEVELS),
                ("level_name", (ctypes.c_char * NAME_MAX) * MAX_LEVELS)]


class _MapOptions(ctypes.Structure):
    _fields_ = [("strategy", _c), ("objective", _c), ("budget", _i64), ("seed", ctypes.c_uint64)]


class _SearchOptions(ctypes.Structure):
    _fields_ = [("iterations", _i64), ("popsize", ctypes.c_int), ("map_budget", _i64),
                ("final_map_budget", _i64), ("seed", ctypes.c_uint64), ("objective", _c)]


class _SearchResult(ctypes.Structure):
    _fields_ = [("score", ctypes.c_double), ("edp", ctypes.c_double),
                ("energy_pj", ctypes.c_double), ("cycles", ctypes.c_double),
                ("area_um2", ctypes.c_double), ("candidates", _i64), ("evals", _i64),
                ("iterations", _i64), ("seconds", ctypes.c_double)]


_PROGRESS = ctypes.CFUNCTYPE(None, _p, _i64, _i64)
_PP = ctypes.POINTER(_p)
_PS = ctypes.POINTER(ctypes.c_char_p)


def _sig(name, res, *args):
    f = getattr(_lib, name)
    f.restype = res
    f.argtypes = list(args)
    return f


_sig("naasc_api_version", ctypes.c_int)
_sig("naasc_version", _c)
_sig("naasc_context_create", _p)
_sig("naasc_context_destroy", None, _p)
_sig("naasc_context_error", _c, _p)
_sig("naasc_context_set_jobs", None, _p, ctypes.c_int)
_sig("naasc_string_free", None, _p)
_sig("naasc_model_import", ctypes.c_int, _p, _c, _PS, ctypes.c_int, _PP)
_sig("naasc_model_zoo", ctypes.c_int, _p, _c, ctypes.c_uint64, _PP)
_sig("naasc_model_destroy", None, _p)
_sig("naasc_model_name", _c, _p)
_sig("naasc_model_summary", ctypes.c_int, _p, _p, _PP)
_sig("naasc_target_load", ctypes.c_int, _p, _c, _PP)
_sig("naasc_target_parse", ctypes.c_int, _p, _c, ctypes.c_size_t, _c, _PP)
_sig("naasc_target_destroy", None, _p)
_sig("naasc_target_name", _c, _p)
_sig("naasc_target_levels", ctypes.c_int, _p)
_sig("naasc_target_level_name", _c, _p, ctypes.c_int)
_sig("naasc_target_print", ctypes.c_int, _p, _p, _PP)
_sig("naasc_target_presets", _PS, ctypes.POINTER(ctypes.c_int))
_sig("naasc_compile", ctypes.c_int, _p, _p, _p, _c, _PP)
_sig("naasc_module_destroy", None, _p)
_sig("naasc_module_report", ctypes.c_int, _p, _p, _c, _PP)
_sig("naasc_module_print", ctypes.c_int, _p, _p, _PP)
_sig("naasc_problem_load", ctypes.c_int, _p, _c, _PP)
_sig("naasc_problem_destroy", None, _p)
_sig("naasc_problem_name", _c, _p)
_sig("naasc_problem_macs", _i64, _p)
_sig("naasc_mapping_load", ctypes.c_int, _p, _c, _p, _PP)
_sig("naasc_mapping_destroy", None, _p)
_sig("naasc_layer_load", ctypes.c_int, _p, _c, _c, _c, _PP, _PP, _PP)
_sig("naasc_timeloop_load", ctypes.c_int, _p, _PS, ctypes.c_int, _PP, _PP, _PP)
_sig("naasc_timeloop_write", ctypes.c_int, _p, _c, _c, _p, _p, _p)
_sig("naasc_cost", ctypes.c_int, _p, _p, _p, _p, ctypes.POINTER(_Cost))
_sig("naasc_cost_files", ctypes.c_int, _p, _c, _c, _c, ctypes.POINTER(_Cost))
_sig("naasc_map", ctypes.c_int, _p, _p, _p, ctypes.POINTER(_MapOptions), _PP,
     ctypes.POINTER(_Cost))
_sig("naasc_search_create", ctypes.c_int, _p, _p, ctypes.POINTER(_SearchOptions), _PP)
_sig("naasc_search_destroy", None, _p)
_sig("naasc_search_add_model", ctypes.c_int, _p, _p, _p, _c)
_sig("naasc_search_run", ctypes.c_int, _p, _p, _PROGRESS, _p)
_sig("naasc_search_result", ctypes.c_int, _p, _p, ctypes.POINTER(_SearchResult))
_sig("naasc_search_design", ctypes.c_int, _p, _p, _PP)
_sig("naasc_search_log", ctypes.c_int, _p, _p, _PP)

if _lib.naasc_api_version() != 1:
    raise ImportError(f"{_library_path()}: C API version {_lib.naasc_api_version()}, expected 1")

# One context for the module's calls (the C library keeps no other state).
_ctx = _lib.naasc_context_create()
if not _ctx:
    raise MemoryError("naasc_context_create")


def _b(s):
    return None if s is None else os.fsencode(s)


def _check(status):
    if status != OK:
        raise Error(status, _lib.naasc_context_error(_ctx).decode("utf-8", "replace"))


def _string(fn, *args):
    out = _p()
    _check(fn(_ctx, *args, ctypes.byref(out)))
    try:
        return ctypes.string_at(out).decode("utf-8")
    finally:
        _lib.naasc_string_free(out)


def version():
    return _lib.naasc_version().decode()


def presets():
    n = ctypes.c_int()
    names = _lib.naasc_target_presets(ctypes.byref(n))
    return [names[i].decode() for i in range(n.value)]


def set_jobs(jobs):
    """Threads the mapper and the search may use."""
    _lib.naasc_context_set_jobs(_ctx, int(jobs))


class _Handle:
    _destroy = None

    def __init__(self, ptr):
        self._as_parameter_ = ptr  # what ctypes passes for the handle

    def __del__(self):
        ptr, self._as_parameter_ = getattr(self, "_as_parameter_", None), None
        if ptr and self._destroy:
            self._destroy(ptr)


def _new(cls, fn, *args):
    out = _p()
    _check(fn(_ctx, *args, ctypes.byref(out)))
    obj = cls.__new__(cls)
    _Handle.__init__(obj, out)
    return obj


class Model(_Handle):
    """An imported ONNX model (input_shapes: {"x": (1, 3, 224, 224)} or "x=1x3x224x224")."""
    _destroy = _lib.naasc_model_destroy

    def __init__(self, path, input_shapes=None):
        shapes = []
        for k, v in (input_shapes or {}).items():
            shapes.append(f"{k}={v}" if isinstance(v, str) else f"{k}=" + "x".join(map(str, v)))
        arr = (ctypes.c_char_p * max(1, len(shapes)))(*[s.encode() for s in shapes])
        out = _p()
        _check(_lib.naasc_model_import(_ctx, _b(path), arr, len(shapes), ctypes.byref(out)))
        super().__init__(out)

    @classmethod
    def zoo(cls, name, seed=1):
        return _new(cls, _lib.naasc_model_zoo, name.encode(), seed)

    @property
    def name(self):
        return _lib.naasc_model_name(self).decode()

    def summary(self):
        return _string(_lib.naasc_model_summary, self)

    def compile(self, target, pipeline=None):
        """Compiles for target (a Target or what Target() takes): a Module."""
        t = target if isinstance(target, Target) else Target(target)
        mod = _new(Module, _lib.naasc_compile, self, t, _b(pipeline))
        return mod


class Target(_Handle):
    """An accelerator: a preset name, an architecture file (naasc's or
    Timeloop's), a folder of Timeloop files, or a dict of naasc's YAML form."""
    _destroy = _lib.naasc_target_destroy

    def __init__(self, spec):
        out = _p()
        if isinstance(spec, dict):
            text = json.dumps(spec).encode()  # JSON is YAML's flow style
            _check(_lib.naasc_target_parse(_ctx, text, len(text), b"<dict>", ctypes.byref(out)))
        else:
            _check(_lib.naasc_target_load(_ctx, _b(spec), ctypes.byref(out)))
        super().__init__(out)

    @property
    def name(self):
        return _lib.naasc_target_name(self).decode()

    @property
    def levels(self):
        """The storage levels' names, outermost (DRAM) first."""
        lv = self.__dict__.get("_levels")
        if lv is None:  # asked once: cost() names the levels of every result
            lv = self._levels = [_lib.naasc_target_level_name(self, i).decode()
                                 for i in range(_lib.naasc_target_levels(self))]
        return lv

    def yaml(self):
        """The target in naasc's architecture YAML (parses back)."""
        return _string(_lib.naasc_target_print, self)


class Module(_Handle):
    """A model compiled for a target (Model.compile)."""
    _destroy = _lib.naasc_module_destroy

    def report(self, schedule=None):
        """The cost report (naasc-report/1) as a dict; schedule "best"
        (default), "layer", or a schedule file."""
        return json.loads(_string(_lib.naasc_module_report, self, _b(schedule)))

    def report_json(self, schedule=None):
        return _string(_lib.naasc_module_report, self, _b(schedule))

    def nir(self):
        """The loop-nest IR with its mappings (docs/ir.md)."""
        return _string(_lib.naasc_module_print, self)


class Problem(_Handle):
    _destroy = _lib.naasc_problem_destroy

    @property
    def name(self):
        return _lib.naasc_problem_name(self).decode()

    @property
    def macs(self):
        return _lib.naasc_problem_macs(self)


class Mapping(_Handle):
    _destroy = _lib.naasc_mapping_destroy


class _Files:
    """Dicts written as temporary YAML files (JSON is YAML's flow style),
    paths passed through; removed on exit."""

    def __init__(self, *specs):
        self.specs, self.tmp = specs, None

    def __enter__(self):
        paths = []
        for i, s in enumerate(self.specs):
            if isinstance(s, dict):
                if not self.tmp:
                    self.tmp = tempfile.TemporaryDirectory(prefix="naasc-py-")
                p = os.path.join(self.tmp.name, f"{('arch', 'problem', 'mapping')[i]}.yaml")
                with open(p, "w") as f:
                    json.dump(s, f)
                paths.append(p)
            else:
                paths.append(None if s is None else os.fspath(s))
        return paths

    def __exit__(self, *exc):
        if self.tmp:
            self.tmp.cleanup()


def load_layer(arch, problem, mapping):
    """(Target, Problem, Mapping) from files (naasc's YAML or Timeloop's,
    told apart by content) or dicts of naasc's YAML forms."""
    with _Files(arch, problem, mapping) as paths:
        t, p, m = _p(), _p(), _p()
        _check(_lib.naasc_layer_load(_ctx, *[_b(x) for x in paths], ctypes.byref(t),
                                     ctypes.byref(p), ctypes.byref(m)))
    return _wrap(Target, t), _wrap(Problem, p), _wrap(Mapping, m)


def _wrap(cls, ptr):
    obj = cls.__new__(cls)
    _Handle.__init__(obj, ptr)
    return obj


def load_problem(problem):
    with _Files(None, problem) as paths:
        return _new(Problem, _lib.naasc_problem_load, _b(paths[1]))


def load_mapping(mapping, target):
    with _Files(None, None, mapping) as paths:
        return _new(Mapping, _lib.naasc_mapping_load, _b(paths[2]), target)


def timeloop_load(*paths):
    """A Timeloop specification (files or folders, as naasc cost --timeloop):
    (Target, Problem, Mapping), with None for what the files do not hold."""
    arr = (ctypes.c_char_p * len(paths))(*[_b(p) for p in paths])
    outs = []
    for want in ((1, 1, 1), (1, 1, 0), (1, 0, 0)):
        t, p, m = _p(), _p(), _p()
        args = [ctypes.byref(x) if w else None for x, w in zip((t, p, m), want)]
        status = _lib.naasc_timeloop_load(_ctx, arr, len(paths), *args)
        if status == OK:
            outs = [_wrap(c, x) if w else None for c, x, w in zip((Target, Problem, Mapping),
                                                                  (t, p, m), want)]
            return tuple(outs)
        if status != BADINPUT or want == (1, 0, 0):
            _check(status)
    _check(status)


def timeloop_write(directory, target, problem=None, mapping=None, layer=None):
    """Writes Timeloop v0.4 input files into directory (created if missing)."""
    os.makedirs(directory, exist_ok=True)
    _check(_lib.naasc_timeloop_write(_ctx, _b(directory), _b(layer), target, problem, mapping))


def _cost_layout():
    """One struct.Struct reading every number of a _Cost at once (attribute
    access through ctypes costs about 0.2 us a field: the dict took 5 us),
    laid out from _Cost's own field offsets so the two cannot disagree."""
    fmt, at = "=", 0
    codes = {ctypes.c_double: "d", _i64: "q", ctypes.c_int: "i"}
    for name, typ in _Cost._fields_:
        off = getattr(_Cost, name).offset
        if off > at:
            fmt += "%dx" % (off - at)
        if name == "level_name":
            fmt += "%ds" % ctypes.sizeof(typ)
        elif hasattr(typ, "_length_"):
            fmt += "%d%s" % (typ._length_, codes[typ._type_])
        else:
            fmt += codes[typ]
        at = off + ctypes.sizeof(typ)
    st = struct.Struct(fmt)
    assert st.size <= ctypes.sizeof(_Cost), "the _Cost layout is wider than the C struct"
    return st


_COST = _cost_layout()
_FS = sys.getfilesystemencoding()  # os.fsencode of a str, inlined
_NAMES = {}  # the raw level-name block -> the names (one target's names, decoded once)


def _cost_dict(c):
    v = _COST.unpack_from(c)
    (energy_pj, mac_energy_pj, edp, utilization, seconds, area_um2, cycles, compute_cycles, macs,
     used, bottleneck, n) = v[:12]
    energy, cyc, raw = v[12:12 + MAX_LEVELS], v[12 + MAX_LEVELS:12 + 2 * MAX_LEVELS], v[-1]
    names = _NAMES.get(raw)
    if names is None:
        names = [raw[i * NAME_MAX:(i + 1) * NAME_MAX].split(b"\0", 1)[0].decode()
                 for i in range(MAX_LEVELS)]
        if len(_NAMES) < 256:
            _NAMES[raw] = names
    return {
        "energy_pj": energy_pj, "mac_energy_pj": mac_energy_pj, "edp": edp,
        "utilization": utilization, "seconds": seconds, "area_um2": area_um2,
        "cycles": cycles, "compute_cycles": compute_cycles, "macs": macs,
        "mac_utilized_instances": used,
        "bottleneck": "compute" if bottleneck < 0 else names[bottleneck],
        "levels": {names[i]: {"energy_pj": energy[i], "cycles": cyc[i]} for i in range(n)},
    }


def cost(arch, problem=None, mapping=None):
    """The figures of one mapping as a dict.  Either cost(target, problem,
    mapping) with handles (no file is read: the cheap call), or with each
    a path (naasc's YAML or Timeloop's) or a dict of naasc's YAML form."""
    c = _Cost()
    # the two common calls first, each with as little Python as it can have
    # (docs/benchmarks.md, "C API and Python module": the module's overhead)
    if type(arch) is Target and type(problem) is Problem and type(mapping) is Mapping:
        status = _lib.naasc_cost(_ctx, arch, problem, mapping, ctypes.byref(c))
    elif type(arch) is str and type(problem) is str and type(mapping) is str:
        status = _lib.naasc_cost_files(_ctx, arch.encode(_FS, "surrogateescape"),
                                       problem.encode(_FS, "surrogateescape"),
                                       mapping.encode(_FS, "surrogateescape"),
                                       ctypes.byref(c))
    elif isinstance(arch, Target) and isinstance(problem, Problem) and isinstance(mapping, Mapping):
        status = _lib.naasc_cost(_ctx, arch, problem, mapping, ctypes.byref(c))
    elif isinstance(arch, dict) or isinstance(problem, dict) or isinstance(mapping, dict):
        t, p, m = load_layer(arch, problem, mapping)
        status = _lib.naasc_cost(_ctx, t, p, m, ctypes.byref(c))
    else:  # three paths (str, bytes or os.PathLike): one call
        status = _lib.naasc_cost_files(_ctx, os.fsencode(arch), os.fsencode(problem),
                                       os.fsencode(mapping), ctypes.byref(c))
    if status:
        _check(status)
    return _cost_dict(c)


def map_layer(target, problem, strategy=None, objective=None, budget=0, seed=0):
    """The mapper on one layer: (Mapping, cost dict)."""
    t = target if isinstance(target, Target) else Target(target)
    p = problem if isinstance(problem, Problem) else load_problem(problem)
    o = _MapOptions(_b(strategy), _b(objective), budget, seed)
    out, c = _p(), _Cost()
    _check(_lib.naasc_map(_ctx, t, p, ctypes.byref(o), ctypes.byref(out), ctypes.byref(c)))
    return _wrap(Mapping, out), _cost_dict(c)


class Search(_Handle):
    """The NAAS accelerator search within budget's limits (naasc --search)."""
    _destroy = _lib.naasc_search_destroy

    def __init__(self, budget, iterations=0, popsize=0, map_budget=0, final_map_budget=0,
                 seed=0, objective=None):
        t = budget if isinstance(budget, Target) else Target(budget)
        o = _SearchOptions(iterations, popsize, map_budget, final_map_budget, seed, _b(objective))
        out = _p()
        _check(_lib.naasc_search_create(_ctx, t, ctypes.byref(o), ctypes.byref(out)))
        super().__init__(out)

    def add(self, model, label=None):
        _check(_lib.naasc_search_add_model(_ctx, self, model, _b(label)))

    def run(self, progress=None):
        """Runs the search; progress(generation, generations) after each
        generation (generations is 0 when the default count is used).  An
        exception in progress is raised again when the search returns."""
        raised = []

        def cb(_user, gen, total):
            if raised:
                return
            try:
                progress(gen, total)
            except BaseException as e:  # noqa: B902 (kept for after the C call)
                raised.append(e)

        fn = _PROGRESS(cb) if progress else _PROGRESS()
        status = _lib.naasc_search_run(_ctx, self, fn, None)
        if raised:
            raise raised[0]
        _check(status)

    def result(self):
        r = _SearchResult()
        _check(_lib.naasc_search_result(_ctx, self, ctypes.byref(r)))
        return {f: getattr(r, f) for f, _ in _SearchResult._fields_}

    def design(self):
        return _new(Target, _lib.naasc_search_design, self)

    def log(self):
        """Every candidate (naasc-search-log/1) as a dict."""
        return json.loads(_string(_lib.naasc_search_log, self))


from .stream import Stream  # noqa: E402,F401 (naasc.Stream, python/naasc/stream.py)
