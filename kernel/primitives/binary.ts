// The binary elementwise primitives (lax's add, mul, div, max, comparisons, bitwise ops...),
// select_n and clamp: dtype and broadcasting rules, the scalar expressions for the CPU kernels,
// derivatives (in the comments) and transposes of the linear ones.

import { ShapedArray } from "../core/aval";
import { DType, bool as boolDT, int32, uint32 } from "../core/dtype";
import { DTypeError, ShapeError, fmtShape } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive, TransposeRule, UndefinedPrimal } from "../core/primitive";
import { bind1 } from "../core/trace";
import { Accepts, checkDType, defineElementwise, naryShape } from "./elementwise-common";
import * as o from "./ops";

type Jvp2 = (x: NDArray, y: NDArray, ans: NDArray, tx: NDArray | null, ty: NDArray | null) => NDArray | null;
type Rules2 = { jvp: Jvp2 | null; transpose?: TransposeRule<{}> };

const isUndef = (a: unknown): a is UndefinedPrimal => a instanceof UndefinedPrimal;

/** Sum of tangent terms, each broadcast to the output's shape (null terms are zero). */
function sumTerms(shape: readonly number[], ...terms: (NDArray | null)[]): NDArray | null {
  const ts = terms.filter((t): t is NDArray => t !== null).map((t) => o.broadcastTo(t, shape));
  return ts.length === 0 ? null : ts.reduce((a, b) => o.add(a, b));
}

/** A binary op: same dtypes, broadcast shapes, weak only if both inputs are. */
function binary(name: string, acc: Accepts, js: (a: string, b: string, d: DType) => string, rules: Rules2, out?: DType): Primitive<{}> {
  const p: Primitive<{}> = defineElementwise<{}>(
    name,
    ([a, b], [d]) => js(a, b, d),
    ([x, y]) => {
      checkDType(name, acc, x.dtype);
      if (x.dtype !== y.dtype) throw new DTypeError(`${name} requires arguments to have the same dtypes, got ${x.dtype.name}, ${y.dtype.name}`);
      // Weak when every operand is (JAX's _naryop_weak_type_rule), bool results included.
      return [new ShapedArray(naryShape(name, [x, y]), out ?? x.dtype, x.weakType && y.weakType)];
    },
    {
      jvp: ([x, y], [tx, ty]) => {
        const ans = bind1(p, [x, y]);
        const float = (out ?? x.dtype).isFloat;
        return [[ans], [rules.jvp && float ? rules.jvp(x, y, ans, tx, ty) : null]];
      },
      transpose: rules.transpose,
    },
  );
  return p;
}
const is32 = (d: DType) => d.bits === 32 && d.isInt;
const noDerivative: Rules2 = { jvp: null };

