// dot/matmul/vdot/inner/outer/tensordot/kron/einsum against references written here: a float64
// einsum that loops over every assignment of the indices (with NumPy broadcasting of size-1
// axes), from which the other references are spelled, plus NumPy's documented examples.

import { describe, expect, it } from "vitest";
import "../../kernel/backends/cpu/cpu-backend";
import { asArray } from "../../kernel/api/convert";
import * as np from "../../kernel/api/contractions";
import { NDArray } from "../../kernel/core/ndarray";
import { ShapedArray } from "../../kernel/core/aval";
import { DTYPES, DTypeName } from "../../kernel/core/dtype";
import { Primitive } from "../../kernel/core/primitive";
import { AbsTracer, abstractShapes } from "./helpers/abstract-trace";

type N = number | boolean | N[];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
function build(shape: number[], f: (idx: number[]) => number, pre: number[] = []): N {
  if (shape.length === 0) return f(pre);
  return range(shape[0]).map((i) => build(shape.slice(1), f, [...pre, i]));
}
function shapeOf(v: N): number[] {
  const s: number[] = [];
  for (let c = v; Array.isArray(c); c = c[0]) s.push(c.length);
  return s;
}
function at(x: N, idx: number[]): number {
  let c = x;
  for (const i of idx) c = (c as N[])[i];
  return Number(c);
}
/** Small integers: every product and sum below is exact in float32, so results compare exactly. */
const data = (shape: number[], seed = 1) => build(shape, (idx) => (((idx.reduce((a, i) => a * 31 + i + 3, seed) * 2654435761) % 19) - 9));
const arange = (shape: number[], offset = 0) => build(shape, (idx) => offset + idx.reduce((a, i, d) => a * shape[d] + i, 0));
const A = (v: N, dtype?: "float32" | "int32" | "int8" | "bool") => asArray(v as number[], dtype);
const list = (x: NDArray) => x.tolist();

/**
 * Reference einsum over explicit letter subscripts ("ij,jk->ik"): loops over every assignment
 * of all labels; an operand axis of size 1 is broadcast (index 0) as in NumPy.
 */
function refEinsum(spec: string, ...ops: N[]): N {
  const [ins, out] = spec.split("->");
  const terms = ins.split(",");
  const size = new Map<string, number>();
  terms.forEach((t, k) => [...t].forEach((l, i) => size.set(l, Math.max(size.get(l) ?? 1, shapeOf(ops[k])[i]))));
  const labels = [...size.keys()];
  const outShape = [...out].map((l) => size.get(l)!);
  const acc = new Map<string, number>();
  const assign = new Map<string, number>();
  const loop = (d: number): void => {
    if (d === labels.length) {
      let p = 1;
      terms.forEach((t, k) => {
        const sh = shapeOf(ops[k]);
        p *= at(ops[k], [...t].map((l, i) => (sh[i] === 1 ? 0 : assign.get(l)!)));
      });
      const key = [...out].map((l) => assign.get(l)).join(",");
      acc.set(key, (acc.get(key) ?? 0) + p);
      return;
    }
    for (let i = 0; i < size.get(labels[d])!; i++) (assign.set(labels[d], i), loop(d + 1));
  };
  loop(0);
  return build(outShape, (idx) => acc.get(idx.join(",")) ?? 0);
}
/** Letters for n axes starting at `from` ("abc..."), to spell references. */
const letters = (n: number, from = 0) => range(n).map((i) => String.fromCharCode(97 + from + i)).join("");

