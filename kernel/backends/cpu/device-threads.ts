// The CPU devices' threads, main side. With PRIMAL_CPU_DEVICES=N, each logical CPU device
// cpu:k gets a worker thread of its own (kernel/cpu-device-thread.ts) running its own copy of
// Primal: its own wasm heap, kernel threads and compile caches, which is the device's memory.
// pmap sends each device a program (a closed jaxpr without collectives) and its shard of the
// inputs; the programs run compiled on all the threads at once, and their outputs stay on the
// threads (ThreadBuffer) until the main thread reads or frees them, so a chain of programs
// passes its values along without copying them back.
//
// The main thread drives the threads synchronously, as gpu-client.ts drives the WebGPU device
// thread: commands are posted in batches (one postMessage per thread per batch), and where an
// answer is needed (a run's completion, a read) the main thread blocks in Atomics.wait on a
// counter shared by all the threads, which each reply bumps, then takes the replies from the
// threads' ports with receiveMessageOnPort. Ids of arrays and programs are chosen here, so
// uploads and runs need no answer before the next command: `runPrograms` posts every job, then
// waits for one reply per job.
//
// A thread starts on the first job for its device and lives until `shutdownDeviceThreads`; it
// is unref'd, so it never keeps the process alive. Each device thread gets
// max(1, floor(T / N)) kernel threads of its own (T = PRIMAL_CPU_THREADS, else the CPUs).
// PRIMAL_CPU_DEVICE_THREADS=0 turns the device threads off (pmap then runs on this thread).
//
// The inspectors: each thread keeps the records of the programs it compiled (its own copy of
// kernel/lower/inspect.ts's log). `deviceThreadRecords` asks the started threads for them, in
// the kernels panel's form made on the thread, with the program each came from, and
// `deviceThreadKernelText` for their text (`primal run --kernels`, inspect/kernels); a thread
// measures its kernels whenever this thread's kernel timing is on (the setting goes out with
// the next command after it changes).

import { join } from "node:path";
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from "node:worker_threads";
import { ShapedArray } from "../../core/aval";
import { Device, DeviceBuffer, checkStorage, getBackend } from "../../core/device";
import { Storage } from "../../core/dtype";
import {
  ArgumentError, AxisError, ConcretizationError, DTypeError, DeviceError, DisposedError, IndexError, NameError, NotAvailableError, PrimalError, ShapeError, ValueError,
} from "../../core/errors";
import { ClosedJaxpr } from "../../ir/jaxpr";
import { WireClosedJaxpr, WireError, encodeClosedJaxpr } from "../../ir/wire";
import { kernelTimingOn } from "../../lower/inspect";
import { findThreadSource, startWorker, threadSourceExists } from "../thread-source";
import { defaultThreads } from "./kernel-threads";
import type { ThreadCommand, ThreadCompiledRecord, ThreadKernelText, ThreadReply, ThreadWorkerData } from "./device-thread-protocol";

export type { ThreadCommand, ThreadCompiledRecord, ThreadKernelText, ThreadReply, ThreadWorkerData } from "./device-thread-protocol";

const REPLIES = 0;
const deadIndex = (device: number) => 1 + device;

// ---------------------------------------------------------------------------------------------
// The threads

const ENTRY = "cpu-device-thread";
/** The bundle beside this one (dist/), else the source: beside kernel/ (vitest) or in the checkout (ad hoc bundles). */
const bundledEntry = () => join(__dirname, `${ENTRY}.js`);
const sourceEntries = () => [join(__dirname, "..", "..", `${ENTRY}.ts`), join(process.cwd(), "kernel", `${ENTRY}.ts`)];

let enabled: boolean | null = null;

/** Whether device threads are on: PRIMAL_CPU_DEVICE_THREADS !== "0" and the worker code is found. */
export function deviceThreadsEnabled(): boolean {
  enabled ??= process.env.PRIMAL_CPU_DEVICE_THREADS !== "0" && threadSourceExists(bundledEntry(), sourceEntries());
  return enabled;
}

/** CPU devices of this process (the threads' count, for their share of the cores). */
const cpuDeviceCount = () => getBackend("cpu").devices().length;

