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

The command line's own runs, with its flags and files:

    mod = naasc.compile_file("m.onnx", target="eyeriss", emit="cmd", out="m.cmd")
    mod.lower().emit("cmd", "m.cmd")            # naasc m.onnx --target eyeriss -o m.cmd
    ir = naasc.opt("m.nir", pipeline="map{budget=200},verify", target="eyeriss")  # naasc-opt
    naasc.tech("sram", depth=2048, width=256, technology="45nm")  # naasc tech: a dict
    naasc.cost_table(arch, problem, mapping)    # naasc cost's figures as text
    run = naasc.search_drive(["alexnet"], "eyeriss", dir="out")   # naasc --search
    run = naasc.nas_drive("eyeriss", min_accuracy=90, on_progress=print)  # naasc --search --nas

Every failure raises naasc.Error, whose message is the located message of
the C library ("a.yaml:3:5: error: ...") and whose .status is the C status.

The library is found through the environment variable NAASC_LIBRARY (a
path to libnaasc.so), else the path CMake wrote into _build.py beside this
file (the build tree's copy of the package), else the system's loader.
"""
import collections
import ctypes
import json
import os
import struct
import sys
import tempfile

__all__ = ["Error", "Model", "Target", "Module", "Problem", "Mapping", "Search", "cost",
           "map_layer", "load_layer", "timeloop_load", "timeloop_write", "presets", "version",
           "CompileOptions", "compile_file", "opt", "run_pipeline", "cost_table", "tech",
           "tech_json", "zoo_list", "search_drive", "nas_drive", "DriveRun", "Stream",
           "set_diagnostic_handler"]

OK, BADINPUT, USAGE, INTERNAL = 0, 1, 2, 3
MAX_LEVELS = 8
NAME_MAX = 48


class Error(Exception):
    """A failed call of the C API: str(e) is its located message.  The
    drivers' errors also carry .summary, what the command would have
    printed on stdout (None for other calls)."""

    def __init__(self, status, message, summary=None):
        super().__init__(message)
        self.status = status
        self.summary = summary


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


_GENERATION = ctypes.CFUNCTYPE(None, _p, _i64)


class _SearchDriveOptions(ctypes.Structure):  # NaascSearchDriveOptions
    _fields_ = [("models", ctypes.POINTER(_c)), ("nmodels", ctypes.c_int), ("budget", _c),
                ("dir", _c), ("objective", _c), ("max_area_um2", ctypes.c_double),
                ("max_power_mw", ctypes.c_double), ("max_cycles", ctypes.c_double),
                ("max_energy_pj", ctypes.c_double), ("byte_budget", ctypes.c_int),
                ("assume", _c), ("precision", _c), ("accuracy_table", _c),
                ("iterations", _i64), ("popsize", ctypes.c_int), ("map_budget", _i64),
                ("final_map_budget", _i64), ("optimizer", _c), ("sizing_only", ctypes.c_int),
                ("mapper_screen", ctypes.c_int), ("no_prune", ctypes.c_int), ("schedule", _c),
                ("fixed", ctypes.c_int), ("fixed_as_built", ctypes.c_int),
                ("no_baseline", ctypes.c_int), ("seed", ctypes.c_uint64), ("jobs", ctypes.c_int),
                ("checkpoint", _c), ("resume", ctypes.c_int), ("stop_after_iteration", _i64),
                ("on_generation", _GENERATION),
                ("on_generation_user", _p), ("progress", ctypes.c_int), ("rank", ctypes.c_int),
                ("nranks", ctypes.c_int), ("rerank", ctypes.c_int),
                ("early_map_budget", _i64), ("early_iterations", _i64),
                ("warm_map", ctypes.c_int), ("map_share", ctypes.c_double)]


class _NasProgress(ctypes.Structure):  # NaascNasProgress
    _fields_ = [("networks", ctypes.c_int), ("proposed", _i64), ("cell", ctypes.c_int),
                ("arch", _c), ("accuracy", ctypes.c_double), ("edp", ctypes.c_double),
                ("energy_pj", ctypes.c_double), ("cycles", ctypes.c_double), ("met", ctypes.c_int)]


_NAS_PROGRESS = ctypes.CFUNCTYPE(None, _p, ctypes.POINTER(_NasProgress))
_NAS_PREDICTOR = ctypes.CFUNCTYPE(None, _p, _i64, ctypes.c_double, ctypes.c_double)


class _NasDriveOptions(ctypes.Structure):  # NaascNasDriveOptions
    _fields_ = [("space", _c), ("dataset", _c), ("budget", _c), ("dir", _c),
                ("min_accuracy", ctypes.c_double), ("max_edp", ctypes.c_double),
                ("cycles", _i64), ("population", _i64), ("sample", _i64),
                ("seed", ctypes.c_uint64), ("labels", _i64), ("pseudo_rounds", _i64),
                ("pseudo_pool", _i64), ("verify", _i64), ("naas_iterations", _i64),
                ("naas_popsize", _i64), ("map_budget", _i64), ("jobs", ctypes.c_int),
                ("fixed", ctypes.c_int), ("no_baselines", ctypes.c_int), ("reference", _c),
                ("data", _c), ("progress", ctypes.c_int),
                ("on_progress", _NAS_PROGRESS),
                ("on_progress_user", _p), ("final_map_budget", _i64),
                ("on_predictor", _NAS_PREDICTOR), ("on_predictor_user", _p)]


_PROGRESS = ctypes.CFUNCTYPE(None, _p, _i64, _i64)
_DIAG = ctypes.CFUNCTYPE(None, _p, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t)
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
_sig("naasc_context_set_diagnostic_handler", None, _p, _DIAG, _p)
_sig("naasc_model_zoo", ctypes.c_int, _p, _c, ctypes.c_uint64, _PP)
_sig("naasc_model_zoo_shapes", ctypes.c_int, _p, _c, _PP)
_sig("naasc_zoo_count", ctypes.c_int)
_sig("naasc_zoo_name", _c, ctypes.c_int)
_sig("naasc_zoo_description", _c, ctypes.c_int)
_sig("naasc_model_write_onnx", ctypes.c_int, _p, _p, _c)
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
_sig("naasc_target_set_precision", ctypes.c_int, _p, _p, _c)
_sig("naasc_target_presets", _PS, ctypes.POINTER(ctypes.c_int))
_sig("naasc_compile", ctypes.c_int, _p, _p, _p, _c, _PP)
_sig("naasc_module_destroy", None, _p)
_sig("naasc_module_report", ctypes.c_int, _p, _p, _c, _PP)
_sig("naasc_module_print", ctypes.c_int, _p, _p, _PP)
_sig("naasc_compile_options_create", _p)
_sig("naasc_opt_options_create", _p)
_sig("naasc_compile_options_destroy", None, _p)
_sig("naasc_compile_options_parse_flag", ctypes.c_int, _p, _p, ctypes.c_int, _PS,
     ctypes.POINTER(ctypes.c_int))
_sig("naasc_compile_options_add_input_shape", ctypes.c_int, _p, _p, _c)
_sig("naasc_compile_options_add_input_data", ctypes.c_int, _p, _p, _c)
_sig("naasc_compile_options_set_schedule", None, _p, _c)
_sig("naasc_compile_options_set_emit", None, _p, _c, _c)
_sig("naasc_compile_options_set_dump_handler", None, _p, _DIAG, _p)
_sig("naasc_compile_options_setup", ctypes.c_int, _p, _p, _DIAG, _p)
_sig("naasc_compile_options_has_target", ctypes.c_int, _p)
_sig("naasc_compile_options_lowers", ctypes.c_int, _p)
_sig("naasc_compile_options_lists", ctypes.c_int, _p)
_sig("naasc_compile_file", ctypes.c_int, _p, _c, _p, _PP)
_sig("naasc_module_lower", ctypes.c_int, _p, _p)
_sig("naasc_module_emit", ctypes.c_int, _p, _p, _c, _c, _PP)
_sig("naasc_opt_run", ctypes.c_int, _p, _p, _c, _c, _DIAG, _p, _PP)
_sig("naasc_ir_run_pipeline", ctypes.c_int, _p, _c, _c, _c, _PP)
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
_sig("naasc_cost_table", ctypes.c_int, _p, _p, _p, _p, _PP)
_sig("naasc_tech", ctypes.c_int, _p, _c, _PS, ctypes.c_int, _PP)
_sig("naasc_map", ctypes.c_int, _p, _p, _p, ctypes.POINTER(_MapOptions), _PP,
     ctypes.POINTER(_Cost))
_sig("naasc_search_create", ctypes.c_int, _p, _p, ctypes.POINTER(_SearchOptions), _PP)
_sig("naasc_search_destroy", None, _p)
_sig("naasc_search_add_model", ctypes.c_int, _p, _p, _p, _c)
_sig("naasc_search_run", ctypes.c_int, _p, _p, _PROGRESS, _p)
_sig("naasc_search_result", ctypes.c_int, _p, _p, ctypes.POINTER(_SearchResult))
_sig("naasc_search_design", ctypes.c_int, _p, _p, _PP)
_sig("naasc_search_log", ctypes.c_int, _p, _p, _PP)
_sig("naasc_search_drive_options_default", None, ctypes.POINTER(_SearchDriveOptions))
_sig("naasc_search_drive", ctypes.c_int, _p, ctypes.POINTER(_SearchDriveOptions), _PP)
_sig("naasc_nas_drive_options_default", None, ctypes.POINTER(_NasDriveOptions))
_sig("naasc_nas_drive", ctypes.c_int, _p, ctypes.POINTER(_NasDriveOptions), _PP)

if _lib.naasc_api_version() != 3:
    raise ImportError(f"{_library_path()}: C API version {_lib.naasc_api_version()}, expected 3")

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


def _take(ptr):
    """A heap string of the library (a c_void_p, may be NULL) as str, freed."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        _lib.naasc_string_free(ptr)


def _texts(chunks):
    """A _DIAG function appending the text it is given to chunks (bytes)."""
    return _DIAG(lambda _user, text, n: chunks.append(ctypes.string_at(text, n)))


def _calls(fn):
    """A _DIAG function giving fn the text as str, or a null one if fn is None."""
    if fn is None:
        return _DIAG()
    return _DIAG(lambda _user, text, n: fn(ctypes.string_at(text, n).decode("utf-8", "replace")))


def version():
    return _lib.naasc_version().decode()


def presets():
    n = ctypes.c_int()
    names = _lib.naasc_target_presets(ctypes.byref(n))
    return [names[i].decode() for i in range(n.value)]


def set_jobs(jobs):
    """Threads the mapper and the search may use."""
    _lib.naasc_context_set_jobs(_ctx, int(jobs))


_diagnostic_fn = None  # the handler set, kept alive while it is


def set_diagnostic_handler(fn):
    """fn(text) is given the text of every message as a call reports it:
    errors, and the warnings and notes of calls that succeed (what the
    command line prints to stderr, newlines included; a message may come
    in more than one piece).  None: no handler (the default).  An
    exception in fn is printed by ctypes and ignored."""
    global _diagnostic_fn
    f = _calls(fn)
    _lib.naasc_context_set_diagnostic_handler(_ctx, f, None)
    _diagnostic_fn = f if fn is not None else None


def zoo_list():
    """The zoo's networks ({name: description}, in `naasc zoo --list`'s order)."""
    return {_lib.naasc_zoo_name(i).decode(): _lib.naasc_zoo_description(i).decode()
            for i in range(_lib.naasc_zoo_count())}


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
    def zoo(cls, name, seed=1, weights=True):
        """A network of the zoo (zoo_list()), weights drawn from seed; with
        weights=False every parameter is a graph input of its shape."""
        if not weights:
            return _new(cls, _lib.naasc_model_zoo_shapes, name.encode())
        return _new(cls, _lib.naasc_model_zoo, name.encode(), seed)

    def write_onnx(self, path):
        """Writes the model as imported as an ONNX file (opset 13), atomically."""
        _check(_lib.naasc_model_write_onnx(_ctx, self, _b(path)))

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

    def set_precision(self, precision):
        """The target at precision ("w8a8", "int8", "fp16", ... as --precision
        takes; docs/technology.md): its word widths, energies and area.
        Returns the target."""
        _check(_lib.naasc_target_set_precision(_ctx, self, _b(precision)))
        return self


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

    def lower(self):
        """compile_file's module: runs the rest of the pipeline (from
        `lower`), attaches the schedule's groups when the options' emit is
        "nir", "cmd" or "cmd-text", verifies.  Returns the module."""
        _check(_lib.naasc_module_lower(_ctx, self))
        return self

    def emit(self, kind, path=None):
        """One output as the command line emits it: "summary", "graph",
        "onnx" (to path) before lower(); after it "nir" (with path, the
        weights go to PATH.weights), "cmd" (to path), "cmd-text",
        "timeloop" (folder path), "report" (the table; with path the JSON
        there and an SVG beside it), "schedule".  Returns the text of the
        kinds that have one, else None."""
        text = _p()
        status = _lib.naasc_module_emit(_ctx, self, _b(kind), _b(path), ctypes.byref(text))
        out = _take(text)
        _check(status)
        return out


class CompileOptions(_Handle):
    """The command line's compile flags (`naasc MODEL FLAGS...`) for
    compile_file.  Flags as the command line spells them ("-O0",
    "--print-ir-after=lower", "--target", "eyeriss": the pass manager's,
    the instrumentation's, --no-fold, --allow-unsupported), and keywords:
    target, pipeline (-p), precision, jobs, no_fold, allow_unsupported,
    input_shapes ({"x": (1, 3, 32, 32)} or "1x3x32x32"), input_data
    ({"x": "x.pb"}), schedule ("best", "layer" or a file), emit and out
    (what will be emitted and its path: the compile keeps the weights a
    stream or a .nir file needs), dump (a callable given the text of the
    --print-ir-* dumps as it is written, in pieces).  The pipeline is set up here (plugins loaded):
    .listing is what --list-passes and --print-pipeline print, .has_target,
    .lowers and .lists say what the flags asked for."""
    _destroy = _lib.naasc_compile_options_destroy

    def __init__(self, *flags, target=None, pipeline=None, precision=None, jobs=None,
                 no_fold=False, allow_unsupported=False, input_shapes=None, input_data=None,
                 schedule=None, emit=None, out=None, dump=None):
        super().__init__(_lib.naasc_compile_options_create())
        if not self._as_parameter_:
            raise MemoryError("naasc_compile_options_create")
        more = (["--no-fold"] if no_fold else []) + (
            ["--allow-unsupported"] if allow_unsupported else [])
        self._fill("naasc", flags, target, pipeline, precision, jobs, input_shapes, more)
        for name, path in (input_data or {}).items():
            self._keep.append(f"{name}={os.fsdecode(path)}".encode())
            _check(_lib.naasc_compile_options_add_input_data(_ctx, self, self._keep[-1]))
        chunks = []
        _check(_lib.naasc_compile_options_setup(_ctx, self, _texts(chunks), None))
        self.listing = b"".join(chunks).decode()
        self._keep += [_b(schedule), _b(emit), _b(out), _calls(dump)]
        _lib.naasc_compile_options_set_schedule(self, self._keep[-4])
        _lib.naasc_compile_options_set_emit(self, self._keep[-3], self._keep[-2])
        _lib.naasc_compile_options_set_dump_handler(self, self._keep[-1], None)

    def _fill(self, prog, flags, target, pipeline, precision, jobs, input_shapes, more=()):
        """Parses the flags (and the keywords' flags) into the options;
        keeps every string the options borrow."""
        argv = [os.fsencode(f) for f in flags]
        for flag, value in (("--target", target), ("-p", pipeline), ("--precision", precision),
                            ("--jobs", jobs)):
            if value is not None:
                argv += [flag.encode(), os.fsencode(str(value) if flag == "--jobs" else value)]
        argv += [f.encode() for f in more]
        arr = (ctypes.c_char_p * (len(argv) + 1))(*argv)
        self._keep = [argv, arr]
        i = ctypes.c_int(0)
        while i.value < len(argv):
            taken = _lib.naasc_compile_options_parse_flag(_ctx, self, len(argv), arr,
                                                          ctypes.byref(i))
            if taken < 0:
                _check(USAGE)
            if taken == 0:
                raise Error(USAGE, f"{prog}: error: '{os.fsdecode(argv[i.value])}' is not a "
                                   "compile flag")
            i.value += 1
        for name, dims in (input_shapes or {}).items():
            dims = dims if isinstance(dims, str) else "x".join(map(str, dims))
            self._keep.append(f"{name}={dims}".encode())
            _check(_lib.naasc_compile_options_add_input_shape(_ctx, self, self._keep[-1]))

    @property
    def has_target(self):
        return bool(_lib.naasc_compile_options_has_target(self))

    @property
    def lowers(self):
        return bool(_lib.naasc_compile_options_lowers(self))

    @property
    def lists(self):
        return bool(_lib.naasc_compile_options_lists(self))


def compile_file(path, options=None, **keywords):
    """`naasc PATH FLAGS...` step by step: imports path (an ONNX file, or a
    .nir module with the weights file it names), loads the target and runs
    the pipeline's passes before `lower`.  options is a CompileOptions, or
    give its keywords here.  Returns the Module: module.emit("summary"),
    "graph" or "onnx" now; module.lower(), then the other kinds."""
    if options is None:
        options = CompileOptions(**keywords)
    elif keywords:
        raise TypeError("compile_file: give a CompileOptions or its keywords, not both")
    mod = _new(Module, _lib.naasc_compile_file, _b(path), options)
    mod._options = options  # the module borrows its options: they outlive it
    return mod


def opt(path, *flags, pipeline=None, target=None, input_shapes=None, out=None, dump=None,
        listing=None):
    """`naasc-opt PATH FLAGS... [-o out]`: path's IR (an ONNX model, a graph
    dump or .nir) through the pipeline (-p, -O0, -O2; default the input's:
    -O2 for a model, "verify" for loop-nest IR, none for a graph dump), the
    IR printed; returned as text (None if path is None: the listing only).
    With out the text is also written there, with its weights file.  dump
    is a callable given the text of the --print-ir-* dumps as they are
    written; listing one given what --list-passes/--print-pipeline print,
    once."""
    o = CompileOptions.__new__(CompileOptions)
    _Handle.__init__(o, _lib.naasc_opt_options_create())
    if not o._as_parameter_:
        raise MemoryError("naasc_opt_options_create")
    o._fill("naasc-opt", flags, target, pipeline, None, None, input_shapes)
    chunks, text = [], _p()
    dump_fn, listing_fn = _calls(dump), _texts(chunks)
    _lib.naasc_compile_options_set_dump_handler(o, dump_fn, None)
    status = _lib.naasc_opt_run(_ctx, o, _b(path), _b(out), listing_fn, None, ctypes.byref(text))
    ir = _take(text)
    _check(status)
    if listing is not None and chunks:
        listing(b"".join(chunks).decode())
    return ir


def run_pipeline(path, pipeline=None, target=None):
    """naasc-opt in one call: path's IR (ONNX, a graph dump or .nir) through
    pipeline (None: the input's default) on target (a preset or a file,
    None: none), the IR printed (text)."""
    return _string(_lib.naasc_ir_run_pipeline, _b(path), _b(pipeline), _b(target))


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


def cost_table(arch, problem, mapping):
    """The figures of one mapping as `naasc cost --arch A --problem P
    --mapping M` prints them after its first line (per level and tensor
    the reads, fills, updates, tile and energy; per level the cycles; the
    totals).  Handles, paths or dicts, as cost() takes them."""
    if not (isinstance(arch, Target) and isinstance(problem, Problem) and
            isinstance(mapping, Mapping)):
        arch, problem, mapping = load_layer(arch, problem, mapping)
    return _string(_lib.naasc_cost_table, arch, problem, mapping)


def tech_json(kind, attrs=None, **keywords):
    """`naasc tech KIND ATTR=VALUE ...`'s line of JSON (newline included):
    attrs a dict, or a list of "ATTR=VALUE" strings as the command line
    takes them, and keywords (depth=2048, technology="45nm")."""
    items = list(attrs) if isinstance(attrs, (list, tuple)) else [
        f"{k}={v}" for k, v in (attrs or {}).items()]
    items += [f"{k}={v}" for k, v in keywords.items()]
    arr = (ctypes.c_char_p * (len(items) + 1))(*[x.encode() for x in items])
    return _string(_lib.naasc_tech, _b(kind), arr, len(items))


def tech(kind, attrs=None, **keywords):
    """The technology model's figures of one component (kind "sram",
    "regfile", "mac", "dram" or "noc"; docs/technology.md) as a dict:
    energies in pJ, area in um^2, "extrapolated" when outside its data."""
    return json.loads(tech_json(kind, attrs, **keywords))


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


DriveRun = collections.namedtuple("DriveRun", "summary dir result")
DriveRun.__doc__ = """A driver's run: what the command prints on stdout, the output
folder, and its result.json as a dict (None if it wrote none)."""


def _set_options(o, keywords, taken, what):
    """Sets fields of o (a ctypes options struct) from keywords named as the
    C fields; returns what the struct borrows."""
    kinds = dict(o._fields_)
    keep = []
    for k, v in keywords.items():
        if k not in kinds or k in taken:
            raise TypeError(f"{what}: unknown option {k!r}")
        if kinds[k] is _c:
            v = _b(v)
            keep.append(v)
        elif isinstance(v, bool):
            v = int(v)
        setattr(o, k, v)
    return keep


def _guarded(fn, convert):
    """A callback calling fn(*convert(args)) that keeps fn's first exception
    (raised again after the C call: the run itself goes on to its end)."""
    raised = []

    def cb(_user, *args):
        if raised:
            return
        try:
            fn(*convert(*args))
        except BaseException as e:  # noqa: B902 (kept for after the C call)
            raised.append(e)
    return cb, raised


def _drive(fn, o, borrowed):
    """Runs a driver with options o (borrowed: what o points into, alive
    until it returns): its status and summary."""
    summary = _p()
    status = fn(_ctx, ctypes.byref(o), ctypes.byref(summary))
    return status, _take(summary)


def _result(status, text, raised, dir):
    if raised:
        raise raised[0]
    if status != OK:
        raise Error(status, _lib.naasc_context_error(_ctx).decode("utf-8", "replace"), text)
    path = os.path.join(os.fsdecode(dir), "result.json")
    result = None
    if os.path.exists(path):
        with open(path) as f:
            result = json.load(f)
    return DriveRun(text, os.fsdecode(dir), result)


def search_drive(models, budget, dir="naasc-search", on_generation=None, **options):
    """The whole `naasc --search MODEL... --budget B -o DIR` run with its
    files (docs/search.md): models are .onnx files or zoo names, budget a
    preset or an architecture file; options are NaascSearchDriveOptions'
    fields (api/naasc.h) as keywords: objective, max_area_um2, precision,
    iterations, popsize, map_budget, final_map_budget, optimizer, schedule,
    fixed, no_baseline, seed, jobs, checkpoint, resume, rerank, ...
    on_generation(iteration) is called after each generation's mapping,
    iteration counting from 0.  Returns a
    DriveRun; a failure raises Error with .summary, what was printed."""
    o = _SearchDriveOptions()
    _lib.naasc_search_drive_options_default(ctypes.byref(o))
    models = [models] if isinstance(models, (str, bytes, os.PathLike)) else list(models)
    names = [_b(m) for m in models]
    arr = (ctypes.c_char_p * (len(names) + 1))(*names)
    o.models, o.nmodels = arr, len(names)
    o.budget, o.dir = _b(budget), _b(dir)
    keep = [names, arr, _set_options(o, options, {"models", "nmodels", "budget", "dir",
                                                  "on_generation", "on_generation_user"},
                                      "search_drive")]
    raised = []
    if on_generation is not None:
        cb, raised = _guarded(on_generation, lambda g: (g,))
        o.on_generation = _GENERATION(cb)
    status, text = _drive(_lib.naasc_search_drive, o, keep)
    return _result(status, text, raised, dir)


def nas_drive(budget, dir="naasc-nas", min_accuracy=None, max_edp=None, on_progress=None,
              on_predictor=None, **options):
    """The whole `naasc --search --nas nasbench201 --budget B -o DIR` run
    (docs/nas.md): one bound, min_accuracy (percent) or max_edp (pJ x
    cycles); options are NaascNasDriveOptions' fields (api/naasc.h) as
    keywords: dataset, cycles, population, sample, seed, labels,
    pseudo_rounds, pseudo_pool, verify, naas_iterations, naas_popsize,
    map_budget, jobs, fixed, no_baselines, reference, data.
    on_progress(p) is called for each new best network with a dict:
    networks, proposed, cell, arch, accuracy, edp, energy_pj, cycles, met.
    on_predictor(p) is called once, with labels, when the accuracy predictor
    is fit, with a dict: labels, tau, tau_plain (its held-out Kendall tau
    with and without pseudo-labels).  Returns a DriveRun; a failure raises Error with .summary (an unmet
    bound: the closest design's line, and dir holds it)."""
    o = _NasDriveOptions()
    _lib.naasc_nas_drive_options_default(ctypes.byref(o))
    o.budget, o.dir = _b(budget), _b(dir)
    if min_accuracy is not None:
        o.min_accuracy = min_accuracy
    if max_edp is not None:
        o.max_edp = max_edp
    keep = _set_options(o, options, {"budget", "dir", "min_accuracy", "max_edp", "on_progress",
                                     "on_progress_user", "on_predictor", "on_predictor_user"},
                        "nas_drive")
    raised, raised2 = [], []
    if on_progress is not None:
        def point(p):
            p = p.contents
            return ({"networks": p.networks, "proposed": p.proposed, "cell": p.cell,
                     "arch": p.arch.decode(), "accuracy": p.accuracy, "edp": p.edp,
                     "energy_pj": p.energy_pj, "cycles": p.cycles, "met": bool(p.met)},)
        cb, raised = _guarded(on_progress, point)
        o.on_progress = _NAS_PROGRESS(cb)
    if on_predictor is not None:
        def fit(labels, tau, tau_plain):
            return ({"labels": labels, "tau": tau, "tau_plain": tau_plain},)
        cb2, raised2 = _guarded(on_predictor, fit)
        o.on_predictor = _NAS_PREDICTOR(cb2)
    status, text = _drive(_lib.naasc_nas_drive, o, keep)
    return _result(status, text, raised2 + raised, dir)


from .stream import Stream, Tensor  # noqa: E402,F401 (python/naasc/stream.py)
