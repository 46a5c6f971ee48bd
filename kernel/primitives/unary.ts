// The unary elementwise primitives (lax's neg, exp, sin, ...), conversions, round, is_finite
// and integer_pow: their dtype rules, scalar expressions for the CPU kernels, and derivatives.
// Each derivative is written in the rule's comment as d(f(x)) = f'(x) dx.

import { ShapedArray } from "../core/aval";
import { DType, bool as boolDT } from "../core/dtype";
import { DTypeError, PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { JvpRule, Primitive } from "../core/primitive";
import { bind1 } from "../core/trace";
import { H, intRange } from "./cpu-loops";
import { Accepts, checkDType, defineElementwise } from "./elementwise-common";
import { F32_MATH } from "./f32-math";
import { f32HelperName } from "./f32-math-js";
import * as o from "./ops";

type Tangent = (x: NDArray, ans: NDArray, t: NDArray) => NDArray;

/** A unary op whose output has the input's aval; `d` gives its tangent, null = zero derivative. */
function unary(name: string, acc: Accepts, js: (a: string, d: DType) => string, d: Tangent | null, linear = false): Primitive<{}> {
  const p: Primitive<{}> = defineElementwise<{}>(
    name,
    ([a], [dt]) => js(a, dt),
    ([x]) => {
      checkDType(name, acc, x.dtype);
      return [x];
    },
    {
      jvp: ([x], [t]) => {
        const ans = bind1(p, [x]);
        return [[ans], [t && d ? d(x, ans, t) : null]];
      },
      // A linear unary op is its own transpose up to the tangent map: ct -> d(ct).
      transpose: linear && d ? ([ct]) => [ct && d(ct, ct, ct)] : undefined,
    },
  );
  return p;
}
const half = (x: NDArray) => o.scalar(0.5, x.dtype);

/**
 * The scalar rule of a primitive with a float32 algorithm in F32_MATH: float32 operands call
 * its JS rendering (`H.expf32`, ...), so eager kernels, the JS code generator and the WASM one
 * compute the same bits; float16 and bfloat16 keep the float64 expression `f64`, whose result
 * they round once (their precision is far below float32's, so that is already correctly rounded
 * but for rare double roundings).
 */
function f32Or(prim: string, f64: (a: string) => string): (a: string, d: DType) => string {
  const helper = f32HelperName(prim);
  if (!(prim in F32_MATH) || !(helper in H)) throw new PrimalError(`${prim}: no float32 helper H.${helper} for the F32_MATH algorithm, got ${Object.keys(F32_MATH).join(", ")}`);
  return (a, d) => (d.name === "float32" ? `H.${helper}(${a})` : f64(a));
}

// d(-x) = -dx
export const neg = unary("neg", "number", (a) => `-${a}`, (_x, _a, t) => o.neg(t), true);
// sign, floor, ceil are piecewise constant: zero derivative.
export const sign = unary("sign", "number", (a, d) => (d.isUnsigned ? `(${a} > 0 ? 1 : 0)` : `H.sign(${a})`), null);
export const floor = unary("floor", "float", (a) => `Math.floor(${a})`, null);
export const ceil = unary("ceil", "float", (a) => `Math.ceil(${a})`, null);
// d|x| = sign(x) dx
export const abs = unary("abs", "number", (a) => `Math.abs(${a})`, (x, _a, t) => o.mul(t, o.sign(x)));
// d exp(x) = exp(x) dx
export const exp = unary("exp", "float", f32Or("exp", (a) => `Math.exp(${a})`), (_x, ans, t) => o.mul(t, ans));
// d 2^x = 2^x log(2) dx
export const exp2 = unary("exp2", "float", (a) => `Math.pow(2, ${a})`, (_x, ans, t) => o.mul(t, o.mul(ans, Math.LN2)));
// d log(x) = dx / x
export const log = unary("log", "float", f32Or("log", (a) => `Math.log(${a})`), (x, _a, t) => o.div(t, x));
// d log1p(x) = dx / (1 + x)
export const log1p = unary("log1p", "float", f32Or("log1p", (a) => `Math.log1p(${a})`), (x, _a, t) => o.div(t, o.add(x, 1)));
// d expm1(x) = (expm1(x) + 1) dx
export const expm1 = unary("expm1", "float", f32Or("expm1", (a) => `Math.expm1(${a})`), (_x, ans, t) => o.mul(t, o.add(ans, 1)));
// d tanh(x) = (1 - tanh(x)^2) dx
export const tanh = unary("tanh", "float", f32Or("tanh", (a) => `Math.tanh(${a})`), (_x, ans, t) => o.mul(t, o.sub(1, o.mul(ans, ans))));
// d logistic(x) = s (1 - s) dx
export const logistic = unary("logistic", "float", f32Or("logistic", (a) => `H.logistic(${a})`), (_x, s, t) => o.mul(t, o.mul(s, o.sub(1, s))));
// d sin(x) = cos(x) dx
export const sin = unary("sin", "float", (a) => `Math.sin(${a})`, (x, _a, t) => o.mul(t, o.cos(x)));
// d cos(x) = -sin(x) dx
export const cos = unary("cos", "float", (a) => `Math.cos(${a})`, (x, _a, t) => o.neg(o.mul(t, o.sin(x))));
// d tan(x) = (1 + tan(x)^2) dx
export const tan = unary("tan", "float", (a) => `Math.tan(${a})`, (_x, ans, t) => o.mul(t, o.add(1, o.mul(ans, ans))));
// d asin(x) = dx / sqrt(1 - x^2)
export const asin = unary("asin", "float", (a) => `Math.asin(${a})`, (x, _a, t) => o.mul(t, o.rsqrt(o.sub(1, o.mul(x, x)))));
// d acos(x) = -dx / sqrt(1 - x^2)
export const acos = unary("acos", "float", (a) => `Math.acos(${a})`, (x, _a, t) => o.neg(o.mul(t, o.rsqrt(o.sub(1, o.mul(x, x))))));
// d atan(x) = dx / (1 + x^2)
export const atan = unary("atan", "float", (a) => `Math.atan(${a})`, (x, _a, t) => o.div(t, o.add(1, o.mul(x, x))));
// d sinh(x) = cosh(x) dx
export const sinh = unary("sinh", "float", (a) => `Math.sinh(${a})`, (x, _a, t) => o.mul(t, bind1(cosh, [x])));
// d cosh(x) = sinh(x) dx
export const cosh = unary("cosh", "float", (a) => `Math.cosh(${a})`, (x, _a, t) => o.mul(t, bind1(sinh, [x])));
// d asinh(x) = dx / sqrt(x^2 + 1)
export const asinh = unary("asinh", "float", (a) => `Math.asinh(${a})`, (x, _a, t) => o.mul(t, o.rsqrt(o.add(o.mul(x, x), 1))));
// d acosh(x) = dx / sqrt((x - 1)(x + 1))
export const acosh = unary("acosh", "float", (a) => `Math.acosh(${a})`, (x, _a, t) => o.mul(t, o.rsqrt(o.mul(o.sub(x, 1), o.add(x, 1)))));
// d atanh(x) = dx / (1 - x^2)
export const atanh = unary("atanh", "float", (a) => `Math.atanh(${a})`, (x, _a, t) => o.div(t, o.sub(1, o.mul(x, x))));
// d sqrt(x) = dx / (2 sqrt(x))
export const sqrt = unary("sqrt", "float", (a) => `Math.sqrt(${a})`, (_x, ans, t) => o.div(o.mul(t, half(ans)), ans));
// d x^(-1/2) = -1/2 x^(-3/2) dx = -1/2 rsqrt(x) / x dx
export const rsqrt = unary("rsqrt", "float", (a) => `1 / Math.sqrt(${a})`, (x, ans, t) => o.mul(t, o.div(o.mul(ans, -0.5), x)));
// d cbrt(x) = dx / (3 cbrt(x)^2)
export const cbrt = unary("cbrt", "float", (a) => `Math.cbrt(${a})`, (_x, ans, t) => o.mul(t, o.mul(o.integerPow(ans, -2), 1 / 3)));
// d erf(x) = 2/sqrt(pi) exp(-x^2) dx
export const erf = unary("erf", "float", (a) => `H.erf(${a})`, (x, _a, t) => o.mul(t, o.mul(o.exp(o.neg(o.mul(x, x))), 2 / Math.sqrt(Math.PI))));
// d erfc(x) = -2/sqrt(pi) exp(-x^2) dx
export const erfc = unary("erfc", "float", (a) => `H.erfc(${a})`, (x, _a, t) => o.mul(t, o.mul(o.exp(o.neg(o.mul(x, x))), -2 / Math.sqrt(Math.PI))));
// d erf_inv(x) = sqrt(pi)/2 exp(erf_inv(x)^2) dx
export const erfInv = unary("erf_inv", "float", (a) => `H.erfInv32(${a})`, (_x, ans, t) => o.mul(t, o.mul(o.exp(o.mul(ans, ans)), Math.sqrt(Math.PI) / 2)));
// d lgamma(x) = digamma(x) dx
export const lgamma = unary("lgamma", "float", (a) => `H.lgamma(${a})`, (x, _a, t) => o.mul(t, bind1(digamma, [x])));
// digamma's own derivative (polygamma(1, x)) is not implemented: its jvp rule throws.
export const digamma = unary("digamma", "float", (a) => `H.digamma(${a})`, (): NDArray => {
  throw new DTypeError("digamma: differentiation (polygamma) is not implemented, got a tangent");
});
// d x^2 = 2 x dx
export const square = unary("square", "number", (a, d) => (d.bits === 32 && d.isInt ? `Math.imul(${a}, ${a})` : `${a} * ${a}`), (x, _a, t) => o.mul(t, o.mul(x, 2)));
// Integer/bool results have no tangent.
export const not = unary("not", "intOrBool", (a, d) => (d.isBool ? `${a} ^ 1` : `~${a}`), null);
// copy is the identity: d copy(x) = dx, and its own transpose.
export const copy = unary("copy", "any", (a) => a, (_x, _a, t) => t, true);
// stop_gradient blocks the tangent; it is also the identity under transposition (never reached).
export const stopGradient = unary("stop_gradient", "any", (a) => a, null);

const zeroJvp =
  <P>(p: () => Primitive<P>): JvpRule<P> =>
  (xs, _ts, params) =>
    [[bind1(p(), xs, params)], [null]];

/** lax.round; rounding_method 0 = away from zero (lax default), 1 = to nearest even (np.round). */
export const round: Primitive<{ rounding_method: number }> = defineElementwise<{ rounding_method: number }>(
  "round",
  ([a], _d, _o, p) => (p.rounding_method === 1 ? `H.roundEven(${a})` : `H.roundAway(${a})`),
  ([x]) => (checkDType("round", "float", x.dtype), [x]),
  { jvp: zeroJvp(() => round) },
);

/** is_finite: float in, bool out (no tangent). */
export const isFinite: Primitive<{}> = defineElementwise<{}>(
  "is_finite",
  ([a]) => `+Number.isFinite(${a})`,
  ([x]) => {
    checkDType("is_finite", "float", x.dtype);
    return [new ShapedArray(x.shape, boolDT)];
  },
  { jvp: zeroJvp(() => isFinite) },
);

/** x ** y for a static integer y (lax.integer_pow). d x^y = y x^(y-1) dx */
export const integerPow: Primitive<{ y: number }> = defineElementwise<{ y: number }>(
  "integer_pow",
  ([a], [d], _o, p) => (d.name === "float32" ? `H.ipowf32(${a}, ${p.y})` : d.isFloat ? `Math.pow(${a}, ${p.y})` : `H.ipow(${a}, ${p.y})`),
  ([x], p) => {
    checkDType("integer_pow", "number", x.dtype);
    if (!Number.isInteger(p.y)) throw new DTypeError(`integer_pow: exponent must be an integer, got ${p.y}`);
    if (x.dtype.isInt && p.y < 0) throw new DTypeError(`integer_pow: integers cannot be raised to negative powers, got ${p.y}`);
    return [x];
  },
  {
    jvp: ([x], [t], p) => {
      const ans = bind1(integerPow, [x], p);
      if (!t || !x.dtype.isFloat) return [[ans], [null]];
      const dfdx = p.y === 0 ? o.zerosLike(x) : p.y === 1 ? o.onesLike(x) : o.mul(p.y === 2 ? x : o.integerPow(x, p.y - 1), p.y);
      return [[ans], [o.mul(t, dfdx)]];
    },
  },
);

/** Dtype conversion (lax.convert_element_type), with XLA's saturating float -> int. */
export const convertElementType: Primitive<{ new_dtype: DType; weak_type: boolean }> = defineElementwise<{ new_dtype: DType; weak_type: boolean }>(
  "convert_element_type",
  ([a], [from], to) => {
    if (to.isBool) return `+(${a} !== 0)`;
    if (to.isInt && from.isFloat) {
      const [lo, hi] = intRange(to);
      return `H.f2i(${a}, ${lo}, ${hi})`;
    }
    return a; // float targets round on store, int -> int wraps on store
  },
  ([x], p) => [new ShapedArray(x.shape, p.new_dtype, p.weak_type)],
  {
    // Linear between float types: the tangent is converted the same way; to ints/bools it vanishes.
    jvp: ([x], [t], p) => {
      const ans = bind1(convertElementType, [x], p);
      return [[ans], [t && x.dtype.isFloat && p.new_dtype.isFloat ? bind1(convertElementType, [t], p) : null]];
    },
    // The transpose converts the cotangent back to the operand's dtype.
    transpose: ([ct], [x]) => [ct && o.convert(ct, x.aval.dtype, x.aval.weakType)],
  },
);
