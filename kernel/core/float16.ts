// float16 (IEEE binary16) and bfloat16 stored as 16-bit patterns in Uint16Array. Node 20 has no
// Float16Array, so conversions are explicit: decoding goes through a 64K-entry table, encoding
// rounds to nearest-even directly from the JS number (one rounding, as a hardware cast does).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u32of64 = new Uint32Array(f64.buffer);

let f16Table: Float32Array | null = null;
let bf16Table: Float32Array | null = null;

function buildF16Table(): Float32Array {
  // Integer work on the bit patterns only: this runs once, usually cold (in V8's interpreter),
  // where `2 ** e` per entry cost ~15 ms of a first jit call.
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

/** Decoding table: index a float16 bit pattern, get its value as float32. */
export function f16DecodeTable(): Float32Array {
  return (f16Table ??= buildF16Table());
}

/** Decoding table for bfloat16 bit patterns. */
export function bf16DecodeTable(): Float32Array {
  if (!bf16Table) {
    bf16Table = new Float32Array(65536);
    const bits = new Uint32Array(bf16Table.buffer);
    for (let h = 0; h < 65536; h++) bits[h] = h << 16;
  }
  return bf16Table;
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
