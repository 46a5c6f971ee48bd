// Transformation rules of the reductions, cumulative reductions and dot_general
// (kernel/primitives/reduce.ts, contraction.ts), each checked against an independent reference:
//  - jvp against central finite differences of float64 reference implementations written here
//    (plain JS loops), or against float64 analytic derivatives (zeros of prod, ties of max);
//  - vjp (the transpose rules) by the dot-product test <ct, J t> == <J^T ct, t>, with J t from
//    jvp and J^T ct from vjp, and against analytic gradients;
//  - second derivatives (grad of <grad f, u>, i.e. Hessian-vector products) against analytic
//    Hessians computed here in float64;
//  - batching: vmap(f)(xs) equals stacking f(xs[i]), for batch axes 0 and 1 and unbatched
//    arguments (inAxes null).
import { describe, expect, it } from "vitest";
import { lax, np, NDArray } from "../../kernel/index";
import { grad, jvp, vjp } from "../../kernel/transforms/autodiff";
import { vmap } from "../../kernel/transforms/vmap";

// ---- float64 reference tensors ----

interface T {
  shape: number[];
  data: Float64Array;
}
const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}
function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + idx[d];
  return i;
}
const tensor = (shape: number[], f: (i: number, idx: number[]) => number): T => ({
  shape,
  data: Float64Array.from({ length: sizeOf(shape) }, (_, i) => f(i, unravel(i, shape))),
});
const of = (shape: number[], values: number[]): T => ({ shape, data: Float64Array.from(values) });

// A seeded generator (mulberry32), so failures reproduce.
let seed = 12345;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
/** Uniform in [lo, hi), rounded to float32 so that the float64 reference sees the same inputs. */
const rand = (shape: number[], lo = -1, hi = 1): T => tensor(shape, () => Math.fround(lo + (hi - lo) * random()));
/** Magnitudes in [0.5, 1.5) with random signs: products stay O(1). */
const randUnit = (shape: number[]): T => tensor(shape, () => Math.fround((random() < 0.5 ? -1 : 1) * (0.5 + random())));
/** Distinct values (a shuffled grid): no ties, so max/min are differentiable. */
function distinct(shape: number[]): T {
  const n = sizeOf(shape);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return of(shape, vals.map(Math.fround));
}

const nd = (t: T): NDArray => lax.reshape(np.array(Array.from(t.data), { dtype: "float32" }), t.shape);
const host = (x: NDArray): T => ({ shape: [...x.shape], data: Float64Array.from(x.dataSync() as ArrayLike<number>) });
const axpy = (a: number, x: T, y: T): T => ({ shape: y.shape, data: y.data.map((v, i) => v + a * x.data[i]) });
const inner = (a: T, b: T): number => a.data.reduce((s, v, i) => s + v * b.data[i], 0);
const absInner = (a: T, b: T): number => a.data.reduce((s, v, i) => s + Math.abs(v * b.data[i]), 0);

/** Slice i of axis `axis` (the axis removed). */
function take(t: T, axis: number, i: number): T {
  const shape = t.shape.filter((_, d) => d !== axis);
  return tensor(shape, (_, idx) => {
    const full = [...idx];
    full.splice(axis, 0, i);
    return t.data[ravel(full, t.shape)];
  });
}
function stack(ts: T[]): T {
  const shape = [ts.length, ...ts[0].shape];
  return tensor(shape, (_, [i, ...rest]) => ts[i].data[ravel(rest, ts[i].shape)]);
}

function expectClose(actual: T, expected: T, tol = 1e-4, what = ""): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const scale = Math.max(1, ...Array.from(expected.data, Math.abs).filter(Number.isFinite));
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (Number.isNaN(e)) expect(a, `${what} [${unravel(i, expected.shape)}]`).toBeNaN();
    else if (Math.abs(a - e) > tol * (scale + Math.abs(e)))
      expect.fail(`${what} at [${unravel(i, expected.shape)}]: got ${a}, expected ${e} (all: got [${Array.from(actual.data)}], expected [${Array.from(expected.data)}])`);
  }
}

// ---- float64 reference implementations ----

function refReduce(x: T, axes: number[], init: number, f: (acc: number, v: number) => number): T {
  const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const outShape = kept.map((d) => x.shape[d]);
  const out = new Float64Array(sizeOf(outShape)).fill(init);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    const o = ravel(kept.map((d) => idx[d]), outShape);
    out[o] = f(out[o], x.data[i]);
  }
  return { shape: outShape, data: out };
}
const refSum = (x: T, axes: number[]) => refReduce(x, axes, 0, (a, v) => a + v);
const refProd = (x: T, axes: number[]) => refReduce(x, axes, 1, (a, v) => a * v);
const refMax = (x: T, axes: number[]) => refReduce(x, axes, -Infinity, Math.max);
const refMin = (x: T, axes: number[]) => refReduce(x, axes, Infinity, Math.min);

