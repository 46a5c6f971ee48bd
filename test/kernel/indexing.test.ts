// Tests of NumPy/JAX indexing (kernel/api/indexing.ts, index-update.ts): x.get(...), x.at(...)
// updates, take/takeAlongAxis/nonzero, iteration. Values are checked against `refIndex`, a
// small NumPy-semantics evaluator written here on plain JS arrays (no library code), which
// lists, for each element of x[idx], the flat position it reads in x (with JAX's
// out-of-bounds rules: wrap negatives, then clamp or mark as out of bounds).

import "../../kernel/backends/cpu/cpu-backend";
import { describe, expect, test, vi } from "vitest";
import { asArray } from "../../kernel/api/convert";
import "../../kernel/api/indexing";
import { IndexItem, argwhere, flatnonzero, getItem, getItemWithMode, nonzero, parseIndex, take, takeAlongAxis } from "../../kernel/api/indexing";
import * as lax from "../../kernel/api/lax";
import { ShapedArray } from "../../kernel/core/aval";
import { ConcretizationError, IndexError } from "../../kernel/core/errors";
import { NDArray, NestedList } from "../../kernel/core/ndarray";
import { Primitive } from "../../kernel/core/primitive";
import { traced } from "./helpers/abstract-trace";
import * as I from "../../kernel/primitives/indexing";
import * as M from "../../kernel/primitives/movement";

