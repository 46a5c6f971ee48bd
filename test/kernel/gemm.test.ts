// The float32 WebAssembly GEMM of the CPU backend (kernel/backends/cpu/gemm.ts) and its
// encoder, against float64 references written here. Accumulation is float32 (as XLA's), so
// each element c is checked as |c - ref| <= 1e-5 · Σ_k |a_ik||b_kj| (+ a denormal floor);
// non-finite references (inf, NaN from 0·inf) must match exactly.

import { describe, expect, it } from "vitest";
import "../../kernel/backends/cpu/cpu-backend";
import { Blocking, DEFAULT_BLOCKING, HeapSgemm, THREAD_MIN_FLOPS, WasmSgemm, defaultThreads, dotGeneralF32, hasRelaxedSimd, planDot, runDot, sgemm } from "../../kernel/backends/cpu/gemm";
import { KernelThreads } from "../../kernel/backends/cpu/kernel-threads";
import { Region, allocate, heap, kernelThreads, startKernelThreads } from "../../kernel/backends/cpu/wasm-kernels";
import { WasmThreadPool } from "../../kernel/backends/cpu/thread-pool";
import { GemmKernelShape, gemmModule, relaxedSimdProbe } from "../../kernel/backends/cpu/gemm-wasm";
import { ModuleBuilder, sleb, uleb } from "../../kernel/backends/cpu/wasm-encoder";
import { compileWasm, instantiateWasm, validateWasm, wasmApi } from "../../kernel/backends/cpu/wasm-runtime";
import { grad, jit, lax, np, vmap } from "../../kernel/index";
import type { NDArray } from "../../kernel/core/ndarray";
import type { DotDimensionNumbers } from "../../kernel/primitives/contraction";
import { rng } from "./helpers/rng";

