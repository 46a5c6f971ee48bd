// The log of traced programs: every jaxpr that jit traces (and the linear program behind each
// grad/vjp) is announced here with its name and the user's source line. `primal run --ir`
// prints them; the IR panel (issue 7) and the kernel's inspect/jaxprs method read the same log.

import { ShapedArray } from "../core/aval";
import { ClosedJaxpr, SourceInfo } from "./jaxpr";
import { captureSource } from "./source";

/** One traced program. */
export interface TraceRecord {
  /** What traced it: "jit", "grad" for the linear (tangent) program that vjp transposes, or "pmap" for the per-device program of a pmap. */
  kind: "jit" | "grad" | "pmap";
  /** The traced function's name. */
  name: string;
  inAvals: ShapedArray[];
  jaxpr: ClosedJaxpr;
  /** Where the user called the transformed function. */
  source: SourceInfo | null;
  /** jit: the last outputs that are taps (transforms/taps.ts), not the function's own. */
  tapOutputs?: number;
  /** grad: the differentiated function staged (built on first use). */
  forward?: () => ClosedJaxpr;
  /** grad: the linear program transposed: output cotangents in, input cotangents out (built on first use). */
  backward?: () => ClosedJaxpr;
  /** pmap: the mapped axis (its name as the jaxpr prints it, null for an unnamed axis), its size and the devices the shards run on. */
  pmap?: { axisName: string | null; axisSize: number; devices: string[] };
}

/** What else a trace record can carry. */
export type TraceExtras = Pick<TraceRecord, "tapOutputs" | "forward" | "backward" | "pmap">;

const listeners = new Set<(r: TraceRecord) => void>();

/** Subscribes to traced programs; returns the unsubscribe function. */
export function onTrace(fn: (r: TraceRecord) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Whether anyone listens for traced programs (callers skip work that only a listener needs). */
export function traceListening(): boolean {
  return listeners.size > 0;
}

/** Announces a traced program (cheap when nobody listens). */
export function recordTrace(kind: TraceRecord["kind"], name: string, jaxpr: ClosedJaxpr, extras: TraceExtras = {}): void {
  if (listeners.size === 0) return;
  // Formatting the stack is the expensive part: done only if a listener reads the location.
  const where = captureSource();
  const r: TraceRecord = {
    kind, name, inAvals: jaxpr.inAvals, jaxpr,
    get source() {
      return where();
    },
  };
  if (extras.tapOutputs) r.tapOutputs = extras.tapOutputs;
  if (extras.forward) r.forward = once(extras.forward);
  if (extras.backward) r.backward = once(extras.backward);
  if (extras.pmap) r.pmap = extras.pmap;
  for (const l of listeners) l(r);
}

function once<T>(f: () => T): () => T {
  let done = false;
  let v: T;
  return () => {
    if (!done) {
      v = f();
      done = true;
    }
    return v;
  };
}
