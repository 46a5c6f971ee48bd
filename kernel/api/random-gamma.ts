// jax.random's rejection samplers and what is built on them: gamma and loggamma (Marsaglia and
// Tsang), beta, dirichlet, chisquare, t, and poisson (Knuth below lambda = 10, Hoermann's
// transformed rejection above), with JAX's loop structure (jax/_src/random/core.py).
//
// The rejection loops are while_p loops (JAX's lax.while_loop), so every sampler here traces:
// jit, vmap, makeJaxpr. gamma is JAX's `random_gamma` primitive: its impl splits the key once per
// element (split(key, size)) and runs `_gamma_one` (one key, one scalar alpha, two nested while
// loops) vmapped over the flattened keys and alphas, so the loops are batched by the while
// batching rule (run while any element is going, keeping each finished element's state). Its
// batching rule moves the batch axes to the front and binds it again (the impl handles batched
// keys), and its jvp is JAX's implicit reparameterisation: d sample / d alpha from the
// derivative of the regularised incomplete gamma function (`randomGammaGrad` below, after
// jax/_src/lax/special.py random_gamma_grad), so grad with respect to alpha works.
// poisson runs Knuth's and the rejection loop on the whole array and selects by rate, as JAX.

import { ShapedArray } from "../core/aval";
import { DType, DTypeLike, finfoOrIinfo, float32, int32, toDType, uint32 } from "../core/dtype";
import { DTypeError, PrimalError, ShapeError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive, definePrimitive } from "../core/primitive";
import { broadcastShapes, checkShape, sizeOf } from "../core/shape";
import { config } from "../core/config";
import { Tracer, bind1 } from "../core/trace";
import { ClosedJaxpr } from "../ir/jaxpr";
import * as E from "../primitives/elementwise";
import { moveBatchAxis } from "../primitives/ops";
import { runJitted } from "../transforms/jit";
import { bindWhile } from "../transforms/loops";
import { traceToJaxpr } from "../transforms/stage";
import { vmapFlat } from "../transforms/vmap";
import { ArrayLike, asArray, astype } from "./convert";
import { full, zerosLike } from "./creation";
import * as lax from "./lax";
import { max, sum } from "./reductions";
import { Args, KeyArg, checkKey, floatDType, readArgs, reshape, splitData, splitN } from "./random-keys";
import { ShapeArg, checkParamShapes, exponentialData, finfo, normalData, uniformData } from "./random-samplers";
import { broadcastTo, divide, exp, isnan, multiply, sqrt, subtract } from "./ufuncs";

// Staged programs are cached by what determines them (avals, dtypes, the threefry mode), so
// that repeated calls do not trace the loops again: JAX compiles these samplers once per
// signature too. (Tracing records each equation's source position, which is not free.)
const jaxprCache = new Map<string, ClosedJaxpr[]>();
function cached(key: string | null, build: () => ClosedJaxpr[]): ClosedJaxpr[] {
  if (key === null) return build();
  const k = `${key}|${config.threefryPartitionable}`;
  let hit = jaxprCache.get(k);
  if (!hit) {
    hit = build();
    if (jaxprCache.size >= 64) jaxprCache.delete(jaxprCache.keys().next().value!);
    jaxprCache.set(k, hit);
  }
  return hit;
}
const sig = (xs: readonly NDArray[]): string => xs.map((x) => x.aval.key()).join(",");

/**
 * lax.while_loop on a flat carry: `cond` and `body` (which get [...consts, ...carry]) are staged
 * on the avals and bound as one while_p. Values they close over become operands too, so
 * enclosing tracers flow through; with a cache key they must close over concrete values only.
 */
function whileLoop(
  cond: (xs: NDArray[]) => NDArray, body: (xs: NDArray[]) => NDArray[], init: NDArray[], consts: NDArray[] = [], cacheKey: string | null = null,
): NDArray[] {
  const avals = [...consts, ...init].map((x) => x.aval);
  const key = cacheKey === null ? null : `while|${cacheKey}|${sig([...consts, ...init])}`;
  const [condJaxpr, bodyJaxpr] = cached(key, () => [traceToJaxpr((...xs) => [cond(xs)], avals), traceToJaxpr((...xs) => body(xs), avals)]);
  return bindWhile(condJaxpr, consts, bodyJaxpr, consts, init);
}

