// jnp's shape functions, checked against references written here with plain JS loops over
// nested arrays (index maps for transpose/flip/roll/pad/diagonal/tril), and against NumPy's
// documented examples. Never against the library's own output.

import { describe, expect, it } from "vitest";
import "../../kernel/backends/cpu/cpu-backend";
import { asArray } from "../../kernel/api/convert";
import * as np from "../../kernel/api/shape-ops";
import { PrimalError } from "../../kernel/core/errors";
import { NDArray } from "../../kernel/core/ndarray";
import { ShapedArray } from "../../kernel/core/aval";
import { DTYPES, DTypeName } from "../../kernel/core/dtype";
import { Primitive } from "../../kernel/core/primitive";
import { AbsTracer, abstractShapes } from "./helpers/abstract-trace";

type N = number | boolean | N[];
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);
/** A nested array of the given shape with f(index) at each position. */
function build(shape: number[], f: (idx: number[]) => number, pre: number[] = []): N {
  if (shape.length === 0) return f(pre);
  return range(shape[0]).map((i) => build(shape.slice(1), f, [...pre, i]));
}
function at(x: N, idx: number[]): number {
  let c = x;
  for (const i of idx) c = (c as N[])[i];
  return Number(c);
}
/** Deterministic small-integer data (exact in float32), distinct enough to catch misplacement. */
const data = (shape: number[], seed = 1) => build(shape, (idx) => ((idx.reduce((a, i) => a * 31 + i + 7, seed) * 2654435761) % 997) - 498);
const arange = (shape: number[]) => build(shape, (idx) => idx.reduce((a, i, d) => a * shape[d] + i, 0));
const mod = (a: number, n: number) => ((a % n) + n) % n;
const A = (v: N, dtype?: "float32" | "int32" | "bool" | "int8") => asArray(v as number[], dtype);
const list = (x: NDArray) => x.tolist();

describe("reshape, ravel, transpose", () => {
  it("reshape infers one -1 and keeps row-major order", () => {
    const x = A(arange([2, 6]));
    expect(np.reshape(x, [3, -1]).shape).toEqual([3, 4]);
    expect(list(np.reshape(x, [-1]))).toEqual(range(12));
    expect(list(np.reshape(x, [4, 3]))).toEqual(build([4, 3], ([i, j]) => i * 3 + j));
    expect(np.reshape(5, []).shape).toEqual([]);
    expect(list(np.ravel(A(arange([2, 2, 3]))))).toEqual(range(12));
  });
  it("reshape errors name both shapes", () => {
    const x = A(arange([6]));
    expect(() => np.reshape(x, [4, -1])).toThrow(/reshape: cannot reshape array of shape \[6\] \(size 6\) into shape \[4, -1\]/);
    expect(() => np.reshape(x, [-1, -1])).toThrow(/only specify one unknown dimension/);
    expect(() => np.reshape(x, [4])).toThrow(PrimalError);
  });
  it("transpose, swapaxes and moveaxis match index maps", () => {
    const v = data([2, 3, 4]);
    const x = A(v);
    expect(list(np.transpose(x))).toEqual(build([4, 3, 2], ([i, j, k]) => at(v, [k, j, i])));
    expect(list(np.transpose(x, [1, 2, 0]))).toEqual(build([3, 4, 2], ([i, j, k]) => at(v, [k, i, j])));
    expect(list(np.swapaxes(x, 0, -1))).toEqual(build([4, 3, 2], ([i, j, k]) => at(v, [k, j, i])));
    expect(list(np.moveaxis(x, 0, -1))).toEqual(build([3, 4, 2], ([i, j, k]) => at(v, [k, i, j])));
    // NumPy's documented shapes for moveaxis on zeros((3, 4, 5)).
    const z = A(build([3, 4, 5], () => 0));
    expect(np.moveaxis(z, 0, -1).shape).toEqual([4, 5, 3]);
    expect(np.moveaxis(z, -1, 0).shape).toEqual([5, 3, 4]);
    expect(np.moveaxis(z, [0, 1], [-1, -2]).shape).toEqual([5, 4, 3]);
    expect(np.moveaxis(z, [0, 1, 2], [-1, -2, -3]).shape).toEqual([5, 4, 3]);
    expect(() => np.transpose(x, [0, 1])).toThrow(/permutation/);
    expect(() => np.moveaxis(x, [0, 1], [0])).toThrow(/Inconsistent number of elements: 2 vs 1/);
    expect(() => np.swapaxes(x, 0, 3)).toThrow(/axis 3 is out of bounds for array of dimension 3/);
  });
});

