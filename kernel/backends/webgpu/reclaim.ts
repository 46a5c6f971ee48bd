// Reclaiming device memory of unreachable arrays, synchronously when it matters. Users never
// count references: an NDArray's device buffer goes back to the pool when the array becomes
// unreachable. A FinalizationRegistry does that between tasks. But a cell's training loop is
// one long synchronous task, and V8 neither runs finalization callbacks inside it nor lets a
// WeakRef's target die during the task that created or read the WeakRef (the "kept objects"
// of the WeakRef spec, cleared at the end of a job): thousands of dead intermediates would
// stay allocated until the loop ends.
//
// So `collect()` does what the end of a job does, on demand: it evaluates a no-op in a vm
// context with `microtaskMode: "afterEvaluate"`, whose microtask checkpoint clears V8's kept
// objects (measured on Node 20 and 24: WeakRefs made earlier in the same synchronous task are
// cleared by the next full collection only after it), runs a full collection (`gc`, exposed
// through V8's --expose-gc flag set at run time), and releases every entry whose WeakRef is now
// empty. The device backend calls it when live device memory or buffer count has doubled since
// the last one, and before reporting out-of-memory. (V8's `cleanupSome()` would be simpler, but
// its flag is gone from Node 24.)

import { setFlagsFromString } from "node:v8";
import { createContext, runInContext, runInNewContext } from "node:vm";

let gcFn: (() => void) | null | undefined;
let checkpointCtx: object | null = null;

function gcFunction(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  try {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("typeof gc === 'function' ? gc : null") as (() => void) | null;
    checkpointCtx = createContext({}, { microtaskMode: "afterEvaluate" });
  } catch {
    gcFn = null;
  }
  return gcFn;
}

interface Entry<T> {
  ref: WeakRef<object>;
  held: T;
}

/** Calls `release(held)` once for each registered target that has become unreachable. */
export class Reclaimer<T> {
  private readonly entries = new Set<Entry<T>>();
  private readonly byToken = new WeakMap<object, Entry<T>>();
  private readonly registry: FinalizationRegistry<Entry<T>>;

  constructor(private readonly release: (held: T) => void) {
    this.registry = new FinalizationRegistry((e) => this.drop(e));
  }

  private drop(e: Entry<T>): void {
    if (!this.entries.delete(e)) return;
    this.release(e.held);
  }

  /** Watches `target`; `token` lets `unregister` stop watching it (when released explicitly). */
  register(target: object, held: T, token: object): void {
    const e: Entry<T> = { ref: new WeakRef(target), held };
    this.entries.add(e);
    this.byToken.set(token, e);
    this.registry.register(target, e, e);
  }

  unregister(token: object): void {
    const e = this.byToken.get(token);
    if (!e) return;
    this.byToken.delete(token);
    this.entries.delete(e);
    this.registry.unregister(e);
  }

  /** Entries still watched (live or not yet found dead). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Ends V8's current "kept objects" epoch, runs a full collection and releases what it freed;
   * false when no collection can be forced here (then memory returns between tasks only).
   */
  collect(): boolean {
    const gc = gcFunction();
    if (!gc) return false;
    runInContext("0", checkpointCtx!);
    gc();
    for (const e of this.entries) {
      if (e.ref.deref() !== undefined) continue;
      this.entries.delete(e);
      this.registry.unregister(e);
      this.release(e.held);
    }
    return true;
  }
}
