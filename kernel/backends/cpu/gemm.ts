// The float32 GEMM of the CPU backend: runs the WebAssembly module of gemm-wasm.ts (generated
// here at load time, no toolchain), and `dotGeneralF32` maps any float32 dot_general onto it.
//
// Why WebAssembly and not JavaScript: a JS i-k-j loop reaches ~0.5 GFLOP/s here; wasm SIMD with
// packing and an MR×NR register tile reaches tens of GFLOP/s (test/bench/RESULTS.md).
//
// Memory: the wasm kernels' heap (wasm-kernels.ts): the module imports that shared memory, so
// a GEMM's operands and result are regions of the same memory the fused kernels read and write.
// A compiled program (compiled.ts) hands the GEMM the regions of the values it computed and
// gets its result as a region for the next kernel, with no copy (runDot, over a DotPlan made
// when the program is prepared); eager calls (dotGeneralF32) copy operands into regions and the
// result out, so callers keep plain Float32Arrays. Each call allocates its work areas (per
// thread [scratch tile][packed A block][packed B panel], sized for that call's blocks) and
// frees them before it returns. Operands whose batch/free/contracting axes each collapse to
// one stride (plain, transposed or batched matrices: everything np.matmul/einsum produce in
// practice) are read where they are, through strides, by the packing routines; other layouts
// are permuted into a temporary region first. WasmSgemm is the same GEMM with a memory of its
// own, for the tuning benchmarks and tests of other shapes and blockings.
//
// Accumulation is in float32, in k order, as XLA's CPU dot does: results differ from the
// float64-accumulating loop of kernel/primitives/contraction.ts by float32 rounding. Every
// product is computed (0·inf and 0·NaN give NaN as IEEE says).
//
// Threads: the loops are GotoBLAS's jc (NC) → pc (KC, pack B) → ic (MC, pack A) → macro (jr,
// ir, micro-kernel), all inside the module's `gemm`. A call big enough (THREAD_MIN_FLOPS) is cut
// into independent sub-GEMMs, one per thread: whole batch elements when there are enough, else
// row panels of C (column panels when N > M), at micro-tile multiples. Each thread has its own
// work area (packed A block, packed B panel, scratch tile), so threads never wait on each
// other: there is one fork and one join per call, no barrier per K block, at the price of each
// thread packing the operand it shares (O(K·N) or O(M·K), small next to the O(M·N·K) work).
// A single product whose shared operand is small enough to pack whole (B when M >= N, else A:
// the MLP step's x @ w1 and its weight gradient) is shared dynamically instead (runShared): the
// caller packs that operand once and the threads claim slices of the other side until none are
// left, so a thread that starts late (a sleeping worker takes 25-60 µs to wake) or runs slowly
// leaves its share to the others. The kernels' workers (kernel-threads.ts) run the same compiled module over the shared heap;
// a job a worker has not started when the caller is done with its own share runs on the caller
// (a descheduled worker on a busy machine costs a sub-GEMM, not a wait).
// PRIMAL_CPU_THREADS sets the number of threads (default: the CPUs Node reports).

import { ShapedArray } from "../../core/aval";
import { Storage, float32 } from "../../core/dtype";
import { HostArray } from "../../core/primitive";
import { stridesOf } from "../../core/shape";
import { ContractionLayout, DotDimensionNumbers, DotGeneralParams, contractionLayout, permuteInto } from "../../primitives/contraction";
import { GEMM_ARGS, GemmKernelShape, gemmModule, relaxedSimdProbe } from "./gemm-wasm";
import { DEFAULT_MEMORY } from "./codegen-wasm";
import { KernelThreads, SharedKernel, defaultThreads } from "./kernel-threads";
import { WasmThreadPool } from "./thread-pool";
import { Region, allocate, copyIn, copyOut, heap, kernelThreads, newModuleId, resident, tryAllocate } from "./wasm-kernels";
import { WasmMemory, compileWasmPrecompiled, instantiateWasm, precompileWasm, validateWasm, wasmApi as wasm } from "./wasm-runtime";

type I = number;
/** The exports used here (the module also exports its pieces: kernel, packA, packB, macro). */
interface GemmExports {
  gemm(M: I, N: I, K: I, a: I, rsa: I, csa: I, b: I, rsb: I, csb: I, c: I, ldc: I, scratch: I, pa: I, pb: I, MC: I, KC: I, NC: I): void;
  gemmList(list: I, count: I): void;
  packA(src: I, rs: I, cs: I, mc: I, kc: I, dst: I): void;
  packB(src: I, rs: I, cs: I, kc: I, nc: I, dst: I): void;
  /** Only in modules over a shared memory (HeapSgemm's). */
  panels(...args: I[]): void;
  rows(...args: I[]): void;
}

