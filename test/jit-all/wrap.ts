// The jit-everything mode of the test suites (issue 4: "every existing test also runs with jit
// on, compiled"): a public API function wrapped so that each call from user code runs as
// `jit` of a closure. The NDArrays found anywhere in the arguments (at any depth of plain
// arrays and plain objects) become the jitted function's arguments; everything else (axes,
// shapes, dtypes, JS numbers and booleans, option objects, callbacks) is closed over and part
// of the cache key, as static arguments are in JAX. So `np.var(x, { axis: 1 })` runs as one
// compiled multi-equation program, and `np.add(x, 2)` keeps the weak scalar's semantics.
//
// A call runs unchanged (passes through) when:
//   - it is made while a transformation traces (a user's jit, grad, vmap, or our own jitted
//     closure tracing the function body): wrapping there would only nest jits;
//   - it is made from inside a pass-through call (the inner calls of np.zeros, random.normal,
//     ...): a pass-through function's internals run eagerly, as they did before;
//   - jit is disabled (config.disableJit);
//   - no argument holds an array and the function creates arrays (np.zeros([2, 3]),
//     np.array([1, 2])): jitted, it would only compute a constant. Other functions called on JS
//     data only (np.sum([1, 2, 3])) are jitted as functions of no arguments;
//   - an argument is a tracer of a finished transformation (the escaped-tracer error must stay);
//   - the function's `passIf` says so (e.g. nonzero without `size`: its output shape depends
//     on the values, which jit, in JAX too, cannot trace);
//   - the traced function returns something that is not a pytree of arrays (a JS number,
//     string, boolean or null): jit would turn a number into an array, changing the result.
//
// Every jitted program is checked to have been compiled (not interpreted because compilation
// failed): `jitAllStats().notCompiled` lists the ones that were not, and the setup fails the
// file when it is not empty.

import { config } from "../../kernel/core/config";
import { NDArray } from "../../kernel/core/ndarray";
import { Tracer, traceDepth } from "../../kernel/core/trace";
import { compileEnabled, compiledRecordOf } from "../../kernel/lower/jit-runner";
import { Jitted, jit } from "../../kernel/transforms/jit";

type Fn = (...args: any[]) => any;

/** Counters of the jit-all mode, for the dedicated test and the per-file check. */
export interface JitAllStats {
  /** Calls that ran through jit. */
  jitted: number;
  /** Calls that ran unchanged. */
  passed: number;
  /** Distinct (function, static arguments) closures jitted. */
  closures: number;
  /** Per wrapped function: calls jitted and passed through. */
  byName: Map<string, { jitted: number; passed: number }>;
  /** Names of functions whose jitted program ran interpreted (compilation failed). */
  notCompiled: Set<string>;
  /** Names of functions found to return non-arrays (run unchanged since). */
  nonArray: Set<string>;
  /** Calls run unchanged, by reason: "no arrays", "passIf", "tracer", "non-array result", "random". */
  passReasons: Map<string, number>;
}

const stats: JitAllStats = { jitted: 0, passed: 0, closures: 0, byName: new Map(), notCompiled: new Set(), nonArray: new Set(), passReasons: new Map() };
let passDepth = 0;
let enabled = true;

/** The counters so far (in this test file's module instance). */
export function jitAllStats(): JitAllStats {
  return stats;
}

/** Turns the wrappers on or off (off: every wrapped function runs unchanged). */
export function setJitAllEnabled(on: boolean): void {
  enabled = on;
}

function count(name: string, jitted: boolean, reason = ""): void {
  if (!jitted) stats.passReasons.set(reason, (stats.passReasons.get(reason) ?? 0) + 1);
  let c = stats.byName.get(name);
  if (!c) stats.byName.set(name, (c = { jitted: 0, passed: 0 }));
  if (jitted) {
    c.jitted++;
    stats.jitted++;
  } else {
    c.passed++;
    stats.passed++;
  }
}

// ---- arguments: array leaves, static template, cache key ----

const LEAF = Symbol("jit-all leaf");
interface LeafMark {
  [LEAF]: number;
}
const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;
function idOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

/** How deep `analyse` looks into nested lists and objects (deeper values are static, by identity; lists may contain themselves). */
const MAX_DEPTH = 16;

const isPlain = (v: object): boolean => {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
};

interface Analysed {
  leaves: NDArray[];
  template: unknown[];
  key: string;
  tracer: boolean;
}

/** Splits the arguments into array leaves and a static template (arrays replaced by marks), with the template's key. */
function analyse(args: readonly unknown[]): Analysed {
  const leaves: NDArray[] = [];
  let tracer = false;
  const walk = (v: unknown, depth: number): [unknown, string] => {
    if (v instanceof NDArray) {
      if (v instanceof Tracer) tracer = true;
      const mark: LeafMark = { [LEAF]: leaves.length };
      leaves.push(v);
      return [mark, "A"];
    }
    switch (typeof v) {
      case "number":
        return [v, Object.is(v, -0) ? "n-0" : `n${v}`];
      case "string":
        return [v, JSON.stringify(v)];
      case "boolean":
        return [v, v ? "T" : "F"];
      case "undefined":
        return [v, "u"];
      case "bigint":
        return [v, `${v}n`];
      case "symbol":
      case "function":
        return [v, `#${idOf(v as object)}`];
    }
    if (v === null) return [v, "null"];
    const o = v as object;
    if (depth < MAX_DEPTH && Array.isArray(o)) {
      const parts = o.map((x) => walk(x, depth + 1));
      return [parts.map((p) => p[0]), `[${parts.map((p) => p[1]).join(",")}]`];
    }
    if (depth < MAX_DEPTH && isPlain(o)) {
      const out: Record<string, unknown> = {};
      const keys: string[] = [];
      for (const k of Object.keys(o)) {
        const [t, key] = walk((o as Record<string, unknown>)[k], depth + 1);
        out[k] = t;
        keys.push(`${JSON.stringify(k)}:${key}`);
      }
      return [out, `{${keys.join(",")}}`];
    }
    // Class instances (dtypes, devices, typed arrays, keys, refs): by identity.
    return [o, `#${idOf(o)}`];
  };
  const parts = args.map((a) => walk(a, 0));
  return { leaves, template: parts.map((p) => p[0]), key: `${args.length}|${parts.map((p) => p[1]).join(",")}`, tracer };
}