// ---------------------------------------------------------------- reference evaluator
type RSlice = { slice: [number | null, number | null, number | null] };
type RArr = { arr: number[]; shape: number[] };
type RMask = { mask: boolean[]; shape: number[] };
type RItem = number | null | "..." | RSlice | RArr | RMask;

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Python's slice semantics, by stepping (independent of any closed form). */
function sliceRange(n: number, [a, b, c]: [number | null, number | null, number | null]): number[] {
  const step = c ?? 1;
  let start: number, stop: number;
  if (step > 0) {
    start = a === null ? 0 : a < 0 ? Math.max(0, a + n) : Math.min(a, n);
    stop = b === null ? n : b < 0 ? Math.max(0, b + n) : Math.min(b, n);
  } else {
    start = a === null ? n - 1 : a < 0 ? Math.max(-1, a + n) : Math.min(a, n - 1);
    stop = b === null ? -1 : b < 0 ? Math.max(-1, b + n) : Math.min(b, n - 1);
  }
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

const unravel = (i: number, shape: number[]): number[] => shape.map((_, d) => Math.floor(i / prod(shape.slice(d + 1))) % shape[d]);

function bcast(shapes: number[][]): number[] {
  const r = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array(r).fill(1);
  for (const s of shapes)
    s.forEach((d, i) => {
      const j = r - s.length + i;
      if (d !== 1 && out[j] !== 1 && out[j] !== d) throw new Error("ref: bad broadcast");
      if (d !== 1) out[j] = d;
    });
  return out;
}

/** For each element of x[items]: the flat source position in x, or -1 when out of bounds ("mark"). */
function refIndex(shape: number[], items: RItem[], oob: "clamp" | "mark"): { shape: number[]; src: number[] } {
  // 1. masks -> one integer array per mask axis (NumPy: nonzero).
  const expanded: RItem[] = [];
  for (const it of items) {
    if (it !== null && typeof it === "object" && "mask" in it) {
      const hits: number[][] = [];
      it.mask.forEach((b, i) => b && hits.push(unravel(i, it.shape)));
      it.shape.forEach((_, d) => expanded.push({ arr: hits.map((h) => h[d]), shape: [hits.length] }));
    } else expanded.push(it);
  }
  const isAdv = (it: RItem) => typeof it === "number" || (it !== null && typeof it === "object" && "arr" in it);
  const advPos = expanded.map((it, i) => (isAdv(it) ? i : -1)).filter((i) => i >= 0);
  const contiguous = advPos.every((p, k) => k === 0 || p === advPos[k - 1] + 1);
  // 2. ellipsis / trailing full slices.
  const consumed = expanded.filter((it) => it !== null && it !== "...").length;
  const fill: RItem[] = Array.from({ length: shape.length - consumed }, () => ({ slice: [null, null, null] }) as RSlice);
  const e = expanded.indexOf("...");
  const full = e < 0 ? [...expanded, ...fill] : [...expanded.slice(0, e), ...fill, ...expanded.slice(e + 1)];
  // 3. components of the output, in order.
  type Comp = { kind: "slice"; axis: number; idx: number[] } | { kind: "new" } | { kind: "adv" };
  const comps: Comp[] = [];
  const adv: { axis: number; vals: number[]; shape: number[] }[] = [];
  let axis = 0;
  for (const it of full) {
    if (it === null) comps.push({ kind: "new" });
    else if (typeof it === "number") adv.push({ axis: axis++, vals: [it], shape: [] });
    else if (typeof it === "object" && "arr" in it) adv.push({ axis: axis++, vals: it.arr, shape: it.shape });
    else if (typeof it === "object" && "slice" in it) comps.push({ kind: "slice", axis, idx: sliceRange(shape[axis++], it.slice) });
    if (adv.length === 1 && isAdv(it) && !comps.some((c) => c.kind === "adv") && contiguous) comps.push({ kind: "adv" });
  }
  if (adv.length && !contiguous) comps.unshift({ kind: "adv" });
  const bshape = bcast(adv.map((a) => a.shape));
  const outShape = comps.flatMap((c) => (c.kind === "slice" ? [c.idx.length] : c.kind === "new" ? [1] : bshape));
  const xStrides = shape.map((_, d) => prod(shape.slice(d + 1)));
  const src: number[] = [];
  for (let o = 0; o < prod(outShape); o++) {
    const oi = unravel(o, outShape);
    const coord = new Array(shape.length).fill(0);
    let p = 0;
    let bad = false;
    for (const c of comps) {
      if (c.kind === "new") p++;
      else if (c.kind === "slice") coord[c.axis] = c.idx[oi[p++]];
      else {
        const bi = oi.slice(p, p + bshape.length);
        p += bshape.length;
        for (const a of adv) {
          const ai = bi.slice(bshape.length - a.shape.length).map((v, k) => (a.shape[k] === 1 ? 0 : v));
          let off = 0;
          ai.forEach((v, k) => (off = off * a.shape[k] + v));
          const n = shape[a.axis];
          let v = a.vals[off];
          if (v < 0) v += n;
          if (v < 0 || v >= n) {
            if (oob === "mark") bad = true;
            v = Math.min(Math.max(v, 0), n - 1);
          }
          coord[a.axis] = v;
        }
      }
    }
    src.push(bad ? -1 : coord.reduce((acc, v, d) => acc + v * xStrides[d], 0));
  }
  return { shape: outShape, src };
}

function nest(flat: ArrayLike<number>, shape: number[]): NestedList {
  let pos = 0;
  const build = (d: number): NestedList => (d === shape.length ? flat[pos++] : Array.from({ length: shape[d] }, () => build(d + 1)));
  return build(0);
}

function refGet(data: number[], shape: number[], items: RItem[], fill?: number): NestedList {
  const r = refIndex(shape, items, fill === undefined ? "clamp" : "mark");
  return nest(r.src.map((s) => (s < 0 ? fill! : data[s])), r.shape);
}

/** The library's form of a reference item (alternating NDArray / JS list forms via `flip`). */
function toLib(it: RItem, flip = false): IndexItem {
  if (it === null || typeof it === "number" || it === "...") return it;
  if ("slice" in it) return it.slice.map((v) => (v === null ? "" : String(v))).join(":");
  if ("arr" in it) return flip ? (nest(it.arr, it.shape) as IndexItem) : asArray(nest(it.arr, it.shape) as number[], "int32");
  const m = nest(it.mask.map(Number), it.shape);
  const asBool = (v: NestedList): NestedList => (Array.isArray(v) ? v.map(asBool) : v === 1);
  return flip ? (asBool(m) as IndexItem) : asArray(asBool(m) as boolean[]);
}

/** x = arange(size).reshape(shape) and its flat data for the reference. */
const iota = (shape: number[], dtype: "float32" | "int32" = "float32") =>
  ({ x: lax.reshape(lax.iota(dtype, prod(shape)), shape), data: Array.from({ length: prod(shape) }, (_, i) => i) }); // prettier-ignore

// A small deterministic PRNG for the fuzz tests.
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo)), pick: <T,>(xs: T[]) => xs[Math.floor(next() * xs.length)] };
}

function randomIndex(r: ReturnType<typeof rng>, shape: number[], opts: { masks: boolean; oob: boolean }): RItem[] {
  const items: RItem[] = [];
  let axis = 0;
  let ellipsis = false;
  const nItems = r.int(0, shape.length + 2);
  for (let k = 0; k < nItems; k++) {
    const left = shape.length - axis;
    const kind = r.pick(["int", "slice", "slice", "new", "ell", "arr", "arr", "mask"]);
    if (kind === "new") items.push(null);
    else if (kind === "ell") {
      if (!ellipsis) (items.push("..."), (ellipsis = true));
    } else if (left === 0) continue;
    else {
      const n = shape[axis];
      const span = opts.oob ? n + 2 : n;
      if (kind === "int") items.push(r.int(-span, span));
      else if (kind === "slice") {
        const b = () => (r.next() < 0.3 ? null : r.int(-n - 2, n + 3));
        items.push({ slice: [b(), b(), r.pick([null, 1, 2, 3, -1, -2, -3])] });
      } else if (kind === "arr") {
        const ashape = r.pick([[r.int(1, 4)], [r.int(1, 3), r.int(1, 3)], [1], [0]]);
        items.push({ arr: Array.from({ length: prod(ashape) }, () => r.int(-span, span)), shape: ashape });
      } else if (opts.masks && !ellipsis) { // (after an ellipsis, the mask's axes are not known here)
        const mdims = Math.min(left, r.int(1, 3));
        const mshape = shape.slice(axis, axis + mdims);
        items.push({ mask: Array.from({ length: prod(mshape) }, () => r.next() < 0.5), shape: mshape });
        axis += mdims - 1;
      } else continue;
      axis++;
    }
  }
  return items;
}

