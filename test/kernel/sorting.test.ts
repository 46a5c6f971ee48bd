// sort/argsort/lexsort/partition/searchsorted/unique/median/quantile against references written
// here with JS loops (a NaN-last total order, stable index tie-breaks, counting for
// searchsorted, sets for unique, float64 interpolation for quantiles) and NumPy's documented
// examples.

import { describe, expect, it } from "vitest";
import "../../kernel/backends/cpu/cpu-backend";
import { asArray } from "../../kernel/api/convert";
import * as np from "../../kernel/api/sorting";
import { NDArray } from "../../kernel/core/ndarray";
import { ShapedArray } from "../../kernel/core/aval";
import { DTYPES, DTypeName } from "../../kernel/core/dtype";
import { Primitive } from "../../kernel/core/primitive";
import { AbsTracer, abstractShapes } from "./helpers/abstract-trace";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const A = (v: unknown, dtype?: "float32" | "int32" | "uint8" | "bool") => asArray(v as number[], dtype);
const list = (x: NDArray) => x.tolist();
/** NaN after every number, as JAX sorts. */
const cmp = (a: number, b: number) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a < b ? -1 : a > b ? 1 : 0);
const refSort = (v: number[]) => [...v].sort(cmp);
const refArgsort = (v: number[], desc = false) =>
  range(v.length).sort((i, j) => (desc ? cmp(v[j], v[i]) : cmp(v[i], v[j])) || i - j);
/** Pseudo-random small values with many ties, some NaNs and infinities. */
function values(n: number, seed: number, special = true): number[] {
  return range(n).map((i) => {
    const h = ((i + 1) * 2654435761 + seed * 40503) % 1009;
    if (special && h % 17 === 0) return NaN;
    if (special && h % 23 === 0) return h % 2 ? Infinity : -Infinity;
    return (h % 13) - 6 + (h % 3) * 0.25;
  });
}
/** Applies a per-row reference along axis 1 of a [r, c] matrix stored as rows. */
const rows = (r: number, c: number, seed: number) => range(r).map((i) => values(c, seed + i));
const cols = (m: number[][]) => m[0].map((_, j) => m.map((row) => row[j]));

describe("sort", () => {
  it("sorts with NaNs last along any axis", () => {
    const v = values(40, 1);
    expect(np.sort(v).tolist()).toEqual(refSort(v));
    const m = rows(4, 9, 2);
    expect(list(np.sort(m))).toEqual(m.map(refSort));
    expect(list(np.sort(m, 0))).toEqual(cols(cols(m).map(refSort)));
    expect(list(np.sort(m, { axis: null }))).toEqual(refSort(m.flat()));
    expect(list(np.sort(A([3, 1, 2], "int32")))).toEqual([1, 2, 3]);
  });
  it("descending reverses the ascending sort (NaNs first)", () => {
    const v = values(30, 3);
    expect(np.sort(v, { descending: true }).tolist()).toEqual(refSort(v).reverse());
  });
  it("errors on a bad axis", () => {
    expect(() => np.sort([[1, 2]], 2)).toThrow(/sort: axis 2 is out of bounds for array of dimension 2/);
  });
});

describe("argsort", () => {
  it("is stable and puts NaNs last", () => {
    const v = values(50, 4);
    expect(list(np.argsort(v))).toEqual(refArgsort(v));
    const m = rows(3, 11, 5);
    expect(list(np.argsort(m, -1))).toEqual(m.map((r) => refArgsort(r)));
    expect(list(np.argsort(m, { axis: 0 }))).toEqual(cols(cols(m).map((c) => refArgsort(c))));
    expect(list(np.argsort(m, { axis: null }))).toEqual(refArgsort(m.flat()));
    expect(np.argsort(v).dtype.name).toBe("int32");
  });
  it("descending keeps equal elements in index order, as JAX does", () => {
    const v = values(50, 6);
    expect(list(np.argsort(v, { descending: true }))).toEqual(refArgsort(v, true));
    expect(list(np.argsort([1, 3, 3, 2, 3], { descending: true }))).toEqual([1, 2, 4, 3, 0]);
    const m = rows(2, 9, 7);
    expect(list(np.argsort(m, { axis: 1, descending: true }))).toEqual(m.map((r) => refArgsort(r, true)));
  });
});

