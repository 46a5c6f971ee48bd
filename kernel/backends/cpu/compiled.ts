// The CPU runtime of compiled programs (kernel/lower/program.ts): turns each fused kernel's
// generated JS into a function (new Function, cached by source text), and runs a program's
// steps on host storage. Fused kernels read and write typed arrays directly; library steps
// bind their primitive on NDArrays (the primitive's own CPU path: the WebAssembly GEMM for
// float32 dot_general, the generic loops for the rest, the impl of control flow); an alias
// step shares a buffer. Registered with the compiler at load, so every jit call runs here.
//
// Buffers: a slot per materialised value, cleared after its last reader (the memory plan of
// program.ts). Buffers that never leave the program go back to a pool shared by all programs
// and are handed to the next kernel that needs the same type and length (kernels write every
// element of their output), up to POOL_BYTES in all.

import { ShapedArray } from "../../core/aval";
import { debugLog } from "../../core/debug";
import { Device, defaultDevice } from "../../core/device";
import { Storage } from "../../core/dtype";
import { PrimalError } from "../../core/errors";
import { bf16DecodeTable, f16DecodeTable } from "../../core/float16";
import { NDArray } from "../../core/ndarray";
import { bind } from "../../core/trace";
import { fromLiteral } from "../../ir/literal";
import { CompiledRecord, kernelTimingOn } from "../../lower/inspect";
import { Executable, installCompiler } from "../../lower/jit-runner";
import { LoweredProgram } from "../../lower/program";
import { H } from "../../primitives/cpu-loops";

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

/** Prepares a lowered program for the CPU. */
export function prepareCpu(p: LoweredProgram, record: CompiledRecord): Executable {
  const fns = p.steps.map((s) => (s.kind === "kernel" ? kernelFunction(s.source) : null));
  const nConsts = p.consts.length;
  const nb = p.buffers.length;
  const ctors = p.buffers.map((b) => b.aval.dtype.storage);
  const sizes = p.buffers.map((b) => b.aval.size);
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
    const wrap = (b: number): NDArray => {
      let a = arrays[b];
      if (!a) arrays[b] = a = new NDArray(p.buffers[b].aval, device.backend.fromHost(data[b]!, p.buffers[b].aval, device), committed);
      return a;
    };
    const storage = (b: number, op: string): Storage => {
      let s = data[b];
      if (!s) data[b] = s = arrays[b]!._buf(op).readSync();
      return s;
    };
    const timing = kernelTimingOn();
    record.calls++;
    for (let si = 0; si < p.steps.length; si++) {
      const s = p.steps[si];
      const t0 = timing ? performance.now() : 0;
      if (s.kind === "kernel") {
        const out = bufferPool.take(ctors[s.out], sizes[s.out]);
        const bufs: Storage[] = [out];
        for (const b of s.ins) bufs.push(storage(b, s.name));
        fns[si]!(...bufs);
        data[s.out] = out;
      } else if (s.kind === "library") {
        const ins = s.ins.map((x) => (typeof x === "number" ? wrap(x) : fromLiteral(x)));
        const outs = bind(s.prim, ins, s.params);
        s.outs.forEach((b, i) => b !== null && (arrays[b] = outs[i]));
      } else {
        data[s.out] = storage(s.src, s.name);
      }
      for (const b of s.free) {
        const d = data[b];
        if (d && p.buffers[b].poolable) bufferPool.give(d);
        data[b] = null;
        arrays[b] = null;
      }
      if (timing) {
        const ms = performance.now() - t0;
        const t = record.kernels[si].timing;
        t.calls++;
        t.totalMs += ms;
        t.lastMs = ms;
        debugLog(4, "kernel", `jit(${record.name}) ${s.kind} ${s.name} in ${ms.toFixed(3)} ms`);
      }
    }
    return p.outputs.map((o) => ("literal" in o ? fromLiteral(o.literal) : wrap(o.buffer)));
  };
}

installCompiler({ prepare: prepareCpu });