/** f(), or null when the reference rejects the index (arrays that do not broadcast). */
function orNull<T>(f: () => T): T | null {
  try { return f(); } catch { return null; } // prettier-ignore
}

function nanEqual(a: NestedList, b: NestedList): void {
  const fix = (v: NestedList): unknown => (Array.isArray(v) ? v.map(fix) : typeof v === "number" && Number.isNaN(v) ? "NaN" : v);
  expect(fix(a)).toEqual(fix(b));
}

// ---------------------------------------------------------------- reads
describe("get: basic indexing", () => {
  const { x, data } = iota([4, 5, 6]);
  const cases: [string, RItem[]][] = [
    ["int", [2]], ["negative int", [-1]], ["two ints", [1, -2]], ["three ints", [3, 4, 5]],
    ["slice 1:3", [{ slice: [1, 3, null] }]], ["slice ::2", [{ slice: [null, null, 2] }]],
    ["slice -1:", [{ slice: [-1, null, null] }]], ["slice ::-1", [{ slice: [null, null, -1] }]],
    ["slice 4:0:-2 on axis 1", [{ slice: [null, null, null] }, { slice: [4, 0, -2] }]],
    ["slice out of range clips", [{ slice: [-10, 10, null] }, { slice: [7, 2, -3] }]], ["empty slice", [{ slice: [3, 1, null] }]],
    ["ellipsis first", ["...", 0]], ["ellipsis middle", [1, "...", { slice: [null, null, -2] }]],
    ["new axes", [null, 1, null, { slice: [1, 4, 2] }, null]], ["ellipsis and new axis", ["...", null]],
    ["int, slice, int", [0, { slice: [1, null, 3] }, -1]], ["nothing", []],
  ];
  for (const [name, items] of cases)
    test(name, () => {
      expect(x.get(...items.map((i) => toLib(i))).tolist()).toEqual(refGet(data, [4, 5, 6], items));
    });

  test("a comma string holds the whole index", () => {
    expect(x.get("1:3, ::2").tolist()).toEqual(refGet(data, [4, 5, 6], [{ slice: [1, 3, null] }, { slice: [null, null, 2] }]));
    expect(x.get("..., 0").tolist()).toEqual(refGet(data, [4, 5, 6], ["...", 0]));
    expect(x.get("None, -1, :, None").tolist()).toEqual(refGet(data, [4, 5, 6], [null, -1, { slice: [null, null, null] }, null]));
    expect(x.get(" 2 , 1:4:2 , ::-1 ").tolist()).toEqual(refGet(data, [4, 5, 6], [2, { slice: [1, 4, 2] }, { slice: [null, null, -1] }]));
    expect(x.get("1,").tolist()).toEqual(refGet(data, [4, 5, 6], [1]));
  });

  test("out-of-bounds ints clamp (negative ones wrap first)", () => {
    const y = asArray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(y.get(11).item()).toBe(9);
    expect(y.get(-1).item()).toBe(9);
    expect(y.get(-11).item()).toBe(0);
    expect(x.get(9, -20).tolist()).toEqual(refGet(data, [4, 5, 6], [9, -20]));
  });

  test("0-d integer arrays index dynamically (wrap, then clamp)", () => {
    const y = asArray([10, 11, 12, 13]);
    expect(y.get(asArray(2)).item()).toBe(12);
    expect(y.get(asArray(-1)).item()).toBe(13);
    expect(y.get(asArray(7)).item()).toBe(13);
    expect(x.get(asArray(1), "::2", asArray(-2)).tolist()).toEqual(refGet(data, [4, 5, 6], [1, { slice: [null, null, 2] }, -2]));
  });

  test("dtype is kept", () => {
    const y = asArray([1, 2, 3], "int32");
    expect(y.get("1:").dtype.name).toBe("int32");
    expect(y.get([0, 2]).dtype.name).toBe("int32");
    expect(asArray([true, false]).get(1).tolist()).toBe(false);
  });
});

