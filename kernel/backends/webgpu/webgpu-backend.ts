// The WebGPU backend: devices `webgpu:0..`, each a GPU adapter opened by a device thread
// (gpu-client.ts, gpu-thread.ts). Arrays live in device buffers; primitives run as WGSL
// shaders: an eager op is lowered as a one-equation program and runs through the same runner
// as jitted programs (gpu-program.ts), so both share shaders and pipelines. Compiled programs
// register as the "webgpu" platform's executor with the compiler (jit-runner.ts).
//
// Which devices: PRIMAL_WEBGPU_DEVICES=N opens N adapters (default 1; lavapipe gives as many as
// asked, which the tests use for placement errors); PRIMAL_WEBGPU_FLAGS passes Dawn options
// (e.g. `backend=opengles`). The automatic default device is a hardware GPU when one is
// present; a software adapter (lavapipe) is used only when asked for (PRIMAL_BACKEND=webgpu,
// config.update("jax_platform_name", "webgpu"), `primal run --backend webgpu`, devicePut). On
// Linux a hardware GPU needs a /dev/dri render node or /dev/nvidia*; without one the adapter
// is not even probed, so CPU-only machines pay nothing at startup.
//
// Memory: an array's buffer returns to the device's pool when the array is disposed or becomes
// unreachable (reclaim.ts, synchronously inside loops where V8 allows). Before an allocation
// would pass the budget (PRIMAL_WEBGPU_MEMORY bytes; default 4 GiB for software adapters and
// 8 GiB otherwise, since WebGPU does not report device memory), a full collection runs, and the
// allocation fails with the sizes involved only if that did not free enough.

import { existsSync, readdirSync } from "node:fs";
import { ShapedArray } from "../../core/aval";
import { debugLog } from "../../core/debug";
import { Backend, Device, DeviceBuffer, checkStorage, getBackend, registerBackend } from "../../core/device";
import { DType, Storage } from "../../core/dtype";
import { DeviceError, DisposedError, ValueError } from "../../core/errors";
import { NDArray } from "../../core/ndarray";
import { Primitive } from "../../core/primitive";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Var } from "../../ir/jaxpr";
import { structuralKey } from "../../ir/structural-key";
import { CompiledRecord, kernelTimingOn } from "../../lower/inspect";
import { Executable, installCompiler } from "../../lower/jit-runner";
import { classifyPrimitive } from "../../lower/fusion";
import { LoweredProgram, lowerProgram } from "../../lower/program";
import { GpuClient, GpuHandle, dawnPath } from "./gpu-client";
import { GpuHost, fallback, hostFallback, planSteps, runSteps } from "./gpu-program";
import { Reclaimer } from "./reclaim";
import { AdapterCaps, wgslRule } from "./wgsl-library";
// The WGSL rules of library primitives register themselves.
import "./wgsl-dot";
import "./wgsl-indexing";
import "./wgsl-random";
import "./wgsl-scan";
import "./wgsl-sort";

/** Bytes per element on the device: bool is a u32, the rest as on the host. */
export function deviceItemBytes(d: DType): number {
  return d.isBool ? 4 : d.storage.BYTES_PER_ELEMENT;
}

function encode(data: Storage, d: DType): ArrayBufferView {
  return d.isBool ? Uint32Array.from(data as Uint8Array) : data;
}

function decode(bytes: ArrayBuffer, d: DType, n: number): Storage {
  if (d.isBool) return Uint8Array.from(new Uint32Array(bytes, 0, n));
  return new d.storage(bytes, 0, n) as Storage;
}

/** Higher-order primitives whose bodies run on the CPU (implDevice). */
const HOST_IMPLS = new Set(["random_gamma"]);

/** Uploads of at most this many elements keep their host data (read back without waiting). */
const HOST_CACHE_MAX = 4096;

/** Device memory and buffer count of live arrays below which no collection is forced. */
const SOFT_MIN_BYTES = 256 << 20;
// A forced full collection costs milliseconds: every 16K buffers keeps it under ~5% of an
// eager op's cost (measured: 2K halved the eager add rate on lavapipe).
const SOFT_MIN_COUNT = 16384;

