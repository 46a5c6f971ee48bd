// Traces, tracers and `bind`, after Autodidax. Every operation ends in `bind(prim, args,
// params)`, which finds the innermost transformation whose tracers are among the arguments (or
// the dynamically innermost one) and lets its Trace process the primitive. At the bottom is the
// EvalTrace, which runs the primitive on the arguments' device. The transformations (jvp, vmap,
// staging) push their own MainTrace and Trace subclass.

import { ShapedArray } from "./aval";
import { DeviceBuffer, Device, defaultDevice } from "./device";
import { withConfig } from "./config";
import { debugLevel, debugLog } from "./debug";
import { ArgumentError, ConcretizationError, NameError, PrimalError, ValueError } from "./errors";
import { NDArray } from "./ndarray";
import { Primitive } from "./primitive";
import { describeValue } from "./shape";

/** One level of the transformation stack. */
export class MainTrace {
  /** The level's Trace (Traces hold nothing but their main, so one serves every bind). */
  private trace: Trace | null = null;
  constructor(
    readonly level: number,
    readonly traceType: new (main: MainTrace) => Trace,
    /** Data shared by all tracers of this level (e.g. the jaxpr builder). */
    readonly globalData: unknown,
  ) {}
  /** The Trace that processes this level's primitives. */
  get interpreter(): Trace {
    return (this.trace ??= new this.traceType(this));
  }
}

/** A transformation's interpreter for one level. */
export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  /** Wraps a value from a lower level as a tracer of this trace. */
  abstract pure(x: NDArray): NDArray;
  /** Like pure, for tracers of lower levels. */
  lift(x: NDArray): NDArray {
    return this.pure(x);
  }
  /** Interprets one primitive application on tracers of this trace. */
  abstract processPrimitive(prim: Primitive, tracers: NDArray[], params: unknown): NDArray[];
}

/** A value being traced by some transformation: an NDArray with no buffer of its own. */
export abstract class Tracer extends NDArray {
  abstract readonly _trace: Trace;
  constructor() {
    super(null as unknown as ShapedArray, null);
  }
  abstract override get aval(): ShapedArray;
  /** The concrete value, when the transformation knows it (JVP of a concrete primal); else null. */
  toConcrete(): NDArray | null {
    return null;
  }
  /** Returns the simplest value equal to this tracer (a lower-level value if it is one). */
  fullLower(): NDArray {
    return this;
  }
  override _concrete(op: string): NDArray {
    const c = this.toConcrete();
    if (c) return c._concrete(op);
    throw new ConcretizationError(
      `${op}: Abstract tracer value encountered where concrete value is expected: ${this.aval.toString()}. ` +
        `The value depends on a traced argument; use lax.cond/lax.whileLoop or jax-style static arguments instead of JS control flow on it.`,
    );
  }
  override get device(): Device {
    const c = this.toConcrete();
    return c ? c.device : defaultDevice();
  }
}

/** The bottom interpreter: runs primitives on concrete arrays, on their device. */
export class EvalTrace extends Trace {
  pure(x: NDArray): NDArray {
    return x;
  }
  processPrimitive(prim: Primitive, args: NDArray[], params: unknown): NDArray[] {
    return evalPrimitive(prim, args, params);
  }
}

const traceStack: MainTrace[] = [new MainTrace(0, EvalTrace, null)];
let dynamicTrace: MainTrace = traceStack[0];

/** Pushes a new transformation level for the duration of `fn`. */
export function withNewMain<T>(traceType: new (main: MainTrace) => Trace, globalData: unknown, fn: (main: MainTrace) => T): T {
  const main = new MainTrace(traceStack.length, traceType, globalData);
  traceStack.push(main);
  try {
    return fn(main);
  } finally {
    traceStack.pop();
  }
}

/** Makes `main` the dynamic trace for the duration of `fn` (staging uses this, like jit). */
export function withDynamicTrace<T>(main: MainTrace, fn: () => T): T {
  const prev = dynamicTrace;
  dynamicTrace = main;
  try {
    return fn();
  } finally {
    dynamicTrace = prev;
  }
}

