// The table-driven primitive test: one row per registered primitive. Each row applies the
// primitive through `bind` on the CPU backend and compares with a reference computed here in
// float64 by plain loops (or with values worked out by hand / published), never with the
// library's own code path. A primitive without a row fails the coverage test.

import { describe, expect, it } from "vitest";
import "../../kernel/backends/cpu/cpu-backend";
import "../../kernel/primitives";
import { ShapedArray } from "../../kernel/core/aval";
import { DType, DTYPES, DTypeName, float32, int32, uint32, bool, int8, float16, bfloat16, uint8 } from "../../kernel/core/dtype";
import { PrimalError } from "../../kernel/core/errors";
import { NDArray, fromStorage } from "../../kernel/core/ndarray";
import { allPrimitives, getPrimitive } from "../../kernel/core/primitive";
import { bind } from "../../kernel/core/trace";
import { fromNumbers } from "../../kernel/primitives/cpu-loops";

type Nested = number | boolean | Nested[];

function shapeOf(v: Nested): number[] {
  const s: number[] = [];
  for (let c: Nested = v; Array.isArray(c); c = c[0]) s.push(c.length);
  return s;
}
const flat = (v: Nested): number[] => (Array.isArray(v) ? v.flatMap(flat) : [Number(v)]);

/** An input array: nested values and a dtype name. */
function arr(v: Nested, dtype: DTypeName = "float32", weak = false): NDArray {
  const d = DTYPES[dtype];
  return fromStorage(fromNumbers(flat(v), d), new ShapedArray(shapeOf(v), d, weak));
}
function run(name: string, args: NDArray[], params: unknown = {}): NDArray[] {
  const p = getPrimitive(name);
  if (!p) throw new Error(`no primitive ${name}`);
  return bind(p, args, params);
}
/** Rounds a float64 reference to what the dtype can hold. */
function roundTo(values: number[], d: DType): number[] {
  const st = fromNumbers(values, d);
  return Array.from(fromStorage(st, new ShapedArray([values.length], d)).dataSync());
}
function close(got: ArrayLike<number>, want: number[], rtol: number, atol = 0): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w)) expect(g, `element ${i}`).toBeNaN();
    else if (!Number.isFinite(w)) expect(g, `element ${i}`).toBe(w);
    else expect(Math.abs(g - w), `element ${i}: got ${g}, want ${w}`).toBeLessThanOrEqual(atol + rtol * Math.abs(w));
  }
}

