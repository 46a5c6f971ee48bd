// Running lowered programs (kernel/lower/program.ts) on a WebGPU device: each step becomes
// dispatches of WGSL shaders, queued on the device thread without waiting. A fused kernel
// renders through codegen-wgsl.ts; a library call through its WGSL rule (wgsl-library.ts);
// an alias shares or copies a buffer. What has no WGSL form runs on the host and is uploaded
// back: a fused kernel the WGSL generator refuses (its JS source, from the CPU runtime), or a
// primitive without a rule (its CPU implementation); higher-order primitives (cond, while,
// scan, custom_jvp...) bind on the device's arrays, so their bodies run here op by op and the
// host drives the loop. The inspection record names what ran where.
//
// The same runner serves jit (a whole program) and eager execution (the backend lowers one
// equation into a one-step program), so eager and jitted ops share shaders and pipelines.
// Memory plan: temporaries are returned to the device's pool after their last reader (the
// program's `free` lists); outputs become arrays whose buffers return when they are unreachable.

import { ShapedArray } from "../../core/aval";
import { getBackend } from "../../core/device";
import { Storage } from "../../core/dtype";
import { DeviceError, NotAvailableError, PrimalError, ValueError } from "../../core/errors";
import { NDArray } from "../../core/ndarray";
import { bind } from "../../core/trace";
import { fromLiteral, literalStorage } from "../../ir/literal";
import { CompiledRecord, KernelPass } from "../../lower/inspect";
import { LibraryStep, LoweredProgram } from "../../lower/program";
import { kernelFunction } from "../cpu/compiled";
import { WgslKernel, storageBytes, wgslSupport } from "./codegen-wgsl";
import type { GpuClient, GpuHandle } from "./gpu-client";
import { AdapterCaps, WgslCall, wgslRule } from "./wgsl-library";
import { generateWgslPasses } from "./wgsl-reduce";

/** What the runner needs from the backend: buffers of its arrays, and arrays of its buffers. */
export interface GpuHost {
  client: GpuClient;
  caps: AdapterCaps;
  /** The handle of an array on this device (raises for a lost or disposed one). */
  handleOf(a: NDArray, op: string): GpuHandle;
  /** A new array owning `h` (freed when unreachable). */
  wrap(h: GpuHandle, aval: ShapedArray, committed: boolean): NDArray;
  /** Uploads host storage. */
  upload(data: Storage, aval: ShapedArray): GpuHandle;
  /** A new buffer for `elements` of `dtype`, contents undefined. */
  alloc(dtype: ShapedArray["dtype"], elements: number): GpuHandle;
  /** Bytes of a buffer of `aval` on the device (bool as u32). */
  bytesOf(aval: ShapedArray): number;
  /** Reads host storage (waits for the work writing it). */
  download(h: GpuHandle, aval: ShapedArray): Storage;
  /** A unique tag for timestamped dispatches. */
  tag(record: CompiledRecord | null, step: number): number;
}

type Prepared =
  | { kind: "gpu"; call: WgslCall; sids: number[]; outAvals: ShapedArray[] }
  | { kind: "host-kernel"; why: string }
  | { kind: "host-library"; why: string; outAvals: ShapedArray[] }
  | { kind: "bind" }
  | { kind: "alias" };

/** How each step of a program runs on this device (computed once per program and device). */
export function planSteps(p: LoweredProgram, host: GpuHost, record: CompiledRecord | null): Prepared[] {
  return p.steps.map((s, si) => {
    let prep: Prepared;
    if (s.kind === "alias") prep = { kind: "alias" };
    else if (s.kind === "kernel") {
      const why = wgslSupport(s.kernel, host.caps);
      // A kernel with an empty output writes nothing: no shader needed. (An empty reduced axis
      // is not that: its outputs get the reduction's initial value.)
      if (p.buffers[s.out].aval.size === 0) prep = { kind: "gpu", call: { passes: [], temps: [] }, sids: [], outAvals: [p.buffers[s.out].aval] };
      else prep = why ? { kind: "host-kernel", why: fallback(s.name, why) } : gpuCall(generateWgslPasses(s.kernel, host.caps), host, s.name, [p.buffers[s.out].aval]);
    } else if (s.prim.impl) prep = { kind: "bind" };
    else {
      const rule = wgslRule(s.prim.name);
      const ins = s.ins.map((x) => (typeof x === "number" ? p.buffers[x].aval : x.aval));
      const outs = s.prim.abstractEval(ins, s.params as never);
      const r = rule ? rule(ins, outs, s.params, host.caps) : { why: `${s.prim.name} has no WGSL lowering yet` };
      prep = "why" in r ? { kind: "host-library", why: fallback(s.prim.name, r.why), outAvals: outs } : gpuCall(r, host, s.name, outs);
    }
    if (record) {
      const k = record.kernels[si];
      if (prep.kind === "gpu") {
        const passes = prep.call.passes;
        Object.defineProperty(k, "source", { value: passes.map((x) => x.code).join("\n"), enumerable: true, configurable: true, writable: true });
        if (prep.call.note) k.note = prep.call.note;
        k.passes = passInfo(prep.call, prep.outAvals, s.kind === "alias" ? [] : s.ins.map((x) => (typeof x === "number" ? p.buffers[x].aval : x.aval)));
      } else if (prep.kind === "host-kernel" || prep.kind === "host-library") k.note = `runs on the host: ${prep.why}`;
      else if (prep.kind === "bind") k.note = "higher-order primitive: its body runs on the device, driven by the host";
    }
    return prep;
  });
}

