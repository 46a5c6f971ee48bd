// The float32 transcendental functions (kernel/primitives/f32-math.ts, rendered to JS by
// f32-math-js.ts) and their use by the float32 rules of exp, log, log1p, expm1, tanh, logistic.
//
// References, never the library's own earlier output:
// - float64 Math.exp/log/log1p/expm1/tanh (and float64 1/(1+exp(-x))) on the float32 input:
//   accurate to about 1 float64 ulp, so rounding them gives the correctly rounded float32 result
//   (the error is measured in float32 ulps against the float64 value itself, and as the distance
//   in representable floats to its float32 rounding).
// - IEEE 754 / C99 Annex F special values (exp(-inf) = 0, log(0) = -inf, tanh(-0) = -0, ...) and
//   float32 limits (FLT_MAX = 2^128 - 2^104, FLT_MIN = 2^-126, the smallest subnormal 2^-149).
// - An independent evaluation of every algorithm: F32Ops implemented here as an interpreter over
//   numbers (Math.fround per operation, DataView for the bit casts, its own ties-to-even), which
//   must give the rendered JS's bits exactly. That is the contract the WebAssembly renderer
//   (kernel/backends/cpu/codegen-wasm.ts) relies on: any renderer that implements each operation
//   as IEEE float32 / int32 arithmetic computes the same bits.
import { describe, expect, it } from "vitest";
import { jit, nn, np, NDArray } from "../../kernel/index";
import { F32Algorithm, F32Ops, F32_MATH } from "../../kernel/primitives/f32-math";
import { F32_MATH_JS, F32_MATH_JS_SOURCE, compileF32Js, f32HelperName, renderF32Js } from "../../kernel/primitives/f32-math-js";
import { H } from "../../kernel/primitives/cpu-loops";
import { onCompile } from "../../kernel/lower/inspect";

const fr = Math.fround;
const NAMES = ["exp", "log", "log1p", "expm1", "tanh", "logistic"] as const;

/** float64 references. */
const REF: Record<string, (x: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  tanh: Math.tanh,
  logistic: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
};

const bitsBuf = new DataView(new ArrayBuffer(4));
function fromBits(b: number): number {
  bitsBuf.setUint32(0, b >>> 0);
  return bitsBuf.getFloat32(0);
}
/** Position of a float32 on the number line in representable steps (-0 and +0 both 0). */
function ordinal(v: number): number {
  bitsBuf.setFloat32(0, v);
  const i = bitsBuf.getInt32(0);
  return i >= 0 ? i : -(i & 0x7fffffff);
}
/** The spacing of float32 values at |y| (2^-149 in the subnormal range), from y's exponent bits. */
const f64 = new DataView(new ArrayBuffer(8));
const POW2 = Array.from({ length: 400 }, (_, i) => 2 ** (i - 200));
function ulp32(y: number): number {
  f64.setFloat64(0, y);
  const e = ((f64.getUint32(0) >>> 20) & 0x7ff) - 1023;
  return POW2[Math.max(e, -126) - 23 + 200];
}

interface UlpStats {
  points: number;
  /** Largest distance in representable floats to the correctly rounded result. */
  maxSteps: number;
  /** Largest |got - exact| in float32 ulps of the exact value. */
  maxUlp: number;
  worst: number;
  problems: string[];
}

/** Compares f with the float64 reference on the given inputs. */
function measure(name: string, f: (x: number) => number, inputs: Iterable<number>): UlpStats {
  const ref = REF[name];
  const s: UlpStats = { points: 0, maxSteps: 0, maxUlp: 0, worst: NaN, problems: [] };
  for (const x of inputs) {
    s.points++;
    const got = f(x);
    const exact = ref(x);
    const want = fr(exact);
    if (Number.isNaN(want) || !Number.isFinite(want) || want === 0) {
      // NaN, overflow and underflow to zero must match exactly (with the sign of zero).
      if (!Object.is(got, want) && s.problems.length < 5) s.problems.push(`${name}(${x}) = ${got}, want ${want}`);
      continue;
    }
    if (got !== fr(got) && s.problems.length < 5) s.problems.push(`${name}(${x}) = ${got} is not a float32`);
    const steps = Math.abs(ordinal(got) - ordinal(want));
    if (steps > s.maxSteps) s.maxSteps = steps;
    const u = Math.abs(got - exact) / ulp32(exact);
    if (u > s.maxUlp) {
      s.maxUlp = u;
      s.worst = x;
    }
  }
  return s;
}

