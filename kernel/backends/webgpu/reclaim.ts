// Reclaiming device memory of unreachable arrays, synchronously when it matters. Users never
// count references: an NDArray's device buffer goes back to the pool when the array becomes
// unreachable (a FinalizationRegistry). But V8 runs finalization callbacks only between tasks,
// and a cell's training loop is one long synchronous task: its thousands of dead intermediates
// would not be returned until the loop ends. So the registry here is made in a private context
// created with V8's `--harmony-weak-refs-with-cleanup-some`, whose `cleanupSome()` runs the
// callbacks of already-collected arrays on demand; the backend calls it on every allocation
// (cheap when there is nothing to do) and, when the device memory budget is reached, forces a
// full collection first (`gc`, exposed the same way). Where the flags are not available (a
// future V8 without them), the registry is a plain one and memory is reclaimed between tasks.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Registry<T> = FinalizationRegistry<T> & { cleanupSome?: (cb?: (held: T) => void) => void };

let ctor: (new <T>(cb: (held: T) => void) => Registry<T>) | null = null;
let gcFn: (() => void) | null | undefined;

function privateContext(): void {
  if (ctor) return;
  try {
    setFlagsFromString("--harmony-weak-refs-with-cleanup-some");
    setFlagsFromString("--expose-gc");
    const ctx = runInNewContext("({ FR: FinalizationRegistry, gc: typeof gc === 'function' ? gc : null })");
    ctor = typeof ctx.FR.prototype.cleanupSome === "function" ? ctx.FR : FinalizationRegistry;
    gcFn = ctx.gc;
  } catch {
    ctor = FinalizationRegistry as never;
    gcFn = null;
  }
}

/** A FinalizationRegistry whose pending callbacks can be run synchronously (when V8 allows). */
export class Reclaimer<T> {
  private readonly registry: Registry<T>;
  constructor(release: (held: T) => void) {
    privateContext();
    this.registry = new ctor!<T>(release);
  }
  register(target: object, held: T, token?: object): void {
    this.registry.register(target, held, token);
  }
  unregister(token: object): void {
    this.registry.unregister(token);
  }
  /** Runs the callbacks of targets already collected; false when V8 cannot do that synchronously. */
  cleanup(): boolean {
    if (!this.registry.cleanupSome) return false;
    this.registry.cleanupSome();
    return true;
  }
  /** A full garbage collection, then the callbacks; false when neither is available. */
  collect(): boolean {
    if (!gcFn) return false;
    gcFn();
    return this.cleanup();
  }
  /** Whether memory of unreachable arrays can be reclaimed inside a synchronous loop. */
  static synchronous(): boolean {
    privateContext();
    return ctor !== (FinalizationRegistry as unknown) && gcFn !== null;
  }
}