/** The template with its marks replaced by the traced arrays. */
function rebuild(t: unknown, xs: readonly NDArray[], depth = 0): unknown {
  if (t === null || typeof t !== "object") return t;
  if (LEAF in (t as object)) return xs[(t as LeafMark)[LEAF]];
  // Below MAX_DEPTH `analyse` kept the original value (possibly a cyclic list): so does this.
  if (depth >= MAX_DEPTH) return t;
  if (Array.isArray(t)) return t.map((x) => rebuild(x, xs, depth + 1));
  if (isPlain(t)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(t)) out[k] = rebuild((t as Record<string, unknown>)[k], xs, depth + 1);
    return out;
  }
  return t;
}

/** Whether `v` is a pytree (arrays, plain objects; null and undefined are empty subtrees) whose leaves are all NDArrays. */
function allArrays(v: unknown, depth = 0): boolean {
  if (v instanceof NDArray || v === null || v === undefined) return true;
  if (typeof v !== "object" || depth > MAX_DEPTH) return false;
  if (Array.isArray(v)) return v.every((x) => allArrays(x, depth + 1));
  if (isPlain(v)) return Object.values(v).every((x) => allArrays(x, depth + 1));
  return false;
}

/** Thrown from the traced closure when the function returns something other than arrays. */
class NotArrays extends Error {}

const MAX_CLOSURES = 64;

/** How a function is wrapped. */
export interface JitAllOptions {
  /** A reason to run this call unchanged, or null. */
  passIf?: (args: unknown[]) => string | null;
  /**
   * Run calls whose arguments hold no array unchanged (creation functions: jitted, they would
   * only compute a constant). Otherwise such a call is jitted as a function of no arguments,
   * which the compiler's constant folding and the jit output path then handle.
   */
  passWithoutArrays?: boolean;
}

/** `fn` wrapped for the jit-all mode under `name` (shown in the trace log and the compiled records). */
export function jitAllWrap<F extends Fn>(name: string, fn: F, opts: JitAllOptions = {}): F {
  const { passIf, passWithoutArrays = false } = opts;
  const closures = new Map<string, Jitted<Fn> | "pass">();
  const pass = (self: unknown, args: unknown[], reason: string): unknown => {
    count(name, false, reason);
    passDepth++;
    try {
      return fn.apply(self, args);
    } finally {
      passDepth--;
    }
  };
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    if (!enabled || passDepth > 0 || traceDepth() > 0 || config.disableJit) return fn.apply(this, args);
    if (passIf?.(args)) return pass(this, args, "passIf");
    const a = analyse(args);
    if (a.leaves.length === 0 && passWithoutArrays) return pass(this, args, "no arrays");
    if (a.tracer) return pass(this, args, "tracer");
    let j = closures.get(a.key);
    if (j === "pass") return pass(this, args, "non-array result");
    if (!j) {
      const template = a.template;
      const self = this;
      const body = (...xs: NDArray[]) => {
        const out = fn.apply(self, rebuild(template, xs) as unknown[]);
        if (!allArrays(out)) throw new NotArrays();
        return out;
      };
      Object.defineProperty(body, "name", { value: name });
      j = jit(body);
      if (closures.size >= MAX_CLOSURES) closures.delete(closures.keys().next().value as string);
      closures.set(a.key, j);
      stats.closures++;
    }
    let out: unknown;
    try {
      out = j(...a.leaves);
    } catch (e) {
      if (!(e instanceof NotArrays)) throw e;
      stats.nonArray.add(name);
      closures.set(a.key, "pass");
      return pass(this, args, "non-array result");
    }
    count(name, true);
    if (compileEnabled() && compiledRecordOf(j.lower(...a.leaves)) === null) stats.notCompiled.add(name);
    return out;
  };
  Object.defineProperty(wrapped, "name", { value: fn.name });
  Object.defineProperty(wrapped, "length", { value: fn.length });
  WRAPPED.add(wrapped);
  return wrapped as unknown as F;
}

/** `fn` wrapped so that the API calls it makes run eagerly (random functions, ...). */
export function passThroughWrap<F extends Fn>(name: string, fn: F): F {
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    if (!enabled || passDepth > 0 || traceDepth() > 0) return fn.apply(this, args);
    count(name, false, "random");
    passDepth++;
    try {
      return fn.apply(this, args);
    } finally {
      passDepth--;
    }
  };
  Object.defineProperty(wrapped, "name", { value: fn.name });
  Object.defineProperty(wrapped, "length", { value: fn.length });
  WRAPPED.add(wrapped);
  return wrapped as unknown as F;
}

const WRAPPED = new WeakSet<Fn>();

/** Whether `f` is one of the wrappers made here. */
export function isJitAllWrapper(f: unknown): boolean {
  return typeof f === "function" && WRAPPED.has(f as Fn);
}
