// jax.numpy's shape and layout functions: reshape, transpose, stacking and splitting, tiling,
// repeating, flipping, rolling, padding, diagonals and triangles. Every result is built from lax
// wrappers (and so from `bind`), never computed in JS: the JS side only works out static
// metadata (shapes, slice bounds, permutations), which is what JAX does at trace time too.
// A JAX keyword that is also positional (`axis`, `offset`, `k`, `mode`) may be given either
// positionally or in the trailing options object.

import { DTypeLike, int32, toDType } from "../core/dtype";
import { ArgumentError, AxisError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import {
  OptionSpec, broadcastShapes, checkInteger, checkOptions, checkPermutation, checkShape, checkSize, describeValue, isPlainObject, normalizeAxes,
  normalizeAxis, positionalOrOption, shapeEqual, sizeOf,
} from "../core/shape";
import { ArrayLike, asArray, astype, promoteArgs, weakScalar } from "./convert";
import * as lax from "./lax";
import { broadcastTo, floorDivide, remainder, where } from "./ufuncs";

/** An `axis` argument: one axis, several, or null (all axes / flatten, per function). */
export type AxisArg = number | readonly number[] | null;
const range = (n: number, from = 0): number[] => Array.from({ length: Math.max(0, n - from) }, (_, i) => i + from);
const arr = (x: ArrayLike, op: string): NDArray => asArray(x, null, op);

const isOptions = isPlainObject;
const posOrOpt = positionalOrOption;
// The options each function accepts; unknown keys are errors.
const AXIS_OPTS: OptionSpec = { axis: "any" };
const CONCAT_OPTS: OptionSpec = { axis: "any", dtype: "any" };
const DTYPE_OPTS: OptionSpec = { dtype: "any" };
const REPEAT_OPTS: OptionSpec = { axis: "any", totalRepeatLength: "count" };
const ROT90_OPTS: OptionSpec = { k: "any", axes: "any" };
const PAD_OPTS: OptionSpec = { mode: "any", constantValues: "any" };
const DIAGONAL_OPTS: OptionSpec = { offset: "any", axis1: "any", axis2: "any" };
const TRACE_OPTS: OptionSpec = { ...DIAGONAL_OPTS, dtype: "any" };
const K_OPTS: OptionSpec = { k: "any" };

/** An axis argument that is one axis or a list of them, as a list (unchecked entries). */
function axisList(op: string, axis: unknown, name = "axis"): unknown[] {
  if (typeof axis === "number") return [axis];
  if (Array.isArray(axis)) return [...axis];
  throw new AxisError(`${op}: ${name} must be an integer or a list of integers, got ${describeValue(axis)}`);
}

/** lax.slice along one axis: x[..., start:stop:step, ...]. */
function sliceAxis(x: NDArray, axis: number, start: number, stop: number, step = 1): NDArray {
  const st = x.shape.map((_, d) => (d === axis ? start : 0));
  const li = x.shape.map((n, d) => (d === axis ? stop : n));
  return lax.slice(x, st, li, step === 1 ? null : x.shape.map((_, d) => (d === axis ? step : 1)));
}

/** x.take(idx, axis) for in-bounds indices, as one gather. */
function takeAxis(x: NDArray, idx: NDArray, axis: number): NDArray {
  const k = idx.ndim;
  const offsetDims = range(x.ndim - 1).map((d) => (d < axis ? d : d + k));
  const sliceSizes = x.shape.map((n, d) => (d === axis ? 1 : n));
  return lax.gather(x, lax.reshape(idx, [...idx.shape, 1]), { offset_dims: offsetDims, collapsed_slice_dims: [axis], start_index_map: [axis] }, sliceSizes, { mode: "clip" });
}

/** Rows of an array along its leading axis (JAX iterates an array passed where a list is expected). */
function unstack(x: NDArray): NDArray[] {
  return range(x.shape[0]).map((i) => lax.reshape(sliceAxis(x, 0, i, i + 1), x.shape.slice(1)));
}
function listOf(xs: readonly ArrayLike[] | NDArray, op: string): NDArray[] {
  if (xs instanceof NDArray) return xs.ndim === 0 ? [xs] : unstack(xs);
  if (!Array.isArray(xs)) throw new ArgumentError(`${op}: expected a list of arrays, got ${describeValue(xs)}`);
  return xs.map((x) => arr(x, op));
}

// ---- Reshaping and axis order ----

/** jnp.reshape(a, newShape): one entry may be -1, inferred from the size. */
export function reshape(a: ArrayLike, newShape: number | readonly number[]): NDArray {
  const x = arr(a, "reshape");
  if (typeof newShape !== "number" && !Array.isArray(newShape))
    throw new ShapeError(`reshape: the new shape must be an integer or a list of integers, got ${describeValue(newShape)}`);
  const s: number[] = typeof newShape === "number" ? [newShape] : [...newShape];
  for (const d of s)
    if (!Number.isInteger(d) || d < -1) throw new ValueError(`reshape: shape entries must be integers >= -1, got ${describeValue(s)}`);
  const unknown = s.filter((d) => d === -1).length;
  if (unknown > 1) throw new ValueError(`reshape: can only specify one unknown dimension, got ${fmtShape(s)}`);
  if (unknown === 1) {
    const known = sizeOf(s.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0)
      throw new ShapeError(`reshape: cannot reshape array of shape ${fmtShape(x.shape)} (size ${x.size}) into shape ${fmtShape(s)}`);
    s[s.indexOf(-1)] = x.size / known;
  }
  return shapeEqual(s, x.shape) ? x : lax.reshape(x, s);
}

/** jnp.ravel: the elements in row-major order, as a 1-D array. */
export function ravel(a: ArrayLike): NDArray {
  const x = arr(a, "ravel");
  return x.ndim === 1 ? x : lax.reshape(x, [x.size]);
}

/** jnp.transpose(a, axes?): permutes axes; reverses them by default. */
export function transpose(a: ArrayLike, axes?: readonly number[] | null): NDArray {
  const x = arr(a, "transpose");
  const perm = axes === undefined || axes === null ? range(x.ndim).reverse() : checkPermutation("transpose", axes, x.ndim);
  return perm.every((p, i) => p === i) ? x : lax.transpose(x, perm);
}

/** jnp.swapaxes(a, axis1, axis2). */
export function swapaxes(a: ArrayLike, axis1: number, axis2: number): NDArray {
  const x = arr(a, "swapaxes");
  const perm = range(x.ndim);
  const i = normalizeAxis("swapaxes", axis1, x.ndim);
  const j = normalizeAxis("swapaxes", axis2, x.ndim);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return transpose(x, perm);
}

/** jnp.moveaxis(a, source, destination): moves axes to new positions, keeping the others' order. */
export function moveaxis(a: ArrayLike, source: number | readonly number[], destination: number | readonly number[]): NDArray {
  const x = arr(a, "moveaxis");
  const src = axisList("moveaxis", source, "source");
  const dst = axisList("moveaxis", destination, "destination");
  if (src.length !== dst.length) throw new ValueError(`moveaxis: Inconsistent number of elements: ${src.length} vs ${dst.length}`);
  const s = src.map((d) => normalizeAxis("moveaxis", d, x.ndim));
  const t = dst.map((d) => normalizeAxis("moveaxis", d, x.ndim));
  if (new Set(s).size !== s.length || new Set(t).size !== t.length)
    throw new ValueError(`moveaxis: repeated axis in source or destination, got ${describeValue(src)} and ${describeValue(dst)}`);
  // NumPy's construction: the unmoved axes in order, then each moved axis inserted at its target.
  const perm = range(x.ndim).filter((d) => !s.includes(d));
  for (const [d, sd] of t.map((d, i) => [d, s[i]]).sort((p, q) => p[0] - q[0])) perm.splice(d, 0, sd);
  return transpose(x, perm);
}

/** jnp.expand_dims(a, axis): inserts size-1 axes; `axis` indexes the result. */
export function expandDims(a: ArrayLike, axis: number | readonly number[]): NDArray {
  const x = arr(a, "expand_dims");
  const list = axisList("expand_dims", axis);
  const axes = normalizeAxes("expand_dims", list, x.ndim + list.length);
  return axes.length === 0 ? x : lax.expandDims(x, axes);
}

/** jnp.squeeze(a, axis?): removes size-1 axes (all of them when axis is omitted). */
export function squeeze(a: ArrayLike, axis?: AxisArg | { axis?: AxisArg }): NDArray {
  const x = arr(a, "squeeze");
  const ax = posOrOpt<AxisArg>("squeeze", axis, "axis", null, AXIS_OPTS).value;
  const dims = ax === null ? range(x.ndim).filter((d) => x.shape[d] === 1) : normalizeAxes("squeeze", ax, x.ndim);
  for (const d of dims)
    if (x.shape[d] !== 1) throw new ValueError(`squeeze: cannot select an axis to squeeze out which has size not equal to one, got axis ${d} of shape ${fmtShape(x.shape)}`);
  return dims.length === 0 ? x : lax.squeeze(x, dims);
}

/** jnp.broadcast_arrays(...xs): each argument broadcast to the common shape (dtypes kept). */
export function broadcastArrays(...xs: ArrayLike[]): NDArray[] {
  const as = xs.map((x) => arr(x, "broadcast_arrays"));
  const shape = broadcastShapes("broadcast_arrays", ...as.map((x) => x.shape));
  return as.map((x) => broadcastTo(x, shape));
}

function atleast(op: string, n: 1 | 2 | 3, xs: ArrayLike[]): NDArray | NDArray[] {
  const out = xs.map((v) => {
    const x = arr(v, op);
    if (x.ndim >= n) return x;
    // NumPy's placement: 1-D [k] -> [1, k] (2d) or [1, k, 1] (3d); 2-D [m, k] -> [m, k, 1].
    if (x.ndim === 0) return lax.reshape(x, new Array(n).fill(1));
    if (x.ndim === 1) return lax.reshape(x, n === 2 ? [1, x.shape[0]] : [1, x.shape[0], 1]);
    return lax.reshape(x, [...x.shape, 1]);
  });
  return out.length === 1 ? out[0] : out;
}
/** jnp.atleast_1d: one argument gives an array, several give a list. */
export function atleast1d(x: ArrayLike): NDArray;
export function atleast1d(...xs: ArrayLike[]): NDArray[];
export function atleast1d(...xs: ArrayLike[]): NDArray | NDArray[] {
  return atleast("atleast_1d", 1, xs);
}
/** jnp.atleast_2d. */
export function atleast2d(x: ArrayLike): NDArray;
export function atleast2d(...xs: ArrayLike[]): NDArray[];
export function atleast2d(...xs: ArrayLike[]): NDArray | NDArray[] {
  return atleast("atleast_2d", 2, xs);
}
/** jnp.atleast_3d. */
export function atleast3d(x: ArrayLike): NDArray;
export function atleast3d(...xs: ArrayLike[]): NDArray[];
export function atleast3d(...xs: ArrayLike[]): NDArray | NDArray[] {
  return atleast("atleast_3d", 3, xs);
}

// ---- Joining ----

/** Options of concatenate/stack (JAX keywords `axis`, `dtype`). */
export interface ConcatOptions {
  axis?: number | null;
  dtype?: DTypeLike | null;
}
type AxisOrConcatOpts = number | null | ConcatOptions;

/** jnp.concatenate(arrays, {axis = 0, dtype}): axis null flattens first; dtypes are promoted. */
export function concatenate(arrays: readonly ArrayLike[] | NDArray, axisOrOpts?: AxisOrConcatOpts): NDArray {
  return concat("concatenate", listOf(arrays, "concatenate"), axisOrOpts);
}

function concat(op: string, list: NDArray[], axisOrOpts?: AxisOrConcatOpts): NDArray {
  const { value: axis, opts } = posOrOpt<number | null>(op, axisOrOpts, "axis", 0, CONCAT_OPTS);
  if (list.length === 0) throw new ValueError(`${op}: need at least one array to concatenate, got 0`);
  let xs = promoteArgs(op, ...list);
  if (opts.dtype !== undefined && opts.dtype !== null) {
    const d = toDType(opts.dtype, op);
    xs = xs.map((x) => astype(x, d));
  }
  if (axis === null) xs = xs.map(ravel);
  xs.forEach((x, i) => {
    if (x.ndim === 0) throw new ValueError(`${op}: zero-dimensional arrays cannot be concatenated, got shape [] at index ${i}`);
  });
  const ax = normalizeAxis(op, axis ?? 0, xs[0].ndim);
  xs.forEach((x, i) => {
    if (x.ndim !== xs[0].ndim)
      throw new ShapeError(`${op}: all the input arrays must have same number of dimensions, but the array at index 0 has ${xs[0].ndim} dimension(s) and the array at index ${i} has ${x.ndim} dimension(s)`);
    const d = x.shape.findIndex((n, j) => j !== ax && n !== xs[0].shape[j]);
    if (d >= 0)
      throw new ShapeError(`${op}: all the input array dimensions except for the concatenation axis must match exactly, but along dimension ${d}, the array at index 0 has size ${xs[0].shape[d]} and the array at index ${i} has size ${x.shape[d]}`);
  });
  return xs.length === 1 ? xs[0] : lax.concatenate(xs, ax);
}

/** jnp.stack(arrays, {axis = 0, dtype}): joins equal-shaped arrays along a new axis. */
export function stack(arrays: readonly ArrayLike[] | NDArray, axisOrOpts?: number | ConcatOptions): NDArray {
  const { value: axis, opts } = posOrOpt<number>("stack", axisOrOpts, "axis", 0, CONCAT_OPTS);
  const xs = listOf(arrays, "stack");
  if (xs.length === 0) throw new ValueError("stack: need at least one array to stack, got 0");
  for (const x of xs)
    if (!shapeEqual(x.shape, xs[0].shape)) throw new ShapeError(`stack: all input arrays must have the same shape, got ${xs.map((y) => fmtShape(y.shape)).join(", ")}`);
  const ax = normalizeAxis("stack", axis ?? 0, xs[0].ndim + 1);
  return concat("stack", xs.map((x) => lax.expandDims(x, [ax])), { axis: ax, dtype: opts.dtype });
}

/** jnp.hstack: along axis 1 (axis 0 for 1-D inputs). */
export function hstack(tup: readonly ArrayLike[] | NDArray, opts: { dtype?: DTypeLike | null } = {}): NDArray {
  checkOptions("hstack", opts, DTYPE_OPTS);
  const xs = listOf(tup, "hstack").map((x) => atleast1d(x));
  return concat("hstack", xs, { axis: xs.length > 0 && xs[0].ndim === 1 ? 0 : 1, dtype: opts.dtype });
}
/** jnp.vstack: along axis 0 after atleast_2d. */
export function vstack(tup: readonly ArrayLike[] | NDArray, opts: { dtype?: DTypeLike | null } = {}): NDArray {
  checkOptions("vstack", opts, DTYPE_OPTS);
  return concat("vstack", listOf(tup, "vstack").map((x) => atleast2d(x)), { axis: 0, dtype: opts.dtype });
}
/** jnp.dstack: along axis 2 after atleast_3d. */
export function dstack(tup: readonly ArrayLike[] | NDArray, opts: { dtype?: DTypeLike | null } = {}): NDArray {
  checkOptions("dstack", opts, DTYPE_OPTS);
  return concat("dstack", listOf(tup, "dstack").map((x) => atleast3d(x)), { axis: 2, dtype: opts.dtype });
}
/** jnp.column_stack: 1-D inputs become columns, then join along axis 1. */
export function columnStack(tup: readonly ArrayLike[] | NDArray): NDArray {
  const xs = listOf(tup, "column_stack").map((x) => (x.ndim < 2 ? lax.reshape(x, [x.size, 1]) : x));
  return concat("column_stack", xs, { axis: 1 });
}

// ---- Splitting ----

const MAX_EMPTY_PIECES = 100_000;

/** Python slice bounds [start, stop) for each piece, as NumPy's array_split computes them. */
function splitBounds(op: string, n: number, ios: number | readonly number[] | NDArray, even: boolean): [number, number][] {
  if (typeof ios === "number") {
    if (!Number.isInteger(ios) || ios <= 0) throw new ValueError(`${op}: number sections must be a positive integer, got ${describeValue(ios)}`);
    // Sections beyond the axis size are empty pieces; a bound keeps a typo from making millions.
    if (ios > n + MAX_EMPTY_PIECES)
      throw new ValueError(`${op}: number sections may exceed the axis size ${n} by at most ${MAX_EMPTY_PIECES} (empty pieces), got ${ios}`);
    if (even && n % ios !== 0) throw new ValueError(`${op}: array split does not result in an equal division, got ${n} elements into ${ios} sections`);
    // The first n % N pieces get one extra element.
    const base = Math.floor(n / ios);
    const extra = n % ios;
    let at = 0;
    return range(ios).map((i) => {
      const len = base + (i < extra ? 1 : 0);
      return [at, (at += len)] as [number, number];
    });
  }
  if (!(ios instanceof NDArray) && !Array.isArray(ios))
    throw new ArgumentError(`${op}: indices_or_sections must be an integer or a list of integers, got ${describeValue(ios)}`);
  if (ios instanceof NDArray && (ios.ndim > 1 || !ios.dtype.isInt))
    throw new ArgumentError(`${op}: indices_or_sections must be an integer or a 1-D integer array, got ${describeValue(ios)}`);
  const list = ios instanceof NDArray ? Array.from(ios._concrete(op).dataSync()) : [...ios];
  for (const i of list) checkInteger(op, "a split index", i);
  const norm = (i: number) => (i < 0 ? Math.max(i + n, 0) : Math.min(i, n));
  const cuts = [0, ...list.map(norm), n];
  return range(cuts.length - 1).map((k) => [cuts[k], Math.max(cuts[k], cuts[k + 1])] as [number, number]);
}

function splitImpl(op: string, ary: ArrayLike, ios: number | readonly number[] | NDArray, axisOrOpts: number | { axis?: number } | undefined, even: boolean): NDArray[] {
  const x = arr(ary, op);
  const ax = normalizeAxis(op, posOrOpt<number>(op, axisOrOpts, "axis", 0, AXIS_OPTS).value, x.ndim);
  return splitBounds(op, x.shape[ax], ios, even).map(([a, b]) => sliceAxis(x, ax, a, b));
}

/** jnp.split(x, sectionsOrIndices, {axis = 0}): equal sections (must divide) or split points. */
export function split(ary: ArrayLike, indicesOrSections: number | readonly number[] | NDArray, axisOrOpts?: number | { axis?: number }): NDArray[] {
  return splitImpl("split", ary, indicesOrSections, axisOrOpts, true);
}
/** jnp.array_split: like split, but sections need not divide the axis. */
export function arraySplit(ary: ArrayLike, indicesOrSections: number | readonly number[] | NDArray, axisOrOpts?: number | { axis?: number }): NDArray[] {
  return splitImpl("array_split", ary, indicesOrSections, axisOrOpts, false);
}

// ---- Tiling and repeating ----

/** jnp.tile(a, reps): out[i*s + j] = a[j] along each axis, as broadcast + reshape. */
export function tile(A: ArrayLike, reps: number | readonly number[]): NDArray {
  const x = arr(A, "tile");
  if (typeof reps !== "number" && !Array.isArray(reps)) throw new ArgumentError(`tile: reps must be an integer or a list of integers, got ${describeValue(reps)}`);
  const r0: number[] = typeof reps === "number" ? [reps] : [...reps];
  for (const r of r0) if (!Number.isInteger(r) || r < 0) throw new ValueError(`tile: reps must be non-negative integers, got ${describeValue(r0)}`);
  const nd = Math.max(r0.length, x.ndim);
  const r = [...new Array(nd - r0.length).fill(1), ...r0];
  const s = [...new Array(nd - x.ndim).fill(1), ...x.shape];
  checkSize("tile", s.map((d, i) => d * r[i]));
  // [s0, s1] broadcast to [r0, s0, r1, s1], then merged pairwise to [r0*s0, r1*s1].
  const b = lax.broadcastInDim(x, s.flatMap((d, i) => [r[i], d]), range(x.ndim).map((i) => 2 * (nd - x.ndim + i) + 1));
  return lax.reshape(b, s.map((d, i) => d * r[i]));
}

/** Options of repeat (JAX keywords `axis`, `total_repeat_length`). */
export interface RepeatOptions {
  axis?: number | null;
  /** The static output length along the axis; makes traced `repeats` usable (as in JAX). */
  totalRepeatLength?: number | null;
}

/** jnp.repeat(a, repeats, {axis, totalRepeatLength}): repeats each element along the axis. */
export function repeat(a: ArrayLike, repeats: ArrayLike, axisOrOpts?: number | null | RepeatOptions): NDArray {
  const { value: axis, opts } = posOrOpt<number | null>("repeat", axisOrOpts, "axis", null, REPEAT_OPTS);
  let x = arr(a, "repeat");
  if (axis === null) x = ravel(x);
  const ax = normalizeAxis("repeat", axis ?? 0, x.ndim);
  const n = x.shape[ax];
  const total: number | null = opts.totalRepeatLength ?? null;
  if (typeof repeats === "number" && (total === null || total === repeats * n)) {
    if (!Number.isInteger(repeats) || repeats < 0) throw new ValueError(`repeat: repeats must be a non-negative integer, got ${describeValue(repeats)}`);
    checkSize("repeat", x.shape.map((s, d) => (d === ax ? s * repeats : s)));
    // [..., n, ...] -> [..., n, r, ...] -> [..., n*r, ...]
    const shape = [...x.shape.slice(0, ax + 1), repeats, ...x.shape.slice(ax + 1)];
    const b = lax.broadcastInDim(x, shape, range(x.ndim).map((d) => (d <= ax ? d : d + 1)));
    return lax.reshape(b, x.shape.map((s, d) => (d === ax ? s * repeats : s)));
  }
  let r = asArray(repeats, null, "repeat");
  if (r.ndim > 1 || (r.ndim === 1 && r.shape[0] !== 1 && r.shape[0] !== n))
    throw new ShapeError(`repeat: repeats of shape ${fmtShape(r.shape)} cannot be broadcast to the size ${n} of axis ${ax}`);
  if (!r.dtype.isInt) throw new ArgumentError(`repeat: repeats must be integers, got ${r.aval.str()}`);
  r = broadcastTo(r.dtype === int32 ? r : astype(r, int32), [n]);
  let T = total;
  if (T === null) {
    // Concrete repeats: checked and summed on the host (an int32 sum could wrap).
    const counts = Array.from(r._concrete("repeat").dataSync());
    if (counts.some((c) => c < 0)) throw new ValueError(`repeat: repeats must be non-negative, got ${describeValue(counts)}`);
    T = counts.reduce((a, c) => a + c, 0);
  }
  checkSize("repeat", x.shape.map((s, d) => (d === ax ? T : s)));
  if (T === 0 || n === 0) return sliceAxis(x, ax, 0, 0);
  // JAX's construction: exclusive cumsum of repeats gives each element's first output slot;
  // scatter-adding 1 at those slots and cumsumming again numbers every output slot with the
  // element it copies: repeats [1, 2, 0, 5] -> slots [0, 1, 3, 3] -> indices [0, 1, 1, 3, 3, 3, 3, 3].
  const exclusive = lax.concatenate([lax.broadcastInDim(asArray(0, int32), [1], []), sliceAxis(r, 0, 0, n - 1)], 0);
  const starts = lax.cumsum(exclusive, { axis: 0 });
  const zeros = lax.broadcastInDim(asArray(0, int32), [T], []);
  const ones = lax.broadcastInDim(asArray(1, int32), [n], []);
  const marks = lax.scatterAdd(zeros, lax.reshape(starts, [n, 1]), ones, { update_window_dims: [], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0] }, { mode: "drop" });
  const idx = lax.sub(lax.cumsum(marks, { axis: 0 }), 1);
  return takeAxis(x, idx, ax);
}

