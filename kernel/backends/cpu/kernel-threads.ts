// Worker threads for the WebAssembly kernels (wasm-kernels.ts): a kernel split along its
// outermost loop (codegen-wasm.ts's `split` modules take the range lo..hi as their last two
// parameters) runs one range per thread, all over the kernels' shared memory, and the call
// returns when every range is done, so a kernel stays a synchronous call. The process-wide GEMM
// (gemm.ts) runs its sub-GEMMs on the same workers: one pool of threads for every kernel.
//
// Unlike thread-pool.ts (one module, instantiated by each worker at start), these workers run
// any kernel module (its export `entry`, "kernel" unless it names another): a module is posted
// to a worker (structured clone of a WebAssembly.Module shares its code) the first time that
// worker runs it, and the worker takes it from its port synchronously (receiveMessageOnPort)
// when a job names it, then keeps its instance. Jobs are written into a small shared control
// array (module id, arguments) and the worker is woken through Atomics, as in thread-pool.ts
// (whose measurements of spinning vs sleeping apply here too). Workers start in the background
// on the first split call (~35 ms each); until they are ready their ranges run on the calling
// thread.
//
// The machine is shared (the 2-core development VM runs other processes' test suites): a job
// is claimed before it runs, so the caller takes back the jobs of helpers that have not
// started by the time it is done with its own, and helpers that are late as a rule (LATE_MS)
// are paused for a while, everything running on the calling thread meanwhile (`usable`).

import { availableParallelism } from "node:os";
import { MessageChannel, MessagePort, Worker } from "node:worker_threads";
import { PrimalError } from "../../core/errors";
import { WasmMemory } from "./wasm-runtime";
import { waitForFlags } from "./thread-pool";

/** Threads of the CPU backend's kernels and GEMM: PRIMAL_CPU_THREADS, else the CPUs this process may use. */
export function defaultThreads(): number {
  const raw = process.env.PRIMAL_CPU_THREADS;
  if (raw === undefined) return Math.max(1, availableParallelism());
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new PrimalError(`PRIMAL_CPU_THREADS: expected a positive integer, got "${raw}"`);
  return n;
}

// Control array: [done, errors, worker spin in µs, unused], then per worker a slot of
// generation, ready, module id, argument count, claim, arguments.
const DONE = 0;
const ERRORS = 1;
const SPIN = 2;
const MAX_ARGS = 28;
const CLAIM = 4;
const ARGS = 5;
const SLOT = ARGS + MAX_ARGS;
const slotOf = (w: number) => 4 + SLOT * w;
const CALLER_SPIN_MS = 1;
/**
 * How long a worker spins for its next job before it sleeps. A sleeping thread takes 25-60 µs
 * to wake on the 2-core VM (and its waker ~17 µs to notify it), a third of a whole GEMM of the
 * MLP step's size on one thread; the gaps between a training step's threaded GEMMs (the fused
 * kernels, the copies, the next call's dispatch) are 0.1-0.2 ms. Measured on the MLP step
 * (jitted, back to back, median): 0.05 ms spin 0.66 ms/step, 0.5 ms spin 0.42 ms/step.
 */
export const WORKER_SPIN_MS = 0.5;

/**
 * A helper is late when its caller, done with its own share, waits for it longer than this
 * (and than that share took), or when it has not even started by then. On the 2-core VM with
 * other processes busy (other test suites), whole benchmark runs of the MLP step went from 0.5
 * to 1.2-1.6 ms per step, slower than on one thread (0.55 ms): the helper, when it got a core,
 * mostly spun, and its spinning took CPU from the caller. Pausing the helpers when they are
 * late keeps such runs near the one-thread speed.
 */
export const LATE_MS = 0.25;
const PAUSE_MIN_MS = 200;
const PAUSE_MAX_MS = 5000;

