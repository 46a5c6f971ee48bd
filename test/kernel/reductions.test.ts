// jax.numpy reductions: values against float64 references computed here with plain JS loops
// over nested arrays, JAX/NumPy documented examples, dtype and weak-type rules, NaN handling,
// keepdims shapes and error messages.
import "../../kernel/backends/cpu/cpu-backend";
import { describe, expect, it } from "vitest";
import * as np from "../../kernel/api/reductions";
import { array } from "../../kernel/api/creation";
import { NDArray, NestedList } from "../../kernel/core/ndarray";
import { AxisError, ValueError } from "../../kernel/core/errors";
import { ShapedArray } from "../../kernel/core/aval";
import { bool, float32 } from "../../kernel/core/dtype";
import { Primitive } from "../../kernel/core/primitive";
import { Tracer, withNewMain } from "../../kernel/core/trace";
import { AbsTrace as RecTrace, AbsTracer as RecTracer } from "./helpers/abstract-trace";

// ---- independent references ----

type Nested = number | Nested[];

function shapeOf(x: Nested): number[] {
  const s: number[] = [];
  for (let c: Nested = x; Array.isArray(c); c = c[0]) s.push(c.length);
  return s;
}
function flatOf(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flatOf) : [x];
}
function build(shape: number[], at: (idx: number[]) => number, prefix: number[] = []): Nested {
  if (prefix.length === shape.length) return at(prefix);
  return Array.from({ length: shape[prefix.length] }, (_, i) => build(shape, at, [...prefix, i]));
}
function get(x: Nested, idx: number[]): number {
  let c = x;
  for (const i of idx) c = (c as Nested[])[i];
  return c as number;
}
/** For each output position, applies `f` to the values reduced into it (axes null = all). */
function groupRef(x: Nested, axes: number[] | null, f: (vals: number[]) => number, keepdims = false): Nested {
  const shape = shapeOf(x);
  const ax = axes === null ? shape.map((_, i) => i) : axes.map((a) => (a < 0 ? a + shape.length : a));
  const outShape = keepdims ? shape.map((d, i) => (ax.includes(i) ? 1 : d)) : shape.filter((_, i) => !ax.includes(i));
  return build(outShape, (oidx) => {
    const kept = keepdims ? oidx.filter((_, i) => !ax.includes(i)) : oidx;
    const vals: number[] = [];
    const walk = (d: number, idx: number[], k: number): void => {
      if (d === shape.length) return void vals.push(get(x, idx));
      if (ax.includes(d)) for (let i = 0; i < shape[d]; i++) walk(d + 1, [...idx, i], k);
      else walk(d + 1, [...idx, kept[k]], k + 1);
    };
    walk(0, [], 0);
    return f(vals);
  });
}
/** Running fold along one axis. */
function scanRef(x: Nested, axis: number, f: (acc: number, v: number) => number): Nested {
  const shape = shapeOf(x);
  return build(shape, (idx) => {
    let acc = get(x, idx.map((v, d) => (d === axis ? 0 : v)));
    for (let i = 1; i <= idx[axis]; i++) acc = f(acc, get(x, idx.map((v, d) => (d === axis ? i : v))));
    return acc;
  });
}
const rsum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const rmean = (v: number[]) => rsum(v) / v.length;
const rvar = (ddof: number) => (v: number[]) => {
  const m = rmean(v);
  return v.length - ddof <= 0 ? NaN : rsum(v.map((e) => (e - m) ** 2)) / (v.length - ddof);
};
const rmax = (v: number[]) => (v.some(Number.isNaN) ? NaN : Math.max(...v));
const rmin = (v: number[]) => (v.some(Number.isNaN) ? NaN : Math.min(...v));
const rlse = (v: number[]) => {
  const m = Math.max(...v);
  return m + Math.log(rsum(v.map((e) => Math.exp(e - m))));
};

/** Deterministic float32-representable data in [-5, 5). */
function randomNested(shape: number[], seed = 1): Nested {
  let s = seed >>> 0;
  return build(shape, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround((s / 2 ** 32) * 10 - 5);
  });
}

