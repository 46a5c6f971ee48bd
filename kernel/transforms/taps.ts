// Taps: values computed inside a jitted function that someone outside wants to see, returned
// by the compiled program as extra outputs. The gradients panel uses them: a `valueAndGrad`
// call inside a jitted training step has only tracers at trace time, so the step's jaxpr is
// given the loss, the gradients and the differentiated inputs as extra outputs, and each call
// of the compiled step hands their concrete values to the panel (named by parameter paths).
//
// Only a jit called at top level (all its arguments concrete) collects taps, so its outputs
// are concrete; under another transformation (vmap, grad, an outer jit) a tap has nowhere to
// go and is dropped, and the caller falls back to what it knows at trace time. Nothing is
// collected unless a tap is asked for (the kernel process's inspectors), so jit programs are
// unchanged in the library.

import { NDArray } from "../core/ndarray";
import { MainTrace, Tracer } from "../core/trace";

/** A group of tapped values and what to do with their concrete values. */
export interface Tap {
  values: NDArray[];
  deliver(concrete: NDArray[]): void;
}

interface Collector {
  main: MainTrace;
  taps: Tap[];
}

const collectors: Collector[] = [];
let wanted = 0;

/** Turns tap collection on for jit traces (counted: each `true` needs a `false`). */
export function wantTaps(on: boolean): void {
  wanted = Math.max(0, wanted + (on ? 1 : -1));
}

/** Whether a jit trace should collect taps now. */
export function tapsWanted(): boolean {
  return wanted > 0;
}

/**
 * Runs `fn` (the body of a staged function whose tracers belong to `main`) collecting the taps
 * it makes; returns its result and the taps, in the order they were made.
 */
export function collectTaps<T>(main: MainTrace, fn: () => T): { result: T; taps: Tap[] } {
  const c: Collector = { main, taps: [] };
  collectors.push(c);
  try {
    return { result: fn(), taps: c.taps };
  } finally {
    collectors.pop();
  }
}

/**
 * Asks for the concrete values of `values`: delivered now when none is a tracer, or later, as
 * extra outputs of the enclosing collecting jit, when every tracer among them belongs to its
 * trace. Returns false when neither is possible (the values stay abstract).
 */
export function tapValues(values: NDArray[], deliver: (concrete: NDArray[]) => void): boolean {
  if (!values.some((v) => v instanceof Tracer)) {
    deliver(values);
    return true;
  }
  const c = collectors[collectors.length - 1];
  if (!c) return false;
  if (!values.every((v) => !(v instanceof Tracer) || v._trace.main === c.main)) return false;
  c.taps.push({ values, deliver });
  return true;
}

/** The number of extra outputs the taps add. */
export function tapOutputCount(taps: readonly Tap[]): number {
  return taps.reduce((n, t) => n + t.values.length, 0);
}

/** Hands the extra outputs of one call back to the taps that asked for them (or on to an outer collector). */
export function deliverTaps(taps: readonly Tap[], extra: NDArray[]): void {
  let k = 0;
  for (const t of taps) {
    const vals = extra.slice(k, k + t.values.length);
    k += t.values.length;
    try {
      tapValues(vals, t.deliver);
    } catch {
      /* a tap's consumer is a side view: it never fails the user's call */
    }
  }
}
