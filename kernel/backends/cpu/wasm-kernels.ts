// The runtime of the WebAssembly kernels (codegen-wasm.ts generates them): one shared
// WebAssembly.Memory with a small allocator, the compiled modules (cached by kernel), copying
// operands in and results out, and a cache of the wasm copies of immutable input arrays.
//
// Memory: shared (a SharedArrayBuffer under the hood), so worker threads run kernels over it
// (kernel-threads.ts: big kernels are split along their outermost loop, `runKernel`), and so
// that growing it never detaches a view (views made before a grow keep
// their length; new ones see the new size). Addresses stay below 2 GiB (positive i32). The
// allocator is first-fit over a sorted free list with coalescing, 64-byte aligned blocks (a
// cache line; v128 accesses never straddle one).
//
// Operands live in JS typed arrays (CpuBuffer), so a kernel reads a wasm copy. Copies of program
// inputs are cached: arrays are immutable (CpuBuffer's contract), so the copy of a storage object
// stays valid as long as the storage lives. The cache is a WeakMap from storage to its region,
// bounded by RESIDENT_BYTES (least recently used regions are dropped first), and a
// FinalizationRegistry frees the region of storage that was garbage-collected. An array enters
// the cache the second time it is read (the first time it is copied into a region freed after
// the call), so data used once does not fill it. Results are copied out; a compiled program's
// output regions become the resident copies of the arrays it returns (`adopt`), and the
// program drops the previous call's (`forget`) when its next call is done, so a training loop
// feeding each step's parameters to the next reads them in place and holds one generation of
// them. (Keeping every result until its array is garbage-collected was tried: every call then
// allocated fresh pages, and the page faults cost more than the copy-in they could save.)
//
// PRIMAL_WASM_KERNELS=0 turns the wasm kernels off (everything runs the generated JS).
//
// Measurements (2-core AMD EPYC VM, Node 20; medians): copying 64 MiB into the shared memory
// takes ~13 ms (8.5 ms into a plain ArrayBuffer; ~45 ms the first time, into fresh pages),
// which is why inputs are cached: a jitted sum over 16M float32 is ~4.3 ms once its input is
// resident, 16.5 ms on the call that copies it. Allocating and filling a
// result (slice) costs ~0.6 ms per 4 MiB, which the JS path pays too (it allocates its outputs).

import { DType, Storage } from "../../core/dtype";
import { PrimalError } from "../../core/errors";
import { Kernel, printKernel } from "../../lower/kernel-ir";
import { F32_MATH } from "../../primitives/f32-math";
import { DEFAULT_MEMORY, WasmKernelModule, generateWasm, wasmSplittable, wasmSupport } from "./codegen-wasm";
import { KernelThreads, defaultThreads } from "./kernel-threads";
import { WasmMemory, wasmApi } from "./wasm-runtime";
import { ModuleBuilder } from "./wasm-encoder";

const PAGE = 65536;
const ALIGN = 64;
const MAX_BYTES = DEFAULT_MEMORY.maxPages * PAGE;
/** Bytes of cached input copies kept in wasm memory at most. */
export const RESIDENT_BYTES = 256 << 20;

/** A block of wasm memory holding one array (or a kernel's scratch). */
export interface Region {
  /** Byte offset in the memory. */
  readonly offset: number;
  readonly bytes: number;
}

class Heap {
  readonly memory: WasmMemory;
  /** Free blocks [offset, bytes], sorted by offset, never adjacent. */
  private free: [number, number][] = [];
  private readonly sizes = new Map<number, number>();
  private top: number;
  private u8: Uint8Array;
  /** Bytes in use (allocated blocks). */
  used = 0;

  constructor(pages: number) {
    if (!wasmApi) throw new PrimalError("wasm kernels: this runtime has no WebAssembly, got none");
    this.memory = new wasmApi.Memory({ initial: pages, maximum: DEFAULT_MEMORY.maxPages, shared: true });
    // Offset 0 stays unused: a null region is never a valid address.
    this.top = ALIGN;
    this.u8 = new Uint8Array(this.memory.buffer);
  }

  /** The whole memory as bytes (a fresh view after a grow). */
  bytesView(): Uint8Array {
    if (this.u8.byteLength !== this.memory.buffer.byteLength) this.u8 = new Uint8Array(this.memory.buffer);
    return this.u8;
  }

