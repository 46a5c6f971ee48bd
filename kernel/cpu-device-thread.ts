// A CPU device's thread: a worker that runs its own copy of Primal (its own wasm heap, kernel
// threads and compile caches: the device's own memory) for one logical CPU device, driven by
// the main thread's kernel/backends/cpu/device-threads.ts. It keeps the device's arrays by the
// ids the main thread chose, rebuilds each program (a closed jaxpr in the wire format,
// kernel/ir/wire.ts) once, runs it compiled (bound with jit, so the worker's compiler and CPU
// backend execute it) and keeps the outputs until the main thread reads or frees them.
//
// The main thread blocks (Atomics.wait) while it waits for a reply, so it cannot see events
// such as this worker's 'error' or 'exit'. Every reply therefore bumps a shared counter and
// wakes it, and a failure that ends the thread (the library failing to load, an exception
// outside a command) sets this thread's dead flag in the same shared array first. That is also
// why the library is loaded with a dynamic import: its loading errors are caught and reported,
// where a static import would fail before any of this code ran.
//
// The inspectors: every program compiled here is recorded in this thread's own compile log
// (kernel/lower/inspect.ts), tagged with the program and run name that compiled it, and the
// `inspect` command answers with those records already in the kernels panel's form (the same
// conversion the kernel server uses, kernel/server/inspect-records.ts), since the log's records
// hold jaxprs that cannot be posted. The `kernelText` command answers with the same records as
// `primal run --kernels` prints them, below their heading (kernel/lower/inspect.ts's
// formatCompiledSteps, the main thread's own code), since the heading names the line that called
// the pmap, which only the main thread knows. Kernel timing follows the main thread's (`timing`).
//
// Bundled on its own (scripts/build.mjs -> dist/cpu-device-thread.js); from sources, the main
// side bundles this file with esbuild (kernel/backends/thread-source.ts).

import { MessagePort, parentPort, threadId, workerData } from "node:worker_threads";
import type { ThreadCommand, ThreadCompiledRecord, ThreadKernelText, ThreadReply, ThreadWorkerData } from "./backends/cpu/device-thread-protocol";
import type { NDArray } from "./core/ndarray";
import type { ClosedJaxpr } from "./ir/jaxpr";
import type { CompiledRecord } from "./lower/inspect";

const data = workerData as ThreadWorkerData;
const ctl = new Int32Array(data.ctl);
const replies: MessagePort = data.replies;

/** Posts a reply and wakes the main thread (which may be in Atomics.wait on the counter). */
function reply(r: ThreadReply, transfer: ArrayBuffer[] = []): void {
  replies.postMessage(r, transfer);
  Atomics.add(ctl, data.repliesIndex, 1);
  Atomics.notify(ctl, data.repliesIndex);
}

const errorOf = (e: unknown): { name: string; message: string } =>
  e instanceof Error ? { name: e.name || "Error", message: e.message } : { name: "Error", message: String(e) };

/** Marks the thread dead (with the reason as a reply the main thread reads) before it ends. */
function die(e: unknown): void {
  if (Atomics.load(ctl, data.deadIndex)) return;
  Atomics.store(ctl, data.deadIndex, 1);
  reply({ token: -1, ok: false, error: errorOf(e) });
}

process.on("uncaughtException", (e) => {
  die(e);
  process.exit(1);
});

/** What the worker uses of the library, loaded by `load`. */
interface Lib {
  bind: typeof import("./core/trace").bind;
  jitP: typeof import("./transforms/jit").jitP;
  fromStorage: typeof import("./core/ndarray").fromStorage;
  ShapedArray: typeof import("./core/aval").ShapedArray;
  DTYPES: typeof import("./core/dtype").DTYPES;
  decodeClosedJaxpr: typeof import("./ir/wire").decodeClosedJaxpr;
  inspectCompiled: typeof import("./lower/inspect").inspectCompiled;
  setKernelTiming: typeof import("./lower/inspect").setKernelTiming;
  formatCompiledSteps: typeof import("./lower/inspect").formatCompiledSteps;
  kernelProgramRecord: typeof import("./server/inspect-records").kernelProgramRecord;
}

