// Compiled programs at run time and in their records (issue 4): the memory plan (peak of the
// intermediate buffers, reuse through the buffer pool, outputs never handed back to it), the
// inspection record (jaxpr before and after the passes, each step's equations, launch shape,
// source, timing), PRIMAL_COMPILE off, and jit composed with grad, vmap and jvp. Values are
// checked against the same programs run with jit disabled, and against float64 references.

import { afterEach, describe, expect, it, vi } from "vitest";
import { grad, jit, jvp, np, vmap } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { bufferPool } from "../../kernel/backends/cpu/compiled";
import { CompiledRecord, formatCompiled, onCompile, setKernelTiming } from "../../kernel/lower/inspect";
import { compileEnabled, setCompileEnabled } from "../../kernel/lower/jit-runner";
import { Storage } from "../../kernel/core/dtype";
import { H } from "../../kernel/primitives/cpu-loops";
import { eager, exactDiff, exactTreeDiff, recordOf } from "./helpers/compiled";

const f32 = (xs: number[]) => np.array(xs, { dtype: "float32" });
const ramp = (n: number, scale: number) => np.arange(n).astype("float32").mul(scale);
const storageOf = (x: NDArray): Storage => x._buf("test").readSync();

afterEach(() => vi.restoreAllMocks());

describe("memory plan", () => {
  it("peakTempBytes counts the buffers alive at once: exp read twice is materialised beside the output", () => {
    // k0 writes e = exp(x) (4000 B); k1 writes e + 1 (an output, 4000 B) while e is still
    // needed; k2 writes sum(e) (4 B), after which e is released: peak 8004 B. Fused values
    // (none here) and the caller's arguments do not count.
    const f = jit((x: NDArray) => {
      const e = np.exp(x);
      return [e.add(1), e.sum()];
    });
    const x = ramp(1000, 0.001);
    f(x);
    const rec = recordOf(f, x);
    expect(rec.counts.kernels).toBe(3);
    expect(rec.peakTempBytes).toBe(8004);
    // One fused kernel: only its output is ever allocated.
    const g = jit((x: NDArray) => np.tanh(np.exp(x).mul(2)).add(1));
    g(x);
    expect(recordOf(g, x).peakTempBytes).toBe(4000);
  });

  /** A chain of `n` rounds, each materialising exp(v) (read by two kernels: its sum and the next value). */
  const chain = (n: number) => (x: NDArray) => {
    let v = x;
    for (let i = 0; i < n; i++) {
      const e = np.exp(v.mul(0.01));
      v = e.mul(e.sum().mul(0.001));
    }
    return v;
  };

  it("a long chain of materialised intermediates reuses their buffers through the pool", () => {
    const n = 8;
    const N = 512;
    const f = jit(chain(n));
    const x = ramp(N, 0.01);
    f(x); // compile, and fill the pool
    const take = vi.spyOn(bufferPool, "take");
    const out = f(x);
    const rec = recordOf(f, x);
    // Per round: exp(v) [N] and its sum [] are materialised; the next round's exp fuses the product.
    expect(rec.counts.kernels).toBe(2 * n + 1);
    const big = take.mock.results.map((r) => r.value as Storage).filter((s) => s.length === N);
    expect(big.length).toBe(n + 1); // n intermediates and the output
    // Each intermediate is free once the next round has read it, so two buffers take turns.
    expect(new Set(big).size).toBeLessThanOrEqual(3);
    // The plan: at most two [N] intermediates and a scalar alive at once, far below the total.
    expect(rec.peakTempBytes).toBeLessThanOrEqual(3 * N * 4 + 8);
    expect(rec.peakTempBytes).toBeLessThan(n * N * 4);
    // Reuse changes no value.
    expect(exactDiff(out, eager(chain(n), x))).toBeNull();
  });

  // Outputs of every kind: a kernel output another kernel reads, a reduction, a library
  // (dot_general) output, a reshape alias of a temporary, and an argument passed through.
  const outputsFn = (n: number) => (x: NDArray, w: NDArray) => {
    const e = np.exp(x.mul(0.1));
    const d = np.matmul(e.reshape(n / 8, 8), w);
    return [e, e.add(d.sum()), np.tanh(d), d.mul(2).reshape(n / 2), x];
  };
  const callRepeatedly = (n: number, calls: number) => {
    const fn = outputsFn(n);
    const f = jit(fn);
    const held: { args: [NDArray, NDArray]; out: NDArray[] }[] = [];
    for (let i = 0; i < calls; i++) {
      const args: [NDArray, NDArray] = [ramp(n, 0.1 * (i + 1)).sub(n / 40), ramp(8 * 4, -0.05 * i).reshape(8, 4)];
      held.push({ args, out: f(...args) });
    }
    // Checked after all the calls: a buffer reused while an earlier result held it would show here.
    for (const h of held) expect(exactTreeDiff(h.out, eager(fn, ...h.args))).toBeNull();
    return held;
  };

  it("an output is never handed back to the pool: results of earlier calls stay unchanged", () => {
    const gives: Storage[] = [];
    const give = bufferPool.give.bind(bufferPool);
    vi.spyOn(bufferPool, "give").mockImplementation((s: Storage) => {
      gives.push(s);
      give(s);
    });
    const held = callRepeatedly(32, 6);
    expect(gives.length).toBeGreaterThan(0);
    const outStorages = new Set(held.flatMap((h) => h.out.map(storageOf)));
    expect(gives.filter((s) => outStorages.has(s))).toEqual([]);
  });

  it("the same for kernels big enough to run as WebAssembly (their buffers live in wasm memory)", () => {
    callRepeatedly(1 << 14, 5);
  });
});

