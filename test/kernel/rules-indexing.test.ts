// The transformation rules of gather, the scatters and sort (kernel/primitives/indexing.ts,
// sort.ts), each checked against an independent reference:
// - jvp against central finite differences of the primal function;
// - vjp through the dot-product test <ct, J t> == <J^T ct, t> (jvp gives J t, vjp J^T ct);
// - vmap against a loop: vmap(f)(xs) equals stacking f(xs[i]), for operand-only,
//   indices-only and both batched, along batch axes 0 and 1 (and the index-vector side).
// Then the public API (x.get, x.at(...).add/set/..., np.take, np.sort, np.argsort) under grad,
// jvp and vmap, with expected values written out by hand.

import { describe, expect, it } from "vitest";
import { lax, np, NDArray } from "../../kernel/index";
import { grad, jvp, vjp } from "../../kernel/transforms/autodiff";
import { vmap } from "../../kernel/transforms/vmap";
import { UndefinedPrimal } from "../../kernel/core/primitive";
import * as I from "../../kernel/primitives/indexing";
import type { GatherDimensionNumbers, IndexMode, ScatterDimensionNumbers } from "../../kernel/primitives/indexing";

type Fn = (...xs: NDArray[]) => NDArray;
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const flat = (x: NDArray): number[] => Array.from(x.dataSync() as ArrayLike<number>, Number);

/** Several arrays cut from one shuffled ladder: all their values are distinct and well separated. */
function ladder(shapes: number[][], seed: number): NDArray[] {
  const all = flat(rand([shapes.reduce((n, s) => n + prod(s), 0)], seed, true));
  let k = 0;
  return shapes.map((s) => np.array(all.slice(k, (k += prod(s))), { dtype: "float32" }).reshape(s));
}

/** Deterministic pseudo-random floats in [-2, 2), distinct to 1e-2 when `distinct`. */
function rand(shape: number[], seed: number, distinct = false): NDArray {
  const n = prod(shape);
  let s = (seed * 2654435761) >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let v: number[];
  if (distinct) {
    // A shuffled ladder: well separated, so small perturbations never reorder anything.
    v = Array.from({ length: n }, (_, i) => -2 + (4 * i) / Math.max(n, 1) + 0.01);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [v[i], v[j]] = [v[j], v[i]];
    }
  } else v = Array.from({ length: n }, () => -2 + 4 * next());
  return np.array(v, { dtype: "float32" }).reshape(shape);
}
const ints = (v: unknown, shape?: number[]) => {
  const a = np.array(v as number[], { dtype: "int32" });
  return shape ? a.reshape(shape) : a;
};