  /** A block of at least `bytes` bytes; null when the memory cannot hold it. */
  alloc(bytes: number): Region | null {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const [off, n] = this.free[i];
      if (n < size) continue;
      if (n === size) this.free.splice(i, 1);
      else this.free[i] = [off + size, n - size];
      return this.take(off, size, bytes);
    }
    // From the top (after merging a free block that ends there).
    let off = this.top;
    const last = this.free[this.free.length - 1];
    if (last && last[0] + last[1] === this.top) {
      off = last[0];
      this.free.pop();
    }
    if (off + size > MAX_BYTES) {
      if (off !== this.top) this.free.push([off, this.top - off]);
      return null;
    }
    const have = this.memory.buffer.byteLength;
    if (off + size > have) this.memory.grow(Math.ceil((off + size - have) / PAGE));
    this.top = off + size;
    return this.take(off, size, bytes);
  }

  private take(offset: number, size: number, bytes: number): Region {
    this.sizes.set(offset, size);
    this.used += size;
    return { offset, bytes };
  }

  release(r: Region): void {
    const size = this.sizes.get(r.offset);
    if (size === undefined) throw new PrimalError(`wasm kernels: freeing a block that is not allocated, got offset ${r.offset}`);
    this.sizes.delete(r.offset);
    this.used -= size;
    // Insert sorted, merging with the neighbours.
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid][0] < r.offset) lo = mid + 1;
      else hi = mid;
    }
    let start = r.offset;
    let len = size;
    const prev = this.free[lo - 1];
    if (prev && prev[0] + prev[1] === start) {
      start = prev[0];
      len += prev[1];
      this.free.splice(--lo, 1);
    }
    const next = this.free[lo];
    if (next && start + len === next[0]) {
      len += next[1];
      this.free.splice(lo, 1);
    }
    if (start + len === this.top) this.top = start;
    else this.free.splice(lo, 0, [start, len]);
  }

  /** Blocks in use (tests: nothing leaks). */
  get blocks(): number {
    return this.sizes.size;
  }
}

let heapInstance: Heap | null = null;
/** The wasm kernels' memory and allocator (created on first use). */
export function heap(): Heap {
  return (heapInstance ??= new Heap(256));
}

// Copies ---------------------------------------------------------------------------------------

const asBytes = (s: Storage) => new Uint8Array(s.buffer, s.byteOffset, s.byteLength);

/** Copies storage into a region. */
export function copyIn(s: Storage, r: Region): void {
  heap().bytesView().set(asBytes(s), r.offset);
}

/** A new typed array of dtype `d` with `n` elements copied out of a region. */
export function copyOut(r: Region, d: DType, n: number): Storage {
  // A typed-array set of the same element type out of the shared memory (measured on an idle VM,
  // 4 MiB: 0.55 ms with the allocation; Buffer.copy 1.1-1.7 ms, a byte-typed set 0.6-1.3 ms).
  // Inside a loop of calls the set costs ~2.4 ms per 4 MiB instead: the fresh output's pages
  // fault in on first write (~2.3 µs per 4 KiB page on this VM). That is most of what a 1M-element
  // jitted elementwise call costs; keeping results in wasm memory would avoid it only if their
  // regions came back promptly, which needs reference counting (jax-js) or GC pressure signals.
  const out = new d.storage(n);
  out.set(new d.storage(heap().memory.buffer, r.offset, n));
  return out as Storage;
}

/** A region for `bytes`, evicting cached copies if the memory is full; null if it cannot. */
export function tryAllocate(bytes: number): Region | null {
  const h = heap();
  let r = h.alloc(bytes);
  while (!r && resident.evictOne()) r = h.alloc(bytes);
  return r;
}

/** Allocates a region for `bytes`, evicting cached copies if the memory is full; throws if it cannot. */
export function allocate(bytes: number): Region {
  const h = heap();
  const r = tryAllocate(bytes);
  if (!r) throw new PrimalError(`wasm kernels: out of wasm memory, got a request for ${bytes} bytes with ${h.used} in use`);
  return r;
}

// Resident copies of immutable storage ----------------------------------------------------------

interface Entry {
  region: Region;
  /** Calls using it right now: never evicted while > 0. */
  pins: number;
  /**
   * False once dropped (its WeakMap key may outlive it: lookups skip it). Entries hold no
   * WeakRef to their storage: creating one keeps the target alive until the current job ends
   * (ECMAScript's KeepDuringJob), so a synchronous loop adopting each step's outputs would keep
   * every step's arrays alive (measured: 291 KB per step, the copies out then faulting in fresh
   * pages, 1.4 ms per MLP step instead of 0.5).
   */
  live: boolean;
}