/** One device's thread: its worker, the commands queued for it, the replies it sent. */
class DeviceThread {
  readonly worker: Worker;
  private readonly port: MessagePort;
  private queue: ThreadCommand[] = [];
  private transfers: ArrayBuffer[] = [];
  private readonly replies = new Map<number, ThreadReply>();
  /** Programs this thread has been sent. */
  readonly programs = new Set<number>();
  /** When the worker was started, and when the library was loaded in it (ms since the epoch), once it said so. */
  readonly startedAt: number;
  readyAt: number | null = null;
  threadId: number | null = null;
  /** Arrays uploaded to this thread (puts), for tests of in-place chains. */
  uploads = 0;
  /** The kernel-timing setting last sent to the thread (null before the first). */
  timing: boolean | null = null;
  closed = false;
  private failure: string | null = null;

  constructor(
    readonly device: number,
    private readonly ctl: Int32Array,
  ) {
    const src = findThreadSource(bundledEntry(), sourceEntries());
    if (!src) throw new DeviceError(`cpu:${device}: the device thread's code was not found, got neither ${bundledEntry()} nor its source`);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const n = cpuDeviceCount();
    const threads = Math.max(1, Math.floor(defaultThreads() / n));
    const workerData: ThreadWorkerData = { ctl: ctl.buffer as SharedArrayBuffer, repliesIndex: REPLIES, deadIndex: deadIndex(device), replies: port2, device };
    const env = { ...process.env, PRIMAL_CPU_DEVICES: "1", PRIMAL_BACKEND: "cpu", PRIMAL_CPU_DEVICE_THREADS: "0", PRIMAL_CPU_THREADS: String(threads) };
    this.startedAt = performance.timeOrigin + performance.now();
    this.worker = startWorker(src, { workerData, transferList: [port2], env, name: `primal cpu:${device}` });
    this.worker.unref();
    this.port.unref();
  }

  /** Queues a command (posted at the next flush). */
  send(cmd: ThreadCommand, transfer?: ArrayBuffer): void {
    if (this.closed) return;
    this.queue.push(cmd);
    if (transfer) this.transfers.push(transfer);
    schedule(this);
  }

  /** Frees an array, in order with the other commands (consecutive frees travel as one command). */
  free(id: number): void {
    if (this.closed) return;
    const last = this.queue[this.queue.length - 1];
    if (last?.c === "free") last.ids.push(id);
    else this.send({ c: "free", ids: [id] });
  }

  /** Posts the queued commands now. */
  flush(): void {
    if (this.closed || !this.queue.length) return;
    const batch = this.queue;
    const transfers = this.transfers;
    this.queue = [];
    this.transfers = [];
    this.worker.postMessage(batch, transfers);
  }

  /** Takes the replies that have arrived. */
  drain(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      const r = m.message as ThreadReply;
      if (r.token === 0 && r.ok && r.ready) {
        this.readyAt = r.ready.at;
        this.threadId = r.ready.threadId;
      } else if (r.token === -1) this.failure = r.ok ? "ended" : `${r.error.name}: ${r.error.message}`;
      else this.replies.set(r.token, r);
    }
  }

  /** The reply to `token` if it is there (removed from the pending ones). */
  take(token: number): ThreadReply | undefined {
    const r = this.replies.get(token);
    if (r) this.replies.delete(token);
    return r;
  }

  /** Whether the thread has ended (or was shut down). */
  get dead(): boolean {
    return this.closed || Atomics.load(this.ctl, deadIndex(this.device)) !== 0;
  }

  /** Throws a DeviceError when the thread can no longer answer. */
  checkAlive(): void {
    if (this.closed) throw new DeviceError(`cpu:${this.device}: the device thread was shut down, got a request for it`);
    if (Atomics.load(this.ctl, deadIndex(this.device))) {
      this.drain();
      throw new DeviceError(`cpu:${this.device}: the device thread ended, got ${this.failure ?? "no reason"}`);
    }
  }

  /** Sends a request and blocks for its reply. */
  request(cmd: ThreadCommand & { token: number }): ThreadReply {
    this.checkAlive();
    this.send(cmd);
    return waitFor([{ thread: this, token: cmd.token }])[0];
  }
}

let ctl: Int32Array | null = null;
/** Started threads by device id. */
const threads = new Map<number, DeviceThread>();
let nextToken = 1;
let nextId = 1;
let nextProgram = 1;