async function load(): Promise<Lib> {
  // The whole library first: it registers the backends, the primitives and the compiler.
  await import("./index");
  const [trace, jit, nd, aval, dtype, wire, inspect, records, debug] = await Promise.all([
    import("./core/trace"),
    import("./transforms/jit"),
    import("./core/ndarray"),
    import("./core/aval"),
    import("./core/dtype"),
    import("./ir/wire"),
    import("./lower/inspect"),
    import("./server/inspect-records"),
    import("./core/debug"),
  ]);
  debug.setDebugTag(`cpu:${data.device}`);
  // Every program compiled from here on is tagged with the run that compiled it.
  inspect.onCompile((r) => origins.set(r, { pid: running?.pid ?? null, name: running?.name ?? null, at: performance.timeOrigin + performance.now() }));
  return {
    bind: trace.bind, jitP: jit.jitP, fromStorage: nd.fromStorage, ShapedArray: aval.ShapedArray, DTYPES: dtype.DTYPES, decodeClosedJaxpr: wire.decodeClosedJaxpr,
    inspectCompiled: inspect.inspectCompiled, setKernelTiming: inspect.setKernelTiming, formatCompiledSteps: inspect.formatCompiledSteps,
    kernelProgramRecord: records.kernelProgramRecord,
  };
}

/** The run in progress (its program and name), while a program runs. */
let running: { pid: number; name: string } | null = null;
/** Which program's run compiled each record, under what name, and when. */
const origins = new WeakMap<CompiledRecord, { pid: number | null; name: string | null; at: number }>();
/** Whether this thread asked for kernel timing (the main thread's setting, from `timing`). */
let timingOn = false;

/** The answer to `inspect`: the newest `limit` records (or those with `ids`), oldest first, in the kernels panel's form. */
function inspectRecords(lib: Lib, limit: number | undefined, ids: number[] | undefined): { records: ThreadCompiledRecord[]; total: number } {
  const all = lib.inspectCompiled();
  const wanted = ids ? new Set(ids) : null;
  const picked: CompiledRecord[] = [];
  for (let i = all.length - 1; i >= 0 && (limit === undefined || picked.length < limit); i--) if (!wanted || wanted.has(all[i].id)) picked.push(all[i]);
  const records = picked.reverse().map((c): ThreadCompiledRecord => {
    const o = origins.get(c);
    const record = lib.kernelProgramRecord(c);
    // Compiled from a decoded jaxpr, the record is named "jit": the run's name is the pmapped function's.
    if (o?.name) record.name = o.name;
    return { pid: o?.pid ?? null, at: o?.at ?? 0, record };
  });
  return { records, total: all.length };
}

/** The answer to `kernelText`: the records numbered above `after` (all without it), oldest first, as text below their heading. */
function kernelText(lib: Lib, after: number | undefined): ThreadKernelText[] {
  return lib.inspectCompiled()
    .filter((c) => after === undefined || c.id > after)
    .map((c) => {
      const o = origins.get(c);
      return { id: c.id, pid: o?.pid ?? null, at: o?.at ?? 0, name: o?.name ?? c.name, text: lib.formatCompiledSteps(c) };
    });
}

/** The device's arrays by id; an array stored under several ids (an output that is an input) is counted. */
const arrays = new Map<number, NDArray>();
const refs = new Map<NDArray, number>();
/** Decoded programs by id, or why decoding failed (raised at the program's first run). */
const programs = new Map<number, ClosedJaxpr | Error>();
/** Arrays that belong to a program (its consts): an output that is one is never disposed. */
const programOwned = new WeakSet<NDArray>();

function hold(id: number, x: NDArray): void {
  arrays.set(id, x);
  refs.set(x, (refs.get(x) ?? 0) + 1);
}

function release(id: number): void {
  failedPuts.delete(id);
  const x = arrays.get(id);
  if (!x) return;
  arrays.delete(id);
  const n = (refs.get(x) ?? 1) - 1;
  if (n > 0) refs.set(x, n);
  else {
    refs.delete(x);
    if (!programOwned.has(x)) x.dispose();
  }
}