describe("adding and removing axes", () => {
  it("expandDims follows NumPy's examples", () => {
    const x = A([1, 2]);
    expect(np.expandDims(x, 0).shape).toEqual([1, 2]);
    expect(np.expandDims(x, 1).shape).toEqual([2, 1]);
    expect(np.expandDims(x, [0, 1]).shape).toEqual([1, 1, 2]);
    expect(np.expandDims(x, [2, 0]).shape).toEqual([1, 2, 1]);
    expect(list(np.expandDims(x, -1))).toEqual([[1], [2]]);
    expect(() => np.expandDims(x, 3)).toThrow(/axis 3 is out of bounds/);
  });
  it("squeeze removes size-1 axes and rejects others", () => {
    const x = A([[[0], [1], [2]]]);
    expect(np.squeeze(x).shape).toEqual([3]);
    expect(np.squeeze(x, 0).shape).toEqual([3, 1]);
    expect(np.squeeze(x, { axis: 2 }).shape).toEqual([1, 3]);
    expect(list(np.squeeze(x, [0, 2]))).toEqual([0, 1, 2]);
    expect(() => np.squeeze(x, 1)).toThrow(/cannot select an axis to squeeze out which has size not equal to one/);
  });
  it("broadcastArrays and atleast*", () => {
    const [a, b] = np.broadcastArrays([[1, 2, 3]], [[4], [5]]);
    expect(list(a)).toEqual([[1, 2, 3], [1, 2, 3]]);
    expect(list(b)).toEqual([[4, 4, 4], [5, 5, 5]]);
    expect(() => np.broadcastArrays([1, 2], [1, 2, 3])).toThrow(/cannot be broadcast/);
    expect(np.atleast1d(3).shape).toEqual([1]);
    expect(np.atleast2d([1, 2]).shape).toEqual([1, 2]);
    expect(np.atleast3d(3).shape).toEqual([1, 1, 1]);
    expect(np.atleast3d([1, 2]).shape).toEqual([1, 2, 1]);
    expect(np.atleast3d([[1, 2]]).shape).toEqual([1, 2, 1]);
    expect(np.atleast1d(1, [2, 3]).map((x) => x.shape)).toEqual([[1], [2]]);
  });
});