// d(x + y) = dx + dy; transpose: the cotangent, summed over broadcast axes, goes to both.
export const add = binary("add", "any", (a, b, d) => (d.isBool ? `${a} | ${b}` : `${a} + ${b}`), {
  jvp: (_x, _y, ans, tx, ty) => sumTerms(ans.shape, tx, ty),
  transpose: ([ct], [x, y]) => [ct && isUndef(x) ? o.unbroadcast(ct, x.aval) : null, ct && isUndef(y) ? o.unbroadcast(ct, y.aval) : null],
});
// add_any accumulates cotangents in reverse mode (JAX's add_jaxvals): an add that transposition
// and the jaxpr printer can tell apart from the user's own adds.
export const addAny = binary("add_any", "any", (a, b, d) => (d.isBool ? `${a} | ${b}` : `${a} + ${b}`), {
  jvp: (_x, _y, ans, tx, ty) => sumTerms(ans.shape, tx, ty),
  transpose: ([ct], [x, y]) => [ct && isUndef(x) ? o.unbroadcast(ct, x.aval) : null, ct && isUndef(y) ? o.unbroadcast(ct, y.aval) : null],
});
// d(x - y) = dx - dy
export const sub = binary("sub", "number", (a, b) => `${a} - ${b}`, {
  jvp: (_x, _y, ans, tx, ty) => sumTerms(ans.shape, tx, ty && o.neg(ty)),
  transpose: ([ct], [x, y]) => [ct && isUndef(x) ? o.unbroadcast(ct, x.aval) : null, ct && isUndef(y) ? o.unbroadcast(o.neg(ct), y.aval) : null],
});
// d(x y) = dx y + x dy; linear in whichever operand is unknown.
export const mul = binary("mul", "any", (a, b, d) => (is32(d) ? `Math.imul(${a}, ${b})` : d.isBool ? `${a} & ${b}` : `${a} * ${b}`), {
  jvp: (x, y, ans, tx, ty) => sumTerms(ans.shape, tx && o.mul(tx, y), ty && o.mul(x, ty)),
  transpose: ([ct], [x, y]) => {
    if (!ct) return [null, null];
    if (isUndef(x) && isUndef(y)) throw new DTypeError("mul: transpose of a product of two linear values (not linear), got two unknown operands");
    if (isUndef(x)) return [o.unbroadcast(o.mul(ct, y as NDArray), x.aval), null];
    if (isUndef(y)) return [null, o.unbroadcast(o.mul(x as NDArray, ct), y.aval)];
    return [null, null];
  },
});
// lax.div truncates integers toward zero; x / 0 is -1 (all ones), INT_MIN / -1 wraps to INT_MIN.
// d(x / y) = dx / y - x dy / y^2 = (dx - ans dy) / y; linear in x.
export const div = binary("div", "number", (a, b, d) => (d.isFloat ? `${a} / ${b}` : `(${b} === 0 ? -1 : Math.trunc(${a} / ${b}))`), {
  jvp: (_x, y, ans, tx, ty) => sumTerms(ans.shape, tx && o.div(tx, y), ty && o.neg(o.div(o.mul(ty, ans), y))),
  transpose: ([ct], [x, y]) => {
    if (isUndef(y)) throw new DTypeError("div: transpose with respect to the divisor (not linear), got an unknown divisor");
    return [ct && isUndef(x) ? o.unbroadcast(o.div(ct, y), x.aval) : null, null];
  },
});
// lax.rem takes the dividend's sign; integer x % 0 is x. d rem(x, y) = dx - trunc(x / y) dy
export const rem = binary("rem", "number", (a, b, d) => (d.isFloat ? `${a} % ${b}` : `(${b} === 0 ? ${a} : ${a} % ${b})`), {
  jvp: (x, y, ans, tx, ty) => {
    const q = ty && o.div(o.sub(x, ans), y); // exactly trunc(x / y)
    return sumTerms(ans.shape, tx, ty && q && o.neg(o.mul(ty, q)));
  },
});
// d x^y = y x^(y-1) dx + log(x) x^y dy, with JAX's conventions at x = 0: the first term is 0
// where y = 0, and log(0) is replaced by 0 in the second.
export const pow = binary("pow", "number", (a, b, d) => (d.isFloat ? `H.powf(${a}, ${b})` : `H.ipow(${a}, ${b})`), {
  jvp: (x, y, ans, tx, ty) => {
    const dx = tx && o.mul(tx, o.select(o.eq(y, 0), o.zerosLike(ans), o.mul(y, bind1(pow, [x, o.sub(y, 1)]))));
    const safeLog = ty && o.log(o.select(o.eq(x, 0), o.onesLike(x), x));
    const dy = ty && safeLog && o.mul(ty, o.mul(safeLog, ans));
    return sumTerms(ans.shape, dx, dy);
  },
});
// max/min propagate NaN (stablehlo.maximum/minimum). d max(x, y) splits evenly on ties, as JAX's
// _balanced_eq: dx [x > y] + dy [y > x] + (dx + dy)/2 [x == y].
const balanced: Jvp2 = (x, y, ans, tx, ty) => {
    const w = (a: NDArray, b: NDArray) => o.select(o.eq(a, ans), o.select(o.eq(b, ans), o.full(ans.aval, 0.5), o.onesLike(ans)), o.zerosLike(ans));
    return sumTerms(ans.shape, tx && o.mul(o.broadcastTo(tx, ans.shape), w(o.broadcastTo(x, ans.shape), o.broadcastTo(y, ans.shape))), ty && o.mul(o.broadcastTo(ty, ans.shape), w(o.broadcastTo(y, ans.shape), o.broadcastTo(x, ans.shape))));
};
export const max = binary("max", "any", (a, b) => `Math.max(${a}, ${b})`, { jvp: balanced });
export const min = binary("min", "any", (a, b) => `Math.min(${a}, ${b})`, { jvp: balanced });
// d atan2(x, y) = (y dx - x dy) / (x^2 + y^2)
export const atan2 = binary("atan2", "float", (a, b) => `Math.atan2(${a}, ${b})`, {
  jvp: (x, y, ans, tx, ty) => {
    const den = o.add(o.mul(x, x), o.mul(y, y));
    return sumTerms(ans.shape, tx && o.div(o.mul(tx, y), den), ty && o.neg(o.div(o.mul(ty, x), den)));
  },
});
// nextafter is piecewise constant.
export const nextafter = binary("nextafter", "float", (a, b, d) => `H.nextafter(${a}, ${b}, "${d.name}")`, noDerivative);
export const and = binary("and", "intOrBool", (a, b) => `${a} & ${b}`, noDerivative);
export const or = binary("or", "intOrBool", (a, b) => `${a} | ${b}`, noDerivative);
export const xor = binary("xor", "intOrBool", (a, b) => `${a} ^ ${b}`, noDerivative);
// Shifts by >= the bit width give 0 (arithmetic right shift: the sign fill), as XLA defines them.
export const shiftLeft = binary("shift_left", "int", (a, b, d) => `(${b} >>> 0 >= ${d.bits} ? 0 : ${a} << ${b})`, noDerivative);
export const shiftRightLogical = binary("shift_right_logical", "int", (a, b, d) =>
  `(${b} >>> 0 >= ${d.bits} ? 0 : ((${a} ${d.bits === 32 ? "" : `& ${2 ** d.bits - 1}`}) >>> ${b}))`, noDerivative);
