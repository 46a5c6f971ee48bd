// Worker threads for the WebAssembly kernels (wasm-kernels.ts): a kernel split along its
// outermost loop (codegen-wasm.ts's `split` modules take the range lo..hi as their last two
// parameters) runs one range per thread, all over the kernels' shared memory, and the call
// returns when every range is done, so a kernel stays a synchronous call.
//
// Unlike the GEMM's pool (thread-pool.ts: one module, instantiated by each worker at start),
// these workers run any kernel module: a module is posted to a worker (structured clone of a
// WebAssembly.Module shares its code) the first time that worker runs it, and the worker takes
// it from its port synchronously (receiveMessageOnPort) when a job names it, then keeps its
// instance. Jobs are written into a small shared control array (module id, arguments) and the
// worker is woken through Atomics, as in thread-pool.ts (whose measurements of spinning vs
// sleeping apply here too). Workers start in the background on the first split call (~35 ms
// each); until they are ready their ranges run on the calling thread.

import { MessageChannel, MessagePort, Worker } from "node:worker_threads";
import { WasmMemory } from "./wasm-runtime";

const DONE = 0;
const ERRORS = 1;
/** Per worker: generation, ready, module id, argument count, arguments. */
const MAX_ARGS = 28;
const SLOT = 4 + MAX_ARGS;
const slotOf = (w: number) => 4 + SLOT * w;
const CALLER_SPIN_MS = 1;
const WORKER_SPIN_MS = 0.05;

const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { memory, ctl, slot, port } = workerData;
const fns = new Map();
Atomics.store(ctl, slot + 1, 1);
let gen = 0;
for (;;) {
  const until = performance.now() + ${WORKER_SPIN_MS};
  while (Atomics.load(ctl, slot) === gen && performance.now() < until);
  Atomics.wait(ctl, slot, gen);
  gen = Atomics.load(ctl, slot);
  if (gen < 0) break;
  try {
    const id = ctl[slot + 2];
    let fn = fns.get(id);
    for (let spins = 0; fn === undefined; spins++) {
      const m = receiveMessageOnPort(port);
      if (m) {
        fns.set(m.message.id, new WebAssembly.Instance(m.message.module, { env: { memory } }).exports.kernel);
        fn = fns.get(id);
      } else if (spins > 1e7) throw new Error("kernel module " + id + " never arrived");
    }
    const args = [];
    for (let i = 0; i < ctl[slot + 3]; i++) args.push(ctl[slot + 4 + i]);
    fn(...args);
  } catch {
    Atomics.add(ctl, ${ERRORS}, 1);
  }
  Atomics.add(ctl, ${DONE}, 1);
  Atomics.notify(ctl, ${DONE});
}
`;

/** A kernel module the workers can run: an id (unique per module) and the compiled module. */
export interface SharedKernel {
  id: number;
  module: object;
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

  /** `count` helper threads (the calling thread runs one more range). */
  constructor(
    readonly count: number,
    private readonly memory: WasmMemory,
  ) {
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * slotOf(count)));
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
   * Runs `kernel` once per argument list: jobs[0] (and any job no ready helper takes) through
   * `local` on this thread, the others on helpers. Returns when all are done; throws if one failed.
   */
  run(kernel: SharedKernel, jobs: readonly number[][], local: (args: number[]) => void): void {
    const helpers = this.start();
    const c = this.ctl;
    const remote = Math.min(jobs.length - 1, this.ready());
    Atomics.store(c, DONE, 0);
    Atomics.store(c, ERRORS, 0);
    for (let w = 0; w < remote; w++) {
      const h = helpers[w];
      if (!h.sent.has(kernel.id)) {
        h.port.postMessage({ id: kernel.id, module: kernel.module });
        h.sent.add(kernel.id);
      }
      const args = jobs[w + 1];
      if (args.length > MAX_ARGS) throw new RangeError(`KernelThreads.run: at most ${MAX_ARGS} arguments, got ${args.length}`);
      const s = slotOf(w);
      c[s + 2] = kernel.id;
      c[s + 3] = args.length;
      args.forEach((a, i) => (c[s + 4 + i] = a));
      Atomics.store(c, s, (c[s] & 0x3fffffff) + 1);
      Atomics.notify(c, s);
    }
    try {
      local(jobs[0]);
      for (let j = 1 + remote; j < jobs.length; j++) local(jobs[j]);
    } finally {
      // The helpers write the shared memory: never return (nor rethrow) before they are done.
      const until = performance.now() + CALLER_SPIN_MS;
      while (Atomics.load(c, DONE) < remote && performance.now() < until);
      for (let done = Atomics.load(c, DONE); done < remote; done = Atomics.load(c, DONE)) Atomics.wait(c, DONE, done);
    }
    if (Atomics.load(c, ERRORS) > 0) throw new Error(`KernelThreads: ${Atomics.load(c, ERRORS)} kernel job(s) failed on a worker`);
  }

  /** Blocks until every helper has started (or `timeoutMs` passed); returns whether they all have. */
  waitReady(timeoutMs = 10_000): boolean {
    this.start();
    const until = performance.now() + timeoutMs;
    for (let w = 0; w < this.count; w++) {
      while (Atomics.load(this.ctl, slotOf(w) + 1) !== 1) {
        const left = until - performance.now();
        if (left <= 0) return false;
        Atomics.wait(this.ctl, slotOf(w) + 1, 0, Math.min(left, 5));
      }
    }
    return true;
  }
}
