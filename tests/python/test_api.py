#!/usr/bin/env python3
"""The Python module (python/naasc over libnaasc.so) against the command line.

  NAASC_BIN=build/tools/naasc PYTHONPATH=build/python test_api.py SCRATCH

Each result the module gives is compared with what `naasc` prints or
writes for the same input: the compile report byte for byte, the layer
cost figure for figure, the searched design and its log byte for byte;
and each error must raise naasc.Error carrying the located message.
Only the standard library (unittest, json, subprocess).
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


def run(*args, check=True):
    p = subprocess.run([NAASC] + list(args), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"naasc {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    return p


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


if __name__ == "__main__":
    os.makedirs(SCRATCH, exist_ok=True)
    unittest.main(verbosity=2)
