// jax.numpy's array creation: array/asarray, zeros/ones/full/empty and their *Like forms,
// arange, linspace/logspace/geomspace, eye/identity/tri, meshgrid and copy, with JAX's dtype
// and weak-type rules (float32 default, a JS scalar fill value gives a weakly typed result).
// Shapes, sizes and counts are static JS numbers; every value is produced by primitives through
// `bind` (iota, broadcast_in_dim, convert_element_type, ...), so array-valued arguments such as
// linspace's endpoints or full's fill value may be traced.

import { DType, DTypeLike, float32, int32, resultType, toDType } from "../core/dtype";
import { ArgumentError, AxisError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import {
  MAX_RANK, OptionSpec, broadcastShapes, checkInteger, checkOptions, checkShape, checkSize, describeValue, isPlainObject, shapeEqual,
} from "../core/shape";
import { bind1 } from "../core/trace";
import * as E from "../primitives/elementwise";
import { ArrayLike, asArray, astype } from "./convert";
import * as lax from "./lax";
import { broadcastTo, divide, log10, multiply, power, sign } from "./ufuncs";

/** A shape argument: one length or a list of lengths. */
export type ShapeLike = number | readonly number[];

/** The `dtype` keyword. */
export interface DTypeOptions {
  dtype?: DTypeLike | null;
}
/** Options of `zerosLike` and friends: override the dtype and/or the shape. */
export interface LikeOptions extends DTypeOptions {
  shape?: ShapeLike | null;
}
/** Options of `asarray`. */
export interface AsarrayOptions extends DTypeOptions {
  /** `asarray` copies only when this is true. */
  copy?: boolean | null;
}
/** Options of `array`. */
export interface ArrayOptions extends DTypeOptions {
  /** `array` always copies unless this is false. */
  copy?: boolean | null;
  /** Minimum number of dimensions; leading size-1 axes are added. */
  ndmin?: number;
}
/** Options of `linspace`. */
export interface LinspaceOptions extends DTypeOptions {
  num?: number;
  endpoint?: boolean;
  retstep?: boolean;
  axis?: number;
}
/** Options of `logspace`/`geomspace`. */
export interface LogspaceOptions extends DTypeOptions {
  num?: number;
  endpoint?: boolean;
  base?: number;
  axis?: number;
}
/** Options of `geomspace`. */
export type GeomspaceOptions = Omit<LogspaceOptions, "base">;
/** Options of `eye`/`tri`. */
export interface EyeOptions extends DTypeOptions {
  M?: number | null;
  k?: number;
}
/** Options of `meshgrid`. */
export interface MeshgridOptions {
  indexing?: "xy" | "ij";
  sparse?: boolean;
  copy?: boolean;
}

// The options each function accepts (checked once at the boundary: unknown keys are errors).
const DTYPE_OPTS: OptionSpec = { dtype: "any" };
const ARRAY_OPTS: OptionSpec = { dtype: "any", copy: "boolean", ndmin: "count" };
const ASARRAY_OPTS: OptionSpec = { dtype: "any", copy: "boolean" };
const LIKE_OPTS: OptionSpec = { dtype: "any", shape: "any" };
const LINSPACE_OPTS: OptionSpec = { dtype: "any", num: "any", endpoint: "boolean", retstep: "boolean", axis: "any" };
const LOGSPACE_OPTS: OptionSpec = { dtype: "any", num: "any", endpoint: "boolean", base: "number", axis: "any" };
const GEOMSPACE_OPTS: OptionSpec = { dtype: "any", num: "any", endpoint: "boolean", axis: "any" };
const EYE_OPTS: OptionSpec = { dtype: "any", M: "any", k: "any" };
const MESHGRID_OPTS: OptionSpec = { indexing: ["xy", "ij"], sparse: "boolean", copy: "boolean" };

const isOptions = isPlainObject;
const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

function toInexact(d: DType): DType {
  return d.isFloat ? d : float32;
}
function dtypeOr(op: string, d: DTypeLike | null | undefined, dflt: DType): DType {
  return given(d) ? toDType(d, op) : dflt;
}

// ---- array / asarray / copy ----

// Nested lists holding arrays are stacked by asArray with primitives, so traced elements work.
function convert(op: string, object: ArrayLike, dtype: DType | null): NDArray {
  return asArray(object, dtype, op);
}

/**
 * A new array from a JS value or an array (JAX's `jnp.array`). Nested lists infer bool, int32 or
 * float32; a JS number gives a weakly typed scalar, as a Python scalar does in JAX.
 */
export function array(object: ArrayLike, opts: ArrayOptions = {}): NDArray {
  checkOptions("array", opts, ARRAY_OPTS);
  const dtype = given(opts.dtype) ? toDType(opts.dtype, "array") : null;
  let out: NDArray;
  if (object instanceof NDArray) {
    // An existing array is copied (or converted), keeping its weak type when no dtype is given.
    const converted = dtype ? astype(object, dtype) : object;
    out = converted === object && opts.copy !== false ? bind1(E.copy, [object]) : converted;
  } else out = convert("array", object, dtype);
  const ndmin = opts.ndmin ?? 0;
  if (ndmin > MAX_RANK) throw new ValueError(`array: ndmin must be at most ${MAX_RANK}, got ${ndmin}`);
  if (out.ndim < ndmin) out = lax.reshape(out, [...new Array<number>(ndmin - out.ndim).fill(1), ...out.shape]);
  return out;
}

/** Converts to an array without copying an existing one of the right dtype (JAX's `jnp.asarray`). */
export function asarray(a: ArrayLike, opts: AsarrayOptions = {}): NDArray {
  checkOptions("asarray", opts, ASARRAY_OPTS);
  const dtype = given(opts.dtype) ? toDType(opts.dtype, "asarray") : null;
  if (a instanceof NDArray && opts.copy) return array(a, { dtype });
  return convert("asarray", a, dtype);
}

/** A copy of `a` (the `copy` primitive), with the same dtype and weak type. */
export function copy(a: ArrayLike): NDArray {
  return bind1(E.copy, [asArray(a, null, "copy")]);
}

// ---- filled arrays ----

/** lax.full: the fill value converted once, then broadcast (a non-scalar fill broadcasts too). */
function filled(op: string, shape: number[], value: ArrayLike, dtype: DType | null, weakLike?: boolean): NDArray {
  const v = asArray(value, null, op);
  if (v.ndim === 0) {
    const weak = dtype === null ? v.weakType : weakLike ?? false;
    return lax.broadcastInDim(astype(v, dtype ?? v.dtype, weak), shape, []);
  }
  const out = broadcastShapes(op, v.shape, shape);
  if (!shapeEqual(out, shape)) throw new ShapeError(`${op}: fill value of shape ${fmtShape(v.shape)} cannot be broadcast to shape ${fmtShape(shape)}`);
  return broadcastTo(astype(v, dtype ?? v.dtype), shape);
}

/** An array of zeros (float32 unless `dtype` is given). */
export function zeros(shape: ShapeLike, opts: DTypeOptions = {}): NDArray {
  const d = dtypeOr("zeros", checkOptions<DTypeOptions>("zeros", opts, DTYPE_OPTS).dtype, float32);
  return filled("zeros", checkShape("zeros", shape), asArray(0, d), d);
}
/** An array of ones (float32 unless `dtype` is given). */
export function ones(shape: ShapeLike, opts: DTypeOptions = {}): NDArray {
  const d = dtypeOr("ones", checkOptions<DTypeOptions>("ones", opts, DTYPE_OPTS).dtype, float32);
  return filled("ones", checkShape("ones", shape), asArray(1, d), d);
}
/** Like `zeros`: arrays are immutable, so there is no uninitialised memory to hand out. */
export function empty(shape: ShapeLike, opts: DTypeOptions = {}): NDArray {
  const d = dtypeOr("empty", checkOptions<DTypeOptions>("empty", opts, DTYPE_OPTS).dtype, float32);
  return filled("empty", checkShape("empty", shape), asArray(0, d), d);
}
/** An array filled with `fillValue`; its dtype (and weak type) unless `dtype` is given. */
export function full(shape: ShapeLike, fillValue: ArrayLike, opts: DTypeOptions = {}): NDArray {
  const o = checkOptions<DTypeOptions>("full", opts, DTYPE_OPTS);
  const d = given(o.dtype) ? toDType(o.dtype, "full") : null;
  return filled("full", checkShape("full", shape), fillValue, d);
}

/** JAX's full_like: the dtype, shape and weak type of `a` unless overridden. */
function fullLikeImpl(op: string, a: ArrayLike, fillValue: ArrayLike, opts: LikeOptions): NDArray {
  checkOptions(op, opts, LIKE_OPTS);
  const x = asArray(a, null, op);
  const shape = given(opts.shape) ? checkShape(op, opts.shape) : [...x.shape];
  const d = given(opts.dtype) ? toDType(opts.dtype, op) : x.dtype;
  return filled(op, shape, fillValue, d, !given(opts.dtype) && x.weakType);
}
/** Zeros with the shape and dtype of `a`. */
export function zerosLike(a: ArrayLike, opts: LikeOptions = {}): NDArray {
  return fullLikeImpl("zeros_like", a, 0, opts);
}
/** Ones with the shape and dtype of `a`. */
export function onesLike(a: ArrayLike, opts: LikeOptions = {}): NDArray {
  return fullLikeImpl("ones_like", a, 1, opts);
}
/** Same as `zerosLike`. */
export function emptyLike(a: ArrayLike, opts: LikeOptions = {}): NDArray {
  return fullLikeImpl("empty_like", a, 0, opts);
}
/** `fillValue` with the shape and dtype of `a`. */
export function fullLike(a: ArrayLike, fillValue: ArrayLike, opts: LikeOptions = {}): NDArray {
  return fullLikeImpl("full_like", a, fillValue, opts);
}

// ---- ranges ----

function staticNumber(op: string, name: string, v: unknown): number {
  if (typeof v === "number") return v;
  if (v instanceof NDArray && v.ndim === 0) return Number(v.item());
  throw new ArgumentError(`${op}: ${name} must be a number, got ${v instanceof NDArray ? `an array of shape ${fmtShape(v.shape)}` : describeValue(v)}`);
}

/**
 * Evenly spaced values in [start, stop): `arange(stop)`, `arange(start, stop)`,
 * `arange(start, stop, step)`. The length is ceil((stop - start) / step); the dtype is int32 when
 * every argument is an integer, else float32. Values are start + i * delta, where delta is
 * computed as NumPy does (the first step, rounded in the dtype).
 */
export function arange(start: number, stop?: number | null | DTypeOptions, step?: number | null | DTypeOptions, opts?: DTypeOptions): NDArray {
  const args = [start, stop, step, opts];
  let o: DTypeOptions = {};
  while (args.length && (args[args.length - 1] === undefined || isOptions(args[args.length - 1]))) {
    const last = args.pop();
    if (isOptions(last)) o = last as DTypeOptions;
  }
  checkOptions("arange", o, DTYPE_OPTS);
  if (args.length === 0 || args[0] === null) throw new ArgumentError(`arange: stop must be a number, got ${describeValue(args[0])}`);
  const nums = args.map((v, i) => (v === null ? null : staticNumber("arange", ["start", "stop", "step"][i], v)));
  let [lo, hi, st] = nums;
  if (hi === null || hi === undefined) [lo, hi] = [0, lo ?? 0];
  st ??= 1;
  lo ??= 0;
  if (st === 0) throw new ValueError("arange: step must be nonzero, got 0");
  if (![lo, hi, st].every(Number.isFinite)) throw new ValueError(`arange: arguments must be finite, got start=${lo}, stop=${hi}, step=${st}`);
  const allInt = [lo, hi, st].every(Number.isInteger);
  const dtype = dtypeOr("arange", o.dtype, allInt ? int32 : float32);
  const n = Math.max(0, Math.ceil((hi - lo) / st));
  checkSize("arange", [n]);
  // iota has no bool form and integer arithmetic cannot hold fractional steps.
  const comp = dtype.isBool ? int32 : dtype.isInt && !(Number.isInteger(lo) && Number.isInteger(st)) ? float32 : dtype;
  let delta = st;
  if (comp === float32) delta = Math.fround(Math.fround(lo + st) - Math.fround(lo)) || st;
  let r = lax.iota(comp, n);
  if (delta !== 1) r = lax.mul(r, delta);
  if (lo !== 0) r = lax.add(r, lo);
  return astype(r, dtype);
}

/** linspace's `num` (positional or an option) and its options, checked; `num` also bounds the size. */
function numAndOpts<O extends { num?: number }>(op: string, num: number | O | undefined, opts: O | undefined, spec: OptionSpec): [number, O] {
  let n: unknown;
  let o: O;
  if (isOptions(num)) {
    if (opts !== undefined) throw new ArgumentError(`${op}: options were given twice, got a second options object ${describeValue(opts)}`);
    o = checkOptions<O>(op, num, spec);
    n = o.num ?? 50;
  } else {
    o = checkOptions<O>(op, opts, spec);
    n = num ?? o.num ?? 50;
  }
  checkInteger(op, "num", n, 0);
  checkSize(op, [n as number]);
  return [n as number, o];
}

/**
 * `num` evenly spaced samples from start to stop (inclusive unless `endpoint` is false), as JAX
 * computes them: start * (1 - t) + stop * t with t = i / div, the endpoint appended exactly.
 * Array endpoints give one sequence per element along the new `axis`.
 */
export function linspace(start: ArrayLike, stop: ArrayLike, num: number | undefined, opts: LinspaceOptions & { retstep: true }): [NDArray, NDArray];
export function linspace(start: ArrayLike, stop: ArrayLike, opts: LinspaceOptions & { retstep: true }): [NDArray, NDArray];
export function linspace(start: ArrayLike, stop: ArrayLike, num?: number | LinspaceOptions, opts?: LinspaceOptions): NDArray;
export function linspace(start: ArrayLike, stop: ArrayLike, num?: number | LinspaceOptions, opts?: LinspaceOptions): NDArray | [NDArray, NDArray] {
  const [n, o] = numAndOpts("linspace", num, opts, LINSPACE_OPTS);
  return linspaceImpl("linspace", start, stop, n, o);
}

/** The new axis of the linspace family's result, checked against the result's rank `ndim`. */
function resultAxis(op: string, axis: unknown, ndim: number): number {
  if (axis === undefined || axis === null) return 0;
  if (typeof axis !== "number" || !Number.isInteger(axis)) throw new AxisError(`${op}: axis must be an integer, got ${describeValue(axis)}`);
  if (axis < -ndim || axis >= ndim) throw new AxisError(`${op}: axis ${axis} is out of bounds for the result of dimension ${ndim}`);
  return axis < 0 ? axis + ndim : axis;
}

function linspaceImpl(op: string, start: ArrayLike, stop: ArrayLike, n: number, o: LinspaceOptions): NDArray | [NDArray, NDArray] {
  const endpoint = o.endpoint ?? true;
  const s0 = asArray(start, null, op);
  const e0 = asArray(stop, null, op);
  const dtype = given(o.dtype) ? toDType(o.dtype, op) : toInexact(resultType(s0, e0).dtype);
  const comp = toInexact(dtype);
  const boundsShape = broadcastShapes(op, s0.shape, e0.shape);
  const axis = resultAxis(op, o.axis, boundsShape.length + 1);
  checkSize(op, [...boundsShape, n]);
  const s = broadcastTo(astype(s0, comp), boundsShape);
  const e = broadcastTo(astype(e0, comp), boundsShape);
  const withAxis = (len: number) => [...boundsShape.slice(0, axis), len, ...boundsShape.slice(axis)];
  const div = endpoint ? n - 1 : n;
  let out: NDArray;
  let delta: NDArray;
  if (n > 1) {
    const divC = asArray(div, comp);
    delta = lax.div(lax.sub(e, s), divC);
    const iotaShape = withAxis(div).map((d, i) => (i === axis ? d : 1));
    const t = lax.div(lax.reshape(lax.iota(comp, div), iotaShape), divC);
    // Interpolating (rather than start + i * step) recovers both endpoints in float32.
    out = lax.add(lax.mul(lax.reshape(s, withAxis(1)), lax.sub(1, t)), lax.mul(lax.reshape(e, withAxis(1)), t));
    if (endpoint) out = lax.concatenate([out, lax.expandDims(e, [axis])], axis);
  } else if (n === 1) {
    delta = endpoint ? lax.broadcastInDim(asArray(NaN, comp), boundsShape, []) : lax.sub(e, s);
    out = lax.reshape(s, withAxis(1));
  } else {
    delta = lax.broadcastInDim(asArray(NaN, comp), boundsShape, []);
    out = lax.broadcastInDim(asArray(0, comp), withAxis(0), []);
  }
  // Integer outputs round down, as NumPy's linspace does for integer dtypes.
  if (dtype.isInt && !out.dtype.isInt) out = lax.floor(out);
  const result = astype(out, dtype);
  return o.retstep ? [result, delta] : result;
}

/** base ** linspace(start, stop, num): samples evenly spaced on a log scale. */
export function logspace(start: ArrayLike, stop: ArrayLike, num?: number | LogspaceOptions, opts?: LogspaceOptions): NDArray {
  const [n, o] = numAndOpts("logspace", num, opts, LOGSPACE_OPTS);
  return logspaceImpl("logspace", start, stop, n, o);
}

function logspaceImpl(op: string, start: ArrayLike, stop: ArrayLike, n: number, o: LogspaceOptions): NDArray {
  const s0 = asArray(start, null, op);
  const e0 = asArray(stop, null, op);
  const dtype = given(o.dtype) ? toDType(o.dtype, op) : toInexact(resultType(s0, e0).dtype);
  const comp = toInexact(dtype);
  const lin = linspaceImpl(op, astype(s0, comp), astype(e0, comp), n, { endpoint: o.endpoint, axis: o.axis }) as NDArray;
  return astype(power(o.base ?? 10, lin), dtype);
}

/** Samples evenly spaced on a log scale between the endpoints themselves (signs preserved). */
export function geomspace(start: ArrayLike, stop: ArrayLike, num?: number | GeomspaceOptions, opts?: GeomspaceOptions): NDArray {
  const [n, o] = numAndOpts("geomspace", num, opts, GEOMSPACE_OPTS);
  const s0 = asArray(start, null, "geomspace");
  const e0 = asArray(stop, null, "geomspace");
  const dtype = given(o.dtype) ? toDType(o.dtype, "geomspace") : toInexact(resultType(s0, e0).dtype);
  const comp = toInexact(dtype);
  const s = astype(s0, comp);
  const e = astype(e0, comp);
  const dest = resultAxis("geomspace", o.axis, broadcastShapes("geomspace", s.shape, e.shape).length + 1);
  const sg = sign(s);
  // Sequences run between same-signed endpoints: factor the sign out, space the logs evenly.
  let res = multiply(sg, logspaceImpl("geomspace", log10(divide(s, sg)), log10(divide(e, sg)), n, { endpoint: o.endpoint, dtype: comp }));
  if (dest !== 0) {
    const nd = res.ndim;
    const perm = Array.from({ length: nd }, (_, i) => i).filter((i) => i !== 0);
    perm.splice(dest, 0, 0);
    res = lax.transpose(res, perm);
  }
  return astype(res, dtype);
}

// ---- matrices ----

function eyeArgs(op: string, N: number, M: unknown, k: unknown, opts: EyeOptions | undefined): { n: number; m: number; k: number; dtype: DType } {
  let o: unknown = opts;
  if (isOptions(M)) [o, M] = [M, undefined];
  else if (isOptions(k)) [o, k] = [k, undefined];
  if (o !== opts && opts !== undefined) throw new ArgumentError(`${op}: options were given twice, got a second options object ${describeValue(opts)}`);
  const eo = checkOptions<EyeOptions>(op, o, EYE_OPTS);
  const mm = M ?? eo.M ?? N;
  const kk = k ?? eo.k ?? 0;
  const [n, m] = checkShape(op, [N, mm]);
  return { n, m, k: checkInteger(op, "k", kk), dtype: dtypeOr(op, eo.dtype, float32) };
}

/** cmp(row + k, col) over an n x m grid, built from two iotas (as lax._eye does). */
function diagonalMask(n: number, m: number, k: number, cmp: (a: NDArray, b: NDArray) => NDArray): NDArray {
  const rows = lax.broadcastedIota(int32, [n, m], 0);
  const cols = lax.broadcastedIota(int32, [n, m], 1);
  return cmp(k === 0 ? rows : lax.add(rows, k), cols);
}

/** An N x M matrix with ones on the k-th diagonal (float32 unless `dtype` is given). */
export function eye(N: number, M?: number | null | EyeOptions, k?: number | EyeOptions, opts?: EyeOptions): NDArray {
  const a = eyeArgs("eye", N, M, k, opts);
  return astype(diagonalMask(a.n, a.m, a.k, lax.eq), a.dtype);
}
/** The n x n identity matrix. */
export function identity(n: number, opts: DTypeOptions = {}): NDArray {
  const a = eyeArgs("identity", n, undefined, undefined, { dtype: checkOptions<DTypeOptions>("identity", opts, DTYPE_OPTS).dtype });
  return astype(diagonalMask(a.n, a.m, 0, lax.eq), a.dtype);
}
/** An N x M matrix with ones at and below the k-th diagonal. */
export function tri(N: number, M?: number | null | EyeOptions, k?: number | EyeOptions, opts?: EyeOptions): NDArray {
  const a = eyeArgs("tri", N, M, k, opts);
  return astype(diagonalMask(a.n, a.m, a.k, lax.ge), a.dtype);
}

/**
 * Coordinate grids from 1-d arrays: `meshgrid(x, y, { indexing })`. "xy" (the default) puts the
 * first two inputs on axes 1 and 0 (Cartesian), "ij" keeps input order (matrix indexing).
 */
export function meshgrid(...args: (ArrayLike | MeshgridOptions)[]): NDArray[] {
  const o = checkOptions<MeshgridOptions>("meshgrid", args.length && isOptions(args[args.length - 1]) ? args.pop() : undefined, MESHGRID_OPTS);
  const indexing = o.indexing ?? "xy";
  const xs = args.map((x) => asArray(x as ArrayLike, null, "meshgrid"));
  const bad = xs.find((x) => x.ndim !== 1);
  if (bad) throw new ShapeError(`meshgrid: Arrays passed to meshgrid must be 1D, got shape ${fmtShape(bad.shape)}`);
  const target = xs.map((_, i) => (indexing === "xy" && xs.length >= 2 && i < 2 ? 1 - i : i));
  const shape = new Array<number>(xs.length);
  xs.forEach((x, i) => (shape[target[i]] = x.shape[0]));
  checkSize("meshgrid", shape);
  return xs.map((x, i) => {
    const s = o.sparse ? shape.map((d, j) => (j === target[i] ? d : 1)) : shape;
    return lax.broadcastInDim(x, s, [target[i]]);
  });
}