function expectClose(actual: NestedList, expected: Nested, rtol = 1e-5, atol = 1e-6): void {
  expect(shapeOf(actual as Nested)).toEqual(shapeOf(expected));
  const a = flatOf(actual as Nested);
  const e = flatOf(expected);
  a.forEach((v, i) => {
    if (Number.isNaN(e[i])) expect(v, `element ${i}`).toBeNaN();
    else if (!Number.isFinite(e[i])) expect(v, `element ${i}`).toBe(e[i]);
    else expect(Math.abs(v - e[i]), `element ${i}: ${v} vs ${e[i]}`).toBeLessThanOrEqual(atol + rtol * Math.abs(e[i]));
  });
}
const f32 = (x: Nested) => array(x as NestedList, { dtype: "float32" });

// ---- tests ----

const X = [[1, 3, 4, 2], [5, 2, 6, 3], [8, 1, 3, 9]];

describe("sum and prod", () => {
  it("matches JAX's documented examples", () => {
    const x = array(X);
    expect(np.sum(x).tolist()).toBe(47);
    expect(np.sum(x, 1).tolist()).toEqual([10, 16, 21]);
    expect(np.sum(x, { axis: 1, keepdims: true }).tolist()).toEqual([[10], [16], [21]]);
    const where = array([[0, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0]], { dtype: "bool" });
    expect(np.sum(x, { axis: 1, keepdims: true, where }).tolist()).toEqual([[4], [9], [12]]);
    expect(np.sum(x, { axis: 0, keepdims: true, where: array([[false], [false], [false]]) }).tolist()).toEqual([[0, 0, 0, 0]]);
    const p = array([[1, 3, 4, 2], [5, 2, 1, 3], [2, 1, 3, 1]]);
    expect(np.prod(p).tolist()).toBe(4320);
    expect(np.prod(p, 1).tolist()).toEqual([24, 30, 6]);
    const pw = array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0]], { dtype: "bool" });
    expect(np.prod(p, { axis: 1, keepdims: true, where: pw }).tolist()).toEqual([[4], [3], [6]]);
  });

  it("agrees with a float64 reference over every axis combination", () => {
    const data = randomNested([3, 4, 5]);
    const x = f32(data);
    for (const axes of [null, [0], [1], [2], [0, 2], [-1, 0], [0, 1, 2]] as (number[] | null)[]) {
      expectClose(np.sum(x, axes).tolist(), groupRef(data, axes, rsum), 1e-5, 1e-5);
      expectClose(np.sum(x, axes, { keepdims: true }).tolist(), groupRef(data, axes, rsum, true), 1e-5, 1e-5);
      expectClose(np.prod(x, axes).tolist(), groupRef(data, axes, (v) => v.reduce((a, b) => a * b, 1)), 1e-4, 1e-6);
    }
  });

  it("follows JAX's dtype rules", () => {
    expect(np.sum(array([100, 100, 100], { dtype: "int8" })).dtype.name).toBe("int32");
    expect(np.sum(array([100, 100, 100], { dtype: "int8" })).item()).toBe(300);
    expect(np.sum(array([200, 200], { dtype: "uint8" })).dtype.name).toBe("uint32");
    expect(np.sum(array([true, true, false])).dtype.name).toBe("int32");
    expect(np.sum(array([true, true, false])).item()).toBe(2);
    expect(np.prod(array([2, 3], { dtype: "int16" })).dtype.name).toBe("int32");
    expect(np.sum(array([1, 2], { dtype: "int8" }), { promoteIntegers: false }).dtype.name).toBe("int8");
    expect(np.sum(array([1, 2]), { dtype: "float32" }).dtype.name).toBe("float32");
    // f16 accumulates in f32: 2048 + 1 + 1 is exact, though 2048 + 1 is not representable in f16.
    const h = np.sum(array([2048, 1, 1], { dtype: "float16" }));
    expect(h.dtype.name).toBe("float16");
    expect(h.item()).toBe(2050);
    expect(np.sum(array([true, false]), { dtype: "bool" }).tolist()).toBe(true);
  });

  it("returns strongly typed results, also for weak inputs", () => {
    const s = np.sum(3);
    expect(s.dtype.name).toBe("int32");
    expect(s.weakType).toBe(false);
    expect(np.sum(2.5).weakType).toBe(false);
  });

  it("folds in `initial`", () => {
    expect(np.sum(array([1, 2, 3]), { initial: 10 }).item()).toBe(16);
    expect(np.prod(array([1, 2, 3]), { initial: 2 }).item()).toBe(12);
  });

  it("names the op and the shapes in errors", () => {
    const x = array([[1, 2], [3, 4]]);
    expect(() => np.sum(x, 3)).toThrow(AxisError);
    expect(() => np.sum(x, 3)).toThrow("sum: axis 3 is out of bounds for array of dimension 2");
    expect(() => np.sum(x, [0, -2])).toThrow(/sum: repeated axis/);
    expect(() => np.sum(x, 0, { axis: 1 })).toThrow(/multiple values for argument 'axis'/);
    expect(() => np.sum(x, { where: array([true, false, true]) })).toThrow(/sum: .*\[3\].*\[2, 2\]/);
  });
});