// ---- Flipping and rolling ----

/** jnp.flip(m, {axis}): reverses the given axes (all by default). */
export function flip(m: ArrayLike, axisOrOpts?: AxisArg | { axis?: AxisArg }): NDArray {
  const x = arr(m, "flip");
  const axes = normalizeAxes("flip", posOrOpt<AxisArg>("flip", axisOrOpts, "axis", null, AXIS_OPTS).value, x.ndim);
  return axes.length === 0 ? x : lax.rev(x, axes);
}
/** jnp.fliplr: reverses axis 1. */
export function fliplr(m: ArrayLike): NDArray {
  const x = arr(m, "fliplr");
  if (x.ndim < 2) throw new ValueError(`fliplr: Input must be >= 2-d, got shape ${fmtShape(x.shape)}`);
  return lax.rev(x, [1]);
}
/** jnp.flipud: reverses axis 0. */
export function flipud(m: ArrayLike): NDArray {
  const x = arr(m, "flipud");
  if (x.ndim < 1) throw new ValueError(`flipud: Input must be >= 1-d, got shape ${fmtShape(x.shape)}`);
  return lax.rev(x, [0]);
}

/** jnp.roll(a, shift, {axis}): out[(i + shift) mod n] = a[i]; axis null rolls the flattened array. */
export function roll(a: ArrayLike, shift: number | readonly number[] | NDArray, axisOrOpts?: AxisArg | { axis?: AxisArg }): NDArray {
  const x = arr(a, "roll");
  const axis = posOrOpt<AxisArg>("roll", axisOrOpts, "axis", null, AXIS_OPTS).value;
  if (!(shift instanceof NDArray)) for (const s of axisList("roll", shift, "shift")) checkInteger("roll", "shift", s);
  else if (!shift.dtype.isInt) throw new ArgumentError(`roll: shift must be an integer or integer array, got ${describeValue(shift)}`);
  if (axis === null) return lax.reshape(roll(ravel(x), shift, 0), x.shape);
  const axes = axisList("roll", axis).map((d) => normalizeAxis("roll", d, x.ndim));
  if (shift instanceof NDArray) return rollDynamic(x, shift, axes);
  const shifts = typeof shift === "number" ? [shift] : [...shift];
  if (shifts.length !== axes.length && shifts.length !== 1 && axes.length !== 1)
    throw new ValueError(`roll: shift and axis must broadcast together, got ${shifts.length} shifts and ${axes.length} axes`);
  const count = Math.max(shifts.length, axes.length);
  // Shifts on the same axis add up (NumPy broadcasts shift against axis).
  const perAxis = new Array<number>(x.ndim).fill(0);
  for (let i = 0; i < count; i++) perAxis[axes[axes.length === 1 ? 0 : i]] += shifts[shifts.length === 1 ? 0 : i];
  let y = x;
  perAxis.forEach((s, d) => {
    const n = y.shape[d];
    const k = n === 0 ? 0 : ((s % n) + n) % n;
    if (k !== 0) y = lax.concatenate([sliceAxis(y, d, n - k, n), sliceAxis(y, d, 0, n - k)], d);
  });
  return y;
}

