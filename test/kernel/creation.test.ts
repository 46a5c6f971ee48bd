// jax.numpy array creation: NumPy's documented examples, float64 references computed here with
// plain JS loops, JAX's dtype and weak-type rules, and error cases.
import "../../kernel/backends/cpu/cpu-backend";
import { afterEach, describe, expect, it } from "vitest";
import * as np from "../../kernel/api/creation";
import { NDArray, NestedList } from "../../kernel/core/ndarray";
import { float32, setDTypeWarningHandler } from "../../kernel/core/dtype";
import { ShapeError, ValueError } from "../../kernel/core/errors";
import { ShapedArray } from "../../kernel/core/aval";
import { Primitive } from "../../kernel/core/primitive";
import { Tracer, withNewMain } from "../../kernel/core/trace";
import { AbsTrace as RecTrace, AbsTracer as RecTracer } from "./helpers/abstract-trace";

type Nested = number | Nested[];
function flatOf(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flatOf) : [x];
}
function expectClose(actual: NestedList, expected: Nested, rtol = 1e-6, atol = 1e-6): void {
  const a = flatOf(actual as Nested);
  const e = flatOf(expected);
  expect(a.length).toBe(e.length);
  a.forEach((v, i) => {
    if (Number.isNaN(e[i])) expect(v, `element ${i}`).toBeNaN();
    else expect(Math.abs(v - e[i]), `element ${i}: ${v} vs ${e[i]}`).toBeLessThanOrEqual(atol + rtol * Math.abs(e[i]));
  });
}
function sig(x: NDArray): string {
  return `${x.dtype.name}${x.weakType ? " weak" : ""} [${x.shape.join(", ")}]`;
}

afterEach(() => setDTypeWarningHandler((msg) => process.emitWarning(msg, "UserWarning")));

describe("array, asarray, copy", () => {
  it("infers NumPy's dtypes and JAX's weak types", () => {
    expect(sig(np.array([1, 2, 3]))).toBe("int32 [3]");
    expect(sig(np.array([1, 2.5]))).toBe("float32 [2]");
    expect(sig(np.array([[true], [false]]))).toBe("bool [2, 1]");
    expect(sig(np.array(2))).toBe("int32 weak []");
    expect(sig(np.array(2.5))).toBe("float32 weak []");
    expect(sig(np.array(true))).toBe("bool []");
    expect(sig(np.array(2, { dtype: "float32" }))).toBe("float32 []");
    expect(np.array([1.7, -1.7], { dtype: "int32" }).tolist()).toEqual([1, -1]);
  });

  it("always returns a new array, keeping the weak type", () => {
    const x = np.array([1, 2]);
    const y = np.array(x);
    expect(y).not.toBe(x);
    expect(y.tolist()).toEqual([1, 2]);
    const w = np.array(3);
    expect(np.array(w).weakType).toBe(true);
    expect(np.array(w, { dtype: "int32" }).weakType).toBe(false);
    expect(np.array(x, { copy: false })).toBe(x);
    expect(np.asarray(x)).toBe(x);
    expect(np.asarray(x, { dtype: "float32" }).dtype.name).toBe("float32");
  });

  it("stacks lists that hold arrays, promoting to their common dtype", () => {
    const a = np.array([1, 2], { dtype: "float32" });
    const s = np.array([a, [3, 4]]);
    expect(sig(s)).toBe("float32 [2, 2]");
    expect(s.tolist()).toEqual([[1, 2], [3, 4]]);
    expect(sig(np.array([np.array(1, { dtype: "int8" }), 2]))).toBe("int8 [2]");
    expect(() => np.array([a, [1, 2, 3]])).toThrow(/array: .*inhomogeneous/);
  });

  it("supports ndmin", () => {
    expect(np.array([1, 2], { ndmin: 3 }).shape).toEqual([1, 1, 2]);
  });

  it("copy keeps dtype and weak type", () => {
    const w = np.asarray(2.5);
    const c = np.copy(w);
    expect(c).not.toBe(w);
    expect(sig(c)).toBe("float32 weak []");
    expect(np.copy([[1, 2]]).tolist()).toEqual([[1, 2]]);
  });
});