describe("max and min", () => {
  const M = [[9, 3, 4, 5], [5, 2, 7, 4], [8, 1, 3, 6]];
  const W = [[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0]];
  it("matches JAX's documented examples", () => {
    const x = array(M);
    expect(np.max(x).tolist()).toBe(9);
    expect(np.max(x, 1).tolist()).toEqual([9, 7, 8]);
    expect(np.max(x, { axis: 1, keepdims: true }).tolist()).toEqual([[9], [7], [8]]);
    const wmax = array([[0, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0]], { dtype: "bool" });
    expect(np.max(x, { axis: 1, keepdims: true, initial: 0, where: wmax }).tolist()).toEqual([[4], [7], [8]]);
    const where = array(W, { dtype: "bool" });
    const y = array([[2, 5, 1, 6], [3, -7, -2, 4], [8, -4, 1, -3]]);
    expect(np.min(y).tolist()).toBe(-7);
    expect(np.min(y, 1).tolist()).toEqual([1, -7, -4]);
    expect(np.min(y, { axis: 1, keepdims: true, initial: 0, where }).tolist()).toEqual([[0], [-2], [-4]]);
    expect(np.amax(x, 0).tolist()).toEqual([9, 3, 7, 6]);
    expect(np.amin(x, 0).tolist()).toEqual([5, 1, 3, 4]);
  });

  it("propagates NaN and agrees with a float64 reference", () => {
    const data = randomNested([4, 3], 7) as number[][];
    data[1][2] = NaN;
    const x = f32(data);
    for (const axes of [null, [0], [1]] as (number[] | null)[]) {
      expectClose(np.max(x, axes).tolist(), groupRef(data, axes, rmax));
      expectClose(np.min(x, axes).tolist(), groupRef(data, axes, rmin));
    }
    expect(np.max(array([1, NaN, 3])).item()).toBeNaN();
  });

  it("keeps the input dtype", () => {
    expect(np.max(array([1, -3], { dtype: "int8" })).dtype.name).toBe("int8");
    expect(np.max(array([true, false])).tolist()).toBe(true);
    expect(np.max(2).weakType).toBe(false);
  });

  it("raises NumPy's error for empty reductions without `initial`", () => {
    const e = array([] as number[], { dtype: "float32" });
    expect(() => np.max(e)).toThrow(ValueError);
    expect(() => np.max(e)).toThrow(/zero-size array to reduction operation max which has no identity/);
    expect(() => np.min(array([[], []] as number[][]), 1)).toThrow(/reduction operation min which has no identity.*\[2, 0\]/);
    expect(np.max(e, { initial: -1 }).item()).toBe(-1);
    expect(np.max(array([[], []] as number[][]), 0).shape).toEqual([0]);
    expect(() => np.max(array([1, 2]), { where: array([true, false]) })).toThrow(/to use a where mask one has to specify 'initial'/);
  });
});