describe("get: advanced indexing", () => {
  const { x, data } = iota([4, 5, 6]);
  const cases: [string, RItem[]][] = [
    ["one array", [{ arr: [3, 0, 2, 0], shape: [4] }]],
    ["2-d index array", [{ arr: [0, 1, 2, 3], shape: [2, 2] }]],
    ["negative entries wrap", [{ arr: [-1, -4, 1], shape: [3] }]],
    ["out-of-bounds entries clamp", [{ arr: [7, -9, 2], shape: [3] }]],
    ["array on a middle axis (basic + advanced)", [{ slice: [1, 3, null] }, { arr: [4, 0], shape: [2] }, { slice: [null, null, -2] }]],
    ["int then array, adjacent", [1, { arr: [0, 2, 4], shape: [3] }]],
    ["two arrays broadcast together", [{ arr: [0, 1, 3], shape: [3, 1] }, { arr: [0, 2, 4, 1], shape: [4] }]],
    ["arrays separated by a slice go to the front", [{ arr: [0, 3], shape: [2] }, { slice: [null, null, null] }, { arr: [5, 1], shape: [2] }]],
    ["int and array separated by a slice go to the front", [0, { slice: [1, 4, null] }, { arr: [0, -1], shape: [2] }]],
    ["arrays separated by an ellipsis go to the front", [{ arr: [0, 3], shape: [2] }, "...", { arr: [5, 1], shape: [2] }]],
    ["arrays with a new axis between them go to the front", [{ arr: [1, 2], shape: [2] }, null, { arr: [3, 4], shape: [2] }]],
    ["new axis before adjacent arrays", [null, { slice: [null, null, 2] }, { arr: [0, 4], shape: [2] }, { arr: [1, 5], shape: [2] }]],
    ["strided and reversed slices with an array", [{ slice: [null, null, -1] }, { arr: [2], shape: [1] }, { slice: [5, 0, -2] }]],
    ["empty index array", [{ arr: [], shape: [0] }]],
    ["full 3-d mask", [{ mask: Array.from({ length: 120 }, (_, i) => i % 7 === 0), shape: [4, 5, 6] }]],
    ["2-d mask then slice", [{ mask: Array.from({ length: 20 }, (_, i) => i % 3 === 1), shape: [4, 5] }, { slice: [null, null, 2] }]],
    ["1-d mask on a middle axis", [{ slice: [null, null, null] }, { mask: [true, false, true, true, false], shape: [5] }]],
    ["mask after an ellipsis", ["...", { mask: [false, true, false, false, true, true], shape: [6] }]],
    ["all-false mask", [{ mask: [false, false, false, false], shape: [4] }]],
  ];
  for (const [name, items] of cases)
    test(name, () => {
      expect(x.get(...items.map((i) => toLib(i))).tolist()).toEqual(refGet(data, [4, 5, 6], items));
      expect(x.get(...items.map((i) => toLib(i, true))).tolist()).toEqual(refGet(data, [4, 5, 6], items));
    });

  test("shapes follow NumPy's placement rule", () => {
    expect(x.get([0, 1], ":", [2, 3]).shape).toEqual([2, 5]);
    expect(x.get(":", [0, 1], [2, 3]).shape).toEqual([4, 2]);
    expect(x.get(0, ":", [0, 1, 2]).shape).toEqual([3, 5]);
    expect(x.get(null, [[0], [1]], [0, 1, 2]).shape).toEqual([1, 2, 3, 6]);
  });

  test("scalar booleans add an axis of size 1 (true) or 0 (false)", () => {
    expect(x.get(true).shape).toEqual([1, 4, 5, 6]);
    expect(x.get(true).tolist()).toEqual([x.tolist()]);
    expect(x.get(false).shape).toEqual([0, 4, 5, 6]);
    expect(x.get(0, true).tolist()).toEqual([x.get(0).tolist()]);
  });

  test("unsigned and narrow index dtypes", () => {
    expect(x.get(asArray([3, 1], "uint8")).tolist()).toEqual(refGet(data, [4, 5, 6], [{ arr: [3, 1], shape: [2] }]));
    expect(x.get(":", asArray([-1, 2], "int8")).tolist()).toEqual(refGet(data, [4, 5, 6], [{ slice: [null, null, null] }, { arr: [-1, 2], shape: [2] }]));
    expect(x.get(Int32Array.of(2, -1)).tolist()).toEqual(refGet(data, [4, 5, 6], [{ arr: [2, -1], shape: [2] }]));
  });
});