/** The thread of `device`, started on first use. */
function threadFor(device: Device): DeviceThread {
  if (device.platform !== "cpu") throw new ArgumentError(`runPrograms: device threads are for CPU devices, got ${device}`);
  let t = threads.get(device.id);
  if (!t) {
    ctl ??= new Int32Array(new SharedArrayBuffer(4 * (1 + cpuDeviceCount())));
    threads.set(device.id, (t = new DeviceThread(device.id, ctl)));
  }
  t.checkAlive();
  syncTiming(t);
  return t;
}

/** Sends the thread this thread's kernel-timing setting when it changed (or was never sent). */
function syncTiming(t: DeviceThread): void {
  const on = kernelTimingOn();
  if (t.timing === on) return;
  t.timing = on;
  t.send({ c: "timing", on });
}

// Commands go out at the end of the current microtask, or before any wait: frees and uploads
// ride with the next run.
const dirty = new Set<DeviceThread>();
let scheduled = false;
function schedule(t: DeviceThread): void {
  dirty.add(t);
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(flushAll);
}
function flushAll(): void {
  scheduled = false;
  for (const t of dirty) t.flush();
  dirty.clear();
}

/** Blocks until every (thread, token) has its reply; returns them in order. */
function waitFor(pending: { thread: DeviceThread; token: number }[]): ThreadReply[] {
  flushAll();
  if (!pending.length) return [];
  const out: (ThreadReply | undefined)[] = pending.map(() => undefined);
  for (;;) {
    const seen = Atomics.load(ctl!, REPLIES);
    let missing = false;
    pending.forEach(({ thread, token }, k) => {
      if (out[k]) return;
      thread.drain();
      out[k] = thread.take(token);
      if (!out[k]) missing = true;
    });
    if (!missing) return out as ThreadReply[];
    for (let k = 0; k < pending.length; k++) if (!out[k]) pending[k].thread.checkAlive();
    Atomics.wait(ctl!, REPLIES, seen, 1000);
  }
}

// ---------------------------------------------------------------------------------------------
// Buffers on the threads

/** Frees the thread copy of buffers that were garbage-collected without dispose(). */
const reclaim = new FinalizationRegistry<{ thread: DeviceThread; id: number }>(({ thread, id }) => thread.free(id));

/** An array in a device thread's memory. Arrays are immutable, so a host copy, once read, is kept. */
class ThreadBuffer implements DeviceBuffer {
  private host: Storage | null = null;
  /** @internal */ freed = false;
  constructor(
    readonly device: Device,
    /** @internal */ readonly thread: DeviceThread,
    /** @internal */ readonly id: number,
    readonly aval: ShapedArray,
  ) {
    reclaim.register(this, { thread, id }, this);
  }
  readSync(): Storage {
    if (this.host) return this.host;
    if (this.freed) throw new DisposedError(`readSync: the array was disposed, got a disposed ${this.aval.str()} on ${this.device}`);
    return this.received(this.thread.request({ c: "get", token: nextToken++, id: this.id }));
  }
  /** @internal Keeps the data of a `get` reply (checked against the aval). */
  received(r: ThreadReply): Storage {
    if (!r.ok) throw threadError(r.error, this.device);
    const data = r.data;
    if (!data || !(data instanceof this.aval.dtype.storage) || data.length !== this.aval.size)
      throw new DeviceError(`readSync: ${this.device}'s thread sent data that does not match ${this.aval.str()}, got ${data ? `${data.constructor.name}(${data.length})` : "none"}`);
    return (this.host = data);
  }
  async read(): Promise<Storage> {
    return this.readSync();
  }
  /** Programs are done when runPrograms returns: nothing to wait for. */
  async ready(): Promise<void> {}
  peek(): Storage | null {
    return this.host;
  }
  dispose(): void {
    if (this.freed) return;
    this.freed = true;
    this.host = null;
    reclaim.unregister(this);
    this.thread.free(this.id);
  }
}

/**
 * Reads many buffers to the host at once: every thread is asked for all of its arrays among
 * them in one batch and the replies are awaited together (one round trip in all, instead of
 * one per array: a collective reads one operand per device). Buffers not on a thread, or
 * already read, are left alone.
 */
