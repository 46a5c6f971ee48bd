// The main thread's side of a WebGPU device: starts the device thread (gpu-thread.ts), queues
// commands and posts them in batches, and waits for replies, synchronously (Atomics.wait on a
// shared counter, then receiveMessageOnPort) where the API blocks (x.item(), printing) or with
// a promise (await x.data()). Commands are posted at the end of the current microtask (or
// before any wait), so a chain of eager ops becomes one batch, one command encoder, one submit.
//
// Errors the device thread collected (validation, out-of-memory, a lost device) come back with
// the next reply and are raised there as DeviceErrors. A lost device bumps a shared generation
// counter: handles of an older generation are dead, and using them raises a clear error at
// once instead of reaching the device.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from "node:worker_threads";
import { DeviceError } from "../../core/errors";
import { ThreadSource, findThreadSource, startWorker } from "../thread-source";
import { AdapterInfo, BATCH_DONE, CTL_DEAD, CTL_GENERATION, CTL_LIVE, CTL_REPLIES, CTL_WORDS, Command, Reply } from "./gpu-protocol";

/** A buffer on the device: an id, its size in bytes, and the device generation it belongs to. */
export interface GpuHandle {
  readonly id: number;
  readonly bytes: number;
  readonly generation: number;
}

export interface ClientOptions {
  /** create() flags, e.g. ["backend=opengles"] (PRIMAL_WEBGPU_FLAGS, comma-separated). */
  flags?: string[];
  /** Bytes the device thread keeps pooled for reuse. */
  poolBytes?: number;
}