/** Number of transformation levels active (0 outside any transformation). */
export function traceDepth(): number {
  return traceStack.length - 1;
}

function findTopTrace(args: NDArray[]): Trace {
  let top = dynamicTrace;
  for (const a of args) {
    if (!(a instanceof Tracer)) continue;
    const main = a._trace.main;
    // A tracer whose transformation has finished escaped through a side effect (JAX's UnexpectedTracerError).
    if (traceStack[main.level] !== main) throw escapedTracer(a);
    if (main.level > top.level) top = main;
  }
  return top.interpreter;
}

/** JAX's UnexpectedTracerError, worded as JAX words it. */
function escapedTracer(t: Tracer): PrimalError {
  return new EscapedTracerError(
    `Encountered an unexpected tracer. A function transformed by Primal had a side effect, allowing for a reference to an intermediate value with type ${t.aval.str()} wrapped in a ${t.constructor.name} to escape the scope of the transformation. ` +
      "Functions passed to grad, vmap, jit and the other transformations should not store traced values outside (in a variable of an enclosing scope, a global, an object).",
  );
}

/**
 * The innermost transformation level that binds the axis `name`: a level whose global data
 * declares `{ axisName, axisSize }` (vmap with an axisName; pmap will too), or null.
 */
export function findAxisFrame(name: string): MainTrace | null {
  for (let i = traceStack.length - 1; i > 0; i--) {
    const g = traceStack[i].globalData as { axisName?: unknown } | null;
    if (g && g.axisName === name) return traceStack[i];
  }
  return null;
}

/** The size of the named axis, or JAX's unbound axis name error. */
export function axisFrameSize(name: string): number {
  const frame = findAxisFrame(name);
  if (!frame) throw unboundAxisName(name);
  return (frame.globalData as { axisSize: number }).axisSize;
}

/** JAX's NameError for a collective over an axis no enclosing transformation binds. */
export function unboundAxisName(name: string): NameError {
  const bound = traceStack.map((m) => (m.globalData as { axisName?: unknown } | null)?.axisName).filter((n): n is string => typeof n === "string").reverse();
  const known = bound.length ? `. The following axis names (e.g. defined by pmap) are available to collective operations: [${bound.map((n) => `'${n}'`).join(", ")}]` : "";
  return new NameError(name, `unbound axis name: ${name}${known}`);
}

/** A tracer was used after its transformation ended. */
export class EscapedTracerError extends PrimalError {}

/** Raises a value into `trace`: lower-level values are wrapped (pure/lift), same-level tracers pass. */
export function fullRaise(trace: Trace, x: NDArray): NDArray {
  if (!(x instanceof Tracer)) return trace.pure(x);
  const level = trace.main.level;
  const xl = x._trace.main.level;
  if (x._trace.main === trace.main) return x;
  if (xl < level) return trace.lift(x);
  throw new PrimalError(`bind: escaped tracer: a value traced at level ${xl} was used at level ${level}, got ${x.aval.str()}`);
}

/** Applies a primitive to arguments at the innermost relevant transformation level. */
export function bind(prim: Primitive, args: NDArray[], params: unknown = {}): NDArray[] {
  let traced = false;
  for (const a of args) {
    if (!(a instanceof NDArray)) throw new ArgumentError(`${prim.name}: operands must be arrays, got ${describeValue(a)}`);
    if (a instanceof Tracer) traced = true;
  }
  // The common eager case: nothing is being traced.
  if (dynamicTrace.level === 0 && traceStack.length === 1 && !traced) return evalPrimitive(prim, args, params);
  let trace = findTopTrace(args);
  // A collective runs at (or above) the level that binds each axis it names, whatever its operands.
  if (prim.axisNames)
    for (const name of prim.axisNames(params)) {
      const frame = findAxisFrame(name);
      if (!frame) throw unboundAxisName(name);
      if (frame.level > trace.main.level) trace = frame.interpreter;
    }
  const tracers = args.map((a) => fullRaise(trace, a));
  const outs = trace.processPrimitive(prim, tracers, params);
  return outs.map((o) => (o instanceof Tracer ? o.fullLower() : o));
}