// Reference functions (float64) for the unary ops. erf/lgamma are checked against published
// values below instead, since Math has no erf.
const X = [-2.5, -1, -0.3, 0, 0.2, 0.7, 1, 3.5];
const POS = [0.01, 0.3, 1, 2.5, 10, 100];
const UNIT = [-0.99, -0.5, 0, 0.3, 0.9];
const unaryRows: [string, (x: number) => number, number[]][] = [
  ["neg", (x) => -x, X], ["sign", Math.sign, [...X, -0]], ["floor", Math.floor, X], ["ceil", Math.ceil, X],
  ["abs", Math.abs, X], ["exp", Math.exp, X], ["exp2", (x) => 2 ** x, X], ["log", Math.log, POS],
  ["log1p", Math.log1p, [...UNIT, 3]], ["expm1", Math.expm1, X], ["tanh", Math.tanh, X],
  ["logistic", (x) => 1 / (1 + Math.exp(-x)), [...X, -50, 50]], ["sin", Math.sin, X], ["cos", Math.cos, X],
  ["tan", Math.tan, X], ["asin", Math.asin, UNIT], ["acos", Math.acos, UNIT], ["atan", Math.atan, X],
  ["sinh", Math.sinh, X], ["cosh", Math.cosh, X], ["asinh", Math.asinh, X], ["acosh", Math.acosh, [1, 1.5, 10]],
  ["atanh", Math.atanh, UNIT], ["sqrt", Math.sqrt, POS], ["rsqrt", (x) => 1 / Math.sqrt(x), POS], ["cbrt", Math.cbrt, X],
  ["square", (x) => x * x, X], ["copy", (x) => x, X], ["stop_gradient", (x) => x, X],
];
// Published values: erf (Abramowitz & Stegun table 7.1), lgamma (log Gamma of half-integers).
const ERF: [number, number][] = [[0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [-1.5, -0.9661051464753108], [3, 0.9999779095030014]];
const LGAMMA: [number, number][] = [[0.5, 0.5723649429247001], [1, 0], [2, 0], [3, Math.log(2)], [4.5, Math.log(11.631728396567448)], [-0.5, Math.log(2 * Math.sqrt(Math.PI))]];

const covered = new Set<string>();
function row(name: string, fn: () => void): void {
  covered.add(name);
  it(name, fn);
}

describe("elementwise unary, float32 against float64 references", () => {
  for (const [name, f, xs] of unaryRows)
    row(name, () => {
      const [y] = run(name, [arr(xs)]);
      expect(y.dtype).toBe(float32);
      close(y.dataSync(), roundTo(xs.map((x) => f(Math.fround(x))), float32), 2e-7, 1e-37);
    });
  row("erf", () => close(run("erf", [arr(ERF.map((p) => p[0]))])[0].dataSync(), ERF.map((p) => p[1]), 1e-6, 1e-7));
  row("erfc", () => close(run("erfc", [arr(ERF.map((p) => p[0]))])[0].dataSync(), ERF.map((p) => 1 - p[1]), 1e-6, 1e-7));
  row("lgamma", () => close(run("lgamma", [arr(LGAMMA.map((p) => p[0]))])[0].dataSync(), LGAMMA.map((p) => p[1]), 1e-6, 1e-6));
  // Published: psi(1) = -gamma, psi(1/2) = -gamma - 2 ln 2, psi(2) = 1 - gamma, psi(10) (A&S 6.3).
  row("digamma", () => {
    const g = 0.5772156649015329;
    close(run("digamma", [arr([1, 0.5, 2, 10, -0.5])])[0].dataSync(), [-g, -g - 2 * Math.LN2, 1 - g, 2.251752589066721, 0.03648997397857652], 1e-6, 1e-6);
  });
  row("erf_inv", () => {
    // erf(erf_inv(y)) = y, with erf from the published table: erf_inv(0.5204998778) = 0.5.
    const [y] = run("erf_inv", [arr(ERF.slice(0, 5).map((p) => p[1]))]);
    close(y.dataSync(), ERF.slice(0, 5).map((p) => p[0]), 2e-6, 1e-6);
    expect(Array.from(run("erf_inv", [arr([1, -1])])[0].dataSync())).toEqual([Infinity, -Infinity]);
  });
  row("not", () => {
    expect(run("not", [arr([true, false], "bool")])[0].tolist()).toEqual([false, true]);
    expect(run("not", [arr([0, 5, -1], "int32")])[0].tolist()).toEqual([-1, -6, 0]);
  });
  row("round", () => {
    const xs = [0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6];
    expect(run("round", [arr(xs)], { rounding_method: 0 })[0].tolist()).toEqual([1, 2, 3, -1, -2, 2, -3]);
    expect(run("round", [arr(xs)], { rounding_method: 1 })[0].tolist()).toEqual([0, 2, 2, -0, -2, 2, -3]);
  });
  row("is_finite", () => {
    const [y] = run("is_finite", [arr([1, NaN, Infinity, -Infinity, 0])]);
    expect(y.dtype).toBe(bool);
    expect(y.tolist()).toEqual([true, false, false, false, true]);
  });
  row("integer_pow", () => {
    close(run("integer_pow", [arr([1.5, -2, 3])], { y: 3 })[0].dataSync(), [3.375, -8, 27], 1e-7);
    close(run("integer_pow", [arr([2, -4])], { y: -2 })[0].dataSync(), [0.25, 0.0625], 1e-7);
    expect(run("integer_pow", [arr([3, -2], "int32")], { y: 3 })[0].tolist()).toEqual([27, -8]);
    // int32 wraps: 3^21 = 10460353203 mod 2^32, as a signed int32.
    expect(run("integer_pow", [arr([3], "int32")], { y: 21 })[0].tolist()).toEqual([((10460353203 % 2 ** 32) | 0)]);
  });
  row("convert_element_type", () => {
    const f = arr([1.7, -1.7, NaN, 3e9, -3e9, 0.5]);
    // XLA: truncate toward zero, NaN -> 0, saturate at the type's range.
    expect(run("convert_element_type", [f], { new_dtype: int32, weak_type: false })[0].tolist()).toEqual([1, -1, 0, 2147483647, -2147483648, 0]);
    expect(run("convert_element_type", [f], { new_dtype: uint8, weak_type: false })[0].tolist()).toEqual([1, 0, 0, 255, 0, 0]);
    expect(run("convert_element_type", [f], { new_dtype: bool, weak_type: false })[0].tolist()).toEqual([true, true, true, true, true, true]);
    // int -> narrower int wraps (two's complement).
    expect(run("convert_element_type", [arr([300, -129], "int32")], { new_dtype: int8, weak_type: false })[0].tolist()).toEqual([44, 127]);
    // float16 rounds to nearest even: 0.1 -> 0.0999755859375; 65520 overflows to inf.
    expect(Array.from(run("convert_element_type", [arr([0.1, 65520, 1 / 3])], { new_dtype: float16, weak_type: false })[0].dataSync()))
      .toEqual([0.0999755859375, Infinity, 0.333251953125]);
    // bfloat16 keeps 8 bits of mantissa: 1/3 -> 0.333984375.
    expect(Array.from(run("convert_element_type", [arr([1 / 3, 1])], { new_dtype: bfloat16, weak_type: false })[0].dataSync())).toEqual([0.333984375, 1]);
    const w = run("convert_element_type", [arr([1], "int32")], { new_dtype: float32, weak_type: true })[0];
    expect(w.weakType).toBe(true);
  });
});

/** Reference broadcasting for the binary rows: shapes [2,3] op [1,3] and [2,3] op scalar. */
function binaryRef(a: number[][], b: number[][] | number, f: (x: number, y: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++)
    for (let j = 0; j < a[0].length; j++) out.push(f(a[i][j], typeof b === "number" ? b : b[b.length === 1 ? 0 : i][j]));
  return out;
}
const A = [[1.5, -2, 0.25], [4, -0.5, 3]];
const B = [[2, 0.5, -1]];
const binaryRows: [string, (x: number, y: number) => number][] = [
  ["add", (x, y) => x + y], ["sub", (x, y) => x - y], ["mul", (x, y) => x * y], ["div", (x, y) => x / y],
  ["rem", (x, y) => x % y], ["pow", (x, y) => Math.pow(Math.abs(x), y)], ["max", Math.max], ["min", Math.min],
  ["atan2", Math.atan2],
];
const cmpRows: [string, (x: number, y: number) => boolean][] = [
  ["eq", (x, y) => x === y], ["ne", (x, y) => x !== y], ["lt", (x, y) => x < y], ["le", (x, y) => x <= y],
  ["gt", (x, y) => x > y], ["ge", (x, y) => x >= y],
];

describe("elementwise binary with lax broadcasting", () => {
  for (const [name, f] of binaryRows)
    row(name, () => {
      const a = name === "pow" ? A.map((r) => r.map(Math.abs)) : A;
      close(run(name, [arr(a), arr(B)])[0].dataSync(), roundTo(binaryRef(a, B, f), float32), 2e-7);
      close(run(name, [arr(a), arr(0.75)])[0].dataSync(), roundTo(binaryRef(a, 0.75, f), float32), 2e-7);
      expect(run(name, [arr(a), arr(B)])[0].shape).toEqual([2, 3]);
    });
  for (const [name, f] of cmpRows)
    row(name, () => {
      const [y] = run(name, [arr([1, 2, NaN, 3]), arr([1, 3, NaN, 2])]);
      expect(y.dtype).toBe(bool);
      expect(y.tolist()).toEqual([1, 2, NaN, 3].map((x, i) => f(x, [1, 3, NaN, 2][i])));
    });
  it("shape errors name the operation and shapes", () => {
    expect(() => run("add", [arr([1, 2, 3]), arr([[1, 2]])])).toThrow(/add: arrays must have same number of dimensions/);
    expect(() => run("mul", [arr([1, 2, 3]), arr([1, 2])])).toThrow(/mul: incompatible shapes for broadcasting, got \[3\], \[2\]/);
    expect(() => run("add", [arr([1]), arr([1], "int32")])).toThrow(/add requires arguments to have the same dtypes, got float32, int32/);
    expect(() => run("sin", [arr([1], "int32")])).toThrow(PrimalError);
  });
  // add_any (cotangent accumulation) is an add without promotion or broadcasting beyond lax's.
  row("add_any", () => close(run("add_any", [arr(A), arr(B)])[0].dataSync(), roundTo(binaryRef(A, B, (x, y) => x + y), float32), 2e-7));
  // Threefry-2x32 known-answer tests (jax-reference.md 1.2, tests/random_test.py::testThreefry2x32).
  row("threefry2x32", () => {
    const k = (v: number[]) => arr(v, "uint32");
    const [a, b] = run("threefry2x32", [k([0, 4294967295, 0x13198a2e]), k([0, 4294967295, 0x03707344]), k([0, 4294967295, 0x243f6a88]), k([0, 4294967295, 0x85a308d3])], {});
    expect(Array.from(a.dataSync())).toEqual([0x6b200159, 0x1cb996fc, 0xc4923a9c]);
    expect(Array.from(b.dataSync())).toEqual([0x99ba4efe, 0xbb002be7, 0x483df7a0]);
  });
  row("nextafter", () => {
    const [y] = run("nextafter", [arr([1, 1, 0]), arr([2, 0, 1])]);
    expect(Array.from(y.dataSync())).toEqual([1 + 2 ** -23, 1 - 2 ** -24, 2 ** -149]);
  });
  row("and", () => expect(run("and", [arr([12, -1], "int32"), arr([10, 7], "int32")])[0].tolist()).toEqual([8, 7]));
  row("or", () => expect(run("or", [arr([true, false], "bool"), arr([false, false], "bool")])[0].tolist()).toEqual([true, false]));
  row("xor", () => expect(run("xor", [arr([12], "uint32"), arr([10], "uint32")])[0].tolist()).toEqual([6]));
  row("shift_left", () => expect(run("shift_left", [arr([1, 1, 3], "int32"), arr([4, 32, 31], "int32")])[0].tolist()).toEqual([16, 0, -2147483648]));
  row("shift_right_logical", () => {
    expect(run("shift_right_logical", [arr([-16, 16, -1], "int32"), arr([2, 40, 28], "int32")])[0].tolist()).toEqual([1073741820, 0, 15]);
    expect(run("shift_right_logical", [arr([-1], "int8"), arr([1], "int8")])[0].tolist()).toEqual([127]);
  });
  row("shift_right_arithmetic", () =>
    expect(run("shift_right_arithmetic", [arr([-16, 16, -1], "int32"), arr([2, 40, 99], "int32")])[0].tolist()).toEqual([-4, 0, -1]));
  it("integer division and remainder follow XLA (jax-reference §3)", () => {
    const a = arr([7, -7, 7, -7, 5, 0, -2147483648], "int32");
    const b = arr([2, 2, -2, -2, 0, 0, -1], "int32");
    // lax.div truncates; x / 0 = -1; INT_MIN / -1 = INT_MIN.
    expect(run("div", [a, b])[0].tolist()).toEqual([3, -3, -3, 3, -1, -1, -2147483648]);
    // lax.rem has the dividend's sign; x % 0 = x.
    expect(run("rem", [a, b])[0].tolist()).toEqual([1, -1, 1, -1, 5, 0, 0]);
    expect(run("div", [arr([5], "uint32"), arr([0], "uint32")])[0].tolist()).toEqual([4294967295]);
  });
  it("int32 arithmetic wraps", () => {
    expect(run("add", [arr([2147483647], "int32"), arr([1], "int32")])[0].tolist()).toEqual([-2147483648]);
    expect(run("mul", [arr([65536], "int32"), arr([65537], "int32")])[0].tolist()).toEqual([65536]);
    expect(run("sub", [arr([0], "uint32"), arr([1], "uint32")])[0].tolist()).toEqual([4294967295]);
  });
  it("NaN propagates through max and min", () => {
    expect(run("max", [arr([NaN, 1]), arr([1, NaN])])[0].dataSync().every(Number.isNaN)).toBe(true);
    expect(run("min", [arr([NaN, 1]), arr([1, NaN])])[0].dataSync().every(Number.isNaN)).toBe(true);
  });
  it("float16 arithmetic rounds each result to float16", () => {
    const [y] = run("add", [arr([0.1], "float16"), arr([0.2], "float16")]);
    expect(y.dtype).toBe(float16);
    // f16(0.1) + f16(0.2) = 0.0999755859375 + 0.199951171875 = 0.2999267578125 -> nearest f16 0.2998046875
    expect(Array.from(y.dataSync())).toEqual([0.2998046875]);
  });
  row("select_n", () => {
    const [y] = run("select_n", [arr([true, false, true], "bool"), arr([1, 2, 3]), arr([10, 20, 30])]);
    expect(y.tolist()).toEqual([10, 2, 30]);
    const [z] = run("select_n", [arr([2, 0, 1], "int32"), arr([1, 2, 3]), arr([10, 20, 30]), arr([100, 200, 300])]);
    expect(z.tolist()).toEqual([100, 2, 30]);
  });
  row("clamp", () => expect(run("clamp", [arr(0), arr([-1, 0.5, 2]), arr(1)])[0].tolist()).toEqual([0, 0.5, 1]));
});

/** Reference transpose/broadcast helpers over nested arrays. */
function idx(shape: number[], flatIndex: number): number[] {
  const out: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) (out[d] = flatIndex % shape[d]), (flatIndex = Math.floor(flatIndex / shape[d]));
  return out;
}
function at(v: Nested, i: number[]): number {
  let c: Nested = v;
  for (const k of i) c = (c as Nested[])[k];
  return Number(c);
}
const M23 = [[1, 2, 3], [4, 5, 6]];
const T234 = Array.from({ length: 2 }, (_, i) => Array.from({ length: 3 }, (_, j) => Array.from({ length: 4 }, (_, k) => 100 * i + 10 * j + k)));

