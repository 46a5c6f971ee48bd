// jax.random's samplers built on uniform bits (jax/_src/random/core.py): uniform, normal,
// randint, bernoulli, gumbel, categorical, permutation, choice, truncated_normal, exponential,
// laplace, logistic, cauchy, pareto, rademacher. Each follows JAX's computation step by step
// (same draws, same key splits, same float operations in the same order), so the outputs are
// JAX's: bits and uniform exactly, the transcendental ones to the last ulp or so, since XLA's
// log/erf/erf_inv approximations and Primal's agree only to about an ulp (jax-reference §1.8).
//
// Arguments are JAX's: positional in JAX's order after the key, and a trailing options object
// for keywords (`random.uniform(key, [3], { minval: -1, maxval: 1 })`). Keys are typed
// (random.key) or raw (random.PRNGKey). The `...Data` functions work on key data [...B, 2] and
// return [...B, ...shape], which lets the gamma sampler run many keys at once (see
// random-gamma.ts); the public functions take one key (B = []).

import { DType, DTypeLike, finfoOrIinfo, float32, int32, toDType, uint16, uint32 } from "../core/dtype";
import { ArgumentError, DTypeError, NotAvailableError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { broadcastShapes, checkShape, describeValue, normalizeAxis, shapeEqual, sizeOf } from "../core/shape";
import { bind1 } from "../core/trace";
import * as E from "../primitives/elementwise";
import { matmul } from "./contractions";
import { ArrayLike, asArray, astype, promoteArgsInexact } from "./convert";
import { arange, fullLike, zeros } from "./creation";
import { take } from "./index-update";
import * as lax from "./lax";
import { argmax, cumsum } from "./reductions";
import { Args, KeyArg, bitsData, checkKey, floatDType, pyShape, readArgs, reshape, splitN } from "./random-keys";
import { moveaxis } from "./shape-ops";
import { argsort, searchsorted } from "./sorting";
import { add, clip, less, log, logicalAnd, multiply, subtract } from "./ufuncs";

/** A shape argument: one length or a list of lengths. */
export type ShapeArg = number | readonly number[];

// ---- shared helpers ----

/** finfo of the float dtypes: bits, mantissa bits, the smallest normal, eps, epsneg, bits of 1.0. */
export function finfo(d: DType): { nbits: 16 | 32; nmant: number; tiny: number; eps: number; epsneg: number; oneBits: number } {
  if (d.name === "float16") return { nbits: 16, nmant: 10, tiny: 2 ** -14, eps: 2 ** -10, epsneg: 2 ** -11, oneBits: 0x3c00 };
  if (d.name === "bfloat16") return { nbits: 16, nmant: 7, tiny: 2 ** -126, eps: 2 ** -7, epsneg: 2 ** -8, oneBits: 0x3f80 };
  return { nbits: 32, nmant: 23, tiny: 2 ** -126, eps: 2 ** -23, epsneg: 2 ** -24, oneBits: 0x3f800000 };
}

/** lax.broadcast_to_rank: leading size-1 axes up to `rank` (scalars stay scalars). */
export function toRank(x: NDArray, rank: number): NDArray {
  return x.ndim === 0 || x.ndim >= rank ? x : lax.reshape(x, [...new Array<number>(rank - x.ndim).fill(1), ...x.shape]);
}

/** JAX's _check_shape: parameter shapes must broadcast to exactly `shape`. */
export function checkParamShapes(op: string, shape: readonly number[], ...paramShapes: (readonly number[])[]): void {
  let b: number[];
  try {
    b = broadcastShapes(op, shape, ...paramShapes);
  } catch {
    throw new ValueError(`${op}: Incompatible shapes for broadcasting: shapes=[${[shape, ...paramShapes].map(pyShape).join(", ")}]`);
  }
  if (!shapeEqual(b, shape))
    throw new ValueError(`${op} parameter shapes must be broadcast-compatible with shape argument, and the result of broadcasting the shapes must equal the shape argument, but got result ${pyShape(b)} for shape argument ${pyShape(shape)}.`);
}

/** x[i] along `axis`, with the axis removed. */
export function takeIndex(x: NDArray, axis: number, i: number): NDArray {
  const s = lax.slice(x, x.shape.map((_, d) => (d === axis ? i : 0)), x.shape.map((n, d) => (d === axis ? i + 1 : n)));
  return reshape(s, x.shape.filter((_, d) => d !== axis));
}

const arr = (x: unknown, op: string): NDArray => asArray(x as ArrayLike, null, op);
const shapeOrNull = (op: string, s: unknown): number[] | null => (s === undefined || s === null ? null : checkShape(op, s));

// ---- uniform and normal ----

/**
 * JAX's _uniform: the top mantissa bits of random bits under the exponent of 1.0 give a float
 * in [1, 2); minus 1 is in [0, 1), then f * (maxval - minval) + minval, and max(minval, .).
 * float16 uses 16 bits; bfloat16 draws 8 bits (nmant < 8), widened and shifted by 1.
 */
export function uniformData(kd: NDArray, shape: readonly number[], dtype: DType, minval: unknown = 0, maxval: unknown = 1): NDArray {
  const rank = kd.ndim - 1 + shape.length;
  const lo = toRank(asArray(minval as ArrayLike, dtype, "uniform"), rank);
  const hi = toRank(asArray(maxval as ArrayLike, dtype, "uniform"), rank);
  const f = finfo(dtype);
  const rngBits = f.nmant < 8 ? 8 : f.nbits;
  let b = bitsData(kd, rngBits, shape);
  if (rngBits !== f.nbits) b = lax.convertElementType(b, f.nbits === 32 ? uint32 : uint16);
  const floatBits = lax.bitwiseOr(lax.shiftRightLogical(b, rngBits - f.nmant), f.oneBits);
  const floats = lax.sub(lax.bitcastConvertType(floatBits, dtype), 1);
  const y = lax.add(lax.mul(floats, lax.sub(hi, lo)), lo);
  return lax.max(lo, reshape(y, [...kd.shape.slice(0, -1), ...shape]));
}

/** JAX's _normal_real: sqrt(2) * erf_inv(uniform in [nextafter(-1, 0), 1)). */
export function normalData(kd: NDArray, shape: readonly number[], dtype: DType): NDArray {
  const lo = -(1 - 2 ** -(finfo(dtype).nmant + 1)); // nextafter(-1, 0) in dtype
  const u = uniformData(kd, shape, dtype, lo, 1);
  return lax.mul(asArray(Math.SQRT2, dtype), lax.erfInv(u));
}

/** Options of uniform. */
export interface UniformOptions {
  shape?: ShapeArg;
  dtype?: DTypeLike | null;
  minval?: ArrayLike;
  maxval?: ArrayLike;
}
/**
 * Uniform floats in [minval, maxval): `uniform(key, [3], { minval: -1, maxval: 1 })`. minval >
 * maxval is not an error (as in JAX): every value is then minval.
 */
export function uniform(key: KeyArg, ...args: Args<[ShapeArg, DTypeLike | null, ArrayLike, ArrayLike], UniformOptions>): NDArray {
  const k = checkKey("uniform", key);
  const a = readArgs("uniform", args, ["shape", "dtype", "minval", "maxval"]);
  const dtype = floatDType("uniform", a.dtype);
  return uniformData(k.data, checkShape("uniform", a.shape ?? []), dtype, a.minval ?? 0, a.maxval ?? 1);
}

/** Options of the samplers taking (shape, dtype). */
export interface ShapeDTypeOptions {
  shape?: ShapeArg;
  dtype?: DTypeLike | null;
}
type ShapeDTypeArgs = Args<[ShapeArg, DTypeLike | null], ShapeDTypeOptions>;

/** A sampler of the form f(key, shape = [], dtype = float32). */
function simpleSampler(name: string, draw: (kd: NDArray, shape: number[], dtype: DType) => NDArray) {
  return (key: KeyArg, ...args: ShapeDTypeArgs): NDArray => {
    const k = checkKey(name, key);
    const a = readArgs(name, args, ["shape", "dtype"]);
    const dtype = floatDType(name, a.dtype, name === "normal" ? "a float or complex dtype" : "a float dtype");
    return draw(k.data, checkShape(name, a.shape ?? []), dtype);
  };
}

/** Standard normal floats: `normal(key, [2, 3], { dtype: "float16" })`. */
export const normal = simpleSampler("normal", normalData);

/** Exponential(1): -log1p(-u). */
export function exponentialData(kd: NDArray, shape: readonly number[], dtype: DType): NDArray {
  return lax.neg(lax.log1p(lax.neg(uniformData(kd, shape, dtype))));
}
export const exponential = simpleSampler("exponential", exponentialData);

/** Laplace(0, 1): sign(u) * log1p(-|u|) with u uniform in [-1 + epsneg, 1). */
export const laplace = simpleSampler("laplace", (kd, shape, dtype) => {
  const u = uniformData(kd, shape, dtype, -1 + finfo(dtype).epsneg, 1);
  return lax.mul(lax.sign(u), lax.log1p(lax.neg(lax.abs(u))));
});

/** Logistic(0, 1): log(x) - log1p(-x) with x uniform in [tiny, 1). */
export const logistic = simpleSampler("logistic", (kd, shape, dtype) => {
  const x = uniformData(kd, shape, dtype, finfo(dtype).tiny, 1);
  return lax.sub(lax.log(x), lax.log1p(lax.neg(x)));
});

/** Cauchy: tan(pi * (u - 0.5)) with u uniform in [eps, 1). */
export const cauchy = simpleSampler("cauchy", (kd, shape, dtype) => {
  const u = uniformData(kd, shape, dtype, finfo(dtype).eps, 1);
  return lax.tan(lax.mul(Math.PI, lax.sub(u, 0.5)));
});

// ---- gumbel, bernoulli, categorical ----

/** JAX's _gumbel: "low" is -log(-log(uniform in [tiny, 1))); "high" adds a second draw's bits. */
export function gumbelData(kd: NDArray, shape: readonly number[], dtype: DType, mode: unknown): NDArray {
  const m = mode === undefined || mode === null ? "low" : mode;
  if (m !== "low" && m !== "high" && m !== "highest") throw new ValueError(`gumbel: Must provide valid mode for gumbel got: ${String(m)}`);
  const f = finfo(dtype);
  if (m === "highest" && dtype === float32)
    throw new NotAvailableError("gumbel: mode 'highest' needs a count-leading-zeros primitive, which Primal does not have yet; use 'high' or 'low'");
  if (m === "low") return lax.neg(lax.log(lax.neg(lax.log(uniformData(kd, shape, dtype, f.tiny, 1)))));
  const u = uniformData(kd, [2, ...shape], dtype, 0, 1);
  const axis = kd.ndim - 1;
  const high = takeIndex(u, axis, 0);
  const low = takeIndex(u, axis, 1);
  const x = lax.select(lax.ge(high, 0.5), high, lax.add(lax.add(high, lax.mul(low, 2 ** -f.nmant)), f.tiny));
  return lax.neg(lax.log(lax.neg(lax.log1p(lax.neg(x)))));
}

/** Options of gumbel. */
export interface GumbelOptions extends ShapeDTypeOptions {
  mode?: "low" | "high" | "highest" | null;
}
/** Gumbel(0, 1) floats. */
export function gumbel(key: KeyArg, ...args: Args<[ShapeArg, DTypeLike | null, string | null], GumbelOptions>): NDArray {
  const k = checkKey("gumbel", key);
  const a = readArgs("gumbel", args, ["shape", "dtype", "mode"]);
  return gumbelData(k.data, checkShape("gumbel", a.shape ?? []), floatDType("gumbel", a.dtype), a.mode);
}

/** Options of bernoulli. */
export interface BernoulliOptions {
  p?: ArrayLike;
  shape?: ShapeArg | null;
  mode?: "low" | "high";
}
/** Booleans that are true with probability p: uniform(key, shape, dtype(p)) < p. */
export function bernoulli(key: KeyArg, ...args: Args<[ArrayLike, ShapeArg | null, string], BernoulliOptions>): NDArray {
  const k = checkKey("bernoulli", key);
  const a = readArgs("bernoulli", args, ["p", "shape", "mode"]);
  const mode = a.mode ?? "low";
  if (mode !== "low" && mode !== "high") throw new ValueError(`bernoulli: got mode=${describeValue(mode)}, expected 'high' or 'low'`);
  // A JS number is a probability: a float, whatever its value (JAX's Python float).
  const p = typeof (a.p ?? 0.5) === "number" ? asArray(a.p ?? 0.5, float32) : arr(a.p, "bernoulli");
  if (!p.dtype.isFloat) throw new DTypeError(`bernoulli probability \`p\` must have a floating dtype, got ${p.dtype.name}.`);
  const shape = shapeOrNull("bernoulli", a.shape) ?? p.shape;
  checkParamShapes("bernoulli", shape, p.shape);
  if (mode === "low") return less(uniformData(k.data, shape, p.dtype), p);
  const u = uniformData(k.data, [2, ...shape], p.dtype);
  const u2 = lax.mul(takeIndex(u, 0, 1), 2 ** -finfo(p.dtype).nmant);
  return less(u2, subtract(p, takeIndex(u, 0, 0)));
}

/** Rademacher: -1 or 1 with equal probability, as `dtype` (int32 by default). */
export function rademacher(key: KeyArg, ...args: Args<[ShapeArg, DTypeLike | null], ShapeDTypeOptions>): NDArray {
  const k = checkKey("rademacher", key);
  const a = readArgs("rademacher", args, ["shape", "dtype"]);
  const dtype = a.dtype === undefined || a.dtype === null ? int32 : toDType(a.dtype, "rademacher");
  const b = astype(less(uniformData(k.data, checkShape("rademacher", a.shape ?? []), float32), 0.5), dtype);
  return astype(subtract(multiply(2, b), 1), dtype);
}

/** Indices of the k largest entries along the last axis, largest first, ties to the lower index (lax.top_k). */
function topKIndices(x: NDArray, k: number): NDArray {
  const idx = argsort(x, { axis: -1, descending: true });
  const last = idx.ndim - 1;
  return lax.slice(idx, idx.shape.map(() => 0), idx.shape.map((n, d) => (d === last ? k : n)));
}

/** Options of categorical. */
export interface CategoricalOptions {
  logits?: ArrayLike;
  axis?: number;
  shape?: ShapeArg | null;
  replace?: boolean;
  mode?: "low" | "high" | null;
}
/**
 * Samples from categorical distributions given by unnormalised log-probabilities: the Gumbel-max
 * trick (argmax of logits + Gumbel noise), or Gumbel top-k without replacement.
 */
export function categorical(key: KeyArg, ...args: Args<[ArrayLike, number, ShapeArg | null, boolean, string | null], CategoricalOptions>): NDArray {
  const k = checkKey("categorical", key);
  const a = readArgs("categorical", args, ["logits", "axis", "shape", "replace", "mode"]);
  const logits = arr(a.logits, "categorical");
  const ax = normalizeAxis("categorical", a.axis ?? -1, logits.ndim);
  const batchShape = logits.shape.filter((_, d) => d !== ax);
  const shape = shapeOrNull("categorical", a.shape) ?? batchShape;
  checkParamShapes("categorical", shape, batchShape);
  const prefix = shape.slice(0, shape.length - batchShape.length);
  if (a.replace ?? true) {
    const logitsShape = shape.slice(shape.length - batchShape.length);
    logitsShape.splice(ax, 0, logits.shape[ax]);
    const g = gumbelData(k.data, [...prefix, ...logitsShape], floatDType("gumbel", logits.dtype), a.mode);
    const expanded = prefix.length ? lax.expandDims(logits, prefix.map((_, i) => i)) : logits;
    return argmax(add(g, expanded), ax - logits.ndim);
  }
  const perturbed = add(logits, gumbelData(k.data, logits.shape, floatDType("gumbel", logits.dtype), a.mode));
  const count = sizeOf(prefix);
  if (count > logits.shape[ax])
    throw new ValueError(`categorical: Number of samples without replacement (${count}) cannot exceed number of categories (${logits.shape[ax]}).`);
  const idx = topKIndices(moveaxis(perturbed, ax, -1), count);
  const perm = [idx.ndim - 1, ...batchShape.map((_, i) => i)];
  return lax.reshape(lax.transpose(idx, perm), shape);
}

// ---- permutation and choice ----

/**
 * JAX's _shuffle: `rounds` stable sorts of x along `axis` by fresh 32-bit random keys, where
 * rounds = ceil(3 ln(max(1, size)) / ln(2^32 - 1)) makes colliding sort keys unlikely
 * (1 round up to 1625 elements, 0 for one element).
 */
function shuffle(kd: NDArray, x: NDArray, axis: number): NDArray {
  const rounds = Math.ceil((3 * Math.log(Math.max(1, x.size))) / Math.log(4294967295));
  let key = kd;
  let out = x;
  for (let r = 0; r < rounds; r++) {
    const [next, sub] = splitN(key, 2);
    key = next;
    const sortKeys = bitsData(sub, 32, out.shape);
    out = (lax.sort([sortKeys, out], { dimension: axis, isStable: true, numKeys: 1 }) as NDArray[])[1];
  }
  return out;
}

/** A concrete integer from a JS number or an integer 0-d array (JAX's concrete_or_error(int, .)). */
function concreteInt(op: string, x: unknown, what: string): number {
  const v = x instanceof NDArray ? (x.dtype.isInt ? Number(x.item()) : NaN) : x;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new DTypeError(`${op}: ${what}, got ${describeValue(x)}`);
  return v;
}

function permutationData(kd: NDArray, x: unknown, axisArg: unknown, independent: boolean): NDArray {
  if (typeof x === "number" || (x instanceof NDArray && x.ndim === 0)) {
    const n = concreteInt("permutation", x, "x must be an integer or at least 1-dimensional");
    normalizeAxis("permutation", axisArg ?? 0, 1);
    return shuffle(kd, arange(Math.max(0, n)), 0);
  }
  const a = arr(x, "permutation");
  const axis = normalizeAxis("permutation", axisArg ?? 0, a.ndim);
  if (independent || a.ndim === 1) return shuffle(kd, a, axis);
  const ind = shuffle(kd, arange(a.shape[axis]), 0);
  return take(a, ind, { axis });
}

/** Options of permutation. */
export interface PermutationOptions {
  x?: number | ArrayLike;
  axis?: number;
  independent?: boolean;
}
/** A random permutation of arange(x) (x an integer) or of x's entries along `axis`. */
export function permutation(key: KeyArg, ...args: Args<[number | ArrayLike, number, boolean], PermutationOptions>): NDArray {
  const k = checkKey("permutation", key);
  const a = readArgs("permutation", args, ["x", "axis", "independent"]);
  if (a.x === undefined || a.x === null) throw new ArgumentError("permutation: x is required (an integer or an array)");
  return permutationData(k.data, a.x, a.axis, a.independent ?? false);
}

/** Options of choice. */
export interface ChoiceOptions {
  a?: number | ArrayLike;
  shape?: readonly number[];
  replace?: boolean;
  p?: ArrayLike | null;
  axis?: number;
  mode?: "low" | "high" | null;
}
/**
 * Samples from `a` (an array, or arange(a) for an integer): with replacement through randint,
 * without through a permutation; with probabilities `p` by inverse-CDF search (with replacement)
 * or Gumbel top-k (without). `p` need not sum to 1: JAX normalises implicitly (by the total of
 * its cumsum, or through log p in the Gumbel keys), and so does Primal.
 */
export function choice(key: KeyArg, ...args: Args<[number | ArrayLike, readonly number[], boolean, ArrayLike | null, number, string | null], ChoiceOptions>): NDArray {
  const k = checkKey("choice", key);
  const o = readArgs("choice", args, ["a", "shape", "replace", "p", "axis", "mode"]);
  if (o.shape !== undefined && o.shape !== null && !Array.isArray(o.shape))
    throw new ArgumentError(`shape argument of jax.random.choice must be a sequence, got ${describeValue(o.shape)}`);
  const shape = checkShape("choice", o.shape ?? []);
  const replace = o.replace ?? true;
  const a = arr(o.a, "choice");
  const scalarA = a.ndim === 0;
  const axis = scalarA ? 0 : normalizeAxis("choice", o.axis ?? 0, a.ndim);
  const nInputs = scalarA ? concreteInt("choice", o.a, "a must be an integer or an array") : a.shape[axis];
  const nDraws = sizeOf(shape);
  if (nDraws === 0) return zeros(shape, { dtype: a.dtype });
  if (nInputs <= 0) throw new ValueError("choice: a must be greater than 0 unless no samples are taken");
  if (!replace && nDraws > nInputs)
    throw new ValueError(`choice: Cannot take a larger sample (size ${nDraws}) than population (size ${nInputs}) when 'replace=False'`);
  let result: NDArray;
  if (o.p === undefined || o.p === null) {
    if (replace) {
      const ind = randintData(k.data, shape, 0, nInputs, int32);
      result = scalarA ? ind : take(a, ind, { axis });
    } else {
      const perm = permutationData(k.data, scalarA ? nInputs : a, axis, false);
      result = lax.slice(perm, perm.shape.map(() => 0), perm.shape.map((n, d) => (d === axis ? nDraws : n)));
    }
  } else {
    let p = arr(o.p, "choice");
    if (!p.dtype.isFloat) p = astype(p, float32);
    if (p.ndim !== 1 || p.shape[0] !== nInputs)
      throw new ValueError(`choice: p must be None or a 1D vector with the same size as a.shape[axis]. p has shape ${pyShape(p.shape)} and a.shape[axis] is ${nInputs}.`);
    let ind: NDArray;
    if (replace) {
      const pCuml = cumsum(p);
      const total = takeIndex(pCuml, 0, nInputs - 1);
      const r = multiply(total, subtract(1, uniformData(k.data, shape, pCuml.dtype)));
      ind = astype(searchsorted(pCuml, r), int32);
    } else {
      const g = add(gumbelData(k.data, [nInputs], p.dtype, o.mode), log(p));
      ind = astype(topKIndices(g, nDraws), int32);
    }
    result = scalarA ? ind : take(a, ind, { axis });
  }
  return reshape(result, scalarA ? shape : [...a.shape.slice(0, axis), ...shape, ...a.shape.slice(axis + 1)]);
}

// ---- randint ----

/** JAX's _convert_and_clip_integer: clip to the range both dtypes hold, then cast. */
function convertAndClip(val: NDArray, dtype: DType): NDArray {
  const v = finfoOrIinfo(val.dtype);
  const d = finfoOrIinfo(dtype);
  return astype(lax.clamp(Math.max(v.min, d.min), val, Math.min(v.max, d.max)), dtype);
}

/**
 * JAX's _randint: two draws of nbits each (from the two halves of a split) reduced modulo the
 * span, as (hi mod span) * (2^nbits mod span) + (lo mod span), all in wrapping unsigned
 * arithmetic; a span of 0 or less gives minval.
 */
export function randintData(kd: NDArray, shape: readonly number[], minval: unknown, maxval: unknown, dtype: DType): NDArray {
  let lo = arr(minval, "randint");
  let hi = arr(maxval, "randint");
  checkParamShapes("randint", shape, lo.shape, hi.shape);
  if (!lo.dtype.isInt) lo = astype(lo, int32);
  if (!hi.dtype.isInt) hi = astype(hi, int32);
  // maxval above the dtype's range (randint(key, s, 0, 256, "uint8")) widens the span by one.
  const outOfRange = lax.gt(hi, convertAndClip(asArray(finfoOrIinfo(dtype).max, dtype), hi.dtype));
  lo = toRank(convertAndClip(lo, dtype), shape.length);
  hi = toRank(convertAndClip(hi, dtype), shape.length);
  const nbits = dtype.bits;
  const udt = nbits === 32 ? uint32 : nbits === 16 ? uint16 : toDType("uint8");
  const [k1, k2] = splitN(kd, 2);
  const higher = bitsData(k1, nbits as 8 | 16 | 32, shape);
  const lower = bitsData(k2, nbits as 8 | 16 | 32, shape);
  let span = lax.convertElementType(lax.sub(hi, lo), udt);
  span = lax.select(lax.le(hi, lo), fullLike(span, 1), span);
  span = lax.select(logicalAnd(outOfRange, lax.gt(hi, lo)), lax.add(span, 1), span);
  let mult = lax.rem(2 ** (nbits / 2), span);
  mult = lax.rem(lax.mul(mult, mult), span);
  const offset = lax.rem(lax.add(lax.mul(lax.rem(higher, span), mult), lax.rem(lower, span)), span);
  return lax.add(lo, lax.convertElementType(offset, dtype));
}

/** Options of randint. */
export interface RandintOptions {
  shape?: ShapeArg;
  minval?: ArrayLike;
  maxval?: ArrayLike;
  dtype?: DTypeLike | null;
}
/**
 * Uniform integers in [minval, maxval): `randint(key, [3], 0, 10)`. int8/int16/uint8/uint16 are
 * sampled as int32 and cast (jax >= 0.7.2), which keeps the modulo bias small.
 */
export function randint(key: KeyArg, ...args: Args<[ShapeArg, ArrayLike, ArrayLike, DTypeLike | null], RandintOptions>): NDArray {
  const k = checkKey("randint", key);
  const a = readArgs("randint", args, ["shape", "minval", "maxval", "dtype"]);
  if (a.minval === undefined || a.maxval === undefined) throw new ArgumentError("randint: minval and maxval are required");
  const dtype = a.dtype === undefined || a.dtype === null ? int32 : toDType(a.dtype, "randint");
  if (!dtype.isInt) throw new DTypeError(`randint only accepts integer dtypes, got ${dtype.name}`);
  const shape = checkShape("randint", a.shape ?? []);
  if (dtype.bits >= 32) return randintData(k.data, shape, a.minval, a.maxval, dtype);
  const info = finfoOrIinfo(dtype);
  const lo = clip(astype(arr(a.minval, "randint"), int32), info.min, info.max);
  const hi = clip(astype(arr(a.maxval, "randint"), int32), info.min, info.max + 1);
  return astype(randintData(k.data, shape, lo, hi, int32), dtype);
}

// ---- truncated normal, pareto ----

/** Options of truncatedNormal. */
export interface TruncatedNormalOptions {
  lower?: ArrayLike;
  upper?: ArrayLike;
  shape?: ShapeArg | null;
  dtype?: DTypeLike | null;
}
/** Standard normals truncated to (lower, upper): erf_inv of a uniform between erf(lower/sqrt2) and erf(upper/sqrt2). */
export function truncatedNormal(key: KeyArg, ...args: Args<[ArrayLike, ArrayLike, ShapeArg | null, DTypeLike | null], TruncatedNormalOptions>): NDArray {
  const k = checkKey("truncated_normal", key);
  const a = readArgs("truncated_normal", args, ["lower", "upper", "shape", "dtype"]);
  const dtype = floatDType("truncated_normal", a.dtype);
  const lower = asArray(a.lower as ArrayLike, dtype, "truncated_normal");
  const upper = asArray(a.upper as ArrayLike, dtype, "truncated_normal");
  const given = shapeOrNull("truncated_normal", a.shape);
  const shape = given ?? broadcastShapes("truncated_normal", lower.shape, upper.shape);
  if (given) checkParamShapes("truncated_normal", shape, lower.shape, upper.shape);
  const sqrt2 = asArray(Math.SQRT2, dtype);
  const lo = lax.erf(lax.div(lower, sqrt2));
  const hi = lax.erf(lax.div(upper, sqrt2));
  const out = lax.mul(sqrt2, lax.erfInv(uniformData(k.data, shape, dtype, lo, hi)));
  // Clamped to the open interval, since rounding (or drawing exactly erf(lower)) can reach the ends.
  const stop = (x: NDArray) => bind1(E.stopGradient, [x]);
  return clip(out, lax.nextafter(stop(lower), Infinity), lax.nextafter(stop(upper), -Infinity));
}

/** Options of pareto. */
export interface ParetoOptions {
  b?: ArrayLike;
  shape?: ShapeArg | null;
  dtype?: DTypeLike | null;
}
/** Pareto(b): exp(exponential / b). */
export function pareto(key: KeyArg, ...args: Args<[ArrayLike, ShapeArg | null, DTypeLike | null], ParetoOptions>): NDArray {
  const k = checkKey("pareto", key);
  const a = readArgs("pareto", args, ["b", "shape", "dtype"]);
  const dtype = floatDType("pareto", a.dtype);
  const b = asArray(a.b as ArrayLike, dtype, "pareto");
  const shape = shapeOrNull("pareto", a.shape) ?? b.shape;
  checkParamShapes("pareto", shape, b.shape);
  return lax.exp(lax.div(exponentialData(k.data, shape, dtype), toRank(b, shape.length)));
}

// ---- multivariate normal ----

/**
 * Lower Cholesky factor of symmetric positive definite matrices [..., n, n], written with lax
 * ops because Primal has no linalg module yet (JAX uses lax.linalg.cholesky, LAPACK potrf on the
 * CPU). Like jnp.linalg.cholesky it symmetrises the input first; column j is
 * (A[:, j] - sum_{k<j} L[:, k] L[j, k]) / sqrt(A[j, j] - sum_{k<j} L[j, k]^2), zero above the
 * diagonal. A matrix that is not positive definite gives NaNs, as JAX's does. The results agree
 * with LAPACK's to rounding (the summation order differs), not bit for bit.
 */
export function cholesky(a: NDArray): NDArray {
  const n = a.shape[a.ndim - 1];
  const rank = a.ndim;
  const sym = lax.mul(lax.add(a, lax.transpose(a, [...a.shape.slice(0, -2).map((_, i) => i), rank - 1, rank - 2])), 0.5);
  const cols: NDArray[] = [];
  const rowIdx = lax.broadcastedIota(int32, [n], 0);
  for (let j = 0; j < n; j++) {
    let s = takeIndex(sym, rank - 1, j); // [..., n]
    for (let k = 0; k < j; k++) {
      const ljk = lax.expandDims(takeIndex(cols[k], rank - 2, j), [rank - 2]);
      s = lax.sub(s, lax.mul(cols[k], ljk));
    }
    const d = lax.sqrt(lax.expandDims(takeIndex(s, rank - 2, j), [rank - 2]));
    const col = lax.div(s, d);
    const below = lax.broadcastInDim(lax.ge(rowIdx, j), col.shape, [rank - 2]);
    cols.push(lax.select(below, col, lax.mul(col, 0)));
  }
  return lax.concatenate(cols.map((c) => lax.expandDims(c, [rank - 1])), rank - 1);
}

/** Options of multivariateNormal. */
export interface MultivariateNormalOptions {
  mean?: ArrayLike;
  cov?: ArrayLike;
  shape?: ShapeArg | null;
  dtype?: DTypeLike | null;
  method?: "cholesky" | "svd" | "eigh";
}
/**
 * Multivariate normals with mean [..., n] and covariance [..., n, n]: mean + L z with L the
 * Cholesky factor and z = normal(key, shape + [n]). The result shape is shape + [n] (shape
 * defaults to the broadcast batch shapes of mean and cov).
 */
export function multivariateNormal(key: KeyArg, ...args: Args<[ArrayLike, ArrayLike, ShapeArg | null, DTypeLike | null, string], MultivariateNormalOptions>): NDArray {
  const op = "multivariate_normal";
  const k = checkKey(op, key);
  const a = readArgs(op, args, ["mean", "cov", "shape", "dtype", "method"]);
  const method = a.method ?? "cholesky";
  if (method !== "cholesky" && method !== "svd" && method !== "eigh") throw new ValueError(`${op}: method must be one of {'svd', 'eigh', 'cholesky'}`);
  if (method !== "cholesky") throw new NotAvailableError(`${op}: method '${method}' needs linalg.${method}, which Primal does not have yet; use 'cholesky'`);
  const [mean, cov] = promoteArgsInexact(op, a.mean as ArrayLike, a.cov as ArrayLike);
  const dtype = a.dtype === undefined || a.dtype === null ? mean.dtype : floatDType(op, a.dtype);
  if (mean.ndim < 1) throw new ValueError(`${op} requires mean.ndim >= 1, got mean.ndim == ${mean.ndim}`);
  if (cov.ndim < 2) throw new ValueError(`${op} requires cov.ndim >= 2, got cov.ndim == ${cov.ndim}`);
  const n = mean.shape[mean.ndim - 1];
  if (cov.shape[cov.ndim - 1] !== n || cov.shape[cov.ndim - 2] !== n)
    throw new ValueError(`${op} requires cov.shape == (..., n, n) for n=${n}, but got cov.shape == ${pyShape(cov.shape)}.`);
  const given = shapeOrNull(op, a.shape);
  const shape = given ?? broadcastShapes(op, mean.shape.slice(0, -1), cov.shape.slice(0, -2));
  if (given) checkParamShapes("normal", shape, mean.shape.slice(0, -1), cov.shape.slice(0, -2));
  const factor = cholesky(cov);
  const z = normalData(k.data, [...shape, n], dtype);
  // einsum('...ij,...j->...i', factor, z) as a broadcasting matmul of factor with z[..., None].
  const lz = matmul(factor, lax.expandDims(z, [z.ndim]));
  return add(mean, takeIndex(lz, lz.ndim - 1, 0));
}
