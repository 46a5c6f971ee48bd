// The elementwise primitives (lax's unary and binary ops, select_n, clamp, conversions): their
// shape/dtype rules and the scalar expressions the CPU kernels are generated from.
// Binary ops broadcast as lax does: equal ranks (scalars exempt) with size-1 axes stretched.

import { ShapedArray } from "../core/aval";
import { DType, bool as boolDT, uint32, int32 } from "../core/dtype";
import { DTypeError, ShapeError, fmtShape } from "../core/errors";
import { ElementwiseRule, Primitive, definePrimitive } from "../core/primitive";
import { elementwiseCpu, intRange } from "./cpu-loops";

/** Which dtypes an operation accepts, with the words JAX uses in its error. */
type Accepts = "float" | "number" | "int" | "intOrBool" | "any";
const ACCEPT_TEXT: Record<Accepts, string> = {
  float: "floating",
  number: "integer, floating",
  int: "integer",
  intOrBool: "integer, bool",
  any: "bool, integer, floating",
};
function accepts(a: Accepts, d: DType): boolean {
  switch (a) {
    case "float": return d.isFloat;
    case "number": return !d.isBool;
    case "int": return d.isInt;
    case "intOrBool": return d.isInt || d.isBool;
    case "any": return true;
  }
}
function checkDType(name: string, a: Accepts, d: DType): void {
  if (!accepts(a, d)) throw new DTypeError(`${name} does not accept dtype ${d.name}. Accepted dtypes are subtypes of ${ACCEPT_TEXT[a]}`);
}

/** lax's broadcasting shape rule: scalars are exempt, other ranks must match, 1s stretch. */
export function naryShape(name: string, avals: ShapedArray[]): number[] {
  const shapes = avals.map((a) => a.shape).filter((s) => s.length > 0);
  if (shapes.length === 0) return [];
  const rank = shapes[0].length;
  if (shapes.some((s) => s.length !== rank))
    throw new ShapeError(`${name}: arrays must have same number of dimensions, got ${shapes.map(fmtShape).join(", ")}`);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const ds = shapes.map((s) => s[i]);
    const non1 = ds.filter((d) => d !== 1);
    if (non1.length === 0) out.push(1);
    else if (non1.every((d) => d === non1[0])) out.push(non1[0]);
    else throw new ShapeError(`${name}: incompatible shapes for broadcasting, got ${shapes.map(fmtShape).join(", ")}`);
  }
  return out;
}

type JsRule<P> = (args: string[], inDtypes: DType[], outDtype: DType, params: P) => string;

function defineElementwise<P>(
  name: string,
  rule: JsRule<P>,
  abstractEval: (avals: ShapedArray[], params: P) => ShapedArray[],
): Primitive<P> {
  const elementwise: ElementwiseRule<P> = { js: rule };
  return definePrimitive<P>({ name, abstractEval, elementwise, cpu: elementwiseCpu(name, elementwise) });
}

/** A unary op whose output has the input's aval. */
function unary(name: string, acc: Accepts, js: (a: string, d: DType) => string): Primitive<{}> {
  return defineElementwise<{}>(name, ([a], [d]) => js(a, d), ([x]) => {
    checkDType(name, acc, x.dtype);
    return [x];
  });
}

/** A binary op: same dtypes, broadcast shapes, weak only if both inputs are. */
function binary(name: string, acc: Accepts, js: (a: string, b: string, d: DType) => string, out?: DType): Primitive<{}> {
  return defineElementwise<{}>(name, ([a, b], [d]) => js(a, b, d), ([x, y]) => {
    checkDType(name, acc, x.dtype);
    if (x.dtype !== y.dtype)
      throw new DTypeError(`${name} requires arguments to have the same dtypes, got ${x.dtype.name}, ${y.dtype.name}`);
    const shape = naryShape(name, [x, y]);
    // Weak when every operand is (JAX's _naryop_weak_type_rule), bool results included.
    return [new ShapedArray(shape, out ?? x.dtype, x.weakType && y.weakType)];
  });
}

const is32 = (d: DType) => d.bits === 32 && d.isInt;