describe("argmax and argmin", () => {
  it("returns int32 indices; NaN wins, ties go to the first index", () => {
    expect(np.argmax(array([3, 1, 3])).item()).toBe(0);
    expect(np.argmin(array([1, 0, 0])).item()).toBe(1);
    expect(np.argmax(array([1, NaN, 3, NaN])).item()).toBe(1);
    expect(np.argmin(array([2, NaN, 0])).item()).toBe(1);
    expect(np.argmax(array([1, 2])).dtype.name).toBe("int32");
  });

  it("flattens for axis null and keeps dims when asked", () => {
    const data = [[1, 9, 2], [8, 0, 9]];
    const x = array(data);
    expect(np.argmax(x).item()).toBe(1);
    expect(np.argmin(x).item()).toBe(4);
    expect(np.argmax(x, 0).tolist()).toEqual([1, 0, 1]);
    expect(np.argmax(x, -1).tolist()).toEqual([1, 2]);
    expect(np.argmax(x, { axis: 1, keepdims: true }).tolist()).toEqual([[1], [2]]);
    expect(np.argmax(x, { keepdims: true }).shape).toEqual([1, 1]);
  });

  it("agrees with a reference on random data", () => {
    const data = randomNested([5, 6], 3) as number[][];
    const firstArg = (better: (a: number, b: number) => boolean) => (v: number[]) =>
      v.reduce((bi, e, i) => (better(e, v[bi]) ? i : bi), 0);
    expect(np.argmax(f32(data), 1).tolist()).toEqual(groupRef(data, [1], firstArg((a, b) => a > b)));
    expect(np.argmin(f32(data), 0).tolist()).toEqual(groupRef(data, [0], firstArg((a, b) => a < b)));
  });

  it("rejects empty sequences and bad axes", () => {
    expect(() => np.argmax(array([] as number[]))).toThrow(/argmax: attempt to get argmax of an empty sequence/);
    expect(() => np.argmin(array([1, 2]), 1)).toThrow("argmin: axis 1 is out of bounds for array of dimension 1");
  });
});

describe("all and any", () => {
  const B = [[true, true, true, false], [true, false, true, false], [true, true, false, false]];
  it("matches JAX's documented examples", () => {
    const x = array(B);
    expect(np.all(x).tolist()).toBe(false);
    expect(np.all(x, 0).tolist()).toEqual([true, false, false, false]);
    expect(np.all(x, { axis: 0, keepdims: true }).tolist()).toEqual([[true, false, false, false]]);
    const w1 = array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0]], { dtype: "bool" });
    expect(np.all(x, { axis: 0, keepdims: true, where: w1 }).tolist()).toEqual([[true, true, false, false]]);
    expect(np.any(x).tolist()).toBe(true);
    expect(np.any(x, 0).tolist()).toEqual([true, true, true, false]);
    const w2 = array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]], { dtype: "bool" });
    expect(np.any(x, { axis: 0, keepdims: true, where: w2 }).tolist()).toEqual([[true, false, true, false]]);
  });
  it("casts numbers to bool (NaN is true) and returns bool", () => {
    expect(np.any(array([0, NaN])).tolist()).toBe(true);
    expect(np.all(array([1, 0.5, -2])).tolist()).toBe(true);
    expect(np.all(array([1, 0])).dtype.name).toBe("bool");
    expect(np.all(array([] as number[])).tolist()).toBe(true);
    expect(np.any(array([] as number[])).tolist()).toBe(false);
  });
});