describe("dot", () => {
  it("follows NumPy's examples", () => {
    expect(np.dot(3, 4).item()).toBe(12);
    expect(list(np.dot([[1, 0], [0, 1]], [[4, 1], [2, 2]]))).toEqual([[4, 1], [2, 2]]);
    const a = A(arange([3, 4, 5, 6]));
    const b = A(build([5, 4, 6, 3], (idx) => 359 - at(arange([5, 4, 6, 3]), idx)));
    const d = np.dot(a, b);
    expect(d.shape).toEqual([3, 4, 5, 5, 4, 3]);
    expect(d.dtype.name).toBe("int32");
    expect(at(d.tolist(), [2, 3, 2, 1, 2, 2])).toBe(499128);
  });
  it("stacks batch axes: out shape a[:-1] + b[:-2] + b[-1:]", () => {
    for (const [sa, sb] of [[[4], [4]], [[3, 4], [4]], [[4], [4, 2]], [[2, 3], [3, 5]], [[2, 3, 4], [5, 4, 6]], [[4], [2, 4, 3]]]) {
      const a = data(sa, 1);
      const b = data(sb, 2);
      const la = letters(sa.length - 1);
      const lb = letters(sb.length, 10);
      const bSpec = sb.length === 1 ? "z" : lb.slice(0, -2) + "z" + lb.slice(-1);
      const spec = `${la}z,${bSpec}->${la}${sb.length === 1 ? "" : lb.slice(0, -2) + lb.slice(-1)}`;
      const want = refEinsum(spec, a, b);
      expect(list(np.dot(a, b)), spec).toEqual(want);
    }
  });
  it("scalar operands multiply elementwise", () => {
    expect(list(np.dot(2, [[1, 2], [3, 4]]))).toEqual([[2, 4], [6, 8]]);
    expect(list(np.dot(A([1.5, 2]), 2))).toEqual([3, 4]);
  });
  it("errors name both shapes NumPy style", () => {
    expect(() => np.dot(A(data([2, 3])), A(data([4, 5])))).toThrow("dot: shapes [2, 3] and [4, 5] not aligned: 3 (dim 1) != 4 (dim 0)");
    expect(() => np.dot([1, 2, 3], [[1, 2], [3, 4]])).toThrow("dot: shapes [3] and [2, 2] not aligned: 3 (dim 0) != 2 (dim 0)");
  });
});

describe("matmul", () => {
  it("follows NumPy's examples", () => {
    expect(list(np.matmul([[1, 0], [0, 1]], [[4, 1], [2, 2]]))).toEqual([[4, 1], [2, 2]]);
    const a = A(arange([2, 2, 4]));
    const b = A(arange([2, 4, 2]));
    const c = np.matmul(a, b);
    expect(c.shape).toEqual([2, 2, 2]);
    expect(at(c.tolist(), [0, 1, 1])).toBe(98);
    expect(list(np.matmul([[1, 0], [0, 1]], [1, 2]))).toEqual([1, 2]);
    expect(list(np.matmul([1, 2], [[1, 0], [0, 1]]))).toEqual([1, 2]);
  });
  it("broadcasts batch axes and promotes 1-D operands", () => {
    const cases: [number[], number[], string][] = [
      [[2, 1, 3, 4], [5, 4, 2], "pqik,qkj->pqij"],
      [[1, 3, 4], [5, 4, 2], "qik,qkj->qij"],
      [[6, 3, 4], [4, 2], "qik,kj->qij"],
      [[3, 4], [6, 4, 2], "ik,qkj->qij"],
      [[4], [6, 4, 2], "k,qkj->qj"],
      [[6, 3, 4], [4], "qik,k->qi"],
      [[4], [4], "k,k->"],
      [[2, 3, 1, 3, 4], [3, 5, 4, 2], "abcik,bckj->abcij"],
    ];
    for (const [sa, sb, spec] of cases) {
      const a = data(sa, 3);
      const b = data(sb, 4);
      // The reference broadcasts size-1 axes; letters of a missing batch axis just do not appear.
      expect(list(np.matmul(a, b)), `${sa} @ ${sb}`).toEqual(refEinsum(spec, a, b));
    }
  });
  it("float inputs match a float64 loop closely", () => {
    const a = build([3, 7, 5], ([i, j, k]) => Math.sin(i * 7 + j * 3 + k) * 3.7);
    const b = build([5, 4], ([i, j]) => Math.cos(i * 5 + j) / 3);
    const want = refEinsum("bik,kj->bij", a, b) as N[][][];
    const got = np.matmul(a, b).tolist() as number[][][];
    got.flat(2).forEach((g, i) => expect(Math.abs(g - (want.flat(2)[i] as number))).toBeLessThan(1e-5));
  });
  it("keeps integer and bool dtypes, promotes mixed ones", () => {
    expect(np.matmul(A([[1, 2]], "int8"), A([[3], [4]], "int8")).dtype.name).toBe("int8");
    expect(np.matmul(A([[1, 2]], "int32"), A([[3], [4]], "float32")).dtype.name).toBe("float32");
    const r = np.matmul(A([[true, false], [true, true]], "bool"), A([[false, true], [true, false]], "bool"));
    expect(r.dtype.name).toBe("bool");
    expect(r.tolist()).toEqual([[false, true], [true, true]]);
  });
  it("errors", () => {
    expect(() => np.matmul(3, [1, 2])).toThrow("matmul: input operand 0 must have ndim at least 1, but it has ndim 0");
    expect(() => np.matmul([1, 2], 3)).toThrow(/input operand 1 must have ndim at least 1/);
    expect(() => np.matmul(A(data([2, 3])), A(data([4, 5])))).toThrow(/matmul: .*mismatch in its core dimension 0.*size 4 is different from 3.*\[2, 3\] and \[4, 5\]/);
    expect(() => np.matmul(A(data([2, 3, 4])), A(data([5, 4, 2])))).toThrow("matmul: Incompatible shapes for matmul arguments: [2, 3, 4] and [5, 4, 2]");
  });
});

