// Whole-array comparisons: isclose, allclose, arrayEqual, arrayEquiv. Built from primitives,
// so they trace; allclose/arrayEqual return 0-d bool arrays, as jnp does.

import { ShapeError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { OptionSpec, broadcastShapes, checkOptions } from "../core/shape";
import { ArrayLike, alignRanks, asArray, promoteArgs, promoteArgsInexact, weakScalar } from "./convert";
import * as lax from "./lax";
import { broadcastTo } from "./ufuncs";

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
export function isclose(a: ArrayLike, b: ArrayLike, opts?: IscloseOptions): NDArray {
  return iscloseAs("isclose", a, b, opts);
}

const ISCLOSE_SPEC: OptionSpec = { rtol: "number", atol: "number", equalNan: "boolean" };

/** isclose, with `op` naming the public function in errors (isclose or allclose). */
function iscloseAs(op: string, a: ArrayLike, b: ArrayLike, opts: unknown): NDArray {
  const o = checkOptions<IscloseOptions>(op, opts, ISCLOSE_SPEC);
  const rtol = o.rtol ?? 1e-5, atol = o.atol ?? 1e-8, equalNan = o.equalNan ?? false;
  const [x, y] = promoteArgsInexact(op, a, b);
  const [p, q] = alignRanks(op, [x, y]);
  const d = p.dtype;
  const tol = lax.add(weakScalar(atol, d), lax.mul(weakScalar(rtol, d), lax.abs(q)));
  const inRange = lax.le(lax.abs(lax.sub(p, q)), tol);
  let r = lax.or(lax.eq(p, q), lax.and(lax.isFinite(q), inRange));
  if (equalNan) r = lax.or(r, lax.and(lax.ne(p, p), lax.ne(q, q)));
  return r;
}

/** True when every element is close (isclose), as a 0-d bool array. */
export function allclose(a: ArrayLike, b: ArrayLike, opts?: IscloseOptions): NDArray {
  const c = iscloseAs("allclose", a, b, opts);
  return lax.reduceAnd(c, c.shape.map((_, i) => i));
}

/** True when shapes match and every element is equal (NaN != NaN unless equalNan). */
export function arrayEqual(a: ArrayLike, b: ArrayLike, options?: { equalNan?: boolean }): NDArray {
  const opts = checkOptions<{ equalNan?: boolean }>("array_equal", options, { equalNan: "boolean" });
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
  let shape: number[];
  try {
    shape = broadcastShapes("array_equiv", x.shape, y.shape);
  } catch (e) {
    if (e instanceof ShapeError) return asArray(false);
    throw e;
  }
  const eq = lax.eq(broadcastTo(x, shape), broadcastTo(y, shape));
  return lax.reduceAnd(eq, eq.shape.map((_, i) => i));
}