export function readThreadBuffers(bufs: readonly DeviceBuffer[]): void {
  const todo = [...new Set(bufs)].filter((b): b is ThreadBuffer => b instanceof ThreadBuffer && b.peek() === null && !b.freed);
  if (todo.length < 2) return;
  const pending = todo.map((b) => {
    const token = nextToken++;
    b.thread.checkAlive();
    b.thread.send({ c: "get", token, id: b.id });
    return { thread: b.thread, token };
  });
  waitFor(pending).forEach((r, k) => todo[k].received(r));
}

/** Whether a buffer lives on a device thread. */
export function isThreadBuffer(b: DeviceBuffer): boolean {
  return b instanceof ThreadBuffer;
}

/** Sends a copy of `data` to the thread as a new array; returns its id. */
function upload(thread: DeviceThread, data: Storage, aval: ShapedArray): number {
  checkStorage(data, aval);
  const id = nextId++;
  // Ours to transfer: the caller's storage is never detached (nor its whole buffer cloned, for a view).
  const copy = data.slice() as Storage;
  thread.send({ c: "put", id, dtype: aval.dtype.name, shape: [...aval.shape], weak: aval.weakType, data: copy }, copy.buffer as ArrayBuffer);
  thread.uploads++;
  return id;
}

/** Uploads host storage to a device's thread (for sharding inputs ahead of time). */
export function putOnThread(device: Device, data: Storage, aval: ShapedArray): DeviceBuffer {
  const thread = threadFor(device);
  return new ThreadBuffer(device, thread, upload(thread, data, aval), aval);
}

// ---------------------------------------------------------------------------------------------
// Programs

/** One program run on one device's thread. Inputs may be any DeviceBuffers: ones already on that device's thread are used in place; others are read (readSync) and uploaded first. */
export interface ProgramJob {
  device: Device;
  program: ClosedJaxpr;
  name: string;
  inputs: { buffer: DeviceBuffer; aval: ShapedArray }[];
}

/** Each program's wire form and id, encoded once. */
const encoded = new WeakMap<ClosedJaxpr, { pid: number; wire: WireClosedJaxpr }>();
/** The programs by id, while they live (the inspectors ask which program a thread's record came from). */
const programById = new Map<number, WeakRef<ClosedJaxpr>>();
/** Tells the threads to drop the programs whose jaxpr was garbage-collected. */
const programGone = new FinalizationRegistry<number>((pid) => {
  programById.delete(pid);
  for (const t of threads.values())
    if (t.programs.delete(pid)) t.send({ c: "drop", pid });
});

function programOf(cj: ClosedJaxpr): { pid: number; wire: WireClosedJaxpr } {
  let e = encoded.get(cj);
  if (!e) {
    e = { pid: nextProgram++, wire: encodeClosedJaxpr(cj) };
    encoded.set(cj, e);
    programById.set(e.pid, new WeakRef(cj));
    programGone.register(cj, e.pid);
  }
  return e;
}

/** The errors a thread's message can come back as, by class name (kernel/core/errors.ts's, and the wire's). */
const ERRORS: Record<string, new (message: string) => PrimalError> = {
  PrimalError, ShapeError, DTypeError, AxisError, IndexError, ValueError, ConcretizationError, ArgumentError, DisposedError, NotAvailableError, DeviceError, WireError,
};

/** The main thread's error for a thread's: the same class (and message) when it is one of Primal's, else a DeviceError naming it. */
function threadError(e: { name: string; message: string }, device: Device): PrimalError {
  if (e.name === "NameError") return new NameError("", e.message);
  const cls = Object.hasOwn(ERRORS, e.name) ? ERRORS[e.name] : null;
  if (cls) return new cls(e.message);
  return new DeviceError(`${device}: ${e.name}: ${e.message}`);
}

/**
 * Runs every job on its device's thread, all at once (posted to every thread, then waited for
 * together), and returns each job's outputs as buffers on that device's thread (ThreadBuffer).
 * Throws the first failure as a PrimalError subclass carrying the worker's message (same class
 * name when it is one of kernel/core/errors.ts's classes); the other jobs' outputs are then
 * freed. Encodes each ClosedJaxpr once and sends it to a thread once.
 */