describe("zeros, ones, full, empty", () => {
  it("default to float32 and accept number or list shapes", () => {
    expect(sig(np.zeros(3))).toBe("float32 [3]");
    expect(np.zeros([2, 1]).tolist()).toEqual([[0], [0]]);
    expect(sig(np.ones([2, 3], { dtype: "int8" }))).toBe("int8 [2, 3]");
    expect(np.ones([2], { dtype: np.array(0).dtype }).tolist()).toEqual([1, 1]);
    expect(sig(np.empty([0, 4]))).toBe("float32 [0, 4]");
    expect(np.empty(2).tolist()).toEqual([0, 0]);
    expect(sig(np.zeros([]))).toBe("float32 []");
  });

  it("full follows JAX: a JS scalar fill is weakly typed unless a dtype is given", () => {
    expect(np.full([2, 2], 10).tolist()).toEqual([[10, 10], [10, 10]]);
    expect(sig(np.full([2, 2], 10))).toBe("int32 weak [2, 2]");
    expect(sig(np.full([2], 1.5))).toBe("float32 weak [2]");
    expect(sig(np.full([2], 10, { dtype: "float32" }))).toBe("float32 [2]");
    expect(sig(np.full([2], np.array(1, { dtype: "uint8" })))).toBe("uint8 [2]");
    expect(np.full([2, 2], [1, 2]).tolist()).toEqual([[1, 2], [1, 2]]);
    expect(np.full([3], true).tolist()).toEqual([true, true, true]);
    expect(() => np.full([2, 2], [1, 2, 3])).toThrow(ShapeError);
  });

  it("rejects negative or fractional dimensions", () => {
    expect(() => np.zeros([2, -1])).toThrow(ShapeError);
    expect(() => np.zeros([2, -1])).toThrow(/zeros: .*\[2, -1\]/);
    expect(() => np.ones(-3)).toThrow(ShapeError);
    expect(() => np.full([1.5], 0)).toThrow(ShapeError);
  });

  it("narrows 64-bit dtype names with a warning", () => {
    const warnings: string[] = [];
    setDTypeWarningHandler((m) => warnings.push(m));
    expect(np.zeros(2, { dtype: "float64" }).dtype).toBe(float32);
    expect(np.arange(3, { dtype: "int64" }).dtype.name).toBe("int32");
    expect(warnings.length).toBe(2);
    expect(warnings[0]).toMatch(/float64.*truncated to dtype float32/);
  });
});

describe("*Like constructors", () => {
  it("take the shape, dtype and weak type of the model", () => {
    const x = np.array([[1, 2, 3]], { dtype: "int16" });
    expect(sig(np.zerosLike(x))).toBe("int16 [1, 3]");
    expect(np.onesLike(x).tolist()).toEqual([[1, 1, 1]]);
    expect(np.fullLike(x, 7).tolist()).toEqual([[7, 7, 7]]);
    expect(sig(np.fullLike(x, 7))).toBe("int16 [1, 3]");
    expect(sig(np.emptyLike(x))).toBe("int16 [1, 3]");
    expect(sig(np.zerosLike(2.5))).toBe("float32 weak []");
    expect(sig(np.onesLike(x, { dtype: "float32", shape: [2] }))).toBe("float32 [2]");
    expect(np.fullLike(np.zeros([2, 2]), [1, 2]).tolist()).toEqual([[1, 2], [1, 2]]);
  });
});

describe("arange", () => {
  it("matches NumPy's documented examples", () => {
    expect(np.arange(3).tolist()).toEqual([0, 1, 2]);
    expect(sig(np.arange(3))).toBe("int32 [3]");
    expect(np.arange(3.0).tolist()).toEqual([0, 1, 2]);
    expect(np.arange(3, 7).tolist()).toEqual([3, 4, 5, 6]);
    expect(np.arange(3, 7, 2).tolist()).toEqual([3, 5]);
    expect(sig(np.arange(10, { dtype: "float32" }))).toBe("float32 [10]");
    expect(sig(np.arange(0.5, 3))).toBe("float32 [3]");
  });

  it("uses the length rule ceil((stop - start) / step)", () => {
    const cases: [number, number, number][] = [[0, 1, 0.1], [1, 2.05, 0.25], [5, 0, -1], [-3, 3, 0.7], [2, 2, 1], [5, 1, 1]];
    for (const [start, stop, step] of cases) {
      const n = Math.max(0, Math.ceil((stop - start) / step));
      const expected: number[] = [];
      for (let i = 0; i < n; i++) expected.push(start + i * step);
      const r = np.arange(start, stop, step);
      expect(r.shape).toEqual([n]);
      expectClose(r.tolist(), expected, 1e-6, 1e-6);
    }
  });

  it("accepts options after any argument and rejects step 0", () => {
    expect(np.arange(1, 4, { dtype: "float32" }).tolist()).toEqual([1, 2, 3]);
    expect(np.arange(1, 4, 2, { dtype: "uint8" }).tolist()).toEqual([1, 3]);
    expect(np.arange(0, 3, 1, { dtype: "bool" }).tolist()).toEqual([false, true, true]);
    expect(() => np.arange(0, 3, 0)).toThrow(ValueError);
  });
});