describe("movement", () => {
  row("reshape", () => {
    const [y] = run("reshape", [arr(M23)], { new_sizes: [3, 2], dimensions: null });
    expect(y.tolist()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(() => run("reshape", [arr(M23)], { new_sizes: [4], dimensions: null })).toThrow(/reshape: cannot reshape array of shape \[2, 3\]/);
  });
  row("broadcast_in_dim", () => {
    const [y] = run("broadcast_in_dim", [arr([1, 2, 3])], { shape: [2, 3], broadcast_dimensions: [1], sharding: null });
    expect(y.tolist()).toEqual([[1, 2, 3], [1, 2, 3]]);
    const [z] = run("broadcast_in_dim", [arr([[1], [2]])], { shape: [2, 4, 3], broadcast_dimensions: [0, 2], sharding: null });
    const want = Array.from({ length: 24 }, (_, f) => { const [i] = idx([2, 4, 3], f); return i + 1; });
    expect(Array.from(z.dataSync())).toEqual(want);
  });
  row("transpose", () => {
    const perm = [2, 0, 1];
    const [y] = run("transpose", [arr(T234)], { permutation: perm });
    expect(y.shape).toEqual([4, 2, 3]);
    const want = Array.from({ length: 24 }, (_, f) => { const o = idx([4, 2, 3], f); const i: number[] = []; perm.forEach((p, k) => (i[p] = o[k])); return at(T234, i); });
    expect(Array.from(y.dataSync())).toEqual(want);
  });
  row("squeeze", () => expect(run("squeeze", [arr([[[1], [2]]])], { dimensions: [0, 2] })[0].tolist()).toEqual([1, 2]));
  row("rev", () => expect(run("rev", [arr(M23)], { dimensions: [0, 1] })[0].tolist()).toEqual([[6, 5, 4], [3, 2, 1]]));
  row("slice", () => {
    const [y] = run("slice", [arr(T234)], { start_indices: [1, 0, 1], limit_indices: [2, 3, 4], strides: [1, 2, 2] });
    expect(y.tolist()).toEqual([[[101, 103], [121, 123]]]);
  });
  row("pad", () => {
    const [y] = run("pad", [arr([1, 2, 3]), arr(0)], { padding_config: [[1, 2, 1]] });
    expect(y.tolist()).toEqual([0, 1, 0, 2, 0, 3, 0, 0]);
    const [z] = run("pad", [arr([1, 2, 3, 4]), arr(9)], { padding_config: [[-1, 1, 0]] });
    expect(z.tolist()).toEqual([2, 3, 4, 9]);
  });
  row("concatenate", () => {
    const [y] = run("concatenate", [arr(M23), arr([[7], [8]])], { dimension: 1 });
    expect(y.tolist()).toEqual([[1, 2, 3, 7], [4, 5, 6, 8]]);
  });
  row("iota", () => {
    expect(run("iota", [], { dtype: int32, shape: [2, 3], dimension: 1, sharding: null })[0].tolist()).toEqual([[0, 1, 2], [0, 1, 2]]);
    expect(run("iota", [], { dtype: float32, shape: [3, 1], dimension: 0, sharding: null })[0].tolist()).toEqual([[0], [1], [2]]);
  });
  row("dynamic_slice", () => {
    const x = arr([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
    expect(run("dynamic_slice", [x, arr(1, "int32"), arr(2, "int32")], { slice_sizes: [2, 2] })[0].tolist()).toEqual([[6, 7], [10, 11]]);
    // Start indices are clamped so the window fits.
    expect(run("dynamic_slice", [x, arr(5, "int32"), arr(-3, "int32")], { slice_sizes: [2, 2] })[0].tolist()).toEqual([[4, 5], [8, 9]]);
  });
  row("dynamic_update_slice", () => {
    const x = arr([[0, 0, 0], [0, 0, 0]]);
    expect(run("dynamic_update_slice", [x, arr([[1, 2]]), arr(1, "int32"), arr(5, "int32")])[0].tolist()).toEqual([[0, 0, 0], [0, 1, 2]]);
  });
  row("bitcast_convert_type", () => {
    expect(run("bitcast_convert_type", [arr([1, -2])], { new_dtype: uint32 })[0].tolist()).toEqual([0x3f800000, 0xc0000000]);
    expect(run("bitcast_convert_type", [arr([0x3f800000], "int32")], { new_dtype: float32 })[0].tolist()).toEqual([1]);
  });
});

describe("reductions", () => {
  const R = [[1, -2, 3.5], [4, 5, -6]];
  const reduceRows: [string, (a: number, b: number) => number, number][] = [
    ["reduce_sum", (a, b) => a + b, 0], ["reduce_prod", (a, b) => a * b, 1], ["reduce_max", Math.max, -Infinity], ["reduce_min", Math.min, Infinity],
  ];
  for (const [name, f, init] of reduceRows)
    row(name, () => {
      const ref = (axes: number[]) => {
        const out = new Map<string, number>();
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 3; j++) {
            const k = [i, j].filter((_, d) => !axes.includes(d)).join(",");
            out.set(k, f(out.get(k) ?? init, R[i][j]));
          }
        return [...out.values()];
      };
      for (const axes of [[0], [1], [0, 1], []]) close(run(name, [arr(R)], { axes, out_sharding: null })[0].dataSync(), ref(axes), 1e-7);
      expect(run(name, [arr(R)], { axes: [1], out_sharding: null })[0].shape).toEqual([2]);
    });
  row("reduce_and", () => expect(run("reduce_and", [arr([[true, false], [true, true]], "bool")], { axes: [1], out_sharding: null })[0].tolist()).toEqual([false, true]));
  row("reduce_or", () => expect(run("reduce_or", [arr([[true, false], [false, false]], "bool")], { axes: [1], out_sharding: null })[0].tolist()).toEqual([true, false]));
  row("argmax", () => {
    // NaN wins, ties go to the first index.
    expect(run("argmax", [arr([[1, 3, 3], [2, NaN, NaN]])], { axes: [1], index_dtype: int32 })[0].tolist()).toEqual([1, 1]);
    expect(run("argmax", [arr([[1, 3], [5, 0]])], { axes: [0], index_dtype: int32 })[0].tolist()).toEqual([1, 0]);
  });
  row("argmin", () => expect(run("argmin", [arr([[4, 1, 1], [NaN, 0, -1]])], { axes: [1], index_dtype: int32 })[0].tolist()).toEqual([1, 0]));
  const C = [[1, 2, 3], [4, 5, 6]];
  row("cumsum", () => {
    expect(run("cumsum", [arr(C)], { axis: 1, reverse: false })[0].tolist()).toEqual([[1, 3, 6], [4, 9, 15]]);
    expect(run("cumsum", [arr(C)], { axis: 0, reverse: true })[0].tolist()).toEqual([[5, 7, 9], [4, 5, 6]]);
  });
  row("cumprod", () => expect(run("cumprod", [arr(C)], { axis: 1, reverse: false })[0].tolist()).toEqual([[1, 2, 6], [4, 20, 120]]));
  row("cummax", () => expect(run("cummax", [arr([1, 3, 2, NaN, 5])], { axis: 0, reverse: false })[0].dataSync().slice(0, 3)).toEqual(new Float32Array([1, 3, 3])));
  row("cummin", () => expect(run("cummin", [arr([3, 1, 2])], { axis: 0, reverse: false })[0].tolist()).toEqual([3, 1, 1]));
  row("cumlogsumexp", () => close(run("cumlogsumexp", [arr([0, 0, Math.log(2)])], { axis: 0, reverse: false })[0].dataSync(), [0, Math.log(2), Math.log(4)], 1e-6));
});

describe("contraction, indexing, sort", () => {
  row("dot_general", () => {
    // Batched matmul [2,2,3] x [2,3,2] against a float64 triple loop.
    const a = [[[1, 2, 3], [4, 5, 6]], [[-1, 0.5, 2], [3, -2, 1]]];
    const b = [[[1, 0], [0, 1], [1, 1]], [[2, 1], [0.5, -1], [1, 3]]];
    const want: number[] = [];
    for (let n = 0; n < 2; n++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[n][i][k] * b[n][k][j];
      want.push(s);
    }
    const [y] = run("dot_general", [arr(a), arr(b)], { dimension_numbers: [[[2], [1]], [[0], [0]]], precision: null, preferred_element_type: null });
    expect(y.shape).toEqual([2, 2, 2]);
    close(y.dataSync(), want, 1e-6);
    expect(() => run("dot_general", [arr([[1, 2]]), arr([[1, 2]])], { dimension_numbers: [[[1], [0]], [[], []]], precision: null, preferred_element_type: null }))
      .toThrow(/dot_general: contracting dimensions must have the same size, got 2 and 1/);
    // 0 * inf is NaN, as IEEE says, even though the zero could be skipped.
    expect(run("dot_general", [arr([[0, 1]]), arr([[Infinity], [1]])], { dimension_numbers: [[[1], [0]], [[], []]], precision: null, preferred_element_type: null })[0].dataSync()[0]).toBeNaN();
  });
  const x = arr([[0, 1], [10, 11], [20, 21]]);
  const rowsDN = { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0] };
  row("gather", () => {
    const p = { dimension_numbers: rowsDN, slice_sizes: [1, 2], mode: "clip", fill_value: null, indices_are_sorted: false, unique_indices: false };
    expect(run("gather", [x, arr([[2], [0], [7]], "int32")], p)[0].tolist()).toEqual([[20, 21], [0, 1], [20, 21]]);
    expect(run("gather", [x, arr([[2], [-1]], "int32")], { ...p, mode: "fill" })[0].dataSync().slice(0, 2)).toEqual(new Float32Array([20, 21]));
    expect(Array.from(run("gather", [x, arr([[2], [-1]], "int32")], { ...p, mode: "fill" })[0].dataSync()).slice(2).every(Number.isNaN)).toBe(true);
  });
  const sdn = { update_window_dims: [1], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0] };
  const sp = { dimension_numbers: sdn, mode: "fill", indices_are_sorted: false, unique_indices: false };
  const idxs = arr([[2], [0], [2], [5]], "int32");
  const upd = arr([[1, 1], [2, 2], [3, 3], [9, 9]]);
  row("scatter", () => expect(run("scatter", [x, arr([[1], [5]], "int32"), arr([[7, 7], [8, 8]])], sp)[0].tolist()).toEqual([[0, 1], [7, 7], [20, 21]]));
  row("scatter-add", () => expect(run("scatter-add", [x, idxs, upd], sp)[0].tolist()).toEqual([[2, 3], [10, 11], [24, 25]]));
  row("scatter-mul", () => expect(run("scatter-mul", [x, idxs, upd], sp)[0].tolist()).toEqual([[0, 2], [10, 11], [60, 63]]));
  row("scatter-min", () => expect(run("scatter-min", [x, idxs, upd], sp)[0].tolist()).toEqual([[0, 1], [10, 11], [1, 1]]));
  row("scatter-max", () => expect(run("scatter-max", [x, idxs, upd], sp)[0].tolist()).toEqual([[2, 2], [10, 11], [20, 21]]));
  row("sort", () => {
    const keys = [3, NaN, -1, -0, 0, -Infinity, 3];
    const [s, perm] = run("sort", [arr(keys), arr([0, 1, 2, 3, 4, 5, 6], "int32")], { dimension: 0, is_stable: true, num_keys: 1 });
    expect(perm.tolist()).toEqual([5, 2, 3, 4, 0, 6, 1]);
    expect(Object.is(s.dataSync()[2], -0)).toBe(true);
    expect(run("sort", [arr([[3, 1, 2], [0, -1, 5]])], { dimension: 1, is_stable: false, num_keys: 1 })[0].tolist()).toEqual([[1, 2, 3], [-1, 0, 5]]);
  });
});

describe("registry", () => {
  it("every registered primitive has a row in this table", () => {
    const missing = allPrimitives().map((p) => p.name).filter((n) => !covered.has(n));
    expect(missing).toEqual([]);
  });
  it("dtype table is complete", () => expect(Object.keys(DTYPES).length).toBe(10));
});