/** Cache blocking, in elements: packed A is MC×KC (L2), packed B KC×NC (L3), one micro-panel of B KC×NR (L1). */
export interface Blocking {
  mc: number;
  kc: number;
  nc: number;
}

/** Whether this host's WebAssembly has relaxed SIMD (Node 20 needs a flag; Node ≥ 22 has it). */
export function hasRelaxedSimd(): boolean {
  return validateWasm(relaxedSimdProbe());
}

/** A strided matrix in the GEMM's memory: element (i, j) at byte offset + 4·(i·rs + j·cs). */
interface Strided {
  offset: number;
  rs: number;
  cs: number;
}

/** One batch of equal GEMMs: matrix i of A at a.offset + 4·i·a.bs (bytes), and so on. */
export interface Batched extends Strided {
  /** Batch stride, in elements. */
  bs: number;
}

const PAGE = 65536;
const ALIGN = 64;
/** Addresses stay below 2 GiB so that i32 arithmetic in the module never wraps. */
const MAX_BYTES = 2 ** 31 - PAGE;
/** Room for argument records of gemmList (68 bytes each), shared by the threads. */
const LIST_BYTES = 1 << 16;
const RECORD = 4 * GEMM_ARGS;
const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** Byte offsets of one thread's work areas: the edge-tile scratch, packed A block, packed B panel. */
interface WorkArea {
  scratch: number;
  pa: number;
  pb: number;
}

/** Bytes of one thread's work areas for blocks of at most mc×kc (A) and kc×nc (B), 64-byte aligned. */
function workBytes(shape: GemmKernelShape, mc: number, kc: number, nc: number): [number, number, number] {
  return [4 * shape.mr * shape.nr, 4 * mc * kc, 4 * kc * nc].map((x) => roundUp(x, ALIGN)) as [number, number, number];
}

/**
 * The argument records of `count` GEMMs C_i = A_i·B_i cut over `T` threads, one list per
 * thread: by batch element when there are at least two per thread, else each product by rows
 * (M ≥ N) or columns, in multiples of the micro-tile. `work[t]` is thread t's work area.
 */
function planJobs(count: number, M: number, N: number, K: number, a: Batched, b: Batched, c: Batched, T: number, shape: GemmKernelShape, blocking: Blocking, work: WorkArea[]): number[][][] {
  const { mr, nr } = shape;
  const { mc, kc, nc } = blocking;
  const jobs: number[][][] = Array.from({ length: T }, () => []);
  const add = (t: number, i: number, m0: number, m: number, n0: number, n: number) => {
    const w = work[t];
    const ao = a.offset + 4 * (i * a.bs + m0 * a.rs);
    const bo = b.offset + 4 * (i * b.bs + n0 * b.cs);
    const co = c.offset + 4 * (i * c.bs + m0 * c.rs + n0);
    jobs[t].push([m, n, K, ao, 4 * a.rs, 4 * a.cs, bo, 4 * b.rs, 4 * b.cs, co, 4 * c.rs, w.scratch, w.pa, w.pb, mc, kc, nc]);
  };
  if (T === 1 || count >= 2 * T) {
    for (let t = 0; t < T; t++) for (let i = Math.floor((t * count) / T); i < Math.floor(((t + 1) * count) / T); i++) add(t, i, 0, M, 0, N);
  } else {
    const byRows = M >= N;
    const parts = splitRange(byRows ? M : N, T, byRows ? mr : nr);
    for (let i = 0; i < count; i++) parts.forEach(([start, len], t) => (byRows ? add(t, i, start, len, 0, N) : add(t, i, 0, M, start, len)));
  }
  return jobs.filter((j) => j.length > 0);
}

/** Threads worth using for `count` products of M×K by K×N, out of `threads`. */
function threadsFor(count: number, M: number, N: number, K: number, threads: number): number {
  return 2 * count * M * N * K >= THREAD_MIN_FLOPS ? threads : 1;
}

/**
 * One instantiated GEMM module with a memory of its own, and optionally worker threads of its
 * own (thread-pool.ts): the tuning benchmarks and the tests use it to try micro-tile shapes,
 * blockings and thread counts. Memory layout: one work area per thread (scratch tile, packed A
 * block, packed B panel), the argument lists, then the heap where callers place operands
 * (`heap`, `reserve`). The library's own GEMM is HeapSgemm, over the kernels' memory.
 */
