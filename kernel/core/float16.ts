// float16 (IEEE binary16) and bfloat16 stored as 16-bit patterns in Uint16Array. Node 20 has no
// Float16Array, so conversions are explicit: decoding goes through a 64K-entry table, encoding
// rounds to nearest-even directly from the JS number (one rounding, as a hardware cast does).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u32of64 = new Uint32Array(f64.buffer);

let f16Table: Float32Array | null = null;
let bf16Table: Float32Array | null = null;

// The two 64K-entry tables are built on first use, which is usually inside a first jit call
// (every JS kernel is handed them), with V8 still interpreting: a 65536-iteration JS loop costs
// 2.5-4 ms there, each. A tiny WebAssembly module fills both in ~0.1 ms (its one loop writes
// the float16 normals' bit patterns and the bfloat16 ones, `h << 16`); the 4096 float16
// zeros/subnormals, infinities and NaNs are then patched in JS. The tables are views of the
// module's memory, which never grows.
const TABLE_WASM = [
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: () -> ()
  0x03, 0x02, 0x01, 0x00, // func 0: type 0
  0x05, 0x03, 0x01, 0x00, 0x08, // memory 0: 8 pages (f16 table at 0, bf16 at 256 KiB)
  0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x66, 0x00, 0x00, // export "m" memory 0, "f" func 0
  0x0a, 0x4a, 0x01, 0x48, 0x01, 0x01, 0x7f, // code: 1 body of 72 bytes, 1 local i32 h
  0x03, 0x40, // loop
  0x20, 0x00, 0x41, 0x02, 0x74, //   h << 2 (address)
  0x20, 0x00, 0x41, 0xff, 0xff, 0x01, 0x71, 0x41, 0x0d, 0x74, 0x41, 0x80, 0x80, 0x80, 0xc0, 0x03, 0x6a, //   ((h & 0x7fff) << 13) + 0x38000000
  0x20, 0x00, 0x41, 0x80, 0x80, 0x02, 0x71, 0x41, 0x10, 0x74, 0x72, //   | (h & 0x8000) << 16
  0x36, 0x02, 0x00, //   i32.store (f16 entry)
  0x20, 0x00, 0x41, 0x02, 0x74, 0x20, 0x00, 0x41, 0x10, 0x74, //   h << 2, h << 16
  0x36, 0x02, 0x80, 0x80, 0x10, //   i32.store offset=262144 (bf16 entry)
  0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x41, 0x80, 0x80, 0x04, 0x49, 0x0d, 0x00, //   h += 1; loop while h < 65536
  0x0b, 0x0b, // end loop, end func
];

/** What is used of the WebAssembly API (the kernel's TS config has no DOM/wasm types). */
interface TableWasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object) => { exports: { f: () => void; m: { buffer: ArrayBuffer } } };
}

/** Both tables from the WebAssembly module, or null where WebAssembly is missing or refuses it. */
function buildTablesWasm(): [Float32Array, Float32Array] | null {
  const wasm = (globalThis as unknown as { WebAssembly?: TableWasmApi }).WebAssembly;
  if (!wasm) return null;
  try {
    const inst = new wasm.Instance(new wasm.Module(new Uint8Array(TABLE_WASM)));
    inst.exports.f();
    const buf = inst.exports.m.buffer;
    const f16 = new Float32Array(buf, 0, 65536);
    const bits = new Uint32Array(buf, 0, 65536);
    for (let hi = 0; hi < 0x10000; hi += 0x8000)
      for (let m = 0; m < 1024; m++) {
        f16[hi | m] = (hi ? -m : m) * 5.960464477539063e-8; // zero and subnormals: m * 2^-24, exact in float32
        bits[hi | 0x7c00 | m] = (hi << 16) | 0x7f800000 | (m << 13) | (m ? 0x00400000 : 0); // inf, or NaN keeping sign and payload
      }
    return [f16, new Float32Array(buf, 262144, 65536)];
  } catch {
    return null;
  }
}

function buildF16Table(): Float32Array {
  // Integer work on the bit patterns only: `2 ** e` per entry cost ~15 ms of a first jit call.
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 31) bits[h] = sign | 0x7f800000 | (mant << 13) | (mant ? 0x00400000 : 0); // inf, or NaN keeping sign and payload
    else if (exp !== 0) bits[h] = sign | ((exp + 112) << 23) | (mant << 13); // rebias 15 -> 127
    else t[h] = (sign ? -mant : mant) * 5.960464477539063e-8; // subnormal: mant * 2^-24, exact in float32
  }
  return t;
}

function buildBf16Table(): Float32Array {
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) bits[h] = h << 16;
  return t;
}

function buildTables(): void {
  const w = buildTablesWasm();
  f16Table = w?.[0] ?? buildF16Table();
  bf16Table = w?.[1] ?? buildBf16Table();
}

/** Decoding table: index a float16 bit pattern, get its value as float32. */
export function f16DecodeTable(): Float32Array {
  if (!f16Table) buildTables();
  return f16Table!;
}

/** Decoding table for bfloat16 bit patterns. */
export function bf16DecodeTable(): Float32Array {
  if (!bf16Table) buildTables();
  return bf16Table!;
}

/** @internal The tables as the JS loops build them (tests compare the fast path with them). */
export function _referenceDecodeTables(): [Float32Array, Float32Array] {
  return [buildF16Table(), buildBf16Table()];
}

/** float16 bits -> number. */
export function f16ToNumber(h: number): number {
  return f16DecodeTable()[h & 0xffff];
}

/** bfloat16 bits -> number. */
export function bf16ToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** number -> float16 bits, round to nearest even, overflow to inf, NaN kept quiet (and its sign kept, as a hardware cast does). */
export function numberToF16(x: number): number {
  if (Number.isNaN(x)) {
    f64[0] = x;
    return u32of64[1] & 0x80000000 ? 0xfe00 : 0x7e00;
  }
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65520 rounds up to inf (max finite is 65504)
  if (a < 2 ** -14) {
    // subnormal range: value = m * 2^-24, m in [0, 1024]
    const m = roundHalfEven(a * 2 ** 24);
    return sign | m; // m == 1024 becomes the smallest normal, which is the right bit pattern
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // guard log2 rounding
  if (2 ** (e + 1) <= a) e += 1;
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e += 1;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** number -> bfloat16 bits: round to float32 first (as XLA computes bf16 in f32), then to nearest even. */
export function numberToBF16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return ((b >>> 16) | 0x40) & 0xffff; // NaN stays NaN
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
