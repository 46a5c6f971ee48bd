// The `nn` namespace: jax.nn in TypeScript, after jax/_src/nn/functions.py. Every function is
// JAX's definition written with the np functions (ufuncs, reductions) and lax, so it traces
// under jit, differentiates under grad and batches under vmap like any other composite.
//
// Where JAX attaches a custom_jvp only to fix the derivative at a kink (relu, relu6: derivative
// 0 at the kink, not max's 1/2), the same derivative comes from a select on the open region,
// with the other branch under stop_gradient so that the value (NaN included) stays JAX's.
// Keyword arguments follow shared/API.md: positional in JAX's order or a trailing options
// object (`elu(x, 0.5)`, `elu(x, { alpha: 0.5 })`, `softmax(x, { axis: 0, where: mask })`).

import { DTypeLike, float32, toDType } from "../core/dtype";
import { ArgumentError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Axis, max, mean, sum } from "./reductions";
import { checkInteger, checkOptions, describeValue, isPlainObject, normalizeAxes, normalizeAxis, positionalOrOption } from "../core/shape";
import { ArrayLike, asArray, astype, promoteArgsInexact, weakScalar } from "./convert";
import * as lax from "./lax";
import { split } from "./shape-ops";
import {
  abs, add, clip, divide, equal, exp, expm1, greater, greaterEqual, less, lessEqual, log, logaddexp, logicalAnd,
  maximum, minimum, multiply, negative, rsqrt, sqrt, square, subtract, tanh, where,
} from "./ufuncs";

export { logsumexp } from "./reductions";
export { tanh } from "./ufuncs";
export * as initializers from "./initializers";

const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

/** A value that may be positional or the one key of an options object. */
function param<T>(op: string, arg: unknown, key: string, dflt: T): T {
  return positionalOrOption<T>(op, arg, key, dflt, { [key]: "any" }).value;
}

// ---- activations ----

/** jax.nn.identity: returns x. */
export function identity(x: ArrayLike): NDArray {
  return asArray(x, null, "identity");
}

/**
 * relu(x) = max(x, 0), with JAX's derivative: 1 where x > 0, else 0 (0 at x = 0, where JAX's
 * custom_jvp overrides max's 1/2). NaN gives NaN.
 */
export function relu(x: ArrayLike): NDArray {
  const a = asArray(x, null, "relu");
  return where(greater(a, 0), a, lax.stopGradient(maximum(a, 0)));
}

/**
 * relu6(x) = min(max(x, 0), 6.); derivative 1 on (0, 6) and 0 elsewhere (0 at 0 and 6, as JAX's
 * custom_jvp). The bound is JAX's Python float 6., so integer inputs give float32.
 */
export function relu6(x: ArrayLike): NDArray {
  const a = asArray(x, null, "relu6");
  const inside = logicalAnd(greater(a, 0), less(a, 6));
  return where(inside, a, lax.stopGradient(minimum(maximum(a, 0), weakScalar(6, float32))));
}

/** sigmoid(x) = 1 / (1 + exp(-x)), as lax.logistic. Integers are promoted to float. */
export function sigmoid(x: ArrayLike): NDArray {
  return lax.logistic(promoteArgsInexact("sigmoid", x)[0]);
}

/** softplus(x) = log(1 + exp(x)) = logaddexp(x, 0). */
export function softplus(x: ArrayLike): NDArray {
  return logaddexp(x, 0);
}

/** log_sigmoid(x) = -softplus(-x). */
export function logSigmoid(x: ArrayLike): NDArray {
  return negative(softplus(negative(asArray(x, null, "log_sigmoid"))));
}

/** silu(x) = x * sigmoid(x) (also `swish`). */
export function silu(x: ArrayLike): NDArray {
  const a = asArray(x, null, "silu");
  return multiply(a, sigmoid(a));
}
export const swish = silu;

/** mish(x) = x * tanh(softplus(x)). */
export function mish(x: ArrayLike): NDArray {
  const a = asArray(x, null, "mish");
  return multiply(a, tanh(softplus(a)));
}