export class WasmSgemm {
  readonly shape: GemmKernelShape;
  readonly blocking: Blocking;
  readonly threads: number;
  /** Byte offset of the free space after the work areas and argument lists. */
  readonly heap: number;
  private readonly memory: WasmMemory;
  private readonly fns: GemmExports;
  private readonly pool: WasmThreadPool | null;
  private readonly work: WorkArea[];
  private readonly lists: number;
  private view: Float32Array;
  private ints: Int32Array;

  constructor(shape: GemmKernelShape, blocking: Blocking, threads = 1) {
    if (!wasm) throw new Error("WasmSgemm: this runtime has no WebAssembly");
    this.shape = shape;
    this.blocking = { mc: roundUp(blocking.mc, shape.mr), kc: blocking.kc, nc: roundUp(blocking.nc, shape.nr) };
    this.threads = Math.max(1, Math.floor(threads));
    const { mc, kc, nc } = this.blocking;
    const [scratch, pa, pb] = workBytes(shape, mc, kc, nc);
    this.work = Array.from({ length: this.threads }, (_, t) => {
      const at = t * (scratch + pa + pb);
      return { scratch: at, pa: at + scratch, pb: at + scratch + pa };
    });
    this.lists = this.threads * (scratch + pa + pb);
    this.heap = this.lists + LIST_BYTES;
    const initial = Math.ceil(this.heap / PAGE) + 1;
    const shared = this.threads > 1 ? { maxPages: Math.floor(MAX_BYTES / PAGE) } : undefined;
    this.memory = new wasm.Memory({ initial, ...(shared ? { maximum: shared.maxPages, shared: true } : {}) });
    const module = compileWasmPrecompiled(WasmSgemm.moduleBytes(shape, blocking, threads));
    this.fns = instantiateWasm<GemmExports>(module, this.memory);
    this.pool = this.threads > 1 ? new WasmThreadPool(this.threads - 1, module, this.memory, "gemmList") : null;
    this.view = new Float32Array(this.memory.buffer);
    this.ints = new Int32Array(this.memory.buffer);
  }

  /** The module a GEMM of this configuration compiles (its memory layout is part of it). */
  static moduleBytes(shape: GemmKernelShape, blocking: Blocking, threads = 1): Uint8Array {
    const t = Math.max(1, Math.floor(threads));
    const [scratch, pa, pb] = workBytes(shape, roundUp(blocking.mc, shape.mr), blocking.kc, roundUp(blocking.nc, shape.nr));
    const initial = Math.ceil((t * (scratch + pa + pb) + LIST_BYTES) / PAGE) + 1;
    return gemmModule(shape, { minPages: initial, shared: t > 1 ? { maxPages: Math.floor(MAX_BYTES / PAGE) } : undefined });
  }

  /** Blocks until the worker threads have started (they start in the background); tests use it. */
  waitForThreads(timeoutMs?: number): boolean {
    return this.pool ? this.pool.waitReady(timeoutMs) : true;
  }

  /** The memory as float32, valid until the next `reserve`. */
  get f32(): Float32Array {
    return this.view;
  }

  /** Makes sure `bytes` bytes of heap (from `heap`) exist; returns false if that is too much. */
  reserve(bytes: number): boolean {
    const need = this.heap + bytes;
    if (need > MAX_BYTES) return false;
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      this.memory.grow(Math.ceil((need - have) / PAGE));
      this.view = new Float32Array(this.memory.buffer);
      this.ints = new Int32Array(this.memory.buffer);
    }
    return true;
  }

  /** C = A·B for an M×K A and a K×N B already in memory (offsets in bytes, strides in elements). */
  run(M: number, N: number, K: number, a: Strided, b: Strided, c: Strided): void {
    this.runBatched(1, M, N, K, { ...a, bs: 0 }, { ...b, bs: 0 }, { ...c, bs: 0 });
  }

  /**
   * `count` GEMMs C_i = A_i·B_i. Work of at least THREAD_MIN_FLOPS is split over the threads
   * (planJobs); every thread packs its own blocks.
   */
  runBatched(count: number, M: number, N: number, K: number, a: Batched, b: Batched, c: Batched): void {
    if (c.cs !== 1) throw new RangeError("WasmSgemm.run: C must have unit column stride");
    if (count === 0 || M === 0 || N === 0) return;
    const T = threadsFor(count, M, N, K, this.threads);
    const jobs = planJobs(count, M, N, K, a, b, c, T, this.shape, this.blocking, this.work);
    if (jobs.length === 1 && jobs[0].length === 1) {
      (this.fns.gemm as (...args: number[]) => void)(...jobs[0][0]);
      return;
    }
    // Each thread's records through gemmList, in rounds that fit the list area.
    const cap = Math.floor(LIST_BYTES / RECORD / jobs.length);
    const rounds = Math.max(...jobs.map((j) => Math.ceil(j.length / cap)));
    for (let r = 0; r < rounds; r++) {
      const lists: [number, number][] = jobs.map((j, t) => {
        const ptr = this.lists + t * cap * RECORD;
        const records = j.slice(r * cap, (r + 1) * cap);
        records.forEach((rec, k) => this.ints.set(rec, (ptr + k * RECORD) / 4));
        return [ptr, records.length];
      });
      if (this.pool && lists.length > 1) this.pool.run(lists, this.fns.gemmList);
      else for (const [ptr, n] of lists) this.fns.gemmList(ptr, n);
    }
  }
}

