// NumPy's elementwise functions (jnp ufuncs) with JAX semantics: dtype promotion with weak
// types, NumPy broadcasting (ranks are aligned here, lax stretches size-1 axes), inexact
// promotion for transcendental functions, Python-style floor division and remainder.

import { DType, bool, float16, float32 } from "../core/dtype";
import { DTypeError, ShapeError, ValueError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { broadcastShapes, checkInteger, checkShape } from "../core/shape";
import { bind1 } from "../core/trace";
import * as E from "../primitives/elementwise";
import { Primitive } from "../core/primitive";
import { ArrayLike, alignRanks, asArray, astype, promoteArgs, promoteArgsInexact, promoteArgsNumeric, weakScalar } from "./convert";
import * as lax from "./lax";
import { customJvp } from "../transforms/custom";

// Everything this file exports is re-exported as `np` (numpy.ts's `export *`): internal helpers
// stay unexported here or live in convert.ts (alignRanks, the promotion helpers).

/**
 * Broadcasts operands to their common shape (for functions built from lax.select, whose cases
 * must have equal shapes); `op` names the caller in the broadcast error.
 */
function broadcastAll(op: string, xs: NDArray[]): NDArray[] {
  const shape = broadcastShapes(op, ...xs.map((x) => x.shape));
  return xs.map((x) => broadcastTo(x, shape));
}

/** A weakly typed scalar `v` of `d`, broadcast to `shape` (a constant like lax._const / full_like). */
function fullOf(v: number, d: DType, shape: readonly number[]): NDArray {
  return lax.broadcastInDim(weakScalar(v, d), [...shape], []);
}

function unaryInexact(p: Primitive<{}>, name = p.name) {
  return (x: ArrayLike): NDArray => bind1(p, promoteArgsInexact(name, x));
}
function unaryNumeric(p: Primitive<{}>, name = p.name) {
  return (x: ArrayLike): NDArray => {
    const [a] = promoteArgs(name, x);
    if (a.dtype.isBool) throw new DTypeError(`${name}: operation not supported for boolean input, got ${a.dtype.name}`);
    return bind1(p, [a]);
  };
}
function binaryNumeric(p: Primitive<{}>, name = p.name) {
  return (x: ArrayLike, y: ArrayLike): NDArray => bind1(p, alignRanks(name, promoteArgs(name, x, y)));
}
function binaryInexact(p: Primitive<{}>, name = p.name) {
  return (x: ArrayLike, y: ArrayLike): NDArray => bind1(p, alignRanks(name, promoteArgsInexact(name, x, y)));
}

export const sqrt = unaryInexact(E.sqrt), rsqrt = unaryInexact(E.rsqrt), cbrt = unaryInexact(E.cbrt);
export const exp = unaryInexact(E.exp), exp2 = unaryInexact(E.exp2), expm1 = unaryInexact(E.expm1);
export const log = unaryInexact(E.log), log1p = unaryInexact(E.log1p);
export const sin = unaryInexact(E.sin), cos = unaryInexact(E.cos), tan = unaryInexact(E.tan);
// The jnp names, not lax's (asin, acos, ...), in messages.
export const arcsin = unaryInexact(E.asin, "arcsin"), arccos = unaryInexact(E.acos, "arccos"), arctan = unaryInexact(E.atan, "arctan");
export const sinh = unaryInexact(E.sinh), cosh = unaryInexact(E.cosh), tanh = unaryInexact(E.tanh);
export const arcsinh = unaryInexact(E.asinh, "arcsinh"), arccosh = unaryInexact(E.acosh, "arccosh"), arctanh = unaryInexact(E.atanh, "arctanh");
export const negative = unaryNumeric(E.neg, "negative");
export const sign = unaryNumeric(E.sign);
export const arctan2 = binaryInexact(E.atan2, "arctan2");
export const add = binaryNumeric(E.add);
export const multiply = binaryNumeric(E.mul, "multiply");
export const maximum = binaryNumeric(E.max, "maximum");
export const minimum = binaryNumeric(E.min, "minimum");
export const equal = binaryNumeric(E.eq, "equal"), notEqual = binaryNumeric(E.ne, "not_equal");
export const less = binaryNumeric(E.lt, "less"), lessEqual = binaryNumeric(E.le, "less_equal");
export const greater = binaryNumeric(E.gt, "greater"), greaterEqual = binaryNumeric(E.ge, "greater_equal");
export const nextafter = binaryInexact(E.nextafter);

/** x - y; booleans are rejected as in NumPy. */
export function subtract(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = alignRanks("subtract", promoteArgs("subtract", x, y));
  if (a.dtype.isBool) throw new DTypeError("subtract: numpy boolean subtract is not supported, use logicalXor instead, got bool");
  return bind1(E.sub, [a, b]);
}

/** True division: integers are promoted to float first. Errors are named divide (trueDivide is an alias). */
export function divide(x: ArrayLike, y: ArrayLike): NDArray {
  return bind1(E.div, alignRanks("divide", promoteArgsInexact("divide", x, y)));
}
export const trueDivide = divide;

/** |x|; bool passes through. */
export function abs(x: ArrayLike): NDArray {
  const [a] = promoteArgs("abs", x);
  return a.dtype.isBool || a.dtype.isUnsigned ? a : bind1(E.abs, [a]);
}
export const absolute = abs;

export function square(x: ArrayLike): NDArray {
  const [a] = promoteArgs("square", x);
  return bind1(E.integerPow, [a.dtype.isBool ? astype(a, "int32") : a], { y: 2 });
}
export function reciprocal(x: ArrayLike): NDArray {
  const [a] = promoteArgsInexact("reciprocal", x);
  return bind1(E.integerPow, [a], { y: -1 });
}

/**
 * Floor division with Python semantics (jnp.floor_divide): bool is promoted to int32; integer
 * x // 0 follows XLA's x / 0 = -1 (see jax-reference §3); float x // 0 is x / 0.
 */
export function floorDivide(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = broadcastAll("floor_divide", promoteArgsNumeric("floor_divide", x, y));
  if (a.dtype.isUnsigned) return bind1(E.div, [a, b]);
  if (a.dtype.isInt) {
    // trunc(a / b) - 1 where sign(a) != sign(b) and the division is inexact (JAX's
    // floor_divide). With XLA's x / 0 = -1 and x % 0 = x this gives x // 0 = -2 (x != 0), 0 // 0 = -1.
    const q = bind1(E.div, [a, b]);
    const r = bind1(E.rem, [a, b]);
    const signsDiffer = bind1(E.ne, [bind1(E.sign, [a]), bind1(E.sign, [b])]);
    const fix = bind1(E.and, [signsDiffer, bind1(E.ne, [r, weakScalar(0, a.dtype)])]);
    return lax.select(fix, bind1(E.sub, [q, weakScalar(1, a.dtype)]), q);
  }
  return floatDivmod(a, b)[0];
}

/**
 * JAX's _float_divmod (CPython's float_divmod) on operands of one shape: the quotient is
 * round((a - fmod(a, b)) / b), corrected by one where the remainder's sign differs from b's, so
 * that -5 // inf = -1 and 5 // inf = 0. Where b == 0 the quotient is a / b (+-inf, NaN for
 * 0 / 0), as current JAX computes it (PR #38017).
 */
function floatDivmod(a: NDArray, b: NDArray): [NDArray, NDArray] {
  const d = a.dtype;
  const mod = bind1(E.rem, [a, b]);
  const byZero = bind1(E.eq, [b, weakScalar(0, d)]);
  const div = bind1(E.div, [lax.select(byZero, a, bind1(E.sub, [a, mod])), b]);
  const ind = bind1(E.and, [bind1(E.ne, [mod, weakScalar(0, d)]), bind1(E.ne, [bind1(E.sign, [b]), bind1(E.sign, [mod])])]);
  const fixedMod = lax.select(ind, bind1(E.add, [mod, b]), mod);
  const fixedDiv = lax.select(ind, bind1(E.sub, [div, weakScalar(1, d)]), div);
  return [lax.round(fixedDiv, 0), fixedMod];
}

/** Remainder with the sign of the divisor (Python's %); bool is promoted to int32; integer x % 0 is 0. */
export function remainder(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = broadcastAll("remainder", promoteArgsNumeric("remainder", x, y));
  const zero = weakScalar(0, a.dtype);
  // Integer x % 0: the divisor is replaced by 1 (jnp.remainder), so the result is 0.
  const bb = a.dtype.isInt ? lax.select(bind1(E.eq, [b, zero]), fullOf(1, a.dtype, b.shape), b) : b;
  const r = bind1(E.rem, [a, bb]);
  if (a.dtype.isUnsigned) return r;
  const fix = bind1(E.and, [bind1(E.ne, [r, zero]), bind1(E.ne, [bind1(E.lt, [r, zero]), bind1(E.lt, [bb, zero])])]);
  return lax.select(fix, bind1(E.add, [r, bb]), r);
}
export const mod = remainder;

/** C fmod: the remainder has the sign of the dividend (lax.rem); integer x fmod 0 is 0, as in jnp.fmod. */
export function fmod(x: ArrayLike, y: ArrayLike): NDArray {
  const promoted = promoteArgs("fmod", x, y);
  // jnp.fmod replaces a zero integer divisor by 1 (a bool divisor is left alone, then made int32).
  const intDivisor = promoted[0].dtype.isInt;
  const [a, b] = broadcastAll("fmod", promoted.map((p) => (p.dtype.isBool ? astype(p, "int32") : p)));
  const bb = intDivisor ? lax.select(bind1(E.eq, [b, weakScalar(0, b.dtype)]), fullOf(1, b.dtype, b.shape), b) : b;
  return bind1(E.rem, [a, bb]);
}

/**
 * x ** y (jnp.power). A JS integer exponent uses integer_pow on x alone (bool made int32), so
 * integer arrays stay integers, and a negative one on integers is an error (integer_pow's
 * TypeError). Otherwise the operands are promoted (bool to int32) and lax.pow is used; integer
 * arrays with negative exponents then give XLA's integer pow (0 unless the base is 1 or -1), as
 * real JAX returns (test/reference/jax-numpy.json, power_i32_negative_exponent).
 */
export function power(x: ArrayLike, y: ArrayLike): NDArray {
  if (typeof y === "number" && Number.isInteger(y) && Math.abs(y) < 2 ** 31) {
    const [a] = promoteArgsNumeric("power", x);
    if (a.dtype.isInt && y < 0)
      throw new DTypeError(`power: integers cannot be raised to negative powers, got ${a.dtype.name} to the power ${y}`);
    return bind1(E.integerPow, [a], { y });
  }
  return bind1(E.pow, alignRanks("power", promoteArgsNumeric("power", x, y)));
}
export const pow = power;

export function floor(x: ArrayLike): NDArray {
  const [a] = promoteArgs("floor", x);
  return a.dtype.isFloat ? lax.floor(a) : a;
}
export function ceil(x: ArrayLike): NDArray {
  const [a] = promoteArgs("ceil", x);
  return a.dtype.isFloat ? lax.ceil(a) : a;
}
export function trunc(x: ArrayLike): NDArray {
  const [a] = promoteArgs("trunc", x);
  return a.dtype.isFloat ? lax.select(lax.lt(a, 0), lax.ceil(a), lax.floor(a)) : a;
}
/**
 * Round half to even, with `decimals` like jnp.round: x * 10^decimals is rounded and divided
 * back (float16 through float32, as JAX does); integers are returned unchanged.
 */
export function round(x: ArrayLike, decimals = 0): NDArray {
  checkInteger("round", "decimals", decimals);
  const [a] = promoteArgs("round", x);
  if (!a.dtype.isFloat) {
    if (decimals < 0 && a.dtype.isInt) throw new ValueError(`round: integer np.round not implemented for decimals < 0, got decimals=${decimals}`);
    return a;
  }
  if (decimals === 0) return lax.round(a, 1);
  const w = a.dtype === float16 ? astype(a, float32, a.weakType) : a;
  const f = weakScalar(10 ** decimals, w.dtype);
  const out = bind1(E.div, [lax.round(bind1(E.mul, [w, f]), 1), f]);
  return w === a ? out : astype(out, float16, a.weakType);
}
export const around = round;
/** Round to the nearest integer, half to even; integers and bools become float32 (jnp.rint). */
export function rint(x: ArrayLike): NDArray {
  const [a] = promoteArgs("rint", x);
  return a.dtype.isFloat ? lax.round(a, 1) : astype(a, float32, a.weakType);
}

export function exp10(x: ArrayLike): NDArray {
  return power(10, promoteArgsInexact("exp10", x)[0]);
}
export function log2(x: ArrayLike): NDArray {
  const [a] = promoteArgsInexact("log2", x);
  return bind1(E.div, [lax.log(a), lax.log(weakScalar(2, a.dtype))]);
}
export function log10(x: ArrayLike): NDArray {
  const [a] = promoteArgsInexact("log10", x);
  return bind1(E.div, [lax.log(a), lax.log(weakScalar(10, a.dtype))]);
}
/** log(exp(x) + exp(y)) without overflow. */
export function logaddexp(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = alignRanks("logaddexp", promoteArgsInexact("logaddexp", x, y));
  return logaddexpCustom(a, b);
}

function logaddexpPrimal(a: NDArray, b: NDArray): NDArray {
  const amax = lax.max(a, b);
  const delta = lax.sub(a, b);
  const isnanDelta = lax.ne(delta, delta);
  // max + log1p(exp(-|a - b|)); where a == b == +-inf, delta is NaN and the answer is amax.
  const r = lax.add(amax, lax.log1p(lax.exp(lax.neg(lax.abs(delta)))));
  return lax.select(isnanDelta, lax.add(a, b), r);
}

// JAX's _logaddexp_jvp: d logaddexp(a, b) = da e^(a - out) + db e^(b - out), with +inf replaced
// by 0 so that logaddexp(inf, x) has derivative 1 in a. Written as a custom rule because the
// max/abs formulation differentiates to 0 instead of 1/4 at a == b in second order.
const replaceInf = (v: NDArray) => lax.select(lax.eq(v, Infinity), lax.broadcastInDim(weakScalar(0, v.dtype), [...v.shape], []), v);
const logaddexpCustom = customJvp(logaddexpPrimal);
logaddexpCustom.defjvp(([a, b]: NDArray[], [ta, tb]: NDArray[]) => {
  const out = logaddexpCustom(a, b);
  const wa = lax.exp(lax.sub(replaceInf(a), replaceInf(out)));
  const wb = lax.exp(lax.sub(replaceInf(b), replaceInf(out)));
  return [out, lax.add(lax.mul(ta, wa), lax.mul(tb, wb))];
});

// maximum and minimum whose errors are named clip.
const clipLower = binaryNumeric(E.max, "clip"), clipUpper = binaryNumeric(E.min, "clip");
/** Limits x to [min, max] (either bound may be left out): maximum then minimum, as jnp.clip. */
export function clip(x: ArrayLike, min?: ArrayLike | null, max?: ArrayLike | null): NDArray {
  let r = asArray(x, null, "clip");
  if (min !== undefined && min !== null) r = clipLower(r, min);
  if (max !== undefined && max !== null) r = clipUpper(r, max);
  return r;
}
/** max ignoring NaN, NaN only where both are NaN: where((x > y) | isnan(y), x, y), as jnp.fmax. */
export function fmax(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = broadcastAll("fmax", promoteArgs("fmax", x, y));
  return lax.select(lax.or(lax.gt(a, b), lax.ne(b, b)), a, b);
}
/** min ignoring NaN: where((x < y) | isnan(y), x, y), as jnp.fmin. */
export function fmin(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = broadcastAll("fmin", promoteArgs("fmin", x, y));
  return lax.select(lax.or(lax.lt(a, b), lax.ne(b, b)), a, b);
}

export function isnan(x: ArrayLike): NDArray {
  const [a] = promoteArgs("isnan", x);
  return a.dtype.isFloat ? lax.ne(a, a) : fullBool(a, false);
}
export function isinf(x: ArrayLike): NDArray {
  const [a] = promoteArgs("isinf", x);
  return a.dtype.isFloat ? lax.eq(lax.abs(a), weakScalar(Infinity, a.dtype)) : fullBool(a, false);
}
export function isfinite(x: ArrayLike): NDArray {
  const [a] = promoteArgs("isfinite", x);
  return a.dtype.isFloat ? lax.isFinite(a) : fullBool(a, true);
}
export function signbit(x: ArrayLike): NDArray {
  const [a] = promoteArgs("signbit", x);
  if (!a.dtype.isFloat) return a.dtype.isUnsigned || a.dtype.isBool ? fullBool(a, false) : lax.lt(a, 0);
  const bits = lax.bitcastConvertType(astype(a, float32), "int32");
  return lax.lt(bits, 0);
}
function fullBool(a: NDArray, v: boolean): NDArray {
  return lax.broadcastInDim(weakScalar(v, bool), [...a.shape], []);
}

function logical(name: string, p: Primitive<{}>) {
  return (x: ArrayLike, y: ArrayLike): NDArray => {
    const [a, b] = alignRanks(name, [asBool(name, x), asBool(name, y)]);
    return bind1(p, [a, b]);
  };
}
function asBool(name: string, x: ArrayLike): NDArray {
  const a = asArray(x, null, name);
  return a.dtype.isBool ? a : lax.ne(a, weakScalar(0, a.dtype));
}
export const logicalAnd = logical("logical_and", E.and);
export const logicalOr = logical("logical_or", E.or);
export const logicalXor = logical("logical_xor", E.xor);
export function logicalNot(x: ArrayLike): NDArray {
  return lax.bitwiseNot(asBool("logical_not", x));
}

function bitwise(name: string, p: Primitive<{}>) {
  return (x: ArrayLike, y: ArrayLike): NDArray => {
    const [a, b] = alignRanks(name, promoteArgs(name, x, y));
    if (a.dtype.isFloat) throw new DTypeError(`${name}: only integer and boolean inputs are supported, got ${a.dtype.name}`);
    return bind1(p, [a, b]);
  };
}
export const bitwiseAnd = bitwise("bitwise_and", E.and);
export const bitwiseOr = bitwise("bitwise_or", E.or);
export const bitwiseXor = bitwise("bitwise_xor", E.xor);
/** x << y; bool is promoted to int32 (jnp's promote_args_numeric). */
export function leftShift(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = alignRanks("left_shift", promoteArgsNumeric("left_shift", x, y));
  if (!a.dtype.isInt) throw new DTypeError(`left_shift: only integer inputs are supported, got ${a.dtype.name}`);
  return bind1(E.shiftLeft, [a, b]);
}
/** x >> y: arithmetic for signed, logical for unsigned; bool is promoted to int32. */
export function rightShift(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = alignRanks("right_shift", promoteArgsNumeric("right_shift", x, y));
  if (!a.dtype.isInt) throw new DTypeError(`right_shift: only integer inputs are supported, got ${a.dtype.name}`);
  return bind1(a.dtype.isUnsigned ? E.shiftRightLogical : E.shiftRightArithmetic, [a, b]);
}
export function bitwiseNot(x: ArrayLike): NDArray {
  const [a] = promoteArgs("bitwise_not", x);
  if (a.dtype.isFloat) throw new DTypeError(`bitwise_not: only integer and boolean inputs are supported, got ${a.dtype.name}`);
  return lax.bitwiseNot(a);
}
export const invert = bitwiseNot;

/**
 * where(cond, x, y): x where cond is true, else y, broadcast together. With the condition alone
 * it is nonzero(cond), as in jnp.where.
 */
export function where(condition: ArrayLike): NDArray[];
export function where(condition: ArrayLike, x: ArrayLike, y: ArrayLike): NDArray;
export function where(condition: ArrayLike, x?: ArrayLike, y?: ArrayLike): NDArray | NDArray[] {
  // x.nonzero() is installed by array-methods.ts; calling it here avoids importing the indexing
  // modules into this one (they import ufuncs).
  if (x === undefined && y === undefined) return asArray(condition, null, "where").nonzero();
  if (x === undefined || y === undefined)
    throw new ValueError(`where: Either both or neither of the x and y arguments should be provided to jax.numpy.where, got ${x === undefined ? "no x" : "x"} and ${y === undefined ? "no y" : "y"}`);
  const c = asBool("where", condition);
  const [a, b] = promoteArgs("where", x, y);
  const shape = broadcastShapes("where", c.shape, a.shape, b.shape);
  const bc = (v: NDArray) => (v.shape.length === shape.length && v.shape.every((d, i) => d === shape[i]) ? v : broadcastTo(v, shape));
  return lax.select(bc(c), bc(a), bc(b));
}

/** Broadcasts an array to a shape (NumPy rules), as a broadcast_in_dim. */
export function broadcastTo(x: ArrayLike, shape: number | readonly number[]): NDArray {
  const a = asArray(x, null, "broadcast_to");
  const s = checkShape("broadcast_to", shape);
  const out = broadcastShapes("broadcast_to", a.shape, s);
  if (out.length !== s.length || out.some((d, i) => d !== s[i]))
    throw new ShapeError(`broadcast_to: cannot broadcast shape ${fmtShape(a.shape)} to ${fmtShape(s)}`);
  if (a.shape.length === s.length && a.shape.every((d, i) => d === s[i])) return a;
  const off = s.length - a.ndim;
  return lax.broadcastInDim(a, s, a.shape.map((_, i) => i + off));
}
