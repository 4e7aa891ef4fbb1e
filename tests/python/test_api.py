#!/usr/bin/env python3
"""The Python module (python/naasc over libnaasc.so) against the command line.

  NAASC_BIN=build/tools/naasc PYTHONPATH=build/python test_api.py SCRATCH

Each result the module gives is compared with what `naasc` prints or
writes for the same input: the compile report byte for byte, the layer
cost figure for figure, the searched design and its log byte for byte;
the command line's own runs (compile_file with its flags, naasc-opt,
naasc tech, the cost table, the --search and --nas drivers) against the
same command's output and files; and each error must raise naasc.Error
carrying the located message.  Only the standard library (unittest,
json, subprocess).
"""
import json
import os
import re
import subprocess
import sys
import unittest

import naasc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAASC = os.environ["NAASC_BIN"]
NAASC_OPT = os.path.join(os.path.dirname(NAASC), "naasc-opt")
NB201_CSV = os.path.join(ROOT, "data", "nasbench201", "accuracy.csv")
SCRATCH = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else "test-scratch-python")
Y = os.path.join(ROOT, "tests", "costmodel", "yaml")
ARCH = os.path.join(Y, "eyeriss_like.arch.yaml")
PROBLEM = os.path.join(Y, "vgg16_conv3_1.problem.yaml")
MAPPING = os.path.join(Y, "vgg16_conv3_1.eyeriss_like.mapping.yaml")
EXERCISES = os.path.join(ROOT, "tests", "data", "timeloop-exercises")
NB201 = "nb201:|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"

# tests/costmodel/yaml's three files as dicts (JSON is YAML's flow style)
PROBLEM_DICT = {"name": "vgg16_conv3_1", "dims": {"K": 256, "C": 128, "P": 56, "Q": 56, "R": 3, "S": 3},
                "stride": [1, 1], "dilation": [1, 1]}
MAPPING_DICT = {"levels": [
    {"level": "DRAM", "temporal": {"Q": 8, "K": 2, "C": 32}, "order": "QKC"},
    {"level": "shared_glb", "temporal": {"P": 56}, "spatial": {"x": {"K": 2, "Q": 7}},
     "spatial_order": {"x": "KQ"}},
    {"level": "DummyBuffer", "spatial": {"y": {"K": 4, "S": 3}}, "spatial_order": {"y": "KS"}},
    {"level": "ifmap_spad"},
    {"level": "weights_spad", "temporal": {"R": 3, "C": 4}, "order": "RC"},
    {"level": "psum_spad", "temporal": {"K": 16}}]}


