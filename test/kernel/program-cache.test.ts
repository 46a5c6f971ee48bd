// The cache of lowered programs across jitted functions (kernel/lower/program-cache.ts) and the
// structural keys it is keyed by (kernel/ir/structural-key.ts): two fresh jits of functions with
// the same operations share one lowered program and still compute their own results with their
// own constants; a constant whose value changes what the passes do is never served a program
// made for another value; the records of a reused program carry the new function's names and
// source lines. Results are checked against values computed here in plain JS (float64, then
// rounded to float32 where the program computes in float32).

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { jit, lax, np, valueAndGrad, nn } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { ClosedJaxpr } from "../../kernel/ir/jaxpr";
import { makeJaxpr } from "../../kernel/transforms/stage";
import { structuralKey, equationsInOrder } from "../../kernel/ir/structural-key";
import { CompiledRecord, onCompile } from "../../kernel/lower/inspect";
import { clearProgramCache, programCacheStats, setProgramCacheEnabled } from "../../kernel/lower/jit-runner";
import { recordOf } from "./helpers/compiled";

const f32 = (xs: number[]) => np.array(xs, { dtype: "float32" });
const fround = Math.fround;
const values = (x: NDArray) => Array.from(x.dataSync() as ArrayLike<number>, Number);

/** Counts of hits since the test started. */
function hits(): { traced: number; optimized: number } {
  const s = programCacheStats();
  return { traced: s.traced.hits, optimized: s.optimized.hits };
}

beforeEach(() => clearProgramCache());
afterEach(() => setProgramCacheEnabled(true));

describe("structural keys", () => {
  const key = (f: (...a: NDArray[]) => NDArray, ...args: NDArray[]) => structuralKey(makeJaxpr(f)(...args) as ClosedJaxpr, "values");

  it("are equal for the same operations traced twice, whatever the variables and closures", () => {
    const x = f32([1, 2, 3]);
    const make = () => (v: NDArray) => np.tanh(v.mul(2).add(1)).sum();
    expect(key(make(), x)).toBe(key(make(), x));
    expect(key(make(), x)).not.toBeNull();
  });

  it("differ for another literal, primitive, parameter, shape, dtype or output", () => {
    const x = f32([1, 2, 3]);
    const base = key((v) => v.mul(2).sum(), x);
    expect(key((v) => v.mul(3).sum(), x)).not.toBe(base);
    expect(key((v) => v.add(2).sum(), x)).not.toBe(base);
    expect(key((v) => v.mul(2).max(), x)).not.toBe(base);
    expect(key((v) => v.mul(2).sum(), f32([1, 2, 3, 4]))).not.toBe(base);
    expect(key((v) => v.mul(2).sum(), np.array([1, 2, 3], { dtype: "int32" }))).not.toBe(base);
    expect(key((v) => v.mul(2), x)).not.toBe(base);
    // -0.0 and 0.0 are different literals (x + -0.0 simplifies away, x + 0.0 does not).
    expect(key((v) => v.add(-0), x)).not.toBe(key((v) => v.add(0), x));
  });

  it('hold constants by value in "values" mode and by aval in "avals" mode', () => {
    const x = f32([1, 2, 3]);
    const c1 = f32([1, 2, 3]);
    const c2 = f32([1, 2, 4]);
    const cj1 = makeJaxpr((v: NDArray) => v.mul(c1))(x) as ClosedJaxpr;
    const cj2 = makeJaxpr((v: NDArray) => v.mul(c2))(x) as ClosedJaxpr;
    const cj3 = makeJaxpr((v: NDArray) => v.mul(f32([1, 2, 3])))(x) as ClosedJaxpr;
    expect(structuralKey(cj1, "values")).not.toBe(structuralKey(cj2, "values"));
    expect(structuralKey(cj1, "values")).toBe(structuralKey(cj3, "values"));
    expect(structuralKey(cj1, "avals")).toBe(structuralKey(cj2, "avals"));
  });

  it('are null in "values" mode for a constant too big to key by value', () => {
    const big = np.ones([2000], { dtype: "float32" });
    const cj = makeJaxpr((v: NDArray) => v.mul(big))(np.zeros([2000])) as ClosedJaxpr;
    expect(structuralKey(cj, "values")).toBeNull();
    expect(structuralKey(cj, "avals")).not.toBeNull();
  });

  it("hold a nested body with constants by identity in both modes (its steps would carry the old values)", () => {
    const x = f32([1, 2, 3]);
    const outer = (c: NDArray) => {
      const inner = jit((v: NDArray) => v.mul(c));
      return makeJaxpr((v: NDArray) => inner(v).add(1))(x) as ClosedJaxpr;
    };
    const [a, b] = [outer(f32([1, 2, 3])), outer(f32([1, 2, 3]))];
    expect((a.jaxpr.eqns[0].params.jaxpr as ClosedJaxpr).consts).toHaveLength(1);
    expect(structuralKey(a, "avals")).not.toBe(structuralKey(b, "avals"));
    expect(structuralKey(a, "values")).not.toBe(structuralKey(b, "values"));
    expect(structuralKey(a, "avals")).toBe(structuralKey(a, "avals"));
    // Without constants, nested bodies are keyed by structure.
    const plain = () => {
      const inner = jit((v: NDArray) => v.mul(2));
      return makeJaxpr((v: NDArray) => inner(v).add(1))(x) as ClosedJaxpr;
    };
    expect(structuralKey(plain(), "values")).toBe(structuralKey(plain(), "values"));
  });

  it("list corresponding equations at the same positions", () => {
    const x = f32([1, 2, 3]);
    const f = (v: NDArray) => np.exp(v).add(v).sum();
    const a = equationsInOrder((makeJaxpr(f)(x) as ClosedJaxpr).jaxpr).map((e) => e.primitive.name);
    expect(a).toEqual(["exp", "add", "reduce_sum"]);
  });
});