function expectClose(got: NDArray, want: NDArray | number[], tol = 1e-4): void {
  const g = flat(got);
  const w = want instanceof NDArray ? flat(want) : want;
  if (want instanceof NDArray) expect(got.shape).toEqual(want.shape);
  expect(g.length).toBe(w.length);
  g.forEach((x, i) => {
    if (Number.isNaN(w[i])) expect(x, `element ${i}`).toBeNaN();
    else expect(Math.abs(x - w[i]), `element ${i}: got ${x}, want ${w[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(w[i])));
  });
}

const dot = (a: NDArray, b: NDArray): number => {
  const x = flat(a);
  const y = flat(b);
  return x.reduce((s, v, i) => s + v * y[i], 0);
};

/**
 * Checks the rules of f at `xs` (the first `nDiff` arguments are differentiated, the rest are
 * constants such as indices): jvp vs central differences, and the vjp by the dot-product test.
 */
function checkAD(f: Fn, xs: NDArray[], nDiff = xs.length, seed = 7, eps = 1e-2): void {
  const diff = xs.slice(0, nDiff);
  const rest = xs.slice(nDiff);
  const g = (...d: NDArray[]) => f(...d, ...rest);
  const ts = diff.map((x, i) => rand([...x.shape], seed + i));
  const [y, jt] = jvp(g, diff, ts);
  expectClose(y, g(...diff));
  const plus = g(...diff.map((x, i) => x.add(ts[i].mul(eps))));
  const minus = g(...diff.map((x, i) => x.sub(ts[i].mul(eps))));
  expectClose(jt, plus.sub(minus).div(2 * eps), 2e-2);
  const ct = rand([...y.shape], seed + 100);
  const [y2, pullback] = vjp(g, ...diff);
  expectClose(y2, y);
  const cts = pullback(ct) as NDArray[];
  cts.forEach((c, i) => expect(c.shape).toEqual(diff[i].shape));
  const lhs = dot(ct, jt);
  const rhs = cts.reduce((s, c, i) => s + dot(c, ts[i]), 0);
  expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(lhs)));
}

/** x[i] along `axis`. */
const at = (x: NDArray, axis: number, i: number): NDArray => np.moveaxis(x, axis, 0).get(i);
/** Inserts a batch of `size` along `axis`: example b is x + b (floats) or a permutation-ish shift (ints, via `mk`). */
function batchOf(mk: (b: number) => NDArray, size: number, axis: number): NDArray {
  return np.stack(Array.from({ length: size }, (_, b) => mk(b)), axis);
}

/** vmap(f, inAxes)(...xs) equals stacking f on each example (output batch axis 0). */
function checkBatch(f: Fn, xs: NDArray[], inAxes: (number | null)[]): void {
  const size = xs.find((_, i) => inAxes[i] !== null)!.shape[inAxes.find((a) => a !== null)!];
  const got = vmap(f, { inAxes })(...xs) as NDArray;
  const want = np.stack(Array.from({ length: size }, (_, b) => f(...xs.map((x, i) => (inAxes[i] === null ? x : at(x, inAxes[i]!, b))))), 0);
  expect(got.dtype).toBe(want.dtype);
  expectClose(got, want, 0);
}

/**
 * For a function of (operand, indices): vmap with the operand batched, the indices batched,
 * and both, along axes 0 and 1 (and the indices' last axis).
 */
function checkBatchAll(f: Fn, x: NDArray, idx: NDArray, idxBatch: (b: number) => NDArray, extra: NDArray[] = [], extraAxes: (number | null)[] = []): void {
  const B = 3;
  for (const ax of [0, 1]) {
    const xs = batchOf((b) => x.add(b * 10), B, ax);
    const is = batchOf(idxBatch, B, ax);
    const ex = extra.map((e, k) => (extraAxes[k] === null ? e : batchOf((b) => e.mul(b + 1), B, ax)));
    const eAx = extraAxes.map((a) => (a === null ? null : ax));
    checkBatch(f, [xs, idx, ...ex], [ax, null, ...eAx]);
    checkBatch(f, [x, is, ...ex], [null, ax, ...eAx]);
    checkBatch(f, [xs, is, ...ex], [ax, ax, ...eAx]);
  }
  // The batch axis after the index vector axis.
  const nulls = extra.map(() => null);
  checkBatch(f, [x, batchOf(idxBatch, B, idx.ndim), ...extra], [null, idx.ndim, ...nulls]);
  checkBatch(f, [batchOf((b) => x.mul(b - 1), B, x.ndim), batchOf(idxBatch, B, idx.ndim), ...extra], [x.ndim, idx.ndim, ...nulls]);
}

// ------------------------------------------------------------------------------- gather

type GatherCase = { name: string; x: NDArray; idx: NDArray; dn: GatherDimensionNumbers; sizes: number[]; mode: IndexMode; fill?: number; shift: (b: number) => NDArray };

const rowsDn: GatherDimensionNumbers = { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0] };
const windowDn: GatherDimensionNumbers = { offset_dims: [1, 2], collapsed_slice_dims: [], start_index_map: [0, 1] };
const gatherCases: GatherCase[] = [
  { name: "rows with repeats", x: rand([5, 3], 1), idx: ints([[1], [3], [1], [4]]), dn: rowsDn, sizes: [1, 3], mode: "promise_in_bounds", shift: (b) => ints([[b], [4 - b], [1], [b + 1]]) },
  { name: "2-d windows, clip out of bounds", x: rand([4, 5], 2), idx: ints([[0, 3], [2, -1], [5, 1]]), dn: windowDn, sizes: [2, 3], mode: "clip", shift: (b) => ints([[b, 3 - b], [2, b - 1], [5 - b, 1]]) },
  { name: "fill with a value", x: rand([5, 3], 3), idx: ints([[1], [7], [-1], [4]]), dn: rowsDn, sizes: [1, 3], mode: "fill", fill: 5, shift: (b) => ints([[b], [7 - 3 * b], [-1 + b], [4]]) },
  { name: "fill with the default (NaN)", x: rand([5, 3], 4), idx: ints([[1], [7], [0]]), dn: rowsDn, sizes: [1, 3], mode: "fill", shift: (b) => ints([[2 * b], [7 - b], [0]]) },
  { name: "index batch of rank 2, scalar windows", x: rand([4, 3], 5), idx: ints([[[0, 1], [3, 2]], [[1, 1], [0, 0]]]), dn: { offset_dims: [], collapsed_slice_dims: [0, 1], start_index_map: [0, 1] }, sizes: [1, 1], mode: "clip", shift: (b) => ints([[[b, 1], [3, 2 - b]], [[1, b], [0, 0]]]) },
];

describe("gather rules", () => {
  for (const c of gatherCases) {
    const f: Fn = (x, idx) => lax.gather(x, idx, c.dn, c.sizes, { mode: c.mode, fillValue: c.fill ?? null });
    it(`jvp, vjp: ${c.name}`, () => {
      if (c.fill === undefined && c.mode === "fill") {
        // NaN fill: the primal is NaN there, the tangent 0 (JAX's fill_value=0 for tangents).
        const t = rand([...c.x.shape], 9);
        const [y, jt] = jvp((x: NDArray) => f(x, c.idx), [c.x], [t]);
        expect(flat(y).some(Number.isNaN)).toBe(true);
        expect(flat(jt).some(Number.isNaN)).toBe(false);
        expectClose(jt, flat(f(t, c.idx)).map((v) => (Number.isNaN(v) ? 0 : v)));
        const [, pull] = vjp((x: NDArray) => f(x, c.idx), c.x);
        const ct = rand([...y.shape], 10);
        expect(Math.abs(dot(ct, jt) - dot(pull(ct)[0], t))).toBeLessThan(1e-3);
      } else checkAD(f, [c.x, c.idx], 1);
    });
    it(`vmap: ${c.name}`, () => {
      checkBatchAll(f, c.x, c.idx, c.shift);
    });
  }
  it("the transpose of a clipped gather sends cotangents to the clamped windows", () => {
    const x = np.zeros([4]);
    const g = grad((x: NDArray) => lax.gather(x, ints([[5], [-3], [1]]), rowsDn0, [1], { mode: "clip" }).mul(np.array([1, 10, 100])).sum())(x);
    expectClose(g, [10, 100, 0, 1]);
    const g2 = grad((x: NDArray) => lax.gather(x, ints([[5], [-3], [1]]), rowsDn0, [1], { mode: "fill", fillValue: 0 }).mul(np.array([1, 10, 100])).sum())(x);
    expectClose(g2, [0, 100, 0, 0]);
  });
  it("vmap with an empty batch, and indices of a narrow dtype with a large batch", () => {
    const x = rand([0, 4, 3], 1);
    const idx = np.zeros([0, 2, 1], { dtype: "int32" });
    const out = vmap((x: NDArray, i: NDArray) => lax.gather(x, i, rowsDn, [1, 3]))(x, idx) as NDArray;
    expect(out.shape).toEqual([0, 2, 3]);
    const B = 300;
    const xs = rand([B, 4], 2);
    const is = np.array(Array.from({ length: B }, (_, b) => [[b % 4], [(b + 1) % 4]]), { dtype: "int8" });
    const got = vmap((x: NDArray, i: NDArray) => lax.gather(x, i, rowsDn0, [1]))(xs, is) as NDArray;
    const xv = flat(xs);
    expectClose(got, Array.from({ length: B }, (_, b) => [xv[b * 4 + (b % 4)], xv[b * 4 + ((b + 1) % 4)]]).flat(), 0);
  });
});
const rowsDn0: GatherDimensionNumbers = { offset_dims: [], collapsed_slice_dims: [0], start_index_map: [0] };

// ------------------------------------------------------------------------------- scatters

type ScatterFn = typeof lax.scatterAdd;
type ScatterCase = { name: string; x: NDArray; idx: NDArray; y: NDArray; dn: ScatterDimensionNumbers; mode: IndexMode; unique?: boolean; shift: (b: number) => NDArray };
const rowsS: ScatterDimensionNumbers = { update_window_dims: [1], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0] };
const [sx1, sy1] = ladder([[5, 3], [4, 3]], 11);
const [sx2, sy2] = ladder([[5, 3], [3, 3]], 13);
const [sx3, sy3] = ladder([[4, 5], [3, 2, 2]], 15);
const scatterCases: ScatterCase[] = [
  { name: "rows with repeats", x: sx1, idx: ints([[1], [3], [1], [0]]), y: sy1, dn: rowsS, mode: "fill", shift: (b) => ints([[b], [3], [1 + b], [b]]) },
  { name: "unique rows, dropped out of bounds", x: sx2, idx: ints([[4], [7], [0]]), y: sy2, dn: rowsS, mode: "fill", unique: true, shift: (b) => ints([[4 - b], [7 - 3 * b], [0]]) },
  { name: "2-d windows, clip", x: sx3, idx: ints([[0, 3], [2, -1], [3, 4]]), y: sy3, dn: { update_window_dims: [1, 2], inserted_window_dims: [], scatter_dims_to_operand_dims: [0, 1] }, mode: "clip", shift: (b) => ints([[b, 3 - b], [2, b - 1], [3, 4 - b]]) },
];
const scatters: [string, ScatterFn][] = [["scatter-add", lax.scatterAdd], ["scatter", lax.scatter], ["scatter-mul", lax.scatterMul], ["scatter-min", lax.scatterMin], ["scatter-max", lax.scatterMax]];

describe("scatter rules", () => {
  for (const [name, fn] of scatters)
    for (const c of scatterCases) {
      const f: Fn = (x, y, idx) => fn(x, idx, y, c.dn, { mode: c.mode, uniqueIndices: c.unique ?? false });
      it(`${name} jvp, vjp: ${c.name}`, () => {
        checkAD(f, [c.x, c.y, c.idx], 2);
        checkAD((x, idx) => f(x, c.y, idx), [c.x, c.idx], 1);
        checkAD((y, idx) => f(c.x, y, idx), [c.y, c.idx], 1);
      });
      it(`${name} vmap: ${c.name}`, () => {
        const g: Fn = (x, idx, y) => f(x, y, idx);
        checkBatchAll(g, c.x, c.idx, c.shift, [c.y], [0]);
        checkBatchAll(g, c.x, c.idx, c.shift, [c.y], [null]);
        // Only the updates batched.
        checkBatch(g, [c.x, c.idx, batchOf((b) => c.y.mul(b + 1), 3, 1)], [null, null, 1]);
      });
    }

  it("scatter-add: transpose of the operand is ct, of the updates gather(ct) (0 where dropped)", () => {
    const idx = ints([[2], [9], [2]]);
    const f = (x: NDArray, y: NDArray) => lax.scatterAdd(x, idx, y, rowsS0, { mode: "fill" });
    const [, pull] = vjp(f, np.zeros([4]), np.zeros([3]));
    const [gx, gy] = pull(np.array([1, 2, 3, 4], { dtype: "float32" }));
    expectClose(gx, [1, 2, 3, 4]);
    expectClose(gy, [3, 0, 3]);
  });
  it("scatter with repeated indices: the winning update gets the tangent, losers and overwritten operand elements none", () => {
    // The CPU scatter applies updates in order, so the last repeat wins.
    const idx = ints([[1], [3], [1]]);
    const f = (x: NDArray, y: NDArray) => lax.scatter(x, idx, y, rowsS0);
    const [out, pull] = vjp(f, np.array([1, 2, 3, 4], { dtype: "float32" }), np.array([10, 20, 30], { dtype: "float32" }));
    expectClose(out, [1, 30, 3, 20]);
    const [gx, gy] = pull(np.array([1, 2, 3, 4], { dtype: "float32" }));
    expectClose(gx, [1, 0, 3, 0]);
    expectClose(gy, [0, 4, 2]);
  });
  it("scatter transpose with repeated indices (the rule itself): dot-product test", () => {
    const idx = ints([[1], [3], [1], [1]]);
    const p: I.ScatterParams = { dimension_numbers: rowsS, mode: "fill", indices_are_sorted: false, unique_indices: false };
    const tx = rand([5, 3], 21);
    const ty = rand([4, 3], 22);
    const ct = rand([5, 3], 23);
    const fwd = lax.scatter(tx, idx, ty, rowsS, { mode: "fill" }); // linear in (x, y) jointly
    const [cx, , cy] = I.scatter.transpose!([ct], [new UndefinedPrimal(tx.aval), idx, new UndefinedPrimal(ty.aval)], p);
    expect(Math.abs(dot(ct, fwd) - dot(cx!, tx) - dot(cy!, ty))).toBeLessThan(1e-4);
    expectClose(cy!.get(0), [0, 0, 0]);
  });
  it("scatter-mul with repeated indices and zero updates", () => {
    // Element 1 gets y0 * y2 (both nonzero), element 3 y1 * y3 (one zero), element 0 y4 * y5 (two zeros).
    const idx = ints([[1], [3], [1], [3], [0], [0]]);
    const x = np.array([2, 3, 5, 7], { dtype: "float32" });
    const y = np.array([1.5, 0, -2, 4, 0, 0], { dtype: "float32" });
    const f = (x: NDArray, y: NDArray) => lax.scatterMul(x, idx, y, rowsS0);
    checkAD(f, [x, y]);
    const gy = grad((y: NDArray) => f(x, y).sum())(y);
    expectClose(gy, [3 * -2, 7 * 4, 3 * 1.5, 0, 0, 0]);
  });
  it("scatter-max/min ties share the tangent evenly (the operand counts when retained)", () => {
    const idx = ints([[1], [1], [2], [0]]);
    const x = np.array([5, 1, 3], { dtype: "float32" });
    const y = np.array([4, 4, 3, 2], { dtype: "float32" });
    const f = (x: NDArray, y: NDArray) => lax.scatterMax(x, idx, y, rowsS0);
    const [out, t] = jvp(f, [x, y], [np.array([1, 10, 100], { dtype: "float32" }), np.array([1000, 2000, 3000, 4000], { dtype: "float32" })]);
    expectClose(out, [5, 4, 3]);
    expectClose(t, [1, 1500, 1550]);
    const [gx, gy] = grad((x: NDArray, y: NDArray) => f(x, y).mul(np.array([1, 2, 4])).sum(), { argnums: [0, 1] })(x, y);
    expectClose(gx, [1, 0, 2]);
    expectClose(gy, [1, 1, 2, 0]);
    const [, tmin] = jvp((x: NDArray, y: NDArray) => lax.scatterMin(x, idx, y, rowsS0), [x, y], [np.array([1, 10, 100], { dtype: "float32" }), np.array([1000, 2000, 3000, 4000], { dtype: "float32" })]);
    expectClose(tmin, [4000, 10, 1550]);
  });
  it("integer scatters and gathers have no tangent and batch exactly", () => {
    const x = ints([1, 2, 3, 4]);
    const idx = ints([[0], [2], [0]]);
    const y = ints([5, 6, 7]);
    for (const [, fn] of scatters) {
      const xs = batchOf((b) => x.add(b), 3, 0);
      checkBatch((x, i, y) => fn(x, i, y, rowsS0), [xs, batchOf((b) => ints([[b], [2], [3 - b]]), 3, 0), y], [0, 0, null]);
    }
  });
});
const rowsS0: ScatterDimensionNumbers = { update_window_dims: [], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0] };

// ------------------------------------------------------------------------------- sort

describe("sort rules", () => {
  it("jvp gathers the tangents with the sorting permutation; vjp scatters them back", () => {
    const k = rand([4, 5], 31, true);
    const v = rand([4, 5], 32);
    for (const dimension of [0, 1]) {
      checkAD((k) => lax.sort(k, { dimension }) as NDArray, [k]);
      checkAD((k, v) => (lax.sort([k, v], { dimension, numKeys: 1 }) as NDArray[])[1], [k, v]);
      checkAD((k, v) => {
        const [a, b] = lax.sort([k, v], { dimension, numKeys: 1 }) as NDArray[];
        return a.mul(2).add(b);
      }, [k, v]);
    }
    // Two keys: ties in the first are broken by the second.
    const k1 = np.array([[1, 0, 1, 0, 2]], { dtype: "float32" });
    const k2 = rand([1, 5], 33, true);
    // (Only the second key is perturbed: moving the tied first keys would reorder them.)
    checkAD((b, a) => {
      const [s1, s2] = lax.sort([a, b], { numKeys: 2 }) as NDArray[];
      return s1.add(s2.mul(3));
    }, [k2, k1], 1);
    const [sorted, t] = jvp((a: NDArray, b: NDArray) => lax.sort([a, b], { numKeys: 2 }) as NDArray[], [k1, k2], [np.array([[1, 2, 3, 4, 5]], { dtype: "float32" }), np.zeros([1, 5])]);
    const k2v = flat(k2);
    const order = [1, 3, 0, 2, 4].sort((i, j) => [1, 0, 1, 0, 2][i] - [1, 0, 1, 0, 2][j] || k2v[i] - k2v[j]);
    expectClose(sorted[1], order.map((i) => k2v[i]));
    expectClose(t[0], order.map((i) => i + 1));
  });
  it("integer operands (argsort's iota) get no tangent", () => {
    const k = rand([6], 34, true);
    const [, t] = jvp((k: NDArray) => (lax.sort([k, lax.broadcastedIota("int32", [6], 0)], { numKeys: 1 }) as NDArray[])[0], [k], [np.onesLike(k)]);
    expectClose(t, [1, 1, 1, 1, 1, 1]);
  });
  it("vmap sorts each example, batch axis before or after the sorted axis, operands batched or not", () => {
    const B = 3;
    const k = rand([4, 5], 35, true);
    const v = rand([4, 5], 36);
    for (const dimension of [0, 1])
      for (const ax of [0, 1, 2]) {
        const ks = batchOf((b) => k.mul(b - 1), B, ax);
        const vs = batchOf((b) => v.add(b), B, ax);
        const f = (k: NDArray, v: NDArray) => np.stack(lax.sort([k, v], { dimension, numKeys: 1 }) as NDArray[], 0);
        checkBatch(f, [ks, vs], [ax, ax]);
        checkBatch(f, [ks, v], [ax, null]);
        checkBatch(f, [k, vs], [null, ax]);
      }
  });
});

// ------------------------------------------------------------------------------- public API

describe("indexing and sorting under grad, jvp and vmap (public API)", () => {
  const x = np.array([1, 2, 3, 4, 5], { dtype: "float32" });
  const w = np.array([1, 10, 100], { dtype: "float32" });
  it("x.get(idx) and np.take: grad is the scatter-add of the cotangent", () => {
    const idx = ints([3, 0, 3]);
    expectClose(grad((x: NDArray) => x.get(idx).mul(w).sum())(x), [10, 0, 0, 101, 0]);
    expectClose(grad((x: NDArray) => np.take(x, idx).mul(w).sum())(x), [10, 0, 0, 101, 0]);
    // take's fill mode wraps negative indices and out-of-bounds reads get no gradient; clip
    // clamps (negative indices included, as jnp.take).
    const bad = ints([-1, 9, 1]);
    expectClose(grad((x: NDArray) => np.take(x, bad).mul(w).sum())(x), [0, 100, 0, 0, 1]);
    expectClose(grad((x: NDArray) => np.take(x, bad, { mode: "clip" }).mul(w).sum())(x), [1, 100, 0, 0, 10]);
    const m = rand([3, 4], 41);
    checkAD((m) => m.get(ints([2, 0]), np.array([1, 3])), [m]);
    checkAD((m) => np.take(m, ints([[3, 0], [1, 1]]), { axis: 1 }), [m]);
    checkAD((m) => m.get(":", ints([1, 1, 0])).mul(m.get(":", ints([2, 0, 1]))), [m]);
  });
  it("x.at(idx).add/set/multiply/min/max under grad", () => {
    const idx = ints([1, 3, 1]);
    const v = np.array([7, 8, 9], { dtype: "float32" });
    const [gx, gv] = grad((x: NDArray, v: NDArray) => x.at(idx).add(v).mul(np.arange(5)).sum(), { argnums: [0, 1] })(x, v);
    expectClose(gx, [0, 1, 2, 3, 4]);
    expectClose(gv, [1, 3, 1]);
    checkAD((x, v) => x.at(idx).add(v), [x, v]);
    checkAD((x, v) => x.at(idx).set(v), [x, v]);
    checkAD((x, v) => x.at(ints([4, 0])).set(v.get(np.array([0, 1]))), [x, v]);
    checkAD((x, v) => x.at(idx).multiply(v), [x, v]);
    checkAD((x, v) => x.at(idx).min(v.sub(5)), [x, v]);
    checkAD((x, v) => x.at(idx).max(v.sub(5)), [x, v]);
    checkAD((x, v) => x.at(2).set(v.get(0)), [x, v]);
  });
  it("np.sort and np.argsort under grad and jvp", () => {
    const y = np.array([3, 1, 4, 1.5, 5, 9, 2], { dtype: "float32" });
    const wy = np.astype(np.arange(7), "float32");
    // sort(y)[k] = y[perm[k]], so d/dy_j = wy[rank of y_j].
    expectClose(grad((y: NDArray) => np.sort(y).mul(wy).sum())(y), [3, 0, 4, 1, 5, 6, 2]);
    expectClose(grad((y: NDArray) => np.sort(y, { descending: true }).mul(wy).sum())(y), [3, 6, 2, 5, 1, 0, 4]);
    expectClose(grad((y: NDArray) => np.take(y, np.argsort(y)).mul(wy).sum())(y), [3, 0, 4, 1, 5, 6, 2]);
    checkAD((m) => np.sort(m, 0), [rand([4, 3], 42, true)]);
    checkAD((m) => np.sort(m, { axis: null }), [rand([4, 3], 43, true)]);
  });
  it("vmap of x.get, x.at().add, np.take, np.sort and np.argsort equals a loop", () => {
    const xs = rand([3, 5], 44, true);
    const idx = ints([4, 0, 4]);
    const is = ints([[4, 0, 4], [1, 2, 3], [0, 0, 1]]);
    const vs = rand([3, 3], 45);
    checkBatch((x) => x.get(idx), [xs], [0]);
    checkBatch((x, i) => x.get(i), [xs, is], [0, 0]);
    checkBatch((x, i) => x.get(i), [x, is], [null, 0]);
    checkBatch((x, i) => np.take(x, i), [xs.transpose(), is.transpose()], [1, 1]);
    checkBatch((x, i, v) => x.at(i).add(v), [xs, is, vs], [0, 0, 0]);
    checkBatch((x, v) => x.at(idx).add(v), [xs, vs], [0, 1]);
    checkBatch((x, i) => x.at(i).set(1), [x, is], [null, 0]);
    checkBatch((x) => np.sort(x), [xs], [0]);
    checkBatch((x) => np.sort(x), [xs], [1]);
    checkBatch((x) => np.argsort(x), [xs], [0]);
    checkBatch((x) => np.argsort(x, { descending: true }), [xs.transpose()], [1]);
  });
  it("vmap of grad and grad of vmap through gather, scatter-add and sort", () => {
    const xs = rand([3, 5], 46, true);
    const is = ints([[4, 0, 4], [1, 2, 3], [0, 0, 1]]);
    const f = (x: NDArray, i: NDArray) => np.sort(x.at(i).add(x.get(i).mul(x.get(i)))).mul(np.arange(5)).sum();
    const g = grad(f);
    checkBatch((x, i) => g(x, i), [xs, is], [0, 0]);
    const total = (xs: NDArray) => (vmap(f)(xs, is) as NDArray).sum();
    const want = np.stack([0, 1, 2].map((b) => g(xs.get(b), is.get(b))), 0);
    expectClose(grad(total)(xs), want);
  });
});