describe("vdot, inner, outer, tensordot, kron", () => {
  it("vdot flattens (NumPy's example)", () => {
    expect(np.vdot([[1, 4], [5, 6]], [[4, 1], [2, 2]]).item()).toBe(30);
    expect(() => np.vdot([1, 2], [1, 2, 3])).toThrow(/vdot: .*\[2\] and \[3\]/);
  });
  it("inner contracts last axes (NumPy's examples)", () => {
    expect(np.inner([1, 2, 3], [0, 1, 0]).item()).toBe(2);
    expect(list(np.inner(A(arange([2, 3, 4])), A(arange([4]))))).toEqual([[14, 38, 62], [86, 110, 134]]);
    const a = data([2, 3]);
    const b = data([4, 3], 5);
    expect(list(np.inner(a, b))).toEqual(refEinsum("ik,jk->ij", a, b));
    expect(list(np.inner(2, [1, 2]))).toEqual([2, 4]);
    expect(() => np.inner([1, 2], [1, 2, 3])).toThrow(/inner: shapes \[2\] and \[3\] not aligned/);
  });
  it("outer flattens both operands", () => {
    const a = data([2, 2]);
    const b = data([3], 2);
    expect(list(np.outer(a, b))).toEqual(build([4, 3], ([i, j]) => at(a, [Math.floor(i / 2), i % 2]) * at(b, [j])));
  });
  it("tensordot with an integer or axis lists (NumPy's example)", () => {
    const a = A(arange([3, 4, 5]));
    const b = A(arange([4, 3, 2]));
    const c = np.tensordot(a, b, [[1, 0], [0, 1]]);
    expect(list(c)).toEqual([[4400, 4730], [4532, 4874], [4664, 5018], [4796, 5162], [4928, 5306]]);
    const x = data([2, 3, 4]);
    const y = data([3, 4, 5], 7);
    expect(list(np.tensordot(x, y))).toEqual(refEinsum("ijk,jkl->il", x, y));
    expect(list(np.tensordot(x, y, 0))).toEqual(refEinsum("ijk,lmn->ijklmn", x, y));
    expect(list(np.tensordot(x, data([4, 2]), { axes: 1 }))).toEqual(refEinsum("ijk,kl->ijl", x, data([4, 2])));
    expect(list(np.tensordot(x, y, [-2, 0]))).toEqual(refEinsum("ijk,jlm->iklm", x, y));
    expect(() => np.tensordot(x, y, 4)).toThrow(/Number of tensordot axes \(axes 4\) exceeds input ranks \(3 and 3\)/);
    expect(() => np.tensordot(x, y, [[0, 1], [0]])).toThrow(/axes lists to have equal length/);
    expect(() => np.tensordot(x, y, [[0], [0]])).toThrow(/shape-mismatch for sum/);
  });
  it("kron follows NumPy's examples", () => {
    expect(list(np.kron([1, 10, 100], [5, 6, 7]))).toEqual([5, 6, 7, 50, 60, 70, 500, 600, 700]);
    expect(list(np.kron([5, 6, 7], [1, 10, 100]))).toEqual([5, 50, 500, 6, 60, 600, 7, 70, 700]);
    expect(list(np.kron([[1, 0], [0, 1]], [[1, 1], [1, 1]]))).toEqual([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]);
    const a = data([2, 3]);
    const b = data([3, 2], 4);
    expect(list(np.kron(a, b))).toEqual(build([6, 6], ([i, j]) => at(a, [Math.floor(i / 3), Math.floor(j / 2)]) * at(b, [i % 3, j % 2])));
  });
});

