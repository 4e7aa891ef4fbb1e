#!/usr/bin/env node
/*
 * ort_run.js: runs an ONNX model with onnxruntime-node (the CPU execution
 * provider) on inputs given as serialized ONNX TensorProto files (.pb, the
 * format naasc-run reads and writes) and writes every graph output as
 * OUTDIR/NAME.pb the same way, so a test can compare naasc-run's outputs
 * with onnxruntime's file by file.
 *
 *   node ort_run.js MODEL.onnx --ort DIR --input NAME=FILE.pb ... -o OUTDIR
 *                   [--opt all|extended|basic|disabled] [--threads N]
 *
 * --ort DIR is where scripts/setup-ort.sh installed onnxruntime-node (its
 * last line of output); NAASC_ORT_DIR is the default.  --opt is onnxruntime's
 * graph optimization level (default all, as an application runs it);
 * --threads its intra-op threads (default 1: the same result every run).
 * Prints one JSON line per output: {"name", "dtype", "dims"}; the run time to
 * stderr.
 *
 * TensorProto fields read: dims 1, data_type 2, name 8, raw_data 9 and the
 * typed fields float_data 4, int32_data 5, int64_data 7, double_data 10,
 * uint64_data 11 (packed or not), as ONNX stores them; string tensors, and
 * segmented or external data, are refused by name.  Written: dims, data_type,
 * name and raw_data (little-endian), as naasc-run writes them; an output's
 * file is its name with each '/' replaced by '_', as naasc-run names it.
 *
 * Exit codes: 0 ok, 1 bad input (a model or tensor onnxruntime or this reader
 * refuses), 2 bad usage, 77 onnxruntime-node not installed.
 */
'use strict';

const fs = require('fs');
const path = require('path');

const usage =
  'usage: node ort_run.js MODEL.onnx --ort DIR --input NAME=FILE.pb ... -o OUTDIR\n' +
  '                       [--opt all|extended|basic|disabled] [--threads N]\n';

// ONNX TensorProto.DataType -> onnxruntime-node tensor type, element bytes.
const DTYPES = {
  1: ['float32', 4], 2: ['uint8', 1], 3: ['int8', 1], 4: ['uint16', 2], 5: ['int16', 2],
  6: ['int32', 4], 7: ['int64', 8], 9: ['bool', 1], 10: ['float16', 2], 11: ['float64', 8],
  12: ['uint32', 4], 13: ['uint64', 8],
};
const CODE_OF = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [v[0], Number(k)]));

class InputError extends Error {}

// ---- protobuf wire format --------------------------------------------------

