// jax.numpy elementwise functions (kernel/api/ufuncs.ts) and the whole-array comparisons
// (kernel/api/comparisons.ts).
//
// References, never the library's own earlier output:
// - float64 recomputation in plain JS (Math.*) on the float32-rounded inputs, compared at ~1e-6
//   relative: a float32 result correctly rounded from the exact value is within 6e-8.
// - Python's floor division / modulo rules (CPython float_divmod), recomputed here.
// - shared/jax-reference.md §3: integer division by zero, INT_MIN // -1, float x // 0, NaN
//   propagation in maximum/minimum (its documented example).
// - Docstring examples of jax/_src/numpy/ufuncs.py and lax_numpy.py (jnp.floor_divide, divmod,
//   remainder, fmod, power, rint, signbit, isfinite, isinf, right_shift, logical_not, less...,
//   isclose), and NumPy's documented examples (np.clip, np.where, np.fmax, np.fmin, np.round,
//   np.trunc, np.floor, np.ceil, np.nextafter, np.logaddexp).
import { describe, expect, it } from "vitest";
import { np, lax, NDArray, ShapeError, DTypeError } from "../../kernel/index";

const fr = Math.fround;
type Nested = number | boolean | Nested[];

function flat(x: Nested): (number | boolean)[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}
function f32(v: Nested): NDArray {
  return np.array(v as number[], { dtype: "float32" });
}
function sig(x: NDArray): string {
  return `${x.dtype.name}${x.weakType ? " weak" : ""} [${x.shape.join(", ")}]`;
}

/** Elementwise closeness to a float64 reference: NaN matches NaN, infinities must be equal. */
function expectClose(x: NDArray, expected: Nested, rtol = 1e-6, atol = 1e-30): void {
  const a = flat(x.tolist() as Nested) as number[];
  const e = flat(expected) as number[];
  expect(a.length, "size").toBe(e.length);
  a.forEach((v, i) => {
    const want = e[i];
    if (Number.isNaN(want)) expect(v, `element ${i}`).toBeNaN();
    else if (!Number.isFinite(want)) expect(v, `element ${i}`).toBe(want);
    else expect(Math.abs(v - want), `element ${i}: ${v} vs ${want}`).toBeLessThanOrEqual(atol + rtol * Math.abs(want));
  });
}

/** Exact values (NaN matches NaN; the sign of zero is ignored unless `signedZero`). */
function expectValues(x: NDArray, expected: Nested, signedZero = false): void {
  const a = flat(x.tolist() as Nested);
  const e = flat(expected);
  expect(a.length, "size").toBe(e.length);
  a.forEach((v, i) => {
    const want = e[i];
    if (typeof want === "number" && Number.isNaN(want)) expect(v, `element ${i}`).toBeNaN();
    else if (signedZero) expect(Object.is(v, want), `element ${i}: ${String(v)} vs ${String(want)}`).toBe(true);
    else expect(v === 0 ? 0 : v, `element ${i}`).toBe(want === 0 ? 0 : want);
  });
  expect(JSON.stringify(x.shape)).toBe(JSON.stringify(shapeOf(expected)));
}
function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...(x.length ? shapeOf(x[0]) : [])] : [];
}

const map2 = (x: number[][], f: (v: number) => number): number[][] => x.map((r) => r.map(f));

/** A float32 NaN with its sign bit set (JS has no literal for it). */
function negNaN32(): NDArray {
  return lax.bitcastConvertType(np.array([0xffc00000 | 0]), "float32");
}

// ---- unary functions ----

type Unary = (x: NDArray | number) => NDArray;
const UNARY: [string, Unary, (v: number) => number, number[]][] = [
  ["sqrt", np.sqrt, Math.sqrt, [0, 0.25, 2, 3.3, 10, 1e6, -1, Infinity]],
  ["rsqrt", np.rsqrt, (v) => 1 / Math.sqrt(v), [0.25, 2, 10, 1e-3, 0]],
  ["cbrt", np.cbrt, Math.cbrt, [-27, -2, 0, 2, 1e5]],
  ["exp", np.exp, Math.exp, [-10, -1, 0, 0.5, 10, 80, 100, -Infinity]],
  ["exp2", np.exp2, (v) => 2 ** v, [-10, -0.5, 0, 3, 20.5]],
  ["exp10", np.exp10, (v) => 10 ** v, [-2, 0, 1.5, 3]],
  ["expm1", np.expm1, Math.expm1, [-1e-5, 1e-7, 0.5, -3, 5]],
  ["log", np.log, Math.log, [1e-5, 0.5, 1, 2, 1e10, 0, -1]],
  ["log1p", np.log1p, Math.log1p, [-0.5, 1e-7, 0, 3, 1e5, -1]],
  ["log2", np.log2, Math.log2, [0.25, 0.5, 1, 2, 3, 8, 1e6]],
  ["log10", np.log10, Math.log10, [0.01, 0.1, 1, 10, 100, 1000, 7]],
  ["sin", np.sin, Math.sin, [-3, -1, 0, 0.5, 1, 2, 10, 100]],
  ["cos", np.cos, Math.cos, [-3, -1, 0, 0.5, 1, 2, 10, 100]],
  ["tan", np.tan, Math.tan, [-3, -1, 0, 0.5, 1, 2, 10]],
  ["arcsin", np.arcsin, Math.asin, [-1, -0.5, 0, 0.3, 1, 2]],
  ["arccos", np.arccos, Math.acos, [-1, -0.5, 0, 0.3, 1]],
  ["arctan", np.arctan, Math.atan, [-1e3, -1, 0, 0.5, 20]],
  ["sinh", np.sinh, Math.sinh, [-5, -0.1, 0, 1, 3]],
  ["cosh", np.cosh, Math.cosh, [-5, -0.1, 0, 1, 3]],
  ["tanh", np.tanh, Math.tanh, [-20, -1, 0, 0.3, 5]],
  ["arcsinh", np.arcsinh, Math.asinh, [-10, -0.5, 0, 2, 1e4]],
  ["arccosh", np.arccosh, Math.acosh, [1, 1.5, 10, 1e4, 0.5]],
  ["arctanh", np.arctanh, Math.atanh, [-0.99, -0.5, 0, 0.3, 0.9, 1]],
  ["reciprocal", np.reciprocal, (v) => 1 / v, [-4, 0.3, 2, 1e-3]],
  ["square", np.square, (v) => v * v, [-3, 0.5, 5.3, 1e3]],
  ["negative", np.negative, (v) => -v, [-3, 0.5, 5.3]],
  ["abs", np.abs, Math.abs, [-3, 0.5, -5.3, -Infinity]],
];