describe("mean, var, std", () => {
  it("matches JAX's documented mean examples", () => {
    const x = array([[1, 3, 4, 2], [5, 2, 6, 3], [8, 1, 2, 9]]);
    const m = np.mean(x);
    expect(m.dtype.name).toBe("float32");
    expect(m.item()).toBe(Math.fround(46 / 12));
    expect(np.mean(x, 1).tolist()).toEqual([2.5, 4, 5]);
    const where = array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 1]], { dtype: "bool" });
    expect(np.mean(x, { axis: 1, keepdims: true, where }).tolist()).toEqual([[2.5], [2.5], [6]]);
  });

  it("matches JAX's documented var/std examples", () => {
    const x = array([[1, 3, 4, 2], [5, 2, 6, 3], [8, 4, 2, 9]]);
    expectClose(np.var(x).tolist(), 269 / 12 - (49 / 12) ** 2, 1e-6);
    expect(np.var(x, 1).tolist()).toEqual([1.25, 2.5, 8.1875]);
    expectClose(np.var(x, { axis: 1, keepdims: true, ddof: 1 }).tolist(), [[5 / 3], [10 / 3], [32.75 / 3]]);
    const wv = array([[1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 1, 0]], { dtype: "bool" });
    expectClose(np.var(x, { axis: 1, keepdims: true, where: wv }).tolist(), [[2.25], [4], [56 / 9]]);
    const y = array([[1, 3, 4, 2], [4, 2, 5, 3], [5, 4, 2, 3]]);
    expectClose(np.std(y).tolist(), Math.sqrt(138 / 12 - (38 / 12) ** 2), 1e-6);
    expectClose(np.std(y, 0, { keepdims: true, ddof: 1 }).tolist(), [[Math.sqrt(13 / 3), 1, Math.sqrt(7 / 3), Math.sqrt(1 / 3)]]);
    const ws = array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 1, 0]], { dtype: "bool" });
    expect(np.std(y, { axis: 0, keepdims: true, where: ws }).tolist()).toEqual([[2, 1, 1, 0]]);
  });

  it("agrees with float64 references on random data", () => {
    const data = randomNested([4, 5, 3], 11);
    const x = f32(data);
    for (const axes of [null, [0], [2], [0, 1]] as (number[] | null)[]) {
      expectClose(np.mean(x, axes).tolist(), groupRef(data, axes, rmean));
      expectClose(np.var(x, axes).tolist(), groupRef(data, axes, rvar(0)), 1e-5, 1e-5);
      expectClose(np.std(x, axes, { ddof: 1 }).tolist(), groupRef(data, axes, (v) => Math.sqrt(rvar(1)(v))), 1e-5, 1e-5);
    }
  });

  it("follows JAX's dtype rules", () => {
    expect(np.mean(array([1, 2], { dtype: "int32" })).dtype.name).toBe("float32");
    expect(np.mean(array([true, false, true])).item()).toBeCloseTo(2 / 3, 6);
    expect(np.mean(array([1, 2], { dtype: "float16" })).dtype.name).toBe("float16");
    expect(np.var(array([1, 2, 3], { dtype: "int8" })).dtype.name).toBe("float32");
    expect(np.mean(array([1, 2]), { dtype: "int32" }).dtype.name).toBe("int32");
    expect(() => np.std(array([1, 2]), { dtype: "int32" })).toThrow(/std: dtype argument to jnp.std must be inexact/);
  });

  it("gives NaN for empty means and N - ddof <= 0", () => {
    expect(np.mean(array([] as number[], { dtype: "float32" })).item()).toBeNaN();
    expect(np.var(array([1, 2]), { ddof: 2 }).item()).toBeNaN();
    expect(np.var(array([1, 2, 4]), { correction: 1 }).item()).toBeCloseTo(7 / 3, 5);
    expect(() => np.var(array([1, 2]), { ddof: 1, correction: 1 })).toThrow(/ddof and correction/);
  });
});

describe("cumulative reductions", () => {
  it("matches JAX's documented examples", () => {
    const x = array([[1, 2, 3], [4, 5, 6]]);
    expect(np.cumsum(x).tolist()).toEqual([1, 3, 6, 10, 15, 21]);
    expect(np.cumsum(x, 1).tolist()).toEqual([[1, 3, 6], [4, 9, 15]]);
    expect(np.cumprod(x).tolist()).toEqual([1, 2, 6, 24, 120, 720]);
    expect(np.cumprod(x, { axis: 1 }).tolist()).toEqual([[1, 2, 6], [4, 20, 120]]);
    const n = array([[1, 2, NaN], [4, NaN, 6]]);
    expectClose(np.cumsum(n).tolist(), [1, 3, NaN, NaN, NaN, NaN]);
  });

  it("agrees with a float64 reference", () => {
    const data = randomNested([3, 4], 5);
    const x = f32(data);
    expectClose(np.cumsum(x, 0).tolist(), scanRef(data, 0, (a, b) => a + b));
    expectClose(np.cumsum(x, -1).tolist(), scanRef(data, 1, (a, b) => a + b));
    expectClose(np.cumprod(x, 1).tolist(), scanRef(data, 1, (a, b) => a * b), 1e-5);
    expectClose(np.cummax(x, 0).tolist(), scanRef(data, 0, Math.max));
    expectClose(np.cummin(x, 1).tolist(), scanRef(data, 1, Math.min));
    expectClose(np.cummax(array([1, NaN, 3])).tolist(), [1, NaN, NaN]);
  });

  it("follows JAX's dtype rules", () => {
    const b = np.cumsum(array([true, true, false, true]));
    expect(b.dtype.name).toBe("int32");
    expect(b.tolist()).toEqual([1, 2, 2, 3]);
    expect(np.cumsum(array([1, 2], { dtype: "int8" })).dtype.name).toBe("int8");
    expect(np.cumsum(array([1, 2]), { dtype: "float32" }).dtype.name).toBe("float32");
    expect(np.cumsum(array([true, false]), { dtype: "bool" }).tolist()).toEqual([true, true]);
    expect(np.cummax(array([false, true, false])).tolist()).toEqual([false, true, true]);
    expect(np.cumsum(5).shape).toEqual([1]);
    expect(np.cumsum(5).weakType).toBe(false);
  });
});