/** Every `step`-th float32 bit pattern (both signs), NaNs left out. */
function* sweep(step: number, from = 0, to = 2 ** 32): Generator<number> {
  for (let b = from; b < to; b += step) {
    const x = fromBits(b);
    if (!Number.isNaN(x)) yield x;
  }
}
/** Every float32 within `n` representable steps of each of `centers`. */
function* around(centers: number[], n: number): Generator<number> {
  for (const c of centers) {
    bitsBuf.setFloat32(0, c);
    const b = bitsBuf.getUint32(0);
    for (let d = -n; d <= n; d++) yield fromBits((b + d) >>> 0);
  }
}

// Branch points of the algorithms (and their negatives): range-reduction switches, polynomial
// intervals, clamps, the overflow / underflow / subnormal thresholds.
const EDGES: Record<string, number[]> = {
  exp: [0, 0.34657359, -0.34657359, 1, 88.3762626, 88.7228391, -87.3365448, -103.2789, -103.972, 2 ** -24],
  log: [1, 0.70710678, 1.41421356, 2 ** -126, 2 ** -149, 2, 0.5, 3.4028235e38],
  log1p: [0, 2 ** -24, -(2 ** -24), 1, -0.29289322, 0.41421356, -1 + 2 ** -24, -0.5, 2 ** 24],
  expm1: [0, 0.693147, -0.693147, 1.0397208, -1.0397208, 17.3286795, -17.3286795, 16.6355, 88.3762626, 88.7228391, 2 ** -24],
  tanh: [0, 0.625, -0.625, 9.01, -9.01, 20, 2 ** -12],
  logistic: [0, 16, -16, -87, -87.3365448, -103.2789, -103.972, 11.5, 17.33, 2 ** -24],
};

describe("float32 math: accuracy against float64 (in float32 ulps)", () => {
  // Measured over every 11th bit pattern (389 million points each; too slow for the suite):
  // max error in ulps of the exact value exp 0.994, log 0.842, log1p 0.862, expm1 1.385,
  // tanh 1.207, logistic 1.429; at most 1 representable step from the correctly rounded result.
  const LIMIT: Record<string, number> = { exp: 1.05, log: 0.9, log1p: 0.9, expm1: 1.45, tanh: 1.3, logistic: 1.5 };
  for (const name of NAMES) {
    it(`${name}: every 2053rd bit pattern and every float within 2^11 steps of its branch points`, () => {
      const f = F32_MATH_JS[name];
      const edges = EDGES[name].flatMap((c) => [fr(c), fr(-c)]);
      const s = measure(name, f, [...sweep(2053), ...around(edges, 2048)]);
      expect(s.problems).toEqual([]);
      expect(s.points).toBeGreaterThan(2_000_000);
      expect(s.maxSteps, `${name}: worst at x = ${s.worst}`).toBeLessThanOrEqual(1);
      expect(s.maxUlp, `${name}: worst at x = ${s.worst}`).toBeLessThanOrEqual(LIMIT[name]);
    });
  }

  it("exp and logistic round subnormal results correctly (every float in [-104, -87])", () => {
    const lo = fr(-104);
    bitsBuf.setFloat32(0, -87);
    const from = bitsBuf.getUint32(0);
    bitsBuf.setFloat32(0, lo);
    const to = bitsBuf.getUint32(0);
    for (const name of ["exp", "logistic"]) {
      const s = measure(name, F32_MATH_JS[name], sweep(1, from, to + 1));
      expect(s.problems).toEqual([]);
      expect(s.maxSteps, `${name}: worst at x = ${s.worst}`).toBeLessThanOrEqual(1);
    }
  });

  it("log of every 7th subnormal (scaled by 2^25 before the reduction)", () => {
    const s = measure("log", F32_MATH_JS.log, sweep(7, 1, 0x00800000));
    expect(s.problems).toEqual([]);
    expect(s.maxSteps).toBeLessThanOrEqual(1);
    expect(s.maxUlp).toBeLessThanOrEqual(0.9);
  });
});

