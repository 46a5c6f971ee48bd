// The CPU runtime of compiled programs (kernel/lower/program.ts): runs a program's steps on host
// storage. Each fused kernel runs either as WebAssembly (codegen-wasm.ts, run by
// wasm-kernels.ts) or as its generated JS (new Function, cached by source text): wasm when it is
// eligible (an exact rendering exists) and big enough to pay for it (WASM_MIN_POINTS, measured:
// see below). A float32 dot_general step runs the GEMM (gemm.ts) directly on wasm regions: its
// operands are the regions of the kernels that made them (or resident copies of the inputs),
// and its result is a region the next kernels read in place, so a training step's
// matmul -> bias + relu -> matmul -> ... -> SGD update never copies between JS and wasm
// (setDirectGemm(false) binds it instead, for comparisons). Other library steps bind their
// primitive on NDArrays (the generic loops, the impl of control flow); an alias step shares a
// buffer. Registered with the compiler at load, so every jit call runs here.
//
// Buffers: a slot per materialised value, cleared after its last reader (the memory plan of
// program.ts). A value can live in a JS typed array, in wasm memory, or both. A wasm kernel's
// or GEMM's output stays in wasm memory while only wasm steps read it, and its region is freed
// at its last reader; a JS or library step reading it gets a copy (copied out once). Program
// inputs are read through the cache of resident copies (wasm-kernels.ts): an array read by a
// second call stays in wasm memory for the later ones; outputs are copied out at the end. JS
// buffers that never leave the program go back to a pool shared by all programs and are handed
// to the next kernel that needs the same type and length (kernels write every element of their
// output), up to POOL_BYTES in all. A program with steps big enough for the worker threads
// wakes them when a call starts (a sleeping thread takes ~25-60 µs to wake up).
//
// Which kernels run as wasm (2-core VM, Node 20). A jitted call of (2x + 1) x, median of 2000,
// JS / wasm kernels: 256 points 8.7 / 7.3 µs, 1024 6.4 / 6.6 µs, 2048 11.9 / 5.5 µs, 8192
// 36 / 24 µs, 65536 264 / 175 µs (the rest of a call is dispatch and allocating the result).
// So kernels below WASM_MIN_POINTS run as JS: no module to make, no region to allocate, the
// same speed; except those whose wasm results are bit for bit the JS ones, from
// WASM_EXACT_MIN_POINTS, which save copying GEMM results out of wasm memory (and float32
// transcendentals, 8x faster as wasm). Bigger ones run as wasm when it beats JS
// (WasmKernel.preferred: vectorised, or float32 transcendentals); codegen-wasm.ts's header has
// the per-kernel measurements. Small kernels get their module at the program's second call
// (WASM_EAGER_WORK), so a first call does not wait for code generation it would not recoup.
// PRIMAL_WASM_KERNELS=0 runs every kernel as JS (and dot_general through its primitive).

import { ShapedArray } from "../../core/aval";
import { debugLog } from "../../core/debug";
import { Device, defaultDevice } from "../../core/device";
import { Storage, float32 } from "../../core/dtype";
import { PrimalError } from "../../core/errors";
import { bf16DecodeTable, f16DecodeTable } from "../../core/float16";
import { NDArray } from "../../core/ndarray";
import { bind } from "../../core/trace";
import { fromLiteral } from "../../ir/literal";
import { CompiledRecord, kernelTimingOn } from "../../lower/inspect";
import { Executable, installCompiler } from "../../lower/jit-runner";
import { Kernel, kernelPoints, reduceOp } from "../../lower/kernel-ir";
import { LoweredProgram } from "../../lower/program";
import { H } from "../../primitives/cpu-loops";
import { DotGeneralParams, dotGeneral } from "../../primitives/contraction";
import { wasmSupport } from "./codegen-wasm";
import { DotPlan, THREAD_MIN_FLOPS, planDot, runDot, sgemm } from "./gemm";
import { Region, WasmKernel, allocate, copyIn, copyOut, heap, kernelWork, resident, runKernel, wakeThreads, wasmKernel, wasmKernelsEnabled } from "./wasm-kernels";

