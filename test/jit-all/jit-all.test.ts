// The jit-all mode itself (wrap.ts, install.ts): that wrapped API calls really run as compiled
// jit programs (new compiled records appear, named after the function, with several equations
// where the function has them), that static arguments key the cache, that calls made while a
// transformation traces, random functions and value-dependent calls run unchanged, and that
// the results equal the unwrapped functions'. Runs in the jit-all suite (where the setup file
// has installed the wrappers) and in a plain `npx vitest run` (it installs them itself; each
// test file has its own module instances, so no other file is affected).

import { beforeAll, describe, expect, it } from "vitest";
import { disableJit, grad, jit, lax, nn, np, random, vmap } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { CompiledRecord, onCompile } from "../../kernel/lower/inspect";
import { installJitAll } from "./install";
import { isJitAllWrapper, jitAllStats, setJitAllEnabled } from "./wrap";

beforeAll(() => installJitAll());

/** The programs compiled while `fn` runs. */
function compiledDuring(fn: () => void): CompiledRecord[] {
  const seen: CompiledRecord[] = [];
  const stop = onCompile((r) => seen.push(r));
  try {
    fn();
  } finally {
    stop();
  }
  return seen;
}

/** `fn` with the wrappers off: the functions as they are. */
function unwrapped<T>(fn: () => T): T {
  setJitAllEnabled(false);
  try {
    return fn();
  } finally {
    setJitAllEnabled(true);
  }
}

const x = () => np.arange(12).astype("float32").mul(0.5).sub(2).reshape(3, 4);

describe("jit-all: API calls run as compiled jit programs", () => {
  it("every function of np, lax and nn, and the NDArray methods, is wrapped", () => {
    for (const f of [np.add, np.var, np.matmul, np.where, lax.add, lax.scan, lax.cond, nn.softmax, nn.relu, np.nonzero])
      expect(isJitAllWrapper(f), f.name).toBe(true);
    expect(isJitAllWrapper(random.normal)).toBe(true); // wrapped to run unchanged
  });

  it("np.var(x, {axis: 1}) is one compiled program of several equations, equal to the unwrapped call", () => {
    let got!: NDArray;
    const recs = compiledDuring(() => (got = np.var(x(), { axis: 1 })));
    const rec = recs.find((r) => r.name === "np.var")!;
    expect(rec).toBeDefined();
    expect(rec.after.jaxpr.eqns.length).toBeGreaterThanOrEqual(4);
    expect(rec.counts.kernels).toBe(2);
    expect(got.tolist()).toEqual(unwrapped(() => np.var(x(), { axis: 1 }).tolist()));
  });

  it("methods compile too: x.add(y), x.sum(), x.T", () => {
    const a = x();
    const recs = compiledDuring(() => {
      a.add(a).sum(0);
      void a.T;
    });
    expect(recs.map((r) => r.name)).toEqual(expect.arrayContaining(["x.add", "x.sum", "x.T"]));
  });

  it("static arguments key the cache: the same call compiles once, another axis compiles again", () => {
    const a = x();
    const first = compiledDuring(() => np.sum(a, { axis: 0 }));
    const again = compiledDuring(() => np.sum(a, { axis: 0 }));
    const other = compiledDuring(() => np.sum(a, { axis: 1 }));
    expect(first).toHaveLength(1);
    expect(again).toHaveLength(0);
    expect(other).toHaveLength(1);
    // JS scalars are static too: their weak type survives.
    const w = np.add(np.array([1, 2], { dtype: "int8" }), 3);
    expect([w.dtype.name, w.weakType]).toEqual(["int8", false]);
  });

  it("calls inside a user's jit, grad or vmap pass through: only the user's program is compiled", () => {
    const a = x();
    function user(v: NDArray) {
      return np.sum(np.tanh(v).mul(2), 1);
    }
    const recs = compiledDuring(() => jit(user)(a));
    expect(recs.map((r) => r.name)).toEqual(["user"]);
    const g = compiledDuring(() => grad((v: NDArray) => np.sum(np.sin(v)))(a));
    expect(g.filter((r) => r.name.startsWith("np."))).toEqual([]);
    const v = compiledDuring(() => vmap((row: NDArray) => np.max(row))(a));
    expect(v.filter((r) => r.name.startsWith("np."))).toEqual([]);
  });

  it("random functions and their inner calls run unchanged", () => {
    const recs = compiledDuring(() => random.normal(random.key(0), [3, 2]).add(1));
    expect(recs.map((r) => r.name)).toEqual(["x.add"]);
  });

  it("value-dependent calls run unchanged: nonzero, boolean masks, where(cond)", () => {
    const a = x();
    const recs = compiledDuring(() => {
      expect(np.nonzero(a.gt(1))[1].tolist()).toEqual([3, 0, 1, 2, 3]);
      expect(a.get(a.gt(2)).tolist()).toEqual([2.5, 3, 3.5]);
      expect(np.where(a.lt(-1.5))[0].tolist()).toEqual([0]);
    });
    expect(recs.filter((r) => /nonzero|where|x\.get/.test(r.name))).toEqual([]);
  });

  it("calls on JS data alone are programs of no arguments; creation functions run unchanged", () => {
    const recs = compiledDuring(() => {
      expect(np.sum([1, 2, 3]).item()).toBe(6);
      expect(np.zeros([2]).tolist()).toEqual([0, 0]);
    });
    expect(recs.map((r) => [r.name, r.before.jaxpr.invars.length])).toEqual([["np.sum", 0]]);
  });

  it("disableJit turns the wrappers off", () => {
    expect(compiledDuring(() => disableJit(() => np.exp(x())))).toEqual([]);
  });

  it("counts what it did, and every jitted program compiled", () => {
    const s = jitAllStats();
    expect(s.jitted).toBeGreaterThan(5);
    expect(s.closures).toBeGreaterThan(5);
    expect([...s.notCompiled]).toEqual([]);
  });
});
