// The device thread: a worker that owns one WebGPU device (Dawn through the `webgpu` package)
// and executes the commands the main thread's client (gpu-client.ts) sends it. Why a thread:
// WebGPU reads are asynchronous (mapAsync), but Primal's API is JAX's, where `x.item()` and
// printing block; the main thread can block (Atomics.wait) while this thread keeps its own event
// loop running Dawn's callbacks. It also gives asynchronous execution for free: the main thread
// posts commands and goes on; this thread records them into one command encoder per batch and
// submits it.
//
// Commands arrive in batches (one postMessage each, in order). Buffers are named by ids the main
// thread assigns; their memory comes from a size-bucketed pool of GPUBuffers. Pipelines are
// compiled asynchronously (createComputePipelineAsync) and shared by every dispatch of the same
// shader. Errors (validation, out-of-memory, shader compilation) are collected and returned
// with the next reply, so the main thread raises them at its next synchronous point. A lost
// device bumps the generation (shared memory), drops every buffer, and a new device is
// requested; buffers of the old generation are gone, and the client reports that clearly.
//
// Bundled on its own (scripts/build.mjs -> dist/gpu-thread.js); from sources, the client
// transpiles this file with esbuild. It must not import the rest of the kernel.

import { MessagePort, parentPort, workerData } from "node:worker_threads";
import { AdapterInfo, BATCH_DONE, CTL_GENERATION, CTL_LIVE, CTL_REPLIES, Command, Reply } from "./gpu-protocol";

interface Options {
  dawnPath: string;
  ctl: SharedArrayBuffer;
  replies: MessagePort;
  /** create() options, e.g. ["backend=opengles"]. */
  flags: string[];
  powerPreference: "high-performance" | "low-power";
  poolBytes: number;
}

const opts = workerData as Options;
const ctl = new Int32Array(opts.ctl);
const G = globalThis as any;

// dawn.node lives as long as this reference (shared/webgpu-node.md, pitfall 1).
let gpu: any = null;
let device: any = null;
let info: AdapterInfo | null = null;
const errors: string[] = [];
const times: [number, number][] = [];

/** Size buckets: a power of two or 1.25/1.5/1.75 times one (at most 25% unused), at least 256 bytes. */
function bucket(bytes: number): number {
  const n = Math.max(256, bytes);
  const p = 2 ** Math.floor(Math.log2(n));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) if (p * f >= n) return Math.ceil((p * f) / 4) * 4;
  return n;
}

interface Buf {
  gpu: any;
  size: number;
}
const buffers = new Map<number, Buf>();
const pool = new Map<number, any[]>();
let pooledBytes = 0;
let liveBytes = 0;
let pooledCount = 0;
const USAGE = () => G.GPUBufferUsage.STORAGE | G.GPUBufferUsage.COPY_SRC | G.GPUBufferUsage.COPY_DST;

function allocate(id: number, bytes: number): Buf {
  const size = bucket(bytes);
  const list = pool.get(size);
  let b = list?.pop();
  if (b) {
    pooledBytes -= size;
    pooledCount--;
  } else b = device.createBuffer({ size, usage: USAGE() });
  const buf = { gpu: b, size };
  buffers.set(id, buf);
  liveBytes += size;
  Atomics.store(ctl, CTL_LIVE, buffers.size);
  return buf;
}

/** Freed while the open encoder may still use them: pooled once it is submitted. */
let deferred: Buf[] = [];

function release(id: number): void {
  const b = buffers.get(id);
  if (!b) return;
  buffers.delete(id);
  liveBytes -= b.size;
  Atomics.store(ctl, CTL_LIVE, buffers.size);
  if (encoder) deferred.push(b);
  else pool_(b);
}

/** Returns a buffer to the pool (or destroys it past the pool's size). */
function pool_(b: Buf): void {
  if (pooledBytes + b.size > opts.poolBytes) {
    b.gpu.destroy();
    return;
  }
  let list = pool.get(b.size);
  if (!list) pool.set(b.size, (list = []));
  list.push(b.gpu);
  pooledBytes += b.size;
  pooledCount++;
}

function drainPool(): void {
  for (const list of pool.values()) for (const b of list) b.destroy();
  pool.clear();
  pooledBytes = 0;
  pooledCount = 0;
}