class WebGpuDevice implements Device {
  readonly platform = "webgpu";
  private softBytes = SOFT_MIN_BYTES;
  private softCount = SOFT_MIN_COUNT;
  readonly deviceKind: string;
  readonly caps: AdapterCaps;
  readonly limits: Record<string, number>;
  readonly features: string[];
  readonly host: GpuHost;
  private tags = new Map<number, { record: CompiledRecord; step: number }>();
  private nextTag = 1;
  constructor(
    readonly id: number,
    readonly backend: WebGpuBackend,
    readonly client: GpuClient,
  ) {
    const l = client.info.limits;
    this.deviceKind = client.info.description;
    this.limits = { ...l };
    this.features = [...client.info.features];
    this.caps = {
      maxInvocations: l.maxComputeInvocationsPerWorkgroup,
      maxWorkgroupStorage: l.maxComputeWorkgroupStorageSize,
      maxStorageBinding: l.maxStorageBufferBindingSize,
      subgroups: client.info.features.includes("subgroups"),
      f16: client.info.features.includes("shader-f16"),
      software: client.info.software,
    };
    client.onTimes((times) => {
      for (const [tag, ns] of times) {
        const t = this.tags.get(tag);
        if (!t) continue;
        const k = t.record.kernels[t.step].timing;
        k.calls++;
        k.lastMs = ns / 1e6;
        k.totalMs += k.lastMs;
      }
    });
    this.host = {
      client,
      caps: this.caps,
      handleOf: (a, op) => {
        const b = a._buf(op);
        if (!(b instanceof WebGpuBuffer) || b.device !== this) throw new DeviceError(`${op}: the array is on ${b.device}, expected one on ${this}`);
        return b.handle(op);
      },
      wrap: (h, aval, committed) => new NDArray(aval, new WebGpuBuffer(this, h, aval.dtype, aval.size), committed),
      upload: (data, aval) => this.upload(data, aval),
      alloc: (dtype, elements) => this.allocate(Math.max(0, elements * deviceItemBytes(dtype)), null),
      bytesOf: (aval) => aval.size * deviceItemBytes(aval.dtype),
      download: (h, aval) => {
        this.check(h, "read");
        return decode(client.readSync(h), aval.dtype, aval.size);
      },
      tag: (record, step) => {
        if (!record || !kernelTimingOn()) return 0;
        const t = this.nextTag++;
        this.tags.set(t, { record, step });
        return t;
      },
    };
  }
  toString(): string {
    return `webgpu:${this.id}`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `WebGpuDevice(id=${this.id}, ${this.deviceKind})`;
  }

  /** Raises the clear error for a handle of a lost device. */
  check(h: GpuHandle, op: string): void {
    if (h.generation !== this.client.generation)
      throw new DeviceError(`${op}: the array's data was on ${this}, which was lost and re-created since (its arrays are gone); compute it again`);
  }

  upload(data: Storage, aval: ShapedArray): GpuHandle {
    return this.allocate(aval.size * deviceItemBytes(aval.dtype), encode(data, aval.dtype));
  }

  /** A device buffer, reclaiming unreachable arrays' buffers first when the budget is near. */
  allocate(bytes: number, data: ArrayBufferView | null): GpuHandle {
    const b = this.backend;
    const c = this.client;
    // V8 clears finalization targets only in full collections, which a loop of small JS objects
    // rarely triggers: collect when device memory or buffer count has doubled since the last one.
    if (c.liveBytes + bytes > this.softBytes || c.liveCount > this.softCount) {
      b.reclaimer.collect();
      this.softBytes = Math.max(SOFT_MIN_BYTES, 2 * c.liveBytes);
      this.softCount = Math.max(SOFT_MIN_COUNT, 2 * c.liveCount);
    }
    if (this.client.liveBytes + bytes > b.budget(this)) {
      b.reclaimer.collect();
      if (this.client.liveBytes + bytes > b.budget(this))
        throw new DeviceError(`webgpu: out of device memory on ${this}: ${bytes} bytes requested with ${this.client.liveBytes} bytes in use by live arrays, budget ${b.budget(this)} bytes (PRIMAL_WEBGPU_MEMORY)`);
    }
    return this.client.upload(bytes, data);
  }
}

