// Small helpers over `bind` for writing transformation rules inside the primitive records
// (jvp, transpose, batching): the primitives layer cannot use kernel/api, so rules build their
// computations from these. They apply lax semantics (no promotion); scalars are made in the
// dtype of the array they combine with.

import { ShapedArray } from "../core/aval";
import { DType } from "../core/dtype";
import { NDArray, fromStorage } from "../core/ndarray";
import { Primitive, UndefinedPrimal } from "../core/primitive";
import { bind, bind1 } from "../core/trace";
import { fromNumbers } from "./cpu-loops";
import * as E from "./elementwise";
import * as M from "./movement";
import * as R from "./reduce";

type V = NDArray | number;

/** A 0-d array of `dtype` holding `v`; weak so that it never widens what it meets. */
export function scalar(v: number, dtype: DType): NDArray {
  return fromStorage(fromNumbers([v], dtype), new ShapedArray([], dtype, true));
}
const arr = (x: V, like: NDArray): NDArray => (typeof x === "number" ? scalar(x, like.dtype) : x);
function bin(p: typeof E.add, a: V, b: V): NDArray {
  const ref = (typeof a === "number" ? b : a) as NDArray;
  return bind1(p, [arr(a, ref), arr(b, ref)]);
}

export const add = (a: V, b: V): NDArray => bin(E.add, a, b);
export const sub = (a: V, b: V): NDArray => bin(E.sub, a, b);
export const mul = (a: V, b: V): NDArray => bin(E.mul, a, b);
export const div = (a: V, b: V): NDArray => bin(E.div, a, b);
export const max = (a: V, b: V): NDArray => bin(E.max, a, b);
export const min = (a: V, b: V): NDArray => bin(E.min, a, b);
export const pow = (a: V, b: V): NDArray => bin(E.pow, a, b);
export const eq = (a: V, b: V): NDArray => bin(E.eq, a, b);
export const ne = (a: V, b: V): NDArray => bin(E.ne, a, b);
export const lt = (a: V, b: V): NDArray => bin(E.lt, a, b);
export const le = (a: V, b: V): NDArray => bin(E.le, a, b);
export const gt = (a: V, b: V): NDArray => bin(E.gt, a, b);
export const ge = (a: V, b: V): NDArray => bin(E.ge, a, b);
export const and = (a: V, b: V): NDArray => bin(E.and, a, b);
export const neg = (x: NDArray): NDArray => bind1(E.neg, [x]);
export const sign = (x: NDArray): NDArray => bind1(E.sign, [x]);
export const abs = (x: NDArray): NDArray => bind1(E.abs, [x]);
export const exp = (x: NDArray): NDArray => bind1(E.exp, [x]);
export const log = (x: NDArray): NDArray => bind1(E.log, [x]);
export const sqrt = (x: NDArray): NDArray => bind1(E.sqrt, [x]);
export const rsqrt = (x: NDArray): NDArray => bind1(E.rsqrt, [x]);
export const sin = (x: NDArray): NDArray => bind1(E.sin, [x]);
export const cos = (x: NDArray): NDArray => bind1(E.cos, [x]);
export const tanh = (x: NDArray): NDArray => bind1(E.tanh, [x]);
export const logistic = (x: NDArray): NDArray => bind1(E.logistic, [x]);
export const square = (x: NDArray): NDArray => bind1(E.square, [x]);
export const integerPow = (x: NDArray, y: number): NDArray => bind1(E.integerPow, [x], { y });
export const stopGradient = (x: NDArray): NDArray => bind1(E.stopGradient, [x]);
/** select(pred, onTrue, onFalse). */
export const select = (pred: NDArray, t: NDArray, f: NDArray): NDArray => bind1(E.selectN, [pred, f, t]);

/** Casts (a no-op when the dtype already matches). */
export function convert(x: NDArray, dtype: DType, weakType = false): NDArray {
  if (x.dtype === dtype && x.weakType === weakType) return x;
  return bind1(E.convertElementType, [x], { new_dtype: dtype, weak_type: weakType });
}

/** An array of `aval`'s shape and dtype filled with v (a broadcast scalar). */
export function full(aval: ShapedArray, v: number): NDArray {
  // The scalar is made with the aval's own weak type, so no conversion is needed (a literal).
  const s = fromStorage(fromNumbers([v], aval.dtype), new ShapedArray([], aval.dtype, aval.weakType));
  return aval.ndim === 0 ? s : broadcastInDim(s, aval.shape, []);
}
export const zerosLike = (x: NDArray | ShapedArray): NDArray => full(x instanceof NDArray ? x.aval : x, 0);
export const onesLike = (x: NDArray | ShapedArray): NDArray => full(x instanceof NDArray ? x.aval : x, 1);