describe("the program cache", () => {
  it("gives a fresh jit of the same operations the lowered program, with its own results", () => {
    const make = () => jit((x: NDArray, y: NDArray) => np.tanh(x.mul(2).add(y)).sum(0));
    const x1 = f32([0.5, -1, 2, 0.25]).reshape(2, 2);
    const y1 = f32([1, 2, 3, 4]).reshape(2, 2);
    const x2 = f32([3, 1, -2, 0]).reshape(2, 2);
    const y2 = f32([-1, 0.5, 0, 1]).reshape(2, 2);
    const seen: CompiledRecord[] = [];
    const stop = onCompile((r) => seen.push(r));
    const f = make();
    const g = make();
    const a = f(x1, y1);
    const before = hits();
    const b = g(x2, y2);
    stop();
    expect(hits().traced).toBe(before.traced + 1);
    expect(seen).toHaveLength(2); // each function gets a record of its own
    expect(seen[1].kernels.map((k) => k.source)).toEqual(seen[0].kernels.map((k) => k.source));
    const want = (x: number[], y: number[]) => [0, 1].map((j) => Math.tanh(fround(2 * x[j]) + y[j]) + Math.tanh(fround(2 * x[2 + j]) + y[2 + j]));
    values(a).forEach((v, i) => expect(v).toBeCloseTo(want(values(x1), values(y1))[i], 5));
    values(b).forEach((v, i) => expect(v).toBeCloseTo(want(values(x2), values(y2))[i], 5));
  });

  it("runs each function with its own constants (same structure, other values)", () => {
    // Big constants are keyed by aval only after the passes: the second program reuses the
    // lowering with its own values.
    const n = 1500;
    const c1 = np.arange(n).astype("float32");
    const c2 = np.arange(n).astype("float32").mul(-3);
    const f = jit((x: NDArray) => x.mul(c1).add(1));
    const g = jit((x: NDArray) => x.mul(c2).add(1));
    const x = np.ones([n], { dtype: "float32" }).mul(0.5);
    const a = values(f(x));
    const before = hits();
    const b = values(g(x));
    expect(hits().optimized).toBe(before.optimized + 1);
    for (const i of [0, 1, 7, 1499]) {
      expect(a[i]).toBe(fround(fround(0.5 * i) + 1));
      expect(b[i]).toBe(fround(fround(0.5 * fround(-3 * i)) + 1));
    }
  });

  it("never serves a program made for another constant value", () => {
    // x * c with c all ones is simplified to x; with c = [1, 2, 3] it is a multiply; with c
    // = [2, 2, 2] folding makes c * 10 a broadcast literal; c = [4, 5, 6] has [1, 2, 3]'s
    // optimised structure (its folded c * 10 another constant): the lowering is reused, with
    // its own constants. Each gets what its own value gives.
    const x = f32([5, 7, 11]);
    const cs = [f32([1, 2, 3]), f32([1, 1, 1]), f32([2, 2, 2]), f32([1, 2, 3]), f32([4, 5, 6])];
    const outs: number[][] = [];
    const hitsAt: { traced: number; optimized: number }[] = [];
    for (const c of cs) {
      outs.push(values(jit((v: NDArray) => v.mul(c).add(c.mul(10)))(x)));
      hitsAt.push(hits());
    }
    expect(outs).toEqual([
      [15, 34, 63],
      [15, 17, 21],
      [30, 34, 42],
      [15, 34, 63],
      [60, 85, 126],
    ]);
    expect(hitsAt[3].traced).toBe(hitsAt[2].traced + 1); // equal values: the traced program is reused
    expect(hitsAt[4].optimized).toBe(hitsAt[3].optimized + 1); // other values, same optimised structure
  });

  it("a program reused by value takes the new function's constants, not a disposed old one", () => {
    const c1 = f32([1, 2, 3]);
    const f = jit((v: NDArray) => v.mul(c1).add(c1.sum()));
    const x = f32([2, 3, 4]);
    expect(values(f(x))).toEqual([8, 12, 18]);
    c1.dispose();
    const c2 = f32([1, 2, 3]);
    const before = hits();
    const g = jit((v: NDArray) => v.mul(c2).add(c2.sum()));
    expect(values(g(x))).toEqual([8, 12, 18]);
    expect(hits().traced).toBe(before.traced + 1);
  });

  it("a reused program's record carries the new function's name and source lines", () => {
    const seen: CompiledRecord[] = [];
    const stop = onCompile((r) => seen.push(r));
    const x = f32([1, 2, 3]);
    function first(v: NDArray) {
      return np.exp(v.mul(3)).sum();
    }
    function second(v: NDArray) {
      return np.exp(v.mul(3)).sum();
    }
    jit(first)(x);
    jit(second)(x);
    stop();
    expect(seen.map((r) => r.name)).toEqual(["first", "second"]);
    // Each after-equation's line is one of its own program's traced lines.
    for (const r of seen) {
      const own = r.before.jaxpr.eqns.map((e) => JSON.stringify(e.source));
      expect(r.after.jaxpr.eqns.length).toBeGreaterThan(0);
      for (const e of r.after.jaxpr.eqns) expect(own).toContain(JSON.stringify(e.source));
    }
    // Under the jit-all run the first frame outside kernel/ is the harness's (test/jit-all), the same for both.
    if (process.env.PRIMAL_JIT_ALL === "1") return;
    const lines = (r: CompiledRecord) => r.after.jaxpr.eqns.map((e) => e.source?.line);
    const l1 = lines(seen[0]);
    const l2 = lines(seen[1]);
    expect(l1.every((l) => typeof l === "number")).toBe(true);
    expect(l2.every((l, i) => l! - l1[i]! === 3)).toBe(true); // `second` is written 3 lines below `first`
    expect(seen[1].after.jaxpr.eqns[0].source?.file).toMatch(/program-cache\.test\.ts$/);
  });

  it("shares one program between fresh MLP training steps (valueAndGrad + SGD), each with its own values", () => {
    type P = { w: NDArray; b: NDArray };
    const step = () =>
      jit((p: P, x: NDArray, y: NDArray) => {
        const loss = (q: P) => np.negative(np.mean(np.sum(y.mul(nn.logSoftmax(np.matmul(x, q.w).add(q.b), 1)), 1)));
        const [l, g] = valueAndGrad(loss)(p);
        return [{ w: p.w.sub(g.w.mul(0.1)), b: p.b.sub(g.b.mul(0.1)) }, l] as const;
      });
    const x = f32([1, 0, 0, 1, 1, 1]).reshape(3, 2);
    const y = f32([1, 0, 0, 1, 1, 0]).reshape(3, 2);
    const p1 = { w: f32([0.1, -0.2, 0.3, 0.4]).reshape(2, 2), b: f32([0, 0.5]) };
    const p2 = { w: f32([-0.5, 0.25, 1, 0]).reshape(2, 2), b: f32([1, -1]) };
    // float64 reference of the loss
    const lossRef = (w: number[], b: number[]) => {
      const X = values(x);
      const Y = values(y);
      let s = 0;
      for (let i = 0; i < 3; i++) {
        const z = [0, 1].map((j) => X[2 * i] * w[j] + X[2 * i + 1] * w[2 + j] + b[j]);
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
        s -= Y[2 * i] * (z[0] - lse) + Y[2 * i + 1] * (z[1] - lse);
      }
      return s / 3;
    };
    const [, l1] = step()(p1, x, y);
    const before = hits();
    const [n2, l2] = step()(p2, x, y);
    expect(hits().traced).toBe(before.traced + 1);
    expect(Number(l1.item())).toBeCloseTo(lossRef(values(p1.w), values(p1.b)), 5);
    expect(Number(l2.item())).toBeCloseTo(lossRef(values(p2.w), values(p2.b)), 5);
    // The update moves the loss down from p2's.
    expect(lossRef(values(n2.w), values(n2.b))).toBeLessThan(lossRef(values(p2.w), values(p2.b)));
  });

  it("control flow whose bodies close over arrays: each function runs its own bodies' values", () => {
    // Arrays the bodies close over reach the program as constants (hoisted into operands) or
    // inside the bodies held by the steps' parameters: either way each function must run with
    // its own values, also when it shares a lowering.
    const x = f32([1, 2, 3]);
    const make = (c: NDArray, d: NDArray) =>
      jit((v: NDArray, p: NDArray) => {
        const y = lax.cond(p, (a: NDArray) => a.mul(c), (a: NDArray) => a.add(d), v);
        return lax.whileLoop((s: NDArray[]) => s[1].lt(3), (s: NDArray[]) => [s[0].add(c), s[1].add(1)], [y, np.array(0)])[0];
      });
    const big = (k: number) => np.arange(3).astype("float32").add(k);
    const outs = [make(big(1), big(10)), make(big(2), big(20)), make(big(1), big(10))].map((f) => [values(f(x, np.array(true))), values(f(x, np.array(false)))]);
    // c = [k, k+1, k+2], d = [m, m+1, m+2]: true -> x * c + 3c, false -> x + d + 3c
    const want = (k: number, m: number) => {
      const c = [k, k + 1, k + 2];
      const d = [m, m + 1, m + 2];
      return [[1, 2, 3].map((v, i) => v * c[i] + 3 * c[i]), [1, 2, 3].map((v, i) => v + d[i] + 3 * c[i])];
    };
    expect(outs[0]).toEqual(want(1, 10));
    expect(outs[1]).toEqual(want(2, 20));
    expect(outs[2]).toEqual(want(1, 10));
  });

  it("is not used when turned off", () => {
    setProgramCacheEnabled(false);
    const make = () => jit((x: NDArray) => x.mul(2).sum());
    const x = f32([1, 2]);
    make()(x);
    const before = hits();
    expect(Number(make()(x).item())).toBe(6);
    expect(hits()).toEqual(before);
    expect(recordOf(make(), x).counts.kernels).toBe(1);
  });
});