// A traced shift: concatenate [a, a] and take a window starting at n - (shift mod n), as JAX does.
function rollDynamic(x: NDArray, shift: NDArray, axes: number[]): NDArray {
  const s = shift.dtype === int32 ? shift : astype(shift, int32);
  if (s.ndim > 1) throw new ValueError(`roll: shift must be a scalar or a 1-D sequence, got shape ${fmtShape(s.shape)}`);
  const k = s.ndim === 0 ? 1 : s.shape[0];
  const count = Math.max(k, axes.length);
  let y = x;
  for (let i = 0; i < count; i++) {
    const d = axes[axes.length === 1 ? 0 : i];
    const si = s.ndim === 0 ? s : lax.reshape(sliceAxis(s, 0, k === 1 ? 0 : i, (k === 1 ? 0 : i) + 1), []);
    const n = y.shape[d];
    const start = lax.sub(n, remainder(si, Math.max(n, 1)));
    const both = lax.concatenate([y, y], d);
    y = lax.dynamicSlice(both, y.shape.map((_, j) => (j === d ? start : 0)), y.shape);
  }
  return y;
}

/** jnp.rot90(m, k = 1, axes = [0, 1]): rotates by 90 degrees k times from axes[0] towards axes[1]. */
export function rot90(m: ArrayLike, kOrOpts?: number | { k?: number; axes?: [number, number] }, axes?: readonly [number, number]): NDArray {
  const x = arr(m, "rot90");
  const { value: k, opts } = posOrOpt<number>("rot90", kOrOpts, "k", 1, ROT90_OPTS);
  checkInteger("rot90", "k", k);
  const ax = axes ?? opts.axes ?? [0, 1];
  if (!Array.isArray(ax) || ax.length !== 2) throw new ValueError(`rot90: axes must be a list of two axes, got ${describeValue(ax)}`);
  if (x.ndim < 2) throw new ValueError(`rot90: rot90 requires ndim >= 2, got shape ${fmtShape(x.shape)}`);
  const a1 = normalizeAxis("rot90", ax[0], x.ndim);
  const a2 = normalizeAxis("rot90", ax[1], x.ndim);
  if (a1 === a2) throw new ValueError(`rot90: Axes must be different, got [${ax.join(", ")}]`);
  const kk = ((k % 4) + 4) % 4;
  if (kk === 0) return x;
  if (kk === 2) return lax.rev(x, [a1, a2]);
  const perm = range(x.ndim);
  [perm[a1], perm[a2]] = [perm[a2], perm[a1]];
  return kk === 1 ? lax.transpose(lax.rev(x, [a2]), perm) : lax.rev(lax.transpose(x, perm), [a2]);
}