/**
 * `f` vmapped over the leading axis of its (concrete or traced) arguments. On concrete
 * arguments the vmapped program is staged once per signature and run (`runJitted`).
 */
function vmapped(name: string, f: (...xs: NDArray[]) => NDArray, args: NDArray[]): NDArray {
  const n = args[0].shape[0];
  const run = (...xs: NDArray[]) => vmapFlat((...ys) => [f(...ys)], xs, xs.map(() => 0), 0, n);
  if (args.some((x) => x instanceof Tracer)) return run(...args)[0];
  const canonical = args.map((x) => new ShapedArray(x.shape, x.dtype));
  const [jaxpr] = cached(`${name}|${canonical.map((a) => a.key()).join(",")}`, () => [traceToJaxpr(run, canonical)]);
  return runJitted(jaxpr, args)[0];
}

/** JAX's `_any` (special.py) and `.any()`: reduce_or over every axis, a boolean scalar. */
const anyOf = (x: NDArray): NDArray => (x.ndim === 0 ? x : lax.reduceOr(x, x.shape.map((_, i) => i)));

/**
 * JAX's _gamma_one: one key [2] and one scalar alpha. alpha < 1 is boosted to alpha + 1 and
 * corrected with u^(1/alpha) (or, in log space, log(u) / alpha).
 */
function gammaOne(key: NDArray, alpha: NDArray, logSpace: boolean): NDArray {
  const dtype = alpha.dtype;
  const cst = (v: number) => asArray(v, dtype);
  const [zero, one, minusOne, two] = [cst(0), cst(1), cst(-1), cst(2)];
  const boostMask = lax.ge(alpha, 1);
  const a = lax.select(boostMask, alpha, lax.add(alpha, 1));
  const d = lax.sub(a, 1 / 3);
  const c = lax.div(1 / 3, lax.sqrt(d));
  // Reject while U >= 1 - 0.0331 X^2 (X = x^2) and log U >= X/2 + d (1 - V + log V).
  const condFn = ([, X, V, U]: NDArray[]) =>
    lax.bitwiseAnd(
      lax.ge(U, lax.sub(1, lax.mul(0.0331, lax.mul(X, X)))),
      lax.ge(lax.log(U), lax.add(lax.mul(X, 0.5), lax.mul(d, lax.add(lax.sub(1, V), lax.log(V))))),
    );
  // Draw x ~ N(0, 1) until v = 1 + c x > 0.
  const nextKxv = ([k]: NDArray[]) => {
    const [k2, sub] = splitN(k, 2);
    const x = normalData(sub, [], dtype);
    return [k2, x, lax.add(1, lax.mul(x, c))];
  };
  const bodyFn = ([k]: NDArray[]) => {
    const [nextKey, xKey, uKey] = splitN(k, 3);
    const [, x, v] = whileLoop(([, , v]) => lax.le(v, 0), nextKxv, [xKey, zero, minusOne]);
    return [nextKey, lax.mul(x, x), lax.mul(lax.mul(v, v), v), uniformData(uKey, [], dtype)];
  };
  // The initial state (X, V, U) = (0, 1, 2) makes the condition true.
  const [k1, subkey] = splitN(key, 2);
  const [, , V] = whileLoop(condFn, bodyFn, [k1, zero, one, two]);
  if (logSpace) {
    const logSamples = lax.neg(exponentialData(subkey, [], dtype));
    const logBoost = lax.select(lax.bitwiseOr(boostMask, lax.eq(logSamples, 0)), zero, lax.mul(logSamples, lax.div(1, alpha)));
    return lax.add(lax.add(lax.log(d), lax.log(V)), logBoost);
  }
  const samples = lax.sub(1, uniformData(subkey, [], dtype));
  const boost = lax.select(boostMask, one, lax.pow(samples, lax.div(1, alpha)));
  return lax.mul(lax.mul(d, V), boost);
}

