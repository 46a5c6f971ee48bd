// Compiled programs at run time and in their records (issue 4): the memory plan (peak of the
// intermediate buffers, reuse through the buffer pool, outputs never handed back to it), the
// inspection record (jaxpr before and after the passes, each step's equations, launch shape,
// source, timing), PRIMAL_COMPILE off, and jit composed with grad, vmap and jvp. Values are
// checked against the same programs run with jit disabled, and against float64 references.

import { afterEach, describe, expect, it, vi } from "vitest";
import { grad, jit, jvp, lax, nn, np, tree, valueAndGrad, vmap } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { WASM_EXACT_MIN_POINTS, bufferPool, setDirectGemm } from "../../kernel/backends/cpu/compiled";
import { heap, resident } from "../../kernel/backends/cpu/wasm-kernels";
import { CompiledRecord, formatCompiled, onCompile, setKernelTiming } from "../../kernel/lower/inspect";
import { compileEnabled, setCompileEnabled } from "../../kernel/lower/jit-runner";
import { Storage } from "../../kernel/core/dtype";
import { H } from "../../kernel/primitives/cpu-loops";
import { eager, exactDiff, exactTreeDiff, recordOf, rng } from "./helpers/compiled";

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
    const N = 200;
    expect(N).toBeLessThan(WASM_EXACT_MIN_POINTS); // JS kernels: their buffers are the pool's
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

