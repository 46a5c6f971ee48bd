// Turning user values into NDArrays: JS numbers and booleans (weakly typed scalars, like
// Python scalars in JAX), nested JS arrays (NumPy's dtype inference), typed arrays, and
// NDArrays. Also the promotion and rank-alignment helpers every NumPy function uses (internal:
// numpy.ts re-exports only `astype` from this file).

import { ShapedArray } from "../core/aval";
import {
  DType, DTypeLike, Storage, bool, float32, inferDType, int16, int32, int8, resultType, toDType, uint16, uint32, uint8,
} from "../core/dtype";
import { ArgumentError, ValueError, fmtShape } from "../core/errors";
import { NDArray, fromStorage } from "../core/ndarray";
import { MAX_RANK, broadcastShapes, checkSize, describeValue, checkOptions } from "../core/shape";
import { bind1 } from "../core/trace";
import { convertElementType } from "../primitives/elementwise";
import { concatenate, reshape } from "../primitives/movement";
import { fromNumbers } from "../primitives/cpu-loops";

/** Anything an operation accepts as an array. */
export type ArrayLike = NDArray | number | boolean | NestedInput | TypedInput;
type NestedInput = readonly (number | boolean | NDArray | NestedInput)[];
type TypedInput = Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

const TYPED_DTYPE = new Map<unknown, DType>([
  [Float32Array, float32], [Float64Array, float32], [Int32Array, int32], [Uint32Array, uint32],
  [Int16Array, int16], [Uint16Array, uint16], [Int8Array, int8], [Uint8Array, uint8],
]);

function checkIntRange(op: string, v: number, d: DType): void {
  if (d === int32 && (v > 2147483647 || v < -2147483648))
    throw new ValueError(`${op}: Python int ${v} too large to convert to int32`);
}

/**
 * Walks a nested JS array, returning its shape and flat values; throws on ragged input and on
 * nesting deeper than MAX_RANK (which also stops a list that contains itself).
 */
function flatten(op: string, x: NestedInput): { shape: number[]; values: (number | boolean)[] } {
  const shape: number[] = [];
  for (let cur: unknown = x; Array.isArray(cur); cur = cur[0]) {
    if (shape.length === MAX_RANK) throw new ValueError(`${op}: an array can have at most ${MAX_RANK} dimensions, got nested lists more than ${MAX_RANK} deep`);
    shape.push(cur.length);
    if (cur.length === 0) break;
  }
  const values: (number | boolean)[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v === "number" || typeof v === "boolean") values.push(v);
      else if (v instanceof NDArray && v.ndim === 0) values.push(v.item());
      else throw new ArgumentError(`${op}: setting an array element with a sequence: the nested lists are ragged or hold ${describeValue(v)}, expected shape ${fmtShape(shape)}`);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth])
      throw new ArgumentError(`${op}: inhomogeneous nested lists: expected length ${shape[depth]} at depth ${depth}, got ${Array.isArray(v) ? `length ${v.length}` : describeValue(v)}`);
    for (const e of v) walk(e, depth + 1);
  };
  walk(x, 0);
  return { shape, values };
}

/** Storage for numbers in dtype `d`, converting as astype would (floats truncate to ints). */
type NumList = { readonly length: number; readonly [i: number]: number };

function storageFor(op: string, values: NumList, d: DType): Storage {
  if (d.isInt) {
    const vals = Float64Array.from({ length: values.length }, (_, i) => {
      const v = values[i];
      checkIntRange(op, v, d);
      return Number.isFinite(v) ? Math.trunc(v) : 0;
    });
    return fromNumbers(vals, d);
  }
  return fromNumbers(values, d);
}

/**
 * Converts a value to an NDArray. JS scalars become weakly typed (bool stays strong); nested
 * arrays infer bool/int32/float32 like NumPy; `dtype` casts.
 */
export function asArray(x: ArrayLike, dtype?: DTypeLike | null, op = "asarray"): NDArray {
  const d = dtype === undefined || dtype === null ? null : toDType(dtype, op);
  // An explicit dtype gives a strongly typed array, even when it is the array's own (jnp.asarray).
  if (x instanceof NDArray) return d && (d !== x.dtype || x.weakType) ? astype(x, d) : x;
  if (typeof x === "number" || typeof x === "boolean") {
    const inferred = typeof x === "boolean" ? bool : Number.isInteger(x) ? int32 : float32;
    const dt = d ?? inferred;
    if (!d && inferred === int32) checkIntRange(op, x as number, int32);
    return fromStorage(storageFor(op, [+x], dt), new ShapedArray([], dt, !d && dt !== bool));
  }
  if (ArrayBuffer.isView(x)) {
    const dt = d ?? TYPED_DTYPE.get(x.constructor);
    if (!dt) throw new ArgumentError(`${op}: unsupported typed array, got ${describeValue(x)}`);
    return fromStorage(storageFor(op, x as TypedInput, dt), new ShapedArray([(x as TypedInput).length], dt));
  }
  if (Array.isArray(x)) {
    if (containsNDArray(x)) return stackNested(x as NestedInput, d, op);
    const { shape, values } = flatten(op, x);
    const dt = d ?? inferDType(values);
    if (!d && dt === int32) for (const v of values) checkIntRange(op, v as number, int32);
    return fromStorage(storageFor(op, values.map(Number), dt), new ShapedArray(shape, dt));
  }
  throw new ArgumentError(`${op}: cannot convert ${describeValue(x)} to an array`);
}