/** What each pass binds, for the kernels panel: the call's buffers are its outputs, inputs, then temps. */
function passInfo(call: WgslCall, outs: readonly ShapedArray[], ins: readonly ShapedArray[]): KernelPass[] {
  const aval = (buf: number): string | undefined => {
    if (buf < outs.length) return outs[buf].str();
    if (buf < outs.length + ins.length) return ins[buf - outs.length].str();
    const t = call.temps[buf - outs.length - ins.length];
    return t ? `${new ShapedArray([t.elements], t.dtype).str()} (scratch)` : undefined;
  };
  return call.passes.map((k) => ({
    workgroupSize: [k.workgroupSize, 1, 1],
    dispatch: [...k.dispatch],
    bindings: k.bindings.map((b) => ({
      binding: b.binding, name: `b${b.buf}`, access: b.access === "read" ? "read" as const : "read_write" as const, aval: aval(b.buf), bytes: storageBytes(b.dtype, b.elements),
    })),
  }));
}

function gpuCall(call: WgslCall, host: GpuHost, label: string, outAvals: ShapedArray[]): Prepared {
  const sids = call.passes.map((k: WgslKernel) =>
    host.client.shader(
      k.code,
      k.entryPoint,
      k.bindings.map((b) => (b.access === "read" ? "read" : "rw")),
      label,
    ),
  );
  return { kind: "gpu", call, sids, outAvals };
}

type FallbackPolicy = "warn" | "error" | "allow";
const policy = (process.env.PRIMAL_WEBGPU_FALLBACK ?? "warn") as FallbackPolicy;
if (!["warn", "error", "allow"].includes(policy)) throw new ValueError(`PRIMAL_WEBGPU_FALLBACK: expected warn, error or allow, got "${policy}"`);
const warned = new Set<string>();

/**
 * What happens when a step has no WGSL form: it runs on the host (its CPU implementation, the
 * data copied down and back), with a warning once per operation and reason
 * (PRIMAL_WEBGPU_FALLBACK=warn, the default), silently (allow), or not at all (error).
 * Returns the reason, for the inspection record.
 */
export function fallback(op: string, why: string): string {
  if (policy === "error") throw new NotAvailableError(`${op}: cannot run on WebGPU (${why}), got PRIMAL_WEBGPU_FALLBACK=error`);
  // Once per reason (a dtype the GPU lacks would otherwise warn for every kernel using it), on
  // stderr: the process 'warning' event is left to the user's own warnings.
  if (policy === "warn" && !warned.has(why)) {
    warned.add(why);
    process.stderr.write(`primal: warning: ${op} runs on the host, not on the GPU: ${why} (PRIMAL_WEBGPU_FALLBACK=allow silences this, =error refuses)\n`);
  }
  return why;
}

/** Raises the error for a buffer bigger than one binding may be. */
function checkBinding(host: GpuHost, h: GpuHandle, op: string, aval: ShapedArray): void {
  if (h.bytes > host.caps.maxStorageBinding)
    throw new DeviceError(`${op}: an operand of ${h.bytes} bytes (${aval.str()}) exceeds the adapter's maxStorageBufferBindingSize of ${host.caps.maxStorageBinding} bytes; split the array or run this on the CPU`);
}

/**
 * Runs a program's steps on device handles (constants first, then arguments); returns one array
 * per program output. `committed` is passed to the outputs.
 */