/** An array's buffer on a WebGPU device. */
class WebGpuBuffer implements DeviceBuffer {
  private h: GpuHandle | null;
  private cached: Storage | null = null;
  constructor(
    readonly device: WebGpuDevice,
    h: GpuHandle,
    private readonly dtype: DType,
    private readonly size: number,
  ) {
    this.h = h;
    device.backend.reclaimer.register(this, { device, h }, this);
  }
  handle(op: string): GpuHandle {
    if (!this.h) throw new DisposedError(`${op}: the buffer was disposed, got a disposed webgpu buffer`);
    this.device.check(this.h, op);
    return this.h;
  }
  peek(): Storage | null {
    return this.cached;
  }
  /** Waits for the device's queue (everything enqueued before), not copying the data. */
  async ready(): Promise<void> {
    this.handle("blockUntilReady");
    await this.device.client.sync();
  }
  /** Keeps the host data an upload came from (arrays are immutable), so small uploads read back without waiting. */
  setCached(data: Storage): this {
    this.cached = data;
    return this;
  }
  readSync(): Storage {
    if (this.cached) return this.cached;
    const h = this.handle("read");
    // Arrays are immutable: the host copy stays valid while the array lives.
    return (this.cached = decode(this.device.client.readSync(h), this.dtype, this.size));
  }
  async read(): Promise<Storage> {
    if (this.cached) return this.cached;
    const h = this.handle("read");
    return (this.cached = decode(await this.device.client.read(h), this.dtype, this.size));
  }
  dispose(): void {
    if (!this.h) return;
    this.device.backend.reclaimer.unregister(this);
    this.device.client.free(this.h);
    this.h = null;
    this.cached = null;
  }
}

/** PRIMAL_WEBGPU_MEMORY in bytes (null: the default); anything else than a positive integer is an error, not a silent no-limit. */
function memoryBudget(raw: string | undefined): number | null {
  if (raw === undefined || raw === "") return null;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new ValueError(`PRIMAL_WEBGPU_MEMORY: expected a positive number of bytes, got "${raw}"`);
  return n;
}

/** Whether this machine may have a hardware GPU (Linux: a DRM render node or an NVIDIA device). */
function mayHaveHardwareGpu(): boolean {
  if (process.platform !== "linux") return true;
  try {
    if (existsSync("/dev/dri") && readdirSync("/dev/dri").some((f) => f.startsWith("renderD"))) return true;
    return readdirSync("/dev").some((f) => /^nvidia\d+$/.test(f));
  } catch {
    return false;
  }
}

class WebGpuBackend implements Backend {
  readonly platform = "webgpu";
  private devs: WebGpuDevice[] | null = null;
  /** Why there are no devices (when there are none). */
  unavailable: string | null = null;
  readonly reclaimer = new Reclaimer<{ device: WebGpuDevice; h: GpuHandle }>(({ device, h }) => device.client.free(h));
  /** PRIMAL_WEBGPU_MEMORY, read when the devices open (so a bad value is reported there, not at import). */
  private budgetBytes: number | null = null;
  private readonly programs = new Map<string, { p: LoweredProgram; plans: Map<WebGpuDevice, ReturnType<typeof planSteps>> }>();

  devices(): Device[] {
    if (!this.devs) this.open();
    return this.devs!;
  }