describe("the inspection record", () => {
  it("holds the jaxpr before and after the passes, and per step its equations, launch shape, source and IR", () => {
    const x = ramp(6, 0.5).reshape(2, 3);
    const y = ramp(6, -0.25).reshape(3, 2);
    const seen: CompiledRecord[] = [];
    const stop = onCompile((r) => seen.push(r));
    function scaled(x: NDArray, y: NDArray) {
      const dead = np.exp(y);
      void dead;
      return np.tanh(x.mul(1).add(y.T)).sum(0);
    }
    const f = jit(scaled);
    f(x, y);
    f(x, y);
    stop();
    expect(seen).toHaveLength(1); // the second call hits the cache
    const rec = recordOf(f, x, y);
    expect(seen[0]).toBe(rec);
    expect(rec.name).toBe("scaled");
    expect(rec.calls).toBe(2);
    expect(rec.compileMs).toBeGreaterThan(0);
    expect(rec.before.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["exp", "mul", "transpose", "add", "tanh", "reduce_sum"]);
    // x * 1 is simplified away, the unused exp removed.
    expect(rec.after.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["transpose", "add", "tanh", "reduce_sum"]);
    expect(rec.kernels).toHaveLength(1);
    const [k] = rec.kernels;
    expect(k.kind).toBe("kernel");
    expect(k.eqns).toEqual([
      "c:f32[2,3] = transpose[permutation=(1, 0)] b",
      "d:f32[2,3] = add a c",
      "e:f32[2,3] = tanh d",
      "f:f32[3] = reduce_sum[axes=(0,) out_sharding=None] e",
    ]);
    // The reduction over the outer axis: the loop nest is the operand's [2, 3], axis 0 folded.
    expect(k.launchShape).toEqual([2, 3]);
    expect(k.elements).toBe(6);
    // y^T is read in place: its load walks y with the strides swapped (i0 + i1*2).
    expect(k.ir).toBe(
      [
        "kernel k0_add_tanh_reduce_sum[r2, 3]",
        "  buf0: out f32[3]",
        "  buf1: in f32[6]",
        "  buf2: in f32[6]",
        "  %0 = load buf1[i0*3 + i1] : f32",
        "  %1 = load buf2[i0 + i1*2] : f32",
        "  %2 = add %0 %1 : f32",
        "  %3 = tanh %2 : f32",
        "  %4 = reduce_sum %3 : f32",
        "  store buf0[i1] %4",
      ].join("\n"),
    );
    expect(k.source).toContain("return function k0_add_tanh_reduce_sum(b0, b1, b2)");
    // The source is what runs: a factory (of the scalar helpers) of the kernel over (outputs, inputs).
    const kernel = new Function("H", "T16", "TB16", k.source!)(H, null, null) as (...b: Float32Array[]) => void;
    const out = new Float32Array(3);
    kernel(out, Float32Array.from([1, 2, 3, 4, 5, 6]), new Float32Array(6));
    expect(Array.from(out)).toEqual(f(f32([1, 2, 3, 4, 5, 6]).reshape(2, 3), np.zeros([3, 2])).tolist());
    const text = formatCompiled(rec);
    expect(text).toMatch(/^--- kernels of jit\(scaled\) ---\n1 fused kernel\(s\), 0 library call\(s\); 4 equations;/);
    expect(text).toContain("[0] kernel k0_add_tanh_reduce_sum: launch [2, 3] (6 elements)");
  });

  it("measures each step when timing is on, and only then", () => {
    const f = jit((x: NDArray, w: NDArray) => np.tanh(np.matmul(x, w)).sum(1));
    const x = ramp(64, 0.01).reshape(8, 8);
    f(x, x);
    const rec = recordOf(f, x, x);
    f(x, x);
    expect(rec.kernels.every((k) => k.timing.calls === 0)).toBe(true);
    setKernelTiming(true);
    try {
      for (let i = 0; i < 3; i++) f(x, x);
    } finally {
      setKernelTiming(false);
    }
    f(x, x);
    expect(rec.kernels.map((k) => k.kind)).toEqual(["library", "kernel"]);
    for (const k of rec.kernels) {
      expect(k.timing.calls).toBe(3);
      expect(k.timing.totalMs).toBeGreaterThanOrEqual(k.timing.lastMs);
      expect(k.timing.lastMs).toBeGreaterThanOrEqual(0);
    }
    expect(formatCompiled(rec)).toMatch(/ms\/call over 3 call\(s\)/);
  });
});