/** squareplus(x, b = 4) = (x + sqrt(x^2 + b)) / 2. */
export function squareplus(x: ArrayLike, b?: ArrayLike | { b?: ArrayLike }): NDArray {
  const a = asArray(x, null, "squareplus");
  const bb = asArray(param<ArrayLike>("squareplus", b, "b", 4), null, "squareplus");
  return divide(add(a, sqrt(add(square(a), bb))), 2);
}

/** sparse_plus(x): 0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 between. */
export function sparsePlus(x: ArrayLike): NDArray {
  const a = asArray(x, null, "sparse_plus");
  return where(lessEqual(a, -1.0), 0.0, where(greaterEqual(a, 1.0), a, divide(square(add(a, 1.0)), 4)));
}

/** sparse_sigmoid(x) = clip(x + 1, 0, 2) / 2, the derivative of sparse_plus. */
export function sparseSigmoid(x: ArrayLike): NDArray {
  return multiply(0.5, clip(add(asArray(x, null, "sparse_sigmoid"), 1.0), 0.0, 2.0));
}

/**
 * gelu(x, approximate = true): with `approximate`, x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)));
 * otherwise the exact x/2 erfc(-x / sqrt(2)) = x Phi(x).
 */
export function gelu(x: ArrayLike, approximate?: boolean | { approximate?: boolean }): NDArray {
  const approx = param<boolean>("gelu", approximate, "approximate", true);
  if (typeof approx !== "boolean") throw new ArgumentError(`gelu: approximate must be a boolean, got ${describeValue(approx)}`);
  const [a] = promoteArgsInexact("gelu", x);
  const d = a.dtype;
  if (approx) {
    const sqrt2OverPi = asArray(Math.sqrt(2 / Math.PI), d);
    const inner = multiply(sqrt2OverPi, add(a, multiply(0.044715, lax.integerPow(a, 3))));
    const cdf = multiply(0.5, add(1.0, tanh(inner)));
    return multiply(a, cdf);
  }
  const sqrtHalf = asArray(Math.sqrt(0.5), d);
  return astype(multiply(multiply(0.5, a), lax.erfc(multiply(negative(a), sqrtHalf))), d);
}

/** elu(x, alpha = 1) = x for x > 0, alpha (exp(x) - 1) otherwise. */
export function elu(x: ArrayLike, alpha?: ArrayLike | { alpha?: ArrayLike }): NDArray {
  const a = asArray(x, null, "elu");
  const al = param<ArrayLike>("elu", alpha, "alpha", 1.0);
  const pos = greater(a, 0);
  return where(pos, a, multiply(al, expm1(where(pos, 0.0, a))));
}

/** celu(x, alpha = 1) = max(x, 0) + alpha (exp(min(x, 0) / alpha) - 1). */
export function celu(x: ArrayLike, alpha?: ArrayLike | { alpha?: ArrayLike }): NDArray {
  const a = asArray(x, null, "celu");
  const al = param<ArrayLike>("celu", alpha, "alpha", 1.0);
  return add(maximum(a, 0.0), multiply(al, expm1(divide(minimum(a, 0.0), al))));
}

/** JAX's selu constants (Klambauer et al. 2017). */
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;
/** selu(x) = scale * elu(x, alpha) with alpha = 1.67326..., scale = 1.05070.... */
export function selu(x: ArrayLike): NDArray {
  return multiply(SELU_SCALE, elu(x, SELU_ALPHA));
}

/** leaky_relu(x, negativeSlope = 0.01) = x for x >= 0, negativeSlope * x otherwise. */
export function leakyRelu(x: ArrayLike, negativeSlope?: ArrayLike | { negativeSlope?: ArrayLike }): NDArray {
  const a = asArray(x, null, "leaky_relu");
  const s = param<ArrayLike>("leaky_relu", negativeSlope, "negativeSlope", 1e-2);
  return where(greaterEqual(a, 0), a, multiply(s, a));
}

