#!/usr/bin/env python3
"""naasc.Stream (python/naasc/stream.py over the C API's naasc_stream_*)
against the naasc-run executable on the same command stream.

  NAASC_BIN=build/tools/naasc NAASC_RUN_BIN=build/tools/naasc-run \\
    PYTHONPATH=build/python test_stream.py SCRATCH

Two zoo networks are compiled with `naasc` to streams for eyeriss: a
NAS-Bench-201 cell network (f32 input) and bert-tiny (int64 token ids,
layers run on the host).  Each is run from Python, with the C reference
kernels and with the JIT, and by naasc-run with the same input file: the
output files must be equal byte for byte, and so must the bytes Python
reads, the --counts and --moved text, and a bad stream's located message.
The counters' JSON (--report-json, Stream.report_json) is checked number by
number against the --counts, --moved and host text and the per-layer
struct.  With numpy (the system's python3 has it): naasc.Tensor and numpy
arrays in and out, against naasc-run's .npy files; without it those tests
are skipped, and the rest needs only the standard library.
"""
import array
import json
import os
import random
import re
import struct
import subprocess
import sys
import unittest

import naasc

try:
    import numpy as np
except ImportError:
    np = None

NAASC = os.environ["NAASC_BIN"]
NAASC_RUN = os.environ.get("NAASC_RUN_BIN") or os.path.join(os.path.dirname(NAASC), "naasc-run")
SCRATCH = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else "test-scratch-stream")