/**
 * JAX's _gamma_impl: key data [...K, 2] and alphas [...K, ...S]; every key is split into
 * size(S) keys, and _gamma_one is vmapped over the flattened keys and alphas.
 */
function gammaImpl(key: NDArray, a: NDArray, logSpace: boolean): NDArray {
  const n = a.size;
  if (n === 0) return full(a.shape, 0, { dtype: a.dtype });
  const K = key.shape.slice(0, -1);
  const keys = reshape(splitData(reshape(key, [sizeOf(K), 2]), [sizeOf(a.shape.slice(K.length))]), [n, 2]);
  return reshape(vmapped(`gamma_one|${logSpace}`, (k, al) => gammaOne(k, al, logSpace), [keys, reshape(a, [n])]), a.shape);
}

// ---- the derivative of gamma samples w.r.t. alpha (jax/_src/lax/special.py) ----

/** full_like(x, v): a constant (a literal when traced) for scalars. */
const fill = (x: NDArray, v: number): NDArray => (x.ndim === 0 ? asArray(v, x.dtype) : full(x.shape, v, { dtype: x.dtype }));

/**
 * JAX's _igamma_series in SAMPLE_DERIVATIVE mode: the series of the regularised lower
 * incomplete gamma P(a, x) and its derivative in a, for x <= 1 or x <= a.
 */
function igammaSeries(x: NDArray, a: NDArray, enabled: NDArray, eps: number): NDArray {
  const like = (v: number) => fill(a, v);
  const body = ([en, r0, c0, ans0, x0, dc0, dans0]: NDArray[]) => {
    const r = lax.add(r0, 1);
    const dcDa = lax.sub(lax.mul(dc0, lax.div(x0, r)), lax.div(lax.mul(c0, x0), lax.mul(r, r)));
    const dansDa = lax.add(dans0, dcDa);
    const c = lax.mul(c0, lax.div(x0, r));
    const ans = lax.add(ans0, c);
    const conditional = lax.bitwiseAnd(en, lax.gt(lax.abs(lax.div(dcDa, dansDa)), eps));
    const keep = (nw: NDArray, old: NDArray) => lax.select(en, nw, old);
    return [conditional, keep(r, r0), keep(c, c0), keep(ans, ans0), keep(x0, x0), keep(dcDa, dc0), keep(dansDa, dans0)];
  };
  const vals = whileLoop(([en]) => anyOf(en), body, [enabled, a, like(1), like(1), x, like(0), like(0)]);
  const [ans, dansDa] = [vals[3], vals[6]];
  const dlogaxDa = lax.sub(lax.log(x), bind1(E.digamma, [lax.add(a, 1)]));
  return lax.div(lax.mul(lax.neg(lax.add(dansDa, lax.mul(ans, dlogaxDa))), x), a);
}

/**
 * JAX's _igammac_continued_fraction in SAMPLE_DERIVATIVE mode: the continued fraction of the
 * upper incomplete gamma Q(a, x) and its derivative in a (at most 2000 terms), for x > 1, x > a.
 */