const randArray = (n: number, r: () => number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const strides = (shape: readonly number[]) => shape.map((_, i) => prod(shape.slice(i + 1)));

/**
 * Reference dot_general in float64, spelled from the dimension numbers alone: for every output
 * index (batch, lhs free, rhs free) and every contracting index, the product of the two elements.
 * Returns the values and, per element, Σ|a||b| (the scale of float32 rounding).
 */
function refDotGeneral(a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[], dn: DotDimensionNumbers): { shape: number[]; val: Float64Array; mag: Float64Array } {
  const [[ac, bc], [ab, bb]] = dn;
  const af = as.map((_, i) => i).filter((i) => !ac.includes(i) && !ab.includes(i));
  const bf = bs.map((_, i) => i).filter((i) => !bc.includes(i) && !bb.includes(i));
  const shape = [...ab.map((d) => as[d]), ...af.map((d) => as[d]), ...bf.map((d) => bs[d])];
  const cshape = ac.map((d) => as[d]);
  const [sa, sb] = [strides(as), strides(bs)];
  const n = prod(shape);
  const nk = prod(cshape);
  const val = new Float64Array(n);
  const mag = new Float64Array(n);
  const unravel = (i: number, sh: number[]) => sh.map((_, d) => Math.floor(i / prod(sh.slice(d + 1))) % sh[d]);
  // Offsets of every contracting index in each operand.
  const koffA = new Float64Array(nk);
  const koffB = new Float64Array(nk);
  for (let k = 0; k < nk; k++) {
    const kidx = unravel(k, cshape);
    koffA[k] = ac.reduce((p, d, t) => p + kidx[t] * sa[d], 0);
    koffB[k] = bc.reduce((p, d, t) => p + kidx[t] * sb[d], 0);
  }
  for (let o = 0; o < n; o++) {
    const idx = unravel(o, shape);
    let oa = 0;
    let ob = 0;
    ab.forEach((d, t) => (oa += idx[t] * sa[d]));
    bb.forEach((d, t) => (ob += idx[t] * sb[d]));
    af.forEach((d, t) => (oa += idx[ab.length + t] * sa[d]));
    bf.forEach((d, t) => (ob += idx[ab.length + af.length + t] * sb[d]));
    let s = 0;
    let m = 0;
    for (let k = 0; k < nk; k++) {
      const p = a[oa + koffA[k]] * b[ob + koffB[k]];
      s += p;
      m += Math.abs(p);
    }
    val[o] = s;
    mag[o] = m;
  }
  return { shape, val, mag };
}

/** Element-wise check with the float32 tolerance; returns the number of bad elements (0 = pass). */
function mismatches(got: ArrayLike<number>, ref: { val: Float64Array; mag: Float64Array }): number {
  expect(got.length).toBe(ref.val.length);
  let bad = 0;
  for (let i = 0; i < got.length; i++) {
    const r = ref.val[i];
    const ok = Number.isFinite(r) ? Math.abs(got[i] - r) <= 1e-5 * ref.mag[i] + 1e-30 : Object.is(got[i], r) || (Number.isNaN(r) && Number.isNaN(got[i]));
    if (!ok) bad++;
  }
  return bad;
}

const MATMUL: DotDimensionNumbers = [[[1], [0]], [[], []]];

/** Runs C = op(A)·op(B) with A stored M×K (or K×M when transA) and B K×N (or N×K). */
function check(g: WasmSgemm, M: number, N: number, K: number, transA: boolean, transB: boolean, r: () => number): number {
  const A = randArray(M * K, r);
  const B = randArray(K * N, r);
  const at = g.heap / 4;
  expect(g.reserve(4 * (M * K + K * N + M * N + 8))).toBe(true);
  g.f32.set(A, at);
  g.f32.set(B, at + M * K);
  g.f32.fill(NaN, at + M * K + K * N, at + M * K + K * N + M * N); // the first K block overwrites C
  g.run(
    M,
    N,
    K,
    { offset: 4 * at, rs: transA ? 1 : K, cs: transA ? M : 1 },
    { offset: 4 * (at + M * K), rs: transB ? 1 : N, cs: transB ? K : 1 },
    { offset: 4 * (at + M * K + K * N), rs: N, cs: 1 },
  );
  const C = g.f32.slice(at + M * K + K * N, at + M * K + K * N + M * N);
  const ref = refDotGeneral(A, transA ? [K, M] : [M, K], B, transB ? [N, K] : [K, N], [[[transA ? 0 : 1], [transB ? 1 : 0]], [[], []]]);
  return mismatches(C, ref);
}


describe("wasm encoder", () => {
  it("LEB128 as the spec's examples", () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(sleb(0)).toEqual([0]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(() => uleb(-1)).toThrow(RangeError);
  });

  it("a hand-written function validates and runs", () => {
    const mod = new ModuleBuilder({ module: "env", name: "memory", minPages: 1 });
    const f = mod.func("sumTo", ["i32"], ["i32"]);
    const [n, i, s] = [0, f.local("i32"), f.local("i32")];
    f.block().loop();
    f.get(i).get(n).i32GeS().brIf(1);
    f.get(s).get(i).i32Add().set(s);
    f.get(i).i32Const(1).i32Add().set(i);
    f.br(0).end().end();
    f.get(s);
    const bytes = mod.encode();
    expect(validateWasm(bytes)).toBe(true);
    const ex = instantiateWasm<{ sumTo(n: number): number }>(bytes, new wasmApi!.Memory({ initial: 1 }));
    expect(ex.sumTo(100)).toBe(4950);
    expect(() => mod.func("open", [], []).block().encode()).toThrow(/unclosed/);
  });

  it("the GEMM modules validate for several micro-tiles; the relaxed-SIMD probe matches validation", () => {
    for (const [mr, nr] of [[1, 4], [4, 8], [5, 8], [3, 12], [2, 16]]) expect(validateWasm(gemmModule({ mr, nr, relaxed: false }))).toBe(true);
    expect(hasRelaxedSimd()).toBe(validateWasm(relaxedSimdProbe()));
    if (hasRelaxedSimd()) expect(validateWasm(gemmModule({ mr: 5, nr: 8, relaxed: true }))).toBe(true);
    expect(() => gemmModule({ mr: 4, nr: 6, relaxed: false })).toThrow(RangeError);
  });
});

describe("WasmSgemm: blocked, packed, any M/N/K and strides", () => {
  const shapes: GemmKernelShape[] = [
    { mr: 5, nr: 8, relaxed: false },
    { mr: 4, nr: 8, relaxed: false },
    { mr: 3, nr: 12, relaxed: false },
    ...(hasRelaxedSimd() ? [{ mr: 5, nr: 8, relaxed: true }] : []),
  ];
  // Small blocks force several jc/pc/ic blocks and edge tiles on small matrices.
  const blockings: Blocking[] = [DEFAULT_BLOCKING, { mc: 10, kc: 7, nc: 16 }, { mc: 6, kc: 1, nc: 8 }];
  const edge = [1, 3, 7, 17, 33, 129];

  for (const shape of shapes)
    for (const blocking of blockings)
      it(`${shape.mr}×${shape.nr}${shape.relaxed ? " relaxed" : ""}, blocking ${JSON.stringify(blocking)}: edge sizes, plain and transposed`, () => {
        const g = new WasmSgemm(shape, blocking);
        const r = rng(shape.mr * 1000 + blocking.kc);
        let bad = 0;
        for (const M of edge)
          for (const N of [1, 8, 17, 33])
            for (const K of [1, 7, 129]) bad += check(g, M, N, K, false, false, r);
        for (const [M, N, K] of [[9, 13, 11], [33, 17, 7], [129, 3, 33]])
          for (const tA of [false, true]) for (const tB of [false, true]) bad += check(g, M, N, K, tA, tB, r);
        expect(bad).toBe(0);
      });

  it("larger than every default block (M > MC, K > KC, N > NC), with edges in all three", () => {
    const g = new WasmSgemm({ mr: 5, nr: 8, relaxed: false }, DEFAULT_BLOCKING);
    const r = rng(7);
    expect(check(g, DEFAULT_BLOCKING.mc + 7, 3, DEFAULT_BLOCKING.kc + 5, false, false, r)).toBe(0);
    expect(check(g, 6, DEFAULT_BLOCKING.nc + 9, DEFAULT_BLOCKING.kc + 1, false, true, r)).toBe(0);
    expect(check(g, 257, 130, 1000, true, false, r)).toBe(0);
  });

  it("K = 0 gives zeros; M = 0 or N = 0 writes nothing", () => {
    const g = new WasmSgemm({ mr: 5, nr: 8, relaxed: false }, DEFAULT_BLOCKING);
    const at = g.heap / 4;
    g.reserve(4 * 64);
    g.f32.fill(7, at, at + 64);
    g.run(3, 4, 0, { offset: 4 * at, rs: 0, cs: 1 }, { offset: 4 * at, rs: 4, cs: 1 }, { offset: 4 * at, rs: 5, cs: 1 });
    const c = [...g.f32.slice(at, at + 15)];
    expect(c).toEqual([0, 0, 0, 0, 7, 0, 0, 0, 0, 7, 0, 0, 0, 0, 7]); // leading dimension 5: the gaps stay
    g.run(0, 4, 3, { offset: 4 * at, rs: 3, cs: 1 }, { offset: 4 * at, rs: 4, cs: 1 }, { offset: 4 * (at + 32), rs: 4, cs: 1 });
    g.run(4, 0, 3, { offset: 4 * at, rs: 3, cs: 1 }, { offset: 4 * at, rs: 4, cs: 1 }, { offset: 4 * (at + 32), rs: 4, cs: 1 });
    expect([...g.f32.slice(at + 32, at + 40)]).toEqual(new Array(8).fill(7));
  });
});

describe("threads: sub-GEMMs on worker_threads over a shared memory", () => {
  const g = new WasmSgemm({ mr: 5, nr: 8, relaxed: false }, { mc: 20, kc: 64, nc: 48 }, 3);
  const r = rng(99);

  it("row panels (M >= N) and column panels (N > M), with edges, above the threading threshold", () => {
    expect(g.threads).toBe(3);
    expect(g.waitForThreads()).toBe(true); // else the jobs would run on this thread
    for (const [M, N, K, tA, tB] of [[257, 130, 129, false, false], [33, 301, 257, true, false], [129, 129, 300, false, true], [7, 1001, 600, false, false]] as const) {
      expect(2 * M * N * K).toBeGreaterThanOrEqual(THREAD_MIN_FLOPS);
      expect(check(g, M, N, K, tA, tB, r)).toBe(0);
    }
  });

  it("batches: split by batch element (count >= 2 per thread) or each element by rows", () => {
    for (const [count, M, N, K] of [[7, 65, 40, 300], [2, 100, 90, 250], [40, 17, 9, 1200]]) {
      const [sa, sb, sc] = [M * K, K * N, M * N];
      const A = randArray(count * sa, r);
      const B = randArray(count * sb, r);
      const at = g.heap / 4;
      g.reserve(4 * count * (sa + sb + sc));
      g.f32.set(A, at);
      g.f32.set(B, at + count * sa);
      const cAt = at + count * (sa + sb);
      g.runBatched(count, M, N, K, { offset: 4 * at, bs: sa, rs: K, cs: 1 }, { offset: 4 * (at + count * sa), bs: sb, rs: N, cs: 1 }, { offset: 4 * cAt, bs: sc, rs: N, cs: 1 });
      const ref = refDotGeneral(A, [count, M, K], B, [count, K, N], [[[2], [1]], [[0], [0]]]);
      expect(mismatches(g.f32.slice(cAt, cAt + count * sc), ref)).toBe(0);
    }
  });

  it("a failing worker job is reported after every thread is done; the pool keeps working", () => {
    const memory = new wasmApi!.Memory({ initial: 1, maximum: 4, shared: true });
    const module = compileWasm(gemmModule({ mr: 4, nr: 8, relaxed: false }, { minPages: 1, shared: { maxPages: 4 } }));
    const local = instantiateWasm<{ gemmList(p: number, n: number): void }>(module, memory);
    const pool = new WasmThreadPool(1, module, memory, "gemmList");
    expect(pool.waitReady()).toBe(true);
    expect(() => pool.run([[0, 0], [1 << 20, 1]], local.gemmList)).toThrow(/1 worker job\(s\) failed/); // records out of bounds
    pool.run([[0, 0], [0, 0]], local.gemmList);
    expect(() => pool.run([[0, 0], [0, 0], [0, 0]], local.gemmList)).toThrow(RangeError);
    pool.close();
    expect(pool.readyWorkers()).toBe(0);
    pool.run([[0, 0], [0, 0]], local.gemmList); // new workers after close (the job runs here until they are up)
    expect(pool.waitReady()).toBe(true);
    expect(() => pool.run([[0, 0], [1 << 20, 1]], local.gemmList)).toThrow(/1 worker job\(s\) failed/);
    pool.close();
  });

  it("PRIMAL_CPU_THREADS picks the thread count; a bad value is an error", () => {
    const old = process.env.PRIMAL_CPU_THREADS;
    try {
      process.env.PRIMAL_CPU_THREADS = "3";
      expect(defaultThreads()).toBe(3);
      process.env.PRIMAL_CPU_THREADS = "0";
      expect(() => defaultThreads()).toThrow(/PRIMAL_CPU_THREADS/);
      delete process.env.PRIMAL_CPU_THREADS;
      expect(defaultThreads()).toBeGreaterThanOrEqual(1);
    } finally {
      if (old === undefined) delete process.env.PRIMAL_CPU_THREADS;
      else process.env.PRIMAL_CPU_THREADS = old;
    }
  });
});

describe("HeapSgemm: the library's GEMM on the wasm kernels' memory", () => {
  const g = sgemm()!;
  const r = rng(2024);
  /** Runs op(A)·op(B) on regions of the kernels' heap; returns the mismatches against float64. */
  const checkHeap = (M: number, N: number, K: number, transA: boolean, transB: boolean): number => {
    const A = randArray(M * K, r);
    const B = randArray(K * N, r);
    const [ra, rb, rc] = [M * K, K * N, M * N].map((n) => allocate(4 * n));
    try {
      const mem = heap().memory.buffer;
      new Float32Array(mem, ra.offset, M * K).set(A);
      new Float32Array(mem, rb.offset, K * N).set(B);
      new Float32Array(mem, rc.offset, M * N).fill(NaN);
      g.run(M, N, K, { offset: ra.offset, rs: transA ? 1 : K, cs: transA ? M : 1 }, { offset: rb.offset, rs: transB ? 1 : N, cs: transB ? K : 1 }, { offset: rc.offset, rs: N, cs: 1 });
      const C = new Float32Array(heap().memory.buffer, rc.offset, M * N).slice();
      return mismatches(C, refDotGeneral(A, transA ? [K, M] : [M, K], B, transB ? [N, K] : [K, N], [[[transA ? 0 : 1], [transB ? 1 : 0]], [[], []]]));
    } finally {
      for (const x of [ra, rb, rc]) heap().release(x);
    }
  };

  it("is the process-wide GEMM; edge sizes, transposed operands and the MLP's shapes against float64", () => {
    expect(g).toBeInstanceOf(HeapSgemm);
    let bad = 0;
    for (const [M, N, K] of [[1, 1, 1], [3, 17, 7], [33, 9, 129], [7, 130, 400]]) for (const tA of [false, true]) for (const tB of [false, true]) bad += checkHeap(M, N, K, tA, tB);
    // The training step's GEMMs: x @ w1, the transposed weight gradient (K = 32), the small ones.
    for (const [M, N, K, tA] of [[32, 100, 728, false], [728, 100, 32, true], [32, 10, 100, false], [100, 10, 32, true]] as const) bad += checkHeap(M, N, K, tA, false);
    expect(bad).toBe(0);
  });

  it("on the worker threads (shared packed operand, row or column splits, batches through job lists) with the bits of one thread", () => {
    startKernelThreads();
    expect(g.threads).toBe(defaultThreads());
    const pool = kernelThreads();
    if (pool) pool.pauseWhenLate = false; // a busy machine must not turn threads off mid-test
    const { shared, split } = g.stats;
    // Shared: B packed whole, rows claimed (728x100, 257x130); A packed whole, columns claimed
    // (32x100, K > KC). Split: A too tall to share (200 > MC), B too big (304x1000 floats > 1 MiB), batches.
    for (const [count, M, N, K] of [[1, 32, 100, 728], [1, 728, 100, 32], [1, 257, 130, 129], [1, 200, 300, 80], [1, 400, 300, 1000], [7, 65, 40, 300], [2, 100, 90, 250]]) {
      expect(2 * count * M * N * K).toBeGreaterThanOrEqual(THREAD_MIN_FLOPS);
      const A = randArray(count * M * K, r);
      const B = randArray(count * K * N, r);
      const run = (threads: number): Float32Array => {
        const [ra, rb, rc] = [A.length, B.length, count * M * N].map((n) => allocate(4 * n));
        try {
          const mem = heap().memory.buffer;
          new Float32Array(mem, ra.offset, A.length).set(A);
          new Float32Array(mem, rb.offset, B.length).set(B);
          g.maxThreads = threads;
          g.runBatched(count, M, N, K, { offset: ra.offset, bs: M * K, rs: K, cs: 1 }, { offset: rb.offset, bs: K * N, rs: N, cs: 1 }, { offset: rc.offset, bs: M * N, rs: N, cs: 1 });
          return new Float32Array(heap().memory.buffer, rc.offset, count * M * N).slice();
        } finally {
          g.maxThreads = Infinity;
          for (const x of [ra, rb, rc]) heap().release(x);
        }
      };
      const all = run(Infinity);
      expect(mismatches(all, refDotGeneral(A, [count, M, K], B, [count, K, N], [[[2], [1]], [[0], [0]]]))).toBe(0);
      // Each element is computed whole by one thread, in k order: splitting changes no bit.
      expect(Buffer.from(all.buffer).equals(Buffer.from(run(1).buffer))).toBe(true);
    }
    if (g.threads > 1) expect([g.stats.shared - shared, g.stats.split - split]).toEqual([3, 4]);
    if (pool) pool.pauseWhenLate = true;
  });

  it("runDot reads operands in place or permutes them into temporary regions; nothing stays allocated", () => {
    const used = heap().used;
    const blocks = heap().blocks;
    const cases: [number[], number[], DotDimensionNumbers][] = [
      [[9, 13], [13, 6], MATMUL],
      [[13, 9], [6, 13], [[[0], [1]], [[], []]]], // both transposed: strides
      [[3, 5, 4, 2], [2, 5, 4, 6], [[[2, 1], [2, 1]], [[3], [0]]]], // not one stride: permuted
    ];
    for (const [as, bs, dn] of cases) {
      const plan = planDot(as, bs, dn);
      const A = randArray(prod(as), r);
      const B = randArray(prod(bs), r);
      const regions: Region[] = [A.length, B.length, plan.size].map((n) => allocate(4 * n));
      const mem = heap().memory.buffer;
      new Float32Array(mem, regions[0].offset, A.length).set(A);
      new Float32Array(mem, regions[1].offset, B.length).set(B);
      runDot(g, plan, regions[0].offset, regions[1].offset, regions[2].offset);
      expect(mismatches(new Float32Array(heap().memory.buffer, regions[2].offset, plan.size), refDotGeneral(A, as, B, bs, dn))).toBe(0);
      for (const x of regions) heap().release(x);
    }
    expect(planDot([3, 5, 4, 2], [2, 5, 4, 6], [[[2, 1], [2, 1]], [[3], [0]]]).aStrides).toBeNull();
    // Thousands of calls through the eager entry leave the heap as it was (work areas, copies freed).
    const a = randArray(32 * 728, r);
    const w = randArray(728 * 100, r);
    for (let i = 0; i < 2000; i++) dotGeneralF32(a, [32, 728], w, [728, 100], MATMUL);
    expect(heap().used).toBe(used);
    expect(heap().blocks).toBe(blocks);
  });
});

describe("KernelThreads: jobs claimed once, by a helper or taken back by the caller", () => {
  it("every job runs exactly once, whether its helper starts it or the caller takes it back", () => {
    // kernel(cell) adds 1 to the float at byte offset `cell`.
    const mod = new ModuleBuilder({ module: "env", name: "memory", minPages: 1, shared: { maxPages: 4 } });
    mod.func("kernel", ["i32"]).get(0).get(0).f32Load().f32Const(1).ins("f32.add").f32Store();
    const memory = new wasmApi!.Memory({ initial: 1, maximum: 4, shared: true });
    const module = compileWasm(mod.encode());
    const local = instantiateWasm<{ kernel(cell: number): void }>(module, memory);
    const pool = new KernelThreads(1, memory);
    pool.pauseWhenLate = false;
    const cells = new Float32Array(memory.buffer, 0, 8);
    const jobs = [[0], [4]];
    // A helper that sleeps at once is late for tiny jobs: the caller takes them back...
    expect(pool.waitReady()).toBe(true);
    pool.setWorkerSpin(0);
    const runs = 300;
    for (let i = 0; i < runs; i++) {
      pool.wake(); // a wake without a job is harmless: nothing to claim
      pool.run({ id: 1, module }, jobs, ([c]) => local.kernel(c));
    }
    const early = pool.takenBack;
    expect(early).toBeGreaterThan(0);
    // ...and a spinning one takes its job while the caller is busy with its own (50 µs here);
    // either way each job ran once per run.
    pool.setWorkerSpin(50);
    const slow = ([c]: number[]) => {
      const until = performance.now() + 0.05;
      while (performance.now() < until);
      local.kernel(c);
    };
    for (let i = 0; i < runs; i++) pool.run({ id: 1, module }, jobs, slow);
    expect([cells[0], cells[1]]).toEqual([2 * runs, 2 * runs]);
    expect(pool.takenBack - early).toBeLessThan(runs);
    pool.setWorkerSpin(0);
  });

  it("a helper that keeps its caller waiting (descheduled, or just slow) pauses the helpers for a while", async () => {
    // kernel(cell, n) adds 1 to the float at `cell`, n times: the helper's job is made long.
    const mod = new ModuleBuilder({ module: "env", name: "memory", minPages: 1, shared: { maxPages: 4 } });
    const f = mod.func("kernel", ["i32", "i32"]);
    const i = f.local("i32");
    f.block().loop().get(i).get(1).i32GeS().brIf(1);
    f.get(0).get(0).f32Load().f32Const(1).ins("f32.add").f32Store();
    f.get(i).i32Const(1).i32Add().set(i).br(0).end().end();
    const memory = new wasmApi!.Memory({ initial: 1, maximum: 4, shared: true });
    const module = compileWasm(mod.encode());
    const local = instantiateWasm<{ kernel(cell: number, n: number): void }>(module, memory);
    const pool = new KernelThreads(1, memory);
    expect(pool.waitReady()).toBe(true);
    const cells = new Float32Array(memory.buffer, 0, 4);
    const run = (n: number, at = 0) => pool.run({ id: 1, module }, [[at, 10], [at + 4, n]], ([c, k]) => local.kernel(c, k));
    expect(pool.usable).toBe(true);
    pool.setWorkerSpin(1);
    // The helper's job takes milliseconds (or the caller takes it back: late too): one late run
    // is an accident, three in a row the rule.
    run(4_000_000);
    expect(pool.lateRuns).toBe(1);
    expect(pool.usable).toBe(true);
    for (let tries = 0; pool.usable && tries < 20; tries++) run(4_000_000);
    expect(pool.usable).toBe(false);
    const late = pool.lateRuns;
    expect(late).toBeGreaterThanOrEqual(3);
    // Paused: every job runs here, none is judged late, the results are the same.
    run(1000, 8);
    expect([cells[2], cells[3]]).toEqual([10, 1000]);
    expect(pool.lateRuns).toBe(late);
    await new Promise((r) => setTimeout(r, 250)); // PAUSE_MIN_MS = 200
    expect(pool.usable).toBe(true);
  });
});

describe("dot_general on float32 through the CPU backend", () => {
  const r = rng(42);
  const arr = (shape: number[]) => {
    const data = randArray(prod(shape), r);
    return { data, x: np.array(data).reshape(shape) };
  };
  const data = (x: NDArray) => x.dataSync() as Float32Array;

  it("np.matmul of edge sizes and non-multiples of the blocking, against float64", () => {
    let bad = 0;
    for (const [M, K, N] of [[1, 1, 1], [3, 7, 17], [7, 33, 1], [17, 129, 33], [129, 3, 7], [33, 385, 9], [121, 17, 130]]) {
      const a = arr([M, K]);
      const b = arr([K, N]);
      const c = np.matmul(a.x, b.x);
      expect(c.shape).toEqual([M, N]);
      expect(c.dtype.name).toBe("float32");
      bad += mismatches(data(c), refDotGeneral(a.data, [M, K], b.data, [K, N], MATMUL));
    }
    expect(bad).toBe(0);
  });

  it("batched and broadcast np.matmul, einsum with transposed operands, tensordot over two axes", () => {
    const a = arr([4, 9, 13]);
    const b = arr([4, 13, 6]);
    const w = arr([13, 6]);
    expect(mismatches(data(np.matmul(a.x, b.x)), refDotGeneral(a.data, [4, 9, 13], b.data, [4, 13, 6], [[[2], [1]], [[0], [0]]]))).toBe(0);
    const bw = np.matmul(a.x, w.x); // [4, 9, 13] @ [13, 6]: one dot_general, batch folded into M
    expect(bw.shape).toEqual([4, 9, 6]);
    expect(mismatches(data(bw), refDotGeneral(a.data, [4, 9, 13], w.data, [13, 6], [[[2], [0]], [[], []]]))).toBe(0);
    const t = arr([13, 9]);
    const u = arr([6, 13]);
    // A^T B^T, both operands read through strides.
    expect(mismatches(data(np.einsum("ki,jk->ij", t.x, u.x)), refDotGeneral(t.data, [13, 9], u.data, [6, 13], [[[0], [1]], [[], []]]))).toBe(0);
    // Batched with the batch axis last on one side.
    const p = arr([9, 13, 4]);
    const e = np.einsum("ikb,bkj->bij", p.x, b.x);
    expect(mismatches(data(e), refDotGeneral(p.data, [9, 13, 4], b.data, [4, 13, 6], [[[1], [1]], [[2], [0]]]))).toBe(0);
    const x = arr([5, 3, 4, 2]);
    const y = arr([3, 4, 7]);
    expect(mismatches(data(np.tensordot(x.x, y.x, [[1, 2], [0, 1]])), refDotGeneral(x.data, [5, 3, 4, 2], y.data, [3, 4, 7], [[[1, 2], [0, 1]], [[], []]]))).toBe(0);
  });

  it("layouts that don't collapse to one stride are permuted on the way in", () => {
    const a = arr([3, 5, 4, 2]);
    const b = arr([2, 5, 4, 6]);
    // Contract lhs axes (2, 1) against rhs (2, 1): in the lhs's order they aren't one stride.
    const dn: DotDimensionNumbers = [[[2, 1], [2, 1]], [[3], [0]]];
    const c = lax.dotGeneral(a.x, b.x, dn);
    expect(c.shape).toEqual([2, 3, 6]);
    expect(mismatches(data(c), refDotGeneral(a.data, [3, 5, 4, 2], b.data, [2, 5, 4, 6], dn))).toBe(0);
  });

  it("NaN and inf propagate as IEEE says: 0·inf is NaN, nothing is skipped", () => {
    const A = new Float32Array([0, 1, 2, 0, NaN, 1, 3, 4, 1, 0, 0, 0]); // 3×4
    const B = new Float32Array([Infinity, 1, 0, 2, 1, 1, 0, 0, 1, 0, -Infinity, 5]); // 4×3
    const c = data(np.matmul(np.array(A).reshape([3, 4]), np.array(B).reshape([4, 3])));
    const ref = refDotGeneral(A, [3, 4], B, [4, 3], MATMUL);
    expect(Number.isNaN(ref.val[0])).toBe(true); // row 0 meets inf through a zero
    expect(mismatches(c, ref)).toBe(0);
    expect([...c].map((v) => (Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : "num"))).toEqual(
      [...ref.val].map((v) => (Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : "num")),
    );
  });

  it("empty dimensions: K = 0 gives zeros, M = 0 and batch 0 give empty results", () => {
    const z = np.matmul(np.zeros([3, 0]), np.zeros([0, 4]));
    expect(z.shape).toEqual([3, 4]);
    expect([...data(z)]).toEqual(new Array(12).fill(0));
    expect(np.matmul(np.zeros([0, 5]), np.ones([5, 2])).shape).toEqual([0, 2]);
    expect(np.matmul(np.zeros([0, 2, 5]), np.ones([0, 5, 3])).shape).toEqual([0, 2, 3]);
    expect(dotGeneralF32(new Float32Array(0), [2, 0], new Float32Array(0), [0, 2], MATMUL)).toEqual(new Float32Array(4));
  });

  it("other dtypes keep the generic path (exact integer products)", () => {
    const a = np.array([[2 ** 20, 1], [3, 4]], { dtype: "int32" });
    const b = np.array([[2 ** 11, 0], [1, 1]], { dtype: "int32" });
    expect(np.matmul(a, b).tolist()).toEqual([[(2 ** 31 + 1) | 0, 1], [6148, 4]]);
  });

  it("grad, vmap and jit of matmul (transposed dot_generals) against float64", () => {
    const a = arr([7, 5]);
    const b = arr([5, 3]);
    // d/dA sum((A B)^2) = 2 (A B) B^T.
    const g = grad((x: NDArray) => np.sum(np.square(np.matmul(x, b.x))))(a.x);
    const ab = refDotGeneral(a.data, [7, 5], b.data, [5, 3], MATMUL);
    const ref = refDotGeneral(ab.val.map((v) => 2 * v), [7, 3], b.data, [5, 3], [[[1], [1]], [[], []]]);
    let bad = 0;
    const got = data(g);
    for (let i = 0; i < got.length; i++) if (Math.abs(got[i] - ref.val[i]) > 1e-5 * (ref.mag[i] + 1)) bad++;
    expect(bad).toBe(0);
    const vs = arr([4, 7, 5]);
    const vm = vmap((x: NDArray) => np.matmul(x, b.x))(vs.x);
    expect(mismatches(data(vm), refDotGeneral(vs.data, [4, 7, 5], b.data, [5, 3], [[[2], [0]], [[], []]]))).toBe(0);
    const jm = jit((x: NDArray, y: NDArray) => np.matmul(x, y))(a.x, b.x);
    expect(mismatches(data(jm), ab)).toBe(0);
  });
});
