// Whole-array comparisons: isclose, allclose, arrayEqual, arrayEquiv. Built from primitives,
// so they trace; allclose/arrayEqual return 0-d bool arrays, as jnp does.

import { NDArray } from "../core/ndarray";
import { broadcastShapes } from "../core/shape";
import { ArrayLike, asArray, promoteArgs, promoteArgsInexact, weakScalar } from "./convert";
import * as lax from "./lax";
import { alignRanks, broadcastTo } from "./ufuncs";

export interface IscloseOptions {
  rtol?: number;
  atol?: number;
  equalNan?: boolean;
}

/**
 * jnp.isclose: (a == b) | (isfinite(b) & |a - b| <= atol + rtol * |b|), computed in the promoted
 * inexact dtype (integers and bools are compared as float32, as JAX does), so an infinity is close
 * only to the same infinity and NaN to nothing unless `equalNan`.
 */
export function isclose(a: ArrayLike, b: ArrayLike, opts: IscloseOptions = {}): NDArray {
  const { rtol = 1e-5, atol = 1e-8, equalNan = false } = opts;
  const [x, y] = promoteArgsInexact("isclose", a, b);
  const [p, q] = alignRanks("isclose", [x, y]);
  const d = p.dtype;
  const tol = lax.add(weakScalar(atol, d), lax.mul(weakScalar(rtol, d), lax.abs(q)));
  const inRange = lax.le(lax.abs(lax.sub(p, q)), tol);
  let r = lax.or(lax.eq(p, q), lax.and(lax.isFinite(q), inRange));
  if (equalNan) r = lax.or(r, lax.and(lax.ne(p, p), lax.ne(q, q)));
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
