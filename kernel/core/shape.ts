// Shape arithmetic shared by every layer: sizes, strides, broadcasting, axis normalisation, and
// the argument checks every public function runs once at its boundary (shapes, sizes, integer
// arguments, options objects), so bad input gets one clear error that names the operation.

import { ArgumentError, AxisError, ShapeError, ValueError, fmtShape } from "./errors";

export type Shape = readonly number[];

/**
 * The most elements one array may have: 2^31 - 1. Flat positions and indices are int32 (JAX's
 * default int with x64 off), and it keeps every buffer within what a JS typed array can hold.
 * Larger results are refused before anything is allocated.
 */
export const MAX_ARRAY_SIZE = 2 ** 31 - 1;
const MAX_TEXT = `${MAX_ARRAY_SIZE} (2^31 - 1)`;
/** The most axes one array may have (NumPy's NPY_MAXDIMS). */
export const MAX_RANK = 64;

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function shapeEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- describing bad values ----

/**
 * A short description of any JS value for error messages, which never throws: `"abc"`,
 * `undefined`, `NaN`, `bigint 10n`, `symbol Symbol(s)`, `function f`, `object {a: 1}`,
 * `[1, [2, 3]]`, `Float32Array(3)`, `array f32[2,3]`.
 */
export function describeValue(v: unknown, depth = 0): string {
  switch (typeof v) {
    case "undefined": return "undefined";
    case "string": return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case "number": return Object.is(v, -0) ? "-0" : String(v);
    case "boolean": return String(v);
    case "bigint": return `bigint ${v}n`;
    case "symbol": return `symbol ${v.toString()}`;
    case "function": return `function ${v.name || "(anonymous)"}`;
  }
  if (v === null) return "null";
  const o = v as Record<string, unknown>;
  // NDArrays (and tracers) by their aval; duck-typed because the core's arrays import this file.
  const aval = o.aval as { str?: () => string } | undefined;
  if (aval && typeof aval.str === "function") return `array ${aval.str()}`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  if (depth > 1) return Array.isArray(v) ? "[...]" : "{...}";
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map((e) => describeValue(e, depth + 1));
    return `[${items.join(", ")}${v.length > 8 ? `, ... (${v.length} items)` : ""}]`;
  }
  if (isPlainObject(v)) {
    const keys = Object.keys(o);
    const items = keys.slice(0, 6).map((k) => `${k}: ${describeValue(o[k], depth + 1)}`);
    return `object {${items.join(", ")}${keys.length > 6 ? ", ..." : ""}}`;
  }
  return (o.constructor as { name?: string } | undefined)?.name ?? "object";
}

/**
 * A plain object (an options bag, a pytree node), from this realm or a cell's (a vm context has
 * its own Object.prototype). Lists, NDArrays, typed arrays and class instances are not.
 */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

// ---- shapes and sizes ----

/** Checks that a result of `shape` has at most MAX_RANK axes and MAX_ARRAY_SIZE elements (before allocating it). */
export function checkSize(op: string, shape: Shape): void {
  if (shape.length > MAX_RANK) throw new ValueError(`${op}: an array can have at most ${MAX_RANK} dimensions, got ${shape.length}`);
  const n = sizeOf(shape);
  if (n > MAX_ARRAY_SIZE)
    throw new ValueError(`${op}: the result would have ${n} elements, more than the limit of ${MAX_TEXT}, got shape ${fmtShape(shape)}`);
}

/**
 * Checks a shape argument: one length or a list of lengths, each a non-negative integer, with
 * at most MAX_ARRAY_SIZE elements in all. Returns it as a fresh list.
 */
export function checkShape(op: string, shape: unknown): number[] {
  const s = typeof shape === "number" ? [shape] : shape;
  if (!Array.isArray(s)) throw new ShapeError(`${op}: a shape must be a non-negative integer or a list of them, got ${describeValue(shape)}`);
  if (s.length > MAX_RANK) throw new ValueError(`${op}: an array can have at most ${MAX_RANK} dimensions, got ${s.length}`);
  for (const d of s) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0)
      throw new ShapeError(`${op}: a shape must be a list of non-negative integers, got ${describeValue(s)}`);
  }
  checkSize(op, s);
  return [...s];
}

/** NumPy broadcasting of any number of shapes; `op` names the caller in the error. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i];
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else throw new ShapeError(`${op}: shapes ${shapes.map(fmtShape).join(" and ")} cannot be broadcast together`);
    }
  }
  return out;
}

// ---- integers and axes ----

/**
 * Checks an integer argument (a count, an offset, a size): a JS number that is an integer, at
 * least `min` when given. `name` is how the message calls it.
 */
export function checkInteger(op: string, name: string, v: unknown, min?: number): number {
  const what = min === 0 ? "a non-negative integer" : min === 1 ? "a positive integer" : min !== undefined ? `an integer >= ${min}` : "an integer";
  if (typeof v !== "number") throw new ArgumentError(`${op}: ${name} must be ${what}, got ${describeValue(v)}`);
  if (!Number.isInteger(v) || (min !== undefined && v < min)) throw new ValueError(`${op}: ${name} must be ${what}, got ${describeValue(v)}`);
  return v;
}