export function runPrograms(jobs: ProgramJob[]): DeviceBuffer[][] {
  if (!jobs.length) return [];
  // Everything that can be checked here is, before anything is posted.
  const prepared = jobs.map((job) => {
    const inAvals = job.program.inAvals;
    if (job.inputs.length !== inAvals.length) throw new ArgumentError(`${job.name}: the program takes ${inAvals.length} inputs, got ${job.inputs.length}`);
    job.inputs.forEach((x, k) => {
      const want = inAvals[k];
      if (x.aval.dtype !== want.dtype || x.aval.shape.length !== want.shape.length || x.aval.shape.some((d, i) => d !== want.shape[i]))
        throw new ShapeError(`${job.name}: input ${k} of the program is ${want.str()}, got ${x.aval.str()}`);
    });
    return { job, thread: threadFor(job.device), program: programOf(job.program) };
  });
  const posted: Posted[] = [];
  try {
    for (const p of prepared) posted.push(post(p.job, p.thread, p.program));
  } catch (e) {
    // An input could not be read (disposed, or its thread failed): the jobs already started
    // run to their end, and their outputs are dropped.
    discard(posted);
    throw e;
  }
  const replies = waitFor(posted);
  const failed = replies.findIndex((r) => !r.ok);
  if (failed >= 0) {
    replies.forEach((r, k) => {
      if (r.ok) for (const id of posted[k].outputs) posted[k].thread.free(id);
    });
    const r = replies[failed] as Extract<ThreadReply, { ok: false }>;
    throw threadError(r.error, jobs[failed].device);
  }
  return posted.map(({ thread, outputs }, k) => {
    const avals = jobs[k].program.outAvals;
    return outputs.map((id, i) => new ThreadBuffer(jobs[k].device, thread, id, avals[i]));
  });
}

/** A job sent to its thread: the token of its reply and the ids its outputs will have. */
interface Posted {
  thread: DeviceThread;
  token: number;
  outputs: number[];
}

/** Sends a job's program (once), its inputs that are not on the thread yet, and the run; starts it at once. */
function post(job: ProgramJob, thread: DeviceThread, { pid, wire }: { pid: number; wire: WireClosedJaxpr }): Posted {
  const inputs: number[] = [];
  const release: number[] = [];
  try {
    for (const { buffer, aval } of job.inputs) {
      if (buffer instanceof ThreadBuffer && buffer.thread === thread && !buffer.freed) inputs.push(buffer.id);
      else {
        const id = upload(thread, buffer.readSync(), aval);
        inputs.push(id);
        release.push(id);
      }
    }
  } catch (e) {
    for (const id of release) thread.free(id);
    throw e;
  }
  if (!thread.programs.has(pid)) {
    thread.programs.add(pid);
    thread.send({ c: "program", pid, wire });
  }
  const outputs = job.program.outAvals.map(() => nextId++);
  const token = nextToken++;
  thread.send({ c: "run", token, pid, name: job.name, inputs, outputs, release });
  // Started now, while the next jobs' inputs are read and uploaded.
  thread.flush();
  return { thread, token, outputs };
}

/** Waits for jobs whose results nobody will take, and frees their outputs. */
function discard(posted: Posted[]): void {
  try {
    waitFor(posted).forEach((r, k) => {
      if (r.ok) for (const id of posted[k].outputs) posted[k].thread.free(id);
    });
  } catch {
    // A thread that ended has nothing left to free.
  }
}

// ---------------------------------------------------------------------------------------------
// Shutdown and statistics

/** Stops the threads (the backend's shutdown); arrays left on them are gone (reading one raises a DeviceError). */
export async function shutdownDeviceThreads(): Promise<void> {
  const all = [...threads.values()];
  threads.clear();
  dirty.clear();
  ctl = null;
  for (const t of all) t.closed = true;
  await Promise.all(all.map((t) => t.worker.terminate()));
}

/** For tests: per started thread, its device id, worker threadId, live arrays, programs decoded, arrays uploaded and start-up time (ms, until the library was loaded there). */
export function deviceThreadStats(): { device: number; threadId: number; liveArrays: number; programs: number; uploads: number; startupMs: number | null }[] {
  const all = [...threads.values()].sort((a, b) => a.device - b.device);
  const pending = all.map((thread) => {
    const token = nextToken++;
    thread.checkAlive();
    thread.send({ c: "stats", token });
    return { thread, token };
  });
  return waitFor(pending).map((r, k) => {
    const t = all[k];
    if (!r.ok || !r.stats) throw threadError(r.ok ? { name: "DeviceError", message: "no statistics in the reply" } : r.error, getBackend("cpu").devices()[t.device]);
    return { device: t.device, threadId: r.stats.threadId, liveArrays: r.stats.liveArrays, programs: r.stats.programs, uploads: t.uploads, startupMs: t.readyAt === null ? null : t.readyAt - t.startedAt };
  });
}