function igammacContinuedFraction(x: NDArray, a: NDArray, enabled: NDArray, eps: number): NDArray {
  const like = (v: number) => fill(x, v);
  const y = lax.sub(1, a);
  const z = lax.add(lax.add(x, y), 1);
  const qkm1 = lax.mul(z, x);
  const ans = lax.div(lax.add(x, 1), qkm1);
  const dqkm1Da = lax.neg(x);
  const dansDa = lax.div(lax.sub(like(0), lax.mul(ans, dqkm1Da)), qkm1);
  // c (the term counter) is a scalar, as JAX's _const(x, 0).
  const init = [enabled, ans, like(1), y, z, asArray(0, x.dtype), lax.add(x, 1), qkm1, like(1), x, like(0), like(0), like(0), dqkm1Da, dansDa];
  const body = (vals: NDArray[]) => {
    const [en, ans0, , y0, z0, c0, pkm1, qkm1, pkm2, qkm2, dpkm2Da, dqkm2Da, dpkm1Da, dqkm1Da, dans0] = vals;
    const c = lax.add(c0, 1);
    const yy = lax.add(y0, 1);
    const zz = lax.add(z0, 2);
    const yc = lax.mul(yy, c);
    const pk = lax.sub(lax.mul(pkm1, zz), lax.mul(pkm2, yc));
    const qk = lax.sub(lax.mul(qkm1, zz), lax.mul(qkm2, yc));
    const nz = lax.ne(qk, 0);
    const r = lax.div(pk, qk);
    const t = lax.select(nz, lax.abs(lax.div(lax.sub(ans0, r), r)), like(1));
    const ans = lax.select(nz, r, ans0);
    const dpkDa = lax.add(lax.sub(lax.sub(lax.mul(dpkm1Da, zz), pkm1), lax.mul(dpkm2Da, yc)), lax.mul(pkm2, c));
    const dqkDa = lax.add(lax.sub(lax.sub(lax.mul(dqkm1Da, zz), qkm1), lax.mul(dqkm2Da, yc)), lax.mul(qkm2, c));
    const dansNew = lax.select(nz, lax.div(lax.sub(dpkDa, lax.mul(ans, dqkDa)), qk), dans0);
    const gradConditional = lax.select(nz, lax.abs(lax.sub(dansNew, dans0)), like(1));
    const rescale = lax.gt(lax.abs(pk), 1 / eps);
    const scaled = (v: NDArray) => lax.select(rescale, lax.mul(v, eps), v);
    const next = [scaled(pkm1), scaled(qkm1), scaled(pk), scaled(qk)]; // pkm2, qkm2, pkm1, qkm1
    const nextD = [scaled(dpkm1Da), scaled(dqkm1Da), scaled(dpkDa), scaled(dqkDa)]; // dpkm2, dqkm2, dpkm1, dqkm1
    const keep = (nw: NDArray, old: NDArray) => lax.select(en, nw, old);
    const conditional = lax.bitwiseAnd(en, lax.gt(gradConditional, eps));
    return [
      conditional, keep(ans, ans0), keep(t, vals[2]), keep(yy, y0), keep(zz, z0), c,
      keep(next[2], pkm1), keep(next[3], qkm1), keep(next[0], pkm2), keep(next[1], qkm2),
      keep(nextD[0], dpkm2Da), keep(nextD[1], dqkm2Da), keep(nextD[2], dpkm1Da), keep(nextD[3], dqkm1Da), keep(dansNew, dans0),
    ];
  };
  const vals = whileLoop(([en, , , , , c]) => lax.bitwiseAnd(lax.lt(c, 2000), anyOf(en)), body, init);
  const dlogaxDa = lax.sub(lax.log(x), bind1(E.digamma, [a]));
  return lax.neg(lax.mul(lax.add(vals[14], lax.mul(vals[1], dlogaxDa)), x));
}

/**
 * JAX's lax.random_gamma_grad(a, x): d x / d a for a Gamma(a, 1) sample x, by implicit
 * differentiation of P(a, x) = u: -(dP/da) / (dP/dx). float16/bfloat16 compute in float32.
 */