describe("PRIMAL_COMPILE off (setCompileEnabled(false))", () => {
  it("runs jitted programs primitive by primitive, with the same results and no compiled record", () => {
    const fn = (x: NDArray, w: NDArray) => {
      const h = np.maximum(np.matmul(x, w), 0);
      return [np.sum(np.exp(h.mul(0.1)), 1), h.T.reshape(-1), np.var(x, { axis: 0 })];
    };
    const x = ramp(24, 0.1).reshape(4, 6).sub(1);
    const w = ramp(18, -0.07).reshape(6, 3).add(0.4);
    const on = jit(fn)(x, w);
    expect(compileEnabled()).toBe(true);
    const seen: CompiledRecord[] = [];
    const stop = onCompile((r) => seen.push(r));
    setCompileEnabled(false);
    let off: NDArray[];
    try {
      expect(compileEnabled()).toBe(false);
      off = jit(fn)(x, w);
    } finally {
      setCompileEnabled(true);
      stop();
    }
    expect(seen).toEqual([]);
    expect(exactTreeDiff(off, on)).toBeNull();
    expect(exactTreeDiff(on, eager(fn, x, w))).toBeNull();
  });
});

describe("jit composed with the other transformations", () => {
  const f = (x: NDArray) => np.sum(np.tanh(x.mul(x)).mul(np.exp(x.mul(-0.5))));
  const x = f32([0.3, -1.2, 2.5, 0.01]);
  // d/dx tanh(x^2) e^{-x/2} = 2x sech^2(x^2) e^{-x/2} - tanh(x^2) e^{-x/2} / 2, in float64.
  const dref = (v: number) => 2 * v * (1 - Math.tanh(v * v) ** 2) * Math.exp(-v / 2) - (Math.tanh(v * v) * Math.exp(-v / 2)) / 2;

  // grad runs a jitted body through partial evaluation (kernel/transforms/jit.ts): the known
  // part is computed as it is traced, so nothing is compiled here; jit(grad(f)) compiles.
  it("grad of a jitted function equals eager grad and the analytic derivative", () => {
    const g = grad(jit(f))(x);
    expect(exactDiff(g, eager(grad(f), x))).toBeNull();
    (g.tolist() as number[]).forEach((v, i) => expect(v).toBeCloseTo(dref([0.3, -1.2, 2.5, 0.01][i]), 5));
  });

  it("jit of grad compiles the whole backward program and agrees with eager", () => {
    const jg = jit(grad(f));
    const g = jg(x);
    expect(exactDiff(g, eager(grad(f), x))).toBeNull();
    const rec = recordOf(jg, x);
    expect(rec.counts.kernels).toBeGreaterThanOrEqual(1);
    expect(rec.counts.library).toBe(0);
  });

  it("vmap of a jitted function compiles the batched program and agrees with eager", () => {
    const h = (v: NDArray) => np.tanh(v).sum().add(v.max());
    const xs = ramp(15, 0.3).reshape(5, 3).sub(2);
    const seen: CompiledRecord[] = [];
    const stop = onCompile((r) => seen.push(r));
    const got = vmap(jit(h))(xs);
    stop();
    expect(exactDiff(got, eager(vmap(h), xs))).toBeNull();
    // The batched body is a new jitted program, compiled, over the whole batch.
    expect(seen.some((r) => r.before.jaxpr.invars[0]?.aval.shape.join() === "5,3")).toBe(true);
    expect(got.shape).toEqual([5]);
  });

  it("jit of vmap, and jvp of jit, agree with eager", () => {
    const h = (v: NDArray) => np.exp(v.mul(0.5)).sum();
    const xs = ramp(12, 0.25).reshape(4, 3);
    expect(exactDiff(jit(vmap(h))(xs), eager(vmap(h), xs))).toBeNull();
    const ones = np.onesLike(xs);
    let p!: NDArray;
    let t!: NDArray;
    // The jvp of the jitted body is a new jitted program over (primals, tangents), compiled.
    const seen: CompiledRecord[] = [];
    const stop = onCompile((r) => seen.push(r));
    try {
      [p, t] = jvp(jit(h), [xs], [ones]);
    } finally {
      stop();
    }
    expect(seen.some((r) => r.before.jaxpr.invars.length === 2 && r.after.jaxpr.outvars.length === 2)).toBe(true);
    const [pe, te] = eager<[NDArray, NDArray]>(() => jvp(h, [xs], [np.onesLike(xs)]));
    expect(exactDiff(p, pe)).toBeNull();
    expect(exactDiff(t, te)).toBeNull();
  });
});