// ---- unary ----
export const neg = unary("neg", "number", (a) => `-${a}`);
export const sign = unary("sign", "number", (a, d) => (d.isUnsigned ? `(${a} > 0 ? 1 : 0)` : `H.sign(${a})`));
export const floor = unary("floor", "float", (a) => `Math.floor(${a})`);
export const ceil = unary("ceil", "float", (a) => `Math.ceil(${a})`);
export const abs = unary("abs", "number", (a) => `Math.abs(${a})`);
export const exp = unary("exp", "float", (a) => `Math.exp(${a})`);
export const exp2 = unary("exp2", "float", (a) => `Math.pow(2, ${a})`);
export const log = unary("log", "float", (a) => `Math.log(${a})`);
export const log1p = unary("log1p", "float", (a) => `Math.log1p(${a})`);
export const expm1 = unary("expm1", "float", (a) => `Math.expm1(${a})`);
export const tanh = unary("tanh", "float", (a) => `Math.tanh(${a})`);
export const logistic = unary("logistic", "float", (a) => `H.logistic(${a})`);
export const sin = unary("sin", "float", (a) => `Math.sin(${a})`);
export const cos = unary("cos", "float", (a) => `Math.cos(${a})`);
export const tan = unary("tan", "float", (a) => `Math.tan(${a})`);
export const asin = unary("asin", "float", (a) => `Math.asin(${a})`);
export const acos = unary("acos", "float", (a) => `Math.acos(${a})`);
export const atan = unary("atan", "float", (a) => `Math.atan(${a})`);
export const sinh = unary("sinh", "float", (a) => `Math.sinh(${a})`);
export const cosh = unary("cosh", "float", (a) => `Math.cosh(${a})`);
export const asinh = unary("asinh", "float", (a) => `Math.asinh(${a})`);
export const acosh = unary("acosh", "float", (a) => `Math.acosh(${a})`);
export const atanh = unary("atanh", "float", (a) => `Math.atanh(${a})`);
export const sqrt = unary("sqrt", "float", (a) => `Math.sqrt(${a})`);
export const rsqrt = unary("rsqrt", "float", (a) => `1 / Math.sqrt(${a})`);
export const cbrt = unary("cbrt", "float", (a) => `Math.cbrt(${a})`);
export const erf = unary("erf", "float", (a) => `H.erf(${a})`);
export const erfc = unary("erfc", "float", (a) => `H.erfc(${a})`);
export const erfInv = unary("erf_inv", "float", (a, d) => (d.name === "float32" ? `H.erfInv32(${a})` : `H.erfInv32(${a})`));
export const lgamma = unary("lgamma", "float", (a) => `H.lgamma(${a})`);
export const square = unary("square", "number", (a, d) => (is32(d) ? `Math.imul(${a}, ${a})` : `${a} * ${a}`));
export const not = unary("not", "intOrBool", (a, d) => (d.isBool ? `${a} ^ 1` : `~${a}`));
export const copy = unary("copy", "any", (a) => a);
export const stopGradient = unary("stop_gradient", "any", (a) => a);

/** lax.round; rounding_method 0 = away from zero (lax default), 1 = to nearest even (np.round). */
export const round = defineElementwise<{ rounding_method: number }>(
  "round",
  ([a], _d, _o, p) => (p.rounding_method === 1 ? `H.roundEven(${a})` : `H.roundAway(${a})`),
  ([x]) => (checkDType("round", "float", x.dtype), [x]),
);

/** is_finite: float in, bool out. */
export const isFinite = defineElementwise<{}>("is_finite", ([a]) => `+Number.isFinite(${a})`, ([x]) => {
  checkDType("is_finite", "float", x.dtype);
  return [new ShapedArray(x.shape, boolDT)];
});

/** x ** y for a static integer y (lax.integer_pow). */
export const integerPow = defineElementwise<{ y: number }>(
  "integer_pow",
  ([a], [d], _o, p) => (d.name === "float32" ? `H.ipowf32(${a}, ${p.y})` : d.isFloat ? `Math.pow(${a}, ${p.y})` : `H.ipow(${a}, ${p.y})`),
  ([x], p) => {
    checkDType("integer_pow", "number", x.dtype);
    if (!Number.isInteger(p.y)) throw new DTypeError(`integer_pow: exponent must be an integer, got ${p.y}`);
    if (x.dtype.isInt && p.y < 0) throw new DTypeError(`integer_pow: integers cannot be raised to negative powers, got ${p.y}`);
    return [x];
  },
);

/** Dtype conversion (lax.convert_element_type), with XLA's saturating float -> int. */
export const convertElementType = defineElementwise<{ new_dtype: DType; weak_type: boolean }>(
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
);