// ---------------------------------------------------------------------------------------------
// Inspection

/** One device thread's compiled programs (deviceThreadRecords). */
export interface DeviceThreadRecords {
  device: Device;
  /** Records the thread keeps in all (its compile log is capped, as this thread's is). */
  total: number;
  /** The records picked, oldest first, each with the program it was compiled for while that program lives here. */
  records: (ThreadCompiledRecord & { program: ClosedJaxpr | null })[];
}

/**
 * The compiled-program records of the started device threads, in device order: one round trip
 * to all of them at once (nothing is started; none started gives []). `query` says what to ask
 * each device's thread for (its newest `limit` records, or its own record `ids`; null skips the
 * thread). Threads that ended are skipped. The records are made on the threads, in the
 * kernels panel's form (kernel/server/inspect-records.ts's kernelProgramRecord).
 */
export function deviceThreadRecords(query: (device: number) => { limit?: number; ids?: number[] } | null): DeviceThreadRecords[] {
  return askThreads(
    (thread, token) => {
      const q = query(thread.device);
      if (!q) return null;
      const cmd: Extract<ThreadCommand, { c: "inspect" }> = { c: "inspect", token };
      if (q.limit !== undefined) cmd.limit = q.limit;
      if (q.ids) cmd.ids = [...q.ids];
      return cmd;
    },
    (r, device) => {
      if (!r.inspect) throw threadError({ name: "DeviceError", message: "no records in the reply to inspect" }, device);
      return {
        device,
        total: r.inspect.total,
        records: r.inspect.records.map((x) => ({ ...x, program: liveProgram(x.pid) })),
      };
    },
  );
}

/** One device thread's compiled programs as text (deviceThreadKernelText). */
export interface DeviceThreadKernelText {
  device: Device;
  /** The records picked, oldest first, each with the program it was compiled for while that program lives here. */
  records: (ThreadKernelText & { program: ClosedJaxpr | null })[];
}

/**
 * The started device threads' compiled programs as `primal run --kernels` prints them (below
 * the heading, which names the pmap's line that only this thread knows), in device order: one
 * round trip to all of them at once, nothing started. `after(device)` is the thread's own record
 * id after which to list (undefined: all it keeps; null skips the thread). Threads that ended
 * are skipped.
 */
export function deviceThreadKernelText(after: (device: number) => number | undefined | null = () => undefined): DeviceThreadKernelText[] {
  return askThreads(
    (thread, token) => {
      const a = after(thread.device);
      if (a === null) return null;
      const cmd: Extract<ThreadCommand, { c: "kernelText" }> = { c: "kernelText", token };
      if (a !== undefined) cmd.after = a;
      return cmd;
    },
    (r, device) => {
      if (!r.kernelText) throw threadError({ name: "DeviceError", message: "no text in the reply to kernelText" }, device);
      return { device, records: r.kernelText.map((x) => ({ ...x, program: liveProgram(x.pid) })) };
    },
  );
}

/** The program with id `pid`, while it lives here. */
const liveProgram = (pid: number | null): ClosedJaxpr | null => (pid === null ? null : (programById.get(pid)?.deref() ?? null));

/**
 * Sends each started, live thread the command `make` gives it (null: that thread is not asked)
 * and waits for all the replies at once; `read` turns each successful reply into the answer.
 */
function askThreads<T>(
  make: (thread: DeviceThread, token: number) => (ThreadCommand & { token: number }) | null,
  read: (r: Extract<ThreadReply, { ok: true }>, device: Device) => T,
): T[] {
  const asked: { thread: DeviceThread; token: number }[] = [];
  for (const thread of [...threads.values()].sort((a, b) => a.device - b.device)) {
    if (thread.dead) continue;
    const token = nextToken++;
    const cmd = make(thread, token);
    if (!cmd) continue;
    thread.send(cmd);
    asked.push({ thread, token });
  }
  if (!asked.length) return [];
  const devs = getBackend("cpu").devices();
  return waitFor(asked).map((r, k) => {
    const device = devs[asked[k].thread.device];
    if (!r.ok) throw threadError(r.error, device);
    return read(r, device);
  });
}