describe("dot_general steps: the GEMM on wasm regions", () => {
  type P = { w1: NDArray; b1: NDArray; w2: NDArray; b2: NDArray };
  /** The benchmark's MLP step (softmax cross-entropy, valueAndGrad, SGD) at a smaller size. */
  const mlp = (batch: number, input: number, hidden: number, classes: number) => {
    const r = rng(17);
    const rand = (shape: number[], scale: number) => np.array(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * scale), { dtype: "float32" }).reshape(shape);
    const labels = np.array(Array.from({ length: batch * classes }, (_, i) => (i % classes === i % 7 % classes ? 1 : 0)), { dtype: "float32" }).reshape(batch, classes);
    const params: P = { w1: rand([input, hidden], 0.2), b1: rand([hidden], 0.1), w2: rand([hidden, classes], 0.3), b2: rand([classes], 0.1) };
    const loss = (p: P, x: NDArray, y: NDArray) => np.negative(np.mean(np.sum(y.mul(nn.logSoftmax(np.matmul(nn.relu(np.matmul(x, p.w1).add(p.b1)), p.w2).add(p.b2), 1)), 1)));
    const step = (p: P, x: NDArray, y: NDArray) => {
      const [l, g] = valueAndGrad(loss)(p, x, y);
      return [tree.map((w: NDArray, gw: NDArray) => w.sub(gw.mul(0.01)), p, g) as P, l] as const;
    };
    return { x: rand([batch, input], 1), y: labels, params, step };
  };

  /** The loss in float64 from the arrays' float32 values (the independent reference). */
  const loss64 = (p: P, x: NDArray, y: NDArray): number => {
    const [B, I] = x.shape;
    const [H, C] = p.w2.shape;
    const [xv, w1, b1, w2, b2, yv] = [x, p.w1, p.b1, p.w2, p.b2, y].map((a) => Float64Array.from(a.dataSync() as Float32Array));
    let total = 0;
    for (let b = 0; b < B; b++) {
      const h = Array.from({ length: H }, (_, j) => Math.max(0, b1[j] + Array.from({ length: I }, (_, k) => xv[b * I + k] * w1[k * H + j]).reduce((s, v) => s + v, 0)));
      const z = Array.from({ length: C }, (_, c) => b2[c] + h.reduce((s, hj, j) => s + hj * w2[j * C + c], 0));
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
      for (let c = 0; c < C; c++) total -= yv[b * C + c] * (z[c] - lse);
    }
    return total / B;
  };

  it("the MLP step reads and writes GEMM results in wasm memory: the bits of eager and of the bind path, the float64 loss", () => {
    const { x, y, params, step } = mlp(32, 300, 64, 10);
    const j = jit(step);
    j(params, x, y);
    const got = j(params, x, y); // second call: the small kernels run as wasm too
    const rec = recordOf(j, params, x, y);
    expect(rec.counts.library).toBe(5);
    expect(exactTreeDiff(got, eager(step, params, x, y))).toBeNull();
    const was = setDirectGemm(false);
    try {
      expect(exactTreeDiff(j(params, x, y), got)).toBeNull();
    } finally {
      setDirectGemm(was);
    }
    expect(Math.abs(got[1].item() - loss64(params, x, y))).toBeLessThan(1e-5 * Math.abs(loss64(params, x, y)));
  });

  it("the wasm memory in use stays flat over thousands of training steps", () => {
    const { x, y, params, step } = mlp(16, 96, 40, 10);
    const j = jit(step);
    let p = params;
    const train = (n: number) => {
      for (let i = 0; i < n; i++) {
        const [next, l] = j(p, x, y);
        l.dispose();
        p = next;
      }
    };
    train(3);
    const used = heap().used;
    const blocks = heap().blocks;
    const first = loss64(p, x, y);
    train(2000);
    expect(heap().used).toBe(used);
    expect(heap().blocks).toBe(blocks);
    expect(loss64(p, x, y)).toBeLessThan(first); // and it trains
  });

  it("outputs computed in wasm memory stay there for the next call, one generation per program", () => {
    const { x, y, params, step } = mlp(16, 96, 40, 10);
    const j = jit(step);
    const [p1] = j(params, x, y);
    const [p2] = j(p1, x, y); // (the first call runs the small kernels as JS: p1 is not in wasm memory)
    const [p3] = j(p2, x, y);
    const cached = (a: NDArray): boolean => {
      const s = storageOf(a);
      const r = resident.get(s);
      if (r) resident.unpin(s);
      return r !== null;
    };
    // w1 (96x40) is the SGD kernel's output: its region became the resident copy of the result,
    // which the next call read in place. After that call, p2's copies are gone, p3's are there
    // (a storage is first looked up here: `cached` itself leaves no copy behind).
    expect(cached(p3.w1)).toBe(true);
    expect(cached(p2.w1)).toBe(false);
    // Reading them is reading the same values.
    const [p4, l4] = j(p3, x, y);
    const was = setDirectGemm(false);
    try {
      resident.clear();
      expect(exactTreeDiff(j(p3, x, y), [p4, l4])).toBeNull();
    } finally {
      setDirectGemm(was);
    }
  });

  it("transpose(dot_general(a, b)) swapping the free axes is lowered as dot_general(b, a): same bits, read in place", () => {
    const r = rng(5);
    const rand = (shape: number[]) => np.array(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), { dtype: "float32" }).reshape(shape);
    const g = rand([32, 40]);
    const x = rand([32, 72]);
    // The weight gradient of x @ w followed by .T, as valueAndGrad writes it.
    const f = (g: NDArray, x: NDArray) => lax.dotGeneral(g, x, [[[0], [0]], [[], []]]).T.mul(0.5);
    const j = jit(f);
    const got = j(g, x);
    expect(exactDiff(got, eager(f, g, x))).toBeNull();
    const rec = recordOf(j, g, x);
    expect(rec.before.jaxpr.eqns.map((e) => e.primitive.name)).toContain("transpose");
    expect(rec.after.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["dot_general", "mul"]);
    const dot = rec.after.jaxpr.eqns[0];
    expect(dot.outVars[0].aval.shape).toEqual([72, 40]);
    expect(dot.params.dimension_numbers).toEqual([[[0], [0]], [[], []]]);
    // The kernel after it reads the product contiguously: one flat loop.
    expect(rec.kernels[1].launchShape).toEqual([72 * 40]);
    // Batched: the batch axis stays first.
    const a3 = rand([3, 8, 5]);
    const b3 = rand([3, 8, 6]);
    const fb = (a: NDArray, b: NDArray) => np.transpose(lax.dotGeneral(a, b, [[[1], [1]], [[0], [0]]]), [0, 2, 1]).add(1);
    const jb = jit(fb);
    expect(exactDiff(jb(a3, b3), eager(fb, a3, b3))).toBeNull();
    expect(recordOf(jb, a3, b3).after.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["dot_general", "add"]);
    // A product read elsewhere too, or a transpose that does not swap the free axes, stays as it is.
    const h = (g: NDArray, x: NDArray) => {
      const d = lax.dotGeneral(g, x, [[[0], [0]], [[], []]]);
      return [d.T.mul(2), d.sum()];
    };
    const jh = jit(h);
    expect(exactTreeDiff(jh(g, x), eager(h, g, x))).toBeNull();
    expect(recordOf(jh, g, x).after.jaxpr.eqns.map((e) => e.primitive.name)).toContain("transpose");
    const k = (a: NDArray, b: NDArray) => np.transpose(lax.dotGeneral(a, b, [[[1], [1]], [[0], [0]]]), [1, 0, 2]).add(1);
    const jk = jit(k);
    expect(exactDiff(jk(a3, b3), eager(k, a3, b3))).toBeNull();
    expect(recordOf(jk, a3, b3).after.jaxpr.eqns.map((e) => e.primitive.name)).toContain("transpose");
  });
});