/**
 * The library's GEMM: the same module over the wasm kernels' memory (wasm-kernels.ts's heap),
 * so operands and results are regions of that heap, which compiled programs hand from kernel to
 * GEMM to kernel without copies, and running on the kernels' worker threads (kernel-threads.ts).
 * Work areas are allocated from the heap for each call, sized for that call's blocks (a GEMM
 * with K = 32 packs 32-row panels, not KC-row ones), and freed when it returns.
 */
export class HeapSgemm {
  readonly shape: GemmKernelShape;
  readonly blocking: Blocking;
  private readonly fns: GemmExports;
  /** The module as the worker threads know it, one id per entry: gemm, gemmList, panels, rows. */
  private readonly one: SharedKernel;
  private readonly list: SharedKernel;
  private readonly panels: SharedKernel;
  private readonly rows: SharedKernel;
  private readonly runGemm: (...args: number[]) => void;
  /** At most this many threads per call (tests, comparisons; default: all there are). */
  maxThreads = Infinity;
  /** Products run with a shared packed operand (runShared), split statically, and side by side (runMany) (tests). */
  readonly stats = { shared: 0, split: 0, many: 0 };

  constructor(shape: GemmKernelShape, blocking: Blocking) {
    if (!wasm) throw new Error("HeapSgemm: this runtime has no WebAssembly");
    this.shape = shape;
    this.blocking = { mc: roundUp(blocking.mc, shape.mr), kc: blocking.kc, nc: roundUp(blocking.nc, shape.nr) };
    const module = compileWasmPrecompiled(HeapSgemm.moduleBytes(shape));
    this.fns = instantiateWasm<GemmExports>(module, heap().memory);
    this.runGemm = this.fns.gemm as (...args: number[]) => void;
    this.one = { id: newModuleId(), module, entry: "gemm" };
    this.list = { id: newModuleId(), module, entry: "gemmList" };
    this.panels = { id: newModuleId(), module, entry: "panels" };
    this.rows = { id: newModuleId(), module, entry: "rows" };
  }

  /** The module's bytes: the GEMM importing the kernels' shared memory. */
  static moduleBytes(shape: GemmKernelShape): Uint8Array {
    return gemmModule(shape, { minPages: 1, shared: { maxPages: DEFAULT_MEMORY.maxPages } });
  }

  /** Threads a call may use: the kernels' worker threads and this one. */
  get threads(): number {
    return (kernelThreads()?.count ?? 0) + 1;
  }

  /** C = A·B for an M×K A and a K×N B in the heap (offsets in bytes, strides in elements). */
  run(M: number, N: number, K: number, a: Strided, b: Strided, c: Strided): void {
    this.runBatched(1, M, N, K, { offset: a.offset, rs: a.rs, cs: a.cs, bs: 0 }, { offset: b.offset, rs: b.rs, cs: b.cs, bs: 0 }, { offset: c.offset, rs: c.rs, cs: c.cs, bs: 0 });
  }