describe("logsumexp", () => {
  it("agrees with a float64 reference", () => {
    const data = randomNested([3, 5], 9);
    const x = f32(data);
    for (const axes of [null, [0], [1]] as (number[] | null)[]) expectClose(np.logsumexp(x, axes).tolist(), groupRef(data, axes, rlse));
    expectClose(np.logsumexp(x, { axis: 1, keepdims: true }).tolist(), groupRef(data, [1], rlse, true));
  });
  it("is stable and handles infinities", () => {
    expectClose(np.logsumexp(array([1000, 1000])).tolist(), 1000 + Math.LN2);
    expectClose(np.logsumexp(array([-1000, -1000])).tolist(), -1000 + Math.LN2, 1e-6);
    expect(np.logsumexp(array([-Infinity, -Infinity])).item()).toBe(-Infinity);
    expect(np.logsumexp(array([1, Infinity])).item()).toBe(Infinity);
    expect(np.logsumexp(array([1, NaN])).item()).toBeNaN();
    expect(np.logsumexp(array([1, 2], { dtype: "int32" })).dtype.name).toBe("float32");
  });
  it("scales by `b`", () => {
    expectClose(np.logsumexp(array([0, Math.log(3)]), { b: array([2, 1]) }).tolist(), Math.log(5), 1e-6);
  });
});

describe("ptp, countNonzero, average", () => {
  it("matches JAX's documented ptp and count_nonzero examples", () => {
    const x = array([[1, 3, 5, 2], [4, 6, 8, 1], [7, 9, 3, 4]]);
    expect(np.ptp(x).tolist()).toBe(8);
    expect(np.ptp(x, 1).tolist()).toEqual([4, 7, 6]);
    expect(np.ptp(x, { axis: 1, keepdims: true }).tolist()).toEqual([[4], [7], [6]]);
    const c = array([[1, 0, 0, 0], [0, 0, 1, 0], [1, 1, 1, 0]]);
    expect(np.countNonzero(c).tolist()).toBe(5);
    expect(np.countNonzero(c).dtype.name).toBe("int32");
    expect(np.countNonzero(c, 1).tolist()).toEqual([1, 1, 3]);
    expect(np.countNonzero(array([0, NaN, 0.5])).item()).toBe(2);
  });
  it("matches NumPy's documented average examples", () => {
    expect(np.average(array([1, 2, 3, 4])).item()).toBe(2.5);
    const data = array([[0, 1], [2, 3], [4, 5]]);
    expect(np.average(data, 1, array([0.25, 0.75])).tolist()).toEqual([0.75, 2.75, 4.75]);
    const [avg, wsum] = np.average(data, 1, array([0.25, 0.75]), { returned: true });
    expect(avg.tolist()).toEqual([0.75, 2.75, 4.75]);
    expect(wsum.tolist()).toEqual([1, 1, 1]);
    const [a2, w2] = np.average(data, { axis: 0, returned: true });
    expect(a2.tolist()).toEqual([2, 3]);
    expect(w2.tolist()).toEqual([3, 3]);
    expect(() => np.average(data, { weights: array([1, 2]) })).toThrow(/Axis must be specified/);
    expect(() => np.average(data, 0, array([1, 2]))).toThrow(/Length of weights not compatible/);
  });
});