describe("einsum", () => {
  it("follows NumPy's documented examples", () => {
    const a = A(arange([5, 5]));
    const b = A(range(5));
    const c = A(arange([2, 3]));
    expect(np.einsum("ii", a).item()).toBe(60);
    expect(list(np.einsum("ii->i", a))).toEqual([0, 6, 12, 18, 24]);
    expect(list(np.einsum("ij->i", a))).toEqual([10, 35, 60, 85, 110]);
    expect(list(np.einsum("ij,j", a, b))).toEqual([30, 80, 130, 180, 230]);
    expect(list(np.einsum("...j,j", a, b))).toEqual([30, 80, 130, 180, 230]);
    expect(list(np.einsum("ji", c))).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(list(np.einsum("..., ...", 3, c))).toEqual([[0, 3, 6], [9, 12, 15]]);
    expect(np.einsum("i,i", b, b).item()).toBe(30);
    expect(list(np.einsum("i,j", [1, 2], b))).toEqual([[0, 1, 2, 3, 4], [0, 2, 4, 6, 8]]);
    const t = np.einsum("ijk,jil->kl", A(arange([3, 4, 5])), A(arange([4, 3, 2])));
    expect(list(t)).toEqual([[4400, 4730], [4532, 4874], [4664, 5018], [4796, 5162], [4928, 5306]]);
    const p = A(arange([3, 2]));
    const q = A(arange([4, 3]));
    const want = [[10, 28, 46, 64], [13, 40, 67, 94]];
    expect(list(np.einsum("ki,jk->ij", p, q))).toEqual(want);
    expect(list(np.einsum("ki,...k->i...", p, q))).toEqual(want);
    expect(list(np.einsum("k...,jk", p, q))).toEqual(want);
  });
  it("matches the reference loop on explicit specs", () => {
    const specs: [string, number[][]][] = [
      ["ij,jk->ik", [[2, 3], [3, 4]]],
      ["ij,jk->ki", [[2, 3], [3, 4]]],
      ["bij,bjk->bik", [[2, 3, 4], [2, 4, 5]]],
      ["ijk,jil->kl", [[3, 2, 4], [2, 3, 5]]],
      ["ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]]],
      ["ab,cd,bc->ad", [[2, 3], [4, 5], [3, 4]]],
      ["i,i,i->", [[5], [5], [5]]],
      ["ij,ij->ij", [[3, 4], [3, 4]]],
      ["ij,ij->", [[3, 4], [3, 4]]],
      ["ij,kl->ijkl", [[2, 3], [2, 2]]],
      ["ij,kj->", [[2, 3], [4, 3]]],
      ["i->", [[6]]],
      ["ijk->kji", [[2, 3, 4]]],
      ["iij->ji", [[3, 3, 2]]],
      ["iji->j", [[3, 2, 3]]],
      ["iii->i", [[3, 3, 3]]],
      ["ii,ij->j", [[3, 3], [3, 2]]],
      ["ij,j->ij", [[3, 1], [4]]],
      ["abc,cd,de,a->be", [[2, 3, 4], [4, 2], [2, 3], [2]]],
    ];
    specs.forEach(([spec, shapes]) => {
      const ops = shapes.map((s, k) => data(s, k + 1));
      expect(list(np.einsum(spec, ...ops)), spec).toEqual(refEinsum(spec, ...ops));
    });
  });
  it("implicit outputs use the once-appearing indices in alphabetical order", () => {
    const x = data([3, 4]);
    const y = data([4, 2], 2);
    expect(list(np.einsum("ij,jk", x, y))).toEqual(refEinsum("ij,jk->ik", x, y));
    expect(list(np.einsum("kj,ji", data([2, 3], 3), x))).toEqual(refEinsum("kj,ji->ik", data([2, 3], 3), x));
    expect(list(np.einsum("ba", x))).toEqual(refEinsum("ba->ab", x));
  });
  it("broadcasts ellipsis axes, size-1 axes included", () => {
    const a = data([2, 1, 3, 4]);
    const b = data([5, 4, 2], 2);
    expect(list(np.einsum("...ij,...jk->...ik", a, b))).toEqual(refEinsum("pqij,qjk->pqik", a, b));
    expect(list(np.einsum("...ij,...jk", a, b))).toEqual(refEinsum("pqij,qjk->pqik", a, b));
    expect(list(np.einsum("...ii->...i", data([2, 3, 3])))).toEqual(refEinsum("aii->ai", data([2, 3, 3])));
    expect(list(np.einsum("i...->...", data([3, 2, 2])))).toEqual(refEinsum("iab->ab", data([3, 2, 2])));
    expect(np.einsum("...i->", data([2, 3])).item()).toBe(refEinsum("ai->", data([2, 3])));
  });
  it("promotes dtypes and honours preferredElementType", () => {
    expect(np.einsum("i,i", A([1, 2], "int32"), A([1, 2], "int32")).dtype.name).toBe("int32");
    expect(np.einsum("i,i", A([1, 2], "int32"), A([0.5, 2], "float32")).item()).toBe(4.5);
    const r = np.einsum("i,i->", A([100, 100], "int8"), A([2, 2], "int8"), { preferredElementType: "int32" });
    expect(r.dtype.name).toBe("int32");
    expect(r.item()).toBe(400);
  });
  it("errors", () => {
    expect(() => np.einsum("ij,jk->ik", A(data([2, 3])), A(data([4, 5])))).toThrow(/einsum: Size of label 'j' for operand 1 \(4\) does not match previous terms \(3\)/);
    expect(() => np.einsum("ij,jk", A(data([2, 3])))).toThrow(/fewer operands/);
    expect(() => np.einsum("ij", A(data([2, 3])), A(data([2, 3])))).toThrow(/more operands/);
    expect(() => np.einsum("ij->ik", A(data([2, 3])))).toThrow(/output subscript 'k' which never appeared/);
    expect(() => np.einsum("ij->ii", A(data([2, 3])))).toThrow(/output subscript 'i' multiple times/);
    expect(() => np.einsum("ijk", A(data([2, 3])))).toThrow(/has 3 subscripts but the operand has 2 dimensions/);
    expect(() => np.einsum("i1", A(data([2, 3])))).toThrow(/invalid subscript '1'/);
    expect(() => np.einsum("ii", A(data([2, 3])))).toThrow(/collapsing index 'i' don't match \(2 != 3\)/);
  });
});

// ---- Abstract evaluation: every function must reach its result through `bind` alone, so it
// works on tracers (jit/vmap/grad later). A minimal shape-only trace checks that here.

describe("abstract evaluation (tracers)", () => {
  it("contractions only bind primitives", () => {
    expect(abstractShapes((a, b) => np.dot(a, b), [[2, 3, 4]], [[5, 4, 6]])).toEqual([[2, 3, 5, 6]]);
    expect(abstractShapes((a, b) => np.matmul(a, b), [[2, 1, 3, 4]], [[5, 4, 6]])).toEqual([[2, 5, 3, 6]]);
    expect(abstractShapes((a, b) => np.tensordot(a, b, [[1, 0], [0, 1]]), [[3, 4, 5]], [[4, 3, 2]])).toEqual([[5, 2]]);
    expect(abstractShapes((a, b, c) => np.einsum("ii,ij,...jk->...k", a, b, c), [[3, 3]], [[3, 4]], [[2, 4, 5]])).toEqual([[2, 5]]);
    expect(abstractShapes((a, b) => np.kron(a, b), [[2, 3]], [[4, 5]])).toEqual([[8, 15]]);
  });
});