  private open(): void {
    const raw = process.env.PRIMAL_WEBGPU_DEVICES;
    const n = raw === undefined ? 1 : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new ValueError(`PRIMAL_WEBGPU_DEVICES: expected a positive integer, got "${raw}"`);
    this.budgetBytes = memoryBudget(process.env.PRIMAL_WEBGPU_MEMORY);
    this.devs = [];
    const flags = (process.env.PRIMAL_WEBGPU_FLAGS ?? "").split(",").filter(Boolean);
    if (!dawnPath()) {
      this.unavailable = "the `webgpu` package (Dawn) is not installed";
      return;
    }
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      try {
        this.devs.push(new WebGpuDevice(i, this, new GpuClient({ flags })));
      } catch (e) {
        this.unavailable = (e as Error).message;
        break;
      }
    }
    if (this.devs.length) debugLog(1, "webgpu", `${this.devs.length} device(s) on ${this.devs[0].deviceKind} opened in ${(performance.now() - t0).toFixed(0)} ms`);
    else debugLog(1, "webgpu", `no device: ${this.unavailable}`);
  }

  /**
   * random_gamma's rejection loops run on the CPU: each element loops until accepted, and on
   * the GPU every iteration's predicate would wait for the device (measured: the gamma tests
   * took 40x longer on lavapipe). The samples are the same bits either way.
   */
  implDevice(prim: Primitive): Device | null {
    return HOST_IMPLS.has(prim.name) ? getBackend("cpu").devices()[0] : null;
  }

  async shutdown(): Promise<void> {
    const devs = this.devs ?? [];
    this.devs = null;
    await Promise.all(devs.map((d) => d.client.close()));
  }

  unavailableReason(): string | null {
    return this.unavailable;
  }

  preferred(): boolean {
    if (!this.devs && !mayHaveHardwareGpu()) return false;
    const d = this.devices() as WebGpuDevice[];
    return d.length > 0 && !d[0].client.info.software;
  }

  budget(d: WebGpuDevice): number {
    return this.budgetBytes ?? (d.client.info.software ? 4 : 8) * 2 ** 30;
  }

  fromHost(data: Storage, aval: ShapedArray, device: Device): DeviceBuffer {
    checkStorage(data, aval);
    const d = device as WebGpuDevice;
    const b = new WebGpuBuffer(d, d.upload(data, aval), aval.dtype, aval.size);
    return aval.size <= HOST_CACHE_MAX ? b.setCached(data) : b;
  }

  execute(prim: Primitive, inputs: { buffer: DeviceBuffer; aval: ShapedArray }[], params: unknown, outAvals: ShapedArray[], device: Device): DeviceBuffer[] {
    const d = device as WebGpuDevice;
    const args = inputs.map((x) => new NDArray(x.aval, x.buffer));
    // Library primitives without a WGSL rule run on the host directly (no program needed).
    const direct = classifyPrimitive(prim, params as Record<string, unknown>, outAvals.length) === "library" && !wgslRule(prim.name);
    if (direct) fallback(prim.name, `${prim.name} has no WGSL lowering yet`);
    const outs = direct ? hostFallback(d.host, prim, args, params, outAvals, false) : this.eager(d, prim, args, params, outAvals);
    return outs.map((o) => o._buf(prim.name));
  }

  /** One equation as a program: lowered once per primitive, parameters and avals. */
  private eager(d: WebGpuDevice, prim: Primitive, args: NDArray[], params: unknown, outAvals: ShapedArray[]): NDArray[] {
    const invars = args.map((a) => new Var(a.aval));
    const outVars = outAvals.map((a) => new Var(a));
    const cj = new ClosedJaxpr(new Jaxpr([], invars, [new JaxprEqn(prim, invars, params as Record<string, unknown>, outVars)], outVars), []);
    const key = structuralKey(cj, "avals") ?? "";
    let entry = this.programs.get(key);
    if (!entry) {
      entry = { p: lowerProgram(cj, cj), plans: new Map() };
      if (this.programs.size > 4096) this.programs.delete(this.programs.keys().next().value as string);
      this.programs.set(key, entry);
    }
    let plan = entry.plans.get(d);
    if (!plan) entry.plans.set(d, (plan = planSteps(entry.p, d.host, null)));
    return runSteps(entry.p, plan, d.host, args, false, null);
  }

  /** The compiler's executor for programs whose arguments are on a WebGPU device. */
  prepare(p: LoweredProgram, record: CompiledRecord): Executable {
    const plans = new Map<WebGpuDevice, ReturnType<typeof planSteps>>();
    const constsOn = new Map<WebGpuDevice, NDArray[]>();
    return (args: NDArray[]) => {
      let device: WebGpuDevice | null = null;
      let committed = false;
      for (const a of args) {
        const b = a._buffer;
        if (!b) continue;
        if (!(b.device instanceof WebGpuDevice)) return null;
        if (device && b.device !== device) return null; // mixed devices: evalPrimitive explains
        device = b.device;
        committed ||= a._committed;
      }
      device ??= this.devices()[0] as WebGpuDevice;
      let plan = plans.get(device);
      if (!plan) {
        plans.set(device, (plan = planSteps(p, device.host, record)));
        if (kernelTimingOn()) device.client.setTiming(true);
      }
      record.calls++;
      // The program's constants, uploaded once per device (not at every call).
      let consts = constsOn.get(device);
      if (!consts) {
        const d = device;
        consts = p.consts.map((c) => (c._buffer?.device === d ? c : new NDArray(c.aval, this.fromHost(c._buf("jit").readSync(), c.aval, d))));
        constsOn.set(device, consts);
      }
      return runSteps(p, plan, device.host, [...consts, ...args], committed, record);
    };
  }
}

/** The WebGPU backend, registered when the library loads (its devices open on first use). */
export const webgpuBackend = new WebGpuBackend();
registerBackend(webgpuBackend);
installCompiler({ prepare: (p, r) => webgpuBackend.prepare(p, r) }, "webgpu");