// ---- binary ----
export const add = binary("add", "any", (a, b, d) => (d.isBool ? `${a} | ${b}` : `${a} + ${b}`));
export const sub = binary("sub", "number", (a, b) => `${a} - ${b}`);
export const mul = binary("mul", "any", (a, b, d) => (is32(d) ? `Math.imul(${a}, ${b})` : d.isBool ? `${a} & ${b}` : `${a} * ${b}`));
// lax.div truncates integers toward zero; x / 0 is -1 (all ones), INT_MIN / -1 wraps to INT_MIN.
export const div = binary("div", "number", (a, b, d) => (d.isFloat ? `${a} / ${b}` : `(${b} === 0 ? -1 : Math.trunc(${a} / ${b}))`));
// lax.rem takes the dividend's sign; integer x % 0 is x.
export const rem = binary("rem", "number", (a, b, d) => (d.isFloat ? `${a} % ${b}` : `(${b} === 0 ? ${a} : ${a} % ${b})`));
export const pow = binary("pow", "number", (a, b, d) => (d.isFloat ? `H.powf(${a}, ${b})` : `H.ipow(${a}, ${b})`));
// NaN-propagating, as stablehlo.maximum/minimum.
export const max = binary("max", "any", (a, b) => `Math.max(${a}, ${b})`);
export const min = binary("min", "any", (a, b) => `Math.min(${a}, ${b})`);
export const atan2 = binary("atan2", "float", (a, b) => `Math.atan2(${a}, ${b})`);
export const nextafter = binary("nextafter", "float", (a, b, d) => `H.nextafter(${a}, ${b}, "${d.name}")`);
export const and = binary("and", "intOrBool", (a, b) => `${a} & ${b}`);
export const or = binary("or", "intOrBool", (a, b) => `${a} | ${b}`);
export const xor = binary("xor", "intOrBool", (a, b) => `${a} ^ ${b}`);
// Shifts by >= the bit width give 0 (arithmetic right shift: the sign fill), as XLA defines them.
export const shiftLeft = binary("shift_left", "int", (a, b, d) => `(${b} >>> 0 >= ${d.bits} ? 0 : ${a} << ${b})`);
export const shiftRightLogical = binary("shift_right_logical", "int", (a, b, d) =>
  `(${b} >>> 0 >= ${d.bits} ? 0 : ((${a} ${d.bits === 32 ? "" : `& ${2 ** d.bits - 1}`}) >>> ${b}))`);
export const shiftRightArithmetic = binary("shift_right_arithmetic", "int", (a, b, d) =>
  d.isUnsigned ? `(${b} >>> 0 >= ${d.bits} ? 0 : ${a} >>> ${b})` : `(${a} >> Math.min(${b} >>> 0, 31))`);
export const eq = binary("eq", "any", (a, b) => `+(${a} === ${b})`, boolDT);
export const ne = binary("ne", "any", (a, b) => `+(${a} !== ${b})`, boolDT);
export const lt = binary("lt", "any", (a, b) => `+(${a} < ${b})`, boolDT);
export const le = binary("le", "any", (a, b) => `+(${a} <= ${b})`, boolDT);
export const gt = binary("gt", "any", (a, b) => `+(${a} > ${b})`, boolDT);
export const ge = binary("ge", "any", (a, b) => `+(${a} >= ${b})`, boolDT);

/** select_n(which, *cases): picks cases[which] per element; `which` is bool or int32. */
export const selectN = defineElementwise<{}>(
  "select_n",
  ([w, ...cases], [wd]) => {
    if (cases.length === 1) return cases[0];
    if (wd.isBool || cases.length === 2) return `(${w} ? ${cases[1]} : ${cases[0]})`;
    return `[${cases.join(", ")}][Math.min(Math.max(${w}, 0), ${cases.length - 1})]`;
  },
  ([which, ...cases]) => {
    if (cases.length === 0) throw new ShapeError("select_n: at least one case is required, got 0");
    if (!(which.dtype.isBool || which.dtype === int32 || which.dtype === uint32))
      throw new DTypeError(`select_n: which must be boolean or integer, got ${which.dtype.name}`);
    if (which.dtype.isBool && cases.length > 2)
      throw new DTypeError(`select_n: a boolean which allows at most 2 cases, got ${cases.length}`);
    for (const c of cases) {
      if (c.dtype !== cases[0].dtype) throw new DTypeError(`select_n: cases must have the same dtypes, got ${cases.map((x) => x.dtype.name).join(", ")}`);
      if (c.shape.length !== cases[0].shape.length || c.shape.some((d, i) => d !== cases[0].shape[i]))
        throw new ShapeError(`select_n: cases must have the same shapes, got ${cases.map((x) => fmtShape(x.shape)).join(", ")}`);
    }
    if (which.shape.length !== 0 && which.shape.some((d, i) => d !== cases[0].shape[i]))
      throw new ShapeError(`select_n: which must be scalar or have the same shape as cases, got ${fmtShape(which.shape)} and ${fmtShape(cases[0].shape)}`);
    return [new ShapedArray(cases[0].shape, cases[0].dtype, cases.every((c) => c.weakType))];
  },
);

/** clamp(lo, x, hi) = min(max(x, lo), hi); lo and hi are scalars or x's shape. */
export const clamp = defineElementwise<{}>(
  "clamp",
  ([lo, x, hi]) => `Math.min(Math.max(${x}, ${lo}), ${hi})`,
  ([lo, x, hi]) => {
    for (const b of [lo, hi]) {
      if (b.dtype !== x.dtype) throw new DTypeError(`clamp: bounds must have the operand's dtype, got ${b.dtype.name} and ${x.dtype.name}`);
      if (b.shape.length !== 0 && (b.shape.length !== x.shape.length || b.shape.some((d, i) => d !== x.shape[i])))
        throw new ShapeError(`clamp: bounds must be scalars or have the operand's shape, got ${fmtShape(b.shape)} and ${fmtShape(x.shape)}`);
    }
    return [x];
  },
);