describe("linspace, logspace, geomspace", () => {
  it("matches NumPy's documented examples", () => {
    const x = np.linspace(2.0, 3.0, 5);
    expect(sig(x)).toBe("float32 [5]");
    expect(x.tolist()).toEqual([2, 2.25, 2.5, 2.75, 3]);
    expectClose(np.linspace(2.0, 3.0, 5, { endpoint: false }).tolist(), [2, 2.2, 2.4, 2.6, 2.8]);
    const [v, step] = np.linspace(2.0, 3.0, 5, { retstep: true });
    expect(v.tolist()).toEqual([2, 2.25, 2.5, 2.75, 3]);
    expect(step.item()).toBe(0.25);
    expect(np.linspace(0, 1).shape).toEqual([50]);
  });

  it("agrees with a float64 reference and hits the endpoints exactly", () => {
    for (const [a, b, n] of [[-3.7, 11.2, 17], [0, 1, 1000], [5, -5, 7], [1e-3, 2e-3, 3]] as [number, number, number][]) {
      const expected = Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
      const r = np.linspace(a, b, n).tolist() as number[];
      expectClose(r, expected, 2e-6, 1e-6);
      expect(r[0]).toBe(Math.fround(a));
      expect(r[n - 1]).toBe(Math.fround(b));
    }
  });

  it("handles num 0 and 1, integer dtypes, and array endpoints along an axis", () => {
    expect(np.linspace(1, 2, 0).shape).toEqual([0]);
    expect(np.linspace(1, 2, 1).tolist()).toEqual([1]);
    expect(np.linspace(1, 2, { num: 1, retstep: true })[1].item()).toBeNaN();
    expect(sig(np.linspace(0, 10, 4, { dtype: "int32" }))).toBe("int32 [4]");
    expect(np.linspace(0, 10, 4, { dtype: "int32" }).tolist()).toEqual([0, 3, 6, 10]);
    const ends = np.linspace([0, 10], [1, 20], 3);
    expect(ends.tolist()).toEqual([[0, 10], [0.5, 15], [1, 20]]);
    expect(np.linspace([0, 10], [1, 20], 3, { axis: -1 }).tolist()).toEqual([[0, 0.5, 1], [10, 15, 20]]);
    expect(() => np.linspace(0, 1, -1)).toThrow(ValueError);
  });

  it("logspace and geomspace match NumPy's documented examples", () => {
    expectClose(np.logspace(2.0, 3.0, 4).tolist(), [100, 215.443469, 464.15888336, 1000], 1e-6);
    expectClose(np.logspace(2.0, 3.0, 4, { endpoint: false }).tolist(), [100, 177.827941, 316.22776602, 562.34132519], 1e-6);
    expectClose(np.logspace(2.0, 3.0, 4, { base: 2.0 }).tolist(), [4, 5.0396842, 6.34960421, 8], 1e-6);
    expectClose(np.geomspace(1, 1000, 4).tolist(), [1, 10, 100, 1000], 1e-6);
    expectClose(np.geomspace(1, 1000, 4, { endpoint: false }).tolist(), [1, 5.62341325, 31.6227766, 177.827941], 1e-6);
    expectClose(np.geomspace(-1000, -1, 4).tolist(), [-1000, -100, -10, -1], 1e-6);
    expect(np.geomspace([1, 2], [100, 200], 3, { axis: 1 }).shape).toEqual([2, 3]);
  });
});