function readVarint(buf, pos) {
  let v = 0n, shift = 0n;
  for (;;) {
    if (pos.i >= buf.length) throw new InputError('truncated varint');
    const b = buf[pos.i++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
    shift += 7n;
    if (shift > 63n) throw new InputError('varint longer than 10 bytes');
  }
}

/* Decodes a TensorProto; returns {name, dtype (ONNX code), dims, bytes}. */
function decodeTensor(buf, where) {
  const t = { name: '', dtype: 0, dims: [], raw: null, typed: {} };
  const pos = { i: 0 };
  const pushTyped = (field, kind, v) => { (t.typed[field] = t.typed[field] || { kind, vals: [] }).vals.push(v); };
  while (pos.i < buf.length) {
    const key = Number(readVarint(buf, pos));
    const field = key >>> 3, wire = key & 7;
    if (wire === 0) {
      const v = readVarint(buf, pos);
      if (field === 1) t.dims.push(v);
      else if (field === 2) t.dtype = Number(v);
      else if (field === 5 || field === 7 || field === 11) pushTyped(field, 'varint', v);
      else if (field === 14 && v !== 0n) throw new InputError(`${where}: external data is not supported`);
    } else if (wire === 2) {
      const n = Number(readVarint(buf, pos));
      if (pos.i + n > buf.length) throw new InputError(`${where}: truncated field ${field}`);
      const s = buf.subarray(pos.i, pos.i + n);
      pos.i += n;
      if (field === 8) t.name = s.toString('utf8');
      else if (field === 9) t.raw = Buffer.from(s);
      else if (field === 1 || field === 5 || field === 7 || field === 11) {  // packed varints
        const p = { i: 0 };
        while (p.i < s.length) {
          const v = readVarint(s, p);
          if (field === 1) t.dims.push(v); else pushTyped(field, 'varint', v);
        }
      } else if (field === 4) for (let k = 0; k + 4 <= n; k += 4) pushTyped(4, 'f32', s.readFloatLE(k));
      else if (field === 10) for (let k = 0; k + 8 <= n; k += 8) pushTyped(10, 'f64', s.readDoubleLE(k));
      else if (field === 3) throw new InputError(`${where}: segmented tensors are not supported`);
      else if (field === 6) throw new InputError(`${where}: string tensors are not supported`);
      else if (field === 13) throw new InputError(`${where}: external data is not supported`);
    } else if (wire === 5) {
      if (pos.i + 4 > buf.length) throw new InputError(`${where}: truncated field ${field}`);
      if (field === 4) pushTyped(4, 'f32', buf.readFloatLE(pos.i));
      pos.i += 4;
    } else if (wire === 1) {
      if (pos.i + 8 > buf.length) throw new InputError(`${where}: truncated field ${field}`);
      if (field === 10) pushTyped(10, 'f64', buf.readDoubleLE(pos.i));
      pos.i += 8;
    } else {
      throw new InputError(`${where}: wire type ${wire} of field ${field} is not a TensorProto's`);
    }
  }
  if (!DTYPES[t.dtype]) throw new InputError(`${where}: data type ${t.dtype} is not supported`);
  const [, size] = DTYPES[t.dtype];
  const numel = t.dims.reduce((a, d) => a * Number(d), 1);
  let bytes;
  if (t.raw) {
    bytes = t.raw;
  } else {
    // The typed field ONNX stores this data type in.
    const f = [1, 10, 2, 3, 4, 5, 6, 9].includes(t.dtype) ? (t.dtype === 1 ? 4 : 5)
      : t.dtype === 7 ? 7 : t.dtype === 11 ? 10 : 11;
    const vals = (t.typed[f] || { vals: [] }).vals;
    bytes = Buffer.alloc(numel * size);
    vals.forEach((v, k) => {
      if (k >= numel) return;
      switch (t.dtype) {
        case 1: bytes.writeFloatLE(v, 4 * k); break;
        case 11: bytes.writeDoubleLE(v, 8 * k); break;
        case 7: bytes.writeBigInt64LE(BigInt.asIntN(64, v), 8 * k); break;
        case 13: bytes.writeBigUInt64LE(BigInt.asUintN(64, v), 8 * k); break;
        case 12: bytes.writeUInt32LE(Number(BigInt.asUintN(32, v)), 4 * k); break;
        default: {
          const n = BigInt.asUintN(64, v);
          for (let j = 0; j < size; j++) bytes[size * k + j] = Number((n >> BigInt(8 * j)) & 0xffn);
        }
      }
    });
  }
  if (bytes.length !== numel * size) {
    throw new InputError(`${where}: ${bytes.length} bytes of data for ${numel} elements of ${DTYPES[t.dtype][0]}`);
  }
  return { name: t.name, dtype: t.dtype, dims: t.dims.map(Number), bytes };
}

function varint(v) {
  const out = [];
  let n = BigInt(v);
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

function encodeTensor(name, dtype, dims, bytes) {
  const parts = [];
  for (const d of dims) parts.push(varint(1 << 3), varint(d));
  parts.push(varint(2 << 3), varint(dtype));
  const nb = Buffer.from(name, 'utf8');
  parts.push(varint(8 << 3 | 2), varint(nb.length), nb);
  parts.push(varint(9 << 3 | 2), varint(bytes.length), bytes);
  return Buffer.concat(parts);
}

// ---- tensors <-> onnxruntime -----------------------------------------------

const ARRAYS = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  int32: Int32Array, int64: BigInt64Array, bool: Uint8Array, float16: Uint16Array, float64: Float64Array,
  uint32: Uint32Array, uint64: BigUint64Array,
};

function toOrt(ort, t) {
  const [type, size] = DTYPES[t.dtype];
  const ab = new ArrayBuffer(t.bytes.length);  // aligned copy
  new Uint8Array(ab).set(t.bytes);
  const data = new ARRAYS[type](ab, 0, t.bytes.length / size);
  return new ort.Tensor(type, data, t.dims);
}

function fromOrt(v) {
  const type = v.type;
  if (!(type in CODE_OF)) throw new InputError(`output of type ${type} is not supported`);
  const d = v.data;
  const bytes = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return { dtype: CODE_OF[type], dims: v.dims.map(Number), bytes: Buffer.from(bytes) };
}

function fileName(name) {
  return name.replace(/\//g, '_') + '.pb';
}

function writeAtomic(file, bytes) {
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

// ---- main ------------------------------------------------------------------

async function main(argv) {
  let model = null, outdir = null, ortDir = process.env.NAASC_ORT_DIR || null;
  let opt = 'all', threads = 1;
  const inputs = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') { process.stdout.write(usage); return 0; }
    else if (a === '-o') outdir = val();
    else if (a === '--ort') ortDir = val();
    else if (a === '--input') {
      const s = val(), eq = s.indexOf('=');
      if (eq <= 0) throw new UsageError(`--input wants NAME=FILE.pb, not '${s}'`);
      inputs.push([s.slice(0, eq), s.slice(eq + 1)]);
    } else if (a === '--opt') {
      opt = val();
      if (!['all', 'extended', 'basic', 'disabled'].includes(opt)) throw new UsageError(`unknown --opt '${opt}'`);
    } else if (a === '--threads') {
      threads = Number(val());
      if (!Number.isInteger(threads) || threads < 1) throw new UsageError('--threads wants a positive integer');
    } else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'`);
    else if (model === null) model = a;
    else throw new UsageError(`unexpected argument '${a}'`);
  }
  if (!model || !outdir) throw new UsageError('a MODEL and -o OUTDIR are required');
  if (!ortDir) throw new UsageError('--ort DIR (or NAASC_ORT_DIR) is required: run scripts/setup-ort.sh');

  let ort;
  try {
    ort = require(path.join(path.resolve(ortDir), 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    process.stdout.write(`SKIP: onnxruntime-node is not installed in ${ortDir} (scripts/setup-ort.sh): ${e.message.split('\n')[0]}\n`);
    return 77;
  }

  const feeds = {};
  for (const [name, file] of inputs) {
    let buf;
    try { buf = fs.readFileSync(file); } catch (e) { throw new InputError(`${file}: ${e.message}`); }
    feeds[name] = toOrt(ort, decodeTensor(buf, file));
  }
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'], graphOptimizationLevel: opt,
      intraOpNumThreads: threads, interOpNumThreads: 1,
    });
  } catch (e) {
    throw new InputError(`${model}: onnxruntime refuses the model: ${e.message}`);
  }
  for (const n of session.inputNames) {
    if (!(n in feeds)) throw new InputError(`${model}: input '${n}' is not bound (--input ${n}=FILE.pb)`);
  }
  for (const n of Object.keys(feeds)) {
    if (!session.inputNames.includes(n)) {
      throw new InputError(`${model}: the model has no input '${n}' (inputs: ${session.inputNames.join(', ')})`);
    }
  }
  const t0 = process.hrtime.bigint();
  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    throw new InputError(`${model}: onnxruntime run failed: ${e.message}`);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.mkdirSync(outdir, { recursive: true });
  for (const name of session.outputNames) {
    const o = fromOrt(results[name]);
    writeAtomic(path.join(outdir, fileName(name)), encodeTensor(name, o.dtype, o.dims, o.bytes));
    process.stdout.write(JSON.stringify({ name, dtype: DTYPES[o.dtype][0], dims: o.dims }) + '\n');
  }
  process.stderr.write(`ort_run: ${path.basename(model)}: run ${ms.toFixed(1)} ms (onnxruntime-node ${ort.env.versions.node}, opt ${opt}, ${threads} thread${threads > 1 ? 's' : ''})\n`);
  await session.release();
  return 0;
}

class UsageError extends Error {}

main(process.argv.slice(2)).then((rc) => { process.exitCode = rc; }, (e) => {
  if (e instanceof UsageError) {
    process.stderr.write(`ort_run: error: ${e.message}\n${usage}`);
    process.exitCode = 2;
  } else if (e instanceof InputError) {
    process.stderr.write(`ort_run: error: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`ort_run: internal error: ${e.stack || e}\n`);
    process.exitCode = 3;
  }
});