describe("get: fuzz against the reference", () => {
  for (const shape of [[4, 5, 6], [3, 7], [8], [2, 3, 2, 3]])
    test(`random indices of [${shape}]`, () => {
      const { x, data } = iota(shape);
      const r = rng(shape.length * 1000 + shape[0]);
      for (let t = 0; t < 150; t++) {
        const items = randomIndex(r, shape, { masks: true, oob: true });
        const lib = items.map((i) => toLib(i, r.next() < 0.5));
        const expected = orNull(() => refGet(data, shape, items));
        if (expected === null) continue; // index arrays that do not broadcast: checked elsewhere
        expect(x.get(...lib).tolist(), JSON.stringify(items)).toEqual(expected);
      }
    });

  test("fill mode marks out-of-bounds reads (NaN for floats)", () => {
    const shape = [4, 5, 3];
    const { x, data } = iota(shape);
    const r = rng(7);
    for (let t = 0; t < 150; t++) {
      const items = randomIndex(r, shape, { masks: false, oob: true });
      const expected = orNull(() => refGet(data, shape, items, NaN));
      if (expected !== null) nanEqual(x.at(...items.map((i) => toLib(i))).get({ mode: "fill" }).tolist(), expected);
    }
  });
});

describe("get: out-of-bounds modes", () => {
  test("fill gives NaN for floats, int min for ints, and fillValue when given", () => {
    const f = asArray([1.5, 2.5, 3.5]);
    nanEqual(f.at([0, 3, -1, -4]).get({ mode: "fill" }).tolist(), [1.5, NaN, 3.5, NaN]);
    expect(asArray([1, 2, 3]).at([5, 1]).get({ mode: "fill" }).tolist()).toEqual([-2147483648, 2]);
    expect(asArray([1, 2, 3]).at(5).get({ mode: "fill" }).item()).toBe(-2147483648);
    expect(asArray([1, 2, 3]).at([5, 1]).get({ mode: "fill", fillValue: -7 }).tolist()).toEqual([-7, 2]);
    expect(asArray([1, 2, 3], "uint8").at([5]).get({ mode: "drop" }).tolist()).toEqual([255]);
  });
  test("clip and the default clamp", () => {
    const y = asArray([1, 2, 3]);
    expect(y.at([5, -5]).get({ mode: "clip" }).tolist()).toEqual([3, 1]);
    expect(y.at([5, -5]).get().tolist()).toEqual([3, 1]);
    expect(getItemWithMode(y, [[9]], { mode: "promise_in_bounds" }).tolist()).toEqual([3]);
  });
});

describe("lowering", () => {
  test("ints, slices and new axes use slice/rev, not gather; arrays use one gather", () => {
    const { x } = iota([4, 5, 6]);
    const g = vi.spyOn(I.gather, "cpu");
    const s = vi.spyOn(M.slice, "cpu");
    x.get(1, "1:4:2", "::-1", null);
    expect(g).not.toHaveBeenCalled();
    expect(s).toHaveBeenCalledTimes(1);
    x.get([0, 2], ":", [[1], [3]]);
    expect(g).toHaveBeenCalledTimes(1);
    x.at(11).get({ mode: "fill" });
    expect(g).toHaveBeenCalledTimes(2);
    vi.restoreAllMocks();
  });
  test("an update is one scatter", () => {
    const { x } = iota([4, 5]);
    const spies = [I.scatter, I.scatterAdd, I.scatterMul, I.scatterMin, I.scatterMax].map((p) => vi.spyOn(p, "cpu"));
    x.at([0, 0, 1], "::2").add(1);
    expect(spies.map((s) => s.mock.calls.length)).toEqual([0, 1, 0, 0, 0]);
    x.at(1).set(0);
    expect(spies.map((s) => s.mock.calls.length)).toEqual([1, 1, 0, 0, 0]);
    vi.restoreAllMocks();
  });
});

// ---------------------------------------------------------------- updates
type UpOp = "set" | "add" | "multiply" | "min" | "max";
function refUpdate(data: number[], shape: number[], items: RItem[], values: number[] | number, op: UpOp): NestedList {
  const r = refIndex(shape, items, "mark"); // out-of-bounds updates are dropped
  const out = [...data];
  const f = { set: (_: number, v: number) => v, add: (o: number, v: number) => o + v, multiply: (o: number, v: number) => o * v, min: Math.min, max: Math.max }[op];
  r.src.forEach((s, i) => s >= 0 && (out[s] = f(out[s], typeof values === "number" ? values : values[i])));
  return nest(out, shape);
}

