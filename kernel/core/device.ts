// Devices, device buffers and the backend registry. The core never imports a backend: an
// NDArray holds its data through the DeviceBuffer interface, and backends register themselves
// here when the library is loaded (kernel/index.ts imports them).

import { ShapedArray } from "./aval";
import { DType, Storage } from "./dtype";
import { ArgumentError, PrimalError, ValueError } from "./errors";
import type { Primitive } from "./primitive";
import { config } from "./config";
import { describeValue } from "./shape";

/** A place where arrays live and primitives run: `cpu:0`, `webgpu:0`. */
export interface Device {
  readonly platform: string;
  readonly id: number;
  readonly backend: Backend;
  /** Human-readable kind, e.g. "cpu" or the adapter name. */
  readonly deviceKind: string;
  /** The adapter's limits and features, where the device has them (WebGPU), for the kernels panel. */
  readonly limits?: Readonly<Record<string, number>>;
  readonly features?: readonly string[];
  toString(): string;
}

/** An array's data on a device. Sizes are in elements of the array's dtype. */
export interface DeviceBuffer {
  readonly device: Device;
  /** Host copy of the data as the dtype's storage (f16/bf16 as bit patterns). */
  read(): Promise<Storage>;
  /** Synchronous host copy; devices that cannot read synchronously throw. */
  readSync(): Storage;
  /** Releases the device memory now (the array is then unusable). */
  dispose(): void;
  /** Resolves when the work writing this buffer is done, without copying it (default: a read). */
  ready?(): Promise<void>;
  /** The host copy if it is there without waiting; null when reading would wait for the device. Absent: always there. */
  peek?(): Storage | null;
  /**
   * A buffer that stands for another: a sharded array's shards gathered onto its first device
   * (core/sharded.ts). NDArray._buf hands every consumer the resolved buffer.
   */
  resolve?(): DeviceBuffer;
  /** Every device holding part of the data (a sharded array's shards); absent: `device` alone. */
  devices?(): Device[];
}

/** What a backend offers the core: its devices, host transfers and primitive execution. */
export interface Backend {
  readonly platform: string;
  devices(): Device[];
  /** Uploads host storage (already in the dtype's storage form) to a device. */
  fromHost(data: Storage, aval: ShapedArray, device: Device): DeviceBuffer;
  /** Runs one primitive on buffers that all live on `device`; returns the output buffers. */
  execute(prim: Primitive, inputs: { buffer: DeviceBuffer; aval: ShapedArray }[], params: unknown, outAvals: ShapedArray[], device: Device): DeviceBuffer[];
  /** Whether the automatic choice should pick this backend over the CPU (a hardware accelerator is present). */
  preferred?(): boolean;
  /** Why the backend has no devices, when it has none. */
  unavailableReason?(): string | null;
  /**
   * Where a higher-order primitive's body should run instead of this backend's devices (the
   * CPU for per-element rejection loops on a GPU, where each iteration would wait for the
   * device), or null to run it here.
   */
  implDevice?(prim: Primitive): Device | null;
  /**
   * Places host storage on a device as one shard of a sharded array (devicePutSharded): where
   * pmap reads it in place (a CPU device's own thread). Absent: fromHost.
   */
  placeShard?(data: Storage, aval: ShapedArray, device: Device): DeviceBuffer;
  /** Reads many of its buffers to the host at once, where that saves round trips (a CPU device's thread); a hint, may do nothing. */
  readMany?(buffers: readonly DeviceBuffer[]): void;
  /** Finishes pending device work and releases the devices (before the process exits). */
  shutdown?(): Promise<void>;
}

const backends = new Map<string, Backend>();
let defaultPlatform: string | null = null;

/** Registers a backend; the first one registered is the default until `setDefaultPlatform`. */
export function registerBackend(b: Backend): void {
  backends.set(b.platform, b);
  defaultPlatform ??= b.platform;
}

export function getBackend(platform: string): Backend {
  const b = backends.get(platform);
  if (!b) throw new ValueError(`backend: unknown or unavailable platform, got "${platform}" (available: ${[...backends.keys()].join(", ")})`);
  return b;
}

export function setDefaultPlatform(platform: string): void {
  getBackend(platform);
  defaultPlatform = platform;
}

function allDevices(): Device[] {
  return [...backends.values()].flatMap((b) => b.devices());
}

/**
 * JAX's `jax.devices()`: the devices of the default backend, or of one platform
 * (`devices("webgpu")`).
 */
export function devices(platform?: string): Device[] {
  if (platform !== undefined && typeof platform !== "string")
    throw new ArgumentError(`devices: platform must be a string such as "cpu", got ${describeValue(platform)}`);
  return getBackend(platform ?? defaultPlatformName()).devices();
}

/** Every device of every registered backend (opening them if needed). */
export function allDevicesOfAllBackends(): Device[] {
  return allDevices();
}

let autoPlatform: string | null = null;
const envPlatform = process.env.PRIMAL_BACKEND || null;

/**
 * The platform of the default device: `config.update("jax_platform_name", ...)`, else
 * PRIMAL_BACKEND, else automatic: a backend that says it is preferred (a hardware GPU), else
 * the first registered (the CPU).
 */
export function defaultPlatformName(): string {
  const named = config.read("platformName") ?? envPlatform;
  if (named) return named;
  if (!defaultPlatform) throw new PrimalError("devices: no backend is registered");
  autoPlatform ??= [...backends.values()].find((b) => b.platform !== defaultPlatform && b.preferred?.())?.platform ?? defaultPlatform;
  return autoPlatform;
}

/** The device new arrays go to when none is named. */
export function defaultDevice(): Device {
  const platform = defaultPlatformName();
  const list = getBackend(platform).devices();
  if (!list.length) throw new ValueError(`backend: platform "${platform}" has no devices, got none (${getBackend(platform).unavailableReason?.() ?? "no reason given"})`);
  return list[0];
}

/** Parses "cpu", "cpu:1" or a Device. */
export function toDevice(d: Device | string | undefined | null, op = "devicePut"): Device {
  if (d === undefined || d === null) return defaultDevice();
  if (typeof d !== "string") {
    // The device's own backend says whether it is one of its devices (asking every backend would open them all).
    const dev = d as Partial<Device>;
    if (dev.backend && typeof dev.backend.devices === "function" && backends.get(dev.backend.platform) === dev.backend && dev.backend.devices().includes(d as Device)) return d as Device;
    throw new ArgumentError(`${op}: expected a device or a device name such as "cpu:0", got ${describeValue(d)}`);
  }
  const [platform, idx, ...rest] = d.split(":");
  const list = getBackend(platform).devices();
  const i = idx === undefined ? 0 : idx.trim() === "" || rest.length ? NaN : Number(idx);
  if (!Number.isInteger(i) || i < 0 || i >= list.length)
    throw new ValueError(`${op}: no such device, got "${d}" (available: ${list.map(String).join(", ")})`);
  return list[i];
}

/**
 * Finishes every backend's pending work and releases its devices. Processes that end with
 * `process.exit` call it first (the CLI, the kernel process): a GPU device torn down in the
 * middle of its work can abort the process.
 */
export async function shutdownBackends(): Promise<void> {
  await Promise.all([...backends.values()].map((b) => b.shutdown?.()));
}

/** Element count check used by backends when wrapping host storage. */
export function checkStorage(data: Storage, aval: ShapedArray): void {
  if (data.length !== aval.size || !(data instanceof aval.dtype.storage))
    throw new PrimalError(`fromHost: storage does not match ${aval.str()}, got ${data.constructor.name}(${data.length})`);
}

export type { DType };