class ResidentCache {
  private readonly byStorage = new WeakMap<Storage, Entry>();
  /** Storage read once already. */
  private seen = new WeakSet<Storage>();
  /** Entries in least recently used order (Map keeps insertion order; a use re-inserts). */
  private readonly order = new Map<Entry, true>();
  private bytes = 0;
  private readonly finalizer = new FinalizationRegistry<Entry>((e) => this.drop(e));

  /**
   * The wasm copy of `s` if it has one, pinned until `unpin`. A storage seen for the second time
   * is copied in and cached then; the first time, null (the caller copies it into a region of its
   * own): arrays used once (a fresh batch of data) do not fill the cache.
   */
  get(s: Storage): Region | null {
    let e = this.entry(s);
    if (e) {
      this.order.delete(e);
      this.order.set(e, true);
      e.pins++;
      return e.region;
    }
    if (!this.seen.has(s)) {
      this.seen.add(s);
      return null;
    }
    const region = allocate(s.byteLength);
    copyIn(s, region);
    e = this.add(s, region);
    e.pins++;
    return region;
  }

  /** The live entry of `s`, if any. */
  private entry(s: Storage): Entry | undefined {
    const e = this.byStorage.get(s);
    if (e && !e.live) {
      this.byStorage.delete(s);
      return undefined;
    }
    return e;
  }

  private add(s: Storage, region: Region): Entry {
    const e: Entry = { region, pins: 0, live: true };
    this.byStorage.set(s, e);
    this.order.set(e, true);
    this.bytes += region.bytes;
    this.finalizer.register(s, e, e);
    while (this.bytes > RESIDENT_BYTES && this.evictOne()) {
      /* evicting the least recently used */
    }
    return e;
  }

  /**
   * Makes `region` (which must hold a copy of `s`) the cached copy of `s`; the cache owns it from
   * now on. A compiled program adopts the regions of its outputs this way, so that the outputs
   * fed back as the next call's inputs (a training loop's parameters) are not copied in again.
   * False (and the region untouched) when `s` has a copy already.
   */
  adopt(s: Storage, region: Region): boolean {
    if (this.entry(s)) return false;
    this.add(s, region);
    return true;
  }

  /** Drops the copy of `s` now (unless a call is using it): its adopter expects no more reads. */
  forget(s: Storage): void {
    const e = this.entry(s);
    if (!e || e.pins > 0) return;
    this.byStorage.delete(s);
    this.finalizer.unregister(e);
    this.drop(e);
  }

  unpin(s: Storage): void {
    const e = this.entry(s);
    if (e && e.pins > 0) e.pins--;
  }

  /** Drops the least recently used unpinned copy; false if there is none. */
  evictOne(): boolean {
    for (const e of this.order.keys()) {
      if (e.pins > 0) continue;
      this.finalizer.unregister(e);
      this.drop(e);
      return true;
    }
    return false;
  }

  private drop(e: Entry): void {
    if (!this.order.delete(e)) return;
    e.live = false;
    this.bytes -= e.region.bytes;
    heap().release(e.region);
  }

  /** Forgets every unpinned copy (tests, memory pressure). */
  clear(): void {
    this.seen = new WeakSet();
    while (this.evictOne()) {
      /* all of them */
    }
  }

  get residentBytes(): number {
    return this.bytes;
  }
}

/** The cache of wasm copies of input arrays. */
export const resident = new ResidentCache();

// Modules ----------------------------------------------------------------------------------------

/** A compiled kernel: its exported function over byte offsets, and what codegen said about it. */
export interface WasmKernel {
  /** The export: buffer offsets, [scratch], and for split kernels (lo, hi) of the outermost loop. */
  fn: (...args: number[]) => void;
  module: object;
  /** Unique per module (the worker threads know modules by it). */
  id: number;
  scratchBytes: number;
  vectorized: boolean;
  /** Iterations of the outermost loop when the kernel is split over threads, else 0. */
  outer: number;
  /** Whether it is worth running on several threads (see THREAD_MIN_WORK). */
  parallel: boolean;
  /**
   * Whether it beats the JS kernel (compiled programs run the others as JS). Measured at 1M
   * points (min of 11, kernel alone, ms; JS / wasm SIMD / wasm scalar):
   *   rev(x) + 1           1.95 / 0.29 (lanes gathered, stride -4 bytes) / 0.49
   *   x[::2] * 3           1.03 / 0.14 (gathered, stride 8) / 0.27
   *   tanh(x.T)            51.1 / 5.9 (gathered, stride 4096) / 19.9
   *   x.T * 2              3.53 / 4.82 (gathered, stride 4096) / 4.73
   * So: vectorised with strides under GATHER_MAX_BYTES, or computing float32 functions
   * (F32_MATH, rsqrt), which JS evaluates through helper calls. Large strides cost wasm more
   * than JS, likely TLB misses (JS's big typed arrays get huge pages, the wasm memory does not).
   */
  preferred: boolean;
  /** The WAT-like listing (formatted on first read). */
  readonly text: string;
  /** Time to generate and compile the module (ms). */
  compileMs: number;
}