export function randomGammaGrad(a: NDArray, x: NDArray): NDArray {
  const shape = broadcastShapes("random_gamma_grad", a.shape, x.shape);
  const orig = a.dtype;
  const up = orig.name === "float16" || orig.name === "bfloat16";
  const prep = (v: NDArray) => {
    const same = v.ndim === shape.length && v.shape.every((d, i) => d === shape[i]);
    const b = same ? v : lax.broadcastInDim(v, shape, v.shape.map((_, i) => i + shape.length - v.ndim));
    return up ? lax.convertElementType(b, float32) : b;
  };
  [a, x] = [prep(a), prep(x)];
  const { eps } = finfo(a.dtype);
  const isNan = lax.bitwiseOr(lax.ne(a, a), lax.ne(x, x));
  const xIsZero = lax.eq(x, 0);
  const domainError = lax.bitwiseOr(lax.lt(x, 0), lax.le(a, 0));
  const useIgammac = lax.bitwiseAnd(lax.gt(x, 1), lax.gt(x, a));
  const ax = lax.sub(lax.sub(lax.mul(a, lax.log(x)), x), lax.lgamma(a));
  const underflow = lax.lt(ax, -Math.fround(Math.log(finfoOrIinfo(a.dtype).max)));
  const enabled = lax.bitwiseNot(lax.bitwiseOr(lax.bitwiseOr(lax.bitwiseOr(xIsZero, domainError), underflow), isNan));
  let out = lax.select(
    useIgammac,
    lax.neg(igammacContinuedFraction(x, a, lax.bitwiseAnd(enabled, useIgammac), eps)),
    igammaSeries(x, a, lax.bitwiseAnd(enabled, lax.bitwiseNot(useIgammac)), eps),
  );
  out = lax.select(xIsZero, fill(out, 0), out);
  out = lax.select(lax.bitwiseOr(domainError, isNan), fill(a, NaN), out);
  return up ? lax.convertElementType(out, orig) : out;
}

/** JAX's _gamma_grad: random_gamma_grad per element (vmapped); in log space divided by the sample. */
function gammaGrad(sample: NDArray, a: NDArray, logSpace: boolean): NDArray {
  const n = a.size;
  if (n === 0) return zerosLike(a);
  let samples = reshape(sample, [n]);
  const alphas = reshape(a, [n]);
  if (logSpace) {
    // d log(x) = dx / x; exp(log x) may round to zero, then the smallest normal stands in.
    samples = lax.exp(samples);
    samples = lax.select(lax.eq(samples, 0), full([n], finfo(samples.dtype).tiny, { dtype: samples.dtype }), samples);
  }
  const one = (al: NDArray, s: NDArray) => (logSpace ? lax.div(randomGammaGrad(al, s), s) : randomGammaGrad(al, s));
  return reshape(vmapped(`gamma_grad|${logSpace}`, one, [alphas, samples]), a.shape);
}

// ---- the random_gamma primitive ----

interface GammaParams {
  log_space: boolean;
}

/**
 * JAX's random_gamma_p: `random_gamma[log_space] key a` with key data [...K, 2] (uint32) and
 * float alphas [...K, ...S]; the result has a's type.
 */