// ---- Padding ----

/** The padding modes jnp.pad supports here (NumPy's names). */
export type PadMode = "constant" | "edge" | "reflect" | "symmetric" | "wrap" | "empty";
/** Options of pad (JAX keywords `mode`, `constant_values`). */
export interface PadOptions {
  mode?: PadMode;
  /** For mode "constant": a scalar, [before, after], or one pair per axis. */
  constantValues?: ArrayLike;
}
type PadWidth = number | readonly number[] | readonly (readonly number[])[] | NDArray;

/** Broadcasts a NumPy pad_width (n, [n], [b, a], [[b, a]], [[b, a], ...]) to one pair per axis. */
function padPairs(pw: PadWidth, ndim: number): [number, number][] {
  const v: unknown = pw instanceof NDArray ? pw._concrete("pad").tolist() : pw;
  const isNum = (w: unknown) => typeof w === "number";
  if (!(isNum(v) || (Array.isArray(v) && v.every((e) => isNum(e) || (Array.isArray(e) && e.every(isNum))))))
    throw new ArgumentError(`pad: padWidth must be an integer, a list of integers or a list of [before, after] pairs, got ${describeValue(v)}`);
  const shape: number[] = Array.isArray(v) ? (Array.isArray(v[0]) ? [v.length, (v[0] as unknown[]).length] : [v.length]) : [];
  const flat = (Array.isArray(v) ? (v as unknown[]).flat() : [v]) as number[];
  let s: number[];
  try {
    s = broadcastShapes("pad", shape, [ndim, 2]);
  } catch {
    s = [];
  }
  if (shape.length > 2 || s.length !== 2 || s[0] !== ndim || s[1] !== 2 || flat.length !== sizeOf(shape))
    throw new ValueError(`pad: padWidth of shape ${fmtShape(shape)} cannot be broadcast to ${fmtShape([ndim, 2])} (one [before, after] pair per axis)`);
  for (const w of flat) if (!Number.isInteger(w) || w < 0) throw new ValueError(`pad: index can't contain negative values, got padWidth ${describeValue(v)}`);
  const at = (i: number, j: number): number => {
    const [r, c] = shape.length === 2 ? shape : shape.length === 1 ? [1, shape[0]] : [1, 1];
    return flat[(r === 1 ? 0 : i) * c + (c === 1 ? 0 : j)];
  };
  return range(ndim).map((i) => [at(i, 0), at(i, 1)]);
}