/** Normalises a possibly negative axis for an array of rank `ndim`. */
export function normalizeAxis(op: string, axis: unknown, ndim: number): number {
  if (typeof axis !== "number" || !Number.isInteger(axis))
    throw new AxisError(`${op}: axis must be an integer, got ${describeValue(axis)}`);
  if (axis < -ndim || axis >= ndim)
    throw new AxisError(`${op}: axis ${axis} is out of bounds for array of dimension ${ndim}`);
  return axis < 0 ? axis + ndim : axis;
}

/** Normalises an `axis` option (undefined/null = all axes, number or list), sorted and unique. */
export function normalizeAxes(op: string, axis: unknown, ndim: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axis !== "number" && !Array.isArray(axis))
    throw new AxisError(`${op}: axis must be an integer, a list of integers or null, got ${describeValue(axis)}`);
  const list: unknown[] = typeof axis === "number" ? [axis] : [...axis];
  const out = list.map((a) => normalizeAxis(op, a, ndim));
  if (new Set(out).size !== out.length) throw new ValueError(`${op}: repeated axis, got ${describeValue(list)}`);
  return out.sort((a, b) => a - b);
}

/** Checks that `perm` is a permutation of 0..n-1 (negative axes allowed). */
export function checkPermutation(op: string, perm: unknown, n: number): number[] {
  if (!Array.isArray(perm)) throw new AxisError(`${op}: axes must be a list of integers, got ${describeValue(perm)}`);
  const p = perm.map((a) => normalizeAxis(op, a, n));
  if (p.length !== n || new Set(p).size !== n)
    throw new ValueError(`${op}: axes must be a permutation of 0..${n - 1}, got ${describeValue(perm)}`);
  return p;
}

// ---- options objects ----

/**
 * What an option accepts: a boolean, an integer, a number, a non-negative integer ("count"),
 * one of a list of strings, or "any" (checked by the function itself: arrays, dtypes, axes).
 * null and undefined always mean "not given".
 */
export type OptionKind = "boolean" | "integer" | "count" | "number" | "any" | readonly string[];
export type OptionSpec = Readonly<Record<string, OptionKind>>;

/**
 * Validates an options object against `spec`: it must be a plain object (undefined gives {}),
 * every key must be known, and booleans, integers, numbers and enumerated strings must have
 * the right kind of value. Unknown keys are errors, so that a misspelt option (`{ axes: 0 }`)
 * never silently does something else.
 */
export function checkOptions<T extends object>(op: string, opts: unknown, spec: OptionSpec): T {
  if (opts === undefined) return {} as T;
  if (!isPlainObject(opts)) throw new ArgumentError(`${op}: options must be a plain object, got ${describeValue(opts)}`);
  for (const key of Object.keys(opts)) {
    const kind = spec[key];
    if (kind === undefined) {
      const known = Object.keys(spec);
      throw new ArgumentError(`${op}: unknown option, got ${JSON.stringify(key)} (${known.length ? `known: ${known.join(", ")}` : "it takes no options"})`);
    }
    checkOptionValue(op, key, kind, opts[key]);
  }
  return opts as T;
}

function checkOptionValue(op: string, key: string, kind: OptionKind, v: unknown): void {
  if (v === undefined || v === null || kind === "any") return;
  if (typeof kind !== "string") {
    if (typeof v !== "string" || !kind.includes(v))
      throw new ValueError(`${op}: option ${key} must be one of ${kind.map((k) => JSON.stringify(k)).join(", ")}, got ${describeValue(v)}`);
    return;
  }
  const ok =
    kind === "boolean" ? typeof v === "boolean"
    : kind === "number" ? typeof v === "number" && !Number.isNaN(v)
    : kind === "integer" ? Number.isInteger(v)
    : Number.isInteger(v) && (v as number) >= 0;
  if (!ok) {
    const what = kind === "boolean" ? "a boolean" : kind === "number" ? "a number" : kind === "integer" ? "an integer" : "a non-negative integer";
    throw (typeof v === "number" ? new ValueError(`${op}: option ${key} must be ${what}, got ${describeValue(v)}`) : new ArgumentError(`${op}: option ${key} must be ${what}, got ${describeValue(v)}`));
  }
}

/**
 * A JAX keyword that may also be given positionally: `f(x, 1)` or `f(x, { axis: 1 })`. A plain
 * object is the options (checked against `spec`); anything else is the value itself.
 */
export function positionalOrOption<T>(op: string, arg: unknown, key: string, dflt: T, spec: OptionSpec): { value: T; opts: Record<string, any> } {
  if (isPlainObject(arg)) {
    const opts = checkOptions<Record<string, any>>(op, arg, spec);
    return { value: opts[key] !== undefined ? (opts[key] as T) : dflt, opts };
  }
  return { value: arg === undefined ? dflt : (arg as T), opts: {} };
}