describe("joining", () => {
  it("concatenate along an axis, flattened, and with promotion", () => {
    const a = [[1, 2], [3, 4]];
    const b = [[5, 6]];
    expect(list(np.concatenate([a, b], 0))).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(list(np.concatenate([a, [[5], [6]]], { axis: 1 }))).toEqual([[1, 2, 5], [3, 4, 6]]);
    expect(list(np.concatenate([a, b], { axis: null }))).toEqual([1, 2, 3, 4, 5, 6]);
    const mixed = np.concatenate([A([1, 2], "int32"), A([0.5], "float32")]);
    expect(mixed.dtype.name).toBe("float32");
    expect(list(mixed)).toEqual([1, 2, 0.5]);
    expect(np.concatenate([A([1], "int8"), A([2], "int8")]).dtype.name).toBe("int8");
    expect(np.concatenate([[1], [2]], { dtype: "float32" }).dtype.name).toBe("float32");
  });
  it("concatenate errors", () => {
    expect(() => np.concatenate([[[1, 2]], [[1, 2, 3]]], 0)).toThrow(/along dimension 1, the array at index 0 has size 2 and the array at index 1 has size 3/);
    expect(() => np.concatenate([[[1, 2]], [1, 2]])).toThrow(/same number of dimensions/);
    expect(() => np.concatenate([A(1), A(2)])).toThrow(/zero-dimensional arrays cannot be concatenated/);
    expect(() => np.concatenate([[1]], 1)).toThrow(/axis 1 is out of bounds for array of dimension 1/);
    expect(() => np.concatenate([])).toThrow(/at least one array/);
  });
  it("stack, hstack, vstack, dstack, columnStack follow NumPy's examples", () => {
    const a = [1, 2, 3];
    const b = [4, 5, 6];
    expect(list(np.stack([a, b]))).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(list(np.stack([a, b], { axis: -1 }))).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(list(np.hstack([a, b]))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(list(np.hstack([[[1], [2], [3]], [[4], [5], [6]]]))).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(list(np.vstack([a, b]))).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(list(np.dstack([a, b]))).toEqual([[[1, 4], [2, 5], [3, 6]]]);
    expect(list(np.columnStack([a, b]))).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(list(np.stack(A([[1, 2], [3, 4]]), 1))).toEqual([[1, 3], [2, 4]]);
    expect(() => np.stack([[1, 2], [1, 2, 3]])).toThrow(/all input arrays must have the same shape/);
  });
});

describe("splitting", () => {
  it("split and arraySplit follow NumPy's examples", () => {
    const x = A(range(9).map((i) => i + 0.5));
    expect(np.split(x, 3).map(list)).toEqual([[0.5, 1.5, 2.5], [3.5, 4.5, 5.5], [6.5, 7.5, 8.5]]);
    const y = A(range(8));
    expect(np.split(y, [3, 5, 6, 10]).map(list)).toEqual([[0, 1, 2], [3, 4], [5], [6, 7], []]);
    expect(np.arraySplit(y, 3).map(list)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7]]);
    expect(np.split(y, [-3, 2]).map(list)).toEqual([[0, 1, 2, 3, 4], [], [2, 3, 4, 5, 6, 7]]);
    const m = A(arange([2, 4]));
    expect(np.split(m, 2, { axis: 1 }).map(list)).toEqual([[[0, 1], [4, 5]], [[2, 3], [6, 7]]]);
    expect(() => np.split(y, 3)).toThrow(/array split does not result in an equal division/);
    expect(() => np.split(m, 2, 2)).toThrow(/axis 2 is out of bounds/);
  });
});