interface Shader {
  pipeline: any | null;
  pending: Promise<void> | null;
  layout: any;
  label: string;
  failed: string | null;
}
const shaders = new Map<number, Shader>();
const layouts = new Map<string, any>();

function layoutOf(access: ("read" | "rw")[]): any {
  const key = access.join(",");
  let l = layouts.get(key);
  if (!l) {
    const bgl = device.createBindGroupLayout({
      entries: access.map((a, i) => ({ binding: i, visibility: G.GPUShaderStage.COMPUTE, buffer: { type: a === "read" ? "read-only-storage" : "storage" } })),
    });
    l = { bgl, pl: device.createPipelineLayout({ bindGroupLayouts: [bgl] }) };
    layouts.set(key, l);
  }
  return l;
}

function compile(cmd: Extract<Command, { c: "shader" }>): void {
  const layout = layoutOf(cmd.access);
  const s: Shader = { pipeline: null, pending: null, layout, label: cmd.label, failed: null };
  const module = device.createShaderModule({ code: cmd.code, label: cmd.label });
  s.pending = (async () => {
    const ci = await module.getCompilationInfo();
    const bad = ci.messages.filter((m: any) => m.type === "error");
    if (bad.length) {
      s.failed = `${cmd.label}: WGSL compilation failed: ${bad.map((m: any) => `${m.lineNum}:${m.linePos} ${m.message}`).join("; ")}`;
      return;
    }
    try {
      s.pipeline = await device.createComputePipelineAsync({ layout: layout.pl, compute: { module, entryPoint: cmd.entry }, label: cmd.label });
    } catch (e) {
      s.failed = `${cmd.label}: pipeline creation failed: ${(e as Error).message}`;
    }
  })();
  shaders.set(cmd.sid, s);
}

// The open command encoder and compute pass of the current batch.
let encoder: any = null;
let pass: any = null;
let pending = 0;
let submits = 0;
let dispatches = 0;
let timing = false;
let querySet: any = null;
let queryTags: number[] = [];
const MAX_QUERIES = 256;

function enc(): any {
  encoder ??= device.createCommandEncoder();
  return encoder;
}

function endPass(): void {
  pass?.end();
  pass = null;
}