/**
 * Kernels estimated to cost at least this much (points x ops per point, a transcendental
 * counting TRANSCENDENTAL_OPS) are split over the worker threads. Measured on the 2-core VM: a
 * run on two threads costs ~20-80 µs more than on one (waking the worker, joining), so a kernel
 * of ~0.3 ms of work or more gains; tanh(2x + 1) x at 1M points went from 4.4 to 2.6 ms.
 */
export const THREAD_MIN_WORK = 1 << 20;
const TRANSCENDENTAL_OPS = 40;
/** Plain arithmetic kernels whose lanes are gathered this many bytes apart or more run as JS (see `preferred`). */
export const GATHER_MAX_BYTES = 1024;

/** The estimated work of a kernel (for the split decision). */
export function kernelWork(k: Kernel): number {
  let perPoint = 1;
  for (const o of k.ops) if (o.op === "alu") perPoint += o.prim in F32_MATH ? TRANSCENDENTAL_OPS : 1;
  return perPoint * k.shape.reduce((a, b) => a * b, 1);
}

let threads: KernelThreads | null | undefined;
/** The worker threads of the kernels and of the GEMM (null on one CPU or PRIMAL_CPU_THREADS=1). */
export function kernelThreads(): KernelThreads | null {
  if (threads === undefined) {
    const n = defaultThreads();
    threads = n > 1 ? new KernelThreads(n - 1, heap().memory) : null;
  }
  return threads;
}

/** Wakes the worker threads ahead of threaded work (KernelThreads.wake); nothing if they have not started. */
export function wakeThreads(): void {
  threads?.wake();
}

/** Starts the kernels' worker threads and waits until they take jobs (tests, benchmarks); false on one CPU. */
export function startKernelThreads(timeoutMs = 10_000): boolean {
  const pool = kernelThreads();
  return !!pool && pool.waitReady(timeoutMs);
}

/** Runs a kernel on offsets already in wasm memory (buffers, then scratch), over threads when it pays. */
export function runKernel(w: WasmKernel, offsets: number[]): void {
  if (!w.outer) return w.fn(...offsets);
  const pool = w.parallel ? kernelThreads() : null;
  if (!pool) return w.fn(...offsets, 0, w.outer);
  const T = Math.min(pool.count + 1, w.outer);
  const jobs: number[][] = [];
  for (let t = 0, lo = 0; t < T; t++) {
    const hi = t === T - 1 ? w.outer : Math.max(lo, Math.floor((w.outer * (t + 1)) / T / 16) * 16);
    jobs.push([...offsets, lo, hi]);
    lo = hi;
  }
  pool.run(w, jobs, (args) => w.fn(...args));
}

/**
 * Runs `w` once per argument list (offsets, as runKernel takes them), the calls side by side on
 * the worker threads, one whole call per thread (a split kernel gets its full range): pmap's
 * shards (shard-parallel.ts). More calls than threads go in rounds of one per thread.
 */
export function runKernelsSideBySide(w: WasmKernel, calls: readonly number[][]): void {
  const jobs = calls.map((offsets) => (w.outer ? [...offsets, 0, w.outer] : [...offsets]));
  const pool = kernelThreads();
  if (!pool) return jobs.forEach((args) => w.fn(...args));
  const T = pool.count + 1;
  for (let i = 0; i < jobs.length; i += T) pool.run(w, jobs.slice(i, i + T), (args) => w.fn(...args));
}

const MAX_MODULES = 2048;
const modules = new Map<string, WasmKernel | null>();
let nextModuleId = 1;

/** A fresh id for a module (and entry) the worker threads run (kernel-threads.ts knows modules by it). */
export function newModuleId(): number {
  return nextModuleId++;
}