export function broadcastInDim(x: NDArray, shape: readonly number[], dims: readonly number[]): NDArray {
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i]) && dims.every((d, i) => d === i)) return x;
  return bind1(M.broadcastInDim, [x], { shape: [...shape], broadcast_dimensions: [...dims], sharding: null });
}
/** Broadcasts x (of lax-compatible rank: equal rank with 1s, or 0-d) to `shape`. */
export function broadcastTo(x: NDArray, shape: readonly number[]): NDArray {
  if (x.ndim === 0) return broadcastInDim(x, shape, []);
  if (x.shape.every((d, i) => d === shape[i])) return x;
  const squeezeDims = x.shape.map((d, i) => (d === 1 && shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  const kept = x.shape.map((_, i) => i).filter((i) => !squeezeDims.includes(i));
  return broadcastInDim(squeezeDims.length ? squeeze(x, squeezeDims) : x, shape, kept);
}
export function reshape(x: NDArray, shape: readonly number[]): NDArray {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind1(M.reshape, [x], { new_sizes: [...shape], dimensions: null });
}
export function transpose(x: NDArray, perm: readonly number[]): NDArray {
  if (perm.every((p, i) => p === i)) return x;
  return bind1(M.transpose, [x], { permutation: [...perm] });
}
export function squeeze(x: NDArray, dims: readonly number[]): NDArray {
  return dims.length ? bind1(M.squeeze, [x], { dimensions: [...dims] }) : x;
}
/** Inserts a size-1 axis at `axis`. */
export function expandDims(x: NDArray, axis: number): NDArray {
  const shape = [...x.shape];
  shape.splice(axis, 0, 1);
  return reshape(x, shape);
}
export function reduceSum(x: NDArray, axes: readonly number[]): NDArray {
  return axes.length ? bind1(R.reduceSum, [x], { axes: [...axes], out_sharding: null }) : x;
}
/** Sums x over the axes where it was broadcast to reach `shape` (the transpose of broadcasting). */
export function unbroadcast(x: NDArray, aval: ShapedArray): NDArray {
  if (x.ndim === aval.ndim && x.shape.every((d, i) => d === aval.shape[i])) return x;
  if (aval.ndim === 0) return reduceSum(x, x.shape.map((_, i) => i));
  const axes = x.shape.map((d, i) => (aval.shape[i] === 1 && d !== 1 ? i : -1)).filter((i) => i >= 0);
  return reshape(reduceSum(x, axes), aval.shape);
}
/** Moves axis `from` of x to position `to`. */
export function moveAxis(x: NDArray, from: number, to: number): NDArray {
  if (from === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}
export function iota(dtype: DType, shape: readonly number[], dimension: number): NDArray {
  return bind1(M.iota, [], { dtype, shape: [...shape], dimension, sharding: null });
}

/** x[..., start:stop, ...] along one axis (lax.slice). */
export function sliceAxis(x: NDArray, axis: number, start: number, stop: number): NDArray {
  if (start === 0 && stop === x.shape[axis]) return x;
  return bind1(M.slice, [x], {
    start_indices: x.shape.map((_, d) => (d === axis ? start : 0)),
    limit_indices: x.shape.map((n, d) => (d === axis ? stop : n)),
    strides: null,
  });
}
/** lax.slice: x[start:limit:stride] on every axis (strides null = 1). */
export function slice(x: NDArray, start: readonly number[], limit: readonly number[], strides: readonly number[] | null = null): NDArray {
  const unit = !strides || strides.every((s) => s === 1);
  if (unit && start.every((s) => s === 0) && limit.every((l, d) => l === x.shape[d])) return x;
  return bind1(M.slice, [x], { start_indices: [...start], limit_indices: [...limit], strides: unit ? null : [...strides!] });
}
/** lax.pad with (low, high, interior) per axis; the padding value is a scalar (or a number). */
export function pad(x: NDArray, value: V, config: readonly (readonly [number, number, number])[]): NDArray {
  if (config.every(([lo, hi, int]) => lo === 0 && hi === 0 && int === 0)) return x;
  return bind1(M.pad, [x, arr(value, x)], { padding_config: config.map((c) => [...c] as [number, number, number]) });
}
export function concatenate(xs: readonly NDArray[], axis: number): NDArray {
  return xs.length === 1 ? xs[0] : bind1(M.concatenate, [...xs], { dimension: axis });
}
export function rev(x: NDArray, dims: readonly number[]): NDArray {
  return dims.length ? bind1(M.rev, [x], { dimensions: [...dims] }) : x;
}
export function dynamicSlice(x: NDArray, starts: readonly NDArray[], sizes: readonly number[]): NDArray {
  return bind1(M.dynamicSlice, [x, ...starts], { slice_sizes: [...sizes] });
}
export function dynamicUpdateSlice(x: NDArray, update: NDArray, starts: readonly NDArray[]): NDArray {
  return bind1(M.dynamicUpdateSlice, [x, update, ...starts]);
}
/**
 * For batching rules: moves x's batch axis `from` to `to`; an unbatched x (from = null) gets a
 * broadcast batch axis of `size` there.
 */
export function moveBatchAxis(x: NDArray, from: number | null, to: number, size: number): NDArray {
  if (from !== null) return moveAxis(x, from, to);
  const shape = [...x.shape];
  shape.splice(to, 0, size);
  return broadcastInDim(x, shape, x.shape.map((_, i) => (i < to ? i : i + 1)));
}

/** In a transpose rule: whether an input is a linear input (an UndefinedPrimal), not a known value. */
export const isUndefined = (a: NDArray | UndefinedPrimal): a is UndefinedPrimal => a instanceof UndefinedPrimal;
/**
 * The jvp of a primitive linear in operand 0 whose other operands (indices) get no tangent:
 * d p(x, i...) = p(dx, i...). Non-float outputs get no tangent.
 */
export function linearJvp<P>(p: Primitive<P>, primals: NDArray[], tangents: (NDArray | null)[], params: P): [NDArray[], (NDArray | null)[]] {
  const out = bind1(p, primals, params);
  const t = tangents[0];
  return [[out], [t && out.dtype.isFloat ? bind1(p, [t, ...primals.slice(1)], params) : null]];
}
/** The jvp of a primitive without derivative (integer-valued, bit-level): the output, no tangent. */
export function zeroJvp<P>(p: Primitive<P>, primals: NDArray[], params: P): [NDArray[], (NDArray | null)[]] {
  const outs = bind(p, primals, params);
  return [outs, outs.map(() => null)];
}