  /**
   * `count` GEMMs C_i = A_i·B_i on regions of the heap: one product worth threads shares its
   * work (runShared) when it can, others are split as planJobs says; on one thread, one call.
   */
  runBatched(count: number, M: number, N: number, K: number, a: Batched, b: Batched, c: Batched): void {
    if (c.cs !== 1) throw new RangeError("HeapSgemm.run: C must have unit column stride");
    if (count === 0 || M === 0 || N === 0) return;
    const pool = kernelThreads();
    const T = pool?.usable ? threadsFor(count, M, N, K, Math.min(this.maxThreads, pool.count + 1)) : 1;
    const { mr, nr } = this.shape;
    const { mc, kc, nc } = this.blocking;
    const kb = Math.min(kc, Math.max(K, 1));
    const scratch = roundUp(4 * mr * nr, ALIGN);
    const pa = roundUp(4 * Math.min(mc, roundUp(M, mr)) * kb, ALIGN);
    const per = scratch + pa + roundUp(4 * kb * Math.min(nc, roundUp(N, nr)), ALIGN);
    if (T > 1 && count === 1 && this.runShared(pool!, T, M, N, K, a, b, c)) return;
    const area = allocate(T * per);
    let lists: Region | null = null;
    try {
      if (T === 1 && count === 1) {
        // One product on this thread: no job records (small GEMMs are a few µs; these add up).
        const w = area.offset;
        this.runGemm(M, N, K, a.offset, 4 * a.rs, 4 * a.cs, b.offset, 4 * b.rs, 4 * b.cs, c.offset, 4 * c.rs, w, w + scratch, w + scratch + pa, mc, kc, nc);
        return;
      }
      const work = Array.from({ length: T }, (_, t) => ({ scratch: area.offset + t * per, pa: area.offset + t * per + scratch, pb: area.offset + t * per + scratch + pa }));
      const jobs = planJobs(count, M, N, K, a, b, c, T, this.shape, this.blocking, work);
      if (jobs.length > 1) this.stats.split++;
      if (jobs.length === 1 && jobs[0].length === 1) this.runGemm(...jobs[0][0]);
      else if (jobs.every((j) => j.length === 1)) pool!.run(this.one, jobs.map((j) => j[0]), (args) => this.runGemm(...args));
      else lists = this.runLists(pool, jobs);
    } finally {
      heap().release(area);
      if (lists) heap().release(lists);
    }
  }

  /**
   * Several independent batched GEMMs at once (pmap's shards, one per logical device: see
   * shard-parallel.ts): each product gets its share of the threads (threads / products, at
   * least one), so products run side by side rather than one after another on all threads.
   * With more products than threads, thread t runs products t, t + T, ... one after another.
   * Every element is the same K chain as in `runBatched`, so the results are identical to it.
   */
  runMany(products: readonly { count: number; M: number; N: number; K: number; a: Batched; b: Batched; c: Batched }[]): void {
    const live = products.filter((p) => p.count > 0 && p.M > 0 && p.N > 0);
    for (const p of live) if (p.c.cs !== 1) throw new RangeError("HeapSgemm.runMany: C must have unit column stride");
    if (live.length === 0) return;
    const pool = kernelThreads();
    const T = pool?.usable ? Math.min(this.maxThreads, pool.count + 1) : 1;
    const { mr, nr } = this.shape;
    const { mc, kc, nc } = this.blocking;
    const budget = Math.max(1, Math.floor(T / live.length));
    // Per product and per thread of its budget: a work area sized for its blocks, then its records.
    const sizes = live.map(({ M, N, K }) => {
      const kb = Math.min(kc, Math.max(K, 1));
      return [roundUp(4 * mr * nr, ALIGN), roundUp(4 * Math.min(mc, roundUp(M, mr)) * kb, ALIGN), roundUp(4 * kb * Math.min(nc, roundUp(N, nr)), ALIGN)];
    });
    const area = allocate(budget * sizes.reduce((s, [x, y, z]) => s + x + y + z, 0));
    let lists: Region | null = null;
    try {
      let at = area.offset;
      const perThread: number[][][] = [];
      live.forEach(({ count, M, N, K, a, b, c }, p) => {
        const [scratch, pa, pb] = sizes[p];
        const work = Array.from({ length: budget }, () => {
          const w = { scratch: at, pa: at + scratch, pb: at + scratch + pa };
          at += scratch + pa + pb;
          return w;
        });
        const T1 = threadsFor(count, M, N, K, budget);
        perThread.push(...planJobs(count, M, N, K, a, b, c, T1, this.shape, this.blocking, work.slice(0, T1)));
      });
      // More record lists than threads (more products than threads): deal them round-robin.
      const jobs: number[][][] = Array.from({ length: Math.min(T, perThread.length) }, () => []);
      perThread.forEach((recs, i) => jobs[i % jobs.length].push(...recs));
      if (jobs.length === 1 && jobs[0].length === 1) return this.runGemm(...jobs[0][0]);
      this.stats.many++;
      lists = this.runLists(pool, jobs);
    } finally {
      heap().release(area);
      if (lists) heap().release(lists);
    }
  }