type KernelFn = (...bufs: Storage[]) => void;

const MAX_FUNCTIONS = 4096;
const functions = new Map<string, KernelFn>();

/** The function of a kernel's source (shared by identical kernels of any program). */
export function kernelFunction(source: string): KernelFn {
  let f = functions.get(source);
  if (!f) {
    f = new Function("H", "T16", "TB16", source)(H, f16DecodeTable(), bf16DecodeTable()) as KernelFn;
    if (functions.size >= MAX_FUNCTIONS) functions.delete(functions.keys().next().value as string);
    functions.set(source, f);
  }
  return f;
}

const POOL_BYTES = 64 << 20;
const POOL_PER_SIZE = 4;

/** Storage of finished intermediates, by type and length. */
class BufferPool {
  private readonly free = new Map<string, Storage[]>();
  private bytes = 0;
  take(ctor: ShapedArray["dtype"]["storage"], n: number): Storage {
    const list = this.free.get(`${ctor.name}:${n}`);
    const s = list?.pop();
    if (s) {
      this.bytes -= s.byteLength;
      return s;
    }
    return new ctor(n);
  }
  give(s: Storage): void {
    if (s.length === 0 || this.bytes + s.byteLength > POOL_BYTES) return;
    const key = `${s.constructor.name}:${s.length}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    if (list.length >= POOL_PER_SIZE) return;
    list.push(s);
    this.bytes += s.byteLength;
  }
  clear(): void {
    this.free.clear();
    this.bytes = 0;
  }
}
export const bufferPool = new BufferPool();

/** The device a program's results go to, as evalPrimitive chooses it; null when not all on the CPU. */
function placement(arrays: NDArray[], op: string): { device: Device; committed: boolean } | null {
  let dev: Device | null = null;
  let committed: Device | null = null;
  for (const a of arrays) {
    const d = a._buf(op).device;
    if (d.platform !== "cpu") return null;
    if (a._committed) {
      if (committed && committed !== d) return null; // evalPrimitive raises the error
      committed = d;
    }
    dev ??= d;
  }
  const device = committed ?? dev ?? defaultDevice();
  return device.platform === "cpu" ? { device, committed: committed !== null } : null;
}

/** Kernels with fewer points run as JS (see the header), unless WASM_EXACT_MIN_POINTS lets them. */
export const WASM_MIN_POINTS = 2048;
/**
 * Smaller kernels run as wasm from this many points, in a rendering whose results are the JS
 * kernel's bit for bit: a float sum (which the SIMD rendering folds in another order,
 * codegen-wasm.ts) gets the scalar one, which folds in the JS order. Such kernels sit between
 * the GEMMs of a training step, whose results live in wasm memory: as JS, each reads a copy of
 * them. Measured on the MLP step (728-100-10, batch 32; median per call): the softmax's exp over
 * 32x10 15 µs as JS, 1.8 µs as wasm; the step's kernels and GEMMs 0.30 -> 0.27 ms.
 */
export const WASM_EXACT_MIN_POINTS = 256;
/**
 * Kernels estimated to cost less than this (kernelWork: points x ops) get their wasm module at
 * the program's second call; their first run is JS. Generating and compiling a module costs
 * 0.5-3 ms while the library's code is still cold (the first jit calls of a process), more
 * than such a kernel costs as JS, and a program called once (or a first training step) should
 * not pay it.
 */
export const WASM_EAGER_WORK = 1 << 18;

/** Whether a step could run as wasm (eligible by size; its module may still be refused). */
function wasmCandidate(p: LoweredProgram, si: number): boolean {
  const s = p.steps[si];
  return s.kind === "kernel" && kernelPoints(s.kernel) >= WASM_EXACT_MIN_POINTS && wasmSupport(s.kernel) === null;
}

/** A kernel below WASM_MIN_POINTS that folds floats by sum or product: run in the scalar rendering. */
function needsScalar(k: Kernel): boolean {
  const r = reduceOp(k);
  return kernelPoints(k) < WASM_MIN_POINTS && !!r && (r.kind === "sum" || r.kind === "prod") && r.dtype.isFloat;
}

let directGemm = true;
/**
 * Turns running float32 dot_general steps on the GEMM directly (over wasm regions) on or off;
 * off, they bind the primitive on NDArrays as other library steps do (tests, comparisons).
 * Returns the previous setting.
 */
export function setDirectGemm(on: boolean): boolean {
  const was = directGemm;
  directGemm = on;
  return was;
}

/** The GEMM plan of a float32 dot_general step on two buffers, else null (it binds the primitive). */
function dotPlanOf(p: LoweredProgram, si: number): DotPlan | null {
  const s = p.steps[si];
  if (s.kind !== "library" || s.prim !== dotGeneral || s.ins.length !== 2 || s.outs[0] === null) return null;
  const [a, b] = s.ins;
  if (typeof a !== "number" || typeof b !== "number") return null;
  const [av, bv, ov] = [p.buffers[a].aval, p.buffers[b].aval, p.buffers[s.outs[0]].aval];
  if (av.dtype !== float32 || bv.dtype !== float32 || ov.dtype !== float32) return null;
  const plan = planDot(av.shape, bv.shape, (s.params as DotGeneralParams).dimension_numbers);
  return plan.size > 0 && plan.K > 0 ? plan : null;
}

/** A wasm region held by buffers of one call; released when the last one lets go. */
interface Held {
  region: Region;
  refs: number;
}

/** Prepares a lowered program for the CPU. */
export function prepareCpu(p: LoweredProgram, record: CompiledRecord): Executable {
  const fns = p.steps.map((s) => (s.kind === "kernel" ? kernelFunction(s.source) : null));
  const candidate = p.steps.map((_, si) => wasmCandidate(p, si));
  const wasm: (WasmKernel | null)[] = p.steps.map(() => null);
  /** Compiles the wasm modules of the candidate steps (`all`: the small ones too). */
  const compileWasm = (all: boolean): void => {
    p.steps.forEach((s, si) => {
      if (!candidate[si] || wasm[si] || s.kind !== "kernel" || (!all && kernelWork(s.kernel) < WASM_EAGER_WORK)) return;
      // Small kernels run as wasm whenever they can (speed is alike either way when warm; as
      // wasm they read GEMM results in place); big ones when it beats JS (`preferred`).
      const m = wasmKernel(s.kernel, s.source, needsScalar(s.kernel));
      const w = (wasm[si] = m?.preferred || (m && kernelPoints(s.kernel) < WASM_MIN_POINTS) ? m : null);
      // The record shows what runs (the listing is formatted when read).
      if (w) Object.defineProperty(record.kernels[si], "source", { get: () => w.text, enumerable: true, configurable: true });
      if (w?.parallel) threaded = true;
    });
  };
  const dots = p.steps.map((_, si) => dotPlanOf(p, si));
  /** Whether a step may run on the worker threads (GEMMs big enough, split kernels): calls wake them first. */
  let threaded = dots.some((d) => d !== null && 2 * d.size * d.K >= THREAD_MIN_FLOPS);
  let lazyPending = candidate.some((c) => c);
  if (wasmKernelsEnabled()) compileWasm(false);
  let calls = 0;
  /** Outputs of the last call whose regions the resident cache adopted (forgotten after the next call). */
  let adoptedLast: Storage[] = [];
  const nConsts = p.consts.length;
  const nb = p.buffers.length;
  const ctors = p.buffers.map((b) => b.aval.dtype.storage);
  const sizes = p.buffers.map((b) => b.aval.size);
  const isInput = p.buffers.map((b) => b.origin !== "temp");
  // Results of direct GEMM steps read only by fused kernels never leave the program: a JS
  // kernel reading one gets a pooled copy, as for buffers of wasm kernels (program.ts's poolable).
  const kernelOnly = p.buffers.map((b) => b.origin === "temp");
  for (const s of p.steps) {
    if (s.kind === "library") for (const x of s.ins) typeof x === "number" && (kernelOnly[x] = false);
    else if (s.kind === "alias") kernelOnly[s.src] = false;
  }
  for (const o of p.outputs) if ("buffer" in o) kernelOnly[o.buffer] = false;
  const poolableDot = p.buffers.map(() => false);
  p.steps.forEach((s, si) => s.kind === "library" && dots[si] && kernelOnly[s.outs[0]!] && (poolableDot[s.outs[0]!] = true));
  return (args: NDArray[]): NDArray[] | null => {
    if (args.length !== p.nArgs) throw new PrimalError(`jit: expected ${p.nArgs} arguments, got ${args.length}`);
    const arrays: (NDArray | null)[] = new Array(nb).fill(null);
    const data: (Storage | null)[] = new Array(nb).fill(null);
    for (let i = 0; i < nConsts; i++) arrays[i] = p.consts[i];
    for (let i = 0; i < args.length; i++) arrays[nConsts + i] = args[i];
    // Disposed inputs fail here, named after the primitive that reads them first (as when
    // interpreted); inputs nothing reads are never touched.
    const read: NDArray[] = [];
    for (let i = 0; i < nConsts + args.length; i++) {
      const op = p.buffers[i].firstReader;
      if (!op) continue;
      arrays[i]!._buf(op);
      read.push(arrays[i]!);
    }
    const place = placement(read, "jit");
    if (!place) return null;
    const { device, committed } = place;
    const useWasm = wasmKernelsEnabled();
    const gemm = useWasm && directGemm ? sgemm() : null;
    if (threaded && useWasm) wakeThreads();
    if (useWasm && lazyPending && ++calls >= 2) {
      compileWasm(true);
      lazyPending = false;
    }
    // Wasm copies: regions of this call (owned) and pinned resident copies of inputs.
    const held: (Held | null)[] = useWasm ? new Array(nb).fill(null) : [];
    /** Buffers whose storage this call took from the pool (copies of regions). */
    const pooled: boolean[] = new Array(nb).fill(false);
    const resInputs: (number | null)[] = useWasm ? new Array(nb).fill(null) : [];
    const pinned: Storage[] = [];
    const adopted: Storage[] = [];
    const letGo = (b: number): void => {
      const h = held[b];
      if (!h) return;
      held[b] = null;
      if (--h.refs === 0) heap().release(h.region);
    };
    const storage = (b: number, op: string): Storage => {
      let s = data[b];
      if (s) return s;
      if (arrays[b]) return (data[b] = arrays[b]!._buf(op).readSync());
      const h = held[b];
      if (!h) throw new PrimalError(`jit: buffer ${b} read before it is computed, got none in ${op}`);
      if (p.buffers[b].poolable || poolableDot[b]) {
        s = bufferPool.take(ctors[b], sizes[b]);
        pooled[b] = true;
        s.set(new ctors[b](heap().memory.buffer, h.region.offset, sizes[b]));
      } else s = copyOut(h.region, p.buffers[b].aval.dtype, sizes[b]);
      return (data[b] = s);
    };
    /** Byte offset of buffer b's wasm copy (copied in when it has none). */
    const offsetOf = (b: number, op: string): number => {
      const h = held[b];
      if (h) return h.region.offset;
      const r = resInputs[b];
      if (r !== null) return r;
      const s = storage(b, op);
      const cached = isInput[b] ? resident.get(s) : null;
      if (cached) {
        pinned.push(s);
        return (resInputs[b] = cached.offset);
      }
      const region = allocate(s.byteLength);
      copyIn(s, region);
      held[b] = { region, refs: 1 };
      return region.offset;
    };
    const wrap = (b: number): NDArray => {
      let a = arrays[b];
      if (!a) arrays[b] = a = new NDArray(p.buffers[b].aval, device.backend.fromHost(storage(b, "jit"), p.buffers[b].aval, device), committed);
      return a;
    };
    const timing = kernelTimingOn();
    record.calls++;
    try {
      for (let si = 0; si < p.steps.length; si++) {
        const s = p.steps[si];
        const t0 = timing ? performance.now() : 0;
        const w = useWasm ? wasm[si] : null;
        if (s.kind === "kernel" && w) {
          const offsets: number[] = [];
          const out = allocate(sizes[s.out] * p.buffers[s.out].aval.dtype.itemsize);
          held[s.out] = { region: out, refs: 1 };
          offsets.push(out.offset);
          for (const b of s.ins) offsets.push(offsetOf(b, s.name));
          let scratch: Region | null = null;
          if (w.scratchBytes) offsets.push((scratch = allocate(w.scratchBytes)).offset);
          try {
            runKernel(w, offsets);
          } finally {
            if (scratch) heap().release(scratch);
          }
        } else if (s.kind === "kernel") {
          const out = bufferPool.take(ctors[s.out], sizes[s.out]);
          const bufs: Storage[] = [out];
          for (const b of s.ins) bufs.push(storage(b, s.name));
          fns[si]!(...bufs);
          data[s.out] = out;
        } else if (s.kind === "library" && gemm && dots[si]) {
          // The GEMM reads its operands' regions and writes a region the next kernels read.
          const plan = dots[si]!;
          const out = allocate(4 * plan.size);
          held[s.outs[0]!] = { region: out, refs: 1 };
          runDot(gemm, plan, offsetOf(s.ins[0] as number, s.name), offsetOf(s.ins[1] as number, s.name), out.offset);
        } else if (s.kind === "library") {
          const ins = s.ins.map((x) => (typeof x === "number" ? wrap(x) : fromLiteral(x)));
          const outs = bind(s.prim, ins, s.params);
          s.outs.forEach((b, i) => b !== null && (arrays[b] = outs[i]));
        } else {
          const h = useWasm ? held[s.src] : null;
          if (h && !data[s.src] && !arrays[s.src]) {
            h.refs++;
            held[s.out] = h;
          } else data[s.out] = storage(s.src, s.name);
        }
        for (const b of s.free) {
          const d = data[b];
          if (d && (p.buffers[b].poolable || pooled[b])) bufferPool.give(d);
          data[b] = null;
          arrays[b] = null;
          if (useWasm) letGo(b);
        }
        if (timing) {
          const ms = performance.now() - t0;
          const t = record.kernels[si].timing;
          t.calls++;
          t.totalMs += ms;
          t.lastMs = ms;
          debugLog(4, "kernel", `jit(${record.name}) ${s.kind} ${s.name}${w ? " (wasm)" : ""} in ${ms.toFixed(3)} ms`);
        }
      }
      const results = p.outputs.map((o) => ("literal" in o ? fromLiteral(o.literal) : wrap(o.buffer)));
      // Outputs computed in wasm memory keep their regions as the resident copies of the arrays
      // returned: fed back to the next call (a training step's parameters), they are read in place.
      if (useWasm)
        for (const o of p.outputs) {
          const b = "buffer" in o ? o.buffer : -1;
          const h = b >= 0 ? held[b] : null;
          if (!h || h.refs !== 1 || !resident.adopt(data[b]!, h.region)) continue;
          held[b] = null;
          adopted.push(data[b]!);
        }
      return results;
    } finally {
      if (useWasm) {
        for (let b = 0; b < nb; b++) letGo(b);
        for (const s of pinned) resident.unpin(s);
        // The previous call's outputs have been read by now if they ever will (a loop passes them
        // to this call): their copies go, so the cache holds one generation per program.
        for (const s of adoptedLast) resident.forget(s);
        adoptedLast = adopted;
      }
    }
  };
}
installCompiler({ prepare: prepareCpu }, "cpu");