describe("at: updates", () => {
  const shape = [4, 5];
  const { x, data } = iota(shape, "int32");

  test("set/add/multiply/min/max with a scalar", () => {
    const items: RItem[] = [{ slice: [1, 3, null] }, { arr: [4, 0], shape: [2] }];
    const lib = items.map((i) => toLib(i));
    expect(x.at(...lib).set(-5).tolist()).toEqual(refUpdate(data, shape, items, -5, "set"));
    expect(x.at(...lib).add(100).tolist()).toEqual(refUpdate(data, shape, items, 100, "add"));
    expect(x.at(...lib).multiply(3).tolist()).toEqual(refUpdate(data, shape, items, 3, "multiply"));
    expect(x.at(...lib).mul(3).tolist()).toEqual(refUpdate(data, shape, items, 3, "multiply"));
    expect(x.at(...lib).min(7).tolist()).toEqual(refUpdate(data, shape, items, 7, "min"));
    expect(x.at(...lib).max(7).tolist()).toEqual(refUpdate(data, shape, items, 7, "max"));
  });

  test("values broadcast to the indexed shape", () => {
    expect(x.at(":", [1, 3]).set([10, 20]).tolist()).toEqual(refUpdate(data, shape, [{ slice: [null, null, null] }, { arr: [1, 3], shape: [2] }], [10, 20, 10, 20, 10, 20, 10, 20], "set"));
    expect(x.at("::-2").set([[1], [2]]).tolist()).toEqual(refUpdate(data, shape, [{ slice: [null, null, -2] }], [1, 1, 1, 1, 1, 2, 2, 2, 2, 2], "set"));
    expect(x.at(null, 0).set(asArray([[9, 8, 7, 6, 5]])).tolist()).toEqual(refUpdate(data, shape, [null, 0], [9, 8, 7, 6, 5], "set"));
    expect(() => x.at(0).set([1, 2])).toThrow(/cannot broadcast update values of shape \[2\] to the indexed shape \[5\]/);
  });

  test("repeated indices accumulate in add (and multiply/min/max)", () => {
    const y = asArray([1, 2, 3, 4]);
    expect(y.at([0, 0, 0, 2]).add(10).tolist()).toEqual([31, 2, 13, 4]);
    expect(y.at([0, 0, 2]).add([1, 2, 3]).tolist()).toEqual([4, 2, 6, 4]);
    expect(y.at([1, 1, 1]).multiply(2).tolist()).toEqual([1, 16, 3, 4]);
    expect(y.at([3, 3]).min([9, -1]).tolist()).toEqual([1, 2, 3, -1]);
    expect(y.at([3, 3]).max([9, -1]).tolist()).toEqual([1, 2, 3, 9]);
  });

  test("out-of-bounds updates are dropped; clip clamps", () => {
    const y = asArray([1, 2, 3, 4]);
    expect(y.at(4).set(0).tolist()).toEqual([1, 2, 3, 4]);
    expect(y.at(-5).add(10).tolist()).toEqual([1, 2, 3, 4]);
    expect(y.at([1, 7, -1]).set([20, 70, 40]).tolist()).toEqual([1, 20, 3, 40]);
    expect(y.at([1, 7, -1]).set([20, 70, 40], { mode: "clip" }).tolist()).toEqual([1, 20, 3, 40]);
    expect(y.at([1, 7]).add(5, { mode: "clip" }).tolist()).toEqual([1, 7, 3, 9]);
    expect(x.at([0, 9], "1:3").set(-1).tolist()).toEqual(refUpdate(data, shape, [{ arr: [0, 9], shape: [2] }, { slice: [1, 3, null] }], -1, "set"));
  });

  test("values are cast to x's dtype (int32 .set(2.7) stores 2)", () => {
    const y = asArray([1, 2, 3]);
    const s = y.at(0).set(2.7);
    expect(s.dtype.name).toBe("int32");
    expect(s.tolist()).toEqual([2, 2, 3]);
    expect(asArray([1.5, 2.5]).at(1).set(7).tolist()).toEqual([1.5, 7]);
    expect(asArray([true, false]).at(1).set(1).tolist()).toEqual([true, true]);
    expect(asArray([1, 2], "uint8").at(0).add(300).tolist()).toEqual([45, 2]);
  });

  test("masks and scalar booleans", () => {
    const y = asArray([[1, -2], [-3, 4]]);
    expect(y.at(asArray([[false, true], [true, false]])).set(0).tolist()).toEqual([[1, 0], [0, 4]]);
    expect(y.at([[false, true], [true, false]]).add([10, 20]).tolist()).toEqual([[1, 8], [17, 4]]);
    expect(y.at(true).set(0).tolist()).toEqual([[0, 0], [0, 0]]);
    expect(y.at(false).set(0).tolist()).toEqual([[1, -2], [-3, 4]]);
  });

  test("x itself is never modified", () => {
    const y = asArray([1, 2, 3]);
    y.at(0).set(9);
    expect(y.tolist()).toEqual([1, 2, 3]);
  });

  test("fuzz: add/min/max/set against the reference", () => {
    const shp = [4, 3, 5];
    const { x: z, data: zd } = iota(shp, "int32");
    const r = rng(99);
    for (let t = 0; t < 120; t++) {
      const items = randomIndex(r, shp, { masks: t % 2 === 0, oob: true });
      const ref = orNull(() => refIndex(shp, items, "mark"));
      if (ref === null) continue;
      const vals = ref.src.map(() => r.int(-50, 50));
      const lib = items.map((i) => toLib(i, r.next() < 0.5));
      const v = asArray(nest(vals, ref.shape) as number[], "int32");
      const op = r.pick(["add", "min", "max", "set"] as const);
      const live = ref.src.filter((s) => s >= 0);
      if (op === "set" && new Set(live).size !== live.length) continue; // unspecified winner
      expect(z.at(...lib)[op](v).tolist(), `${op} ${JSON.stringify(items)}`).toEqual(refUpdate(zd, shp, items, vals, op));
    }
  });
});

