// NDArray: Primal's array. Immutable, with a shape, a dtype (and weak type), and a device
// buffer. Tracers (kernel/core/trace.ts) are NDArrays without a buffer, so user code typed with
// `NDArray` works unchanged under grad, vmap and jit. The NumPy-style methods (`add`, `sum`,
// `get`, `at`, ...) are installed by kernel/api/array-methods.ts: the core never imports the API.

import { ShapedArray } from "./aval";
import { Device, DeviceBuffer, defaultDevice } from "./device";
import { DType, Storage } from "./dtype";
import { ArgumentError, ConcretizationError, DisposedError, ValueError } from "./errors";
import { bf16DecodeTable, f16DecodeTable } from "./float16";
import { formatRepr, formatStr } from "./format";
import { describeValue } from "./shape";

/** Host values as users read them: f16/bf16 are decoded to Float32Array, bool is 0/1 in Uint8Array. */
export type HostData = Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** A nested JS array of numbers/booleans, as `tolist()` returns. */
export type NestedList = number | boolean | NestedList[];

// `using x = ...` looks up Symbol.dispose; Node 20 has its own polyfilled symbol in the main
// realm and none in vm contexts (where esbuild's lowering falls back to Symbol.for), so both.
const dispose: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for("Symbol.dispose");
const disposeFor: symbol = Symbol.for("Symbol.dispose");
const inspect = Symbol.for("nodejs.util.inspect.custom");

/** Decodes storage to the values users see (f16/bf16 bit patterns become float32). */
export function decodeStorage(data: Storage, dtype: DType): HostData {
  if (dtype.name === "float16" || dtype.name === "bfloat16") {
    const table = dtype.name === "float16" ? f16DecodeTable() : bf16DecodeTable();
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = table[data[i]];
    return out;
  }
  return data;
}

/** Primal's array type. Create arrays with `np.array`, `np.zeros`, ...; never with `new`. */
export class NDArray {
  /** @internal */ _aval: ShapedArray;
  /** @internal */ _buffer: DeviceBuffer | null;
  /** @internal True once placed on a device explicitly (devicePut with a device). */ _committed: boolean;
  /** @internal */ _disposed = false;

  /** @internal */
  constructor(aval: ShapedArray, buffer: DeviceBuffer | null, committed = false) {
    // Tracers (subclasses) compute their aval; a direct `new NDArray(...)` must be given one.
    if (new.target === NDArray && !(aval instanceof ShapedArray))
      throw new ArgumentError(`NDArray: the constructor is internal, create arrays with np.array, np.zeros, ...; got ${describeValue(aval)}`);
    this._aval = aval;
    this._buffer = buffer;
    this._committed = committed;
  }