  /**
   * Runs lists of GEMM records, one list per thread (`jobs[t]`): the records are written into a
   * region of the heap, then each thread runs its list (gemmList). Returns the region, which the
   * caller releases (released here if a run throws).
   */
  private runLists(pool: ReturnType<typeof kernelThreads>, jobs: number[][][]): Region {
    const total = jobs.reduce((n, j) => n + j.length, 0);
    const lists = allocate(total * RECORD);
    try {
      const ints = new Int32Array(heap().memory.buffer, lists.offset, total * GEMM_ARGS);
      const args: number[][] = [];
      let at = 0;
      for (const j of jobs) {
        args.push([lists.offset + 4 * at, j.length]);
        for (const rec of j) ints.set(rec, (at += GEMM_ARGS) - GEMM_ARGS);
      }
      if (pool && args.length > 1) pool.run(this.list, args, ([ptr, n]) => this.fns.gemmList(ptr, n));
      else for (const [ptr, n] of args) this.fns.gemmList(ptr, n);
      return lists;
    } catch (e) {
      heap().release(lists);
      throw e;
    }
  }

  /**
   * One product on T threads sharing the work dynamically (the module's `rows` / `panels`): the
   * caller packs the operand every thread needs (B when M >= N, else A) once for all of K, then
   * every thread claims SHARE_CHUNKS_PER_THREAD·T-th slices of the other side until none are
   * left. False (nothing done) when the shared operand is too big to pack whole.
   */
  private runShared(pool: KernelThreads, T: number, M: number, N: number, K: number, a: Batched, b: Batched, c: Batched): boolean {
    const { mr, nr } = this.shape;
    const { mc, kc, nc } = this.blocking;
    const byRows = M >= N;
    const padded = byRows ? roundUp(N, nr) : roundUp(M, mr);
    if (4 * padded * K > SHARE_MAX_BYTES || (byRows ? N > nc : M > mc)) return false;
    const align = byRows ? mr : nr;
    const chunk = Math.min(byRows ? mc : nc, Math.max(align, roundUp(Math.ceil((byRows ? M : N) / (SHARE_CHUNKS_PER_THREAD * T)), align)));
    const kb = Math.min(kc, K);
    const scratch = roundUp(4 * mr * nr, ALIGN);
    const own = roundUp(4 * chunk * kb, ALIGN);
    const shared = roundUp(4 * padded * K, ALIGN);
    const area = allocate(ALIGN + shared + T * (scratch + own));
    try {
      const counter = area.offset;
      const packed = counter + ALIGN;
      const work = (t: number) => packed + shared + t * (scratch + own);
      Atomics.store(new Int32Array(heap().memory.buffer, counter, 1), 0, 0);
      for (let pc = 0; pc < K; pc += kc) {
        const k = Math.min(kc, K - pc);
        if (byRows) this.fns.packB(b.offset + 4 * pc * b.rs, 4 * b.rs, 4 * b.cs, k, N, packed + 4 * padded * pc);
        else this.fns.packA(a.offset + 4 * pc * a.cs, 4 * a.rs, 4 * a.cs, M, k, packed + 4 * padded * pc);
      }
      const jobs = Array.from({ length: T }, (_, t) =>
        byRows
          ? [M, N, K, a.offset, 4 * a.rs, 4 * a.cs, c.offset, 4 * c.rs, work(t), work(t) + scratch, packed, 4 * padded, kc, counter, chunk]
          : [M, N, K, b.offset, 4 * b.rs, 4 * b.cs, c.offset, 4 * c.rs, work(t), packed, 4 * padded, work(t) + scratch, kc, counter, chunk],
      );
      this.stats.shared++;
      const fn = byRows ? this.fns.rows : this.fns.panels;
      pool.run(byRows ? this.rows : this.panels, jobs, (args) => fn(...args));
    } finally {
      heap().release(area);
    }
    return true;
  }
}

/**
 * The operand threads share is packed whole, on the calling thread, when it is at most this big
 * (an L2's worth). Bigger products split statically: packing 4 MiB on one thread before the
 * others start cost np.matmul 1024 ~5% (64.5 against 68 GFLOP/s).
 */
const SHARE_MAX_BYTES = 1 << 20;
/** Slices of a shared product per thread: finer balances late or slow threads, coarser repacks less. */
const SHARE_CHUNKS_PER_THREAD = 4;