/** jnp.pad(a, padWidth, {mode = "constant", constantValues = 0}); mode may also be positional. */
export function pad(array: ArrayLike, padWidth: PadWidth, modeOrOpts?: PadMode | PadOptions, options: PadOptions = {}): NDArray {
  const x = arr(array, "pad");
  const { value: mode, opts } = posOrOpt<PadMode>("pad", modeOrOpts, "mode", "constant", PAD_OPTS);
  const o = { ...checkOptions<PadOptions>("pad", options, PAD_OPTS), ...opts };
  if (typeof mode !== "string") throw new ValueError(`pad: mode must be a string such as "constant" or "edge", got ${describeValue(mode)}`);
  const pairs = padPairs(padWidth, x.ndim);
  checkSize("pad", x.shape.map((n, d) => n + pairs[d][0] + pairs[d][1]));
  if (mode === "constant" || mode === "empty") {
    const cv = astype(asArray(mode === "empty" ? 0 : o.constantValues ?? 0, null, "pad"), x.dtype);
    if (cv.ndim === 0) return pairs.every(([b, e]) => b === 0 && e === 0) ? x : lax.pad(x, cv, pairs.map(([b, e]) => [b, e, 0]));
    // Per-axis constants: broadcast to [ndim, 2] and pad one side of one axis at a time.
    const c = broadcastTo(cv.ndim === 1 ? lax.reshape(cv, [1, cv.shape[0]]) : cv, [x.ndim, 2]);
    let y = x;
    pairs.forEach(([b, e], d) => {
      for (const [side, w] of [[0, b], [1, e]] as const) {
        if (w === 0) continue;
        const value = lax.reshape(lax.slice(c, [d, side], [d + 1, side + 1]), []);
        y = lax.pad(y, value, y.shape.map((_, j) => (j === d ? (side === 0 ? [w, 0, 0] : [0, w, 0]) : [0, 0, 0])));
      }
    });
    return y;
  }
  if (!["edge", "reflect", "symmetric", "wrap"].includes(mode)) throw new ValueError(`pad: Unimplemented padding mode '${String(mode)}' for np.pad.`);
  let y = x;
  pairs.forEach(([b, e], d) => {
    if (b === 0 && e === 0) return;
    const n = y.shape[d];
    if (n === 0) throw new ValueError(`pad: can't extend empty axis ${d} using modes other than 'constant' or 'empty'`);
    y = mode === "edge" || (mode === "reflect" && n === 1) ? padEdge(y, d, b, e) : padPeriodic(y, d, b, e, mode);
  });
  return y;
}