// A job is claimed (compare-exchange of its claim word, 0 -> 1 by the worker, 0 -> 2 by the
// caller) before it runs, so the caller takes back the jobs of workers that have not started
// them when it is done with its own (a worker descheduled on a busy machine costs the caller
// nothing then), and a worker waking late for a job taken back skips it.
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { memory, ctl, slot, port } = workerData;
const fns = new Map();
Atomics.store(ctl, slot + 1, 1);
let gen = 0;
for (;;) {
  const until = performance.now() + Atomics.load(ctl, ${SPIN}) / 1000;
  while (Atomics.load(ctl, slot) === gen && performance.now() < until);
  Atomics.wait(ctl, slot, gen);
  gen = Atomics.load(ctl, slot);
  if (gen < 0) break;
  if (Atomics.compareExchange(ctl, slot + ${CLAIM}, 0, 1) !== 0) continue;
  try {
    const id = ctl[slot + 2];
    let fn = fns.get(id);
    for (let spins = 0; fn === undefined; spins++) {
      const m = receiveMessageOnPort(port);
      if (m) {
        fns.set(m.message.id, new WebAssembly.Instance(m.message.module, { env: { memory } }).exports[m.message.entry]);
        fn = fns.get(id);
      } else if (spins > 1e7) throw new Error("kernel module " + id + " never arrived");
    }
    const args = [];
    for (let i = 0; i < ctl[slot + 3]; i++) args.push(ctl[slot + ${ARGS} + i]);
    fn(...args);
  } catch {
    Atomics.add(ctl, ${ERRORS}, 1);
  }
  Atomics.add(ctl, ${DONE}, 1);
  Atomics.notify(ctl, ${DONE});
}
`;

/** A kernel module the workers can run: an id (unique per module and entry), the compiled module, the export to call ("kernel" if absent). */
export interface SharedKernel {
  id: number;
  module: object;
  entry?: string;
}

interface Helper {
  worker: Worker;
  port: MessagePort;
  /** Module ids already posted to it. */
  sent: Set<number>;
}

export class KernelThreads {
  private readonly ctl: Int32Array;
  private helpers: Helper[] | null = null;
  /** Jobs the calling thread took back from helpers that had not started them (tests, tuning). */
  takenBack = 0;
  /** Runs after which the caller waited long for a helper (tests, tuning). */
  lateRuns = 0;
  /** Whether a late helper pauses the helpers (tests that count threaded runs turn it off). */
  pauseWhenLate = true;
  /** Until when (performance.now(), ms) the helpers sit out, and the next such pause. */
  private pausedUntil = 0;
  private pauseMs = PAUSE_MIN_MS;
  /** Moving average of runs judged late (1) or not (0). */
  private lateRate = 0;
  private spinMs = WORKER_SPIN_MS;

  /** `count` helper threads (the calling thread runs one more range). */
  constructor(
    readonly count: number,
    private readonly memory: WasmMemory,
  ) {
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * slotOf(count)));
    this.setWorkerSpin(WORKER_SPIN_MS);
    // No job yet: a helper woken without one (wake) finds nothing to claim.
    for (let w = 0; w < count; w++) this.ctl[slotOf(w) + CLAIM] = 2;
  }

  private start(): Helper[] {
    if (!this.helpers) {
      this.helpers = Array.from({ length: this.count }, (_, w) => {
        const { port1, port2 } = new MessageChannel();
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory: this.memory, ctl: this.ctl, slot: slotOf(w), port: port2 }, transferList: [port2] });
        worker.unref();
        port1.unref();
        return { worker, port: port1, sent: new Set<number>() };
      });
    }
    return this.helpers;
  }

  /** Helpers that have started and take jobs now. */
  private ready(): number {
    if (!this.helpers) return 0;
    let n = 0;
    while (n < this.count && Atomics.load(this.ctl, slotOf(n) + 1) === 1) n++;
    return n;
  }

  /**
   * Wakes sleeping helpers without a job, so they spin (WORKER_SPIN_MS) for one that is coming:
   * a caller about to run threaded work calls it first, and the ~25-60 µs a sleeping thread
   * takes to wake up overlaps with what the caller does before.
   */
  wake(): void {
    if (!this.helpers || !this.usable) return;
    this.resumeSpin();
    for (let w = 0; w < this.count; w++) Atomics.notify(this.ctl, slotOf(w));
  }

  /** Sets how long idle workers spin for a next job before sleeping (tests, comparisons). */
  setWorkerSpin(ms: number): void {
    this.spinMs = ms;
    this.resumeSpin();
  }

  /** Back from a pause (which stopped their spinning): the helpers spin again between jobs. */
  private resumeSpin(): void {
    const us = Math.max(0, Math.round(this.spinMs * 1000));
    if (Atomics.load(this.ctl, SPIN) !== us) Atomics.store(this.ctl, SPIN, us);
  }

  /**
   * Whether threaded work should use the helpers now: false for a while after a helper kept its
   * caller waiting (see `run`). Callers that can pick their thread count (the GEMM) ask first;
   * `run` itself runs every job on the calling thread meanwhile.
   */
  get usable(): boolean {
    return performance.now() >= this.pausedUntil;
  }

  /**
   * Runs `kernel` once per argument list: jobs[0] (and any job no ready helper takes) through
   * `local` on this thread, the others on helpers; a job its helper has not started when this
   * thread is done with its own runs here too. Returns when all are done; throws if one failed.
   */
  run(kernel: SharedKernel, jobs: readonly number[][], local: (args: number[]) => void): void {
    for (const args of jobs) if (args.length > MAX_ARGS) throw new RangeError(`KernelThreads.run: at most ${MAX_ARGS} arguments, got ${args.length}`);
    const helpers = this.start();
    const c = this.ctl;
    const usable = this.usable;
    const remote = usable ? Math.min(jobs.length - 1, this.ready()) : 0;
    if (usable) this.resumeSpin();
    Atomics.store(c, DONE, 0);
    Atomics.store(c, ERRORS, 0);
    for (let w = 0; w < remote; w++) {
      const h = helpers[w];
      if (!h.sent.has(kernel.id)) {
        h.port.postMessage({ id: kernel.id, module: kernel.module, entry: kernel.entry ?? "kernel" });
        h.sent.add(kernel.id);
      }
      const args = jobs[w + 1];
      const s = slotOf(w);
      c[s + 2] = kernel.id;
      c[s + 3] = args.length;
      for (let i = 0; i < args.length; i++) c[s + ARGS + i] = args[i];
      Atomics.store(c, s + CLAIM, 0);
      Atomics.store(c, s, (c[s] & 0x3fffffff) + 1);
      Atomics.notify(c, s);
    }
    /** Remote jobs this thread took back (ran or, after an error, cancelled). */
    let taken = 0;
    const takeBack = (w: number) => Atomics.compareExchange(c, slotOf(w) + CLAIM, 0, 2) === 0 && ++taken > 0;
    let w = 0;
    const t0 = performance.now();
    try {
      local(jobs[0]);
      for (let j = 1 + remote; j < jobs.length; j++) local(jobs[j]);
      for (; w < remote; w++) if (takeBack(w)) local(jobs[w + 1]);
    } finally {
      // The helpers write the shared memory: never return (nor rethrow) before they are done.
      for (; w < remote; w++) takeBack(w);
      this.takenBack += taken;
      const need = remote - taken;
      const t1 = performance.now();
      const until = t1 + CALLER_SPIN_MS;
      while (Atomics.load(c, DONE) < need && performance.now() < until);
      for (let done = Atomics.load(c, DONE); done < need; done = Atomics.load(c, DONE)) Atomics.wait(c, DONE, done);
      if (remote > 0) this.judge(t1 - t0, performance.now() - t1, taken === remote);
    }
    if (Atomics.load(c, ERRORS) > 0) throw new Error(`KernelThreads: ${Atomics.load(c, ERRORS)} kernel job(s) failed on a worker`);
  }

  /**
   * After a run: helpers that never started their jobs before the caller was done (it took them
   * all back), or one that kept the caller waiting longer than LATE_MS and than the caller's own
   * share took, did not get a core in time. Once that is the rule rather than an accident (a
   * moving average of late runs reaches 1/2: three in a row, say), another process has the
   * core: the helpers sit out for pauseMs (doubling while it goes on, back to PAUSE_MIN_MS
   * when runs are good again), and stop spinning meanwhile, since on a busy machine a spinning
   * helper takes CPU from its own caller.
   */
  private judge(ownMs: number, waitedMs: number, allTakenBack: boolean): void {
    const late = allTakenBack || (waitedMs > LATE_MS && waitedMs > ownMs);
    this.lateRate = 0.75 * this.lateRate + (late ? 0.25 : 0);
    if (late) this.lateRuns++;
    else if (this.lateRate < 0.1) this.pauseMs = PAUSE_MIN_MS;
    if (this.lateRate < 0.5 || !this.pauseWhenLate) return;
    this.pausedUntil = performance.now() + this.pauseMs;
    this.pauseMs = Math.min(PAUSE_MAX_MS, 2 * this.pauseMs);
    this.lateRate = 0.25;
    Atomics.store(this.ctl, SPIN, 0);
  }

  /** Blocks until every helper has started (or `timeoutMs` passed); returns whether they all have. */
  waitReady(timeoutMs = 10_000): boolean {
    this.start();
    return waitForFlags(this.ctl, Array.from({ length: this.count }, (_, w) => slotOf(w) + 1), timeoutMs);
  }
}