describe("eye, identity, tri", () => {
  it("matches NumPy's documented examples", () => {
    expect(np.eye(2, { dtype: "int32" }).tolist()).toEqual([[1, 0], [0, 1]]);
    expect(sig(np.eye(2))).toBe("float32 [2, 2]");
    expect(np.eye(3, null, 1).tolist()).toEqual([[0, 1, 0], [0, 0, 1], [0, 0, 0]]);
    expect(np.eye(3, { k: 1 }).tolist()).toEqual([[0, 1, 0], [0, 0, 1], [0, 0, 0]]);
    expect(np.eye(2, 3, -1).tolist()).toEqual([[0, 0, 0], [1, 0, 0]]);
    expect(np.identity(3, { dtype: "bool" }).tolist()).toEqual([[true, false, false], [false, true, false], [false, false, true]]);
    expect(np.tri(3, 5, 2, { dtype: "int32" }).tolist()).toEqual([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]);
    expect(np.tri(3, 5, -1).tolist()).toEqual([[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]]);
    expect(np.tri(2).tolist()).toEqual([[1, 0], [1, 1]]);
  });

  it("agrees with the index definitions for random sizes", () => {
    for (const [n, m, k] of [[4, 6, 2], [5, 3, -2], [1, 7, 0], [3, 3, 5]]) {
      const e = np.eye(n, m, k).tolist() as number[][];
      const t = np.tri(n, m, k).tolist() as number[][];
      for (let i = 0; i < n; i++)
        for (let j = 0; j < m; j++) {
          expect(e[i][j]).toBe(j - i === k ? 1 : 0);
          expect(t[i][j]).toBe(j <= i + k ? 1 : 0);
        }
    }
  });

  it("rejects negative sizes", () => {
    expect(() => np.eye(-1)).toThrow(ShapeError);
    expect(() => np.eye(2, -2)).toThrow(/eye: .*\[2, -2\]/);
    expect(() => np.tri(-1)).toThrow(ShapeError);
  });
});

describe("meshgrid", () => {
  it("matches NumPy's documented example", () => {
    const x = np.linspace(0, 1, 3);
    const y = np.linspace(0, 1, 2);
    const [xv, yv] = np.meshgrid(x, y);
    expect(xv.tolist()).toEqual([[0, 0.5, 1], [0, 0.5, 1]]);
    expect(yv.tolist()).toEqual([[0, 0, 0], [1, 1, 1]]);
    const [xs, ys] = np.meshgrid(x, y, { sparse: true });
    expect(xs.tolist()).toEqual([[0, 0.5, 1]]);
    expect(ys.tolist()).toEqual([[0], [1]]);
  });
  it("supports matrix indexing and more than two inputs", () => {
    const [a, b, c] = np.meshgrid([1, 2, 3], [4, 5], [6, 7, 8, 9], { indexing: "ij" });
    expect(a.shape).toEqual([3, 2, 4]);
    expect((a.tolist() as number[][][])[2][1][3]).toBe(3);
    expect((b.tolist() as number[][][])[2][1][3]).toBe(5);
    expect((c.tolist() as number[][][])[2][1][3]).toBe(9);
    const [p, q, r] = np.meshgrid([1, 2, 3], [4, 5], [6, 7, 8, 9]);
    expect([p.shape, q.shape, r.shape]).toEqual([[2, 3, 4], [2, 3, 4], [2, 3, 4]]);
    expect(() => np.meshgrid([[1, 2]], [3])).toThrow(/meshgrid: Arrays passed to meshgrid must be 1D/);
  });
});

// A minimal staging trace: records primitive names and returns abstract tracers, so any attempt
// to read a traced value in plain JS would throw.

describe("tracing", () => {
  it("array-valued arguments may be traced", () => {
    const prims: string[] = [];
    withNewMain(RecTrace, prims, (main) => {
      const s = new RecTracer(new RecTrace(main), new ShapedArray([], float32));
      const v = new RecTracer(new RecTrace(main), new ShapedArray([3], float32));
      const outs: [string, NDArray, string][] = [
        ["array", np.array(v), "float32 [3]"],
        ["array of list", np.array([v, [1, 2, 3]]), "float32 [2, 3]"],
        ["array of scalars", np.array([s, 2]), "float32 [2]"],
        ["asarray", np.asarray([s, s]), "float32 [2]"],
        ["copy", np.copy(v), "float32 [3]"],
        ["full", np.full([2, 3], s), "float32 [2, 3]"],
        ["fullLike", np.fullLike(v, s), "float32 [3]"],
        ["linspace", np.linspace(s, v, 4), "float32 [4, 3]"],
        ["logspace", np.logspace(0, s, 5), "float32 [5]"],
        ["geomspace", np.geomspace(v, 10, 2), "float32 [2, 3]"],
        ["meshgrid", np.meshgrid(v, [1, 2])[0], "float32 [2, 3]"],
      ];
      for (const [name, out, expected] of outs) {
        expect(out, name).toBeInstanceOf(Tracer);
        expect(sig(out), name).toBe(expected);
      }
      // Only the model's shape is used: the result is a constant, not a function of the tracer.
      const z = np.zerosLike(v, { dtype: "int32" });
      expect(z).not.toBeInstanceOf(Tracer);
      expect(z.tolist()).toEqual([0, 0, 0]);
    });
    expect(prims).toContain("broadcast_in_dim");
    expect(prims).toContain("concatenate");
  });
});