function padEdge(y: NDArray, d: number, b: number, e: number): NDArray {
  const n = y.shape[d];
  const widen = (s: NDArray, w: number) => lax.broadcastInDim(s, y.shape.map((k, j) => (j === d ? w : k)), range(y.ndim));
  const parts = [...(b ? [widen(sliceAxis(y, d, 0, 1), b)] : []), y, ...(e ? [widen(sliceAxis(y, d, n - 1, n), e)] : [])];
  return lax.concatenate(parts, d);
}

// wrap, reflect and symmetric are periodic extensions of one block P: wrap P = x, symmetric
// P = [x, rev(x)] (period 2n), reflect P = [x, rev(x)[1:-1]] (period 2n - 2). Output position
// t holds P[(t - b) mod p]: tile P and slice. This equals NumPy's iterated reflection for any width.
function padPeriodic(y: NDArray, d: number, b: number, e: number, mode: string): NDArray {
  const n = y.shape[d];
  const r = lax.rev(y, [d]);
  const P = mode === "wrap" ? y : mode === "symmetric" ? lax.concatenate([y, r], d) : n === 2 ? y : lax.concatenate([y, sliceAxis(r, d, 1, n - 1)], d);
  const p = P.shape[d];
  const q = Math.ceil(b / p);
  const start = q * p - b;
  const total = b + n + e;
  const reps = Math.ceil((start + total) / p);
  const big = reps === 1 ? P : lax.concatenate(new Array<NDArray>(reps).fill(P), d);
  return sliceAxis(big, d, start, start + total);
}