/** Uploads that failed, by id (until freed). */
const failedPuts = new Map<number, Error>();

function input(id: number, name: string): NDArray {
  const x = arrays.get(id);
  if (x) return x;
  throw failedPuts.get(id) ?? new Error(`${name}: input array #${id} is not on this device thread, got an unknown or freed id`);
}

function handle(lib: Lib, cmd: ThreadCommand): void {
  switch (cmd.c) {
    case "put":
      try {
        hold(cmd.id, lib.fromStorage(cmd.data, new lib.ShapedArray(cmd.shape, lib.DTYPES[cmd.dtype], cmd.weak)));
      } catch (e) {
        // Puts have no reply: the run that reads the array raises this.
        failedPuts.set(cmd.id, e instanceof Error ? e : new Error(String(e)));
      }
      return;
    case "program":
      try {
        const cj = lib.decodeClosedJaxpr(cmd.wire);
        for (const c of cj.consts) programOwned.add(c);
        programs.set(cmd.pid, cj);
      } catch (e) {
        programs.set(cmd.pid, e instanceof Error ? e : new Error(String(e)));
      }
      return;
    case "drop":
      programs.delete(cmd.pid);
      return;
    case "run": {
      try {
        const cj = programs.get(cmd.pid);
        if (cj === undefined) throw new Error(`${cmd.name}: program #${cmd.pid} was never sent to this device thread`);
        if (cj instanceof Error) throw cj;
        running = { pid: cmd.pid, name: cmd.name };
        const outs = lib.bind(lib.jitP, cmd.inputs.map((id) => input(id, cmd.name)), { jaxpr: cj, name: cmd.name });
        if (outs.length !== cmd.outputs.length) throw new Error(`${cmd.name}: the program returned ${outs.length} outputs, expected ${cmd.outputs.length}`);
        outs.forEach((x, k) => hold(cmd.outputs[k], x));
        reply({ token: cmd.token, ok: true });
      } catch (e) {
        reply({ token: cmd.token, ok: false, error: errorOf(e) });
      } finally {
        running = null;
        for (const id of cmd.release) release(id);
      }
      return;
    }
    case "get":
      try {
        // A copy the reply owns (transferred): the array keeps its own storage.
        const copy = input(cmd.id, "readSync")._buf("readSync").readSync().slice();
        reply({ token: cmd.token, ok: true, data: copy }, [copy.buffer as ArrayBuffer]);
      } catch (e) {
        reply({ token: cmd.token, ok: false, error: errorOf(e) });
      }
      return;
    case "free":
      for (const id of cmd.ids) release(id);
      return;
    case "stats":
      reply({ token: cmd.token, ok: true, stats: { threadId, liveArrays: arrays.size, programs: programs.size } });
      return;
    case "timing":
      // setKernelTiming nests: this thread holds at most one request.
      if (cmd.on !== timingOn) lib.setKernelTiming((timingOn = cmd.on));
      return;
    case "inspect":
      try {
        reply({ token: cmd.token, ok: true, inspect: inspectRecords(lib, cmd.limit, cmd.ids) });
      } catch (e) {
        reply({ token: cmd.token, ok: false, error: errorOf(e) });
      }
      return;
    case "kernelText":
      try {
        reply({ token: cmd.token, ok: true, kernelText: kernelText(lib, cmd.after) });
      } catch (e) {
        reply({ token: cmd.token, ok: false, error: errorOf(e) });
      }
      return;
  }
}

// Batches arriving while the library loads wait for it, in order.
let lib: Lib | null = null;
const early: ThreadCommand[][] = [];
const run = (batch: ThreadCommand[]) => {
  for (const cmd of batch) handle(lib!, cmd);
};
parentPort!.on("message", (batch: ThreadCommand[]) => (lib ? run(batch) : early.push(batch)));

load().then(
  (l) => {
    lib = l;
    reply({ token: 0, ok: true, ready: { threadId, at: performance.timeOrigin + performance.now() } });
    for (const batch of early.splice(0)) run(batch);
  },
  (e) => die(e),
);