export function runSteps(p: LoweredProgram, plan: Prepared[], host: GpuHost, inputs: NDArray[], committed: boolean, record: CompiledRecord | null): NDArray[] {
  const nb = p.buffers.length;
  const arrays: (NDArray | null)[] = new Array(nb).fill(null);
  const handles: (GpuHandle | null)[] = new Array(nb).fill(null);
  /** Handles this call allocated and still owns (temps not yet wrapped as arrays). */
  const owned: boolean[] = new Array(nb).fill(false);
  inputs.forEach((a, i) => (arrays[i] = a));
  const handle = (b: number, op: string): GpuHandle => {
    let h = handles[b];
    if (!h) h = handles[b] = host.handleOf(arrays[b]!, op);
    return h;
  };
  const array = (b: number): NDArray => {
    let a = arrays[b];
    if (!a) {
      const h = handles[b];
      if (!h) throw new PrimalError(`webgpu: buffer ${b} read before it is computed, got none`);
      a = arrays[b] = host.wrap(h, p.buffers[b].aval, committed);
      owned[b] = false;
    }
    return a;
  };
  const fresh = (b: number): GpuHandle => {
    const h = host.alloc(p.buffers[b].aval.dtype, p.buffers[b].aval.size);
    handles[b] = h;
    owned[b] = true;
    return h;
  };
  const client = host.client;
  try {
    for (let si = 0; si < p.steps.length; si++) {
      const s = p.steps[si];
      const prep = plan[si];
      switch (prep.kind) {
        case "alias": {
          if (s.kind !== "alias") break;
          const src = s.src;
          const h = handle(src, s.name);
          if (owned[src] && s.free.includes(src)) {
            handles[s.out] = h;
            owned[s.out] = true;
            handles[src] = null;
            owned[src] = false;
          } else {
            const out = fresh(s.out);
            client.copy(h, out, out.bytes);
          }
          break;
        }
        case "gpu": {
          const outBufs = s.kind === "kernel" ? [s.out] : (s as LibraryStep).outs;
          const inBufs = s.kind === "kernel" ? s.ins : (s as LibraryStep).ins;
          const outs = outBufs.map((b, i) => (b === null ? host.alloc(prep.outAvals[i].dtype, prep.outAvals[i].size) : fresh(b)));
          outs.forEach((h, i) => checkBinding(host, h, s.name, prep.outAvals[i]));
          const ins = inBufs.map((x) => {
            if (typeof x === "number") {
              const h = handle(x, s.name);
              checkBinding(host, h, s.name, p.buffers[x].aval);
              return h;
            }
            return host.upload(literalStorage(x), x.aval);
          });
          const temps = prep.call.temps.map((t) => host.alloc(t.dtype, t.elements));
          const all = [...outs, ...ins, ...temps];
          prep.call.passes.forEach((k, pi) => {
            client.dispatch(prep.sids[pi], k.bindings.map((bd) => all[bd.buf]), k.dispatch, host.tag(record, si));
          });
          for (const t of temps) client.free(t);
          inBufs.forEach((x, i) => typeof x !== "number" && client.free(ins[i]));
          outBufs.forEach((b, i) => b === null && client.free(outs[i]));
          break;
        }
        case "host-kernel": {
          if (s.kind !== "kernel") break;
          // The CPU's generated JS for this kernel, on host copies (outputs first, then inputs).
          const out = new (p.buffers[s.out].aval.dtype.storage)(p.buffers[s.out].aval.size);
          const bufs: Storage[] = [out, ...s.ins.map((b) => host.download(handle(b, s.name), p.buffers[b].aval))];
          kernelFunction(s.source)(...bufs);
          handles[s.out] = host.upload(out, p.buffers[s.out].aval);
          owned[s.out] = true;
          break;
        }
        case "host-library":
        case "bind": {
          if (s.kind !== "library") break;
          const ins = s.ins.map((x) => (typeof x === "number" ? array(x) : fromLiteral(x)));
          const outs = prep.kind === "bind" ? bind(s.prim, ins, s.params) : hostFallback(host, s.prim, ins, s.params, prep.outAvals, committed);
          s.outs.forEach((b, i) => {
            if (b === null) return;
            arrays[b] = outs[i];
            handles[b] = host.handleOf(outs[i], s.name);
          });
          break;
        }
      }
      for (const b of s.free) {
        if (owned[b] && handles[b]) client.free(handles[b]!);
        owned[b] = false;
        handles[b] = null;
        if (b >= inputs.length) arrays[b] = null;
      }
    }
  } catch (e) {
    for (let b = 0; b < nb; b++) if (owned[b] && handles[b]) client.free(handles[b]!);
    throw e;
  }
  return p.outputs.map((o) => ("literal" in o ? fromLiteral(o.literal) : array(o.buffer)));
}

/**
 * A primitive on the host: inputs copied down, run by the CPU backend (its GEMM, its wasm
 * kernels, or the record's CPU implementation), results uploaded.
 */
export function hostFallback(host: GpuHost, prim: LibraryStep["prim"], ins: NDArray[], params: unknown, outAvals: ShapedArray[], committed: boolean): NDArray[] {
  const cpu = getBackend("cpu");
  const cpuDev = cpu.devices()[0];
  const inputs = ins.map((a) => {
    const b = a._buf(prim.name);
    const data = b.device.platform === "webgpu" ? host.download(host.handleOf(a, prim.name), a.aval) : b.readSync();
    return { buffer: cpu.fromHost(data, a.aval, cpuDev), aval: a.aval };
  });
  const outs = cpu.execute(prim, inputs, params, outAvals, cpuDev);
  return outs.map((o, i) => host.wrap(host.upload(o.readSync(), outAvals[i]), outAvals[i], committed));
}