// ---- Diagonals and triangles ----

/** Options of diagonal/trace (JAX keywords `offset`, `axis1`, `axis2`). */
export interface DiagonalOptions {
  offset?: number;
  axis1?: number;
  axis2?: number;
}

/** jnp.diagonal(a, {offset, axis1, axis2}): the diagonal becomes the last axis. */
export function diagonal(a: ArrayLike, offsetOrOpts?: number | DiagonalOptions, axis1?: number, axis2?: number): NDArray {
  return diagonalImpl("diagonal", arr(a, "diagonal"), offsetOrOpts, axis1, axis2, DIAGONAL_OPTS);
}

function diagonalImpl(op: string, x: NDArray, offsetOrOpts: unknown, axis1: unknown, axis2: unknown, spec: OptionSpec): NDArray {
  const { value: offset, opts } = posOrOpt<number>(op, offsetOrOpts, "offset", 0, spec);
  checkInteger(op, "offset", offset);
  if (x.ndim < 2) throw new ValueError(`${op}: ${op} requires an array of at least two dimensions, got shape ${fmtShape(x.shape)}`);
  const a1 = normalizeAxis(op, axis1 ?? opts.axis1 ?? 0, x.ndim);
  const a2 = normalizeAxis(op, axis2 ?? opts.axis2 ?? 1, x.ndim);
  if (a1 === a2) throw new ValueError(`${op}: axis1 and axis2 cannot be the same, got ${a1} and ${a2}`);
  const y = moveaxis(x, [a1, a2], [-2, -1]);
  const [n, m] = y.shape.slice(-2);
  const rest = y.shape.slice(0, -2);
  const size = Math.max(0, Math.min(n + Math.min(offset, 0), m - Math.max(offset, 0)));
  // Element (i, i + offset) of an n x m matrix sits at flat position start + i * (m + 1).
  const flat = lax.reshape(y, [...rest, n * m]);
  if (size === 0) return sliceAxis(flat, rest.length, 0, 0);
  const start = offset >= 0 ? offset : -offset * m;
  return sliceAxis(flat, rest.length, start, start + (size - 1) * (m + 1) + 1, m + 1);
}