export const randomGammaP: Primitive<GammaParams> = definePrimitive<GammaParams>({
  name: "random_gamma",
  abstractEval([key, a]) {
    if (key.dtype !== uint32 || key.ndim < 1 || key.shape[key.ndim - 1] !== 2)
      throw new DTypeError(`random_gamma: the key must be key data uint32[..., 2], got ${key.str()}`);
    if (!a.dtype.isFloat) throw new DTypeError(`random_gamma: a must be a float array, got ${a.str()}`);
    const K = key.shape.slice(0, -1);
    if (K.length > a.ndim || K.some((n, i) => n !== a.shape[i]))
      throw new ShapeError(`random_gamma: the key's batch shape must lead a's shape, got keys ${key.str()} and a ${a.str()}`);
    return [new ShapedArray(a.shape, a.dtype)];
  },
  cpu: () => {
    throw new PrimalError("random_gamma: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl: ([key, a], p) => [gammaImpl(key, a, p.log_space)],
  // ad.defjvp2: tangent * _gamma_grad(ans, a); the key gets no tangent.
  jvp([key, a], [, ta], p) {
    const ans = bind1(randomGammaP, [key, a], p);
    return [[ans], [ta === null ? null : lax.mul(ta, gammaGrad(ans, a, p.log_space))]];
  },
  // _gamma_batching_rule: both batch axes to the front (an unbatched operand is broadcast).
  batch([key, a], [kd, ad], p, size) {
    return [[bind1(randomGammaP, [moveBatchAxis(key, kd, 0, size), moveBatchAxis(a, ad, 0, size)], p)], [0]];
  },
});

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
  // JAX's _gamma: convert_element_type (a strongly typed operand), broadcast, random_gamma_p.
  const strong = a.weakType ? lax.convertElementType(a, dtype) : a;
  return bind1(randomGammaP, [kd, broadcastTo(strong, shape)], { log_space: logSpace });
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

/** The loop counter's bound `i < max_iters`, compared in the result dtype as JAX's promotion does. */
function belowCap(i: NDArray, dtype: DType, maxIters: number): NDArray {
  return lax.lt(dtype === int32 ? i : lax.convertElementType(i, dtype), asArray(maxIters, dtype));
}

/** JAX's _poisson_knuth: count uniforms until their product drops below exp(-lam); one key per round for the whole array. */
function poissonKnuth(kd: NDArray, lam: NDArray, dtype: DType, maxIters: number): NDArray {
  const shape = lam.shape;
  // The loop functions get lam as an operand (not a closure), so their jaxprs can be cached.
  const body = ([lm, i, k, rng, logProd]: NDArray[]) => {
    const [next, sub] = splitN(rng, 2);
    const kk = lax.select(lax.gt(logProd, lax.neg(lm)), lax.add(k, 1), k);
    const u = uniformData(sub, shape, float32);
    return [lax.add(i, 1), kk, next, lax.add(logProd, lax.log(u))];
  };
  const cond = ([lm, i, , , logProd]: NDArray[]) => lax.bitwiseAnd(anyOf(lax.gt(logProd, lax.neg(lm))), belowCap(i, dtype, maxIters));
  const init = [asArray(0, int32), full(shape, 0, { dtype }), kd, full(shape, 0, { dtype: float32 })];
  const [, k] = whileLoop(cond, body, init, [lam], `poisson_knuth|${dtype.name}|${maxIters}`);
  return astype(lax.sub(k, 1), dtype);
}

/** JAX's _poisson_rejection: Hoermann's transformed rejection (PTRS), for lam >= 10. */
function poissonRejection(kd: NDArray, lam: NDArray, dtype: DType, maxIters: number): NDArray {
  const shape = lam.shape;
  const logLam = lax.log(lam);
  const b = lax.add(0.931, lax.mul(2.53, lax.sqrt(lam)));
  const a = lax.add(-0.059, lax.mul(0.02483, b));
  const invAlpha = lax.add(1.1239, lax.div(1.1328, lax.sub(b, 3.4)));
  const vR = lax.sub(0.9277, lax.div(3.6224, lax.sub(b, 2)));
  const body = ([lm, logLm, bb, aa, inv, vr, i, kOut, accepted, key]: NDArray[]) => {
    const [next, k0, k1] = splitN(key, 3);
    const u = lax.sub(uniformData(k0, shape, float32), 0.5);
    const v = uniformData(k1, shape, float32);
    const us = lax.sub(0.5, lax.abs(u));
    const k = lax.floor(lax.add(lax.add(lax.mul(lax.add(lax.div(lax.mul(2, aa), us), bb), u), lm), 0.43));
    const s = lax.log(lax.div(lax.mul(v, inv), lax.add(lax.div(aa, lax.mul(us, us)), bb)));
    const tt = lax.sub(lax.add(lax.neg(lm), lax.mul(k, logLm)), lax.lgamma(lax.add(k, 1)));
    const accept1 = lax.bitwiseAnd(lax.ge(us, 0.07), lax.le(v, vr));
    const reject = lax.bitwiseOr(lax.lt(k, 0), lax.bitwiseAnd(lax.lt(us, 0.013), lax.gt(v, us)));
    const accept = lax.bitwiseOr(accept1, lax.bitwiseAnd(lax.bitwiseNot(reject), lax.le(s, tt)));
    return [lax.add(i, 1), lax.select(accept, k, kOut), lax.bitwiseOr(accepted, accept), next];
  };
  const cond = (xs: NDArray[]) => lax.bitwiseAnd(anyOf(lax.bitwiseNot(xs[8])), belowCap(xs[6], dtype, maxIters));
  const init = [asArray(0, int32), full(shape, -1, { dtype: float32 }), full(shape, false), kd];
  const [, kOut] = whileLoop(cond, body, init, [lam, logLam, b, a, invAlpha, vR], `poisson_rejection|${dtype.name}|${maxIters}`);
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