/** Whether a nested list holds an NDArray; gives up below MAX_RANK levels (flatten then refuses the depth). */
function containsNDArray(x: unknown, depth = 0): boolean {
  return x instanceof NDArray || (Array.isArray(x) && depth <= MAX_RANK && x.some((e) => containsNDArray(e, depth + 1)));
}

// A list holding NDArrays (e.g. [x, y] of shape [3]) is stacked along a new leading axis,
// through primitives so that traced elements work too.
function stackNested(x: NestedInput, d: DType | null, op: string): NDArray {
  const parts = x.map((e) => asArray(e as ArrayLike, null, op));
  const shape = parts[0].shape;
  for (const p of parts)
    if (p.ndim !== shape.length || p.shape.some((s, i) => s !== shape[i]))
      throw new ArgumentError(`${op}: inhomogeneous list of arrays, got shapes ${parts.map((q) => fmtShape(q.shape)).join(", ")}`);
  checkSize(op, [parts.length, ...shape]);
  const dt = d ?? resultType(...parts).dtype;
  const rows = parts.map((p) => bind1(reshape, [astype(p, dt)], { new_sizes: [1, ...shape], dimensions: null }));
  return bind1(concatenate, rows, { dimension: 0 });
}

/** A JS scalar as a weakly typed 0-d array of `dtype` (bool stays strong, as in JAX). */
export function weakScalar(x: number | boolean, dtype: DType): NDArray {
  return fromStorage(storageFor("asarray", [+x], dtype), new ShapedArray([], dtype, dtype !== bool));
}

/**
 * Casts an array (jnp.astype, lax.convert_element_type); a no-op when the dtype already matches
 * and is strong. A value that is not an NDArray is converted first, as jnp.astype does.
 */
export function astype(x: ArrayLike, dtype: DTypeLike, weakType = false): NDArray {
  const a = x instanceof NDArray ? x : asArray(x, null, "astype");
  const d = toDType(dtype, "astype");
  if (a.dtype === d && a.weakType === weakType) return a;
  return bind1(convertElementType, [a], { new_dtype: d, weak_type: weakType });
}

/** jnp.astype(x, dtype, { copy }): the public cast; the result is strongly typed. */
export function npAstype(x: ArrayLike, dtype: DTypeLike, opts: { copy?: boolean } = {}): NDArray {
  checkOptions("astype", opts, { copy: "boolean" });
  return astype(x, dtype);
}

/** Converts all arguments to arrays and promotes them to their common dtype (JAX's promote_dtypes). */
export function promoteArgs(op: string, ...xs: ArrayLike[]): NDArray[] {
  if (xs.length < 2) return xs.map((x) => asArray(x, null, op));
  // JS scalars take part in promotion by their weak type only and are then made directly in
  // the result dtype, as JAX turns Python scalars into literals: no convert_element_type op.
  const typed = xs.map((x) => (typeof x === "number" || typeof x === "boolean" ? scalarType(op, x) : asArray(x, null, op)));
  const { dtype, weakType } = resultType(...typed);
  return xs.map((x, i) => {
    const t = typed[i];
    if (!(t instanceof NDArray)) return scalarIn(op, x as number | boolean, dtype, weakType);
    return t.dtype === dtype && t.weakType === weakType ? t : astype(t, dtype, weakType);
  });
}

/** The dtype and weak type a JS scalar has before promotion. */
function scalarType(op: string, x: number | boolean): { dtype: DType; weakType: boolean } {
  if (typeof x === "boolean") return { dtype: bool, weakType: false };
  if (!Number.isInteger(x)) return { dtype: float32, weakType: true };
  checkIntRange(op, x, int32);
  return { dtype: int32, weakType: true };
}

/** A JS scalar as a 0-d array of the promoted dtype (floats truncate into ints, as a cast does). */
function scalarIn(op: string, x: number | boolean, dtype: DType, weakType: boolean): NDArray {
  return fromStorage(storageFor(op, [+x], dtype), new ShapedArray([], dtype, weakType && dtype !== bool));
}

/** promoteArgs, then bool goes to int32, weak type kept (jnp's promote_args_numeric). */
export function promoteArgsNumeric(op: string, ...xs: ArrayLike[]): NDArray[] {
  const arrs = promoteArgs(op, ...xs);
  return arrs.map((a) => (a.dtype.isBool ? astype(a, int32, a.weakType) : a));
}

/** promoteArgs, then ints/bools go to the default float (jnp's promote_args_inexact). */
export function promoteArgsInexact(op: string, ...xs: ArrayLike[]): NDArray[] {
  const arrs = promoteArgs(op, ...xs);
  return arrs.map((a) => (a.dtype.isFloat ? a : astype(a, float32, a.weakType)));
}

/**
 * Reshapes operands of different non-zero ranks to a common rank (NumPy's leading 1s), after
 * checking that their shapes broadcast; `op` names the caller in the error. Internal.
 */
export function alignRanks(op: string, xs: NDArray[]): NDArray[] {
  broadcastShapes(op, ...xs.map((x) => x.shape));
  const ranks = new Set(xs.filter((x) => x.ndim > 0).map((x) => x.ndim));
  if (ranks.size < 2) return xs;
  const rank = Math.max(...ranks);
  return xs.map((x) =>
    x.ndim === 0 || x.ndim === rank ? x : bind1(reshape, [x], { new_sizes: [...new Array<number>(rank - x.ndim).fill(1), ...x.shape], dimensions: null }),
  );
}

declare module "../core/ndarray" {
  interface NDArray {
    /** Casts to another dtype (JAX's `x.astype`). */
    astype(dtype: DTypeLike): NDArray;
  }
}
NDArray.prototype.astype = function (this: NDArray, dtype: DTypeLike): NDArray {
  return astype(this, dtype);
};