/** jnp.diag(v, k = 0): a 1-D v gives a matrix with v on diagonal k; a 2-D v gives its diagonal k. */
export function diag(v: ArrayLike, kOrOpts?: number | { k?: number }): NDArray {
  const x = arr(v, "diag");
  const k = checkInteger("diag", "k", posOrOpt<number>("diag", kOrOpts, "k", 0, K_OPTS).value);
  if (x.ndim === 2) return diagonal(x, k);
  if (x.ndim !== 1) throw new ValueError(`diag: diag input must be 1d or 2d, got shape ${fmtShape(x.shape)}`);
  const L = x.shape[0];
  const n = L + Math.abs(k);
  checkSize("diag", [n, n]);
  // Interior padding of n zeros puts consecutive elements n + 1 apart in the flattened matrix.
  const start = k >= 0 ? k : -k * n;
  const cfg: [number, number, number] = L === 0 ? [n * n, 0, 0] : [start, n * n - (start + (L - 1) * (n + 1) + 1), n];
  return lax.reshape(lax.pad(x, zeroOf(x), [cfg]), [n, n]);
}
const zeroOf = (x: NDArray): NDArray => astype(weakScalar(0, x.dtype), x.dtype, x.weakType);

/** jnp.trace(a, {offset, axis1, axis2}): the sum of a diagonal (small ints/bool sum in int32/uint32). */
export function trace(a: ArrayLike, offsetOrOpts?: number | (DiagonalOptions & { dtype?: DTypeLike }), axis1?: number, axis2?: number): NDArray {
  const opts = isOptions(offsetOrOpts) ? checkOptions<{ dtype?: DTypeLike }>("trace", offsetOrOpts, TRACE_OPTS) : {};
  const userDtype = opts.dtype === undefined || opts.dtype === null ? null : toDType(opts.dtype, "trace");
  const d = diagonalImpl("trace", arr(a, "trace"), offsetOrOpts, axis1, axis2, TRACE_OPTS);
  const dt = userDtype ?? (d.dtype.isBool || (d.dtype.isInt && !d.dtype.isUnsigned && d.dtype.bits < 32) ? "int32" : d.dtype.isUnsigned && d.dtype.bits < 32 ? "uint32" : null);
  return lax.reduceSum(dt ? astype(d, dt) : d, [d.ndim - 1]);
}

// tril/triu keep element (i, j) where j - i <= k (tril) or j - i >= k (triu): a broadcasted-iota
// comparison selects between the input and zeros, batched over leading axes.
function triangle(op: string, m: ArrayLike, k: number, lower: boolean): NDArray {
  const x = arr(m, op);
  if (x.ndim < 2) throw new ValueError(`${op}: Argument to jax.numpy.${op} must be at least 2D, got shape ${fmtShape(x.shape)}`);
  const [n, c] = x.shape.slice(-2);
  const row = lax.broadcastedIota(int32, [n, c], 0);
  const col = lax.broadcastedIota(int32, [n, c], 1);
  const mask = lower ? lax.le(col, lax.add(row, k)) : lax.ge(col, lax.add(row, k));
  const full = lax.broadcastInDim(mask, x.shape, [x.ndim - 2, x.ndim - 1]);
  return lax.select(full, x, lax.broadcastInDim(zeroOf(x), x.shape, []));
}
/** jnp.tril(m, k = 0): zeros above diagonal k of the last two axes. */
export function tril(m: ArrayLike, kOrOpts?: number | { k?: number }): NDArray {
  return triangle("tril", m, checkInteger("tril", "k", posOrOpt<number>("tril", kOrOpts, "k", 0, K_OPTS).value), true);
}
/** jnp.triu(m, k = 0): zeros below diagonal k of the last two axes. */
export function triu(m: ArrayLike, kOrOpts?: number | { k?: number }): NDArray {
  return triangle("triu", m, checkInteger("triu", "k", posOrOpt<number>("triu", kOrOpts, "k", 0, K_OPTS).value), false);
}

/** jnp.unravel_index(indices, shape): flat indices to one index array per axis (clipped, negatives wrap). */
export function unravelIndex(indices: ArrayLike, shape: readonly number[]): NDArray[] {
  const i = arr(indices, "unravel_index");
  if (!i.dtype.isInt) throw new ValueError(`unravel_index: only int indices permitted, got ${i.dtype.name}`);
  checkShape("unravel_index", shape);
  if (shape.some((s) => s <= 0)) throw new ValueError(`unravel_index: shape should be positive, got ${fmtShape(shape)}`);
  const size = sizeOf(shape);
  // Clip first, so that raveling and unraveling an out-of-bounds index agree (JAX's behaviour).
  const clipped = lax.clamp(-size, i, size - 1);
  let w = where(lax.lt(clipped, 0), lax.add(clipped, size), clipped);
  const out: NDArray[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(remainder(w, shape[d]));
    w = floorDivide(w, shape[d]);
  }
  return out;
}