// ---------------------------------------------------------------- iteration
test("iteration over the leading axis; destructuring; 0-d arrays cannot be iterated", () => {
  const [a, b, c] = asArray([[1, 2], [3, 4], [5, 6]]);
  expect([a.tolist(), b.tolist(), c.tolist()]).toEqual([[1, 2], [3, 4], [5, 6]]);
  expect([...asArray([7, 8])].map((e) => e.item())).toEqual([7, 8]);
  expect([...lax.reshape(asArray([], "float32"), [0, 1])]).toEqual([]);
  idxErr(() => [...asArray(3)], "iteration over a 0-d array");
});

// ---------------------------------------------------------------- errors
/** Checks both the class (IndexError) and the message. */
function idxErr(f: () => unknown, msg: string | RegExp): void {
  expect(f).toThrow(IndexError);
  expect(f).toThrow(msg);
}

describe("errors", () => {
  const x = asArray([[1, 2, 3], [4, 5, 6]]);
  test("too many indices", () => {
    idxErr(() => x.get(0, 0, 0), "get: too many indices for array: array is 2-dimensional, but 3 were indexed");
    idxErr(() => x.get("0, 1, 2, ..."), "array is 2-dimensional, but 3 were indexed");
    idxErr(() => x.get(asArray([[[true]]])), "but 3 were indexed");
    idxErr(() => x.at(0, 0, 0), /^at: too many indices/);
  });
  test("float indices", () => {
    idxErr(() => x.get(1.5), "Indexer must have integer or boolean type, got indexer with type float32 at position 0, indexer value 1.5");
    idxErr(() => x.get(":", asArray([0.5, 1])), "Indexer must have integer or boolean type, got indexer with type float32 at position 1");
    idxErr(() => x.get([0.5]), "Indexer must have integer or boolean type");
  });
  test("bad slice strings and step zero", () => {
    idxErr(() => x.get("1:2:3:4"), 'invalid index string "1:2:3:4"');
    idxErr(() => x.get("a:"), 'invalid index string "a:"');
    idxErr(() => x.get("1.5"), "invalid index string");
    idxErr(() => x.get("0,,1"), "invalid index string");
    idxErr(() => x.get("::0"), "slice step cannot be zero");
  });
  test("other index errors", () => {
    idxErr(() => x.get("...", 0, "..."), "an index can only have a single ellipsis");
    idxErr(() => x.get(asArray([true, false, true])), "boolean index did not match shape of indexed array in index 0: got [3], expected [2]");
    idxErr(() => x.get([0, 1], [0, 1, 2]), "shape mismatch: indexing arrays could not be broadcast together with shapes [2] [3]");
    idxErr(() => x.get([[0, 1], [0]]), "must not be ragged");
    idxErr(() => lax.reshape(asArray([], "float32"), [0, 1]).get(0), "index is out of bounds for axis 0 with size 0");
    idxErr(() => x.get({} as unknown as IndexItem), "Indexer must have integer or boolean type");
  });
  test("parseIndex expands masks and strings", () => {
    const p = parseIndex("get", ["..., None", asArray([true, false, true])], [2, 3]);
    expect(p.map((e) => e.kind)).toEqual(["ellipsis", "newaxis", "array"]);
  });
});