/** Where dawn.node is: the `webgpu` package's binary for this platform. */
export function dawnPath(): string | null {
  try {
    const req = createRequire(join(process.cwd(), "noop.js"));
    let pkg: string;
    try {
      pkg = createRequire(__filename).resolve("webgpu");
    } catch {
      pkg = req.resolve("webgpu");
    }
    const arch = process.platform === "darwin" ? "universal" : process.arch;
    const p = join(pkg, "..", "dist", `${process.platform}-${arch}`, "dawn.node");
    return existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

/** The device thread's code: the bundled dist/gpu-thread.js beside this bundle, or its source transpiled (kept once built). */
function threadSource(): ThreadSource {
  const bundled = join(__dirname, "gpu-thread.js");
  // From sources: beside this file (vitest), or in the checkout (ad hoc bundles run from its root).
  const src = findThreadSource(bundled, [join(__dirname, "gpu-thread.ts"), join(process.cwd(), "kernel/backends/webgpu/gpu-thread.ts")], []);
  if (!src) throw new DeviceError(`webgpu: the device thread's code was not found, got neither ${bundled} nor its source`);
  return src;
}

/** One WebGPU device, driven through its thread. */
export class GpuClient {
  readonly info: AdapterInfo;
  private readonly worker: Worker;
  private readonly ctl: Int32Array;
  private readonly port: MessagePort;
  private queue: Command[] = [];
  private transfers: ArrayBuffer[] = [];
  private scheduled = false;
  /** Batches posted and not yet done. */
  private outstanding = 0;
  private nextId = 1;
  private nextToken = 1;
  private nextShader = 1;
  private readonly shaders = new Map<string, number>();
  private readonly replies = new Map<number, Reply>();
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private readonly pendingErrors: string[] = [];
  private readonly timeListeners: ((times: [number, number][]) => void)[] = [];
  /** Bytes of live handles (allocated, not freed). */
  liveBytes = 0;
  /** Live handles (allocated, not freed). */
  liveCount = 0;

  /** Starts the thread and opens the device; throws a DeviceError when there is no adapter. */
  constructor(opts: ClientOptions = {}) {
    const dawn = dawnPath();
    if (!dawn) throw new DeviceError("webgpu: the `webgpu` package (Dawn's Node bindings) is not installed, got no dawn.node for " + `${process.platform}-${process.arch}`);
    const sab = new SharedArrayBuffer(CTL_WORDS * 4);
    this.ctl = new Int32Array(sab);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const src = threadSource();
    const workerData = { dawnPath: dawn, ctl: sab, replies: port2, flags: opts.flags ?? [], powerPreference: "high-performance", poolBytes: opts.poolBytes ?? 256 << 20 };
    const wopts = { workerData, transferList: [port2], stdout: false, stderr: false };
    this.worker = startWorker(src, wopts);
    this.worker.on("exit", () => {
      Atomics.store(this.ctl, CTL_DEAD, 1);
      for (const w of this.waiting.values()) w.reject(new DeviceError("webgpu: the device thread exited"));
      this.waiting.clear();
    });
    this.worker.on("error", (e) => this.pendingErrors.push(`webgpu: the device thread failed: ${e.message}`));
    this.worker.unref();
    this.port.on("message", (r: Reply) => this.received(r));
    this.port.unref();
    const ready = this.wait(0, false);
    if (ready.failed || !ready.ready) {
      void this.worker.terminate();
      throw new DeviceError(`webgpu: ${ready.failed ?? "the device did not open"}`);
    }
    this.info = ready.ready;
  }

  /** The current device generation (bumped at each device loss). */
  get generation(): number {
    return Atomics.load(this.ctl, CTL_GENERATION);
  }

  /** Buffers the device thread holds for live arrays. */
  get liveBuffers(): number {
    return Atomics.load(this.ctl, CTL_LIVE);
  }

  private send(cmd: Command, transfer?: ArrayBuffer): void {
    this.queue.push(cmd);
    if (transfer) this.transfers.push(transfer);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Posts the queued commands now. */
  flush(): void {
    this.scheduled = false;
    if (!this.queue.length) return;
    const batch = this.queue;
    const transfers = this.transfers;
    this.queue = [];
    this.transfers = [];
    // The thread keeps the process alive while it has work (see BATCH_DONE).
    if (this.outstanding++ === 0) this.worker.ref();
    this.worker.postMessage(batch, transfers);
  }

  private received(r: Reply): void {
    if (r.token === BATCH_DONE) {
      if (--this.outstanding === 0) this.worker.unref();
      return;
    }
    if (r.times?.length) for (const l of this.timeListeners) l(r.times);
    const w = this.waiting.get(r.token);
    if (w) {
      this.waiting.delete(r.token);
      if (this.waiting.size === 0) this.port.unref();
      w.resolve(r);
    } else this.replies.set(r.token, r);
  }

  /** Blocks until the reply to `token` arrives; raises the device's errors unless `raise` is false. */
  private wait(token: number, raise = true): Reply {
    this.flush();
    for (;;) {
      const seen = Atomics.load(this.ctl, CTL_REPLIES);
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.received(m.message as Reply);
      const r = this.replies.get(token);
      if (r) {
        this.replies.delete(token);
        if (raise) this.raise(r);
        return r;
      }
      if (Atomics.load(this.ctl, CTL_DEAD)) throw new DeviceError("webgpu: the device thread exited");
      Atomics.wait(this.ctl, CTL_REPLIES, seen, 1000);
    }
  }

  private raise(r: Reply): void {
    const errs = [...this.pendingErrors.splice(0), ...r.errors];
    if (errs.length) throw new DeviceError(errs.length === 1 ? errs[0] : `${errs[0]} (and ${errs.length - 1} more: ${errs.slice(1).join("; ")})`);
  }

  private request(cmd: Command & { token: number }): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiting.set(cmd.token, {
        resolve: (r) => {
          try {
            this.raise(r);
            resolve(r);
          } catch (e) {
            reject(e);
          }
        },
        reject,
      });
      this.port.ref();
      this.send(cmd);
      this.flush();
    });
  }

  /** A new buffer of `bytes`, with `data` uploaded when given (padded to 4 bytes here). */
  upload(bytes: number, data: ArrayBufferView | null): GpuHandle {
    const id = this.nextId++;
    let copy: ArrayBuffer | null = null;
    if (data && data.byteLength) {
      const n = Math.ceil(data.byteLength / 4) * 4;
      const u8 = new Uint8Array(n);
      u8.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      copy = u8.buffer;
    }
    this.send({ c: "write", id, bytes, data: copy }, copy ?? undefined);
    this.liveBytes += bytes;
    this.liveCount++;
    return { id, bytes, generation: this.generation };
  }

  /** Returns a buffer to the device's pool. */
  free(h: GpuHandle): void {
    this.liveBytes -= h.bytes;
    this.liveCount--;
    if (h.generation !== this.generation) return;
    this.send({ c: "free", ids: [h.id] });
  }

  /** The id of a shader (compiled once per distinct text; pipelines are shared). */
  shader(code: string, entry: string, access: ("read" | "rw")[], label: string): number {
    const key = `${entry}\n${access.join(",")}\n${code}`;
    let sid = this.shaders.get(key);
    if (sid === undefined) {
      sid = this.nextShader++;
      this.shaders.set(key, sid);
      this.send({ c: "shader", sid, code, entry, access, label });
    }
    return sid;
  }

  /** Distinct shaders sent to the device. */
  get shaderCount(): number {
    return this.shaders.size;
  }

  /** Enqueues one dispatch of shader `sid` over `bufs` (bound in order as bindings 0..n-1). */
  dispatch(sid: number, bufs: readonly GpuHandle[], wg: [number, number, number], tag = 0): void {
    this.send({ c: "run", sid, bufs: bufs.map((b) => b.id), sizes: bufs.map((b) => b.bytes), wg, tag });
  }

  /** Enqueues a device-side copy of `bytes` from `src` to `dst`. */
  copy(src: GpuHandle, dst: GpuHandle, bytes: number): void {
    this.send({ c: "copy", src: src.id, dst: dst.id, bytes });
  }

  /** The buffer's bytes, waiting for the work that writes it. */
  readSync(h: GpuHandle): ArrayBuffer {
    const token = this.nextToken++;
    this.send({ c: "read", id: h.id, bytes: h.bytes, token });
    const r = this.wait(token);
    if (!r.data) throw new DeviceError(`webgpu: reading a buffer of ${h.bytes} bytes failed`);
    return r.data;
  }

  /** The buffer's bytes, asynchronously. */
  async read(h: GpuHandle): Promise<ArrayBuffer> {
    const token = this.nextToken++;
    const r = await this.request({ c: "read", id: h.id, bytes: h.bytes, token });
    if (!r.data) throw new DeviceError(`webgpu: reading a buffer of ${h.bytes} bytes failed`);
    return r.data;
  }

  /** Waits for all submitted work (and raises its errors). */
  syncSync(): void {
    const token = this.nextToken++;
    this.send({ c: "sync", token });
    this.wait(token);
  }

  async sync(): Promise<void> {
    const token = this.nextToken++;
    await this.request({ c: "sync", token });
  }

  /** Buffer and pipeline counts on the device thread. */
  stats(): NonNullable<Reply["stats"]> {
    const token = this.nextToken++;
    this.send({ c: "stats", token });
    return this.wait(token).stats!;
  }

  /** Turns per-dispatch timestamp queries on or off (when the adapter has timestamp-query). */
  setTiming(on: boolean): void {
    this.send({ c: "timing", on });
  }

  /** Receives [tag, nanoseconds] of timed dispatches as replies bring them. */
  onTimes(fn: (times: [number, number][]) => void): void {
    this.timeListeners.push(fn);
  }

  /** Destroys the device, as a driver reset would (tests of device loss); the next command opens a new one. */
  loseDevice(): void {
    const token = this.nextToken++;
    this.send({ c: "lose", token });
    this.wait(token, false);
    // The generation moves when the device thread sees `lost` resolve.
    const g = this.generation;
    for (let i = 0; i < 200 && this.generation === g; i++) {
      this.syncSafe();
      Atomics.wait(this.ctl, CTL_DEAD, 0, 5);
    }
  }

  private syncSafe(): void {
    const token = this.nextToken++;
    this.send({ c: "sync", token });
    this.wait(token, false);
  }

  /**
   * Waits for the device's work (pipelines still compiling included), then stops the device
   * thread. Call it before `process.exit`: Dawn aborts the process when it is torn down while
   * a pipeline is compiling.
   */
  async close(): Promise<void> {
    if (Atomics.load(this.ctl, CTL_DEAD)) return;
    try {
      const token = this.nextToken++;
      await this.request({ c: "close", token });
    } catch {
      // Errors of the last work were the caller's to see at its last read; closing goes on.
    }
    // An unref'd worker would let the process end in the middle of this await.
    this.worker.ref();
    await this.worker.terminate();
  }
}
