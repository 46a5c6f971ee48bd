// jax.numpy's reductions (sum, prod, max, min, all, any, mean, var, std, argmax, cumsum, ...)
// with JAX's semantics, after jax/_src/numpy/reductions.py: dtype rules (sum/prod widen small
// ints and bool to the default int, mean/var go to float, f16 accumulates in f32), `where`
// masks, `initial`, `keepdims`, NaN propagation. Everything is built from primitives through
// `bind`, so the functions trace under grad/vmap/jit; only static facts (shapes, dtypes, axes)
// are computed in JS.

import { DType, DTypeLike, bool, float32, finfoOrIinfo, int32, toDType, uint32 } from "../core/dtype";
import { ArgumentError, DTypeError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { OptionSpec, broadcastShapes, checkOptions, describeValue, isPlainObject, normalizeAxes, normalizeAxis, shapeEqual } from "../core/shape";
import { bind1 } from "../core/trace";
import * as E from "../primitives/elementwise";
import * as R from "../primitives/reduce";
import { ArrayLike, asArray, astype, promoteArgsInexact } from "./convert";
import * as lax from "./lax";
import { broadcastTo, divide, multiply, where as whereFn } from "./ufuncs";

/** An `axis` argument: one axis, several, or null/undefined for all of them. */
export type Axis = number | readonly number[] | null;

/** Options of `sum` and `prod` (JAX's keyword arguments, camelCased). */
export interface SumOptions {
  axis?: Axis;
  dtype?: DTypeLike | null;
  keepdims?: boolean;
  initial?: ArrayLike | null;
  where?: ArrayLike | null;
  /** Widen bool and small ints to int32/uint32 (JAX's default, true). Ignored when `dtype` is given. */
  promoteIntegers?: boolean;
}
/** Options of `max`/`min` and their NaN-ignoring and aliased forms. */
export interface MaxOptions {
  axis?: Axis;
  keepdims?: boolean;
  initial?: ArrayLike | null;
  where?: ArrayLike | null;
}
/** Options of `all`/`any`. */
export interface LogicalOptions {
  axis?: Axis;
  keepdims?: boolean;
  where?: ArrayLike | null;
}
/** Options of `mean`, `nanmean`, `nansum`. */
export interface MeanOptions {
  axis?: Axis;
  dtype?: DTypeLike | null;
  keepdims?: boolean;
  where?: ArrayLike | null;
}
/** Options of `var`/`std`: `ddof` (or its array-API name `correction`) is subtracted from N. */
export interface VarOptions extends MeanOptions {
  ddof?: number;
  correction?: number | null;
}
/** Options of `argmax`/`argmin`. */
export interface ArgOptions {
  axis?: number | null;
  keepdims?: boolean;
}
/** Options of the cumulative reductions; `axis` null flattens first. */
export interface CumulativeOptions {
  axis?: number | null;
  dtype?: DTypeLike | null;
}
/** Options of `logsumexp`; `b` scales each exp(a) (JAX's weights). */
export interface LogsumexpOptions {
  axis?: Axis;
  b?: ArrayLike | null;
  keepdims?: boolean;
  where?: ArrayLike | null;
}
/** Options of `average`. */
export interface AverageOptions {
  axis?: Axis;
  weights?: ArrayLike | null;
  returned?: boolean;
  keepdims?: boolean;
}
/** Options of `ptp` and `countNonzero`. */
export interface AxisOptions {
  axis?: Axis;
  keepdims?: boolean;
}

// ---- argument handling ----

// The options each function accepts; unknown keys and mistyped flags are errors.
const SUM_OPTS: OptionSpec = { axis: "any", dtype: "any", keepdims: "boolean", initial: "any", where: "any", promoteIntegers: "boolean" };
const MAX_OPTS: OptionSpec = { axis: "any", keepdims: "boolean", initial: "any", where: "any" };
const LOGICAL_OPTS: OptionSpec = { axis: "any", keepdims: "boolean", where: "any" };
const MEAN_OPTS: OptionSpec = { axis: "any", dtype: "any", keepdims: "boolean", where: "any" };
const VAR_OPTS: OptionSpec = { ...MEAN_OPTS, ddof: "number", correction: "number" };
const ARG_OPTS: OptionSpec = { axis: "any", keepdims: "boolean" };
const CUM_OPTS: OptionSpec = { axis: "any", dtype: "any" };
const LOGSUMEXP_OPTS: OptionSpec = { axis: "any", b: "any", keepdims: "boolean", where: "any" };
const AVERAGE_OPTS: OptionSpec = { axis: "any", weights: "any", returned: "boolean", keepdims: "boolean" };
const AXIS_OPTS: OptionSpec = { axis: "any", keepdims: "boolean" };

/** `axis` is positional-or-keyword in JAX: accepts `f(x, axis, opts)` as well as `f(x, opts)`. */
function withAxis<O extends { axis?: unknown }>(op: string, axisOrOpts: unknown, opts: O | undefined, spec: OptionSpec): O {
  if (isPlainObject(axisOrOpts)) {
    if (opts !== undefined) throw new ArgumentError(`${op}: options were given twice, got a second options object ${describeValue(opts)}`);
    return checkOptions<O>(op, axisOrOpts, spec);
  }
  const o = checkOptions<O>(op, opts, spec);
  if (axisOrOpts === undefined) return o;
  if (o.axis !== undefined) throw new ArgumentError(`${op}: got multiple values for argument 'axis', got ${describeValue(axisOrOpts)} and ${describeValue(o.axis)}`);
  return { ...o, axis: axisOrOpts };
}

/**
 * The checks a composite reduction runs under its own name before delegating (to sum, max,
 * mean, ...): the axes, and the `where` mask's shape. Returns the normalised axes.
 */
function reduceAxes(op: string, x: NDArray, o: { axis?: unknown; where?: ArrayLike | null; initial?: ArrayLike | null }): number[] {
  const dims = normalizeAxes(op, o.axis, x.ndim);
  if (given(o.where)) whereMask(op, o.where, x.shape);
  if (given(o.initial)) {
    const init = asArray(o.initial, null, op);
    if (init.ndim !== 0) throw new ValueError(`${op}: initial value must be a scalar, got shape ${fmtShape(init.shape)}`);
  }
  return dims;
}

const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

function toInexact(d: DType): DType {
  return d.isFloat ? d : float32;
}
// Half-precision sums and means accumulate in f32, as JAX's upcast_f16_for_computation does.
function upcastF16(d: DType): DType {
  return d.name === "float16" || d.name === "bfloat16" ? float32 : d;
}
// JAX's _promote_integer_dtype: bool and narrow ints widen to the default (32-bit) int/uint.
function promoteInteger(d: DType): DType {
  if (d.isBool) return int32;
  if (d.isUnsigned) return d.bits < 32 ? uint32 : d;
  if (d.isInt) return d.bits < 32 ? int32 : d;
  return d;
}

/** A strong 0-d constant; infinite identities become the integer extremes (_reduction_init_val). */
function constant(v: number, d: DType): NDArray {
  if (d.isBool) return asArray(v > 0, bool);
  if (d.isInt && !Number.isFinite(v)) {
    const { min, max } = finfoOrIinfo(d);
    return asArray(v < 0 ? min : max, d);
  }
  return asArray(v, d);
}
function fill(v: number, like: NDArray): NDArray {
  return lax.broadcastInDim(constant(v, like.dtype), [...like.shape], []);
}
function isnan(a: NDArray): NDArray {
  return lax.ne(a, a);
}
function toBool(a: NDArray): NDArray {
  return a.dtype.isBool ? a : lax.ne(a, constant(0, a.dtype));
}

/** A `where` mask as a bool array of exactly `shape` (it must broadcast to the input). */
function whereMask(op: string, where: ArrayLike, shape: readonly number[]): NDArray {
  const m = toBool(asArray(where, null, op));
  const out = broadcastShapes(op, m.shape, shape);
  if (!shapeEqual(out, shape))
    throw new ShapeError(`${op}: where mask of shape ${fmtShape(m.shape)} cannot be broadcast to the input's shape ${fmtShape(shape)}`);
  return broadcastTo(m, shape);
}

// ---- the generic reduction (JAX's _reduction) ----

type ReducePrim = Primitive<{ axes: number[]; out_sharding: null }>;

interface ReductionSpec {
  name: string;
  prim: ReducePrim;
  /** JAX's bool_op: the reduction used when computing in bool. */
  boolPrim: ReducePrim;
  /** The binary op that folds `initial` into the result. */
  combine: Primitive<{}>;
  boolCombine: Primitive<{}>;
  /** The op's identity (±inf for max/min), used to fill masked-out elements. */
  identity: number;
  hasIdentity: boolean;
  preproc?: (a: NDArray) => NDArray;
  upcastF16?: boolean;
  promoteIntegers?: boolean;
}

type ReduceArgs = SumOptions;

function reduction(spec: ReductionSpec, x: ArrayLike, o: ReduceArgs): NDArray {
  const name = spec.name;
  if (!given(o.initial) && !spec.hasIdentity && given(o.where))
    throw new ValueError(`${name}: reduction operation ${name} does not have an identity, so to use a where mask one has to specify 'initial'`);
  let a = asArray(x, null, name);
  if (spec.preproc) a = spec.preproc(a);
  const dims = normalizeAxes(name, o.axis, a.ndim);
  if (!given(o.initial) && !spec.hasIdentity && dims.some((d) => a.shape[d] === 0))
    throw new ValueError(`${name}: zero-size array to reduction operation ${name} which has no identity, got shape ${fmtShape(a.shape)}`);
  const userDtype = given(o.dtype) ? toDType(o.dtype, name) : null;
  let resultDtype = userDtype ?? a.dtype;
  if (!userDtype && spec.promoteIntegers && (o.promoteIntegers ?? true)) resultDtype = promoteInteger(resultDtype);
  const comp = spec.upcastF16 && resultDtype.isFloat ? upcastF16(resultDtype) : resultDtype;
  // Converting also drops a weak type: JAX's reductions always return strongly typed arrays.
  a = astype(a, comp);
  if (given(o.where)) a = lax.select(whereMask(name, o.where, a.shape), a, fill(spec.identity, a));
  let r = bind1(comp.isBool ? spec.boolPrim : spec.prim, [a], { axes: dims, out_sharding: null });
  // XLA's init value must be the identity, so a user `initial` is folded in afterwards.
  if (given(o.initial)) {
    const init = astype(asArray(o.initial, null, name), comp);
    if (init.ndim !== 0) throw new ValueError(`${name}: initial value must be a scalar, got shape ${fmtShape(init.shape)}`);
    r = bind1(comp.isBool ? spec.boolCombine : spec.combine, [init, r]);
  }
  if (o.keepdims) r = lax.expandDims(r, dims);
  return astype(r, userDtype ?? resultDtype);
}

const toNumeric = (a: NDArray): NDArray => (a.dtype.isBool ? astype(a, int32) : a);
const toBoolCast = (a: NDArray): NDArray => astype(a, bool);

const SUM: ReductionSpec = {
  name: "sum", prim: R.reduceSum, boolPrim: R.reduceOr, combine: E.add, boolCombine: E.or, identity: 0,
  hasIdentity: true, preproc: toNumeric, upcastF16: true, promoteIntegers: true,
};
const PROD: ReductionSpec = {
  name: "prod", prim: R.reduceProd, boolPrim: R.reduceAnd, combine: E.mul, boolCombine: E.and, identity: 1,
  hasIdentity: true, preproc: toNumeric, upcastF16: true, promoteIntegers: true,
};
const MAX: ReductionSpec = {
  name: "max", prim: R.reduceMax, boolPrim: R.reduceMax, combine: E.max, boolCombine: E.max, identity: -Infinity, hasIdentity: false,
};
const MIN: ReductionSpec = {
  name: "min", prim: R.reduceMin, boolPrim: R.reduceMin, combine: E.min, boolCombine: E.min, identity: Infinity, hasIdentity: false,
};
const ALL: ReductionSpec = {
  name: "all", prim: R.reduceAnd, boolPrim: R.reduceAnd, combine: E.and, boolCombine: E.and, identity: 1, hasIdentity: true, preproc: toBoolCast,
};
const ANY: ReductionSpec = {
  name: "any", prim: R.reduceOr, boolPrim: R.reduceOr, combine: E.or, boolCombine: E.or, identity: 0, hasIdentity: true, preproc: toBoolCast,
};

/** Sum over `axis`. bool and small ints accumulate in int32 (uint8/16 in uint32); f16 in f32. */
export function sum(a: ArrayLike, axis?: Axis | SumOptions, opts?: SumOptions): NDArray {
  return reduction(SUM, a, withAxis("sum", axis, opts, SUM_OPTS));
}
/** Product over `axis`, with sum's dtype rules. */
export function prod(a: ArrayLike, axis?: Axis | SumOptions, opts?: SumOptions): NDArray {
  return reduction(PROD, a, withAxis("prod", axis, opts, SUM_OPTS));
}
/** Maximum over `axis`; NaN propagates. An empty reduction needs `initial`. */
export function max(a: ArrayLike, axis?: Axis | MaxOptions, opts?: MaxOptions): NDArray {
  return reduction(MAX, a, withAxis("max", axis, opts, MAX_OPTS));
}
/** Minimum over `axis`; NaN propagates. An empty reduction needs `initial`. */
export function min(a: ArrayLike, axis?: Axis | MaxOptions, opts?: MaxOptions): NDArray {
  return reduction(MIN, a, withAxis("min", axis, opts, MAX_OPTS));
}
/** Alias of `max`. */
export const amax = max;
/** Alias of `min`. */
export const amin = min;
/** True where every element along `axis` is nonzero (NaN counts as true). Returns bool. */
export function all(a: ArrayLike, axis?: Axis | LogicalOptions, opts?: LogicalOptions): NDArray {
  return reduction(ALL, a, withAxis("all", axis, opts, LOGICAL_OPTS));
}
/** True where some element along `axis` is nonzero. Returns bool. */
export function any(a: ArrayLike, axis?: Axis | LogicalOptions, opts?: LogicalOptions): NDArray {
  return reduction(ANY, a, withAxis("any", axis, opts, LOGICAL_OPTS));
}

function axisSize(a: NDArray, dims: number[]): number {
  return dims.reduce((n, d) => n * a.shape[d], 1);
}

/** Arithmetic mean over `axis`. Ints and bool give float32; f16 accumulates in f32. */
export function mean(a: ArrayLike, axis?: Axis | MeanOptions, opts?: MeanOptions): NDArray {
  const o = withAxis("mean", axis, opts, MEAN_OPTS);
  const x = asArray(a, null, "mean");
  const resultDtype = given(o.dtype) ? toDType(o.dtype, "mean") : toInexact(x.dtype);
  const comp = resultDtype.isFloat ? upcastF16(resultDtype) : resultDtype;
  const dims = reduceAxes("mean", x, o);
  const normalizer = given(o.where)
    ? sum(whereMask("mean", o.where, x.shape), { axis: dims, dtype: comp, keepdims: o.keepdims })
    : constant(axisSize(x, dims), comp);
  const total = sum(x, { axis: dims, dtype: comp, keepdims: o.keepdims, where: o.where });
  return astype(lax.div(total, normalizer), resultDtype);
}

// JAX's _var_promote_types: [computation dtype, result dtype].
function varTypes(op: string, a: DType, dtype: DTypeLike | null | undefined): [DType, DType] {
  if (given(dtype)) {
    const d = toDType(dtype, op);
    return [upcastF16(d), d];
  }
  const d = toInexact(a);
  return [upcastF16(d), d];
}

function correctionOf(op: string, o: VarOptions): number {
  if (!given(o.correction)) return o.ddof ?? 0;
  if ((o.ddof ?? 0) !== 0) throw new ValueError(`${op}: ddof and correction can't be provided simultaneously, got ddof=${o.ddof} and correction=${o.correction}`);
  return o.correction;
}

/** Variance over `axis`, dividing by N - ddof; NaN where N - ddof <= 0. */
function variance(op: string, a: ArrayLike, o: VarOptions): NDArray {
  const correction = correctionOf(op, o);
  const x0 = asArray(a, null, op);
  const [comp, dtype] = varTypes(op, x0.dtype, o.dtype);
  const x = astype(x0, comp);
  const dims = reduceAxes(op, x, o);
  const m = mean(x, { axis: dims, dtype: comp, keepdims: true, where: o.where });
  const centered = lax.square(lax.sub(x, m));
  let normalizer = given(o.where)
    ? sum(whereMask(op, o.where, x.shape), { axis: dims, dtype: comp, keepdims: o.keepdims })
    : constant(axisSize(x, dims), comp);
  normalizer = lax.sub(normalizer, constant(correction, comp));
  const total = sum(centered, { axis: dims, dtype: comp, keepdims: o.keepdims, where: o.where });
  const result = astype(lax.div(total, normalizer), dtype);
  // N - ddof <= 0 has no meaningful variance: NaN, as JAX's final where does.
  return dtype.isFloat ? whereFn(lax.gt(normalizer, constant(0, comp)), result, NaN) : result;
}

/** Variance over `axis` (`ddof` for the N - ddof divisor). Ints and bool give float32. */
function var_(a: ArrayLike, axis?: Axis | VarOptions, opts?: VarOptions): NDArray {
  return variance("var", a, withAxis("var", axis, opts, VAR_OPTS));
}
// `var` is a reserved word, so the function is declared as var_ and exported under its JAX name.
export { var_ as var };

/** Standard deviation over `axis`: sqrt(var). `dtype` must be a float type. */
export function std(a: ArrayLike, axis?: Axis | VarOptions, opts?: VarOptions): NDArray {
  const o = withAxis("std", axis, opts, VAR_OPTS);
  if (given(o.dtype) && !toDType(o.dtype, "std").isFloat)
    throw new DTypeError(`std: dtype argument to jnp.std must be inexact, got ${toDType(o.dtype, "std").name}`);
  return lax.sqrt(variance("std", a, o));
}

// ---- argmax / argmin ----

function argReduce(name: "argmax" | "argmin", x: ArrayLike, o: ArgOptions): NDArray {
  let a = asArray(x, null, name);
  const original = a.shape;
  let axis: number;
  let dims: number[];
  if (!given(o.axis)) {
    // axis null: the index into the flattened array.
    dims = original.map((_, i) => i);
    a = lax.reshape(a, [a.size]);
    axis = 0;
  } else {
    if (typeof o.axis !== "number") throw new ArgumentError(`${name}: axis must be a single integer or null, got ${describeValue(o.axis)}`);
    axis = normalizeAxis(name, o.axis, a.ndim);
    dims = [axis];
  }
  if (a.shape[axis] === 0) throw new ValueError(`${name}: attempt to get ${name} of an empty sequence, got shape ${fmtShape(original)}`);
  const r = bind1(name === "argmax" ? R.argmax : R.argmin, [a], { axes: [axis], index_dtype: int32 });
  return o.keepdims ? lax.expandDims(r, dims) : r;
}

/** Index of the maximum along `axis` (int32); NaN wins, ties go to the first index. */
export function argmax(a: ArrayLike, axis?: number | null | ArgOptions, opts?: ArgOptions): NDArray {
  return argReduce("argmax", a, withAxis("argmax", axis, opts, ARG_OPTS));
}
/** Index of the minimum along `axis` (int32); NaN wins, ties go to the first index. */
export function argmin(a: ArrayLike, axis?: number | null | ArgOptions, opts?: ArgOptions): NDArray {
  return argReduce("argmin", a, withAxis("argmin", axis, opts, ARG_OPTS));
}

// ---- cumulative reductions (JAX's _cumulative_reduction) ----

type CumPrim = Primitive<{ axis: number; reverse: boolean }>;

function cumulative(name: string, prim: CumPrim, x: ArrayLike, o: CumulativeOptions, keepBool: boolean): NDArray {
  let a = asArray(x, null, name);
  if (given(o.axis) && typeof o.axis !== "number") throw new ArgumentError(`${name}: axis must be a single integer or null, got ${describeValue(o.axis)}`);
  if (!given(o.axis) || a.ndim === 0) a = lax.reshape(a, [a.size]);
  const axis = normalizeAxis(name, o.axis ?? 0, a.ndim);
  const userDtype = given(o.dtype) ? toDType(o.dtype, name) : null;
  const inputBool = a.dtype.isBool;
  // Scans accumulate bool in int32 (the primitives have no bool form); a bool dtype casts back.
  let rt = userDtype ?? a.dtype;
  if (rt.isBool) rt = int32;
  let r = bind1(prim, [astype(a, rt)], { axis, reverse: false });
  if (userDtype?.isBool || (keepBool && inputBool && !userDtype)) r = astype(r, bool);
  return r;
}

/** Cumulative sum along `axis` (null flattens). bool accumulates in int32; other dtypes are kept. */
export function cumsum(a: ArrayLike, axis?: number | null | CumulativeOptions, opts?: CumulativeOptions): NDArray {
  return cumulative("cumsum", R.cumsum, a, withAxis("cumsum", axis, opts, CUM_OPTS), false);
}
/** Cumulative product along `axis` (null flattens). */
export function cumprod(a: ArrayLike, axis?: number | null | CumulativeOptions, opts?: CumulativeOptions): NDArray {
  return cumulative("cumprod", R.cumprod, a, withAxis("cumprod", axis, opts, CUM_OPTS), false);
}
/** Running maximum along `axis` (null flattens); NaN propagates; bool input gives bool. */
export function cummax(a: ArrayLike, axis?: number | null | CumulativeOptions, opts?: CumulativeOptions): NDArray {
  return cumulative("cummax", R.cummax, a, withAxis("cummax", axis, opts, CUM_OPTS), true);
}
/** Running minimum along `axis` (null flattens); NaN propagates; bool input gives bool. */
export function cummin(a: ArrayLike, axis?: number | null | CumulativeOptions, opts?: CumulativeOptions): NDArray {
  return cumulative("cummin", R.cummin, a, withAxis("cummin", axis, opts, CUM_OPTS), true);
}

// ---- composites ----

/**
 * log(sum(b * exp(a))) over `axis`, computed stably: the (finite) max is subtracted first and
 * added back, so large inputs do not overflow and an all -inf slice gives -inf.
 */
export function logsumexp(a: ArrayLike, axis?: Axis | LogsumexpOptions, opts?: LogsumexpOptions): NDArray {
  const o = withAxis("logsumexp", axis, opts, LOGSUMEXP_OPTS);
  const [x] = promoteArgsInexact("logsumexp", a);
  const dims = reduceAxes("logsumexp", x, o);
  let amax = max(x, { axis: dims, keepdims: o.keepdims, where: o.where, initial: -Infinity });
  // A non-finite max (inf, -inf, NaN) is replaced by 0 so that exp(a - max) stays meaningful;
  // its gradient is stopped, as the shift does not change the value.
  amax = bind1(E.stopGradient, [lax.select(lax.isFinite(amax), amax, fill(0, amax))]);
  const shift = o.keepdims ? amax : lax.expandDims(amax, dims);
  let e = lax.exp(lax.sub(x, shift));
  if (given(o.b)) {
    const b = asArray(o.b, null, "logsumexp");
    const bs = broadcastShapes("logsumexp", b.shape, x.shape);
    if (!shapeEqual(bs, x.shape)) throw new ShapeError(`logsumexp: b of shape ${fmtShape(b.shape)} cannot be broadcast to the input's shape ${fmtShape(x.shape)}`);
    e = multiply(e, b);
  }
  const s = sum(e, { axis: dims, keepdims: o.keepdims, where: o.where });
  return lax.add(lax.log(s), astype(amax, s.dtype));
}

/** Largest minus smallest element along `axis`. */
export function ptp(a: ArrayLike, axis?: Axis | AxisOptions, opts?: AxisOptions): NDArray {
  const o = withAxis("ptp", axis, opts, AXIS_OPTS);
  const x = asArray(a, null, "ptp");
  const dims = reduceAxes("ptp", x, o);
  if (dims.some((d) => x.shape[d] === 0))
    throw new ValueError(`ptp: zero-size array to reduction operation ptp which has no identity, got shape ${fmtShape(x.shape)}`);
  const r = { axis: dims, keepdims: o.keepdims };
  return lax.sub(max(x, r), min(x, r));
}

/** Number of nonzero elements along `axis`, as int32. */
export function countNonzero(a: ArrayLike, axis?: Axis | AxisOptions, opts?: AxisOptions): NDArray {
  const o = withAxis("count_nonzero", axis, opts, AXIS_OPTS);
  const x = asArray(a, null, "count_nonzero");
  return sum(toBool(x), { axis: reduceAxes("count_nonzero", x, o), keepdims: o.keepdims, dtype: int32 });
}

/**
 * Weighted mean along `axis`. 1-d `weights` of another shape than `a` apply along the single
 * `axis`. With `returned`, also gives the sum of the weights (broadcast to the result's shape).
 */
export function average(a: ArrayLike, axis: Axis | undefined, weights: ArrayLike | null | undefined, opts: AverageOptions & { returned: true }): [NDArray, NDArray];
export function average(a: ArrayLike, opts: AverageOptions & { returned: true }): [NDArray, NDArray];
export function average(a: ArrayLike, axis?: Axis | AverageOptions, weights?: ArrayLike | null, opts?: AverageOptions): NDArray;
export function average(a: ArrayLike, axis?: Axis | AverageOptions, weights?: ArrayLike | null, opts?: AverageOptions): NDArray | [NDArray, NDArray] {
  let o: AverageOptions;
  // A plain object can never be weights: `average(x, axis, { ...options })` is the options.
  if (isPlainObject(weights) && opts === undefined) [weights, opts] = [undefined, weights as AverageOptions];
  if (isPlainObject(axis)) o = withAxis("average", axis, opts, AVERAGE_OPTS);
  else {
    o = withAxis("average", axis, opts, AVERAGE_OPTS);
    if (given(weights)) {
      if (given(o.weights)) throw new ArgumentError("average: got multiple values for argument 'weights'");
      o = { ...o, weights };
    }
  }
  const keepdims = o.keepdims ?? false;
  let avg: NDArray;
  let wsum: NDArray;
  if (!given(o.weights)) {
    const [x] = promoteArgsInexact("average", a);
    const dims = normalizeAxes("average", o.axis, x.ndim);
    avg = mean(x, { axis: dims, keepdims });
    wsum = fill(axisSize(x, dims), avg);
  } else {
    let [x, w] = promoteArgsInexact("average", a, o.weights);
    normalizeAxes("average", o.axis, x.ndim);
    if (!shapeEqual(x.shape, w.shape)) {
      if (w.ndim !== 1) throw new ShapeError(`average: 1D weights expected when shapes of a and weights differ, got ${fmtShape(x.shape)} and ${fmtShape(w.shape)}`);
      if (!given(o.axis)) throw new ShapeError(`average: Axis must be specified when shapes of a and weights differ, got ${fmtShape(x.shape)} and ${fmtShape(w.shape)}`);
      if (typeof o.axis !== "number") throw new ShapeError(`average: Single axis expected when shapes of a and weights differ, got axis ${describeValue(o.axis)}`);
      const ax = normalizeAxis("average", o.axis, x.ndim);
      if (w.shape[0] !== x.shape[ax])
        throw new ShapeError(`average: Length of weights not compatible with specified axis, got weights ${fmtShape(w.shape)} for axis ${ax} of ${fmtShape(x.shape)}`);
      w = lax.broadcastInDim(w, [...x.shape], [ax]);
    }
    wsum = sum(w, { axis: o.axis, keepdims });
    avg = divide(sum(multiply(x, w), { axis: o.axis, keepdims }), wsum);
  }
  if (!o.returned) return avg;
  return [avg, shapeEqual(wsum.shape, avg.shape) ? wsum : broadcastTo(wsum, avg.shape)];
}

// ---- NaN-ignoring reductions (JAX's _nan_reduction) ----

function nanFilled(a: NDArray, v: number): NDArray {
  return lax.select(isnan(a), fill(v, a), a);
}

/** Sum treating NaN as zero. */
export function nansum(a: ArrayLike, axis?: Axis | SumOptions, opts?: SumOptions): NDArray {
  const o = withAxis("nansum", axis, opts, SUM_OPTS);
  const x = asArray(a, null, "nansum");
  const dims = reduceAxes("nansum", x, o);
  return sum(x.dtype.isFloat ? nanFilled(x, 0) : x, { ...o, axis: dims, dtype: given(o.dtype) ? toDType(o.dtype, "nansum") : null });
}

/** Maximum ignoring NaN; NaN only where every element of the slice is NaN. */
export function nanmax(a: ArrayLike, axis?: Axis | MaxOptions, opts?: MaxOptions): NDArray {
  return nanExtreme("nanmax", max, -Infinity, a, withAxis("nanmax", axis, opts, MAX_OPTS));
}
/** Minimum ignoring NaN; NaN only where every element of the slice is NaN. */
export function nanmin(a: ArrayLike, axis?: Axis | MaxOptions, opts?: MaxOptions): NDArray {
  return nanExtreme("nanmin", min, Infinity, a, withAxis("nanmin", axis, opts, MAX_OPTS));
}
function nanExtreme(op: string, red: (a: ArrayLike, o: MaxOptions) => NDArray, identity: number, a: ArrayLike, o: MaxOptions): NDArray {
  const x = asArray(a, null, op);
  const dims = reduceAxes(op, x, o);
  if (!given(o.initial) && dims.some((d) => x.shape[d] === 0))
    throw new ValueError(`${op}: zero-size array to reduction operation ${op} which has no identity, got shape ${fmtShape(x.shape)}`);
  if (given(o.where) && !given(o.initial))
    throw new ValueError(`${op}: reduction operation ${op} does not have an identity, so to use a where mask one has to specify 'initial'`);
  o = { ...o, axis: dims };
  if (!x.dtype.isFloat) return red(x, o);
  const out = red(nanFilled(x, identity), o);
  const allNan = all(isnan(x), { axis: o.axis, keepdims: o.keepdims });
  return lax.select(allNan, fill(NaN, out), out);
}

/** Mean of the non-NaN elements; NaN where a slice has none. */
export function nanmean(a: ArrayLike, axis?: Axis | MeanOptions, opts?: MeanOptions): NDArray {
  const o = withAxis("nanmean", axis, opts, MEAN_OPTS);
  const x = asArray(a, null, "nanmean");
  const dims = reduceAxes("nanmean", x, o);
  const dtype = given(o.dtype) ? toDType(o.dtype, "nanmean") : null;
  if (!x.dtype.isFloat) return mean(x, { ...o, axis: dims, dtype });
  const r = { axis: dims, dtype: dtype ?? x.dtype, keepdims: o.keepdims, where: o.where };
  const count = sum(lax.bitwiseNot(isnan(x)), r);
  return lax.div(nansum(x, r), count);
}