describe("float32 math: special values", () => {
  const MAX = fr(3.4028234663852886e38);
  const MIN_NORMAL = 2 ** -126;
  const MIN_SUB = 2 ** -149;
  const cases: [string, number, number][] = [
    // exp: limits, overflow at the first float above ln(FLT_MAX) = 88.72283911, underflow.
    ["exp", NaN, NaN], ["exp", -Infinity, 0], ["exp", Infinity, Infinity], ["exp", 0, 1], ["exp", -0, 1],
    ["exp", 88.72283172607421875, fr(Math.exp(88.72283172607421875))], ["exp", 88.72283935546875, Infinity],
    ["exp", 1000, Infinity], ["exp", -1000, 0], ["exp", -104, 0], ["exp", -103.97207641601562, MIN_SUB],
    ["exp", -87.33654022216797, fr(Math.exp(-87.33654022216797))], ["exp", MIN_SUB, 1], ["exp", -MIN_SUB, 1],
    // log
    ["log", NaN, NaN], ["log", 0, -Infinity], ["log", -0, -Infinity], ["log", -1, NaN], ["log", -MIN_SUB, NaN],
    ["log", -Infinity, NaN], ["log", Infinity, Infinity], ["log", 1, 0], ["log", MAX, fr(Math.log(MAX))],
    ["log", MIN_SUB, fr(-149 * Math.LN2)], ["log", MIN_NORMAL, fr(-126 * Math.LN2)], ["log", 2 ** -140, fr(-140 * Math.LN2)],
    // log1p
    ["log1p", NaN, NaN], ["log1p", -1, -Infinity], ["log1p", -1.5, NaN], ["log1p", -Infinity, NaN],
    ["log1p", Infinity, Infinity], ["log1p", 0, 0], ["log1p", -0, -0], ["log1p", MIN_SUB, MIN_SUB],
    ["log1p", -MIN_SUB, -MIN_SUB], ["log1p", 1e-30, fr(1e-30)], ["log1p", -1e-10, fr(-1e-10)], ["log1p", MAX, fr(Math.log(MAX))],
    // expm1
    ["expm1", NaN, NaN], ["expm1", 0, 0], ["expm1", -0, -0], ["expm1", MIN_SUB, MIN_SUB], ["expm1", -MIN_SUB, -MIN_SUB],
    ["expm1", 1e-30, fr(1e-30)], ["expm1", -1e-10, fr(-1e-10)], ["expm1", -Infinity, -1], ["expm1", -20, -1],
    ["expm1", -17, fr(Math.expm1(-17))], ["expm1", Infinity, Infinity], ["expm1", 88.72283935546875, Infinity],
    ["expm1", 88.72283172607421875, fr(Math.expm1(88.72283172607421875))], ["expm1", 88.5, fr(Math.expm1(88.5))],
    // tanh
    ["tanh", NaN, NaN], ["tanh", 0, 0], ["tanh", -0, -0], ["tanh", Infinity, 1], ["tanh", -Infinity, -1],
    ["tanh", 10, 1], ["tanh", -50, -1], ["tanh", 1e-20, fr(1e-20)], ["tanh", -MIN_SUB, -MIN_SUB], ["tanh", 2 ** -13, 2 ** -13],
    // logistic
    ["logistic", NaN, NaN], ["logistic", Infinity, 1], ["logistic", -Infinity, 0], ["logistic", 0, 0.5],
    ["logistic", -0, 0.5], ["logistic", 20, 1], ["logistic", -100, fr(Math.exp(-100))],
    ["logistic", -103.5, fr(Math.exp(-103.5))], ["logistic", -105, 0], ["logistic", -88, fr(Math.exp(-88))],
    ["logistic", -30, fr(Math.exp(-30) / (1 + Math.exp(-30)))],
  ];
  for (const [name, x, want] of cases) {
    it(`${name}(${Object.is(x, -0) ? "-0" : x}) = ${Object.is(want, -0) ? "-0" : want}`, () => {
      expect(Object.is(F32_MATH_JS[name](fr(x)), want)).toBe(true);
    });
  }
  it("the subnormal results above are subnormal (the cases test the range they claim to)", () => {
    expect(F32_MATH_JS.logistic(-100)).toBeLessThan(MIN_NORMAL);
    expect(F32_MATH_JS.logistic(-100)).toBeGreaterThan(0);
    expect(F32_MATH_JS.exp(-100)).toBeLessThan(MIN_NORMAL);
    expect(F32_MATH_JS.exp(-100)).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// An independent F32Ops: evaluates each operation at once, on numbers. It also checks the
// contract the algorithms promise the renderers (ints are int32, toInt never sees NaN or an
// out-of-range value, shift counts in [0, 31]).

/** IEEE roundTiesToEven, by floor and the fraction (not Math.round). */
function tiesToEven(a: number): number {
  if (!Number.isFinite(a) || Math.abs(a) >= 2 ** 23) return a;
  const f = Math.floor(a);
  const d = a - f;
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 && (a < 0 || Object.is(a, -0)) ? -0 : r;
}

const cast = new DataView(new ArrayBuffer(4));
function int32(a: number, what: string): number {
  if (!Number.isInteger(a) || a !== (a | 0)) throw new Error(`${what}: not an int32, got ${a}`);
  return a;
}
function shift(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 31) throw new Error(`shift count out of range, got ${n}`);
  return n;
}
const interp: F32Ops<number, number, boolean> = {
  f: (c) => fr(c),
  i: (c) => int32(c | 0, "i"),
  add: (a, b) => fr(a + b),
  sub: (a, b) => fr(a - b),
  mul: (a, b) => fr(a * b),
  div: (a, b) => fr(a / b),
  neg: (a) => -a,
  abs: (a) => Math.abs(a),
  sqrt: (a) => fr(Math.sqrt(a)),
  floor: (a) => Math.floor(a),
  nearest: tiesToEven,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  and: (a, b) => a && b,
  or: (a, b) => a || b,
  select: (m, a, b) => (m ? a : b),
  toInt: (a) => {
    if (!(a > -2147483649 && a < 2147483648)) throw new Error(`toInt: outside int32 range, got ${a}`);
    return Math.trunc(a) | 0;
  },
  toFloat: (a) => fr(int32(a, "toFloat")),
  bitsOf: (a) => (cast.setFloat32(0, a), cast.getInt32(0)),
  fromBits: (a) => (cast.setInt32(0, int32(a, "fromBits")), cast.getFloat32(0)),
  iadd: (a, b) => (int32(a, "iadd") + int32(b, "iadd")) | 0,
  isub: (a, b) => (int32(a, "isub") - int32(b, "isub")) | 0,
  iand: (a, b) => int32(a, "iand") & int32(b, "iand"),
  ior: (a, b) => int32(a, "ior") | int32(b, "ior"),
  ishl: (a, n) => int32(a, "ishl") << shift(n),
  ishr: (a, n) => int32(a, "ishr") >> shift(n),
  ishru: (a, n) => (int32(a, "ishru") >>> shift(n)) | 0,
};
const interpret = (alg: F32Algorithm) => (x: number) => alg(interp, fr(x));

/** Interesting float32 inputs: specials, extremes, subnormals, ties, and a coarse sweep. */
function probeInputs(step: number): number[] {
  const xs = [NaN, Infinity, -Infinity, 0, -0, 2 ** -149, -(2 ** -149), 2 ** -126, fr(3.4028234663852886e38), -fr(3.4028234663852886e38)];
  for (let k = -8; k <= 8; k++) xs.push(k + 0.5, k + 0.25, -k - 0.75);
  xs.push(2 ** 23 - 0.5, -(2 ** 23) + 0.5, 2 ** 23 + 1, 2 ** 24 + 2, 16777217, 2147483520, -2147483648);
  for (const e of Object.values(EDGES)) for (const c of e) xs.push(fr(c), fr(-c));
  for (const x of sweep(step)) xs.push(x);
  return xs.map(fr);
}

describe("float32 math: the rendered JS computes what an independent F32Ops interpreter does", () => {
  for (const name of NAMES) {
    it(`${name}: identical bits on every 8209th pattern, specials and branch points`, () => {
      const alg = F32_MATH[name];
      const ref = interpret(alg);
      const js = F32_MATH_JS[name];
      const diffs: string[] = [];
      const inputs = [...probeInputs(8209), ...around(EDGES[name].flatMap((c) => [fr(c), fr(-c)]), 64)];
      for (const x of inputs) {
        const a = js(x);
        const b = ref(x);
        if (!Object.is(a, b) && diffs.length < 5) diffs.push(`x = ${x}: rendered ${a}, interpreted ${b}`);
      }
      expect(inputs.length).toBeGreaterThan(520_000);
      expect(diffs).toEqual([]);
    });
  }

  // Each operation alone (after the algorithms, which only use some of them, some ways).
  const single: Record<string, F32Algorithm> = {
    nearest: (o, x) => o.nearest(x),
    floor: (o, x) => o.floor(x),
    sqrt: (o, x) => o.sqrt(x),
    abs: (o, x) => o.abs(x),
    neg: (o, x) => o.neg(x),
    add: (o, x) => o.add(x, o.f(0.1)),
    sub: (o, x) => o.sub(o.f(1e-8), x),
    mul: (o, x) => o.mul(x, o.f(1.0000001)),
    div: (o, x) => o.div(o.f(3), x),
    compare: (o, x) => {
      const one = o.f(1);
      const pick = (m: unknown, k: number) => o.select(m as never, o.f(k), o.f(0));
      const parts = [o.lt(x, one), o.le(x, one), o.gt(x, one), o.ge(x, one), o.eq(x, one), o.ne(x, one), o.and(o.gt(x, o.f(0)), o.lt(x, one)), o.or(o.lt(x, o.f(0)), o.gt(x, one))];
      return parts.reduce((acc, m, k) => o.add(acc, pick(m, 2 ** k)), o.f(0));
    },
    // toInt (truncation) on a clamped value, toFloat rounding ints above 2^24 to even.
    toIntToFloat: (o, x) => {
      const c = o.select(o.ge(x, o.f(-1e9)), o.select(o.le(x, o.f(1e9)), x, o.f(1e9)), o.f(-1e9));
      return o.toFloat(o.iadd(o.ishl(o.toInt(c), 1), o.i(16777217)));
    },
    intBits: (o, x) => {
      const b = o.bitsOf(x);
      const mixed = o.ior(o.iand(o.ishru(b, 3), o.i(0x0f0f0f0f)), o.ishl(o.ishr(b, 29), 27));
      return o.fromBits(o.isub(o.iadd(mixed, o.i(0x7fffffff)), o.i(-5)));
    },
  };
  for (const [op, alg] of Object.entries(single)) {
    it(`operation ${op}`, () => {
      const js = compileF32Js({ probe: renderF32Js("probef32", alg) }).probe;
      const ref = interpret(alg);
      const diffs: string[] = [];
      for (const x of probeInputs(1048583)) {
        const a = js(x);
        const b = ref(x);
        if (!Object.is(a, b) && diffs.length < 5) diffs.push(`x = ${x}: rendered ${a}, interpreted ${b}`);
      }
      expect(diffs).toEqual([]);
    });
  }

  it("ties-to-even: rne agrees with the definition on ties and near-ties", () => {
    const nearest = compileF32Js({ n: renderF32Js("nf32", (o, x) => o.nearest(x)) }).n;
    const want: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [-2.5, -2], [-0.25, -0], [0.49999997, 0], [8388607.5, 8388608], [-8388606.5, -8388606], [3.5, 4]];
    for (const [x, r] of want) expect(Object.is(nearest(fr(x)), r), `nearest(${x})`).toBe(true);
  });
});

describe("float32 math: rendering", () => {
  it("each algorithm renders as straight-line `const` statements, without float64 transcendentals", () => {
    for (const name of NAMES) {
      const src = F32_MATH_JS_SOURCE[name];
      const body = src.split("\n").slice(2, -2);
      expect(body.length).toBeGreaterThan(20);
      for (const line of body) expect(line).toMatch(/^ {2}const t\d+ = [^;]+;$/);
      expect(src).not.toMatch(/Math\.(exp|log|tanh|pow|expm1|log1p)|\bif\b|\bfor\b|\bwhile\b/);
    }
  });

  it("every F32_MATH algorithm has an H helper, and the float32 rules call it", () => {
    for (const name of Object.keys(F32_MATH)) expect((H as unknown as Record<string, unknown>)[f32HelperName(name)]).toBe(F32_MATH_JS[name]);
    expect(f32HelperName("erf_inv")).toBe("erfInvf32");
  });
});

describe("float32 math: the primitives use it", () => {
  const xs = [-120, -90, -20, -3.3, -1, -0.5, -1e-6, -0, 0, 1e-7, 0.3, 0.7, 1, 2.5, 10, 60, 89, 100, Infinity, -Infinity, NaN, 2 ** -140];
  const api: Record<string, (x: NDArray) => NDArray> = {
    exp: np.exp,
    log: np.log,
    log1p: np.log1p,
    expm1: np.expm1,
    tanh: np.tanh,
    logistic: nn.sigmoid, // lax.logistic
  };

  for (const name of NAMES) {
    it(`eager ${name} on float32 equals the helper bit for bit; float16 / bfloat16 round float64 Math once`, () => {
      const x32 = np.array(xs, { dtype: "float32" });
      const got = api[name](x32).tolist() as number[];
      got.forEach((g, i) => expect(Object.is(g, F32_MATH_JS[name](fr(xs[i]))), `${name}(${xs[i]}) = ${g}`).toBe(true));
      for (const dtype of ["float16", "bfloat16"] as const) {
        const x = np.array(xs, { dtype });
        const inputs = x.tolist() as number[];
        const want = np.array(inputs.map(REF[name]), { dtype }).tolist() as number[];
        const got16 = api[name](x).tolist() as number[];
        got16.forEach((g, i) => expect(Object.is(g, want[i]), `${name} ${dtype} (${inputs[i]}) = ${g}, want ${want[i]}`).toBe(true));
      }
    });
  }

  it("jit-compiled float32 kernels call the helpers and agree with eager bit for bit", () => {
    const sources: string[] = [];
    const off = onCompile((r) => r.kernels.forEach((k) => k.source && sources.push(k.source)));
    try {
      const f = jit((x: NDArray) => np.add(np.tanh(np.multiply(x, 2)), np.log1p(np.exp(x))));
      const x = np.array(xs.slice(0, 18), { dtype: "float32" });
      const got = f(x).tolist() as number[];
      const want = xs.slice(0, 18).map((v) => {
        const a = F32_MATH_JS.tanh(fr(v * 2));
        const b = F32_MATH_JS.log1p(F32_MATH_JS.exp(fr(v)));
        return fr(a + b);
      });
      got.forEach((g, i) => expect(Object.is(g, want[i]), `x = ${xs[i]}: ${g} vs ${want[i]}`).toBe(true));
      expect(sources.join("\n")).toMatch(/H\.tanhf32\(/);
      expect(sources.join("\n")).toMatch(/H\.log1pf32\(/);
    } finally {
      off();
    }
  });
});