export const shiftRightArithmetic = binary("shift_right_arithmetic", "int", (a, b, d) =>
  d.isUnsigned ? `(${b} >>> 0 >= ${d.bits} ? 0 : ${a} >>> ${b})` : `(${a} >> Math.min(${b} >>> 0, 31))`, noDerivative);
export const eq = binary("eq", "any", (a, b) => `+(${a} === ${b})`, noDerivative, boolDT);
export const ne = binary("ne", "any", (a, b) => `+(${a} !== ${b})`, noDerivative, boolDT);
export const lt = binary("lt", "any", (a, b) => `+(${a} < ${b})`, noDerivative, boolDT);
export const le = binary("le", "any", (a, b) => `+(${a} <= ${b})`, noDerivative, boolDT);
export const gt = binary("gt", "any", (a, b) => `+(${a} > ${b})`, noDerivative, boolDT);
export const ge = binary("ge", "any", (a, b) => `+(${a} >= ${b})`, noDerivative, boolDT);

/**
 * select_n(which, *cases): picks cases[which] per element; `which` is bool or int32.
 * d select_n(w, c...) = select_n(w, dc...) (w has no tangent); linear in the cases: the
 * transpose sends the cotangent to the case that was picked, zeros elsewhere.
 */
export const selectN: Primitive<{}> = defineElementwise<{}>(
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
    if (which.dtype.isBool && cases.length > 2) throw new DTypeError(`select_n: a boolean which allows at most 2 cases, got ${cases.length}`);
    for (const c of cases) {
      if (c.dtype !== cases[0].dtype) throw new DTypeError(`select_n: cases must have the same dtypes, got ${cases.map((x) => x.dtype.name).join(", ")}`);
      if (c.shape.length !== cases[0].shape.length || c.shape.some((d, i) => d !== cases[0].shape[i]))
        throw new ShapeError(`select_n: cases must have the same shapes, got ${cases.map((x) => fmtShape(x.shape)).join(", ")}`);
    }
    if (which.shape.length !== 0 && (which.shape.length !== cases[0].shape.length || which.shape.some((d, i) => d !== cases[0].shape[i])))
      throw new ShapeError(`select_n: which must be scalar or have the same shape as cases, got ${fmtShape(which.shape)} and ${fmtShape(cases[0].shape)}`);
    return [new ShapedArray(cases[0].shape, cases[0].dtype, cases.every((c) => c.weakType))];
  },
  {
    fullBroadcast: true,
    jvp: ([w, ...cases], [, ...ts]) => {
      const ans = bind1(selectN, [w, ...cases]);
      if (ts.every((t) => t === null) || !ans.dtype.isFloat) return [[ans], [null]];
      return [[ans], [bind1(selectN, [w, ...ts.map((t, i) => t ?? o.zerosLike(cases[i]))])]];
    },
    transpose: ([ct], [w, ...cases]) => {
      if (isUndef(w)) throw new DTypeError("select_n: transpose with respect to the predicate (not linear), got an unknown predicate");
      if (!ct) return [null, ...cases.map(() => null)];
      const zero = o.zerosLike(ct);
      return [null, ...cases.map((c, i) => (isUndef(c) ? bind1(selectN, [w, ...cases.map((_, k) => (k === i ? ct : zero))]) : null))];
    },
  },
);

/** clamp(lo, x, hi) = min(max(x, lo), hi); lo and hi are scalars or x's shape. */
export const clamp: Primitive<{}> = defineElementwise<{}>(
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
  {
    fullBroadcast: true,
    // d clamp(lo, x, hi) = dx where lo < x < hi, d lo where x < lo, d hi where x > hi (JAX's rule).
    jvp: ([lo, x, hi], [tlo, tx, thi]) => {
      const ans = bind1(clamp, [lo, x, hi]);
      if (!ans.dtype.isFloat) return [[ans], [null]];
      const s = ans.shape;
      const z = o.zerosLike(ans);
      const b = (v: NDArray) => o.broadcastTo(v, s);
      const t = o.add(
        o.add(tx ? o.select(o.and(o.gt(x, b(lo)), o.lt(x, b(hi))), b(tx), z) : z, tlo ? o.select(o.lt(x, b(lo)), b(tlo), z) : z),
        thi ? o.select(o.lt(b(hi), x), b(thi), z) : z,
      );
      return [[ans], [tx || tlo || thi ? t : null]];
    },
  },
);

