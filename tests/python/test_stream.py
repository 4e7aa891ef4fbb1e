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
Only the standard library.
"""
import array
import os
import random
import re
import struct
import subprocess
import sys
import unittest

import naasc

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
