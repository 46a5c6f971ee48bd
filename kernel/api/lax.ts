// `lax`: thin wrappers over the primitives with lax's strict semantics (no dtype promotion
// except that a JS scalar takes the other operand's dtype, weakly typed, as in JAX).

import { DTypeLike, int32, toDType } from "../core/dtype";
import { ArgumentError, DTypeError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { describeValue } from "../core/shape";
import { bind, bind1 } from "../core/trace";
import * as C from "../primitives/contraction";
import * as E from "../primitives/elementwise";
import * as I from "../primitives/indexing";
import * as M from "../primitives/movement";
import * as R from "../primitives/reduce";
import * as S from "../primitives/sort";
import { ArrayLike, asArray, weakScalar } from "./convert";
import { Primitive } from "../core/primitive";

// The named-axis collectives (psum, pmean, pmax, pmin, allGather, ppermute, psumScatter, axisIndex, axisSize).
export * from "./collectives";

/** Converts lax operands: arrays stay, scalars take the dtype of the first array operand (weakly). */
export function laxArgs(op: string, xs: ArrayLike[]): NDArray[] {
  const ref = xs.find((x): x is NDArray => x instanceof NDArray);
  return xs.map((x) => {
    if (x instanceof NDArray) return x;
    if (typeof x === "number" || typeof x === "boolean") {
      if (!ref) return asArray(x, null, op);
      if (typeof x === "number" && !Number.isInteger(x) && !ref.dtype.isFloat)
        throw new DTypeError(`${op} requires arguments to have the same dtypes, got ${ref.dtype.name} and a float scalar ${x}`);
      return weakScalar(x, ref.dtype);
    }
    if (Array.isArray(x) || ArrayBuffer.isView(x)) return asArray(x, null, op);
    throw new ArgumentError(`${op}: expected an array or a number, got ${describeValue(x)}`);
  });
}

const un = (p: Primitive<{}>) => (x: ArrayLike): NDArray => bind1(p, laxArgs(p.name, [x]));
const bin = (p: Primitive<{}>) => (x: ArrayLike, y: ArrayLike): NDArray => bind1(p, laxArgs(p.name, [x, y]));

export const neg = un(E.neg), sign = un(E.sign), floor = un(E.floor), ceil = un(E.ceil), abs = un(E.abs);
export const exp = un(E.exp), exp2 = un(E.exp2), log = un(E.log), log1p = un(E.log1p), expm1 = un(E.expm1);
export const tanh = un(E.tanh), logistic = un(E.logistic), sin = un(E.sin), cos = un(E.cos), tan = un(E.tan);
export const asin = un(E.asin), acos = un(E.acos), atan = un(E.atan), sinh = un(E.sinh), cosh = un(E.cosh);
export const asinh = un(E.asinh), acosh = un(E.acosh), atanh = un(E.atanh), sqrt = un(E.sqrt), rsqrt = un(E.rsqrt);
export const cbrt = un(E.cbrt), erf = un(E.erf), erfc = un(E.erfc), erfInv = un(E.erfInv), lgamma = un(E.lgamma);
export const square = un(E.square), bitwiseNot = un(E.not), isFinite = un(E.isFinite);
/** lax.stop_gradient: the identity, but no derivative flows through it. */
export const stopGradient = un(E.stopGradient);
export { bitwiseNot as not };
export const add = bin(E.add), sub = bin(E.sub), mul = bin(E.mul), div = bin(E.div), rem = bin(E.rem), pow = bin(E.pow);
export const max = bin(E.max), min = bin(E.min), atan2 = bin(E.atan2), nextafter = bin(E.nextafter);
export const bitwiseAnd = bin(E.and), bitwiseOr = bin(E.or), bitwiseXor = bin(E.xor);
export { bitwiseAnd as and, bitwiseOr as or, bitwiseXor as xor };
export const shiftLeft = bin(E.shiftLeft), shiftRightLogical = bin(E.shiftRightLogical), shiftRightArithmetic = bin(E.shiftRightArithmetic);
export const eq = bin(E.eq), ne = bin(E.ne), lt = bin(E.lt), le = bin(E.le), gt = bin(E.gt), ge = bin(E.ge);

/** lax.round: rounding_method 0 (away from zero, default) or 1 (to nearest even). */
export function round(x: ArrayLike, roundingMethod: 0 | 1 = 0): NDArray {
  return bind1(E.round, laxArgs("round", [x]), { rounding_method: roundingMethod });
}
export function integerPow(x: ArrayLike, y: number): NDArray {
  return bind1(E.integerPow, laxArgs("integer_pow", [x]), { y });
}
export function convertElementType(x: ArrayLike, newDtype: DTypeLike): NDArray {
  return bind1(E.convertElementType, laxArgs("convert_element_type", [x]), { new_dtype: toDType(newDtype, "convert_element_type"), weak_type: false });
}
export function bitcastConvertType(x: ArrayLike, newDtype: DTypeLike): NDArray {
  return bind1(M.bitcastConvertType, laxArgs("bitcast_convert_type", [x]), { new_dtype: toDType(newDtype, "bitcast_convert_type") });
}
/** select_n(which, ...cases): cases[which] per element. */
export function selectN(which: ArrayLike, ...cases: ArrayLike[]): NDArray {
  const [w, ...cs] = laxArgs("select_n", [which, ...cases]);
  return bind1(E.selectN, [w, ...laxArgs("select_n", cs)]);
}
/** lax.select(pred, onTrue, onFalse). */
export function select(pred: ArrayLike, onTrue: ArrayLike, onFalse: ArrayLike): NDArray {
  return selectN(pred, onFalse, onTrue);
}
export function clamp(lo: ArrayLike, x: ArrayLike, hi: ArrayLike): NDArray {
  const [xx, l, h] = laxArgs("clamp", [x, lo, hi]);
  return bind1(E.clamp, [l, xx, h]);
}

export function reshape(x: ArrayLike, newSizes: number[]): NDArray {
  return bind1(M.reshape, laxArgs("reshape", [x]), { new_sizes: newSizes, dimensions: null });
}
export function broadcastInDim(x: ArrayLike, shape: number[], broadcastDimensions: number[]): NDArray {
  return bind1(M.broadcastInDim, laxArgs("broadcast_in_dim", [x]), { shape, broadcast_dimensions: broadcastDimensions, sharding: null });
}
export function transpose(x: ArrayLike, permutation: number[]): NDArray {
  return bind1(M.transpose, laxArgs("transpose", [x]), { permutation });
}
export function squeeze(x: ArrayLike, dimensions: number[]): NDArray {
  return bind1(M.squeeze, laxArgs("squeeze", [x]), { dimensions });
}
/** lax.expand_dims: inserts size-1 axes at `dimensions` (a broadcast_in_dim, as JAX lowers it). */
export function expandDims(x: ArrayLike, dimensions: number[]): NDArray {
  const [a] = laxArgs("expand_dims", [x]);
  const rank = a.ndim + dimensions.length;
  const inserted = new Set(dimensions.map((d) => (d < 0 ? d + rank : d)));
  const shape: number[] = [];
  const kept: number[] = [];
  for (let d = 0, k = 0; d < rank; d++) {
    if (inserted.has(d)) shape.push(1);
    else (kept.push(d), shape.push(a.shape[k++]));
  }
  return broadcastInDim(a, shape, kept);
}
export function rev(x: ArrayLike, dimensions: number[]): NDArray {
  return bind1(M.rev, laxArgs("rev", [x]), { dimensions });
}
export function slice(x: ArrayLike, startIndices: number[], limitIndices: number[], strides: number[] | null = null): NDArray {
  return bind1(M.slice, laxArgs("slice", [x]), { start_indices: startIndices, limit_indices: limitIndices, strides });
}
export function pad(x: ArrayLike, paddingValue: ArrayLike, paddingConfig: [number, number, number][]): NDArray {
  return bind1(M.pad, laxArgs("pad", [x, paddingValue]), { padding_config: paddingConfig });
}
export function concatenate(xs: ArrayLike[], dimension: number): NDArray {
  return bind1(M.concatenate, laxArgs("concatenate", xs), { dimension });
}
export function iota(dtype: DTypeLike, size: number): NDArray {
  return broadcastedIota(dtype, [size], 0);
}
export function broadcastedIota(dtype: DTypeLike, shape: number[], dimension: number): NDArray {
  return bind1(M.iota, [], { dtype: toDType(dtype, "iota"), shape, dimension, sharding: null });
}
export function dynamicSlice(x: ArrayLike, startIndices: ArrayLike[], sliceSizes: number[]): NDArray {
  const [a] = laxArgs("dynamic_slice", [x]);
  return bind1(M.dynamicSlice, [a, ...startIndices.map((s) => asArray(s, s instanceof NDArray ? null : int32, "dynamic_slice"))], { slice_sizes: sliceSizes });
}
export function dynamicUpdateSlice(x: ArrayLike, update: ArrayLike, startIndices: ArrayLike[]): NDArray {
  const [a, u] = laxArgs("dynamic_update_slice", [x, update]);
  return bind1(M.dynamicUpdateSlice, [a, u, ...startIndices.map((s) => asArray(s, s instanceof NDArray ? null : int32, "dynamic_update_slice"))]);
}

function reducer(p: Primitive<{ axes: number[]; out_sharding: null }>) {
  return (x: ArrayLike, axes: number[]): NDArray => bind1(p, laxArgs(p.name, [x]), { axes, out_sharding: null });
}
export const reduceSum = reducer(R.reduceSum), reduceProd = reducer(R.reduceProd), reduceMax = reducer(R.reduceMax);
export const reduceMin = reducer(R.reduceMin), reduceAnd = reducer(R.reduceAnd), reduceOr = reducer(R.reduceOr);
export function argmax(x: ArrayLike, axis: number, indexDtype: DTypeLike = int32): NDArray {
  return bind1(R.argmax, laxArgs("argmax", [x]), { axes: [axis], index_dtype: toDType(indexDtype, "argmax") });
}
export function argmin(x: ArrayLike, axis: number, indexDtype: DTypeLike = int32): NDArray {
  return bind1(R.argmin, laxArgs("argmin", [x]), { axes: [axis], index_dtype: toDType(indexDtype, "argmin") });
}
function cumulative(p: Primitive<{ axis: number; reverse: boolean }>) {
  return (x: ArrayLike, opts: { axis?: number; reverse?: boolean } = {}): NDArray => bind1(p, laxArgs(p.name, [x]), { axis: opts.axis ?? 0, reverse: opts.reverse ?? false });
}
export const cumsum = cumulative(R.cumsum), cumprod = cumulative(R.cumprod), cummax = cumulative(R.cummax);
export const cummin = cumulative(R.cummin), cumlogsumexp = cumulative(R.cumlogsumexp);

/** lax.dot_general with ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch)). */
export function dotGeneral(a: ArrayLike, b: ArrayLike, dimensionNumbers: C.DotDimensionNumbers, opts: { preferredElementType?: DTypeLike | null } = {}): NDArray {
  const pet = opts.preferredElementType ? toDType(opts.preferredElementType, "dot_general") : null;
  return bind1(C.dotGeneral, laxArgs("dot_general", [a, b]), { dimension_numbers: dimensionNumbers, precision: null, preferred_element_type: pet });
}
/** lax.dot: vector/matrix products contracting the last axis of a with the first of b. */
export function dot(a: ArrayLike, b: ArrayLike): NDArray {
  const [x, y] = laxArgs("dot", [a, b]);
  return dotGeneral(x, y, [[[x.ndim - 1], [0]], [[], []]]);
}

export function gather(x: ArrayLike, indices: ArrayLike, dimensionNumbers: I.GatherDimensionNumbers, sliceSizes: number[], opts: { mode?: I.IndexMode | "drop"; fillValue?: number | null; indicesAreSorted?: boolean; uniqueIndices?: boolean } = {}): NDArray {
  const [a] = laxArgs("gather", [x]);
  return bind1(I.gather, [a, asArray(indices, null, "gather")], {
    dimension_numbers: dimensionNumbers, slice_sizes: sliceSizes, mode: I.toIndexMode("gather", opts.mode ?? "clip"),
    fill_value: opts.fillValue ?? null, indices_are_sorted: opts.indicesAreSorted ?? false, unique_indices: opts.uniqueIndices ?? false,
  });
}
type ScatterOpts = { mode?: I.IndexMode | "drop"; indicesAreSorted?: boolean; uniqueIndices?: boolean };
function scatterFn(p: Primitive<I.ScatterParams>) {
  return (x: ArrayLike, indices: ArrayLike, updates: ArrayLike, dimensionNumbers: I.ScatterDimensionNumbers, opts: ScatterOpts = {}): NDArray => {
    const [a, u] = laxArgs(p.name, [x, updates]);
    return bind1(p, [a, asArray(indices, null, p.name), u], {
      dimension_numbers: dimensionNumbers, mode: I.toIndexMode(p.name, opts.mode ?? "fill"),
      indices_are_sorted: opts.indicesAreSorted ?? false, unique_indices: opts.uniqueIndices ?? false,
    });
  };
}
export const scatter = scatterFn(I.scatter), scatterAdd = scatterFn(I.scatterAdd), scatterMul = scatterFn(I.scatterMul);
export const scatterMin = scatterFn(I.scatterMin), scatterMax = scatterFn(I.scatterMax);

/** lax.sort of one operand or a list (sorted together by the first `numKeys`). */
export function sort(x: ArrayLike | ArrayLike[], opts: { dimension?: number; isStable?: boolean; numKeys?: number } = {}): NDArray | NDArray[] {
  const many = Array.isArray(x) && x.length > 0 && x.every((e) => e instanceof NDArray);
  const ops = many ? laxArgs("sort", x as ArrayLike[]) : laxArgs("sort", [x as ArrayLike]);
  const dimension = opts.dimension ?? ops[0].ndim - 1;
  const outs = bind(S.sort, ops, { dimension: dimension < 0 ? dimension + ops[0].ndim : dimension, is_stable: opts.isStable ?? true, num_keys: opts.numKeys ?? 1 });
  return many ? outs : outs[0];
}