describe("unary functions on float32, against float64 references", () => {
  for (const [name, f, ref, inputs] of UNARY) {
    it(name, () => {
      const x = f32(inputs);
      const y = f(x);
      expect(sig(y)).toBe(`float32 [${inputs.length}]`);
      // The reference runs on the float32 inputs, then is rounded to float32 (where overflow
      // becomes inf, as a float32 result does).
      expectClose(y, inputs.map((v) => fr(ref(fr(v)))));
    });
  }

  it("keep a [2, 3] shape and accept nested JS lists", () => {
    const x = [[0.5, 1, 2], [3, 4, 5]];
    expectClose(np.exp(x), map2(x, (v) => fr(Math.exp(v))));
    expect(np.exp(x).shape).toEqual([2, 3]);
  });

  it("jnp.square docstring: [3, -2, 5.3, 1] -> [9, 4, 28.090002, 1]", () => {
    expectClose(np.square(f32([3, -2, 5.3, 1])), [9, 4, 28.090002, 1], 1e-7);
  });

  it("integer and bool inputs are promoted to float32 for transcendental functions", () => {
    const i = np.array([0, 1, 2, 4]);
    for (const [name, f, ref] of UNARY.filter(([n]) => ["sqrt", "exp", "log1p", "sin", "cos", "arctan", "tanh", "exp2", "log2"].includes(n))) {
      const y = f(i);
      expect(sig(y), name).toBe("float32 [4]");
      expectClose(y, [0, 1, 2, 4].map((v) => fr(ref(v))));
    }
    expect(sig(np.sqrt(np.array([1, 4], { dtype: "uint8" })))).toBe("float32 [2]");
    expectClose(np.exp(np.array([true, false])), [fr(Math.E), 1]);
    expectClose(np.reciprocal(np.array([2, 4])), [0.5, 0.25]);
    expect(sig(np.reciprocal(np.array([2, 4])))).toBe("float32 [2]");
    // A JS integer is a weak int, so the result is a weak float32 (promote_args_inexact keeps it).
    expect(sig(np.sqrt(4))).toBe("float32 weak []");
    expect(np.sqrt(4).item()).toBe(2);
    // jnp.log docstring: log(exp([2, 3, 4, 5])) -> [2., 3., 4., 5.] float32.
    expectClose(np.log(np.exp(np.array([2, 3, 4, 5]))), [2, 3, 4, 5]);
    // jnp.log2 docstring: [0.25, 0.5, 1, 2, 4, 8] -> [-2, -1, 0, 1, 2, 3].
    expectClose(np.log2([0.25, 0.5, 1, 2, 4, 8]), [-2, -1, 0, 1, 2, 3]);
    // jnp.log10 docstring: [0.01, 0.1, 1, 10, 100, 1000] -> [-2, -1, 0, 1, 2, 3] at 2 decimals.
    expectClose(np.log10([0.01, 0.1, 1, 10, 100, 1000]), [-2, -1, 0, 1, 2, 3], 1e-6, 1e-6);
  });

  it("integer-valued functions on ints keep the dtype; bool is rejected by negative and sign", () => {
    // jnp.absolute docstring: [5, -2, 0, 12] -> int32 [5, 2, 0, 12].
    const a = np.abs(np.array([5, -2, 0, 12]));
    expect(sig(a)).toBe("int32 [4]");
    expectValues(a, [5, 2, 0, 12]);
    expectValues(np.absolute(np.array([[8, -3, 1], [0, 9, -6]])), [[8, 3, 1], [0, 9, 6]]);
    // jnp.negative docstring on uint32: [5, 0, 4294967289] -> [4294967291, 0, 7].
    const u = np.negative(np.array([5, 0, 4294967289], { dtype: "uint32" }));
    expect(sig(u)).toBe("uint32 [3]");
    expectValues(u, [4294967291, 0, 7]);
    // jnp.square docstring on ints: [2, 4, 5, 6] -> int32 [4, 16, 25, 36].
    expectValues(np.square(np.array([2, 4, 5, 6])), [4, 16, 25, 36]);
    expect(sig(np.square(np.array([true, false])))).toBe("int32 [2]");
    // jnp.sign docstring: [0., -3., 7.] -> [0., -1., 1.]; ints stay ints.
    expectValues(np.sign(f32([0, -3, 7])), [0, -1, 1]);
    expectValues(np.sign(f32([NaN])), [NaN]);
    expect(sig(np.sign(np.array([-2, 0, 9])))).toBe("int32 [3]");
    expectValues(np.sign(np.array([-2, 0, 9])), [-1, 0, 1]);
    expect(() => np.negative(np.array([true]))).toThrow(DTypeError);
    expect(() => np.sign(np.array([true]))).toThrow(DTypeError);
    // abs of bool and unsigned is the identity (jnp.absolute).
    expect(sig(np.abs(np.array([true, false])))).toBe("bool [2]");
  });
});

describe("rounding", () => {
  // NumPy docs: a = [-1.7, -1.5, -0.2, 0.2, 1.5, 1.7, 2.0]
  const a = [-1.7, -1.5, -0.2, 0.2, 1.5, 1.7, 2.0];
  it("floor, ceil, trunc (NumPy's documented outputs)", () => {
    expectValues(np.floor(f32(a)), [-2, -2, -1, 0, 1, 1, 2]);
    expectValues(np.ceil(f32(a)), [-1, -1, -0, 1, 2, 2, 2], true);
    expectValues(np.trunc(f32(a)), [-1, -1, -0, 0, 1, 1, 2], true);
    // Integer inputs are returned unchanged.
    for (const f of [np.floor, np.ceil, np.trunc]) {
      const y = f(np.array([3, -4]));
      expect(sig(y)).toBe("int32 [2]");
      expectValues(y, [3, -4]);
    }
  });

  it("round: half to even, with decimals (np.round docs)", () => {
    expectValues(np.round(f32([0.37, 1.64])), [0, 2]);
    expectValues(np.round(f32([0.37, 1.64]), 1), [fr(0.4), fr(1.6)]);
    expectValues(np.round(f32([0.5, 1.5, 2.5, 3.5, 4.5])), [0, 2, 2, 4, 4]);
    expectValues(np.around(f32([-0.5, -1.5, -2.5])), [-0, -2, -2], true);
    expectValues(np.round(f32([1234.5678]), -2), [1200]);
    expectValues(np.round(f32([0.125, 0.135]), 2), [0.12, fr(0.14)].map(fr));
    // Ints are unchanged for decimals >= 0 (np.round([1, 2, 3, 11], decimals=1) -> [1, 2, 3, 11]).
    const i = np.round(np.array([1, 2, 3, 11]), 1);
    expect(sig(i)).toBe("int32 [4]");
    expectValues(i, [1, 2, 3, 11]);
    // jnp.round raises NotImplementedError for integers with decimals < 0.
    expect(() => np.round(np.array([1, 2, 3, 11]), -1)).toThrow(/decimals < 0/);
    // float16 keeps its dtype (computed through float32, as jnp.round does).
    const h = np.round(np.array([1.25, 2.675], { dtype: "float16" }), 1);
    expect(h.dtype).toBe(np.float16);
    // 1.25 * 10 = 12.5 -> 12 -> 1.2 -> nearest f16 1.2001953125; 2.67578125 (f16 of 2.675) -> 2.7 -> 2.69921875.
    expectValues(h, [1.2001953125, 2.69921875]);
    // Method form.
    expectValues(f32([0.37, 1.64]).round(1), [fr(0.4), fr(1.6)]);
  });

  it("rint (jnp.rint docstring): ints become float32; halves go to even", () => {
    const r = np.rint(np.array([5, 4, 7]));
    expect(sig(r)).toBe("float32 [3]");
    expectValues(r, [5, 4, 7]);
    expectValues(np.rint(f32([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5])), [-2, -2, -0, 0, 2, 2, 4, 4], true);
  });
});