/** hard_tanh(x) = -1 for x < -1, 1 for x > 1, x between. */
export function hardTanh(x: ArrayLike): NDArray {
  const a = asArray(x, null, "hard_tanh");
  return where(greater(a, 1), 1, where(less(a, -1), -1, a));
}

/** hard_sigmoid(x) = relu6(x + 3) / 6. */
export function hardSigmoid(x: ArrayLike): NDArray {
  return divide(relu6(add(asArray(x, null, "hard_sigmoid"), 3.0)), 6.0);
}

/** hard_silu(x) = x * hard_sigmoid(x) (also `hardSwish`). */
export function hardSilu(x: ArrayLike): NDArray {
  const a = asArray(x, null, "hard_silu");
  return multiply(a, hardSigmoid(a));
}
export const hardSwish = hardSilu;

/** soft_sign(x) = x / (|x| + 1). */
export function softSign(x: ArrayLike): NDArray {
  const a = asArray(x, null, "soft_sign");
  return divide(a, add(abs(a), 1));
}

/** glu(x, axis = -1): splits x in two halves a, b along `axis` and returns a * sigmoid(b). */
export function glu(x: ArrayLike, axis?: number | { axis?: number }): NDArray {
  const a = asArray(x, null, "glu");
  const ax = normalizeAxis("glu", param<number>("glu", axis, "axis", -1), a.ndim);
  if (a.shape[ax] % 2 !== 0)
    throw new ValueError(`glu: axis size must be divisible by 2, got size ${a.shape[ax]} on axis ${ax} of shape ${fmtShape(a.shape)}`);
  const [x1, x2] = split(a, 2, ax);
  return multiply(x1, sigmoid(x2));
}

// ---- softmax and friends ----

/** Options of softmax and logSoftmax. */
export interface SoftmaxOptions {
  axis?: Axis;
  where?: ArrayLike | null;
}
const SOFTMAX_OPTS = { axis: "any", where: "any" } as const;

function softmaxArgs(op: string, x: ArrayLike, axis: Axis | SoftmaxOptions | undefined, opts: SoftmaxOptions | undefined): [NDArray, number[], ArrayLike | null] {
  let o: SoftmaxOptions;
  if (isPlainObject(axis)) {
    if (opts !== undefined) throw new ArgumentError(`${op}: options were given twice, got a second options object ${describeValue(opts)}`);
    o = checkOptions<SoftmaxOptions>(op, axis, SOFTMAX_OPTS);
  } else {
    o = checkOptions<SoftmaxOptions>(op, opts, SOFTMAX_OPTS);
    if (axis !== undefined) {
      if (o.axis !== undefined) throw new ArgumentError(`${op}: got multiple values for argument 'axis', got ${describeValue(axis)} and ${describeValue(o.axis)}`);
      o = { ...o, axis: axis as Axis };
    }
  }
  const [a] = promoteArgsInexact(op, x);
  // axis null means every axis; undefined is JAX's default, -1.
  const dims = normalizeAxes(op, o.axis === undefined ? -1 : o.axis, a.ndim);
  return [a, dims, given(o.where) ? o.where : null];
}

/**
 * log_softmax(x, axis = -1): x - logsumexp(x) along `axis`, computed as JAX does: the max
 * (under stop_gradient) is subtracted first. Entries outside a `where` mask give -inf.
 */
export function logSoftmax(x: ArrayLike, axis?: Axis | SoftmaxOptions, opts?: SoftmaxOptions): NDArray {
  const [a, dims, w] = softmaxArgs("log_softmax", x, axis, opts);
  const xMax = max(a, { axis: dims, where: w, initial: -Infinity, keepdims: true });
  const xSafe = w === null ? a : where(w, a, -Infinity);
  const shifted = subtract(xSafe, lax.stopGradient(xMax));
  const shiftedLse = log(sum(exp(shifted), { axis: dims, where: w, keepdims: true }));
  const result = subtract(shifted, shiftedLse);
  return w === null ? result : where(w, result, -Infinity);
}

