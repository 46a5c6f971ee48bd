// The CPU backend: arrays live in host typed arrays, primitives run through each record's CPU
// implementation. `PRIMAL_CPU_DEVICES=N` exposes N logical devices (cpu:0..N-1), as XLA's
// --xla_force_host_platform_device_count does; they share the host's memory. dot_general on
// float32 runs through the WebAssembly SIMD GEMM of gemm.ts; other dtypes through the record's
// generic loop. Big elementwise ops and reductions run as the compiler's wasm kernels
// (eager-wasm.ts), small ones through the records' generated JS loops. Under pmap, matmuls and
// big wasm kernels of all the shards run side by side on the worker threads (executeShards,
// shard-parallel.ts), each device with its share of the cores. With several devices, each device
// has its own worker thread (device-threads.ts): pmap runs the programs between the body's
// collectives on every device's thread at once (runShardPrograms), and their outputs stay in
// that thread's memory until read.

import { ShapedArray } from "../../core/aval";
import { Backend, Device, DeviceBuffer, checkStorage, registerBackend } from "../../core/device";
import { Storage } from "../../core/dtype";
import { PrimalError } from "../../core/errors";
import { HostArray, Primitive } from "../../core/primitive";
import { DotGeneralParams, dotGeneral } from "../../primitives/contraction";
import { ClosedJaxpr } from "../../ir/jaxpr";
import { WireError } from "../../ir/wire";
import { deviceThreadsEnabled, putOnThread, readThreadBuffers, runPrograms, shutdownDeviceThreads } from "./device-threads";
import { eagerWasm } from "./eager-wasm";
import { dotGeneralCpu } from "./gemm";
import { runShards } from "./shard-parallel";

class CpuDevice implements Device {
  readonly platform = "cpu";
  readonly deviceKind = "cpu";
  constructor(
    readonly id: number,
    readonly backend: CpuBackend,
  ) {}
  toString(): string {
    return `cpu:${this.id}`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `CpuDevice(id=${this.id})`;
  }
}

/** Host memory holding one array. Storage is never mutated after creation, so it may be shared. */
class CpuBuffer implements DeviceBuffer {
  constructor(
    readonly device: Device,
    private data: Storage | null,
  ) {}
  readSync(): Storage {
    if (!this.data) throw new PrimalError("readSync: the buffer was disposed, got a disposed cpu buffer");
    return this.data;
  }
  async read(): Promise<Storage> {
    return this.readSync();
  }
  dispose(): void {
    this.data = null;
  }
}

class CpuBackend implements Backend {
  readonly platform = "cpu";
  private readonly devs: CpuDevice[];
  constructor(count: number) {
    this.devs = Array.from({ length: count }, (_, i) => new CpuDevice(i, this));
  }
  devices(): Device[] {
    return this.devs;
  }
  fromHost(data: Storage, aval: ShapedArray, device: Device): DeviceBuffer {
    checkStorage(data, aval);
    return new CpuBuffer(device, data);
  }
  execute(prim: Primitive, inputs: { buffer: DeviceBuffer; aval: ShapedArray }[], params: unknown, outAvals: ShapedArray[], device: Device): DeviceBuffer[] {
    const host: HostArray[] = inputs.map((x) => ({ data: x.buffer.readSync(), shape: x.aval.shape, dtype: x.aval.dtype }));
    if (prim === dotGeneral) {
      const out = dotGeneralCpu(host, params as DotGeneralParams, outAvals[0]);
      if (out) return [this.fromHost(out, outAvals[0], device)];
    }
    const outs = eagerWasm(prim, host, params, outAvals) ?? prim.cpu(host, params, outAvals);
    return outs.map((o, i) => this.fromHost(o, outAvals[i], device));
  }
  /**
   * One primitive on every pmap shard at once, shard i's inputs on devices[i]: the shards run
   * side by side on the worker threads (shard-parallel.ts); null when the primitive has no such
   * path (the caller then executes shard by shard). pmap.ts finds this method on the backend.
   */
  executeShards(prim: Primitive, inputs: { buffer: DeviceBuffer; aval: ShapedArray }[][], params: unknown, outAvals: ShapedArray[], devices: Device[]): DeviceBuffer[][] | null {
    const host = inputs.map((shard) => shard.map((x): HostArray => ({ data: x.buffer.readSync(), shape: x.aval.shape, dtype: x.aval.dtype })));
    const outs = runShards(prim, host, params, outAvals);
    return outs && outs.map((shard, i) => shard.map((o, k) => this.fromHost(o, outAvals[k], devices[i])));
  }
  /**
   * One program on every pmap shard at once, shard i on devices[i]'s own thread; the outputs
   * stay on the threads. Null (pmap then runs the program's equations itself) when the device
   * threads are off or the program cannot be sent to a thread (a parameter holding a function).
   */
  runShardPrograms(program: ClosedJaxpr, name: string, inputs: { buffer: DeviceBuffer; aval: ShapedArray }[][], devices: Device[]): DeviceBuffer[][] | null {
    if (devices.length < 2 || !deviceThreadsEnabled()) return null;
    try {
      return runPrograms(devices.map((device, i) => ({ device, program, name, inputs: inputs[i] })));
    } catch (e) {
      if (e instanceof WireError) return null;
      throw e;
    }
  }
  /** A shard placed with devicePutSharded: on the device's thread when there are several devices (pmap reads it there). */
  placeShard(data: Storage, aval: ShapedArray, device: Device): DeviceBuffer {
    checkStorage(data, aval);
    return this.devs.length > 1 && deviceThreadsEnabled() ? putOnThread(device, data, aval) : new CpuBuffer(device, data);
  }
  /** Reads arrays held by the devices' threads in one round trip (a collective's operands). */
  readMany(buffers: readonly DeviceBuffer[]): void {
    readThreadBuffers(buffers);
  }
  async shutdown(): Promise<void> {
    await shutdownDeviceThreads();
  }
}

function deviceCount(): number {
  const raw = process.env.PRIMAL_CPU_DEVICES;
  const n = raw === undefined ? 1 : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new PrimalError(`PRIMAL_CPU_DEVICES: expected a positive integer, got "${raw}"`);
  return n;
}

/** The CPU backend, registered when the library loads. */
export const cpuBackend = new CpuBackend(deviceCount());
registerBackend(cpuBackend);
