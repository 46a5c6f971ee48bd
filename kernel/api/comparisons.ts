// Whole-array comparisons: isclose, allclose, arrayEqual, arrayEquiv. Built from primitives,
// so they trace; allclose/arrayEqual return 0-d bool arrays, as jnp does.

import { NDArray } from "../core/ndarray";
import { broadcastShapes } from "../core/shape";
import { ArrayLike, asArray, promoteArgs } from "./convert";
import * as lax from "./lax";
import { alignRanks, broadcastTo } from "./ufuncs";

export interface IscloseOptions {
  rtol?: number;
  atol?: number;
  equalNan?: boolean;
}

/** |a - b| <= atol + rtol * |b| elementwise; infinities must match exactly; NaN equal only with equalNan. */
export function isclose(a: ArrayLike, b: ArrayLike, opts: IscloseOptions = {}): NDArray {
  const { rtol = 1e-5, atol = 1e-8, equalNan = false } = opts;
  const [x, y] = alignRanks("isclose", promoteArgs("isclose", a, b));
  if (!x.dtype.isFloat) return lax.eq(x, y);
  const tol = lax.add(lax.abs(lax.mul(y, rtol)), atol);
  const close = lax.le(lax.abs(lax.sub(x, y)), tol);
  const bothInf = lax.and(lax.eq(lax.abs(x), Infinity), lax.eq(lax.abs(y), Infinity));
  // Infinities are close only to the same infinity (the difference would be NaN or inf).
  let r = lax.select(bothInf, lax.eq(x, y), lax.and(close, lax.and(lax.isFinite(x), lax.isFinite(y))));
  if (equalNan) r = lax.or(r, lax.and(lax.ne(x, x), lax.ne(y, y)));
  return r;
}

/** True when every element is close (isclose), as a 0-d bool array. */
export function allclose(a: ArrayLike, b: ArrayLike, opts: IscloseOptions = {}): NDArray {
  const c = isclose(a, b, opts);
  return lax.reduceAnd(c, c.shape.map((_, i) => i));
}

/** True when shapes match and every element is equal (NaN != NaN unless equalNan). */
export function arrayEqual(a: ArrayLike, b: ArrayLike, opts: { equalNan?: boolean } = {}): NDArray {
  const x = asArray(a, null, "array_equal");
  const y = asArray(b, null, "array_equal");
  if (x.ndim !== y.ndim || x.shape.some((d, i) => d !== y.shape[i])) return asArray(false);
  const [p, q] = promoteArgs("array_equal", x, y);
  let eq = lax.eq(p, q);
  if (opts.equalNan && p.dtype.isFloat) eq = lax.or(eq, lax.and(lax.ne(p, p), lax.ne(q, q)));
  return lax.reduceAnd(eq, eq.shape.map((_, i) => i));
}

/** True when the arrays broadcast together and are equal everywhere. */
export function arrayEquiv(a: ArrayLike, b: ArrayLike): NDArray {
  const [x, y] = promoteArgs("array_equiv", a, b);
  try {
    const shape = broadcastShapes("array_equiv", x.shape, y.shape);
    const eq = lax.eq(broadcastTo(x, shape), broadcastTo(y, shape));
    return lax.reduceAnd(eq, eq.shape.map((_, i) => i));
  } catch {
    return asArray(false);
  }
}