describe("lexsort and partition", () => {
  it("lexsort follows NumPy's example (last key primary)", () => {
    const a = [1, 5, 1, 4, 3, 4, 4];
    const b = [9, 4, 0, 4, 0, 2, 1];
    expect(list(np.lexsort([b, a]))).toEqual([2, 0, 4, 6, 5, 3, 1]);
    expect(list(np.lexsort(A([b, a])))).toEqual([2, 0, 4, 6, 5, 3, 1]);
    const k1 = values(30, 8, false).map(Math.round);
    const k2 = values(30, 9, false).map(Math.round);
    const want = range(30).sort((i, j) => k2[i] - k2[j] || k1[i] - k1[j] || i - j);
    expect(list(np.lexsort([k1, k2]))).toEqual(want);
    expect(() => np.lexsort([[1, 2], [1, 2, 3]])).toThrow(/all keys need to be the same shape/);
  });
  it("partition puts the kth element in place with smaller ones before", () => {
    const v = values(20, 10, false);
    const p = np.partition(v, 7).tolist() as number[];
    const s = refSort(v);
    expect(p[7]).toBe(s[7]);
    expect(p.slice(0, 7).every((x) => x <= s[7]) && p.slice(8).every((x) => x >= s[7])).toBe(true);
    const ip = np.argpartition(v, 3).tolist() as number[];
    expect(v[ip[3]]).toBe(s[3]);
    expect(() => np.partition(v, 20)).toThrow(/kth\(=20\) out of bounds \(20\)/);
  });
});

describe("searchsorted", () => {
  it("follows NumPy's examples", () => {
    expect(np.searchsorted([1, 2, 3, 4, 5], 3).item()).toBe(2);
    expect(np.searchsorted([1, 2, 3, 4, 5], 3, { side: "right" }).item()).toBe(3);
    expect(list(np.searchsorted([1, 2, 3, 4, 5], [-10, 10, 2, 3]))).toEqual([0, 5, 1, 2]);
  });
  it("both methods count a < v (left) or a <= v (right) for every length", () => {
    for (let n = 0; n <= 17; n++) {
      const a = refSort(values(n, n + 20));
      const q = [...values(25, 99), ...a];
      for (const side of ["left", "right"] as const) {
        const want = q.map((v) => a.filter((x) => (side === "left" ? cmp(x, v) < 0 : cmp(x, v) <= 0)).length);
        for (const method of ["scan", "compare_all"] as const)
          expect(list(np.searchsorted(a, q, { side, method })), `n=${n} ${side} ${method}`).toEqual(want);
      }
    }
  });
  it("accepts a sorter and keeps v's shape", () => {
    const a = [5, 1, 4, 2];
    const r = np.searchsorted(a, [[0, 3], [4, 9]], { sorter: [1, 3, 2, 0] });
    expect(r.shape).toEqual([2, 2]);
    expect(list(r)).toEqual([[0, 2], [2, 4]]);
    expect(r.dtype.name).toBe("int32");
    expect(() => np.searchsorted([[1, 2]], 1)).toThrow(/a should be 1-dimensional/);
    expect(() => np.searchsorted([1, 2], 1, "middle" as "left")).toThrow(/side must be 'left' or 'right'/);
  });
});

describe("unique", () => {
  it("follows NumPy's examples", () => {
    expect(list(np.unique([1, 1, 2, 2, 3, 3]))).toEqual([1, 2, 3]);
    expect(list(np.unique([[1, 1], [2, 3]]))).toEqual([1, 2, 3]);
    const [u, index, inverse, counts] = np.unique([1, 2, 6, 4, 2, 3, 2], { returnIndex: true, returnInverse: true, returnCounts: true });
    expect(list(u)).toEqual([1, 2, 3, 4, 6]);
    expect(list(index)).toEqual([0, 1, 5, 3, 2]);
    expect(list(inverse)).toEqual([0, 1, 4, 3, 1, 2, 1]);
    expect(list(counts)).toEqual([1, 3, 1, 1, 1]);
  });
  it("matches a set-based reference, NaNs collapsed", () => {
    const v = values(60, 11);
    const u = [...new Set(v.filter((x) => !Number.isNaN(x)))].sort((a, b) => a - b);
    const want = v.some(Number.isNaN) ? [...u, NaN] : u;
    const [got, idx, inv, cnt] = np.unique(v, { returnIndex: true, returnInverse: true, returnCounts: true }).map(list) as number[][];
    expect(got).toEqual(want);
    const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));
    expect(idx).toEqual(want.map((w) => v.findIndex((x) => same(x, w))));
    expect(inv).toEqual(v.map((x) => want.findIndex((w) => same(x, w))));
    expect(cnt).toEqual(want.map((w) => v.filter((x) => same(x, w)).length));
    expect(list(np.unique([NaN, 1, NaN], { equalNan: false }))).toEqual([1, NaN, NaN]);
    expect(np.unique([[3, 1], [1, 3]], { returnInverse: true })[1].shape).toEqual([2, 2]);
    expect(np.unique(A([], "float32")).shape).toEqual([0]);
  });
});