def run(*args, check=True, tool=NAASC):
    p = subprocess.run([tool] + list(args), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{tool} {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    return p


def same_failure(test, error, cli):
    """error (a naasc.Error) is the command's failure: its status the exit
    code, its message what the command printed to stderr."""
    test.assertEqual((error.status, str(error)), (cli.returncode, cli.stderr.strip()))


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def untimed(x):
    """x (a result.json as a dict) without its wall-clock figures."""
    if isinstance(x, dict):
        return {k: untimed(v) for k, v in x.items() if "seconds" not in k}
    if isinstance(x, list):
        return [untimed(v) for v in x]
    return x


def scratch(name):
    p = os.path.join(SCRATCH, name)
    os.makedirs(p, exist_ok=True)
    return p


class Compile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.onnx = os.path.join(scratch("compile"), "nb201.onnx")
        run("zoo", NB201, "-o", cls.onnx)

    def test_report_is_the_command_lines(self):
        for schedule, flags in ((None, []), ("layer", ["--schedule=layer"])):
            out = os.path.join(SCRATCH, "compile", f"r-{schedule}.json")
            run(self.onnx, "--target", "eyeriss", f"--report={out}", *flags)
            m = naasc.Model(self.onnx)
            mod = m.compile(naasc.Target("eyeriss"))
            with open(out) as f:
                want = f.read()
            self.assertEqual(mod.report_json(schedule), want)  # byte for byte
            r = mod.report(schedule)
            self.assertEqual(r["format"], "naasc-report/1")
            self.assertEqual(r["target"], "eyeriss")
            self.assertEqual(r, json.loads(want))

    def test_model_compiles_twice_and_prints_its_nests(self):
        m = naasc.Model(self.onnx)
        a = m.compile("eyeriss").nir()
        b = m.compile("eyeriss").nir()
        self.assertEqual(a, b)
        self.assertEqual(a, run(self.onnx, "--target", "eyeriss", "--emit=nir").stdout)
        self.assertEqual(m.summary(), run(self.onnx, "--summary", "--no-fold").stdout)  # as imported

    def test_bad_input_shape(self):
        with self.assertRaises(naasc.Error) as e:
            naasc.Model(self.onnx, input_shapes={"input": "1xAx3"})
        self.assertIn("1xAx3", str(e.exception))

    def test_bad_pipeline_is_a_located_error(self):
        m = naasc.Model(self.onnx)
        with self.assertRaises(naasc.Error) as e:
            m.compile("eyeriss", pipeline="lower,no-such-pass")
        self.assertIn("no-such-pass", str(e.exception))
        cli = run(self.onnx, "-p", "lower,no-such-pass", check=False)
        self.assertEqual(e.exception.status, cli.returncode)


class Errors(unittest.TestCase):
    def test_missing_model_names_the_file(self):
        path = os.path.join(SCRATCH, "no-such.onnx")
        with self.assertRaises(naasc.Error) as e:
            naasc.Model(path)
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        cli = run(path, "--summary", check=False)
        self.assertEqual(cli.returncode, 1)
        self.assertIn(path, str(e.exception))
        self.assertEqual(str(e.exception), cli.stderr.strip())

    def test_bad_yaml_is_file_line_col(self):
        bad = os.path.join(scratch("errors"), "bad.mapping.yaml")
        with open(MAPPING) as f:
            text = f.read().replace("level: DummyBuffer", "level: NoSuchLevel")
        with open(bad, "w") as f:
            f.write(text)
        with self.assertRaises(naasc.Error) as e:
            naasc.cost(ARCH, PROBLEM, bad)
        msg = str(e.exception)
        self.assertRegex(msg, re.escape(bad) + r": 11:12: error: 'levels\[2\]\.level'")
        cli = run("cost", "--arch", ARCH, "--problem", PROBLEM, "--mapping", bad, check=False)
        self.assertEqual(cli.returncode, 1)
        self.assertEqual(msg, cli.stderr.strip())

    def test_unknown_target(self):
        with self.assertRaises(naasc.Error) as e:
            naasc.Target("no-such-preset")
        self.assertIn("no-such-preset", str(e.exception))

    def test_error_is_cleared_by_success(self):
        with self.assertRaises(naasc.Error):
            naasc.Target("no-such-preset")
        naasc.Target("eyeriss")
        self.assertEqual(naasc._lib.naasc_context_error(naasc._ctx), b"")


class Layer(unittest.TestCase):
    def test_cost_from_files_dicts_and_handles(self):
        cli = run("cost", "--arch", ARCH, "--problem", PROBLEM, "--mapping", MAPPING).stdout
        energy = float(re.search(r"^energy_pJ\s+(\S+)", cli, re.M).group(1))
        cycles = int(re.search(r"^cycles\s+(\d+)", cli, re.M).group(1))
        c = naasc.cost(ARCH, PROBLEM, MAPPING)
        self.assertEqual(c["energy_pj"], 5786287778.816)  # costmodel.cli_yaml's figure
        self.assertAlmostEqual(c["energy_pj"], energy, delta=1e-6 * energy)
        self.assertEqual(c["cycles"], cycles)
        self.assertEqual(list(c["levels"]), ["DRAM", "shared_glb", "DummyBuffer", "ifmap_spad",
                                             "weights_spad", "psum_spad"])
        t = naasc.Target(ARCH)
        self.assertEqual(naasc.cost(ARCH, PROBLEM_DICT, MAPPING_DICT), c)
        p = naasc.load_problem(PROBLEM_DICT)
        m = naasc.load_mapping(MAPPING_DICT, t)
        self.assertEqual(naasc.cost(t, p, m), c)
        self.assertEqual(p.macs, c["macs"])
        # the target as a dict: its own YAML printed, read back (arch_print round-trips)
        self.assertEqual(naasc.Target(ARCH).yaml(), run("--print-arch", ARCH).stdout)

    def test_map_one_layer(self):
        t = naasc.Target(ARCH)
        p = naasc.load_problem(PROBLEM)
        m1, c1 = naasc.map_layer(t, p, budget=3000, seed=7)
        m2, c2 = naasc.map_layer(t, p, budget=3000, seed=7)
        self.assertEqual(c1, c2)  # deterministic for a seed
        self.assertEqual(naasc.cost(t, p, m1), c1)  # the mapping it returns has that cost
        self.assertEqual(c1["macs"], 256 * 128 * 56 * 56 * 9)
        with self.assertRaises(naasc.Error) as e:
            naasc.map_layer(t, p, strategy="no-such")
        self.assertEqual(e.exception.status, naasc.USAGE)


class Timeloop(unittest.TestCase):
    def test_exercise_design_and_write_read_back(self):
        d = os.path.join(EXERCISES, "eyeriss_like", "ref_outputs", "default_problem")
        t, p, m = naasc.timeloop_load(d)
        c = naasc.cost(t, p, m)
        cli = run("cost", "--timeloop", d).stdout
        # Timeloop's terms: "Energy: X uJ" per design; compare naasc's own figure
        self.assertIn("ok: every count equal", cli)
        out = scratch("timeloop-out")
        naasc.timeloop_write(out, t, p, m)
        self.assertTrue(os.path.exists(os.path.join(out, "arch.yaml")))
        t2, p2, m2 = naasc.timeloop_load(os.path.join(out, "arch.yaml"),
                                         os.path.join(out, "problem.yaml"),
                                         os.path.join(out, "map.yaml"))
        c2 = naasc.cost(t2, p2, m2)
        for k in ("cycles", "macs", "compute_cycles"):
            self.assertEqual(c2[k], c[k])
        self.assertAlmostEqual(c2["energy_pj"], c["energy_pj"], delta=1e-9 * c["energy_pj"])
        # the same files through the command line give the same write
        cli_out = scratch("timeloop-cli")
        run("cost", "--timeloop", d, "--emit=timeloop", "-o", cli_out)
        for f in ("arch.yaml", "problem.yaml", "map.yaml"):
            with open(os.path.join(out, f)) as a, open(os.path.join(cli_out, f)) as b:
                self.assertEqual(a.read(), b.read(), f)

    def test_sparse_design_is_refused(self):
        d = os.path.join(EXERCISES, "sparse_tensor_core_like", "ref_outputs", "default_problem")
        if not os.path.isdir(d):
            self.skipTest("no sparse exercise")
        with self.assertRaises(naasc.Error) as e:
            naasc.timeloop_load(d)
        self.assertRegex(str(e.exception), r"error: .*sparse")


class Search(unittest.TestCase):
    def test_search_is_the_command_lines(self):
        out = os.path.join(SCRATCH, "search-cli")
        opts = ["--iterations", "2", "--popsize", "4", "--map-budget", "100",
                "--final-map-budget", "200", "--seed", "3"]
        run("--search", "alexnet", "--budget", "eyeriss", *opts, "--no-baseline", "-q", "-j", "1",
            "-o", out)
        s = naasc.Search("eyeriss", iterations=2, popsize=4, map_budget=100,
                         final_map_budget=200, seed=3)
        s.add(naasc.Model.zoo("alexnet"), "alexnet")
        seen = []
        s.run(progress=lambda g, n: seen.append((g, n)))
        self.assertEqual(seen, [(1, 2), (2, 2)])
        with open(os.path.join(out, "arch.yaml")) as f:
            self.assertEqual(s.design().yaml(), f.read())
        with open(os.path.join(out, "search.json")) as f:
            self.assertEqual(s.log(), json.load(f))
        with open(os.path.join(out, "result.json")) as f:
            res = json.load(f)
        r = s.result()
        self.assertEqual(r["score"], res["score"])
        self.assertEqual(r["iterations"], 2)
        self.assertEqual(r["candidates"], len(s.log()["candidates"]))

    def test_progress_exception_is_raised(self):
        s = naasc.Search("eyeriss", iterations=1, popsize=4, map_budget=50, final_map_budget=50)
        s.add(naasc.Model.zoo(NB201))

        def stop(g, n):
            raise KeyboardInterrupt("stop")
        with self.assertRaises(KeyboardInterrupt):
            s.run(progress=stop)


class CompileFile(unittest.TestCase):
    """compile_file, Module.lower/.emit and CompileOptions: `naasc MODEL FLAGS...`."""

    @classmethod
    def setUpClass(cls):
        cls.dir = scratch("compile-file")
        cls.onnx = os.path.join(cls.dir, "bert-tiny.onnx")
        run("zoo", "bert-tiny", "-o", cls.onnx)

    def test_report_and_stream_are_the_command_lines(self):
        d = self.dir
        cli = run(self.onnx, "--target", "eyeriss", "--schedule=layer",
                  f"--report={d}/cli.json")
        dumps = []
        o = naasc.CompileOptions("--print-ir-after=fuse-act", target="eyeriss", schedule="layer",
                                 dump=dumps.append)
        self.assertTrue(o.has_target and o.lowers and not o.lists)
        mod = naasc.compile_file(self.onnx, o)
        self.assertEqual(mod.emit("summary"), run(self.onnx, "--summary").stdout)
        with self.assertRaises(naasc.Error) as e:  # nests need lower() first
            mod.emit("nir")
        self.assertEqual(e.exception.status, naasc.USAGE)
        self.assertIn("error:", str(e.exception))
        table = mod.lower().emit("report", f"{d}/py.json")
        self.assertEqual(table, cli.stdout)  # the table byte for byte
        self.assertEqual(read(f"{d}/py.json"), read(f"{d}/cli.json"))
        self.assertEqual(read(f"{d}/py.svg"), read(f"{d}/cli.svg"))
        # the IR dump goes to the handler as the command prints it to stderr
        cli = run(self.onnx, "--target", "eyeriss", "--print-ir-after=fuse-act", "--summary")
        self.assertEqual("".join(dumps), cli.stderr)
        self.assertTrue(cli.stderr.startswith("# *** IR Dump After fuse-act (graph) ***\n"))
        # the command stream, byte for byte
        run(self.onnx, "--target", "eyeriss", "-o", f"{d}/cli.cmd")
        mod = naasc.compile_file(self.onnx, target="eyeriss", emit="cmd", out=f"{d}/py.cmd")
        self.assertIsNone(mod.lower().emit("cmd", f"{d}/py.cmd"))
        self.assertEqual(read(f"{d}/py.cmd", "rb"), read(f"{d}/cli.cmd", "rb"))

    def test_listing_and_errors(self):
        o = naasc.CompileOptions("--print-pipeline", "-O0")
        self.assertTrue(o.lists)
        self.assertEqual(o.listing, run("--print-pipeline", "-O0").stdout)
        missing = os.path.join(self.dir, "no-such.onnx")
        with self.assertRaises(naasc.Error) as e:
            naasc.compile_file(missing, target="eyeriss")
        cli = run(missing, "--target", "eyeriss", check=False)
        same_failure(self, e.exception, cli)
        self.assertIn(missing, str(e.exception))
        with self.assertRaises(naasc.Error) as e:  # a malformed flag: usage, named
            naasc.CompileOptions("--jobs", "many")
        self.assertEqual(e.exception.status, naasc.USAGE)
        self.assertIn("many", str(e.exception))
        with self.assertRaises(naasc.Error) as e:  # an output's flag is not an option
            naasc.CompileOptions("--emit=nir")
        self.assertEqual(str(e.exception), "naasc: error: '--emit=nir' is not a compile flag")
        with self.assertRaises(naasc.Error) as e:  # a bad pass: located in the pipeline text
            naasc.CompileOptions(pipeline="lower,no-such-pass")
        self.assertEqual(e.exception.status, naasc.USAGE)
        cli = run(self.onnx, "-p", "lower,no-such-pass", check=False)
        self.assertIn(str(e.exception), cli.stderr)
        mod = naasc.compile_file(self.onnx)
        with self.assertRaises(naasc.Error) as e:
            mod.emit("bogus")
        self.assertEqual(e.exception.status, naasc.USAGE)
        self.assertIn("bogus", str(e.exception))


class Opt(unittest.TestCase):
    """opt and run_pipeline: naasc-opt."""

    def test_ir_is_naasc_opts(self):
        d = scratch("opt")
        onnx = os.path.join(d, "bert-tiny.onnx")
        run("zoo", "bert-tiny", "-o", onnx)
        pipe = "fold-bn,fuse-act,lower,map{budget=30,seed=2},verify"
        want = run(onnx, "-p", pipe, "--target", "eyeriss", tool=NAASC_OPT).stdout
        self.assertTrue(want.startswith('module "bert-tiny"'))
        self.assertEqual(naasc.run_pipeline(onnx, pipe, "eyeriss"), want)
        # with -o the text names its weights file, written beside it
        text = naasc.opt(onnx, "-p", pipe, target="eyeriss", out=f"{d}/py.nir")
        self.assertEqual(text, want.replace("\n", '\nweights "py.nir.weights"\n', 1))
        run(onnx, "-p", pipe, "--target", "eyeriss", "-o", f"{d}/cli.nir", tool=NAASC_OPT)
        self.assertEqual(read(f"{d}/py.nir"), text)
        self.assertEqual(read(f"{d}/py.nir.weights", "rb"), read(f"{d}/cli.nir.weights", "rb"))
        # the .nir written reads back: naasc-opt's default for loop-nest IR (verify)
        self.assertEqual(naasc.opt(f"{d}/cli.nir"),
                         run(f"{d}/cli.nir", tool=NAASC_OPT).stdout)
        seen = []
        self.assertIsNone(naasc.opt(None, "--print-pipeline", "-O2", listing=seen.append))
        self.assertEqual(seen, [run("--print-pipeline", "-O2", tool=NAASC_OPT).stdout])

    def test_errors_are_located(self):
        onnx = os.path.join(scratch("opt"), "bert-tiny.onnx")
        run("zoo", "bert-tiny", "-o", onnx)
        with self.assertRaises(naasc.Error) as e:
            naasc.run_pipeline(onnx, "lower,bogus-pass")
        self.assertEqual(e.exception.status, naasc.USAGE)
        self.assertTrue(str(e.exception).startswith(
            "naasc-opt: pipeline:7: error: unknown pass 'bogus-pass' (known: "), str(e.exception))
        cli = run(onnx, "-p", "lower,bogus-pass", tool=NAASC_OPT, check=False)
        self.assertIn(str(e.exception), cli.stderr)
        missing = os.path.join(SCRATCH, "no-such.nir")
        with self.assertRaises(naasc.Error) as e:
            naasc.opt(missing)
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        cli = run(missing, tool=NAASC_OPT, check=False)
        same_failure(self, e.exception, cli)


class Tech(unittest.TestCase):
    def test_figures_are_naasc_techs(self):
        attrs = ["depth=2048", "width=256", "banks=4", "ports=2", "technology=45nm"]
        cli = run("tech", "sram", *attrs).stdout
        self.assertEqual(naasc.tech_json("sram", attrs), cli)  # byte for byte
        t = naasc.tech("sram", depth=2048, width=256, banks=4, ports=2, technology="45nm")
        self.assertEqual(t, json.loads(cli))
        self.assertEqual(t["read_pj"], 89.4681)  # docs/technology.md's example
        mac = naasc.tech("mac", {"type": "int8"}, technology="45nm")
        self.assertEqual(mac, json.loads(run("tech", "mac", "type=int8", "technology=45nm").stdout))

    def test_errors(self):
        with self.assertRaises(naasc.Error) as e:
            naasc.tech("sram", depth=2048, width=256, technology="3nm")
        cli = run("tech", "sram", "depth=2048", "width=256", "technology=3nm", check=False)
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        same_failure(self, e.exception, cli)
        self.assertIn("technology=3nm", str(e.exception))
        with self.assertRaises(naasc.Error) as e:
            naasc.tech("sram", ["depth"])
        self.assertEqual(e.exception.status, naasc.USAGE)
        self.assertEqual(str(e.exception), "naasc tech: error: expected ATTR=VALUE, not 'depth'")


class CostTable(unittest.TestCase):
    def test_table_is_naasc_costs(self):
        cli = run("cost", "--arch", ARCH, "--problem", PROBLEM, "--mapping", MAPPING).stdout
        head = "problem vgg16_conv3_1 on arch eyeriss_like\n\n"
        self.assertTrue(cli.startswith(head), cli[:80])
        self.assertEqual(naasc.cost_table(ARCH, PROBLEM, MAPPING), cli[len(head):])
        t, p, m = naasc.load_layer(ARCH, PROBLEM_DICT, MAPPING_DICT)
        self.assertEqual(naasc.cost_table(t, p, m), cli[len(head):])

    def test_wrong_factors_are_named(self):
        bad = dict(MAPPING_DICT, levels=[dict(lv) for lv in MAPPING_DICT["levels"]])
        bad["levels"][4]["temporal"] = {"R": 3, "C": 8}  # C: 32 x 8 = 256, not 128
        path = os.path.join(scratch("cost-table"), "bad-factors.mapping.yaml")
        with open(path, "w") as f:
            json.dump(bad, f)
        with self.assertRaises(naasc.Error) as e:
            naasc.cost_table(ARCH, PROBLEM, path)
        self.assertEqual(str(e.exception),
                         f"{path}: error: the factors of C cover 256, the problem has 128")
        cli = run("cost", "--arch", ARCH, "--problem", PROBLEM, "--mapping", path, check=False)
        same_failure(self, e.exception, cli)


class Misc(unittest.TestCase):
    def test_zoo_precision_onnx_and_diagnostics(self):
        names = [ln.split()[0] for ln in run("zoo", "--list").stdout.splitlines()]
        self.assertEqual(list(naasc.zoo_list()), names)
        d = scratch("misc")
        for weights, flags in ((True, []), (False, ["--no-weights"])):
            run("zoo", "bert-tiny", "-o", f"{d}/cli.onnx", *flags)
            naasc.Model.zoo("bert-tiny", weights=weights).write_onnx(f"{d}/py.onnx")
            self.assertEqual(read(f"{d}/py.onnx", "rb"), read(f"{d}/cli.onnx", "rb"))
        t = naasc.Target("eyeriss").set_precision("int8")
        self.assertEqual(t.yaml(), run("--print-arch", "eyeriss", "--precision", "int8").stdout)
        with self.assertRaises(naasc.Error) as e:
            naasc.Target("eyeriss").set_precision("int3")
        self.assertIn("int3", str(e.exception))
        seen = []
        naasc.set_diagnostic_handler(seen.append)
        try:
            with self.assertRaises(naasc.Error) as e:
                naasc.Target("no-such-preset")
        finally:
            naasc.set_diagnostic_handler(None)
        self.assertEqual("".join(seen), str(e.exception) + "\n")
        n = len(seen)
        with self.assertRaises(naasc.Error):  # no handler any more
            naasc.Target("no-such-preset")
        self.assertEqual(len(seen), n)


class SearchDrive(unittest.TestCase):
    """search_drive: `naasc --search ... -o DIR` with its files."""

    def test_run_is_the_command_lines(self):
        cli_dir, py_dir = os.path.join(SCRATCH, "drive-cli"), os.path.join(SCRATCH, "drive-py")
        cli = run("--search", "bert-tiny", "--budget", "eyeriss", "--iterations", "2",
                  "--popsize", "4", "--map-budget", "50", "--final-map-budget", "50",
                  "--seed", "3", "--no-baseline", "-j", "1", "-o", cli_dir)
        gens = []
        r = naasc.search_drive(["bert-tiny"], "eyeriss", dir=py_dir, iterations=2, popsize=4,
                               map_budget=50, final_map_budget=50, seed=3, no_baseline=True,
                               on_generation=gens.append)
        self.assertEqual(gens, [0, 1])  # each generation's index, after its mapping
        timing = re.compile(r", [0-9.]+ s; outputs in ")
        self.assertEqual(timing.sub(", T s; outputs in ", r.summary).replace(py_dir, "DIR"),
                         timing.sub(", T s; outputs in ", cli.stdout).replace(cli_dir, "DIR"))
        self.assertEqual(r.dir, py_dir)
        want = json.loads(read(os.path.join(cli_dir, "result.json")))
        self.assertEqual(r.result["schema"], "naasc-search-result/1")
        self.assertEqual(r.result["models"], ["bert-tiny"])
        self.assertEqual(r.result["score"], want["score"])
        self.assertEqual(untimed(r.result), untimed(want))
        for f in ("arch.yaml", "search.json", "bert-tiny.report.json", "bert-tiny.nir"):
            self.assertEqual(read(os.path.join(py_dir, f)), read(os.path.join(cli_dir, f)), f)
        self.assertEqual(read(os.path.join(py_dir, "bert-tiny.cmd"), "rb"),
                         read(os.path.join(cli_dir, "bert-tiny.cmd"), "rb"))

    def test_errors(self):
        d = os.path.join(SCRATCH, "drive-bad")
        with self.assertRaises(naasc.Error) as e:
            naasc.search_drive("bert-tiny", "no-such-preset", dir=d)
        cli = run("--search", "bert-tiny", "--budget", "no-such-preset", "-o", d, check=False)
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        same_failure(self, e.exception, cli)
        self.assertIn("no-such-preset", str(e.exception))
        with self.assertRaises(naasc.Error) as e:
            naasc.search_drive("bert-tiny", "eyeriss", dir=d, optimizer="bogus")
        self.assertEqual(e.exception.status, naasc.USAGE)
        self.assertEqual(str(e.exception), "naasc: error: naasc_search_drive: optimizer 'bogus' is "
                                           "not one naasc --search takes")
        with self.assertRaises(TypeError):
            naasc.search_drive("bert-tiny", "eyeriss", no_such_option=1)


NAS_FLAGS = ["--budget", "eyeriss", "--min-accuracy", "85", "--cycles", "2", "--population", "2",
             "--sample", "1", "--seed", "3", "--naas-iterations", "1", "--naas-popsize", "4",
             "--map-budget", "10", "--no-baselines", "--nb201-data", NB201_CSV]
NAS_OPTIONS = dict(min_accuracy=85, cycles=2, population=2, sample=1, seed=3, naas_iterations=1,
                   naas_popsize=4, map_budget=10, no_baselines=True, data=NB201_CSV)


class NasDrive(unittest.TestCase):
    """nas_drive: `naasc --search --nas nasbench201 ... -o DIR`, its progress."""

    def test_run_and_progress_are_the_command_lines(self):
        cli_dir, py_dir = os.path.join(SCRATCH, "nas-cli"), os.path.join(SCRATCH, "nas-py")
        cli = run("--search", "--nas", "nasbench201", *NAS_FLAGS, "--progress", "-o", cli_dir)
        seen = []
        r = naasc.nas_drive("eyeriss", dir=py_dir, on_progress=seen.append, **NAS_OPTIONS)
        # each new best, printed as naasc --progress prints it: its stderr
        lines = "".join("nas: %d cells scored, %d proposed: best cell %d acc %.2f%% edp %.4g%s\n"
                        % (p["networks"], p["proposed"], p["cell"], p["accuracy"], p["edp"],
                           "" if p["met"] else " (bound not met)") for p in seen)
        self.assertEqual(lines, cli.stderr)
        self.assertGreaterEqual(len(seen), 1)
        hist = read(os.path.join(cli_dir, "history.csv")).splitlines()
        self.assertEqual(len(hist), 1 + seen[-1]["networks"])  # a header, a row per network
        rows = {int(ln.split(",")[0]): ln.split(",") for ln in hist[1:]}
        for p in seen:  # each point is its network's row of history.csv
            self.assertEqual(rows[p["cell"]][2], p["arch"])
            self.assertEqual(float(rows[p["cell"]][6]), p["energy_pj"])
        timing = re.compile(r" scored in [0-9.]+ s -> ")
        self.assertEqual(timing.sub(" scored in T s -> ", r.summary).replace(py_dir, "DIR"),
                         timing.sub(" scored in T s -> ", cli.stdout).replace(cli_dir, "DIR"))
        self.assertEqual(untimed(r.result), untimed(json.loads(read(f"{cli_dir}/result.json"))))
        # without labels the last new best is the design
        self.assertEqual((r.result["network"]["code"], r.result["network"]["arch"]),
                         (seen[-1]["cell"], seen[-1]["arch"]))
        self.assertEqual(r.result["bound_met"], seen[-1]["met"])
        for f in ("history.csv", "arch.yaml", "network.report.json", "network.nir"):
            self.assertEqual(read(os.path.join(py_dir, f)), read(os.path.join(cli_dir, f)), f)

    def test_predictor_callback(self):
        # with labels, --progress's first line is the predictor's fit: it comes
        # from on_predictor, not through the diagnostic handler
        cli_dir, py_dir = os.path.join(SCRATCH, "nas-cli-k"), os.path.join(SCRATCH, "nas-py-k")
        cli = run("--search", "--nas", "nasbench201", *NAS_FLAGS, "--labels", "20",
                  "--pseudo-pool", "100", "--progress", "-o", cli_dir)
        fits, seen, diags = [], [], []
        naasc.set_diagnostic_handler(diags.append)
        try:
            naasc.nas_drive("eyeriss", dir=py_dir, on_progress=seen.append, on_predictor=fits.append,
                            progress=1, labels=20, pseudo_pool=100, **NAS_OPTIONS)
        finally:
            naasc.set_diagnostic_handler(None)
        self.assertEqual(len(fits), 1)
        self.assertEqual(fits[0]["labels"], 20)
        self.assertTrue(-1 <= fits[0]["tau_plain"] <= 1 and -1 <= fits[0]["tau"] <= 1)
        self.assertEqual([d for d in diags if "predictor" in d], [])
        lines = ["nas: predictor on %d labels: held-out Kendall tau %.4f (%.4f without "
                 "pseudo-labels)\n" % (fits[0]["labels"], fits[0]["tau"], fits[0]["tau_plain"])]
        lines += ["nas: %d cells scored, %d proposed: best cell %d acc %.2f%% edp %.4g%s\n"
                  % (p["networks"], p["proposed"], p["cell"], p["accuracy"], p["edp"],
                     "" if p["met"] else " (bound not met)") for p in seen]
        self.assertEqual("".join(lines), cli.stderr)

    def test_errors(self):
        d = os.path.join(SCRATCH, "nas-bad")
        with self.assertRaises(naasc.Error) as e:
            naasc.nas_drive("eyeriss", dir=d, **dict(NAS_OPTIONS, dataset="mnist"))
        self.assertEqual(e.exception.status, naasc.USAGE)
        self.assertEqual(str(e.exception), "naasc: error: naasc_nas_drive: the dataset is not "
                                           "cifar10, cifar100 or imagenet16-120 ('mnist')")
        missing = os.path.join(SCRATCH, "no-such.csv")
        with self.assertRaises(naasc.Error) as e:
            naasc.nas_drive("eyeriss", dir=d, **dict(NAS_OPTIONS, data=missing))
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        cli = run("--search", "--nas", "nasbench201", *NAS_FLAGS[:-1], missing, "-o", d,
                  check=False)
        same_failure(self, e.exception, cli)
        self.assertIn(missing, str(e.exception))
        # a bound no network meets: the closest design's line comes with the error
        with self.assertRaises(naasc.Error) as e:
            naasc.nas_drive("eyeriss", dir=d, **dict(NAS_OPTIONS, min_accuracy=None, max_edp=1e-3,
                                                      cycles=1, population=1))
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        self.assertEqual(str(e.exception), f"naasc: error: no network scored met the bound "
                                           f"(--max-edp 0.001); {d}/ holds the closest")
        self.assertIn("(the bound was not met: the closest design)", e.exception.summary)


if __name__ == "__main__":
    os.makedirs(SCRATCH, exist_ok=True)
    unittest.main(verbosity=2)