describe("NaN-ignoring reductions", () => {
  it("matches JAX's documented nanmean/nansum examples", () => {
    const x = array([[2, NaN, 4, 3], [NaN, -2, NaN, 9], [4, -7, 6, NaN]]);
    expect(np.nanmean(x).item()).toBe(2.375);
    expect(np.nanmean(x, 1).tolist()).toEqual([3, 3.5, 1]);
    const where = array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]], { dtype: "bool" });
    expect(np.nanmean(x, { axis: 1, keepdims: true, where }).tolist()).toEqual([[3], [9], [-1.5]]);
    expect(np.nansum(x).item()).toBe(19);
    expect(np.nansum(x, 0).tolist()).toEqual([6, -9, 10, 12]);
  });
  it("ignores NaN in nanmax/nanmin unless a slice is all NaN", () => {
    const data = [[1, NaN, 4], [NaN, NaN, NaN], [-3, 2, NaN]];
    const x = array(data);
    const ign = (f: (v: number[]) => number) => (v: number[]) => {
      const k = v.filter((e) => !Number.isNaN(e));
      return k.length ? f(k) : NaN;
    };
    expectClose(np.nanmax(x, 1).tolist(), groupRef(data, [1], ign(rmax)));
    expectClose(np.nanmin(x, 0).tolist(), groupRef(data, [0], ign(rmin)));
    expect(np.nanmax(x).item()).toBe(4);
    expect(np.nanmin(x, { axis: 1, keepdims: true }).shape).toEqual([3, 1]);
    expect(np.nanmax(array([1, 5, 2])).item()).toBe(5);
  });
});

describe("outputs are NDArrays built through bind", () => {
  it("accepts JS values as well as arrays", () => {
    expect(np.sum([[1, 2], [3, 4]]) instanceof NDArray).toBe(true);
    expect(np.max([1, 5, 2]).item()).toBe(5);
  });
});

// A minimal staging trace: records primitive names and returns abstract tracers, so any attempt
// to read a traced value in plain JS would throw.

describe("tracing", () => {
  it("every reduction runs on abstract values through bind", () => {
    const prims: string[] = [];
    withNewMain(RecTrace, prims, (main) => {
      const x = new RecTracer(new RecTrace(main), new ShapedArray([3, 4], float32));
      const w = new RecTracer(new RecTrace(main), new ShapedArray([3, 4], bool));
      const outs: [string, NDArray, number[]][] = [
        ["sum", np.sum(x, 1, { where: w }), [3]],
        ["prod", np.prod(x, { keepdims: true }), [1, 1]],
        ["max", np.max(x, 0, { initial: 0, where: w }), [4]],
        ["min", np.min(x), []],
        ["all", np.all(x, 1), [3]],
        ["any", np.any(x, null, { where: w }), []],
        ["mean", np.mean(x, 0, { where: w }), [4]],
        ["var", np.var(x, 1, { ddof: 1, where: w }), [3]],
        ["std", np.std(x), []],
        ["argmax", np.argmax(x), []],
        ["argmin", np.argmin(x, 1, { keepdims: true }), [3, 1]],
        ["cumsum", np.cumsum(x), [12]],
        ["cumprod", np.cumprod(x, 1), [3, 4]],
        ["cummax", np.cummax(x, 0), [3, 4]],
        ["cummin", np.cummin(x, 0), [3, 4]],
        ["logsumexp", np.logsumexp(x, 1, { b: x }), [3]],
        ["ptp", np.ptp(x, 0), [4]],
        ["average", np.average(x, 1, x), [3]],
        ["nansum", np.nansum(x), []],
        ["nanmean", np.nanmean(x, 0), [4]],
        ["nanmax", np.nanmax(x, 1), [3]],
        ["nanmin", np.nanmin(x, 1), [3]],
        ["countNonzero", np.countNonzero(x, 0), [4]],
      ];
      for (const [name, out, shape] of outs) {
        expect(out, name).toBeInstanceOf(Tracer);
        expect(out.shape, name).toEqual(shape);
      }
    });
    expect(prims).toContain("reduce_sum");
    expect(prims).toContain("argmax");
    expect(prims).toContain("cumsum");
  });
});