function submit(): void {
  endPass();
  if (!encoder) return;
  const tags = queryTags;
  let readback: any = null;
  let resolved: any = null;
  if (querySet && tags.length) {
    resolved = device.createBuffer({ size: tags.length * 16, usage: G.GPUBufferUsage.QUERY_RESOLVE | G.GPUBufferUsage.COPY_SRC });
    readback = device.createBuffer({ size: tags.length * 16, usage: G.GPUBufferUsage.MAP_READ | G.GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(querySet, 0, tags.length * 2, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, tags.length * 16);
    queryTags = [];
  }
  device.queue.submit([encoder.finish()]);
  encoder = null;
  pending = 0;
  submits++;
  if (readback) {
    // Mapped only after the submit that writes it (a buffer pending a map cannot be submitted).
    const done = readback.mapAsync(G.GPUMapMode.READ).then(() => {
      const t = new BigUint64Array(readback.getMappedRange());
      for (let i = 0; i < tags.length; i++) times.push([tags[i], Number(t[2 * i + 1] - t[2 * i])]);
      readback.unmap();
      readback.destroy();
      resolved.destroy();
    }, () => undefined);
    timingReads.push(done);
  }
  // Work submitted later is ordered after this submit, so its buffers may be reused now.
  for (const b of deferred.splice(0)) pool_(b);
}
const timingReads: Promise<void>[] = [];

async function run(cmd: Extract<Command, { c: "run" }>): Promise<void> {
  const s = shaders.get(cmd.sid);
  if (!s) return void errors.push(`dispatch: unknown shader ${cmd.sid}`);
  if (!s.pipeline && !s.failed) {
    if (pending) submit();
    await s.pending;
  }
  if (s.failed) return void errors.push(s.failed);
  const entries = [];
  for (let i = 0; i < cmd.bufs.length; i++) {
    const b = buffers.get(cmd.bufs[i]);
    if (!b) return void errors.push(`${s.label}: buffer ${cmd.bufs[i]} is not on this device (lost or freed)`);
    entries.push({ binding: i, resource: { buffer: b.gpu, offset: 0, size: Math.max(4, Math.ceil(cmd.sizes[i] / 4) * 4) } });
  }
  if (cmd.wg[0] * cmd.wg[1] * cmd.wg[2] === 0) return;
  const bg = device.createBindGroup({ layout: s.layout.bgl, entries });
  if (timing && querySet) {
    endPass();
    if (queryTags.length >= MAX_QUERIES) submit();
    const q = queryTags.length;
    queryTags.push(cmd.tag);
    pass = enc().beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * q, endOfPassWriteIndex: 2 * q + 1 } });
    pass.setPipeline(s.pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(...cmd.wg);
    endPass();
  } else {
    pass ??= enc().beginComputePass();
    pass.setPipeline(s.pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(...cmd.wg);
  }
  dispatches++;
  if (++pending >= 256) submit();
}

async function read(cmd: Extract<Command, { c: "read" }>): Promise<ArrayBuffer | undefined> {
  const b = buffers.get(cmd.id);
  if (!b) {
    errors.push(`read: buffer ${cmd.id} is not on this device (lost or freed)`);
    return undefined;
  }
  const size = Math.max(4, Math.ceil(cmd.bytes / 4) * 4);
  const staging = device.createBuffer({ size, usage: G.GPUBufferUsage.MAP_READ | G.GPUBufferUsage.COPY_DST });
  endPass();
  enc().copyBufferToBuffer(b.gpu, 0, staging, 0, size);
  submit();
  try {
    await staging.mapAsync(G.GPUMapMode.READ);
  } catch (e) {
    errors.push(`read: mapping the result failed: ${(e as Error).message}`);
    staging.destroy();
    return undefined;
  }
  const data = staging.getMappedRange().slice(0, cmd.bytes);
  staging.unmap();
  staging.destroy();
  return data;
}

function reply(r: Omit<Reply, "errors" | "times">): void {
  const out: Reply = { ...r, errors: errors.splice(0) };
  if (times.length) out.times = times.splice(0);
  opts.replies.postMessage(out, out.data ? [out.data] : []);
  Atomics.add(ctl, CTL_REPLIES, 1);
  Atomics.notify(ctl, CTL_REPLIES);
}

async function execute(cmd: Command): Promise<void> {
  switch (cmd.c) {
    case "shader":
      return compile(cmd);
    case "write": {
      if (buffers.has(cmd.id)) return void errors.push(`write: buffer ${cmd.id} exists`);
      const b = allocate(cmd.id, cmd.bytes);
      if (cmd.data && cmd.data.byteLength) {
        // A queue write runs before the open encoder is submitted; that is safe because pooled
        // buffers are never in the open encoder (frees are deferred until its submit). The
        // client pads uploads to a multiple of 4 bytes, as writeBuffer requires.
        device.queue.writeBuffer(b.gpu, 0, cmd.data, 0, cmd.data.byteLength);
      }
      return;
    }
    case "run":
      return run(cmd);
    case "copy": {
      const s = buffers.get(cmd.src);
      const d = buffers.get(cmd.dst);
      if (!s || !d) return void errors.push(`copy: buffer ${!s ? cmd.src : cmd.dst} is not on this device (lost or freed)`);
      endPass();
      const n = Math.ceil(cmd.bytes / 4) * 4;
      if (n) enc().copyBufferToBuffer(s.gpu, 0, d.gpu, 0, n);
      pending++;
      return;
    }
    case "free":
      for (const id of cmd.ids) release(id);
      return;
    case "read": {
      const data = await read(cmd);
      return reply({ token: cmd.token, data });
    }
    case "sync": {
      submit();
      await device.queue.onSubmittedWorkDone();
      await Promise.all(timingReads.splice(0));
      return reply({ token: cmd.token });
    }
    case "stats":
      return reply({
        token: cmd.token,
        stats: { live: buffers.size, pooled: pooledCount, pooledBytes, liveBytes, submits, dispatches, pipelines: shaders.size },
      });
    case "timing":
      timing = cmd.on && info!.features.includes("timestamp-query");
      if (timing && !querySet) querySet = device.createQuerySet({ type: "timestamp", count: MAX_QUERIES * 2 });
      return;
    case "close": {
      // An orderly end: the work done, buffers released, the device destroyed and its `lost`
      // settled, so that terminating the thread tears down nothing in flight.
      submit();
      await device.queue.onSubmittedWorkDone();
      await Promise.all(timingReads.splice(0));
      const dev = device;
      device = null;
      drainPool();
      for (const b of buffers.values()) b.gpu.destroy();
      buffers.clear();
      dev.destroy();
      await Promise.race([dev.lost, new Promise((r) => setTimeout(r, 1000))]);
      closed = true;
      return reply({ token: cmd.token });
    }
    case "lose":
      submit();
      drainPool();
      device.destroy();
      return reply({ token: cmd.token });
  }
}

async function openDevice(): Promise<void> {
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
  if (!adapter) throw new Error("no WebGPU adapter (requestAdapter returned null: no Vulkan/Metal/D3D driver found)");
  const l = adapter.limits;
  const want = ["shader-f16", "subgroups", "timestamp-query"].filter((f) => adapter.features.has(f));
  const limits: Record<string, number> = {};
  for (const k of [
    "maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX", "maxComputeWorkgroupSizeY", "maxComputeWorkgroupSizeZ", "maxComputeWorkgroupsPerDimension",
    "maxStorageBuffersPerShaderStage", "maxBindGroups",
  ])
    limits[k] = l[k];
  const dev = await adapter.requestDevice({ requiredFeatures: want, requiredLimits: limits });
  const a = adapter.info;
  info = {
    description: a.description || a.device || a.vendor,
    vendor: a.vendor,
    architecture: a.architecture,
    device: a.device,
    software: adapter.isFallbackAdapter === true || a.architecture === "software" || /llvmpipe|lavapipe|swiftshader|warp|basic render/i.test(`${a.description} ${a.device}`),
    features: want,
    limits,
  };
  dev.onuncapturederror = (e: any) => errors.push(`WebGPU: ${e.error?.message ?? String(e)}`);
  dev.lost.then((l: any) => {
    if (dev !== device) return;
    // Everything on the lost device is gone; the next commands get a new one.
    errors.push(`WebGPU: the device was lost (${l.reason}${l.message ? `: ${l.message}` : ""})`);
    buffers.clear();
    pool.clear();
    deferred = [];
    pooledBytes = liveBytes = pooledCount = 0;
    shaders.clear();
    layouts.clear();
    encoder = pass = querySet = null;
    queryTags = [];
    pending = 0;
    device = null;
    Atomics.add(ctl, CTL_GENERATION, 1);
    Atomics.store(ctl, CTL_LIVE, 0);
  });
  device = dev;
  if (timing) querySet = device.createQuerySet({ type: "timestamp", count: MAX_QUERIES * 2 });
}

let chain: Promise<void> = Promise.resolve();
/** After "close": no device is opened again. */
let closed = false;

async function start(): Promise<void> {
  const mod = require(opts.dawnPath);
  Object.assign(G, mod.globals);
  gpu = mod.create(opts.flags);
  G.__primalGpu = gpu;
  try {
    await openDevice();
    reply({ token: 0, ready: info! });
  } catch (e) {
    reply({ token: 0, failed: (e as Error).message });
    return;
  }
  parentPort!.on("message", (batch: Command[]) => {
    chain = chain.then(async () => {
      for (const cmd of batch) {
        if (!device && !closed) {
          try {
            await openDevice();
          } catch (e) {
            errors.push(`WebGPU: could not re-create the device: ${(e as Error).message}`);
          }
        }
        if (!device) {
          if ("token" in cmd) reply({ token: cmd.token });
          continue;
        }
        try {
          await execute(cmd);
        } catch (e) {
          errors.push(`WebGPU: ${cmd.c} failed: ${(e as Error).message}`);
          if ("token" in cmd && cmd.c !== "lose") reply({ token: cmd.token });
        }
      }
      if (device && (pending || pass)) submit();
      // Pipelines still compiling must finish before the process may exit: Dawn aborts the
      // process when it is torn down with a createComputePipelineAsync pending.
      await Promise.all([...shaders.values()].map((s) => s.pending));
      opts.replies.postMessage({ token: BATCH_DONE, errors: [] } satisfies Reply);
    });
  });
}

void start();