describe("median, quantile, percentile", () => {
  const a = [[10, 7, 4], [3, 2, 1]];
  it("follow NumPy's examples", () => {
    expect(np.median(a).item()).toBe(3.5);
    expect(list(np.median(a, 0))).toEqual([6.5, 4.5, 2.5]);
    expect(list(np.median(a, { axis: 1 }))).toEqual([7, 2]);
    expect(np.quantile(a, 0.5).item()).toBe(3.5);
    expect(list(np.quantile(a, 0.5, { axis: 0 }))).toEqual([6.5, 4.5, 2.5]);
    expect(np.percentile(a, 50).item()).toBe(3.5);
    expect(list(np.percentile(a, 50, { axis: 1 }))).toEqual([7, 2]);
    expect(list(np.percentile(a, 50, { axis: 1, keepdims: true }))).toEqual([[7], [2]]);
    expect(np.median(A([1, 2, 3], "int32")).dtype.name).toBe("float32");
  });
  // Order statistics of sorted s at position p = q (n - 1), per method (JAX's definitions).
  function refQuantile(v: number[], q: number, method: string): number {
    if (v.some(Number.isNaN)) return NaN;
    const s = refSort(v);
    const p = q * (s.length - 1);
    const [lo, hi] = [Math.floor(p), Math.ceil(p)];
    const w = p - lo;
    if (method === "lower") return s[lo];
    if (method === "higher") return s[hi];
    if (method === "midpoint") return (s[lo] + s[hi]) / 2;
    if (method === "nearest") return w <= 0.5 ? s[lo] : s[hi];
    return s[lo] * (1 - w) + s[hi] * w;
  }
  it.each(["linear", "lower", "higher", "midpoint", "nearest"])("method %s matches the reference", (method) => {
    const m = rows(3, 8, 30).map((r) => r.map((x) => (Number.isFinite(x) ? x : 1.5)));
    m[2][4] = NaN;
    const qs = [0, 0.1, 0.25, 0.5, 0.9, 1];
    const got = np.quantile(m, qs, { axis: 1, method: method as np.QuantileMethod }).tolist() as number[][];
    expect(got.length).toBe(qs.length);
    qs.forEach((q, i) =>
      m.forEach((r, j) => {
        const want = refQuantile(r, q, method);
        if (Number.isNaN(want)) expect(got[i][j]).toBeNaN();
        else expect(got[i][j]).toBeCloseTo(want, 5);
      }),
    );
    const all = np.quantile(m.slice(0, 2), 0.3, { method: method as np.QuantileMethod, axis: [0, 1] }).item() as number;
    expect(all).toBeCloseTo(refQuantile(m.slice(0, 2).flat(), 0.3, method), 5);
  });
  it("errors", () => {
    expect(() => np.quantile([1, 2], 1.5)).toThrow(/Quantiles must be in the range \[0, 1\]/);
    expect(() => np.percentile([1, 2], 101)).toThrow(/Percentiles must be in the range \[0, 100\]/);
    expect(() => np.quantile([1, 2], 0.5, { method: "cubic" as np.QuantileMethod })).toThrow(/method can only be/);
    expect(() => np.median([[1, 2]], 2)).toThrow(/axis 2 is out of bounds/);
  });
});

// ---- Abstract evaluation: every function must reach its result through `bind` alone, so it
// works on tracers (jit/vmap/grad later). A minimal shape-only trace checks that here.

describe("abstract evaluation (tracers)", () => {
  it("sorting functions only bind primitives", () => {
    expect(abstractShapes((x) => np.sort(x, { axis: 0, descending: true }), [[3, 4]])).toEqual([[3, 4]]);
    expect(abstractShapes((x) => np.argsort(x, { descending: true }), [[3, 4]])).toEqual([[3, 4]]);
    expect(abstractShapes((a, b) => np.lexsort([a, b]), [[5]], [[5], "int32"])).toEqual([[5]]);
    expect(abstractShapes((a, v) => np.searchsorted(a, v), [[9]], [[2, 3]])).toEqual([[2, 3]]);
    expect(abstractShapes((a, v) => np.searchsorted(a, v, { method: "compare_all" }), [[9]], [[2, 3]])).toEqual([[2, 3]]);
    expect(abstractShapes((x, q) => np.quantile(x, q, { axis: 1, keepdims: true }), [[3, 8]], [[4]])).toEqual([[4, 3, 1]]);
    expect(abstractShapes((x) => np.median(x, 0), [[3, 8]])).toEqual([[8]]);
  });
  it("unique needs a concrete input", () => {
    expect(() => abstractShapes((x) => np.unique(x), [[4]])).toThrow(/unique: Abstract tracer value/);
  });
});