def run(*args, check=True):
    p = subprocess.run(list(args), capture_output=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: exit {p.returncode}\n{p.stderr.decode()}")
    return p


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def tensor_proto(name, dtype, dims, raw):
    """A serialized ONNX TensorProto (dims 1, data_type 2, name 8, raw_data 9),
    written here so that naasc-run's input does not come from the module."""
    pb = b"".join(b"\x08" + varint(d) for d in dims) + b"\x10" + varint(dtype)
    n = name.encode()
    return pb + b"\x42" + varint(len(n)) + n + b"\x4a" + varint(len(raw)) + raw


def compile_stream(zoo, name):
    d = os.path.join(SCRATCH, name)
    os.makedirs(d, exist_ok=True)
    onnx, cmd = os.path.join(d, name + ".onnx"), os.path.join(d, name + ".cmd")
    run(NAASC, "zoo", zoo, "-o", onnx)
    run(NAASC, onnx, "--target", "eyeriss", "-o", cmd)
    return d, cmd


def files(d):
    out = {}
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as g:
            out[f] = g.read()
    return out


def unclocked(text):
    """The host table with its wall-clock seconds masked."""
    return re.sub(r"\b[0-9]+\.[0-9]{4}( s)?$", r"T\1", text, flags=re.M)


class Cell(unittest.TestCase):
    """nb201:1: f32 input bound from bytes and from a list."""

    @classmethod
    def setUpClass(cls):
        cls.dir, cls.cmd = compile_stream("nb201:1", "cell")
        rng = random.Random(7)
        cls.x = array.array("f", (rng.uniform(-1, 1) for _ in range(3 * 32 * 32)))
        cls.pb = os.path.join(cls.dir, "input.pb")
        with open(cls.pb, "wb") as f:
            f.write(tensor_proto("input", 1, (1, 3, 32, 32), cls.x.tobytes()))

    def tool(self, out, *flags):
        return run(NAASC_RUN, self.cmd, "--input", "input=" + self.pb, "-o", out, *flags)

    def test_introspection(self):
        s = naasc.Stream(self.cmd, target="eyeriss")
        self.assertEqual(s.inputs, [naasc.stream.TensorInfo("input", "f32", (1, 3, 32, 32), 12288)])
        self.assertEqual(s.outputs, [naasc.stream.TensorInfo("output", "f32", (1, 10), 40)])

    def test_reference_kernels_equal_naasc_run(self):
        tool_out = os.path.join(self.dir, "tool-nojit")
        p = self.tool(tool_out, "--no-jit", "--counts")
        s = naasc.Stream(self.cmd)
        out = s.run({"input": self.x}, counts=True)
        py_out = os.path.join(self.dir, "py-nojit")
        s.write_outputs(py_out)
        want = files(tool_out)
        self.assertEqual(files(py_out), want)
        self.assertEqual(list(want), ["output.pb"])
        self.assertEqual(out["output"].tobytes(), s.read("output"))
        self.assertTrue(want["output.pb"].endswith(s.read("output")))
        self.assertEqual((s.report("counts") + s.report("host")).encode(), p.stdout)
        counted = [c for c in s.layer_counts() if c["counted"]]
        rows = sum(1 for c in counted for lv in range(len(c["reads"])) for t in range(3)
                   if c["reads"][lv][t] or c["fills"][lv][t] or c["updates"][lv][t])
        self.assertEqual(rows + 1, p.stdout.decode().count("\n"))
        # the same input as a list of floats, then from the .pb file
        self.assertEqual(s.run({"input": list(self.x)})["output"], out["output"])
        s.bind_file("input", self.pb)
        self.assertEqual(s.run()["output"], out["output"])
        # a JIT run after those compiles its kernels (each run looks them up
        # again: the reference runs' cached kernels are not reused)
        naasc.stream._jit = None  # a fresh provider, its count from 0
        self.assertEqual(s.run(jit=True)["output"], out["output"])
        self.assertGreater(s.stats()["kernels_compiled"], 0)

    def test_jit_equals_naasc_run(self):
        tool_out = os.path.join(self.dir, "tool-jit")
        p = self.tool(tool_out, "--moved")
        s = naasc.Stream(self.cmd)
        s.run({"input": self.x.tobytes()}, jit=True)
        self.assertEqual(s.report("moved").encode(), p.stdout)
        st = s.stats()
        self.assertTrue(st["kernels_used"])
        self.assertGreater(st["kernels_compiled"], 0)
        self.assertEqual(st["max_memory"], 4 << 30)
        self.assertTrue(0 < st["memory"] <= st["memory_unshared"])
        py_out = os.path.join(self.dir, "py-jit")
        s.write_outputs(py_out)
        self.assertEqual(files(py_out), files(tool_out))

    def test_errors(self):
        # a truncated stream: the located message naasc-run prints
        bad = os.path.join(self.dir, "truncated.cmd")
        with open(self.cmd, "rb") as f, open(bad, "wb") as g:
            g.write(f.read(300))
        p = run(NAASC_RUN, bad, check=False)
        with self.assertRaises(naasc.Error) as e:
            naasc.Stream(bad)
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        self.assertEqual(str(e.exception) + "\n", p.stderr.decode())
        self.assertTrue(str(e.exception).startswith(
            bad + ": offset 12: error: the section table does not describe a 300-byte stream"))
        # a stream for another target
        with self.assertRaises(naasc.Error) as e:
            naasc.Stream(self.cmd, target="edgetpu")
        self.assertIn("not 'edgetpu'", str(e.exception))
        # an input of the wrong shape, an unbound input
        s = naasc.Stream(self.cmd)
        with self.assertRaises(naasc.Error) as e:
            s.run({"input": self.x[:100]})
        self.assertEqual(str(e.exception), f"{self.cmd}: error: input 'input': 400 bytes given, "
                         "its f32 tensor of 3072 elements has 12288")
        with self.assertRaises(naasc.Error) as e:
            s.run()
        self.assertEqual(str(e.exception),
                         f"{self.cmd}: error: input 'input' is not bound (--input input=FILE.pb)")


def counts_text(report):
    """The --counts text (the rows of counted layers, then the host table's
    rows) rebuilt from a naasc-run-report/1 dict."""
    lines = [f"{'layer':<32} {'lvl':<3} {'':<14} {'T':<2} {'reads':>14} {'fills':>14} "
             f"{'updates':>14}"]
    for c in report["layers"]:
        if not c["counted"]:
            continue
        for lv in c["levels"]:
            for t in "WIO":
                a = lv[t]
                if a["reads"] or a["fills"] or a["updates"]:
                    lines.append(f"{c['name'][:32]:<32} {lv['level']:<3} {'':<14} {t:<2} "
                                 f"{a['reads']:>14} {a['fills']:>14} {a['updates']:>14}")
    host = [c for c in report["layers"] if c["host"]]
    if host:
        lines.append("host layers (run by the host evaluator; not in the accelerator's counts):")
        lines.append(f"{'layer':<32} {'op':<20} {'nodes':>8} {'out elements':>14} "
                     f"{'seconds':>10}")
        for c in host:
            h = c["host"]
            lines.append(f"{c['name'][:32]:<32} {h['op'][:20]:<20} {h['nodes']:>8} "
                         f"{h['elements']:>14} {h['seconds']:>10.4f}")
        lines.append(f"host total: {len(host)} layers, {sum(c['host']['nodes'] for c in host)} "
                     f"nodes, {sum(c['host']['elements'] for c in host)} output elements, "
                     f"{sum(c['host']['seconds'] for c in host):.4f} s")
    return "\n".join(lines) + "\n"


def moved_text(report):
    """The --moved text rebuilt from a naasc-run-report/1 dict."""
    lines = [f"{'layer':<32} {'lvl':<3} {'T':<2} {'filled':>14} {'drained':>14}"]
    for c in report["layers"]:
        if not c["tiles"]:
            continue
        for lv in c["levels"]:
            for t in "WIO":
                out = lv["drained"] if t == "O" else 0
                if lv[t]["moved"] or out:
                    lines.append(f"{c['name'][:32]:<32} {lv['level']:<3} {t:<2} "
                                 f"{lv[t]['moved']:>14} {out:>14}")
    return "\n".join(lines) + "\n"


def check_report_json(test, report, text, struct):
    """report (a naasc-run-report/1 dict) against the --counts (+ host) and
    --moved text naasc-run printed, and Stream.layer_counts()'s struct."""
    test.assertEqual(report["format"], "naasc-run-report/1")
    test.assertEqual(unclocked(counts_text(report)) + moved_text(report), unclocked(text))
    test.assertEqual(len(report["layers"]), len(struct))
    for c, k in zip(report["layers"], struct):
        test.assertEqual(c["name"], k["name"])
        for f in ("counted", "exact", "macs", "tiles", "held", "wide"):
            test.assertEqual(c[f], k[f], (c["name"], f))
        levels = {lv["level"]: lv for lv in c["levels"]}
        for lv in range(8):
            got = levels.get(lv)
            for t, letter in enumerate("WIO"):
                for f in ("reads", "fills", "updates"):
                    want = k[f][lv][t] if lv < len(k[f]) else 0
                    test.assertEqual(got[letter][f] if got else 0, want, (c["name"], lv, f))
                test.assertEqual(got[letter]["moved"] if got else 0, k["moved"][lv][t])
            test.assertEqual(got["drained"] if got else 0, k["drained"][lv])
        if k["host"]:
            h = c["host"]
            test.assertEqual((h["op"], h["nodes"], h["elements"]),
                             (k["host_op"], k["host_nodes"], k["host_elements"]))
        else:
            test.assertIsNone(c["host"])


class ReportJson(unittest.TestCase):
    """naasc-run --report-json and Stream.report_json(): every counter equal
    to the --counts, --moved and host text and to the per-layer struct."""

    def check(self, zoo, name, flags):
        d, cmd = compile_stream(zoo, name)
        x = os.path.join(d, "x.pb")
        s = naasc.Stream(cmd)
        t = s.inputs[0]
        if t.dtype == "f32":
            raw = array.array("f", (random.Random(5).uniform(-1, 1)
                                    for _ in range(t.nbytes // 4))).tobytes()
        else:
            raw = struct.pack(f"<{t.nbytes // 8}q",
                              *(random.Random(5).randrange(512) for _ in range(t.nbytes // 8)))
        with open(x, "wb") as f:
            f.write(tensor_proto(t.name, 1 if t.dtype == "f32" else 7, t.shape, raw))
        rj = os.path.join(d, "report.json")
        p = run(NAASC_RUN, cmd, "--input", f"{t.name}={x}", "--moved", "--report-json", rj,
                *flags)
        with open(rj) as f:
            report = json.load(f)
        s.bind_file(t.name, x)
        s.run(jit="--no-jit" not in flags, counts=True, exact="--counts=exact" in flags)
        check_report_json(self, report, p.stdout.decode(), s.layer_counts())
        mine = s.report_json()
        self.assertEqual(mine["stream"], cmd)
        for a in (report, mine):
            for c in a["layers"]:
                if c["host"]:
                    c["host"]["seconds"] = 0
        self.assertEqual(mine, report)
        # written atomically: no temporary left beside it
        self.assertEqual([f for f in os.listdir(d) if f.startswith("report.json")],
                         ["report.json"])
        return report

    def test_cell(self):
        r = self.check("nb201:1", "cell-json", ["--no-jit", "--counts"])
        self.assertGreater(sum(c["counted"] for c in r["layers"]), 0)

    def test_cell_exact(self):
        r = self.check("nb201:1", "cell-json-exact", ["--counts=exact"])
        self.assertTrue(all(c["exact"] for c in r["layers"] if c["counted"]))

    def test_bert_host_layers(self):
        r = self.check("bert-tiny", "bert-json", ["--no-jit", "--counts"])
        self.assertGreater(sum(bool(c["host"]) for c in r["layers"]), 0)

    def test_bad_kind_and_path(self):
        d, cmd = compile_stream("nb201:1", "cell-json")
        s = naasc.Stream(cmd)
        with self.assertRaises(naasc.Error) as e:
            s.report("yaml")
        self.assertEqual(e.exception.status, naasc.USAGE)
        with self.assertRaises(naasc.Error) as e:
            s.write_report("json", os.path.join(d, "no", "such", "r.json"))
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        self.assertIn("/no/such/r.json", str(e.exception))


@unittest.skipIf(np is None, "numpy is not installed")
class Numpy(unittest.TestCase):
    """naasc.Tensor and numpy arrays against naasc-run's .npy files."""

    @classmethod
    def setUpClass(cls):
        cls.dir, cls.cmd = compile_stream("nb201:1", "cell-npy")
        cls.x = np.random.default_rng(11).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
        cls.npy = os.path.join(cls.dir, "x.npy")
        np.save(cls.npy, cls.x)
        cls.y = os.path.join(cls.dir, "y.npy")
        run(NAASC_RUN, cls.cmd, "--no-jit", "--input", "input=" + cls.npy,
            "--output", "output=" + cls.y)
        cls.want = np.load(cls.y)

    def test_numpy_in_and_out(self):
        s = naasc.Stream(self.cmd)
        out = s.run({"input": self.x}, numpy=True)
        self.assertEqual(out["output"].shape, (1, 10))
        self.assertEqual(out["output"].dtype, np.float32)
        self.assertTrue(np.array_equal(out["output"], self.want))
        self.assertTrue(np.array_equal(s.array("output"), self.want))
        # a Fortran-ordered array binds its values (made C-contiguous), not its memory
        s.bind("input", np.asfortranarray(self.x))
        self.assertTrue(np.array_equal(s.run(numpy=True)["output"], self.want))
        s.bind_file("input", self.npy)
        self.assertTrue(np.array_equal(s.run(numpy=True, jit=True)["output"], self.want))

    def test_tensors(self):
        s = naasc.Stream(self.cmd)
        t = naasc.Tensor.load(self.npy)
        self.assertEqual((t.name, t.dtype, t.shape, t.nbytes), ("", "f32", (1, 3, 32, 32), 12288))
        self.assertTrue(np.array_equal(t.numpy(), self.x))
        s.bind("input", t)
        s.run()
        y = s.tensor("output")
        self.assertEqual((y.name, y.dtype, y.shape), ("output", "f32", (1, 10)))
        path = os.path.join(self.dir, "mine.npy")
        y.save(path)
        with open(path, "rb") as f, open(self.y, "rb") as g:
            self.assertEqual(f.read(), g.read())  # naasc-run --output's bytes
        s.write_output("output", path)
        with open(path, "rb") as f, open(self.y, "rb") as g:
            self.assertEqual(f.read(), g.read())
        pb = os.path.join(self.dir, "y.pb")
        y.save(pb)
        self.assertTrue(np.array_equal(naasc.Tensor.load(pb).numpy(), self.want))
        self.assertEqual(naasc.Tensor.load(pb).name, "output")
        # created from bytes and from numpy, a scalar keeps rank 0
        z = naasc.Tensor.create("i64", (2, 2), struct.pack("<4q", 1, 2, 3, 4))
        self.assertEqual(z.numpy().tolist(), [[1, 2], [3, 4]])
        self.assertEqual(naasc.Tensor.from_numpy(np.float32(3)).shape, ())
        self.assertEqual(naasc.Tensor.create("u8", (3,)).bytes(), b"\0\0\0")

    def test_errors(self):
        s = naasc.Stream(self.cmd)
        with self.assertRaises(naasc.Error) as e:
            s.bind("input", self.x.astype(np.float64))
        self.assertEqual(e.exception.status, naasc.BADINPUT)
        self.assertTrue(str(e.exception).startswith(f"{self.cmd}: error: input 'input': "))
        with self.assertRaises(naasc.Error) as e:
            s.bind("input", self.x.astype(np.complex64))
        self.assertIn("numpy dtype complex64 is not a type naasc runs", str(e.exception))
        bad = os.path.join(self.dir, "f.npy")
        np.save(bad, np.asfortranarray(self.x))
        with self.assertRaises(naasc.Error) as e:
            naasc.Tensor.load(bad)
        self.assertTrue(str(e.exception).startswith(bad + ": header 'fortran_order': error: "))
        # naasc-run prints the same message for the same file
        p = run(NAASC_RUN, self.cmd, "--input", "input=" + bad, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.decode(), str(e.exception) + "\n")
        with self.assertRaises(naasc.Error) as e:
            naasc.Tensor.create("f32", (2, 2), b"\0" * 12)
        self.assertIn("12 bytes given", str(e.exception))


class Bert(unittest.TestCase):
    """bert-tiny: int64 token ids from a list, host layers."""

    def test_equal_naasc_run(self):
        d, cmd = compile_stream("bert-tiny", "bert")
        ids = [random.Random(3).randrange(512) for _ in range(16)]
        pb = os.path.join(d, "ids.pb")
        with open(pb, "wb") as f:
            f.write(tensor_proto("input", 7, (1, 16), struct.pack("<16q", *ids)))
        tool_out = os.path.join(d, "tool")
        p = run(NAASC_RUN, cmd, "--input", "input=" + pb, "-o", tool_out, "--counts")
        s = naasc.Stream(cmd)
        self.assertEqual(s.inputs[0].dtype, "i64")
        out = s.run({"input": ids}, jit=True, counts=True)
        py_out = os.path.join(d, "py")
        s.write_outputs(py_out)
        self.assertEqual(files(py_out), files(tool_out))
        self.assertEqual(set(out), {t.name for t in s.outputs})
        host = s.report("host")
        self.assertTrue(host.startswith("host layers"))
        self.assertEqual(unclocked(s.report("counts") + host), unclocked(p.stdout.decode()))
        self.assertEqual(s.stats()["host_layers"], sum(c["host"] for c in s.layer_counts()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
