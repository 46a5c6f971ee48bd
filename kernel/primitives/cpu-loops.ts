// CPU implementations shared by the primitive records: elementwise kernels generated from each
// primitive's scalar JS expression (specialised per dtypes and broadcast pattern, compiled once
// with `new Function` and cached), and the scalar helpers those expressions call.
// Generated JS beats a closure per element by about 10x in V8, because the expression is
// inlined into a monomorphic loop over typed arrays.

import { ShapedArray } from "../core/aval";
import { DType, Storage, finfoOrIinfo } from "../core/dtype";
import { bf16DecodeTable, f16DecodeTable, numberToBF16, numberToF16 } from "../core/float16";
import { CpuImpl, ElementwiseRule, HostArray } from "../core/primitive";
import { debugLog } from "../core/debug";
import { stridesOf } from "../core/shape";
import { expf32, expm1f32, log1pf32, logf32, logisticf32, tanhf32 } from "./f32-math-js";

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Scalar helpers available as `H.name` inside elementwise expressions. */
export const H = {
  f16enc: numberToF16,
  bf16enc: numberToBF16,
  // float32 transcendental functions (f32-math.ts, rendered by f32-math-js.ts): the float32
  // rules of exp, log, log1p, expm1, tanh and logistic call these.
  expf32,
  logf32,
  log1pf32,
  expm1f32,
  tanhf32,
  logisticf32,
  /** Round half to even (lax.round with ROUND_TO_NEAREST_EVEN, np.round). */
  roundEven(x: number): number {
    if (!isFinite(x)) return x;
    const r = Math.round(x);
    return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r === 0 && x < 0 ? -0 : r;
  },
  /** Round half away from zero (lax.round's default). */
  roundAway(x: number): number {
    if (!isFinite(x)) return x;
    const r = Math.sign(x) * Math.round(Math.abs(x));
    return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
  },
  /** C pow semantics (XLA): pow(x, 0) = 1 and pow(1, y) = 1 even for NaN; pow(-1, +-inf) = 1. */
  powf(a: number, b: number): number {
    if (b === 0 || a === 1) return 1;
    if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
    return Math.pow(a, b);
  },
  /** Integer power with wrapping multiplication (int32/uint32 via imul; narrower types wrap on store). */
  ipow(a: number, b: number): number {
    if (b < 0) return a === 1 ? 1 : a === -1 ? (b % 2 === 0 ? 1 : -1) : 0;
    let r = 1;
    let base = a;
    while (b > 0) {
      if (b & 1) r = Math.imul(r, base);
      base = Math.imul(base, base);
      b >>>= 1;
    }
    return r;
  },
  /** x**n by repeated squaring with float32 rounding at each step, as XLA's integer_pow does. */
  ipowf32(x: number, n: number): number {
    const neg = n < 0;
    let m = Math.abs(n);
    let acc = 1;
    let base = x;
    let first = true;
    while (m > 0) {
      if (m & 1) {
        acc = first ? base : Math.fround(acc * base);
        first = false;
      }
      m >>>= 1;
      if (m > 0) base = Math.fround(base * base);
    }
    return neg ? Math.fround(1 / acc) : acc;
  },
  /** float -> int conversion as XLA does it: truncate, NaN -> 0, saturate at the type's range. */
  f2i(x: number, lo: number, hi: number): number {
    if (x !== x) return 0;
    const t = Math.trunc(x);
    return t < lo ? lo : t > hi ? hi : t;
  },
  /** The next representable value of `dtype` after a, in the direction of b. */
  nextafter(a: number, b: number, dtype: "float32" | "float16" | "bfloat16"): number {
    if (a !== a || b !== b) return NaN;
    if (a === b) return b;
    if (dtype !== "float32") {
      // 16-bit floats: step the bit pattern (sign-magnitude, so away from zero is +1).
      const enc = dtype === "float16" ? numberToF16 : numberToBF16;
      const dec = dtype === "float16" ? f16DecodeTable() : bf16DecodeTable();
      if (a === 0) return dec[b > 0 ? 1 : 0x8001];
      const bits = enc(a);
      return dec[a < b === a > 0 ? bits + 1 : bits - 1];
    }
    if (a === 0) return b > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
    f32buf[0] = a;
    if (a < b === a > 0) u32buf[0]++;
    else u32buf[0]--;
    return f32buf[0];
  },
  /** Error function (Abramowitz-Stegun 7.1.26 is too coarse; this is W. J. Cody's rational erf). */
  erf(x: number): number {
    return erfImpl(x);
  },
  erfc(x: number): number {
    return 1 - erfImpl(x);
  },
  /** Inverse error function, float32 Giles approximation as XLA computes it (jax-reference.md 1.8). */
  erfInv32(x: number): number {
    const F = Math.fround;
    x = F(x);
    if (Math.abs(x) === 1) return x * Infinity;
    const w = F(-F(Math.log1p(F(-F(x * x)))));
    let p: number;
    if (w < 5) {
      const t = F(w - 2.5);
      p = 2.81022636e-8;
      for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941])
        p = F(F(c) + p * t); // XLA fuses this into one FMA: p * t is exact in float64
    } else {
      const t = F(F(Math.sqrt(w)) - 3);
      p = -0.000200214257;
      for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682])
        p = F(F(c) + p * t); // XLA fuses this into one FMA: p * t is exact in float64
    }
    return F(p * x);
  },
  /** Logistic sigmoid, stable for large |x|. */
  logistic(x: number): number {
    return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  },
  lgamma(x: number): number {
    return lgammaImpl(x);
  },
  /** digamma(x) = d lgamma(x)/dx: recurrence up to x >= 6, then the asymptotic series; reflection below 0. */
  digamma(x: number): number {
    if (x !== x || x === -Infinity) return NaN;
    if (x <= 0 && Math.floor(x) === x) return NaN;
    let r = 0;
    if (x < 0) {
      // psi(1 - x) - psi(x) = pi cot(pi x)
      r = -Math.PI / Math.tan(Math.PI * x);
      x = 1 - x;
    }
    while (x < 6) {
      r -= 1 / x;
      x += 1;
    }
    const f = 1 / (x * x);
    return r + Math.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))));
  },
  sign(x: number): number {
    return x !== x ? NaN : x > 0 ? 1 : x < 0 ? -1 : x;
  },
};