describe("tile and repeat", () => {
  it("tile follows NumPy's examples", () => {
    const a = [0, 1, 2];
    expect(list(np.tile(a, 2))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(list(np.tile(a, [2, 2]))).toEqual([[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2]]);
    expect(list(np.tile(a, [2, 1, 2]))).toEqual([[[0, 1, 2, 0, 1, 2]], [[0, 1, 2, 0, 1, 2]]]);
    const b = [[1, 2], [3, 4]];
    expect(list(np.tile(b, 2))).toEqual([[1, 2, 1, 2], [3, 4, 3, 4]]);
    expect(list(np.tile(b, [2, 1]))).toEqual([[1, 2], [3, 4], [1, 2], [3, 4]]);
    expect(list(np.tile([1, 2, 3, 4], [4, 1]))).toEqual(build([4, 4], ([, j]) => j + 1));
  });
  it("repeat follows NumPy's examples", () => {
    expect(list(np.repeat(3, 4))).toEqual([3, 3, 3, 3]);
    const x = [[1, 2], [3, 4]];
    expect(list(np.repeat(x, 2))).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(list(np.repeat(x, 3, { axis: 1 }))).toEqual([[1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4]]);
    expect(list(np.repeat(x, [1, 2], 0))).toEqual([[1, 2], [3, 4], [3, 4]]);
  });
  it("repeat with per-element counts matches a loop, and totalRepeatLength pads or truncates", () => {
    const v = [10, 20, 30, 40];
    const reps = [1, 2, 0, 5];
    const ref = v.flatMap((e, i) => new Array(reps[i]).fill(e));
    expect(list(np.repeat(v, reps))).toEqual(ref);
    expect(list(np.repeat(v, A(reps)))).toEqual(ref);
    expect(list(np.repeat(v, reps, { axis: 0, totalRepeatLength: 10 }))).toEqual([...ref, 40, 40]);
    expect(list(np.repeat(v, reps, { axis: 0, totalRepeatLength: 5 }))).toEqual(ref.slice(0, 5));
    expect(list(np.repeat(v, 2, { totalRepeatLength: 5 }))).toEqual([10, 10, 20, 20, 30]);
    expect(list(np.repeat(v, [0, 0, 0, 0]))).toEqual([]);
    const m = data([3, 2]);
    expect(list(np.repeat(m, [2, 0, 1], 0))).toEqual([(m as N[])[0], (m as N[])[0], (m as N[])[2]]);
    expect(() => np.repeat(v, [1, 2, 3])).toThrow(/repeats of shape \[3\] cannot be broadcast to the size 4 of axis 0/);
  });
});

describe("flip, roll, rot90", () => {
  it("flip reverses the given axes", () => {
    const v = data([2, 3, 4]);
    const x = A(v);
    expect(list(np.flip(x))).toEqual(build([2, 3, 4], ([i, j, k]) => at(v, [1 - i, 2 - j, 3 - k])));
    expect(list(np.flip(x, 1))).toEqual(build([2, 3, 4], ([i, j, k]) => at(v, [i, 2 - j, k])));
    expect(list(np.flip(x, { axis: [0, 2] }))).toEqual(build([2, 3, 4], ([i, j, k]) => at(v, [1 - i, j, 3 - k])));
    expect(list(np.fliplr(x))).toEqual(build([2, 3, 4], ([i, j, k]) => at(v, [i, 2 - j, k])));
    expect(list(np.flipud(x))).toEqual(build([2, 3, 4], ([i, j, k]) => at(v, [1 - i, j, k])));
    expect(() => np.fliplr([1, 2])).toThrow(/Input must be >= 2-d/);
  });
  it("roll follows NumPy's examples", () => {
    const x = range(10);
    expect(list(np.roll(x, 2))).toEqual([8, 9, 0, 1, 2, 3, 4, 5, 6, 7]);
    expect(list(np.roll(x, -2))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    const x2 = np.reshape(x, [2, 5]);
    expect(list(np.roll(x2, 1))).toEqual([[9, 0, 1, 2, 3], [4, 5, 6, 7, 8]]);
    expect(list(np.roll(x2, -1))).toEqual([[1, 2, 3, 4, 5], [6, 7, 8, 9, 0]]);
    expect(list(np.roll(x2, 1, { axis: 0 }))).toEqual([[5, 6, 7, 8, 9], [0, 1, 2, 3, 4]]);
    expect(list(np.roll(x2, 1, 1))).toEqual([[4, 0, 1, 2, 3], [9, 5, 6, 7, 8]]);
    expect(list(np.roll(x2, [1, 1], [1, 0]))).toEqual([[9, 5, 6, 7, 8], [4, 0, 1, 2, 3]]);
    expect(list(np.roll(x2, [2, 1], [1, 0]))).toEqual([[8, 9, 5, 6, 7], [3, 4, 0, 1, 2]]);
  });
  it("roll with array shifts (the traceable path) matches the index map", () => {
    const v = data([3, 4]);
    for (const [s0, s1] of [[1, -5], [7, 2], [0, 0], [-4, 9]]) {
      const want = build([3, 4], ([i, j]) => at(v, [mod(i - s0, 3), mod(j - s1, 4)]));
      expect(list(np.roll(A(v), A([s0, s1]), [0, 1]))).toEqual(want);
      expect(list(np.roll(A(v), [s0, s1], [0, 1]))).toEqual(want);
    }
    expect(list(np.roll(A(v), A(5), 1))).toEqual(build([3, 4], ([i, j]) => at(v, [i, mod(j - 5, 4)])));
  });
  it("rot90 follows NumPy's examples and the index map", () => {
    const m = [[1, 2], [3, 4]];
    expect(list(np.rot90(m))).toEqual([[2, 4], [1, 3]]);
    expect(list(np.rot90(m, 2))).toEqual([[4, 3], [2, 1]]);
    expect(list(np.rot90(A(arange([2, 2, 2])), 1, [1, 2]))).toEqual([[[1, 3], [0, 2]], [[5, 7], [4, 6]]]);
    const v = data([3, 5]);
    expect(list(np.rot90(v))).toEqual(build([5, 3], ([i, j]) => at(v, [j, 4 - i])));
    expect(list(np.rot90(v, -1))).toEqual(build([5, 3], ([i, j]) => at(v, [2 - j, i])));
    expect(list(np.rot90(v, { k: 4 }))).toEqual(v);
    expect(() => np.rot90(v, 1, [0, 0])).toThrow(/Axes must be different/);
  });
});

describe("pad", () => {
  const a = [1, 2, 3, 4, 5];
  it("follows NumPy's documented examples", () => {
    expect(list(np.pad(a, [2, 3], { mode: "constant", constantValues: [4, 6] }))).toEqual([4, 4, 1, 2, 3, 4, 5, 6, 6, 6]);
    expect(list(np.pad(a, [2, 3], "edge"))).toEqual([1, 1, 1, 2, 3, 4, 5, 5, 5, 5]);
    expect(list(np.pad(a, [2, 3], "reflect"))).toEqual([3, 2, 1, 2, 3, 4, 5, 4, 3, 2]);
    expect(list(np.pad(a, [2, 3], "symmetric"))).toEqual([2, 1, 1, 2, 3, 4, 5, 5, 4, 3]);
    expect(list(np.pad(a, [2, 3], "wrap"))).toEqual([4, 5, 1, 2, 3, 4, 5, 1, 2, 3]);
    expect(list(np.pad([[1, 2], [3, 4]], [[1, 0], [2, 1]]))).toEqual([[0, 0, 0, 0, 0], [0, 0, 1, 2, 0], [0, 0, 3, 4, 0]]);
  });
  // Source index along one axis for output position j - before (the definitions of the modes).
  const src: Record<string, (j: number, n: number) => number> = {
    edge: (j, n) => Math.min(Math.max(j, 0), n - 1),
    wrap: (j, n) => mod(j, n),
    symmetric: (j, n) => {
      const t = mod(j, 2 * n);
      return t < n ? t : 2 * n - 1 - t;
    },
    reflect: (j, n) => {
      if (n === 1) return 0;
      const t = mod(j, 2 * n - 2);
      return t < n ? t : 2 * n - 2 - t;
    },
  };
  it.each(Object.keys(src))("mode %s matches the index map for widths larger than the axis", (mode) => {
    for (const shape of [[3, 4], [1, 2], [2, 5]]) {
      const v = data(shape);
      const w: [number, number][] = [[7, 2], [5, 9]];
      const want = build([shape[0] + 9, shape[1] + 14], ([i, j]) => at(v, [src[mode](i - 7, shape[0]), src[mode](j - 5, shape[1])]));
      expect(list(np.pad(v, w, { mode: mode as np.PadMode }))).toEqual(want);
    }
  });
  it("accepts NumPy's padWidth forms and per-axis constants", () => {
    const v = [[1, 2], [3, 4]];
    expect(np.pad(v, 1).shape).toEqual([4, 4]);
    expect(np.pad(v, [1]).shape).toEqual([4, 4]);
    expect(np.pad(v, [1, 2]).shape).toEqual([5, 5]);
    expect(np.pad(v, [[1, 2]]).shape).toEqual([5, 5]);
    expect(list(np.pad(v, [[1, 0], [0, 1]], { constantValues: [[7, 8], [9, 10]] }))).toEqual([[7, 7, 10], [1, 2, 10], [3, 4, 10]]);
    expect(list(np.pad(A([1.5, 2.5]), 1, { constantValues: -1 }))).toEqual([-1, 1.5, 2.5, -1]);
    expect(np.pad(A([true], "bool"), 1).tolist()).toEqual([false, true, false]);
  });
  it("errors", () => {
    expect(() => np.pad(a, -1)).toThrow(/index can't contain negative values/);
    expect(() => np.pad(a, [1, 2, 3])).toThrow(/cannot be broadcast to \[1, 2\]/);
    expect(() => np.pad(a, 1, "median" as np.PadMode)).toThrow(/Unimplemented padding mode 'median'/);
    expect(() => np.pad(A([], "float32"), 1, "edge")).toThrow(/can't extend empty axis 0/);
  });
});

describe("diagonals and triangles", () => {
  it("diagonal follows NumPy's examples and the index map", () => {
    const a = A(arange([2, 2]));
    expect(list(np.diagonal(a))).toEqual([0, 3]);
    expect(list(np.diagonal(a, 1))).toEqual([1]);
    expect(list(np.diagonal(A(arange([2, 2, 2])), 0, 0, 1))).toEqual([[0, 6], [1, 7]]);
    const v = data([3, 5]);
    for (const k of [-4, -3, -1, 0, 1, 2, 4, 5, 6]) {
      const want = range(5).map((i) => [i, i + k]).filter(([i, j]) => i >= 0 && i < 3 && j >= 0 && j < 5).map(([i, j]) => at(v, [i, j]));
      const want2 = range(5).map((i) => [i - Math.min(k, 0), i + Math.max(k, 0)]).filter(([i, j]) => i < 3 && j < 5).map(([i, j]) => at(v, [i, j]));
      expect(want).toEqual(want2);
      expect(list(np.diagonal(v, k))).toEqual(want2);
    }
    const w = data([2, 3, 4]);
    expect(list(np.diagonal(w, { offset: 1, axis1: 2, axis2: 0 }))).toEqual(build([3, 1], ([j, i]) => at(w, [i + 1, j, i])));
    expect(() => np.diagonal([1, 2])).toThrow(/at least two dimensions/);
    expect(() => np.diagonal(w, 0, 1, 1)).toThrow(/axis1 and axis2 cannot be the same/);
  });
  it("diag follows NumPy's examples", () => {
    const x = A(arange([3, 3]));
    expect(list(np.diag(x))).toEqual([0, 4, 8]);
    expect(list(np.diag(x, 1))).toEqual([1, 5]);
    expect(list(np.diag(x, { k: -1 }))).toEqual([3, 7]);
    expect(list(np.diag(np.diag(x)))).toEqual([[0, 0, 0], [0, 4, 0], [0, 0, 8]]);
    for (const k of [-2, 0, 3]) {
      const n = 3 + Math.abs(k);
      expect(list(np.diag([5, 6, 7], k))).toEqual(build([n, n], ([i, j]) => (j - i === k ? [5, 6, 7][Math.min(i, j)] : 0)));
    }
    expect(np.diag(A([], "float32"), 2).shape).toEqual([2, 2]);
    expect(() => np.diag(A(arange([2, 2, 2])))).toThrow(/diag input must be 1d or 2d/);
  });
  it("trace sums a diagonal", () => {
    expect(np.trace(A(build([3, 3], ([i, j]) => (i === j ? 1 : 0)))).item()).toBe(3);
    expect(list(np.trace(A(arange([2, 2, 2]))))).toEqual([6, 8]);
    const v = data([4, 3]);
    expect(np.trace(v, 1).item()).toBe(at(v, [0, 1]) + at(v, [1, 2]));
    expect(np.trace(A([[true, false], [false, true]], "bool")).dtype.name).toBe("int32");
  });
  it("tril and triu follow NumPy's examples and batch over leading axes", () => {
    const m = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]];
    expect(list(np.tril(m, -1))).toEqual([[0, 0, 0], [4, 0, 0], [7, 8, 0], [10, 11, 12]]);
    expect(list(np.triu(m, -1))).toEqual([[1, 2, 3], [4, 5, 6], [0, 8, 9], [0, 0, 12]]);
    const v = data([2, 3, 4]);
    for (const k of [-1, 0, 2]) {
      expect(list(np.tril(v, k))).toEqual(build([2, 3, 4], ([b, i, j]) => (j - i <= k ? at(v, [b, i, j]) : 0)));
      expect(list(np.triu(v, { k }))).toEqual(build([2, 3, 4], ([b, i, j]) => (j - i >= k ? at(v, [b, i, j]) : 0)));
    }
    expect(() => np.tril([1, 2])).toThrow(/must be at least 2D/);
  });
  it("unravelIndex follows NumPy's example", () => {
    expect(np.unravelIndex([22, 41, 37], [7, 6]).map(list)).toEqual([[3, 6, 6], [4, 5, 1]]);
    expect(np.unravelIndex(1621, [6, 7, 8, 9]).map((x) => x.item())).toEqual([3, 1, 4, 1]);
  });
});

// ---- Abstract evaluation: every function must reach its result through `bind` alone, so it
// works on tracers (jit/vmap/grad later). A minimal shape-only trace checks that here.

describe("abstract evaluation (tracers)", () => {
  it("shape functions only bind primitives", () => {
    expect(abstractShapes((x) => np.reshape(x, [3, -1]), [[2, 6]])).toEqual([[3, 4]]);
    expect(abstractShapes((x) => np.moveaxis(x, 0, -1), [[2, 3, 4]])).toEqual([[3, 4, 2]]);
    expect(abstractShapes((x, y) => np.concatenate([x, y], 1), [[2, 3]], [[2, 5], "int32"])).toEqual([[2, 8]]);
    expect(abstractShapes((x, y) => np.stack([x, y], -1), [[2, 3]], [[2, 3]])).toEqual([[2, 3, 2]]);
    expect(abstractShapes((x) => np.split(x, [1, 3], 1), [[2, 5]])).toEqual([[2, 1], [2, 2], [2, 2]]);
    expect(abstractShapes((x) => np.tile(x, [2, 1, 3]), [[4, 5]])).toEqual([[2, 4, 15]]);
    expect(abstractShapes((x) => np.repeat(x, 3, 0), [[2, 5]])).toEqual([[6, 5]]);
    expect(abstractShapes((x, r) => np.repeat(x, r, { axis: 1, totalRepeatLength: 7 }), [[2, 3]], [[3], "int32"])).toEqual([[2, 7]]);
    expect(abstractShapes((x, s) => np.roll(x, s, [0, 1]), [[3, 4]], [[2], "int32"])).toEqual([[3, 4]]);
    for (const mode of ["constant", "edge", "reflect", "symmetric", "wrap"] as const)
      expect(abstractShapes((x) => np.pad(x, [[1, 2], [5, 0]], mode), [[3, 2]])).toEqual([[6, 7]]);
    expect(abstractShapes((x, c) => np.pad(x, 1, { constantValues: c }), [[3]], [[]])).toEqual([[5]]);
    expect(abstractShapes((x) => np.diagonal(x, 1, 0, 2), [[3, 2, 4]])).toEqual([[2, 3]]);
    expect(abstractShapes((x) => np.diag(x, -1), [[3]])).toEqual([[4, 4]]);
    expect(abstractShapes((x) => np.trace(x), [[3, 3]])).toEqual([[]]);
    expect(abstractShapes((x) => np.triu(x, 1), [[2, 3, 3]])).toEqual([[2, 3, 3]]);
    expect(abstractShapes((x) => np.rot90(x), [[2, 3]])).toEqual([[3, 2]]);
    expect(abstractShapes((i) => np.unravelIndex(i, [3, 4]), [[5], "int32"])).toEqual([[5], [5]]);
  });
  it("data-dependent shapes need concrete values", () => {
    expect(() => abstractShapes((x, r) => np.repeat(x, r, 0), [[3]], [[3], "int32"])).toThrow(/repeat: Abstract tracer value/);
  });
});