/** Splits 0..n into at most `parts` ranges [start, length], cut at multiples of `align`. */
function splitRange(n: number, parts: number, align: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let p = 0; p < parts && start < n; p++) {
    const end = p === parts - 1 ? n : Math.min(n, roundUp(Math.round(((p + 1) * n) / parts), align));
    if (end > start) out.push([start, end - start]);
    start = end;
  }
  return out;
}

/**
 * Below this much work (2·M·N·K over a call) the GEMM stays on one thread: handing out jobs
 * costs 1-75 µs (thread-pool.ts), and measured on this machine two threads start to win
 * between 96³ and 128³ (2^21-2^22 flops, ~0.1 ms of one thread's work).
 */
export const THREAD_MIN_FLOPS = 2 ** 22;

/**
 * The micro-tile and blocking measured on the development machine (AMD EPYC Zen 3: 32 KiB L1d
 * and 512 KiB L2 per core, 32 MiB L3; Node 20), with test/bench/gemm-tune.ts. Micro-kernel
 * alone, operands in L1, GFLOP/s: mul+add 4×8 37, 5×8 39-40, 3×12 36, 2×16 35, 8×4 31, 6×8 24
 * (spills); relaxed_madd 4×8 47, 5×8 and 6×8 49-50 (the two 128-bit FMA pipes' peak at this
 * clock), 8×8 25 (spills). 5×8 is best or tied in both modes. Blocking moves results by less
 * than the machine's noise (±5%) between KC 256-1024 and MC 48-480: KC = 384 keeps one B
 * micro-panel (12 KiB) and one A micro-panel (7.5 KiB) in L1, MC×KC (180 KiB) in L2, KC×NC (6
 * MiB) in L3. Full GEMM reaches the micro-kernel's in-L1 speed at 256-2048 (no cliff).
 */
export function defaultShape(relaxed: boolean): GemmKernelShape {
  return { mr: 5, nr: 8, relaxed };
}
export const DEFAULT_BLOCKING: Blocking = { mc: 120, kc: 384, nc: 4096 };

export { defaultThreads };

// The process-wide GEMM's module compiles in the background from the moment the library loads,
// so the first matmul (often inside a first jit call) does not wait ~13 ms for it.
if (wasm) precompileWasm(HeapSgemm.moduleBytes(defaultShape(hasRelaxedSimd())));

let instance: HeapSgemm | null | undefined;
/** The process-wide GEMM (created on first use), or null where WebAssembly is missing. */
export function sgemm(): HeapSgemm | null {
  if (instance === undefined) {
    defaultThreads(); // a bad PRIMAL_CPU_THREADS is reported here, by the first matmul
    try {
      instance = wasm ? new HeapSgemm(defaultShape(hasRelaxedSimd()), DEFAULT_BLOCKING) : null;
    } catch {
      instance = null;
    }
  }
  return instance;
}

/**
 * The single stride through which the axes `axes` of a row-major array of `shape` enumerate
 * their elements in row-major order, or null when they don't collapse to one stride.
 */
function collapse(shape: readonly number[], strides: readonly number[], axes: readonly number[]): number | null {
  const live = axes.filter((d) => shape[d] !== 1);
  for (let i = 0; i + 1 < live.length; i++) if (strides[live[i]] !== strides[live[i + 1]] * shape[live[i + 1]]) return null;
  return live.length ? strides[live[live.length - 1]] : 0;
}

/** [batch stride, row stride, column stride] of the operand seen through `perm`, or null. */
function stridesThrough(shape: readonly number[], perm: number[], groups: [number, number, number]): [number, number, number] | null {
  const st = stridesOf(shape);
  const [g0, g1] = groups;
  const parts = [perm.slice(0, g0), perm.slice(g0, g0 + g1), perm.slice(g0 + g1)];
  const s = parts.map((axes) => collapse(shape, st, axes));
  return s.every((x) => x !== null) ? (s as [number, number, number]) : null;
}

/**
 * A float32 dot_general of fixed operand shapes mapped onto the GEMM: `count`·M×K by K×N
 * products. An operand whose batch, free and contracting axes each collapse to one stride
 * (plain, transposed or batched matrices: everything np.matmul/einsum produce in practice) is
 * read where it is, through its strides; another is permuted into a [B, rows, cols] copy first.
 */
export interface DotPlan {
  B: number;
  M: number;
  N: number;
  K: number;
  /** Elements of the result (B·M·N, row-major [batch, lhs free, rhs free]). */
  size: number;
  layout: ContractionLayout;
  aShape: readonly number[];
  bShape: readonly number[];
  /** [batch, row, column] strides (elements) of each operand read in place, or null: permuted. */
  aStrides: [number, number, number] | null;
  bStrides: [number, number, number] | null;
}

