// The float32 GEMM of the CPU backend: runs the WebAssembly module of gemm-wasm.ts (generated
// here at load time, no toolchain), and `dotGeneralF32` maps any float32 dot_general onto it.
//
// Why WebAssembly and not JavaScript: a JS i-k-j loop reaches ~0.5 GFLOP/s here; wasm SIMD with
// packing and an MR×NR register tile reaches tens of GFLOP/s (test/bench/RESULTS.md).
//
// Memory: one WebAssembly.Memory, grown when a call needs more and reused by every later call
// (it never shrinks). Layout: per thread [scratch tile][packed A block][packed B panel], the
// threads' argument lists, then [A][B][C] of the current call. Operands
// are copied in (typed-array set, a memcpy) and the result copied out, so callers keep plain
// Float32Arrays. Operands whose batch/free/contracting axes each collapse to one stride (plain,
// transposed or batched matrices: everything np.matmul/einsum produce in practice) are copied
// as they are and read through strides by the packing routines; other layouts are permuted
// while copied in.
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
// The workers (thread-pool.ts) run the same compiled module over a shared memory.
// PRIMAL_CPU_THREADS sets the number of threads (default: the CPUs Node reports).

import { availableParallelism } from "node:os";
import { ShapedArray } from "../../core/aval";
import { Storage, float32 } from "../../core/dtype";
import { PrimalError } from "../../core/errors";
import { HostArray } from "../../core/primitive";
import { stridesOf } from "../../core/shape";
import { ContractionLayout, DotDimensionNumbers, DotGeneralParams, contractionLayout, permuteInto } from "../../primitives/contraction";
import { GEMM_ARGS, GemmKernelShape, gemmModule, relaxedSimdProbe } from "./gemm-wasm";
import { WasmThreadPool } from "./thread-pool";
import { WasmMemory, compileWasmPrecompiled, instantiateWasm, precompileWasm, validateWasm, wasmApi as wasm } from "./wasm-runtime";

type I = number;
/** The exports used here (the module also exports its pieces: kernel, packA, packB, macro). */
interface GemmExports {
  gemm(M: I, N: I, K: I, a: I, rsa: I, csa: I, b: I, rsb: I, csb: I, c: I, ldc: I, scratch: I, pa: I, pb: I, MC: I, KC: I, NC: I): void;
  gemmList(list: I, count: I): void;
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

/**
 * One instantiated GEMM module with its memory, and optionally worker threads. Memory layout:
 * one work area per thread (scratch tile, packed A block, packed B panel), the argument lists,
 * then the heap where callers place operands (`heap`, `reserve`).
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
  private readonly work: { scratch: number; pa: number; pb: number }[];
  private readonly lists: number;
  private view: Float32Array;
  private ints: Int32Array;

  constructor(shape: GemmKernelShape, blocking: Blocking, threads = 1) {
    if (!wasm) throw new Error("WasmSgemm: this runtime has no WebAssembly");
    this.shape = shape;
    this.blocking = { mc: roundUp(blocking.mc, shape.mr), kc: blocking.kc, nc: roundUp(blocking.nc, shape.nr) };
    this.threads = Math.max(1, Math.floor(threads));
    const { mc, kc, nc } = this.blocking;
    const [scratch, pa, pb] = [4 * shape.mr * shape.nr, 4 * mc * kc, 4 * kc * nc].map((x) => roundUp(x, ALIGN));
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
    const mc = roundUp(blocking.mc, shape.mr);
    const nc = roundUp(blocking.nc, shape.nr);
    const t = Math.max(1, Math.floor(threads));
    const [scratch, pa, pb] = [4 * shape.mr * shape.nr, 4 * mc * blocking.kc, 4 * blocking.kc * nc].map((x) => roundUp(x, ALIGN));
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
   * `count` GEMMs C_i = A_i·B_i. Work of at least THREAD_MIN_FLOPS is split over the threads:
   * by batch element when there are at least two per thread, else each product by rows (M ≥ N)
   * or columns, in multiples of the micro-tile; every thread packs its own blocks.
   */
  runBatched(count: number, M: number, N: number, K: number, a: Batched, b: Batched, c: Batched): void {
    if (c.cs !== 1) throw new RangeError("WasmSgemm.run: C must have unit column stride");
    if (count === 0 || M === 0 || N === 0) return;
    const T = 2 * count * M * N * K >= THREAD_MIN_FLOPS ? this.threads : 1;
    const { mr, nr } = this.shape;
    const { mc, kc, nc } = this.blocking;
    const jobs: number[][][] = Array.from({ length: T }, () => []);
    const add = (t: number, i: number, m0: number, m: number, n0: number, n: number) => {
      const w = this.work[t];
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
      for (let i = 0; i < count; i++)
        parts.forEach(([start, len], t) => (byRows ? add(t, i, start, len, 0, N) : add(t, i, 0, M, start, len)));
    }
    this.dispatch(jobs.filter((j) => j.length > 0));
  }