/**
 * softmax(x, axis = -1) = exp(x) / sum(exp(x)) along `axis`, with the max (under
 * stop_gradient) subtracted first, as JAX's default (non custom_jvp) softmax. Entries outside
 * a `where` mask give 0.
 */
export function softmax(x: ArrayLike, axis?: Axis | SoftmaxOptions, opts?: SoftmaxOptions): NDArray {
  const [a, dims, w] = softmaxArgs("softmax", x, axis, opts);
  const xMax = max(a, { axis: dims, where: w, initial: -Infinity, keepdims: true });
  const xSafe = w === null ? a : where(w, a, -Infinity);
  const unnormalized = exp(subtract(xSafe, lax.stopGradient(xMax)));
  const result = divide(unnormalized, sum(unnormalized, { axis: dims, where: w, keepdims: true }));
  return w === null ? result : where(w, result, 0);
}

/** Options of standardize. */
export interface StandardizeOptions {
  axis?: Axis;
  mean?: ArrayLike | null;
  variance?: ArrayLike | null;
  epsilon?: number;
  where?: ArrayLike | null;
}
const STANDARDIZE_OPTS = { axis: "any", mean: "any", variance: "any", epsilon: "number", where: "any" } as const;

/**
 * standardize(x, axis = -1): (x - mean) / sqrt(variance + epsilon), the mean and variance
 * (E[x^2] - E[x]^2, as JAX computes it) taken along `axis` unless given; epsilon = 1e-5.
 */
export function standardize(x: ArrayLike, axis?: Axis | StandardizeOptions, opts?: StandardizeOptions): NDArray {
  let o: StandardizeOptions;
  if (isPlainObject(axis)) {
    if (opts !== undefined) throw new ArgumentError(`standardize: options were given twice, got a second options object ${describeValue(opts)}`);
    o = checkOptions<StandardizeOptions>("standardize", axis, STANDARDIZE_OPTS);
  } else {
    o = checkOptions<StandardizeOptions>("standardize", opts, STANDARDIZE_OPTS);
    if (axis !== undefined) {
      if (o.axis !== undefined) throw new ArgumentError(`standardize: got multiple values for argument 'axis', got ${describeValue(axis)} and ${describeValue(o.axis)}`);
      o = { ...o, axis: axis as Axis };
    }
  }
  const a = asArray(x, null, "standardize");
  const ax = o.axis === undefined ? -1 : o.axis;
  const w = given(o.where) ? o.where : null;
  const m = given(o.mean) ? asArray(o.mean, null, "standardize") : mean(a, { axis: ax, keepdims: true, where: w });
  const v = given(o.variance)
    ? asArray(o.variance, null, "standardize")
    : subtract(mean(square(a), { axis: ax, keepdims: true, where: w }), square(m));
  return multiply(subtract(a, m), rsqrt(add(v, o.epsilon ?? 1e-5)));
}

/** Options of oneHot. */
export interface OneHotOptions {
  dtype?: DTypeLike | null;
  axis?: number;
}

/**
 * one_hot(x, numClasses, { dtype = float32, axis = -1 }): x == iota along a new axis of size
 * numClasses, as `dtype`. Values outside [0, numClasses) give all-zero rows.
 */
export function oneHot(x: ArrayLike, numClasses: number, opts?: OneHotOptions): NDArray {
  const o = checkOptions<OneHotOptions>("one_hot", opts, { dtype: "any", axis: "integer" });
  const n = checkInteger("one_hot", "numClasses", numClasses, 0);
  const dtype = given(o.dtype) ? toDType(o.dtype, "one_hot") : float32;
  const a = asArray(x, null, "one_hot");
  const pos = normalizeAxis("one_hot", o.axis ?? -1, a.ndim + 1);
  const lhs = lax.expandDims(a, [pos]);
  const rhsShape = new Array<number>(a.ndim).fill(1);
  rhsShape.splice(pos, 0, n);
  const rhs = lax.broadcastedIota(a.dtype, rhsShape, pos);
  return astype(equal(lhs, rhs), dtype);
}