/** The plan of dot_general on operands of these shapes. */
export function planDot(aShape: readonly number[], bShape: readonly number[], dn: DotDimensionNumbers): DotPlan {
  const L = contractionLayout(aShape, bShape, dn);
  return {
    B: L.B, M: L.M, N: L.N, K: L.K, size: L.B * L.M * L.N, layout: L, aShape, bShape,
    aStrides: stridesThrough(aShape, L.lhsPerm, L.lhsGroups),
    bStrides: stridesThrough(bShape, L.rhsPerm, L.rhsGroups),
  };
}

/**
 * Runs a planned dot_general on the kernels' heap: operands at byte offsets `a` and `b`, the
 * result written at `c` (plan.size float32, row-major). Operands that need permuting are copied
 * into regions freed before it returns. The caller handles size 0 (nothing to write) itself.
 */
export function runDot(g: HeapSgemm, plan: DotPlan, a: number, b: number, c: number): void {
  const { B, M, N, K, aStrides: as, bStrides: bs } = plan;
  const C: Batched = { offset: c, bs: M * N, rs: N, cs: 1 };
  if (as && bs) return g.runBatched(B, M, N, K, { offset: a, bs: as[0], rs: as[1], cs: as[2] }, { offset: b, bs: bs[0], rs: bs[1], cs: bs[2] }, C);
  const temps: Region[] = [];
  try {
    const operand = (at: number, shape: readonly number[], perm: number[], strides: [number, number, number] | null, rows: number, cols: number): Batched => {
      if (strides) return { offset: at, bs: strides[0], rs: strides[1], cs: strides[2] };
      const n = B * rows * cols;
      const r = allocate(4 * n);
      temps.push(r);
      const mem = heap().memory.buffer;
      permuteInto(new Float32Array(mem, at, n), shape, perm, new Float32Array(mem, r.offset, n));
      return { offset: r.offset, bs: rows * cols, rs: cols, cs: 1 };
    };
    g.runBatched(B, M, N, K, operand(a, plan.aShape, plan.layout.lhsPerm, as, M, K), operand(b, plan.bShape, plan.layout.rhsPerm, bs, K, N), C);
  } finally {
    for (const r of temps) heap().release(r);
  }
}

/**
 * The CPU backend's dot_general for float32 operands and result (else null: the caller runs
 * the primitive's generic float64 loop). Also null where the operands don't fit the wasm memory.
 * Operands are copied in for each call, not cached: in an eager training loop every step's new
 * weights would be read twice (the forward matmul, then the update) and so enter the resident
 * cache, which then holds each step's weights until they are garbage-collected (measured: the
 * heap grew to 120 MiB over 400 steps of the MLP, every new region on fresh pages).
 */
export function dotGeneralCpu(inputs: readonly HostArray[], params: DotGeneralParams, out: ShapedArray): Storage | null {
  const [a, b] = inputs;
  if (a.dtype !== float32 || b.dtype !== float32 || out.dtype !== float32) return null;
  return dotGeneralF32(a.data as Float32Array, a.shape, b.data as Float32Array, b.shape, params.dimension_numbers);
}

/**
 * dot_general of float32 operands through the wasm GEMM: operands copied into the kernels' heap
 * (or found there, with `cacheInputs`, when read before), the result copied out. Null when
 * they don't fit its memory.
 */
export function dotGeneralF32(a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], dn: DotDimensionNumbers, cacheInputs = false): Float32Array | null {
  const plan = planDot(aShape, bShape, dn);
  if (plan.size === 0 || plan.K === 0) return new Float32Array(plan.size);
  const g = sgemm();
  if (!g) return null;
  const regions: Region[] = [];
  const pinned: Storage[] = [];
  try {
    const place = (s: Float32Array): number | null => {
      const cached = cacheInputs ? resident.get(s) : null;
      if (cached) {
        pinned.push(s);
        return cached.offset;
      }
      const r = tryAllocate(s.byteLength);
      if (!r) return null;
      regions.push(r);
      copyIn(s, r);
      return r.offset;
    };
    const ao = place(a);
    const bo = ao === null ? null : place(b);
    const c = bo === null ? null : tryAllocate(4 * plan.size);
    if (ao === null || bo === null || !c) return null;
    regions.push(c);
    runDot(g, plan, ao, bo, c.offset);
    return copyOut(c, float32, plan.size) as Float32Array;
  } finally {
    for (const r of regions) heap().release(r);
    for (const s of pinned) resident.unpin(s);
  }
}