// ---------------------------------------------------------------- take & co
describe("take, takeAlongAxis, nonzero", () => {
  const x = asArray([[1, 2, 3], [4, 5, 6]], "float32");
  test("take along an axis and flattened", () => {
    expect(take(x, [2, 0]).tolist()).toEqual([3, 1]);
    expect(take(x, [2, 0], { axis: 1 }).tolist()).toEqual([[3, 1], [6, 4]]);
    expect(take(x, [[1], [0]], { axis: 0 }).tolist()).toEqual([[[4, 5, 6]], [[1, 2, 3]]]);
    expect(take(x, [-1], { axis: 1 }).tolist()).toEqual([[3], [6]]);
    expect(take(x, 1, { axis: 1 }).tolist()).toEqual([2, 5]);
    expect(getItem(x, 1, "::-1").tolist()).toEqual([6, 5, 4]); // the function behind x.get
  });
  test("take's default mode is fill; clip and wrap", () => {
    nanEqual(take(x, [2, 0], { axis: 0 }).tolist(), [[NaN, NaN, NaN], [1, 2, 3]]);
    expect(take(x, [2, 0], { axis: 0, mode: "clip" }).tolist()).toEqual([[4, 5, 6], [1, 2, 3]]);
    expect(take(x, [3, -4], { axis: 1, mode: "wrap" }).tolist()).toEqual([[1, 3], [4, 6]]);
    expect(take(asArray([1, 2, 3]), [5], { fillValue: 0 }).tolist()).toEqual([0]);
    expect(() => take(x, [0.5])).toThrow(/integer/);
    expect(() => take(x, [0], { mode: "bogus" as "fill" })).toThrow(/Invalid mode/);
  });
  test("takeAlongAxis", () => {
    const a = asArray([[5, 3, 4], [2, 7, 6]]);
    expect(takeAlongAxis(a, [[1, 2, 0], [0, 2, 1]], 1).tolist()).toEqual([[3, 4, 5], [2, 6, 7]]);
    expect(takeAlongAxis(a, [[1], [0]], 1).tolist()).toEqual([[3], [2]]);
    expect(takeAlongAxis(a, [[1, 0, 1]], 0).tolist()).toEqual([[2, 3, 6]]);
    nanEqual(takeAlongAxis(x, [[1, 0, 2]], 0).tolist(), [[4, 2, NaN]]);
    expect(takeAlongAxis(a, [[-1, 0, 1]], 1).tolist()).toEqual([[4, 5, 3], [6, 2, 7]]);
    expect(takeAlongAxis(a, [5, 0], null).tolist()).toEqual([6, 5]);
    // Broadcasting: a size-1 array axis against a longer index axis.
    const b = asArray([[10, 20, 30]]);
    expect(takeAlongAxis(b, [[2, 0], [1, 1]], 1).tolist()).toEqual([[30, 10], [20, 20]]);
    expect(() => takeAlongAxis(a, [1, 0], 1)).toThrow(/same number of dimensions/);
  });
  test("nonzero, flatnonzero, argwhere", () => {
    const m = asArray([[0, 3, 0], [5, 0, 6]]);
    expect(nonzero(m).map((a) => a.tolist())).toEqual([[0, 1, 1], [1, 0, 2]]);
    expect(nonzero(m)[0].dtype.name).toBe("int32");
    expect(nonzero(m, { size: 5, fillValue: -1 }).map((a) => a.tolist())).toEqual([[0, 1, 1, -1, -1], [1, 0, 2, -1, -1]]);
    expect(nonzero(m, { size: 2 }).map((a) => a.tolist())).toEqual([[0, 1], [1, 0]]);
    expect(flatnonzero(m).tolist()).toEqual([1, 3, 5]);
    expect(argwhere(m).tolist()).toEqual([[0, 1], [1, 0], [1, 2]]);
    expect(argwhere(asArray(0)).shape).toEqual([0, 0]);
    expect(argwhere(asArray(2)).shape).toEqual([1, 0]);
    expect(() => nonzero(asArray(1))).toThrow(/0d arrays/);
  });
});

// ---------------------------------------------------------------- tracing
// A shape-only trace (no transformation exists at this layer yet): every primitive just runs
// its abstract eval, so indexing must never need the values of traced arrays, except masks.

describe("under tracing", () => {
  test("traced arrays and traced integer indices", () => {
    traced((mk) => {
      const x = mk(iota([4, 5]).x);
      const i = mk(asArray([0, 3, -1], "int32"));
      expect(x.get(i, "::2").shape).toEqual([3, 3]);
      expect(x.get(mk(asArray(2, "int32"))).shape).toEqual([5]);
      expect(x.get(1, "::-1").shape).toEqual([5]);
      expect(x.at(i).add(1).shape).toEqual([4, 5]);
      expect(x.at(":", mk(asArray(1, "int32"))).set(mk(asArray([1, 2, 3, 4], "float32"))).shape).toEqual([4, 5]);
      expect(take(x, i, { axis: 1 }).shape).toEqual([4, 3]);
      expect([...x].length).toBe(4);
    });
  });
  test("a traced boolean mask needs concrete values", () => {
    traced((mk) => {
      const x = iota([3]).x;
      const m = mk(asArray([true, false, true]));
      expect(() => x.get(m)).toThrow(ConcretizationError);
      expect(() => x.get(m)).toThrow("get: Array boolean indices must be concrete; got abstract ShapedArray(bool[3])");
      expect(() => nonzero(m)).toThrow(ConcretizationError);
    });
  });
});