let enabled = process.env.PRIMAL_WASM_KERNELS !== "0";
let simdOk: boolean | null = null;

/** Whether this host runs WebAssembly SIMD (a one-instruction probe). */
function hostHasSimd(): boolean {
  if (simdOk === null) {
    const mod = new ModuleBuilder({ module: "env", name: "memory", minPages: 1 });
    mod.func("probe", [], ["i32"]).v128Const().ins("i32x4.all_true");
    simdOk = !!wasmApi && wasmApi.validate(mod.encode());
  }
  return simdOk;
}

/** Whether kernels run as wasm at all (PRIMAL_WASM_KERNELS=0 or a host without SIMD: no). */
export function wasmKernelsEnabled(): boolean {
  return enabled && hostHasSimd();
}

/** Turns the wasm kernels on or off (tests, comparisons); returns the previous setting. */
export function setWasmKernelsEnabled(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/**
 * The compiled wasm kernel of `k`, or null when it is not eligible. `key` identifies the kernel
 * exactly (its generated JS source does; printKernel prints -0 as 0, so it is not enough).
 * `scalar`: no SIMD (a float sum then folds in the JS kernel's order: the same bits).
 */
export function wasmKernel(k: Kernel, key: string = kernelKey(k), scalar = false): WasmKernel | null {
  if (scalar) key += "\n(scalar)";
  if (modules.has(key)) {
    const m = modules.get(key)!;
    modules.delete(key);
    modules.set(key, m);
    return m;
  }
  let m: WasmKernel | null = null;
  if (wasmSupport(k) === null) {
    const t0 = performance.now();
    const gen: WasmKernelModule = generateWasm(k, { split: wasmSplittable(k), simd: !scalar });
    const module = new wasmApi!.Module(gen.bytes);
    const inst = new wasmApi!.Instance(module, { env: { memory: heap().memory } });
    m = {
      fn: inst.exports.kernel as (...o: number[]) => void,
      module,
      id: nextModuleId++,
      scratchBytes: gen.scratchBytes,
      vectorized: gen.vectorized,
      outer: gen.split ? k.shape[0] : 0,
      parallel: gen.split && kernelWork(k) >= THREAD_MIN_WORK,
      preferred: (gen.vectorized && gen.gatherBytes < GATHER_MAX_BYTES) || k.ops.some((o) => o.op === "alu" && (o.prim in F32_MATH || o.prim === "rsqrt")),
      get text() {
        return gen.text;
      },
      compileMs: performance.now() - t0,
    };
  }
  if (modules.size >= MAX_MODULES) modules.delete(modules.keys().next().value as string);
  modules.set(key, m);
  return m;
}

/** An exact key of a kernel: its IR text with constants written bit-exactly. */
export function kernelKey(k: Kernel): string {
  const consts = k.ops.map((o) => (o.op === "const" ? (Object.is(o.value, -0) ? "-0" : String(o.value)) : "")).join(",");
  return `${printKernel(k)}\n${consts}`;
}

/**
 * Runs a kernel on host storage (outputs first, then inputs, as Kernel.bufs): inputs copied in
 * (through the resident cache when `cacheInputs`), outputs copied out into new typed arrays.
 * Returns the outputs, or null when the kernel is not eligible.
 */
export function runWasmKernel(k: Kernel, inputs: Storage[], cacheInputs = false): Storage[] | null {
  const w = wasmKernel(k);
  if (!w) return null;
  const outs = k.bufs.filter((b) => b.role === "out");
  const regions: Region[] = [];
  const pinned: Storage[] = [];
  try {
    const args: number[] = [];
    for (const b of outs) {
      const r = allocate(b.size * b.dtype.itemsize);
      regions.push(r);
      args.push(r.offset);
    }
    for (const s of inputs) {
      const cached = cacheInputs ? resident.get(s) : null;
      if (cached) {
        args.push(cached.offset);
        pinned.push(s);
      } else {
        const r = allocate(s.byteLength);
        regions.push(r);
        copyIn(s, r);
        args.push(r.offset);
      }
    }
    if (w.scratchBytes) {
      const r = allocate(w.scratchBytes);
      regions.push(r);
      args.push(r.offset);
    }
    runKernel(w, args);
    return outs.map((b, i) => copyOut(regions[i], b.dtype, b.size));
  } finally {
    for (const r of regions) heap().release(r);
    for (const s of pinned) resident.unpin(s);
  }
}