  /** Runs each thread's records: one gemm call directly, else through gemmList, in rounds that fit the list area. */
  private dispatch(jobs: number[][][]): void {
    if (jobs.length === 1 && jobs[0].length === 1) {
      (this.fns.gemm as (...args: number[]) => void)(...jobs[0][0]);
      return;
    }
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

/** Threads of the process-wide GEMM: PRIMAL_CPU_THREADS, else the CPUs this process may use. */
export function defaultThreads(): number {
  const raw = process.env.PRIMAL_CPU_THREADS;
  if (raw === undefined) return Math.max(1, availableParallelism());
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new PrimalError(`PRIMAL_CPU_THREADS: expected a positive integer, got "${raw}"`);
  return n;
}

// The process-wide GEMM's module compiles in the background from the moment the library loads,
// so the first matmul (often inside a first jit call) does not wait ~13 ms for it.
try {
  if (wasm) precompileWasm(WasmSgemm.moduleBytes(defaultShape(hasRelaxedSimd()), DEFAULT_BLOCKING, defaultThreads()));
} catch {
  // A bad PRIMAL_CPU_THREADS is reported by the first matmul, with its message.
}

let instance: WasmSgemm | null | undefined;
/** The process-wide GEMM (created on first use), or null where WebAssembly is missing. */
export function sgemm(): WasmSgemm | null {
  if (instance === undefined) {
    // Where threads can't be had (no shared memory), one thread; where WebAssembly can't, null.
    const threads = defaultThreads();
    instance = null;
    for (const t of threads > 1 ? [threads, 1] : [1]) {
      try {
        instance = wasm ? new WasmSgemm(defaultShape(hasRelaxedSimd()), DEFAULT_BLOCKING, t) : null;
        break;
      } catch {
        instance = null;
      }
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
 * Copies one operand into the GEMM's memory at element index `at` and returns its [batch, row,
 * col] strides: as stored when its axis groups collapse, else permuted into [B, rows, cols].
 */
function placeOperand(g: WasmSgemm, data: Float32Array, shape: readonly number[], perm: number[], groups: [number, number, number], rows: number, cols: number, at: number): [number, number, number] {
  const direct = stridesThrough(shape, perm, groups);
  if (direct) {
    g.f32.set(data, at);
    return direct;
  }
  permuteInto(data, shape, perm, g.f32, at);
  return [rows * cols, cols, 1];
}

/**
 * The CPU backend's dot_general for float32 operands and result (else null: the caller runs
 * the primitive's generic float64 loop). Also null where the operands don't fit the GEMM's memory.
 */
export function dotGeneralCpu(inputs: readonly HostArray[], params: DotGeneralParams, out: ShapedArray): Storage | null {
  const [a, b] = inputs;
  if (a.dtype !== float32 || b.dtype !== float32 || out.dtype !== float32) return null;
  return dotGeneralF32(a.data as Float32Array, a.shape, b.data as Float32Array, b.shape, params.dimension_numbers);
}

/** dot_general of float32 operands through the wasm GEMM; null when they don't fit its memory. */
export function dotGeneralF32(a: Float32Array, aShape: readonly number[], b: Float32Array, bShape: readonly number[], dn: DotDimensionNumbers): Float32Array | null {
  const L: ContractionLayout = contractionLayout(aShape, bShape, dn);
  const { B, M, K, N } = L;
  const size = B * M * N;
  if (size === 0 || K === 0) return new Float32Array(size);
  const g = sgemm();
  if (!g) return null;
  const aAt = g.heap / 4;
  const bAt = roundUp(aAt + a.length, 16);
  const cAt = roundUp(bAt + b.length, 16);
  if (!g.reserve(4 * (cAt + size - aAt))) return null;
  const [abs, ars, acs] = placeOperand(g, a, aShape, L.lhsPerm, L.lhsGroups, M, K, aAt);
  const [bbs, brs, bcs] = placeOperand(g, b, bShape, L.rhsPerm, L.rhsGroups, K, N, bAt);
  g.runBatched(B, M, N, K, { offset: 4 * aAt, bs: abs, rs: ars, cs: acs }, { offset: 4 * bAt, bs: bbs, rs: brs, cs: bcs }, { offset: 4 * cAt, bs: M * N, rs: N, cs: 1 });
  return g.f32.slice(cAt, cAt + size);
}