  /** The abstract value: shape, dtype, weak type. */
  get aval(): ShapedArray {
    return this._aval;
  }
  get shape(): number[] {
    return this.aval.shape as number[];
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get ndim(): number {
    return this.aval.shape.length;
  }
  get size(): number {
    return this.aval.size;
  }
  get weakType(): boolean {
    return this.aval.weakType;
  }

  /** The concrete array behind this value; tracers without one throw a ConcretizationError. */
  _concrete(op: string): NDArray {
    if (this._disposed) throw new DisposedError(`${op}: the array was disposed, got a disposed ${this.aval.str()}`);
    return this;
  }

  /** @internal The live buffer as one buffer (a sharded array's shards gathered); throws for tracers and disposed arrays. */
  _buf(op: string): DeviceBuffer {
    const b = this._rawBuf(op);
    return b.resolve ? b.resolve() : b;
  }
  /** @internal The live buffer as held: a sharded array's ShardedBuffer is not gathered. */
  _rawBuf(op: string): DeviceBuffer {
    const c = this._concrete(op);
    if (!c._buffer) throw new ConcretizationError(`${op}: abstract value has no data, got ${this.aval.str()}`);
    return c._buffer;
  }

  /** The device holding the data (a sharded array's first shard's device, where it is gathered when read whole). */
  get device(): Device {
    return this._rawBuf("device").device;
  }
  /** The set of devices holding the data: every shard's device for a pmap output. */
  devices(): Set<Device> {
    const b = this._rawBuf("devices");
    return new Set(b.devices ? b.devices() : [b.device]);
  }

  /** The data as a typed array, synchronously (always works on the CPU). */
  dataSync(): HostData {
    return this._host("dataSync");
  }
  /** @internal The decoded host data; `op` names the caller in errors. */
  _host(op: string): HostData {
    return decodeStorage(this._buf(op).readSync(), this.dtype);
  }
  /** @internal Whether reading the data now would not wait for a device (host arrays, values already read). */
  _hostReady(): boolean {
    const b = this._buffer;
    return b === null || b.peek === undefined || b.peek() !== null;
  }
  /** The data as a typed array, once pending device work is done. */
  async data(): Promise<HostData> {
    return decodeStorage(await this._buf("data").read(), this.dtype);
  }
  /** Waits for pending work without copying to the host. */
  async blockUntilReady(): Promise<this> {
    const b = this._rawBuf("blockUntilReady");
    await (b.ready ? b.ready() : b.read());
    return this;
  }
  /** Nested JS arrays (bool arrays give booleans), like NumPy's `tolist`. */
  tolist(): NestedList {
    const data = this._host("tolist");
    const isBool = this.dtype.isBool;
    const shape = this.shape;
    let pos = 0;
    const build = (d: number): NestedList => {
      if (d === shape.length) {
        const v = data[pos++];
        return isBool ? v !== 0 : v;
      }
      const out: NestedList[] = [];
      for (let i = 0; i < shape[d]; i++) out.push(build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The single element of a size-1 array as a JS number (or boolean). */
  item(): number | boolean {
    if (this.size !== 1) throw new ValueError(`item: can only convert an array of size 1 to a JS scalar, got shape [${this.shape.join(", ")}]`);
    const v = this._host("item")[0];
    return this.dtype.isBool ? v !== 0 : v;
  }

  /** Frees the device memory now. Using the array afterwards throws. */
  dispose(): void {
    if (this._disposed || !this._buffer) return;
    this._disposed = true;
    this._buffer.dispose();
    this._buffer = null;
  }
  [dispose](): void {
    this.dispose();
  }
  [disposeFor](): void {
    this.dispose();
  }

  /** NumPy's `str`: what `print(x)` shows. */
  toString(): string {
    if (this._disposed) return `<disposed ${this.aval.str()}>`;
    return formatStr(this.dataSync(), this.shape, this.dtype);
  }
  /** JAX's repr: what the last value of a cell shows, e.g. `Array([1, 2], dtype=int32)`. */
  repr(): string {
    if (this._disposed) return `<disposed ${this.aval.str()}>`;
    return formatRepr(this.dataSync(), this.shape, this.dtype, this.weakType);
  }
  [inspect](): string {
    return this.toString();
  }
  /**
   * JS's conversion to a primitive, Python's float()/bool(): `x > 0`, `+x` and `x * 2` on a
   * size-1 array give its value; on a traced value (inside jit) this raises the
   * ConcretizationError, as `if x > 0:` does in JAX. Strings (`${x}`) get the NumPy str form.
   * (A bare `if (x)` cannot be intercepted in JS: objects are always truthy.)
   */
  [Symbol.toPrimitive](hint: "number" | "string" | "default"): number | string | boolean {
    if (hint === "string") return this.toString();
    // Tracers have no buffer (and are not disposed): converting them must raise.
    const traced = this._buffer === null && !this._disposed;
    if (hint === "default" && !traced && this.size !== 1) return this.toString();
    return this.item();
  }
  get [Symbol.toStringTag](): string {
    return "NDArray";
  }
}

/** True for NDArrays (tracers included). */
export function isNDArray(x: unknown): x is NDArray {
  return x instanceof NDArray;
}

/** Wraps host storage as a concrete array on `device` (the default device when omitted). */
export function fromStorage(data: Storage, aval: ShapedArray, device?: Device, committed = false): NDArray {
  const dev = device ?? defaultDevice();
  return new NDArray(aval, dev.backend.fromHost(data, aval, dev), committed);
}