/** out[k] = fold of x[0..k] (or x[k..n-1] when reversed) along `axis`. */
function refCum(x: T, axis: number, reverse: boolean, f: (acc: number, v: number) => number): T {
  return tensor(x.shape, (_, idx) => {
    const n = x.shape[axis];
    const k = idx[axis];
    const at = (j: number) => x.data[ravel(idx.map((v, d) => (d === axis ? j : v)), x.shape)];
    let acc = at(k);
    if (reverse) for (let j = k + 1; j < n; j++) acc = f(acc, at(j));
    else for (let j = k - 1; j >= 0; j--) acc = f(acc, at(j));
    return acc;
  });
}
function lse(a: number, b: number): number {
  const m = Math.max(a, b);
  return m === -Infinity ? -Infinity : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

type DN = [[number[], number[]], [number[], number[]]];
function refDot(a: T, b: T, [[ac, bc], [ab, bb]]: DN): T {
  const free = (rank: number, used: number[]) => Array.from({ length: rank }, (_, i) => i).filter((i) => !used.includes(i));
  const af = free(a.shape.length, [...ac, ...ab]);
  const bf = free(b.shape.length, [...bc, ...bb]);
  const outShape = [...ab.map((d) => a.shape[d]), ...af.map((d) => a.shape[d]), ...bf.map((d) => b.shape[d])];
  const cShape = ac.map((d) => a.shape[d]);
  return tensor(outShape, (_, idx) => {
    const ai = new Array<number>(a.shape.length);
    const bi = new Array<number>(b.shape.length);
    ab.forEach((d, k) => ((ai[d] = idx[k]), (bi[bb[k]] = idx[k])));
    af.forEach((d, k) => (ai[d] = idx[ab.length + k]));
    bf.forEach((d, k) => (bi[d] = idx[ab.length + af.length + k]));
    let s = 0;
    for (let c = 0; c < sizeOf(cShape); c++) {
      const cidx = unravel(c, cShape);
      ac.forEach((d, k) => ((ai[d] = cidx[k]), (bi[bc[k]] = cidx[k])));
      s += a.data[ravel(ai, a.shape)] * b.data[ravel(bi, b.shape)];
    }
    return s;
  });
}
const matmulDN: DN = [[[1], [0]], [[], []]];
const transposeT = (a: T): T => tensor([a.shape[1], a.shape[0]], (_, [i, j]) => a.data[j * a.shape[1] + i]);

// ---- the checks ----

type Fn = (...xs: NDArray[]) => NDArray;
type RefFn = (...xs: T[]) => T;

/** jvp of f at xs in directions ts against central differences of the float64 reference. */
function checkJvp(f: Fn, ref: RefFn, xs: T[], tol = 1e-4, what = "", h = 1e-6): void {
  const ts = xs.map((x) => rand(x.shape));
  const [y, dy] = jvp(f, xs.map(nd), ts.map(nd));
  expectClose(host(y), ref(...xs), tol, `${what} primal`);
  const plus = ref(...xs.map((x, i) => axpy(h, ts[i], x)));
  const minus = ref(...xs.map((x, i) => axpy(-h, ts[i], x)));
  expectClose(host(dy), { shape: plus.shape, data: plus.data.map((v, i) => (v - minus.data[i]) / (2 * h)) }, tol, `${what} tangent`);
}

/** The dot-product test of the transpose rules: <ct, J t> == <J^T ct, t> (all inputs). */
function checkVjp(f: Fn, xs: T[]): void {
  const ts = xs.map((x) => rand(x.shape));
  const [, jt] = jvp(f, xs.map(nd), ts.map(nd));
  const [y, pullback] = vjp(f, ...xs.map(nd));
  const ct = rand(y.shape);
  const cts = pullback(nd(ct)).map((c: NDArray) => host(c));
  cts.forEach((c: T, i: number) => expect(c.shape).toEqual(xs[i].shape));
  const lhs = inner(ct, host(jt));
  const rhs = cts.reduce((s: number, c: T, i: number) => s + inner(c, ts[i]), 0);
  const scale = absInner(ct, host(jt)) + cts.reduce((s: number, c: T, i: number) => s + absInner(c, ts[i]), 0);
  expect(Math.abs(lhs - rhs), `<ct, J t> = ${lhs}, <J^T ct, t> = ${rhs}`).toBeLessThanOrEqual(1e-5 * scale + 1e-6);
}

/** grad of x -> <grad f(x), u>: the Hessian-vector product H u (f scalar). */
function hvp(f: (x: NDArray) => NDArray, x: T, u: T): T {
  const g = grad(f);
  const all = x.shape.map((_, d) => d);
  return host(grad((z: NDArray) => lax.reduceSum(lax.mul(g(z), nd(u)), all))(nd(x)));
}
/** H u for an analytic Hessian given entry-wise over flat indices. */
const hessTimes = (x: T, u: T, H: (i: number, j: number) => number): T =>
  tensor(x.shape, (i) => u.data.reduce((s, uj, j) => s + H(i, j) * uj, 0));

/** vmap(f, inAxes)(args) against the stack of f on each slice (unbatched args passed whole). */
function checkBatch(f: Fn, args: T[], inAxes: (number | null)[], tol = 1e-6): void {
  const k = inAxes.findIndex((a) => a !== null);
  const B = args[k].shape[inAxes[k]!];
  const got = host(vmap(f, { inAxes })(...args.map(nd)) as NDArray);
  const want = stack(Array.from({ length: B }, (_, i) => host(f(...args.map((a, j) => nd(inAxes[j] === null ? a : take(a, inAxes[j]!, i)))))));
  expectClose(got, want, tol, `vmap inAxes [${inAxes}]`);
}
/** A per-example shape with a batch axis of size B inserted at `axis`. */
const withBatch = (shape: number[], axis: number, B = 3) => [...shape.slice(0, axis), B, ...shape.slice(axis)];

const sumAll = (x: NDArray) => lax.reduceSum(x, x.shape.map((_, d) => d));

// ---- reductions ----

describe("reduce_sum", () => {
  const cases: [number[], number[]][] = [[[3, 4], [1]], [[2, 3, 4], [0, 2]], [[2, 3], []], [[2, 3, 2], [0, 1, 2]], [[5], [0]]];
  it("jvp is the sum of the tangent", () => {
    for (const [shape, axes] of cases) checkJvp((x) => lax.reduceSum(x, axes), (x) => refSum(x, axes), [rand(shape)]);
  });
  it("transpose broadcasts the cotangent back (dot-product test and exact values)", () => {
    for (const [shape, axes] of cases) checkVjp((x) => lax.reduceSum(x, axes), [rand(shape)]);
    const [, pull] = vjp((x: NDArray) => lax.reduceSum(x, [0, 2]), nd(rand([2, 3, 4])));
    const ct = of([3], [1, -2, 5]);
    expectClose(host(pull(nd(ct))[0]), tensor([2, 3, 4], (_, [, j]) => ct.data[j]), 0);
  });
  it("second derivative of sum(x)^2 per row: H u = 2 (row sums of u) broadcast", () => {
    const x = rand([2, 3]);
    const u = rand([2, 3]);
    const f = (z: NDArray) => sumAll(lax.square(lax.reduceSum(z, [1])));
    const rowSum = refSum(u, [1]);
    expectClose(hvp(f, x, u), tensor([2, 3], (_, [i]) => 2 * rowSum.data[i]), 1e-5);
  });
  it("batches along axes 0 and 1", () => {
    for (const axes of [[0], [1], [0, 1]])
      for (const b of [0, 1, 2]) checkBatch((x) => lax.reduceSum(x, axes), [rand(withBatch([4, 5], b))], [b]);
  });
});

describe("reduce_prod", () => {
  it("jvp against finite differences", () => {
    for (const [shape, axes] of [[[3, 4], [1]], [[2, 3, 4], [0, 2]], [[4, 3], [0]], [[2, 3], []], [[7], [0]], [[1, 3], [0]]] as [number[], number[]][])
      checkJvp((x) => lax.reduceProd(x, axes), (x) => refProd(x, axes), [randUnit(shape)]);
  });
  // d prod = sum_j dx_j prod_{i != j} x_i, evaluated exactly in float64.
  const analytic = (x: T, t: T, axes: number[]): T => {
    const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const outShape = kept.map((d) => x.shape[d]);
    return tensor(outShape, (_, oidx) => {
      const group = Array.from(x.data.keys()).filter((i) => {
        const idx = unravel(i, x.shape);
        return kept.every((d, k) => idx[d] === oidx[k]);
      });
      return group.reduce((s, j) => s + t.data[j] * group.reduce((p, i) => (i === j ? p : p * x.data[i]), 1), 0);
    });
  };
  it("is exact at zeros (one zero, two zeros, all zeros in a group)", () => {
    const x = of([4, 3], [2, 0, -1.5, 0, 3, 0, 0, 0, 0, 1.5, -2, 0.5]);
    for (const axes of [[1], [0], [0, 1]]) {
      const t = rand([4, 3]);
      const [, dy] = jvp((z: NDArray) => lax.reduceProd(z, axes), [nd(x)], [nd(t)]);
      expectClose(host(dy), analytic(x, t, axes), 1e-6, `axes [${axes}]`);
    }
    // The gradient of the product of a vector with one zero: only the zero's entry is non-zero.
    const v = of([4], [2, 0, -3, 0.5]);
    expectClose(host(grad((z: NDArray) => lax.reduceProd(z, [0]))(nd(v))), of([4], [0, -3, 0, 0]), 0);
    const w = of([4], [2, 0, -3, 0]);
    expectClose(host(grad((z: NDArray) => lax.reduceProd(z, [0]))(nd(w))), of([4], [0, 0, 0, 0]), 0);
  });
  it("vjp: dot-product test", () => {
    checkVjp((x) => lax.reduceProd(x, [1]), [randUnit([3, 5])]);
    checkVjp((x) => lax.reduceProd(x, [0, 2]), [randUnit([2, 3, 4])]);
    checkVjp((x) => lax.reduceProd(x, [0]), [of([4], [1.5, 0, -2, 0.5])]);
  });
  it("second derivative: H_ij = prod_{k != i, j} x_k, zeros included", () => {
    for (const x of [randUnit([5]), of([5], [1.5, 0, -2, 0.75, 3]), of([4], [0, 2, 0, -1])]) {
      const u = rand(x.shape);
      const H = (i: number, j: number) => (i === j ? 0 : x.data.reduce((p, v, k) => (k === i || k === j ? p : p * v), 1));
      expectClose(hvp((z) => lax.reduceProd(z, [0]), x, u), hessTimes(x, u, H), 1e-5);
    }
  });
  it("batches along axes 0 and 1", () => {
    for (const axes of [[0], [1], [0, 1]])
      for (const b of [0, 1]) checkBatch((x) => lax.reduceProd(x, axes), [randUnit(withBatch([4, 3], b))], [b]);
  });
});

describe("reduce_max / reduce_min", () => {
  const ops = [
    ["max", lax.reduceMax, refMax],
    ["min", lax.reduceMin, refMin],
  ] as const;
  it("jvp against finite differences (no ties)", () => {
    for (const [, op, ref] of ops)
      for (const [shape, axes] of [[[3, 4], [1]], [[2, 3, 4], [0, 2]], [[4, 3], [0]], [[6], [0]]] as [number[], number[]][])
        checkJvp((x) => op(x, axes), (x) => ref(x, axes), [distinct(shape)]);
  });
  it("ties: the tangent is the average over the positions equal to the result", () => {
    const x = of([2, 4], [3, 1, 3, 3, -1, 2, -1, 0]);
    const t = of([2, 4], [1, 10, 100, 1000, 1, 10, 100, 1000]);
    const [, dmax] = jvp((z: NDArray) => lax.reduceMax(z, [1]), [nd(x)], [nd(t)]);
    expectClose(host(dmax), of([2], [(1 + 100 + 1000) / 3, 10]), 1e-6);
    const [, dmin] = jvp((z: NDArray) => lax.reduceMin(z, [1]), [nd(x)], [nd(t)]);
    expectClose(host(dmin), of([2], [10, (1 + 100) / 2]), 1e-6);
    expectClose(host(grad((z: NDArray) => lax.reduceMax(z, [0]))(nd(of([4], [2, 5, 5, 1])))), of([4], [0, 0.5, 0.5, 0]), 0);
  });
  it("vjp: dot-product test, ties included", () => {
    for (const [, op] of ops) {
      checkVjp((x) => op(x, [1]), [distinct([3, 5])]);
      checkVjp((x) => op(x, [0, 2]), [distinct([2, 3, 4])]);
      checkVjp((x) => op(x, [1]), [of([2, 3], [1, 4, 4, 2, 2, 2])]);
    }
  });
  it("second derivative of sum(max(x)^2) per row: 2 u at the argmax", () => {
    const x = distinct([3, 4]);
    const u = rand([3, 4]);
    const m = refMax(x, [1]);
    const want = tensor([3, 4], (i, [r]) => (x.data[i] === m.data[r] ? 2 * u.data[i] : 0));
    expectClose(hvp((z) => sumAll(lax.square(lax.reduceMax(z, [1]))), x, u), want, 1e-5);
    const mn = refMin(x, [0]);
    const wantMin = tensor([3, 4], (i, [, c]) => (x.data[i] === mn.data[c] ? 2 * u.data[i] : 0));
    expectClose(hvp((z) => sumAll(lax.square(lax.reduceMin(z, [0]))), x, u), wantMin, 1e-5);
  });
  it("batches along axes 0 and 1", () => {
    for (const [, op] of ops)
      for (const axes of [[0], [1], [0, 1]]) for (const b of [0, 1]) checkBatch((x) => op(x, axes), [distinct(withBatch([4, 5], b))], [b]);
  });
});

describe("reduce_and / reduce_or / argmax / argmin", () => {
  it("have no tangent, and compose with differentiated code", () => {
    const x = distinct([3, 4]);
    const [, t1] = jvp((z: NDArray) => lax.reduceOr(lax.gt(z, 0), [1]), [nd(x)], [nd(rand([3, 4]))]);
    expect(Array.from(t1.dataSync())).toEqual([0, 0, 0]);
    const [, t2] = jvp((z: NDArray) => lax.argmax(z, 0), [nd(x)], [nd(rand([3, 4]))]);
    expect(Array.from(t2.dataSync())).toEqual([0, 0, 0, 0]);
    // f(x) = sum(x * [all(x > -1) per row] * argmin(x, 1)): the masks are constants of x.
    const f = (z: NDArray) => {
      const mask = lax.convertElementType(lax.reduceAnd(lax.gt(z, -1), [1]), "float32");
      const am = lax.convertElementType(lax.argmin(z, 1), "float32");
      return sumAll(lax.mul(z, lax.reshape(lax.mul(mask, am), [3, 1])));
    };
    const want = tensor([3, 4], (_, [r]) => {
      const row = Array.from(x.data.slice(r * 4, r * 4 + 4));
      return (row.every((v) => v > -1) ? 1 : 0) * row.indexOf(Math.min(...row));
    });
    expectClose(host(grad(f)(nd(x))), want, 0);
  });
  it("batch along axes 0 and 1", () => {
    for (const b of [0, 1])
      for (const axis of [0, 1]) {
        checkBatch((x) => lax.argmax(x, axis), [distinct(withBatch([4, 5], b))], [b]);
        checkBatch((x) => lax.argmin(x, axis), [distinct(withBatch([4, 5], b))], [b]);
        checkBatch((x) => lax.convertElementType(lax.reduceAnd(lax.gt(x, 0), [axis]), "float32"), [rand(withBatch([4, 5], b))], [b]);
        checkBatch((x) => lax.convertElementType(lax.reduceOr(lax.gt(x, 0.5), [axis]), "float32"), [rand(withBatch([4, 5], b))], [b]);
      }
    // argmax over the axis that follows the batch axis, and a per-example batch of 1.
    checkBatch((x) => lax.argmax(x, 0), [distinct([2, 1, 3])], [1]);
  });
});

// ---- cumulative reductions ----

const cumOps = [
  ["cumsum", lax.cumsum, (a: number, v: number) => a + v, rand],
  ["cumprod", lax.cumprod, (a: number, v: number) => a * v, randUnit],
  ["cummax", lax.cummax, Math.max, distinct],
  ["cummin", lax.cummin, Math.min, distinct],
  ["cumlogsumexp", lax.cumlogsumexp, lse, (s: number[]) => rand(s, -3, 3)],
] as const;

describe("cumulative reductions: jvp, vjp, batching", () => {
  it("jvp against finite differences, every length 1..9 (odd and even scans), both directions", () => {
    for (const [name, op, f, gen] of cumOps)
      for (let n = 1; n <= 9; n++)
        for (const reverse of [false, true]) {
          const what = `${name} n=${n} reverse=${reverse}`;
          checkJvp((z) => op(z, { axis: 1, reverse }), (z) => refCum(z, 1, reverse, f), [gen([2, n])], 1e-4, what);
          checkJvp((z) => op(z, { axis: 0, reverse }), (z) => refCum(z, 0, reverse, f), [gen([n, 3])], 1e-4, what);
        }
  });
  it("vjp: dot-product test (transpose of cumsum, and of every jvp's linear part)", () => {
    for (const [, op, , gen] of cumOps)
      for (const reverse of [false, true]) {
        checkVjp((z) => op(z, { axis: 1, reverse }), [gen([3, 7])]);
        checkVjp((z) => op(z, { axis: 0, reverse }), [gen([6, 2, 2])]);
      }
  });
  it("cumsum's transpose is the cumsum in the other direction", () => {
    const ct = rand([2, 5]);
    for (const reverse of [false, true]) {
      const [, pull] = vjp((z: NDArray) => lax.cumsum(z, { axis: 1, reverse }), nd(rand([2, 5])));
      expectClose(host(pull(nd(ct))[0]), refCum(ct, 1, !reverse, (a, v) => a + v), 1e-6);
    }
  });
  it("batch along axes 0 and 1, scanning either axis", () => {
    for (const [, op, , gen] of cumOps)
      for (const b of [0, 1, 2])
        for (const axis of [0, 1]) for (const reverse of [false, true]) checkBatch((x) => op(x, { axis, reverse }), [gen(withBatch([4, 5], b))], [b]);
  });
});

describe("cumprod", () => {
  // dy_k = sum_{j <= k} dx_j prod_{i <= k, i != j} x_i, exactly in float64.
  const analytic = (x: number[], t: number[]) =>
    x.map((_, k) => t.slice(0, k + 1).reduce((s, tj, j) => s + tj * x.slice(0, k + 1).reduce((p, xi, i) => (i === j ? p : p * xi), 1), 0));
  it("jvp is exact at zeros (no division)", () => {
    for (const xs of [[2, 0, 3, -1, 0.5], [0, 2, 0, 3, 4, 1.5], [1.5, -2, 0, 0, 0, 2, 3], [0]]) {
      const t = rand([xs.length]);
      const [, dy] = jvp((z: NDArray) => lax.cumprod(z, { axis: 0 }), [nd(of([xs.length], xs))], [nd(t)]);
      expectClose(host(dy), of([xs.length], analytic(xs, Array.from(t.data))), 1e-6, `x = [${xs}]`);
      const [, dyr] = jvp((z: NDArray) => lax.cumprod(z, { axis: 0, reverse: true }), [nd(of([xs.length], [...xs].reverse()))], [nd(of([xs.length], Array.from(t.data).reverse()))]);
      expectClose(host(dyr), of([xs.length], analytic(xs, Array.from(t.data)).reverse()), 1e-6, `reversed x = [${xs}]`);
    }
  });
  it("second derivative of sum(w * cumprod(x)) against the analytic Hessian, zeros included", () => {
    for (const x of [randUnit([6]), of([5], [1.5, 0, -2, 0.75, 3]), of([5], [0, 2, 0, -1, 1])]) {
      const n = x.shape[0];
      const w = rand([n]);
      const u = rand([n]);
      // H_ij = sum_{k >= max(i, j)} w_k prod_{l <= k, l != i, j} x_l (i != j), 0 on the diagonal.
      const H = (i: number, j: number) => {
        if (i === j) return 0;
        let s = 0;
        for (let k = Math.max(i, j); k < n; k++) {
          let p = w.data[k];
          for (let l = 0; l <= k; l++) if (l !== i && l !== j) p *= x.data[l];
          s += p;
        }
        return s;
      };
      expectClose(hvp((z) => sumAll(lax.mul(lax.cumprod(z, { axis: 0 }), nd(w))), x, u), hessTimes(x, u, H), 1e-5);
    }
  });
});

describe("cummax / cummin", () => {
  it("the gradient follows the position of the running max (min)", () => {
    const x = of([6], [0.5, -1, 2, 1, 3, 2.5]);
    const w = of([6], [1, 10, 100, 1000, 1e4, 1e5]);
    // running max positions: 0, 0, 2, 2, 4, 4
    expectClose(host(grad((z: NDArray) => sumAll(lax.mul(lax.cummax(z, { axis: 0 }), nd(w))))(nd(x))), of([6], [11, 0, 1100, 0, 110000, 0]), 0);
    // running min positions: 0, 1, 1, 1, 1, 1
    expectClose(host(grad((z: NDArray) => sumAll(lax.mul(lax.cummin(z, { axis: 0 }), nd(w))))(nd(x))), of([6], [1, 111110, 0, 0, 0, 0]), 0);
  });
  it("at ties the tangent is a convex combination of the tied positions' tangents", () => {
    const x = [1, 3, 0, 3, 2, 3, 1];
    for (let j = 0; j < x.length; j++) {
      const e = of([7], x.map((_, i) => (i === j ? 1 : 0)));
      const [, dy] = jvp((z: NDArray) => lax.cummax(z, { axis: 0 }), [nd(of([7], x))], [nd(e)]);
      const d = Array.from(host(dy).data);
      d.forEach((v, k) => {
        const running = Math.max(...x.slice(0, k + 1));
        if (j > k || x[j] !== running) expect(v, `d y_${k} / d x_${j}`).toBe(0);
        else expect(v).toBeGreaterThan(0);
      });
    }
    const [, ones] = jvp((z: NDArray) => lax.cummax(z, { axis: 0 }), [nd(of([7], x))], [nd(of([7], x.map(() => 1)))]);
    expectClose(host(ones), of([7], x.map(() => 1)), 1e-6);
  });
  it("second derivatives: zero for sum(w cummax(x)); 2 u at the running max for sum(cummin(x)^2)", () => {
    const x = distinct([7]);
    const w = rand([7]);
    const u = rand([7]);
    expectClose(hvp((z) => sumAll(lax.mul(lax.cummax(z, { axis: 0 }), nd(w))), x, u), of([7], [0, 0, 0, 0, 0, 0, 0]), 0);
    // f = sum_k x_{m(k)}^2 with m(k) the running argmin: H u = 2 u_j (number of k with m(k) = j).
    const xs = Array.from(x.data);
    const count = xs.map((_, j) => xs.filter((_, k) => k >= j && Math.min(...xs.slice(0, k + 1)) === xs[j]).length);
    expectClose(hvp((z) => sumAll(lax.square(lax.cummin(z, { axis: 0 }))), x, u), of([7], count.map((c, j) => 2 * c * u.data[j])), 1e-5);
  });
});

describe("cumlogsumexp", () => {
  // dy_k = sum_{j <= k} exp(x_j - y_k) dx_j (the softmax weights of the prefix), in float64.
  const analytic = (x: number[], t: number[], k: number) => {
    let y = -Infinity;
    for (let j = 0; j <= k; j++) y = lse(y, x[j]);
    return x.slice(0, k + 1).reduce((s, xj, j) => s + Math.exp(xj - y) * t[j], 0);
  };
  it("jvp is stable for widely spread values and -inf entries", () => {
    for (const xs of [[-200, 0, 50, -30, 80, 79], [-Infinity, -Infinity, 0, 1, -Infinity, 3], [100, -100, 100, 0]]) {
      const t = rand([xs.length]);
      const [y, dy] = jvp((z: NDArray) => lax.cumlogsumexp(z, { axis: 0 }), [nd(of([xs.length], xs))], [nd(t)]);
      expect(Array.from(y.dataSync()).slice(-1)[0]).toBeCloseTo(xs.reduce(lse, -Infinity), 3);
      const d = Array.from(host(dy).data);
      d.forEach((v, k) => {
        expect(Number.isFinite(v), `tangent ${k} of [${xs}] is ${v}`).toBe(true);
        // A prefix of -inf only has no defined weights (the rule splits the tangent evenly).
        if (xs.slice(0, k + 1).some((v) => v > -Infinity)) expect(Math.abs(v - analytic(xs, Array.from(t.data), k))).toBeLessThan(1e-5);
      });
    }
  });
  it("second derivative of sum(w * cumlogsumexp(x)) against the analytic Hessian", () => {
    const x = rand([6], -2, 2);
    const w = rand([6]);
    const u = rand([6]);
    const n = 6;
    // y_k = log sum_{j <= k} e^{x_j}; with s_kj = e^{x_j - y_k}: d^2 y_k / dx_i dx_j = s_kj (d_ij - s_ki) for i, j <= k.
    const y = Array.from({ length: n }, (_, k) => x.data.slice(0, k + 1).reduce(lse, -Infinity));
    const H = (i: number, j: number) => {
      let s = 0;
      for (let k = Math.max(i, j); k < n; k++) {
        const skj = Math.exp(x.data[j] - y[k]);
        const ski = Math.exp(x.data[i] - y[k]);
        s += w.data[k] * skj * ((i === j ? 1 : 0) - ski);
      }
      return s;
    };
    expectClose(hvp((z) => sumAll(lax.mul(lax.cumlogsumexp(z, { axis: 0 }), nd(w))), x, u), hessTimes(x, u, H), 1e-5);
  });
});

describe("cumsum second derivative", () => {
  it("H u of sum(cumsum(x)^2) = 2 revcumsum(cumsum(u))", () => {
    const x = rand([2, 5]);
    const u = rand([2, 5]);
    const want = refCum(refCum(u, 1, false, (a, v) => a + v), 1, true, (a, v) => a + v);
    expectClose(hvp((z) => sumAll(lax.square(lax.cumsum(z, { axis: 1 }))), x, u), { shape: want.shape, data: want.data.map((v) => 2 * v) }, 1e-5);
  });
});

// ---- dot_general ----

const dotCases: [string, number[], number[], DN][] = [
  ["matmul", [3, 4], [4, 2], matmulDN],
  ["vector . matrix", [4], [4, 3], [[[0], [0]], [[], []]]],
  ["inner product", [5], [5], [[[0], [0]], [[], []]]],
  ["outer product", [3], [2], [[[], []], [[], []]]],
  ["batched matmul", [2, 3, 4], [2, 4, 5], [[[2], [1]], [[0], [0]]]],
  ["batch dims not leading", [3, 2, 4], [4, 5, 2], [[[2], [0]], [[1], [2]]]],
  ["two contracting dims, out of order", [3, 2, 4], [4, 3, 5], [[[2, 0], [0, 1]], [[], []]]],
  ["two batch dims, swapped", [2, 3, 4, 5], [3, 2, 5], [[[3], [2]], [[0, 1], [1, 0]]]],
];

describe("dot_general", () => {
  it("jvp is bilinear: dA.B + A.dB (finite differences)", () => {
    for (const [name, as, bs, dn] of dotCases) checkJvp((a, b) => lax.dotGeneral(a, b, dn), (a, b) => refDot(a, b, dn), [rand(as), rand(bs)], 1e-4, name);
  });
  it("transposes with respect to either operand: dot-product tests", () => {
    for (const [, as, bs, dn] of dotCases) {
      const a = rand(as);
      const b = rand(bs);
      checkVjp((x, y) => lax.dotGeneral(x, y, dn), [a, b]);
      checkVjp((x) => lax.dotGeneral(x, nd(b), dn), [a]);
      checkVjp((y) => lax.dotGeneral(nd(a), y, dn), [b]);
    }
  });
  it("matmul gradients: ct . B^T and A^T . ct", () => {
    const a = rand([3, 4]);
    const b = rand([4, 2]);
    const ct = rand([3, 2]);
    const [, pull] = vjp((x: NDArray, y: NDArray) => lax.dotGeneral(x, y, matmulDN), nd(a), nd(b));
    const [ga, gb] = pull(nd(ct));
    expectClose(host(ga), refDot(ct, transposeT(b), matmulDN), 1e-5);
    expectClose(host(gb), refDot(transposeT(a), ct, matmulDN), 1e-5);
  });
  it("preferred_element_type: float16 operands with a float32 result differentiate to float16", () => {
    const a = lax.convertElementType(nd(rand([3, 4])), "float16");
    const b = lax.convertElementType(nd(rand([4, 2])), "float16");
    const f = (x: NDArray, y: NDArray) => lax.dotGeneral(x, y, matmulDN, { preferredElementType: "float32" });
    const [y, pull] = vjp(f, a, b);
    expect(y.dtype.name).toBe("float32");
    const ct = rand([3, 2]);
    const [ga, gb] = pull(nd(ct));
    expect([ga.dtype.name, gb.dtype.name]).toEqual(["float16", "float16"]);
    expectClose(host(ga), refDot(ct, transposeT(host(b)), matmulDN), 2e-3);
    const [, t] = jvp(f, [a, b], [a, b]);
    expect(t.dtype.name).toBe("float32");
  });
  it("second derivatives: grad of <grad f, U> for f(A) = sum(W (A A)) and mixed in (A, B)", () => {
    const n = 3;
    const A = rand([n, n]);
    const W = rand([n, n]);
    const U = rand([n, n]);
    // grad f = W A^T + A^T W, so H U = W U^T + U^T W.
    const want = axpy(1, refDot(W, transposeT(U), matmulDN), refDot(transposeT(U), W, matmulDN));
    expectClose(hvp((z) => sumAll(lax.mul(lax.dotGeneral(z, z, matmulDN), nd(W))), A, U), want, 1e-5);
    // f(A, B) = sum(W (A B)): grad_A f = W B^T, and d/dB <W B^T, U> = U^T W.
    const B = rand([n, n]);
    const gA = (a: NDArray, b: NDArray) => grad((x: NDArray) => sumAll(lax.mul(lax.dotGeneral(x, b, matmulDN), nd(W))))(a);
    const mixed = grad((b: NDArray) => sumAll(lax.mul(gA(nd(A), b), nd(U))))(nd(B));
    expectClose(host(mixed), refDot(transposeT(U), W, matmulDN), 1e-5);
  });
  it("batches matmul with both operands batched and with one unbatched", () => {
    const mm = (a: NDArray, b: NDArray) => lax.dotGeneral(a, b, matmulDN);
    for (const [ia, ib] of [[0, 0], [1, 0], [0, 2], [2, 1], [0, null], [1, null], [2, null], [null, 0], [null, 1], [null, 2]] as (number | null)[][]) {
      const a = ia === null ? rand([3, 4]) : rand(withBatch([3, 4], ia));
      const b = ib === null ? rand([4, 2]) : rand(withBatch([4, 2], ib));
      checkBatch(mm, [a, b], [ia, ib]);
    }
  });
  it("batches every dimension-number case, the batch axis anywhere", () => {
    for (const [, as, bs, dn] of dotCases) {
      const f = (a: NDArray, b: NDArray) => lax.dotGeneral(a, b, dn);
      for (const [ia, ib] of [[0, 0], [as.length, 1], [1, null], [null, bs.length], [null, 0]] as (number | null)[][]) {
        const a = ia === null ? rand(as) : rand(withBatch(as, ia));
        const b = ib === null ? rand(bs) : rand(withBatch(bs, ib));
        checkBatch(f, [a, b], [ia, ib], 1e-5);
      }
    }
  });
});

// ---- the rules composed: jacobians (vmap of jvp / of vjp), per-example gradients ----

describe("composition", () => {
  // Jacobians as jacfwd/jacrev build them: vmap of jvp over the input basis, vmap of the pullback
  // over the output basis (the batching rules of every primitive in the jvp and transpose rules).
  const eye = (n: number) => tensor([n, n], (_, [i, j]) => (i === j ? 1 : 0));
  const jacFwd = (f: Fn, x: T) => host(vmap((t: NDArray) => jvp(f, [nd(x)], [t])[1], { outAxes: -1 })(nd(eye(x.shape[0]))) as NDArray);
  const jacRev = (f: Fn, x: T) => {
    const [y, pull] = vjp(f, nd(x));
    return host(vmap((c: NDArray) => pull(c)[0])(nd(eye(y.shape[0]))) as NDArray);
  };
  it("Jacobians of cumprod (zeros included), cumlogsumexp and reduce_prod by vmap of jvp and of vjp", () => {
    const x = of([5], [1.5, 0, -2, 0.75, 3]);
    const J = tensor([5, 5], (_, [k, j]) => (j > k ? 0 : x.data.slice(0, k + 1).reduce((p, v, i) => (i === j ? p : p * v), 1)));
    for (const reverse of [false, true]) {
      const f = (z: NDArray) => lax.cumprod(z, { axis: 0, reverse });
      const want = reverse ? tensor([5, 5], (_, [k, j]) => J.data[(4 - k) * 5 + (4 - j)]) : J;
      const xr = reverse ? of([5], Array.from(x.data).reverse()) : x;
      expectClose(jacFwd(f, xr), want, 1e-6);
      expectClose(jacRev(f, xr), want, 1e-6);
    }
    const y = rand([6], -2, 2);
    const lseJ = tensor([6, 6], (_, [k, j]) => (j > k ? 0 : Math.exp(y.data[j] - y.data.slice(0, k + 1).reduce(lse, -Infinity))));
    expectClose(jacFwd((z) => lax.cumlogsumexp(z, { axis: 0 }), y), lseJ, 1e-5);
    expectClose(jacRev((z) => lax.cumlogsumexp(z, { axis: 0 }), y), lseJ, 1e-5);
    const g = (z: NDArray) => lax.reduceProd(lax.reshape(z, [5, 1]), [0]);
    expectClose(jacRev(g, x), tensor([1, 5], (_, [, j]) => x.data.reduce((p, v, i) => (i === j ? p : p * v), 1)), 1e-6);
  });
  it("per-example gradients: vmap(grad(loss)) over a batch of inputs, weights unbatched", () => {
    const W = rand([4, 3]);
    const X = rand([5, 4]);
    const loss = (w: NDArray, x: NDArray) => lax.reduceMax(lax.cumlogsumexp(lax.dotGeneral(x, w, [[[0], [0]], [[], []]]), { axis: 0 }), [0]);
    const perEx = host(vmap((x: NDArray) => grad(loss)(nd(W), x), { inAxes: [0] })(nd(X)) as NDArray);
    const loop = stack(Array.from({ length: 5 }, (_, i) => host(grad(loss)(nd(W), nd(take(X, 0, i))))));
    expectClose(perEx, loop, 1e-6);
  });
});
