// A pool of worker_threads that run one exported function of a WebAssembly module over a
// shared WebAssembly.Memory: the threads of WasmSgemm (gemm.ts), the GEMM with a memory of its
// own that the tuning benchmarks and tests use. The library's kernels and GEMM run on
// kernel-threads.ts's workers, over the kernels' heap. Each worker instantiates
// the same compiled module (V8 shares the code between threads) over the same memory, then
// waits on its slot of a small control array (Atomics.wait); `run` hands out one job per
// thread, does job 0 on the calling thread, and blocks until every job is done. So a kernel
// stays a synchronous call, as the backend's `execute` is.
//
// Jobs are (ptr, count) pairs: what they mean is the module's business (for the GEMM, a list
// of `count` argument records at ptr). Workers start on the first run that needs them (about
// 35 ms each), are unref'd (they never keep the process alive) and live until `close`.
//
// The worker is a short script given as source (`eval: true`) rather than a file, so it works
// the same from the bundles in dist/, from the TypeScript sources under vitest, and from a
// user's own bundle.

import { Worker } from "node:worker_threads";
import { WasmMemory } from "./wasm-runtime";

// Control array: [done, errors, then per worker w four slots at 4(w+1): generation, ptr, count, ready].
const DONE = 0;
const ERRORS = 1;
const slotOf = (w: number) => 4 * (w + 1);

// Sleeping in Atomics.wait and being woken costs ~75 µs on this VM (measured: an empty run of
// two jobs took 75 µs with futex waits on both sides, 13 µs when the caller spins, 1.3 µs
// back to back when the workers also spin). So the caller spins up to CALLER_SPIN_MS for the
// workers before it sleeps, and a worker spins WORKER_SPIN_MS for a next job before it sleeps.
const CALLER_SPIN_MS = 1;
const WORKER_SPIN_MS = 0.05;

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, ctl, slot, entry } = workerData;
let run = null;
try {
  run = new WebAssembly.Instance(module, { env: { memory } }).exports[entry];
} catch {}
Atomics.store(ctl, slot + 3, 1);
let gen = 0;
for (;;) {
  const until = performance.now() + ${WORKER_SPIN_MS};
  while (Atomics.load(ctl, slot) === gen && performance.now() < until);
  Atomics.wait(ctl, slot, gen);
  gen = Atomics.load(ctl, slot);
  if (gen < 0) break;
  try {
    run(ctl[slot + 1], ctl[slot + 2]);
  } catch {
    Atomics.add(ctl, ${ERRORS}, 1);
  }
  Atomics.add(ctl, ${DONE}, 1);
  Atomics.notify(ctl, ${DONE});
}
`;

export class WasmThreadPool {
  private ctl: Int32Array;
  private workers: Worker[] | null = null;

  /**
   * `helpers` worker threads (the calling thread is one more) running `entry(ptr, count)` of
   * `module` (a compiled WebAssembly.Module importing env.memory) over the shared `memory`.
   */
  constructor(
    readonly helpers: number,
    private readonly module: object,
    private readonly memory: WasmMemory,
    private readonly entry: string,
  ) {
    this.ctl = new Int32Array(0);
    // Workers take ~35 ms each to start: begin now, in the background, so the first run that
    // needs them does not wait (until they are ready, their jobs run on the calling thread).
    this.start();
  }

  /** How many jobs one `run` takes: the helpers and the calling thread. */
  get threads(): number {
    return this.helpers + 1;
  }

  private start(): Worker[] {
    if (!this.workers) {
      // A fresh control array: workers of a closed generation may still be winding down on the old one.
      this.ctl = new Int32Array(new SharedArrayBuffer(4 * slotOf(this.helpers)));
      this.workers = Array.from({ length: this.helpers }, (_, w) => {
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: this.module, memory: this.memory, ctl: this.ctl, slot: slotOf(w), entry: this.entry } });
        worker.unref();
        return worker;
      });
    }
    return this.workers;
  }

  /**
   * Runs jobs[0] through `local` on this thread and jobs[1..] on the workers, and returns when
   * all are done (at most `threads` jobs). Throws if a worker's job failed.
   */
  run(jobs: readonly (readonly [number, number])[], local: (ptr: number, count: number) => void): void {
    if (jobs.length > this.threads) throw new RangeError(`WasmThreadPool.run: ${jobs.length} jobs for ${this.threads} threads`);
    this.start();
    const c = this.ctl;
    // Jobs beyond the workers that are ready run here, after job 0.
    const remote = Math.min(jobs.length - 1, this.readyWorkers());
    const here = [jobs[0], ...jobs.slice(1 + remote)].filter((j) => j !== undefined);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, ERRORS, 0);
    for (let w = 0; w < remote; w++) {
      const s = slotOf(w);
      c[s + 1] = jobs[w + 1][0];
      c[s + 2] = jobs[w + 1][1];
      Atomics.store(c, s, (c[s] & 0x3fffffff) + 1); // a new generation (always > 0; -1 stops)
      Atomics.notify(c, s);
    }
    try {
      for (const [ptr, count] of here) local(ptr, count);
    } finally {
      // The workers write the shared memory: never return (nor rethrow) before they are done.
      const until = performance.now() + CALLER_SPIN_MS;
      while (Atomics.load(c, DONE) < remote && performance.now() < until);
      for (let done = Atomics.load(c, DONE); done < remote; done = Atomics.load(c, DONE)) Atomics.wait(c, DONE, done);
    }
    if (Atomics.load(c, ERRORS) > 0) throw new Error(`WasmThreadPool: ${Atomics.load(c, ERRORS)} worker job(s) failed`);
  }

  /** Workers that have started and will take jobs now. */
  readyWorkers(): number {
    if (!this.workers) return 0;
    let ready = 0;
    while (ready < this.helpers && Atomics.load(this.ctl, slotOf(ready) + 3) === 1) ready++;
    return ready;
  }

  /** Blocks until every worker has started (or `timeoutMs` passed); returns whether they all have. */
  waitReady(timeoutMs = 10_000): boolean {
    this.start();
    return waitForFlags(this.ctl, Array.from({ length: this.helpers }, (_, w) => slotOf(w) + 3), timeoutMs);
  }

  /** Stops the workers (a later `run` starts new ones). */
  close(): void {
    if (!this.workers) return;
    for (let w = 0; w < this.helpers; w++) {
      Atomics.store(this.ctl, slotOf(w), -1);
      Atomics.notify(this.ctl, slotOf(w));
    }
    this.workers = null;
  }
}

/**
 * Blocks until every slot of `ctl` listed in `slots` holds 1 (a worker's "started" flag), or
 * `timeoutMs` passed; returns whether they all do. Shared by both worker pools.
 */
export function waitForFlags(ctl: Int32Array, slots: readonly number[], timeoutMs: number): boolean {
  const until = performance.now() + timeoutMs;
  for (const slot of slots) {
    while (Atomics.load(ctl, slot) !== 1) {
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(ctl, slot, 0, Math.min(left, 5));
    }
  }
  return true;
}