// ---- binary functions and broadcasting ----

type Binary = (x: NDArray | number | Nested, y: NDArray | number | Nested) => NDArray;
/** Python's float floor division and modulo (CPython float_divmod), in float64. */
function pyDivmod(a: number, b: number): [number, number] {
  if (b === 0) return [a / b, NaN];
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod) {
    if (b < 0 !== mod < 0) {
      mod += b;
      div -= 1;
    }
  } else mod = b < 0 ? -0 : 0;
  let floordiv: number;
  if (div) {
    floordiv = Math.floor(div);
    if (div - floordiv > 0.5) floordiv += 1;
  } else floordiv = a / b < 0 || Object.is(a / b, -0) ? -0 : 0;
  return [floordiv, mod];
}
/** C pow as XLA and NumPy define it: pow(x, 0) = 1 and pow(1, y) = 1, even for NaN. */
function cPow(a: number, b: number): number {
  if (b === 0 || a === 1) return 1;
  return Math.pow(a, b);
}
function logaddexpRef(a: number, b: number): number {
  if (a === b && !Number.isFinite(a)) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

const X = [[-2.5, 0.5, 3], [7.25, -0.75, 10]];
const BINARY: [string, Binary, (a: number, b: number) => number, number[][]?][] = [
  ["add", np.add, (a, b) => a + b],
  ["subtract", np.subtract, (a, b) => a - b],
  ["multiply", np.multiply, (a, b) => a * b],
  ["divide", np.divide, (a, b) => a / b],
  ["trueDivide", np.trueDivide, (a, b) => a / b],
  ["maximum", np.maximum, Math.max],
  ["minimum", np.minimum, Math.min],
  ["fmax", np.fmax, Math.max],
  ["fmin", np.fmin, Math.min],
  ["arctan2", np.arctan2, Math.atan2],
  ["power", np.power, cPow, [[0.5, 1.5, 3], [2, 0.25, 10]]],
  ["logaddexp", np.logaddexp, logaddexpRef],
  ["floorDivide", np.floorDivide, (a, b) => pyDivmod(a, b)[0]],
  ["remainder", np.remainder, (a, b) => pyDivmod(a, b)[1]],
  ["fmod", np.fmod, (a, b) => a % b],
];

describe("binary functions on float32 with NumPy broadcasting, against float64 references", () => {
  // The second operand in each broadcasting form, and how element (i, j) reads it.
  const Y3 = [1.5, -4, 0.75];
  const Y21 = [[2], [-3.5]];
  const Y13 = [[-1.25, 6, 0.5]];
  const forms: [string, (fy: (v: Nested) => NDArray | number) => NDArray | number, (i: number, j: number) => number][] = [
    ["[3]", (mk) => mk(Y3), (_i, j) => Y3[j]],
    ["[2, 1]", (mk) => mk(Y21), (i) => Y21[i][0]],
    ["[1, 3]", (mk) => mk(Y13), (_i, j) => Y13[0][j]],
    ["a JS scalar", () => 0.7, () => 0.7],
    ["a 0-d array", (mk) => mk(-1.75), () => -1.75],
  ];
  for (const [name, f, ref, xOverride] of BINARY) {
    const x = xOverride ?? X;
    for (const [form, makeY, yAt] of forms) {
      it(`${name}: [2, 3] with ${form}`, () => {
        const y = makeY((v) => f32(v));
        const out = f(f32(x), y);
        expect(out.shape).toEqual([2, 3]);
        expect(out.dtype).toBe(np.float32);
        const expected = x.map((r, i) => r.map((v, j) => fr(ref(fr(v), fr(yAt(i, j))))));
        // floor_divide's quotient is an integer: compare exactly.
        if (name === "floorDivide") expectValues(out, expected);
        else expectClose(out, expected);
        // The operands swapped broadcast the same way.
        const swapped = f(y, f32(x));
        expect(swapped.shape).toEqual([2, 3]);
        const expectedSwapped = x.map((r, i) => r.map((v, j) => fr(ref(fr(yAt(i, j)), fr(v)))));
        if (name === "floorDivide") expectValues(swapped, expectedSwapped);
        else expectClose(swapped, expectedSwapped);
      });
    }
  }

  it("[2, 1] with [1, 3], and 3-d with 2-d, broadcast to the outer shape", () => {
    const a = f32([[1], [2]]);
    const b = f32([[10, 20, 30]]);
    expectValues(np.add(a, b), [[11, 21, 31], [12, 22, 32]]);
    expectValues(np.remainder(f32([[7], [-7]]), f32([[2, -3, 0.5]])), [[1, -2, 0], [1, -1, 0]]);
    const c = np.multiply(np.ones([2, 1, 3]), f32([[1], [2], [3], [4]]));
    expect(c.shape).toEqual([2, 4, 3]);
    expectValues(c.get(1, 3), [4, 4, 4]);
  });

  it("integer operands broadcast too (remainder, floor_divide, fmod, power with array divisors)", () => {
    const x = np.array([[7], [-7]]);
    const y = np.array([2, -3, 0]);
    expectValues(np.remainder(x, y), [[1, -2, 0], [1, -1, 0]]);
    expectValues(np.floorDivide(x, y), [[3, -3, -2], [-4, 2, -2]]);
    expectValues(np.fmod(x, y), [[1, 1, 0], [-1, -1, 0]]);
    expectValues(np.power(x, np.array([2, 3])).get(":", 1), [343, -343]);
  });
});

describe("comparisons and NaN", () => {
  it("maximum/minimum propagate NaN (jax-reference §3 documented example)", () => {
    // maximum([nan,-3,9], [[4,-2,nan],[-3,-5,10]]) = [[nan,-2,nan],[nan,-3,10]]
    const m = np.maximum(f32([NaN, -3, 9]), f32([[4, -2, NaN], [-3, -5, 10]]));
    expectValues(m, [[NaN, -2, NaN], [NaN, -3, 10]]);
    const n = np.minimum(f32([NaN, -3, 9]), f32([[4, -2, NaN], [-3, -5, 10]]));
    expectValues(n, [[NaN, -3, NaN], [NaN, -5, 9]]);
  });

  it("fmax/fmin ignore NaN (np.fmax / np.fmin docs)", () => {
    expectValues(np.fmax(np.array([2, 3, 4]), np.array([1, 5, 2])), [2, 5, 4]);
    expectValues(np.fmin(np.array([2, 3, 4]), np.array([1, 5, 2])), [1, 3, 2]);
    expectValues(np.fmax(f32([NaN, 0, NaN]), f32([0, NaN, NaN])), [0, 0, NaN]);
    expectValues(np.fmin(f32([NaN, 0, NaN]), f32([0, NaN, NaN])), [0, 0, NaN]);
    expectValues(np.fmax(f32([[NaN], [1]]), f32([0, 2])), [[0, 2], [1, 2]]);
  });

  it("equal/notEqual/less/lessEqual/greater/greaterEqual, NaN compares false (ne true)", () => {
    const a = f32([1, 2, NaN, 4]);
    const b = f32([1, 3, NaN, 3]);
    expectValues(np.equal(a, b), [true, false, false, false]);
    expectValues(np.notEqual(a, b), [false, true, true, true]);
    expectValues(np.less(a, b), [false, true, false, false]);
    expectValues(np.lessEqual(a, b), [true, true, false, false]);
    expectValues(np.greater(a, b), [false, false, false, true]);
    expectValues(np.greaterEqual(a, b), [true, false, false, true]);
    expect(np.less(a, b).dtype).toBe(np.bool);
    // jnp docstrings: greater_equal, greater, less_equal, less with broadcasting.
    expectValues(np.greaterEqual(np.array([[3, -1, 4], [5, 9, -6]]), np.array([-1, 4, 2])), [[true, false, true], [true, true, false]]);
    expectValues(np.greater(np.array([[5, -6, 7], [-2, 5, 9]]), np.array([-4, 3, 10])), [[true, false, false], [true, true, false]]);
    expectValues(np.lessEqual(np.array([2, -5, 9]), np.array([[1, -6, 5], [-2, 4, -6]])), [[false, false, false], [false, true, false]]);
    expectValues(np.less(np.array([[2, -4, 6, -8], [-1, 5, -3, 7]]), np.array([0, 3, -5, 9])), [[false, true, false, true], [true, false, false, true]]);
    expect(np.less(3, 7).item()).toBe(true);
    // An int array against a weak float compares in float32: 2 == 2.0, 1 < 1.5.
    expectValues(np.equal(np.array([1, 2]), 2.0), [false, true]);
    expectValues(np.less(np.array([1, 2]), 1.5), [true, false]);
  });

  it("isnan, isinf, isfinite (jnp docstrings), integers are never NaN or inf", () => {
    expectValues(np.isfinite(f32([-1, 3, Infinity, NaN])), [true, true, false, false]);
    expectValues(np.isinf(f32([-Infinity, 6, Infinity, NaN])), [true, false, true, false]);
    expectValues(np.isnan(f32([-Infinity, 6, Infinity, NaN])), [false, false, false, true]);
    expect(np.isinf(Infinity).item()).toBe(true);
    for (const [f, v] of [[np.isnan, false], [np.isinf, false], [np.isfinite, true]] as const) {
      const r = f(np.array([[1, 2, 3]], { dtype: "int8" }));
      expect(sig(r)).toBe("bool [1, 3]");
      expectValues(r, [[v, v, v]]);
    }
    expectValues(np.isnan(np.array([NaN, 1], { dtype: "float16" })), [true, false]);
  });

  it("signbit (jnp.signbit docstring), including -0 and -NaN", () => {
    expectValues(np.signbit(np.array([true, false])), [false, false]);
    expectValues(np.signbit(np.array([-2, -1, 0, 1, 2])), [true, true, false, false, false]);
    expectValues(np.signbit(f32([-1.5, -0.0, 0.0, 1.5])), [true, true, false, false]);
    const specials = np.concatenate([f32([NaN]), negNaN32(), f32([Infinity, -Infinity])]);
    expectValues(np.signbit(specials), [false, true, false, true]);
    // The sign bit survives conversion to float16 and bfloat16.
    expectValues(np.signbit(specials.astype("float16")), [false, true, false, true]);
    expectValues(np.signbit(specials.astype("bfloat16")), [false, true, false, true]);
    expectValues(np.signbit(np.array([-0, 0], { dtype: "float16" })), [true, false]);
  });

  it("nextafter (np.nextafter docs): one float32 ulp", () => {
    const eps = 2 ** -23;
    expectValues(np.nextafter(f32([1]), f32([2])), [1 + eps]);
    expectValues(np.nextafter(f32([1, 2]), f32([2, 1])), [1 + eps, 2 - eps]);
    expectValues(np.nextafter(f32([0]), f32([1])), [2 ** -149]);
    expectValues(np.nextafter(f32([NaN, 1]), f32([1, 1])), [NaN, 1]);
  });

  it("logaddexp: overflow-free, infinities and NaN (np.logaddexp docs)", () => {
    // prob1 = log(1e-50), prob2 = log(2.5e-50): logaddexp = -113.87649168120691 (float64).
    const p1 = fr(Math.log(1e-50));
    const p2 = fr(Math.log(2.5e-50));
    expectClose(np.logaddexp(f32([p1]), f32([p2])), [logaddexpRef(p1, p2)]);
    expectClose(np.logaddexp(f32([p1]), f32([p2])), [-113.87649168120691], 1e-6);
    expectValues(np.logaddexp(f32([Infinity, -Infinity, Infinity, NaN, 1000]), f32([Infinity, -Infinity, -Infinity, 1, 1000])), [
      Infinity, -Infinity, Infinity, NaN, fr(1000 + Math.LN2),
    ]);
    expect(sig(np.logaddexp(np.array([1, 2]), 3))).toBe("float32 [2]");
  });
});

describe("integer floor division and remainder (Python semantics, XLA division by zero)", () => {
  it("jnp.floor_divide / divmod / remainder / fmod docstrings", () => {
    expectValues(np.floorDivide(np.array([10, 20, 30]), np.array([3, 4, 7])), [3, 5, 4]);
    const q = np.floorDivide(np.array([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]), 3);
    expect(sig(q)).toBe("int32 [11]");
    expectValues(q, [-2, -2, -1, -1, -1, 0, 0, 0, 1, 1, 1]);
    expectValues(np.remainder(np.array([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]), 3), [1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const qf = np.floorDivide(np.array([6, 6, 6], { dtype: "int32" }), f32([2.0, 2.5, 3.0]));
    expect(sig(qf)).toBe("float32 [3]");
    expectValues(qf, [3, 2, 2]);
    // divmod([6, 6, 6], float32 [1.9, 2.5, 3.1]) -> ([3., 2., 1.], [0.30000007, 1., 2.9])
    expectValues(np.floorDivide(np.array([6, 6, 6]), f32([1.9, 2.5, 3.1])), [3, 2, 1]);
    expectClose(np.remainder(np.array([6, 6, 6]), f32([1.9, 2.5, 3.1])), [0.30000007, 1, 2.9], 1e-7);
    const x1 = np.array([[3, -1, 4], [8, 5, -2]]);
    const x2 = np.array([2, 3, -5]);
    expectValues(np.remainder(x1, x2), [[1, 2, -1], [0, 2, -2]]);
    expectValues(np.mod(x1, x2), [[1, 2, -1], [0, 2, -2]]);
    expectValues(np.fmod(x1, x2), [[1, -1, 4], [0, 2, -2]]);
  });

  it("agree with Python's // and % on a grid, for int8, int16, int32", () => {
    const as: number[] = [];
    const bs: number[] = [];
    for (let a = -9; a <= 9; a++) for (const b of [-4, -3, -2, -1, 1, 2, 3, 4]) (as.push(a), bs.push(b));
    for (const d of ["int8", "int16", "int32"] as const) {
      const A = np.array(as, { dtype: d });
      const B = np.array(bs, { dtype: d });
      const q = np.floorDivide(A, B);
      const r = np.remainder(A, B);
      expect(q.dtype.name).toBe(d);
      expectValues(q, as.map((a, i) => Math.floor(a / bs[i])));
      expectValues(r, as.map((a, i) => a - bs[i] * Math.floor(a / bs[i])));
      // C fmod: sign of the dividend.
      expectValues(np.fmod(A, B), as.map((a, i) => a % bs[i]));
    }
  });

  it("division by zero: x // 0 = -2 (x != 0), 0 // 0 = -1, remainder(x, 0) = 0 (jax-reference §3)", () => {
    for (const d of ["int8", "int16", "int32"] as const) {
      const x = np.array([5, -5, 0, 1, -1], { dtype: d });
      expectValues(np.floorDivide(x, 0), [-2, -2, -1, -2, -2]);
      expectValues(np.remainder(x, 0), [0, 0, 0, 0, 0]);
      expectValues(np.floorDivide(x, np.zeros([5], { dtype: d })), [-2, -2, -1, -2, -2]);
      // jnp.fmod also replaces a zero integer divisor by 1.
      expectValues(np.fmod(x, 0), [0, 0, 0, 0, 0]);
    }
  });

  it("unsigned: x // 0 is all ones, remainder is 0; no sign fix-up", () => {
    expectValues(np.floorDivide(np.array([5, 0, 255], { dtype: "uint8" }), 0), [255, 255, 255]);
    expectValues(np.floorDivide(np.array([5, 0], { dtype: "uint16" }), 0), [65535, 65535]);
    expectValues(np.floorDivide(np.array([5, 0], { dtype: "uint32" }), 0), [4294967295, 4294967295]);
    expectValues(np.remainder(np.array([5, 0], { dtype: "uint32" }), 0), [0, 0]);
    expectValues(np.floorDivide(np.array([250, 7], { dtype: "uint8" }), np.array([3, 2], { dtype: "uint8" })), [83, 3]);
    expectValues(np.floorDivide(np.array([4294967295], { dtype: "uint32" }), 2), [2147483647]);
    expectValues(np.remainder(np.array([4294967295], { dtype: "uint32" }), 2), [1]);
  });

  it("INT_MIN // -1 = INT_MIN and INT_MIN % -1 = 0", () => {
    expectValues(np.floorDivide(np.array([-2147483648]), -1), [-2147483648]);
    expectValues(np.remainder(np.array([-2147483648]), -1), [0]);
    expectValues(np.floorDivide(np.array([-128], { dtype: "int8" }), -1), [-128]);
    expectValues(np.floorDivide(np.array([-32768], { dtype: "int16" }), -1), [-32768]);
  });

  it("bool operands are promoted to int32 (jnp's promote_args_numeric)", () => {
    const q = np.floorDivide(np.array([true, false]), true);
    expect(sig(q)).toBe("int32 [2]");
    expectValues(q, [1, 0]);
    const r = np.remainder(np.array([true, false]), true);
    expect(sig(r)).toBe("int32 [2]");
    expectValues(r, [0, 0]);
    expect(sig(np.fmod(np.array([true]), np.array([true])))).toBe("int32 [1]");
  });

  it("weak scalars keep the array's integer type", () => {
    expect(sig(np.floorDivide(np.array([7], { dtype: "int8" }), 2))).toBe("int8 [1]");
    expect(sig(np.remainder(np.array([7], { dtype: "uint16" }), 2))).toBe("uint16 [1]");
    expect(sig(np.floorDivide(7, 2))).toBe("int32 weak []");
    expect(np.floorDivide(-7, 2).item()).toBe(-4);
    // An int array with a JS float divisor is float (weak, f*).
    expect(sig(np.floorDivide(np.array([7]), 2.5))).toBe("float32 weak [1]");
  });
});

describe("float floor division and remainder", () => {
  it("match Python's float // and % (CPython float_divmod)", () => {
    const as = [-7.5, -3, -0.5, 0, 0.5, 3, 7.5, 1e6, 1, 5.25];
    const bs = [-2.5, -1, 0.5, 2, 8, 0.1];
    const A: number[] = [];
    const B: number[] = [];
    for (const a of as) for (const b of bs) (A.push(a), B.push(b));
    expectValues(np.floorDivide(f32(A), f32(B)), A.map((a, i) => fr(pyDivmod(fr(a), fr(B[i]))[0])));
    expectClose(np.remainder(f32(A), f32(B)), A.map((a, i) => fr(pyDivmod(fr(a), fr(B[i]))[1])), 1e-6, 1e-7);
    // Python: 1.0 // 0.1 == 9.0 (fmod(1, 0.1) is just under 0.1).
    expectValues(np.floorDivide(f32([1]), f32([0.1])), [9]);
  });

  it("infinite divisors and dividends follow Python: -5 // inf = -1, -5 % inf = inf", () => {
    const a = f32([-5, 5, 5, -5, Infinity, NaN]);
    const b = f32([Infinity, Infinity, -Infinity, -Infinity, 3, 1]);
    expectValues(np.floorDivide(a, b), [-1, 0, -1, 0, NaN, NaN]);
    expectValues(np.remainder(a, b), [Infinity, 5, -Infinity, -5, NaN, NaN]);
  });

  it("x // 0 is +-inf (NaN for 0 // 0), x % 0 is NaN (jax-reference §3, PR #38017)", () => {
    expectValues(np.floorDivide(f32([1, -1, 0, NaN]), 0), [Infinity, -Infinity, NaN, NaN]);
    expectValues(np.floorDivide(f32([1, -1]), f32([-0, -0])), [-Infinity, Infinity]);
    expectValues(np.remainder(f32([1, -1, 0]), 0), [NaN, NaN, NaN]);
    expectValues(np.fmod(f32([1, -1, 0]), 0), [NaN, NaN, NaN]);
    // Broadcast divisor holding a zero.
    expectValues(np.floorDivide(f32([[3], [-3]]), f32([0, 2])), [[Infinity, 1], [-Infinity, -2]]);
  });

  it("float16 and bfloat16 keep their dtype", () => {
    const q = np.floorDivide(np.array([7, -7], { dtype: "float16" }), 2);
    expect(sig(q)).toBe("float16 [2]");
    expectValues(q, [3, -4]);
    expect(sig(np.remainder(np.array([7, -7], { dtype: "bfloat16" }), 2))).toBe("bfloat16 [2]");
    expectValues(np.remainder(np.array([7, -7], { dtype: "bfloat16" }), 2), [1, 1]);
  });
});

describe("power", () => {
  it("jnp.power docstring examples", () => {
    const p = np.power(4, 3);
    expect(sig(p)).toBe("int32 weak []");
    expect(p.item()).toBe(64);
    const q = np.power(np.array([2, 4, 5]), [3, 0.5, 2]);
    expect(sig(q)).toBe("float32 [3]");
    expectClose(q, [8, 2, 25]);
    expectValues(np.power(np.array([-2, 3, 1]), [[4, 1, 6], [1.3, 3, 5]]), [[16, 3, 1], [NaN, 27, 1]]);
  });

  it("integer bases with integer exponents stay integers (wrapping like XLA)", () => {
    const a = np.power(np.array([2, 3, 4]), 3);
    expect(sig(a)).toBe("int32 [3]");
    expectValues(a, [8, 27, 64]);
    expect(sig(np.power(np.array([2, 3], { dtype: "int8" }), 2))).toBe("int8 [2]");
    expectValues(np.power(np.array([16], { dtype: "uint8" }), 2), [0]); // 256 wraps to 0
    expectValues(np.power(np.array([3]), 20), [3 ** 20 - 2 ** 32]); // 3486784401 wraps in int32
    const b = np.power(np.array([2, 3, 0, 5]), np.array([3, 2, 0, 0]));
    expect(sig(b)).toBe("int32 [4]");
    expectValues(b, [8, 9, 1, 1]);
    // The int8 array promotes the weak base: 2 ** int8 stays int8.
    expect(sig(np.power(2, np.array([2, 3], { dtype: "int8" })))).toBe("int8 [2]");
    expectValues(np.power(2, np.array([2, 3], { dtype: "int8" })), [4, 8]);
    // Bool base with an integer exponent is int32 (promote_dtypes_numeric), strongly typed.
    const c = np.power(np.array([true, false]), 2);
    expect(sig(c)).toBe("int32 [2]");
    expectValues(c, [1, 0]);
    expectValues(np.square(np.array([-3], { dtype: "int8" })), [9]);
  });

  it("a negative JS integer exponent on integers is an error (integer_pow); on floats it is fine", () => {
    expect(() => np.power(np.array([2, 3]), -1)).toThrow(DTypeError);
    expect(() => np.power(np.array([2, 3], { dtype: "uint8" }), -2)).toThrow(/negative/);
    expect(() => np.power(np.array([2, 3]), -100)).toThrow(/negative/);
    expect(() => np.array([2]).pow(-1)).toThrow(/negative/);
    expect(() => np.power(true, -1)).toThrow(/negative/);
    // Integer exponent arrays go through lax.pow: XLA's integer pow gives 0 for |base| > 1, and
    // +-1 for bases 1 and -1. Real JAX 0.11.2 (test/reference/jax-numpy.json,
    // power_i32_negative_exponent): [2, -1, 1, 0] ** [-1, -3, -2, -1] = [0, -1, 1, 0].
    expectValues(np.power(np.array([2, -1, 1, 0]), np.array([-1, -3, -2, -1])), [0, -1, 1, 0]);
    expectClose(np.power(f32([2, 3]), -1), [0.5, fr(1 / 3)]);
    expectClose(np.power(f32([2, -2]), -3), [0.125, -0.125]);
  });

  it("float powers follow C pow: x ** 0 = 1, 1 ** y = 1 even for NaN, negative ** non-integer = NaN", () => {
    expectValues(np.power(f32([0, NaN, 1, 1, -8, 4, 0]), f32([0, 0, NaN, Infinity, 1 / 3, 0.5, -1])), [1, 1, 1, 1, NaN, 2, Infinity]);
    const xs = [0.5, 1.5, 2, 10, 3.7];
    const ys = [2.5, -1.5, 0.3, 7, 1.1];
    expectClose(np.power(f32(xs), f32(ys)), xs.map((x, i) => fr(Math.pow(fr(x), fr(ys[i])))));
    expectClose(np.pow(f32(xs), 2), xs.map((x) => fr(fr(x) * fr(x))));
    expectClose(np.exp10(f32([2])), [100]);
  });
});

describe("logical and bitwise functions", () => {
  it("logical_and/or/xor/not on bools and (cast to bool) numbers", () => {
    const p = np.array([true, true, false, false]);
    const q = np.array([true, false, true, false]);
    expectValues(np.logicalAnd(p, q), [true, false, false, false]);
    expectValues(np.logicalOr(p, q), [true, true, true, false]);
    expectValues(np.logicalXor(p, q), [false, true, true, false]);
    expectValues(np.logicalNot(p), [false, false, true, true]);
    // jnp.logical_not docstring: [-1, 0, 1] -> [False, True, False].
    expectValues(np.logicalNot(np.array([-1, 0, 1])), [false, true, false]);
    expectValues(np.logicalAnd(f32([0.5, 0, NaN]), np.array([2, 2, 2])), [true, false, true]);
    expectValues(np.logicalOr(np.array([[0], [3]]), np.array([0, 1])), [[false, true], [true, true]]);
    expect(np.logicalXor(1, 0).dtype).toBe(np.bool);
  });

  it("bitwise and/or/xor/not on ints and bools; floats are rejected", () => {
    const a = np.array([12, -1, 0, 5]);
    const b = np.array([10, 7, 3, -6]);
    expectValues(np.bitwiseAnd(a, b), [12 & 10, -1 & 7, 0 & 3, 5 & -6]);
    expectValues(np.bitwiseOr(a, b), [12 | 10, -1 | 7, 0 | 3, 5 | -6]);
    expectValues(np.bitwiseXor(a, b), [12 ^ 10, -1 ^ 7, 0 ^ 3, 5 ^ -6]);
    expectValues(np.bitwiseNot(a), [~12, ~-1, ~0, ~5]);
    expectValues(np.invert(np.array([0, 1, 255], { dtype: "uint8" })), [255, 254, 0]);
    expectValues(np.invert(np.array([0, 1, 127], { dtype: "int8" })), [-1, -2, -128]);
    expectValues(np.bitwiseNot(np.array([true, false])), [false, true]);
    expectValues(np.bitwiseAnd(np.array([true, true]), np.array([true, false])), [true, false]);
    expect(sig(np.bitwiseOr(np.array([1], { dtype: "uint8" }), 256 + 2))).toBe("uint8 [1]");
    expect(() => np.bitwiseAnd(f32([1]), 1)).toThrow(DTypeError);
    expect(() => np.bitwiseNot(f32([1]))).toThrow(/bitwise_not/);
  });

  it("shifts (jnp.right_shift docstring; XLA: shifting by >= the bit width gives 0 or the sign fill)", () => {
    expectValues(np.rightShift(np.array([1, 2, 4, 8]), 1), [0, 1, 2, 4]);
    expectValues(np.rightShift(16, np.array([1, 2, 3, 4])), [8, 4, 2, 1]);
    expect(sig(np.rightShift(16, np.array([1, 2, 3, 4])))).toBe("int32 [4]");
    expectValues(np.rightShift(np.array([-8, 8]), 1), [-4, 4]); // arithmetic for signed
    expectValues(np.rightShift(np.array([255], { dtype: "uint8" }), 1), [127]); // logical for unsigned
    expectValues(np.rightShift(np.array([4294967295], { dtype: "uint32" }), 4), [268435455]);
    expectValues(np.leftShift(np.array([1], { dtype: "int8" }), 7), [-128]);
    expectValues(np.leftShift(np.array([1, 3]), np.array([4, 1])), [16, 6]);
    expectValues(np.leftShift(np.array([1]), 32), [0]);
    expectValues(np.rightShift(np.array([-8]), 40), [-1]);
    expectValues(np.rightShift(np.array([8], { dtype: "uint8" }), 8), [0]);
    // bool operands are promoted to int32 (promote_args_numeric).
    expect(sig(np.leftShift(np.array([true]), true))).toBe("int32 [1]");
    expectValues(np.leftShift(np.array([true]), true), [2]);
    expect(() => np.rightShift(f32([8]), 1)).toThrow(DTypeError);
    expect(() => np.leftShift(f32([8]), 1)).toThrow(DTypeError);
  });
});

describe("where, clip", () => {
  it("where (np.where docs)", () => {
    const a = np.arange(10);
    expectValues(np.where(a.lt(5), a, a.mul(10)), [0, 1, 2, 3, 4, 50, 60, 70, 80, 90]);
    expectValues(
      np.where([[true, false], [true, true]], np.array([[1, 2], [3, 4]]), np.array([[9, 8], [7, 6]])),
      [[1, 8], [3, 4]],
    );
    // x, y = np.ogrid[:3, :4]; np.where(x < y, x, 10 + y)
    const x = np.array([[0], [1], [2]]);
    const y = np.array([[0, 1, 2, 3]]);
    expectValues(np.where(x.lt(y), x, y.add(10)), [[10, 0, 0, 0], [10, 11, 1, 1], [10, 11, 12, 2]]);
    // A numeric condition is cast to bool (NaN is true), and weak scalars promote with the array.
    expectValues(np.where(f32([0, NaN, 2]), 1, np.array([7, 8, 9], { dtype: "int8" })), [7, 1, 1]);
    expect(sig(np.where(np.array([true]), 1, np.array([7], { dtype: "int8" })))).toBe("int8 [1]");
    expect(sig(np.where(np.array([true, false]), 1, 2.5))).toBe("float32 weak [2]");
  });

  it("where(cond) alone is nonzero(cond) (jnp.where; real JAX case where_1arg in test/reference)", () => {
    const [r, c] = np.where(np.array([[0, 1], [1, 1]]));
    expectValues(r, [0, 1, 1]);
    expectValues(c, [1, 0, 1]);
    expect(r.dtype).toBe(np.int32);
    expect(() => (np.where as (...a: unknown[]) => unknown)(np.array([1]), 1)).toThrow(/Either both or neither/);
  });

  it("clip (np.clip docs): maximum then minimum, NaN propagates", () => {
    const a = np.arange(10);
    expectValues(np.clip(a, 1, 8), [1, 1, 2, 3, 4, 5, 6, 7, 8, 8]);
    expectValues(np.clip(a, 8, 1), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expectValues(np.clip(a, [3, 4, 1, 1, 1, 4, 4, 4, 4, 4], 8), [3, 4, 2, 3, 4, 5, 6, 7, 8, 8]);
    expectValues(np.clip(a, null, 3), [0, 1, 2, 3, 3, 3, 3, 3, 3, 3]);
    expectValues(a.clip(7), [7, 7, 7, 7, 7, 7, 7, 7, 8, 9]);
    expectValues(np.clip(f32([NaN, -2, 2]), -1, 1), [NaN, -1, 1]);
    expect(sig(np.clip(np.array([1, 5, 10], { dtype: "int16" }), 2, 8))).toBe("int16 [3]");
  });
});

describe("isclose, allclose, arrayEqual", () => {
  it("jnp.isclose docstring examples", () => {
    expectValues(np.isclose(f32([1e6, 2e6, Infinity]), f32([1e6, 2e7, Infinity])), [true, false, true]);
    expectValues(np.isclose(f32([1e6, 2e6, 3e6]), f32([1.00008e6, 2.00008e7, 3.00008e8]), { rtol: 1e3 }), [true, true, true]);
    expectValues(np.isclose(f32([1e6, 2e6, 3e6]), f32([1.00001e6, 2.00002e6, 3.00009e6]), { atol: 1e3 }), [true, true, true]);
    expectValues(np.isclose(f32([NaN, 1, 2]), f32([NaN, 1, 2]), { equalNan: true }), [true, true, true]);
  });

  it("NaN, infinities, and the tolerance |a - b| <= atol + rtol * |b|", () => {
    expectValues(np.isclose(f32([NaN, 1, Infinity, Infinity, -Infinity, 1e38]), f32([NaN, NaN, Infinity, -Infinity, -Infinity, Infinity])), [
      false, false, true, false, true, false,
    ]);
    // rtol is relative to b: |1 - 1.000005| = 5e-6 <= 1e-8 + 1e-5 * 1.000005; |100 - 100.002| > 1e-3.
    expectValues(np.isclose(f32([1, 100]), f32([1.000005, 100.002])), [true, false]);
    expectValues(np.isclose(f32([0, 1e-9]), f32([1e-9, 0])), [true, true]);
    expectValues(np.isclose(f32([0]), f32([1e-7])), [false]);
    expectValues(np.isclose(f32([1, 2]), 1), [true, false]);
    expect(np.isclose(f32([[1], [2]]), f32([1, 2])).shape).toEqual([2, 2]);
  });

  it("integers are compared in float32 with the tolerance, as jnp.isclose promotes to inexact", () => {
    expectValues(np.isclose(np.array([100000, 5]), np.array([100001, 6])), [true, false]);
    expectValues(np.isclose(np.array([1, 2]), np.array([1, 3]), { atol: 1 }), [true, true]);
  });

  it("allclose is a 0-d bool", () => {
    const t = np.allclose(f32([1, 2, 3]), f32([1, 2, 3.00001]));
    expect(sig(t)).toBe("bool []");
    expect(t.item()).toBe(true);
    expect(np.allclose(f32([1, NaN]), f32([1, NaN])).item()).toBe(false);
    expect(np.allclose(f32([1, NaN]), f32([1, NaN]), { equalNan: true }).item()).toBe(true);
    expect(np.allclose(f32([1, 2]), f32([1, 2.1])).item()).toBe(false);
    expect(np.allclose(f32([1, 2]), f32([1, 2.1]), { atol: 0.2 }).item()).toBe(true);
    // jnp.log docstring: allclose(log(x1 * x2), log(x1) + log(x2)) is True.
    const x1 = np.array([2, 1, 3, 1]);
    const x2 = np.array([1, 3, 2, 4]);
    expect(np.allclose(np.log(x1.mul(x2)), np.log(x1).add(np.log(x2))).item()).toBe(true);
    expect(() => np.allclose(np.ones([3]), np.ones([10]))).toThrow(ShapeError);
  });

  it("arrayEqual: shapes must match; NaN unequal unless equalNan", () => {
    expect(np.arrayEqual([1, 2], [1, 2]).item()).toBe(true);
    expect(np.arrayEqual([1, 2], f32([1, 2])).item()).toBe(true);
    expect(np.arrayEqual([1, 2], [1, 3]).item()).toBe(false);
    expect(np.arrayEqual([1, 2], [1, 2, 3]).item()).toBe(false);
    expect(np.arrayEqual([[1, 2]], [1, 2]).item()).toBe(false);
    expect(np.arrayEqual(f32([1, NaN]), f32([1, NaN])).item()).toBe(false);
    expect(np.arrayEqual(f32([1, NaN]), f32([1, NaN]), { equalNan: true }).item()).toBe(true);
    expect(sig(np.arrayEqual([1], [1]))).toBe("bool []");
    // array_equiv broadcasts.
    expect(np.arrayEquiv([1, 2], [[1, 2], [1, 2]]).item()).toBe(true);
    expect(np.arrayEquiv([1, 2], [[1, 2], [1, 3]]).item()).toBe(false);
    expect(np.arrayEquiv([1, 2], [1, 2, 3]).item()).toBe(false);
  });
});

describe("shape errors name the function", () => {
  it("add: shapes [3] and [10] cannot be broadcast together", () => {
    const a = np.ones([3]);
    const b = np.ones([10]);
    expect(() => np.add(a, b)).toThrow(ShapeError);
    expect(() => np.add(a, b)).toThrow(/^add: shapes \[3\] and \[10\] cannot be broadcast together$/);
    const cases: [string, () => unknown][] = [
      ["multiply", () => np.multiply(a, b)],
      ["subtract", () => np.subtract(a, b)],
      ["divide", () => np.divide(a, b)],
      ["maximum", () => np.maximum(a, b)],
      ["minimum", () => np.minimum(a, b)],
      ["power", () => np.power(a, b)],
      ["arctan2", () => np.arctan2(a, b)],
      ["floor_divide", () => np.floorDivide(a, b)],
      ["remainder", () => np.remainder(a, b)],
      ["fmod", () => np.fmod(a, b)],
      ["fmax", () => np.fmax(a, b)],
      ["logaddexp", () => np.logaddexp(a, b)],
      ["equal", () => np.equal(a, b)],
      ["less", () => np.less(a, b)],
      ["logical_and", () => np.logicalAnd(a, b)],
      ["isclose", () => np.isclose(a, b)],
      // Method forms name the function they stand for.
      ["add", () => a.add(b)],
      ["multiply", () => a.mul(b)],
      ["subtract", () => a.sub(b)],
      ["less", () => a.lt(b)],
      ["floor_divide", () => a.floorDiv(b)],
      ["remainder", () => a.mod(b)],
      ["power", () => a.pow(b)],
    ];
    for (const [name, f] of cases) {
      expect(f, name).toThrow(ShapeError);
      expect(f, name).toThrow(`${name}: shapes [3] and [10] cannot be broadcast together`);
    }
    expect(() => np.bitwiseAnd(np.ones([3], { dtype: "int32" }), np.ones([10], { dtype: "int32" }))).toThrow(
      "bitwise_and: shapes [3] and [10] cannot be broadcast together",
    );
    expect(() => np.add(np.ones([2, 3]), np.ones([3, 2]))).toThrow("add: shapes [2, 3] and [3, 2] cannot be broadcast together");
    expect(() => np.where(np.ones([2]), np.ones([3]), 1)).toThrow(/^where: shapes/);
  });
});

describe("method forms match the functions", () => {
  it("add sub mul div floorDiv mod pow lt le gt ge eq ne and or xor neg abs not", () => {
    const x = np.array([[7, -7, 3], [0, 5, -2]]);
    const y = np.array([2, -3, 4]);
    const xf = f32([[1.5, -2, 3], [0, 4.5, -0.5]]);
    const pairs: [string, (a: NDArray, b: NDArray | number) => NDArray, (a: NDArray, b: NDArray | number) => NDArray][] = [
      ["add", (a, b) => a.add(b), np.add],
      ["sub", (a, b) => a.sub(b), np.subtract],
      ["mul", (a, b) => a.mul(b), np.multiply],
      ["div", (a, b) => a.div(b), np.divide],
      ["floorDiv", (a, b) => a.floorDiv(b), np.floorDivide],
      ["mod", (a, b) => a.mod(b), np.remainder],
      ["pow", (a, b) => a.pow(b), np.power],
      ["lt", (a, b) => a.lt(b), np.less],
      ["le", (a, b) => a.le(b), np.lessEqual],
      ["gt", (a, b) => a.gt(b), np.greater],
      ["ge", (a, b) => a.ge(b), np.greaterEqual],
      ["eq", (a, b) => a.eq(b), np.equal],
      ["ne", (a, b) => a.ne(b), np.notEqual],
    ];
    for (const [name, m, f] of pairs) {
      for (const [a, b] of [[xf, f32([2, -3, 4])], [xf, 2], [xf, 2.5]] as [NDArray, NDArray | number][]) {
        const u = m(a, b);
        const v = f(a, b);
        expect(sig(u), name).toBe(sig(v));
        expectValues(u, v.tolist() as Nested, true);
      }
      if (name !== "pow") {
        const u = m(x, y);
        expect(sig(u), name).toBe(sig(f(x, y)));
        expectValues(u, f(x, y).tolist() as Nested);
      }
    }
    // Reference values for a few, straight from Python's semantics.
    expectValues(x.floorDiv(y), [[3, 2, 0], [0, -2, -1]]);
    expectValues(x.mod(y), [[1, -1, 3], [0, -1, 2]]);
    expectValues(x.pow(2), [[49, 49, 9], [0, 25, 4]]);
    expectValues(x.and(y), [[7 & 2, -7 & -3, 3 & 4], [0, 5 & -3, -2 & 4]]);
    expectValues(x.or(y), [[7 | 2, -7 | -3, 3 | 4], [0 | 2, 5 | -3, -2 | 4]]);
    expectValues(x.xor(y), [[7 ^ 2, -7 ^ -3, 3 ^ 4], [0 ^ 2, 5 ^ -3, -2 ^ 4]]);
    expectValues(x.not(), map2([[7, -7, 3], [0, 5, -2]], (v) => ~v));
    expectValues(x.neg(), [[-7, 7, -3], [0, -5, 2]]);
    expectValues(x.abs(), [[7, 7, 3], [0, 5, 2]]);
    expectValues(xf.div(2), [[0.75, -1, 1.5], [0, 2.25, -0.25]]);
    expect(sig(np.array([1, 2], { dtype: "int8" }).add(1))).toBe("int8 [2]");
  });
});