// erf via the relation to the regularised incomplete gamma function would need more code; this
// uses the high-precision series / continued fraction split (|err| < 1e-15 in float64).
function erfImpl(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // Continued fraction for erfc (Lentz), accurate for x >= 2.5.
  let f = ax;
  let C = ax;
  let D = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    D = ax + an * D;
    D = 1 / D;
    C = ax + an / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
}

// Lanczos approximation (g=7, n=9), with the reflection formula for x < 0.5.
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
function lgammaImpl(x: number): number {
  if (x !== x) return NaN;
  if (x === Infinity || x === -Infinity) return Infinity;
  if (x < 0.5) {
    const s = Math.sin(Math.PI * x);
    if (s === 0) return Infinity;
    return Math.log(Math.PI / Math.abs(s)) - lgammaImpl(1 - x);
  }
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The JS expression that stores a computed value into storage of `d`. */
function encodeExpr(d: DType, v: string): string {
  if (d.name === "float16") return `H.f16enc(${v})`;
  if (d.name === "bfloat16") return `H.bf16enc(${v})`;
  return v;
}

type Kernel = (out: Storage, ins: Storage[], shape: readonly number[], strides: number[][], T16: Float32Array, TB16: Float32Array) => void;
const kernelCache = new Map<string, Kernel>();

function buildKernel(rule: ElementwiseRule<any>, inDtypes: DType[], outDtype: DType, params: unknown, pattern: string): Kernel {
  const n = inDtypes.length;
  const names = inDtypes.map((_, i) => `v${i}`);
  const expr = encodeExpr(outDtype, rule.js(names, inDtypes, outDtype, params));
  const decode = (i: number, idx: string): string => {
    const d = inDtypes[i];
    const raw = `a${i}[${idx}]`;
    return d.name === "float16" ? `T16[${raw}]` : d.name === "bfloat16" ? `TB16[${raw}]` : raw;
  };
  const head = [
    ...Array.from({ length: n }, (_, i) => `const a${i} = ins[${i}];`),
    `const rank = shape.length; let total = 1; for (let d = 0; d < rank; d++) total *= shape[d];`,
  ];
  let body: string;
  if (!pattern.includes("b")) {
    // Every operand is either full-size (same index as the output) or a single element.
    const loads = names.map((v, i) => (pattern[i] === "s" ? `const ${v} = ${decode(i, "0")};` : "")).join(" ");
    const inner = names.map((v, i) => (pattern[i] === "f" ? `const ${v} = ${decode(i, "i")};` : "")).join(" ");
    body = `${loads}\nfor (let i = 0; i < total; i++) { ${inner} out[i] = ${expr}; }`;
  } else {
    // General broadcasting: odometer over all but the last axis, tight loop over the last.
    body = `
if (total === 0) return;
const inner = rank === 0 ? 1 : shape[rank - 1];
const idx = new Int32Array(Math.max(rank - 1, 0));
${names.map((_, i) => `const s${i} = strides[${i}]; const st${i} = rank === 0 ? 0 : s${i}[rank - 1];`).join("\n")}
for (let o = 0; o < total; o += inner) {
  ${names.map((_, i) => `let b${i} = 0;`).join(" ")}
  for (let d = 0; d < rank - 1; d++) { const k = idx[d]; ${names.map((_, i) => `b${i} += k * s${i}[d];`).join(" ")} }
  for (let j = 0; j < inner; j++) {
    ${names.map((v, i) => `const ${v} = ${decode(i, `b${i} + j * st${i}`)};`).join(" ")}
    out[o + j] = ${expr};
  }
  for (let d = rank - 2; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
}`;
  }
  const source = `return function kernel(out, ins, shape, strides, T16, TB16) {\n${head.join("\n")}\n${body}\n};`;
  debugLog(3, "kernel", `cpu elementwise kernel (${inDtypes.join(", ")} -> ${outDtype}, pattern ${pattern}):\n${source}`);
  const make = new Function("H", source);
  return make(H) as Kernel;
}

/** Strides of an operand broadcast to `outShape` (0 along broadcast axes). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const s = stridesOf(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((d, i) => (i < off || inShape[i - off] !== d ? 0 : s[i - off]));
}

/** A CPU implementation for an elementwise primitive, from its scalar rule. */
export function elementwiseCpu<P>(name: string, rule: ElementwiseRule<P>): CpuImpl<P> {
  return (inputs: HostArray[], params: P, outAvals: ShapedArray[]): Storage[] => {
    const outAval = outAvals[0];
    const outShape = outAval.shape;
    const total = outAval.size;
    const pattern = inputs
      .map((x) => (x.data.length === total && x.shape.length === outShape.length ? "f" : x.data.length === 1 ? "s" : "b"))
      .join("");
    const key = `${name}|${inputs.map((x) => x.dtype.name).join(",")}|${outAval.dtype.name}|${JSON.stringify(params)}|${pattern}`;
    let k = kernelCache.get(key);
    if (!k) {
      k = buildKernel(rule, inputs.map((x) => x.dtype), outAval.dtype, params, pattern);
      kernelCache.set(key, k);
    }
    const out = new outAval.dtype.storage(total);
    const strides = pattern.includes("b") ? inputs.map((x) => broadcastStrides(x.shape, outShape)) : [];
    k(out, inputs.map((x) => x.data), outShape, strides, f16DecodeTable(), bf16DecodeTable());
    return [out];
  };
}

/** Integer range of a dtype, for saturating conversions inside expressions. */
export function intRange(d: DType): [number, number] {
  const { min, max } = finfoOrIinfo(d);
  return [min, max];
}

/** Reads element `i` of host storage as a number (decoding f16/bf16). */
export function readElement(x: HostArray, i: number): number {
  const v = x.data[i];
  if (x.dtype.name === "float16") return f16DecodeTable()[v];
  if (x.dtype.name === "bfloat16") return bf16DecodeTable()[v];
  return v;
}

/** Writes a number into element `i` of storage of dtype `d` (encoding f16/bf16). */
export function writeElement(out: Storage, d: DType, i: number, v: number): void {
  out[i] = d.name === "float16" ? numberToF16(v) : d.name === "bfloat16" ? numberToBF16(v) : v;
}

/** Decodes whole host storage to numbers in a Float64Array (for reductions and contractions). */
export function toFloat64(x: HostArray): Float64Array {
  const out = new Float64Array(x.data.length);
  if (x.dtype.name === "float16" || x.dtype.name === "bfloat16") {
    const t = x.dtype.name === "float16" ? f16DecodeTable() : bf16DecodeTable();
    for (let i = 0; i < out.length; i++) out[i] = t[x.data[i]];
  } else out.set(x.data);
  return out;
}

/** Encodes numbers into new storage of dtype `d` (rounding/wrapping as the dtype does). */
export function fromNumbers(values: ArrayLike<number>, d: DType): Storage {
  const out = new d.storage(values.length);
  if (d.name === "float16") for (let i = 0; i < values.length; i++) out[i] = numberToF16(values[i]);
  else if (d.name === "bfloat16") for (let i = 0; i < values.length; i++) out[i] = numberToBF16(values[i]);
  else if (d.isBool) for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
  else out.set(values as ArrayLike<number>);
  return out;
}
