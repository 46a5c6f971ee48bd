// A bare WebGPU device for the codegen tests: runs generated passes (codegen-wgsl.ts kernels,
// wgsl-library.ts calls) on host data and reads the results back, with nothing of Primal's
// runtime in between. The suites that use it skip (with a message) when there is no adapter,
// except under PRIMAL_CI=1, where a missing adapter fails them.

import { createRequire } from "node:module";
import { DType, Storage } from "../../../kernel/core/dtype";
import { WgslKernel } from "../../../kernel/backends/webgpu/codegen-wgsl";
import { AdapterCaps, WgslCall } from "../../../kernel/backends/webgpu/wgsl-library";

const require = createRequire(import.meta.url);
// dawn.node must stay referenced for the device's life (shared/webgpu-node.md, pitfall 1).
const keep: { gpu?: any } = (globalThis as any).__primalTestGpu ??= {};

export interface RawDevice {
  device: any;
  caps: AdapterCaps;
  description: string;
}

let opened: Promise<RawDevice | null> | null = null;

/** The test device, or null when there is no adapter (the caller skips; CI fails). */
export function rawDevice(): Promise<RawDevice | null> {
  opened ??= (async () => {
    let mod: any;
    try {
      const pkg = require.resolve("webgpu");
      mod = require(pkg.replace(/index\.js$/, `dist/${process.platform}-${process.arch}/dawn.node`));
    } catch {
      return null;
    }
    Object.assign(globalThis, mod.globals);
    keep.gpu ??= mod.create([]);
    const adapter = await keep.gpu.requestAdapter();
    if (!adapter) return null;
    const features = [...adapter.features].filter((f: string) => ["shader-f16", "subgroups", "timestamp-query"].includes(f));
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: features,
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX, maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      },
    });
    device.onuncapturederror = (e: any) => console.error("WebGPU error:", e.error?.message);
    const caps: AdapterCaps = {
      maxInvocations: l.maxComputeInvocationsPerWorkgroup, maxWorkgroupStorage: l.maxComputeWorkgroupStorageSize,
      maxStorageBinding: l.maxStorageBufferBindingSize, subgroups: features.includes("subgroups"), f16: features.includes("shader-f16"),
    };
    return { device, caps, description: adapter.info.description || adapter.info.device };
  })();
  return opened;
}

/** Whether GPU tests must run (CI) or may skip. */
export const gpuRequired = process.env.PRIMAL_CI === "1";

/** A host array as the GPU stores it: bool as one u32 per element. */
export interface HostIn {
  data: Storage;
  dtype: DType;
}

function toGpuBytes(x: HostIn): Uint8Array {
  if (x.dtype.isBool) return new Uint8Array(Uint32Array.from(x.data as Uint8Array).buffer);
  return new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
}

function fromGpuBytes(bytes: ArrayBuffer, dtype: DType, n: number): Storage {
  if (dtype.isBool) return Uint8Array.from(new Uint32Array(bytes, 0, n));
  return new dtype.storage(bytes.slice(0, n * dtype.storage.BYTES_PER_ELEMENT)) as Storage;
}

const pipelines = new Map<string, any>();

/**
 * Runs passes on `inputs`; `outs` gives the outputs' dtypes and sizes. Buffers are numbered
 * outputs, inputs, temps (wgsl-library.ts). Throws with Dawn's message on a validation error.
 */
export async function runPasses(dev: RawDevice, passes: WgslKernel[], outs: { dtype: DType; elements: number }[], inputs: HostIn[], temps: { dtype: DType; elements: number }[] = []): Promise<Storage[]> {
  const { device } = dev;
  const G = globalThis as any;
  const usage = G.GPUBufferUsage.STORAGE | G.GPUBufferUsage.COPY_SRC | G.GPUBufferUsage.COPY_DST;
  const mk = (bytes: number) => device.createBuffer({ size: Math.max(4, Math.ceil(bytes / 4) * 4), usage });
  const outBufs = outs.map((o) => mk(o.elements * 4));
  const inBufs = inputs.map((x) => {
    const bytes = toGpuBytes(x);
    const b = mk(bytes.byteLength);
    if (bytes.byteLength % 4 === 0 && bytes.byteLength) device.queue.writeBuffer(b, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    else if (bytes.byteLength) { const pad = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4); pad.set(bytes); device.queue.writeBuffer(b, 0, pad.buffer, 0, pad.byteLength); }
    return b;
  });
  const tempBufs = temps.map((t) => mk(t.elements * 4));
  const all = [...outBufs, ...inBufs, ...tempBufs];
  device.pushErrorScope("validation");
  const enc = device.createCommandEncoder();
  for (const p of passes) {
    let pipe = pipelines.get(p.code);
    if (!pipe) {
      const module = device.createShaderModule({ code: p.code });
      const info = await module.getCompilationInfo();
      const errs = info.messages.filter((m: any) => m.type === "error");
      if (errs.length) throw new Error(`WGSL compile error: ${errs.map((m: any) => `${m.lineNum}:${m.linePos} ${m.message}`).join("; ")}\n${p.code}`);
      pipe = await device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint: p.entryPoint } });
      pipelines.set(p.code, pipe);
    }
    if (p.dispatch.every((n) => n > 0)) {
      const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: p.bindings.map((b) => ({ binding: b.binding, resource: { buffer: all[b.buf] } })) });
      const pass = enc.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(...p.dispatch);
      pass.end();
    }
  }
  const staging = outs.map((o) => device.createBuffer({ size: Math.max(4, o.elements * 4), usage: G.GPUBufferUsage.MAP_READ | G.GPUBufferUsage.COPY_DST }));
  outs.forEach((o, i) => o.elements && enc.copyBufferToBuffer(outBufs[i], 0, staging[i], 0, o.elements * 4));
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation error: ${err.message}`);
  const res: Storage[] = [];
  for (let i = 0; i < outs.length; i++) {
    await staging[i].mapAsync(G.GPUMapMode.READ);
    res.push(fromGpuBytes(staging[i].getMappedRange().slice(0), outs[i].dtype, outs[i].elements));
    staging[i].unmap();
    staging[i].destroy();
  }
  for (const b of all) b.destroy();
  return res;
}

/** Runs a library call (wgsl-library.ts). */
export function runCall(dev: RawDevice, call: WgslCall, outs: { dtype: DType; elements: number }[], inputs: HostIn[]): Promise<Storage[]> {
  return runPasses(dev, call.passes, outs, inputs, call.temps);
}
