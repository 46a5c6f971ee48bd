// jax.random's rejection samplers and what is built on them: gamma and loggamma (Marsaglia and
// Tsang), beta, dirichlet, chisquare, t, and poisson (Knuth below lambda = 10, Hoermann's
// transformed rejection above), with JAX's loop structure (jax/_src/random/core.py).
//
// JAX runs these loops with lax.while_loop. Primal has no whileLoop yet, so the loops here run
// eagerly: each iteration is computed with primitives on whole arrays, and only the loop's
// condition is read back as a JS boolean (`loopContinues`, marked at each place that becomes a
// lax.whileLoop in the transformations issue). Under a tracer that read throws the
// concretization error, so these samplers do not trace yet; everything else in jax.random does.
//
// gamma samples every element with its own key (split(key, size)) and runs all of them at once,
// which is exactly what JAX's vmap of _gamma_one over those keys computes: a batched while loop
// runs the body for every element while any is still going, and keeps each element's state
// once its own condition is false. The key helpers take key data [...B, 2] for this (B = [N]).

import { DType, DTypeLike, finfoOrIinfo, float32, int32, toDType } from "../core/dtype";
import { DTypeError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { broadcastShapes, checkShape } from "../core/shape";
import { bind1 } from "../core/trace";
import * as E from "../primitives/elementwise";
import { ArrayLike, asArray, astype } from "./convert";
import { full, zerosLike } from "./creation";
import * as lax from "./lax";
import { any, max, sum } from "./reductions";
import { Args, KeyArg, checkKey, floatDType, readArgs, splitData, splitN } from "./random-keys";
import { ShapeArg, checkParamShapes, exponentialData, normalData, uniformData } from "./random-samplers";
import { broadcastTo, divide, exp, isnan, multiply, sqrt, subtract } from "./ufuncs";

/**
 * The condition of an eager rejection loop, read back to JS. TRANSFORMATIONS: every call site is
 * a lax.while_loop in JAX and becomes lax.whileLoop here (the loop state is the tuple of arrays
 * the surrounding code updates with select).
 */
function loopContinues(op: string, cond: NDArray): boolean {
  return Boolean(any(cond)._concrete(op).item());
}

/** Selects whole keys [N, 2] with a per-element mask [N]. */
function selectKeys(mask: NDArray, onTrue: NDArray, onFalse: NDArray): NDArray {
  return lax.select(lax.broadcastInDim(mask, [...onTrue.shape], [0]), onTrue, onFalse);
}

/**
 * JAX's _gamma_one for N keys [N, 2] and shapes alpha [N] at once. alpha < 1 is boosted to
 * alpha + 1 and corrected with u^(1/alpha) (or, in log space, log(u) / alpha).
 */
function gammaOne(keys: NDArray, alpha: NDArray, logSpace: boolean): NDArray {
  const dtype = alpha.dtype;
  const filled = (v: number) => full(alpha.shape, v, { dtype });
  const boostMask = lax.ge(alpha, 1);
  const a = lax.select(boostMask, alpha, lax.add(alpha, 1));
  const d = lax.sub(a, 1 / 3);
  const c = lax.div(1 / 3, lax.sqrt(d));
  let [key, subkey] = splitN(keys, 2);
  // The initial state (X, V, U) = (0, 1, 2) makes the condition true for every element.
  let X = filled(0);
  let V = filled(1);
  let U = filled(2);
  for (;;) {
    // Reject while U >= 1 - 0.0331 X^2 (X = x^2) and log U >= X/2 + d (1 - V + log V).
    const cond = lax.bitwiseAnd(
      lax.ge(U, lax.sub(1, lax.mul(0.0331, lax.mul(X, X)))),
      lax.ge(lax.log(U), lax.add(lax.mul(X, 0.5), lax.mul(d, lax.add(lax.sub(1, V), lax.log(V))))),
    );
    if (!loopContinues("gamma", cond)) break; // TRANSFORMATIONS: lax.whileLoop(cond, body, (key, X, V, U))
    const [nextKey, xKey, uKey] = splitN(key, 3);
    // Draw x ~ N(0, 1) until v = 1 + c x > 0.
    let kx = xKey;
    let x = filled(0);
    let v = filled(-1);
    for (;;) {
      const again = lax.le(v, 0);
      if (!loopContinues("gamma", again)) break; // TRANSFORMATIONS: lax.whileLoop(v <= 0, ..., (key, x, v))
      const [k2, sub] = splitN(kx, 2);
      const xn = normalData(sub, [], dtype);
      kx = selectKeys(again, k2, kx);
      x = lax.select(again, xn, x);
      v = lax.select(again, lax.add(1, lax.mul(xn, c)), v);
    }
    key = selectKeys(cond, nextKey, key);
    X = lax.select(cond, lax.mul(x, x), X);
    V = lax.select(cond, lax.mul(lax.mul(v, v), v), V);
    U = lax.select(cond, uniformData(uKey, [], dtype), U);
  }
  if (logSpace) {
    const logSamples = lax.neg(exponentialData(subkey, [], dtype));
    const logBoost = lax.select(lax.bitwiseOr(boostMask, lax.eq(logSamples, 0)), filled(0), lax.mul(logSamples, lax.div(1, alpha)));
    return lax.add(lax.add(lax.log(d), lax.log(V)), logBoost);
  }
  const samples = lax.sub(1, uniformData(subkey, [], dtype));
  const boost = lax.select(boostMask, filled(1), lax.pow(samples, lax.div(1, alpha)));
  return lax.mul(lax.mul(d, V), boost);
}

/** JAX's random_gamma_p: one key per element (split(key, size)), then _gamma_one on each. */
function gammaImpl(kd: NDArray, a: NDArray, logSpace: boolean): NDArray {
  const n = a.size;
  if (n === 0) return a;
  const keys = lax.reshape(splitData(kd, [n]), [n, 2]);
  return lax.reshape(gammaOne(keys, lax.reshape(a, [n]), logSpace), a.shape);
}

/** Options of gamma and loggamma. */
export interface GammaOptions {
  a?: ArrayLike;
  shape?: ShapeArg | null;
  dtype?: DTypeLike | null;
}
type GammaArgs = Args<[ArrayLike, ShapeArg | null, DTypeLike | null], GammaOptions>;

function gammaEntry(name: string, key: KeyArg, args: GammaArgs, logSpace: boolean): NDArray {
  const k = checkKey(name, key);
  const o = readArgs(name, args, ["a", "shape", "dtype"]);
  // JAX's loggamma reports its dtype error as `gamma`'s.
  const dtype = floatDType("gamma", o.dtype);
  return gammaData(k.data, o.a, o.shape, dtype, logSpace, name);
}

function gammaData(kd: NDArray, aArg: unknown, shapeArg: unknown, dtype: DType, logSpace: boolean, op: string): NDArray {
  const a = asArray(aArg as ArrayLike, dtype, op);
  const shape = shapeArg === undefined || shapeArg === null ? a.shape : checkShape(op, shapeArg);
  checkParamShapes("gamma", shape, a.shape);
  return gammaImpl(kd, broadcastTo(a, shape), logSpace);
}

/** Gamma(a, 1) floats (Marsaglia-Tsang): `gamma(key, 2.5, [100])`. */
export function gamma(key: KeyArg, ...args: GammaArgs): NDArray {
  return gammaEntry("gamma", key, args, false);
}
/** log of Gamma(a, 1) samples, computed in log space (accurate for small a). */
export function loggamma(key: KeyArg, ...args: GammaArgs): NDArray {
  return gammaEntry("loggamma", key, args, true);
}

/** JAX's _check_broadcast_shapes: the given shape (checked) or the parameters' broadcast shape. */
function paramShape(op: string, shapeArg: unknown, ...params: NDArray[]): number[] {
  if (shapeArg === undefined || shapeArg === null) return broadcastShapes(op, ...params.map((p) => p.shape));
  const shape = checkShape(op, shapeArg);
  checkParamShapes(op, shape, ...params.map((p) => p.shape));
  return shape;
}

/** Options of beta. */
export interface BetaOptions {
  a?: ArrayLike;
  b?: ArrayLike;
  shape?: ShapeArg | null;
  dtype?: DTypeLike | null;
}
/** Beta(a, b): Ga / (Ga + Gb) from two log-gamma draws, scaled by their maximum first. */
export function beta(key: KeyArg, ...args: Args<[ArrayLike, ArrayLike, ShapeArg | null, DTypeLike | null], BetaOptions>): NDArray {
  const k = checkKey("beta", key);
  const o = readArgs("beta", args, ["a", "b", "shape", "dtype"]);
  const dtype = floatDType("beta", o.dtype);
  const a = asArray(o.a as ArrayLike, dtype, "beta");
  const b = asArray(o.b as ArrayLike, dtype, "beta");
  const shape = paramShape("beta", o.shape, a, b);
  const [ka, kb] = splitN(k.data, 2);
  const logGa = gammaData(ka, broadcastTo(a, shape), shape, dtype, true, "beta");
  const logGb = gammaData(kb, broadcastTo(b, shape), shape, dtype, true, "beta");
  const logMax = lax.max(logGa, logGb);
  const ga = lax.exp(lax.sub(logGa, logMax));
  const gb = lax.exp(lax.sub(logGb, logMax));
  return lax.div(ga, lax.add(ga, gb));
}

/** Options of dirichlet. */
export interface DirichletOptions {
  alpha?: ArrayLike;
  shape?: ShapeArg | null;
  dtype?: DTypeLike | null;
}
/** Dirichlet(alpha) over the last axis of alpha: softmax of log-gamma draws. Shape: shape + [n]. */
export function dirichlet(key: KeyArg, ...args: Args<[ArrayLike, ShapeArg | null, DTypeLike | null], DirichletOptions>): NDArray {
  const k = checkKey("dirichlet", key);
  const o = readArgs("dirichlet", args, ["alpha", "shape", "dtype"]);
  const dtype = floatDType("dirichlet", o.dtype);
  const alpha = asArray(o.alpha as ArrayLike, dtype, "dirichlet");
  if (alpha.ndim < 1) throw new ValueError(`dirichlet requires alpha.ndim >= 1, got alpha.ndim == ${alpha.ndim}`);
  const batch = alpha.shape.slice(0, -1);
  const shape = o.shape === undefined || o.shape === null ? batch : checkShape("dirichlet", o.shape);
  checkParamShapes("dirichlet", shape, batch);
  const logG = gammaData(k.data, alpha, [...shape, alpha.shape[alpha.ndim - 1]], dtype, true, "dirichlet");
  // jax.nn.softmax(log_g, -1): exp(x - stop_gradient(max)) / sum.
  const m = bind1(E.stopGradient, [max(logG, { axis: -1, keepdims: true })]);
  const unnormalized = exp(subtract(logG, m));
  return divide(unnormalized, sum(unnormalized, { axis: -1, keepdims: true }));
}

/** Options of chisquare, t. */
export interface DfOptions {
  df?: ArrayLike;
  shape?: ShapeArg | null;
  dtype?: DTypeLike | null;
}
type DfArgs = Args<[ArrayLike, ShapeArg | null, DTypeLike | null], DfOptions>;

/** Chi-square(df): 2 exp(loggamma(df / 2)). */
export function chisquare(key: KeyArg, ...args: DfArgs): NDArray {
  const k = checkKey("chisquare", key);
  const o = readArgs("chisquare", args, ["df", "shape", "dtype"]);
  const dtype = floatDType("chisquare", o.dtype);
  const df = asArray(o.df as ArrayLike, dtype, "chisquare");
  const shape = paramShape("chisquare", o.shape, df);
  const logG = gammaData(k.data, lax.div(df, 2), shape, dtype, true, "chisquare");
  return lax.mul(exp(logG), 2);
}

/** Student's t(df): n * sqrt((df / 2) / g) with n normal and g ~ Gamma(df / 2). */
export function t(key: KeyArg, ...args: DfArgs): NDArray {
  const k = checkKey("t", key);
  const o = readArgs("t", args, ["df", "shape", "dtype"]);
  const dtype = floatDType("t", o.dtype);
  const df = asArray(o.df as ArrayLike, dtype, "t");
  const shape = paramShape("t", o.shape, df);
  const [kn, kg] = splitN(k.data, 2);
  const n = normalData(kn, shape, dtype);
  const halfDf = lax.div(df, 2);
  const g = gammaData(kg, halfDf, shape, dtype, false, "t");
  return multiply(n, sqrt(divide(halfDf, g)));
}

// ---- poisson ----

/** Knuth: count uniforms until their product drops below exp(-lam); one key per round for the whole array. */
function poissonKnuth(kd: NDArray, lam: NDArray, dtype: DType, maxIters: number): NDArray {
  let k = full(lam.shape, 0, { dtype });
  let logProd = full(lam.shape, 0, { dtype: float32 });
  let rng = kd;
  const negLam = lax.neg(lam);
  for (let i = 0; i < maxIters; i++) {
    const going = lax.gt(logProd, negLam);
    if (!loopContinues("poisson", going)) break; // TRANSFORMATIONS: lax.whileLoop (any(going) & i < maxIters)
    const [next, sub] = splitN(rng, 2);
    rng = next;
    k = lax.select(going, lax.add(k, 1), k);
    logProd = lax.add(logProd, lax.log(uniformData(sub, lam.shape, float32)));
  }
  return astype(lax.sub(k, 1), dtype);
}

/** Hoermann's transformed rejection (PTRS), for lam >= 10. */
function poissonRejection(kd: NDArray, lam: NDArray, dtype: DType, maxIters: number): NDArray {
  const logLam = lax.log(lam);
  const b = lax.add(0.931, lax.mul(2.53, lax.sqrt(lam)));
  const a = lax.add(-0.059, lax.mul(0.02483, b));
  const invAlpha = lax.add(1.1239, lax.div(1.1328, lax.sub(b, 3.4)));
  const vR = lax.sub(0.9277, lax.div(3.6224, lax.sub(b, 2)));
  let kOut = full(lam.shape, -1, { dtype: float32 });
  let accepted = full(lam.shape, false);
  let key = kd;
  for (let i = 0; i < maxIters; i++) {
    if (!loopContinues("poisson", lax.bitwiseNot(accepted))) break; // TRANSFORMATIONS: lax.whileLoop (any(~accepted) & i < maxIters)
    const [next, k0, k1] = splitN(key, 3);
    key = next;
    const u = lax.sub(uniformData(k0, lam.shape, float32), 0.5);
    const v = uniformData(k1, lam.shape, float32);
    const us = lax.sub(0.5, lax.abs(u));
    const k = lax.floor(lax.add(lax.add(lax.mul(lax.add(lax.div(lax.mul(2, a), us), b), u), lam), 0.43));
    const s = lax.log(lax.div(lax.mul(v, invAlpha), lax.add(lax.div(a, lax.mul(us, us)), b)));
    const tt = lax.sub(lax.add(lax.neg(lam), lax.mul(k, logLam)), lax.lgamma(lax.add(k, 1)));
    const accept1 = lax.bitwiseAnd(lax.ge(us, 0.07), lax.le(v, vR));
    const reject = lax.bitwiseOr(lax.lt(k, 0), lax.bitwiseAnd(lax.lt(us, 0.013), lax.gt(v, us)));
    const accept = lax.bitwiseOr(accept1, lax.bitwiseAnd(lax.bitwiseNot(reject), lax.le(s, tt)));
    kOut = lax.select(accept, k, kOut);
    accepted = lax.bitwiseOr(accepted, accept);
  }
  return astype(kOut, dtype);
}

/** Options of poisson. */
export interface PoissonOptions {
  lam?: ArrayLike;
  shape?: ShapeArg | null;
  dtype?: DTypeLike | null;
}
/**
 * Poisson(lam) integers (int32 by default), as JAX/TensorFlow/NumPy: Knuth's product of uniforms
 * for lam < 10 (and NaN), transformed rejection otherwise; lam = 0 gives 0.
 */
export function poisson(key: KeyArg, ...args: Args<[ArrayLike, ShapeArg | null, DTypeLike | null], PoissonOptions>): NDArray {
  const k = checkKey("poisson", key);
  const o = readArgs("poisson", args, ["lam", "shape", "dtype"]);
  const dtype = o.dtype === undefined || o.dtype === null ? int32 : toDType(o.dtype, "poisson");
  if (!dtype.isInt) throw new DTypeError(`poisson: dtype must be an integer dtype, got ${dtype.name}`);
  const lam0 = asArray(o.lam as ArrayLike, float32, "poisson");
  const shape = o.shape === undefined || o.shape === null ? lam0.shape : checkShape("poisson", o.shape);
  const lam = broadcastTo(lam0, shape);
  const useKnuth = lax.bitwiseOr(isnan(lam), lax.lt(lam, 10));
  const lamKnuth = lax.select(useKnuth, lam, zerosLike(lam));
  // The rejection method's acceptance rate peaks near 89% for large lam: 1e5 is a safe stand-in.
  const lamRejection = lax.select(useKnuth, full(shape, 1e5, { dtype: float32 }), lam);
  const maxIters = finfoOrIinfo(dtype).max; // JAX's (insanely conservative) iteration cap
  const result = lax.select(useKnuth, poissonKnuth(k.data, lamKnuth, dtype, maxIters), poissonRejection(k.data, lamRejection, dtype, maxIters));
  return lax.select(lax.eq(lam, 0), zerosLike(result), result);
}