/** `bind` for primitives with one result. */
export function bind1(prim: Primitive, args: NDArray[], params: unknown = {}): NDArray {
  return bind(prim, args, params)[0];
}

/** Runs a primitive on concrete arrays: shape rule, device choice, backend execution. */
export function evalPrimitive(prim: Primitive, args: NDArray[], params: unknown): NDArray[] {
  if (prim.impl) return evalImpl(prim, args, params);
  const avals = args.map((a) => a.aval);
  const outAvals = prim.abstractEval(avals, params);
  const device = chooseDevice(prim, args);
  const inputs = args.map((a) => ({ buffer: placedBuffer(a, device, prim.name), aval: a.aval }));
  const t0 = debugLevel() >= 4 ? performance.now() : 0;
  const outs = execute(prim, inputs, params, outAvals, device);
  if (t0) debugLog(4, "eval", `${prim.name} ${avals.map((a) => a.str()).join(" ")} -> ${outAvals.map((a) => a.str()).join(" ")} on ${device} in ${(performance.now() - t0).toFixed(3)} ms`);
  const committed = args.some((a) => a._committed);
  return outs.map((b, i) => new NDArray(outAvals[i], b, committed));
}

/** A higher-order primitive on concrete arrays: here, or where the device's backend sends it (implDevice). */
function evalImpl(prim: Primitive, args: NDArray[], params: unknown): NDArray[] {
  // The device the arguments are on, found without raising: a disposed or mismatched argument
  // is the body's to report (it names the primitive that reads it).
  let device: Device | null = null;
  for (const a of args) {
    const b = a._buffer;
    if (!b) continue;
    if (a._committed) {
      device = b.device;
      break;
    }
    device ??= b.device;
  }
  device ??= defaultDevice();
  const there = device.backend.implDevice?.(prim);
  if (!there || there === device) return prim.impl!(args, params);
  const moved = args.map((a) => new NDArray(a.aval, there.backend.fromHost(a._buf(prim.name).readSync(), a.aval, there)));
  const outs = withConfig("jax_platform_name", there.platform, () => prim.impl!(moved, params));
  const committed = args.some((a) => a._committed);
  return outs.map((o) => new NDArray(o.aval, device.backend.fromHost(o._buf(prim.name).readSync(), o.aval, device), committed));
}

/** Backend execution; a failed allocation (out of memory) becomes an error naming the primitive. */
function execute(prim: Primitive, inputs: { buffer: DeviceBuffer; aval: ShapedArray }[], params: unknown, outAvals: ShapedArray[], device: Device): DeviceBuffer[] {
  try {
    return device.backend.execute(prim, inputs, params, outAvals, device);
  } catch (e) {
    if (e instanceof RangeError && /allocat|Invalid (typed )?array length|Array buffer/i.test(e.message))
      throw new ValueError(`${prim.name}: could not allocate the result on ${device} (${e.message}), got ${outAvals.map((a) => a.str()).join(", ")}`);
    throw e;
  }
}

function chooseDevice(prim: Primitive, args: NDArray[]): Device {
  let dev: Device | null = null;
  let committedDev: Device | null = null;
  for (const a of args) {
    const d = a._buf(prim.name).device;
    if (a._committed) {
      if (committedDev && committedDev !== d)
        throw new PrimalError(`${prim.name}: arguments are committed to different devices, got ${committedDev} and ${d}`);
      committedDev = d;
    }
    dev ??= d;
  }
  return committedDev ?? dev ?? defaultDevice();
}

function placedBuffer(a: NDArray, device: Device, op: string): DeviceBuffer {
  const buf = a._buf(op);
  if (buf.device === device) return buf;
  // Uncommitted arrays follow the committed ones, as in JAX.
  return device.backend.fromHost(buf.readSync(), a.aval, device);
}
