// float32 transcendental functions (exp, log, tanh, logistic, ...) written once, as a sequence
// of float32 operations over an abstract instruction set (F32Ops), and rendered twice: to a
// JavaScript helper (the elementwise rules' `H.<name>f32`, used by eager kernels and the JS
// code generator) and to WebAssembly, scalar or SIMD (kernel/backends/cpu/codegen-wasm.ts).
// Every F32Ops operation is exactly rounded IEEE float32 arithmetic (JS renders `a * b` as
// `Math.fround(a * b)`, which equals float32 multiplication: float64 has more than twice the
// bits), and no operation is fused, so both renderings compute the same bits.

/**
 * The operations an algorithm may use. F: a float32 value (a scalar, or four lanes in SIMD
 * renderings, where every operation is lane-wise); I: an int32 value; M: a mask (comparison
 * result). Algorithms must be branch-free: data-dependent choices go through `select`.
 */
export interface F32Ops<F, I, M> {
  /** A float32 constant (the number is rounded to float32). */
  f(c: number): F;
  /** An int32 constant. */
  i(c: number): I;
  add(a: F, b: F): F;
  sub(a: F, b: F): F;
  mul(a: F, b: F): F;
  div(a: F, b: F): F;
  neg(a: F): F;
  abs(a: F): F;
  sqrt(a: F): F;
  /** Round toward minus infinity. */
  floor(a: F): F;
  /** Round to nearest, ties to even. */
  nearest(a: F): F;
  /** Ordered comparisons (false when either side is NaN), except `ne` (true for NaN). */
  lt(a: F, b: F): M;
  le(a: F, b: F): M;
  gt(a: F, b: F): M;
  ge(a: F, b: F): M;
  eq(a: F, b: F): M;
  ne(a: F, b: F): M;
  and(a: M, b: M): M;
  or(a: M, b: M): M;
  /** m ? a : b (lane-wise). */
  select(m: M, a: F, b: F): F;
  /** Truncation toward zero; only for values within int32 range (callers clamp first). */
  toInt(a: F): I;
  toFloat(a: I): F;
  /** Reinterpret the bits. */
  bitsOf(a: F): I;
  fromBits(a: I): F;
  iadd(a: I, b: I): I;
  isub(a: I, b: I): I;
  iand(a: I, b: I): I;
  ior(a: I, b: I): I;
  ishl(a: I, n: number): I;
  /** Arithmetic shift right. */
  ishr(a: I, n: number): I;
  /** Logical shift right. */
  ishru(a: I, n: number): I;
}

/** A float32 function of one argument, as an algorithm over F32Ops. */
export type F32Algorithm = <F, I, M>(o: F32Ops<F, I, M>, x: F) => F;

// ---------------------------------------------------------------------------------------------
// Shared pieces. Every helper takes the ops first, so an algorithm is plain function calls over
// F32Ops and renders to straight-line code (helpers are inlined by construction).

/**
 * Estrin's scheme: c[0] + c[1] x + ... + c[d] x^d as pairs (c[2k] + c[2k+1] x) combined with
 * x^2, x^4, ... in a tree. Same number of operations as Horner's rule but a dependency chain of
 * about 2 log2(d) instead of 2d, which is what bounds the speed of the scalar renderings (each
 * float32 operation in JS is a float64 operation plus a rounding, about 10 cycles of latency).
 * `x2` is x * x where the caller has it already.
 */
function poly<F, I, M>(o: F32Ops<F, I, M>, x: F, c: readonly number[], x2?: F): F {
  let terms: F[] = [];
  for (let k = 0; k < c.length; k += 2) terms.push(k + 1 < c.length ? o.add(o.f(c[k]), o.mul(o.f(c[k + 1]), x)) : o.f(c[k]));
  if (terms.length === 1) return terms[0];
  let y = x2 ?? o.mul(x, x);
  for (;;) {
    const next: F[] = [];
    for (let k = 0; k < terms.length; k += 2) next.push(k + 1 < terms.length ? o.add(terms[k], o.mul(terms[k + 1], y)) : terms[k]);
    terms = next;
    if (terms.length === 1) return terms[0];
    y = o.mul(y, y);
  }
}

/** 2^k as a float32, for an int32 k in [-126, 127] (built from the exponent bits). */
function pow2<F, I, M>(o: F32Ops<F, I, M>, k: I): F {
  return o.fromBits(o.ishl(o.iadd(k, o.i(127)), 23));
}

/** x clamped to [lo, hi], with NaN mapped to lo. */
function clampNaNSafe<F, I, M>(o: F32Ops<F, I, M>, x: F, lo: number, hi: number): F {
  // ge/le are false for NaN, so NaN becomes `lo`: the algorithms restore NaN at the end, and no
  // NaN reaches toInt (WebAssembly's scalar i32.trunc_f32_s traps on it).
  const a = o.select(o.ge(x, o.f(lo)), x, o.f(lo));
  return o.select(o.le(a, o.f(hi)), a, o.f(hi));
}

// ln 2 split in two for Cody-Waite range reduction (Cephes): C1 has 9 significant bits, so n * C1
// is exact for |n| < 2^15 and x - n * C1 is exact (Sterbenz); C2 = ln 2 - C1 carries the rest.
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const LOG2E = 1.44269504088896341;

// Cephes expf: exp(r) = 1 + r + r^2 P(r) on |r| <= ln2 / 2, P of degree 5 (Cephes' coefficients;
// Cephes evaluates P by Horner's rule, here by Estrin's scheme: the same accuracy, measured).
const EXP_P = [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4];

/** The pieces of exp(x) = 2^n (1 + q): n (as float and int32) and q = exp(r) - 1. */
interface ExpParts<F, I> {
  n: F;
  k: I;
  q: F;
}

/**
 * Cody-Waite reduction x = n ln2 + r, n = nearest(x / ln2), |r| <= ln2 / 2 (x - n C1 is exact,
 * n C2 rounds once), and q = exp(r) - 1 = r + r^2 P(r). x must be NaN-free and clamped so that
 * n fits the caller's scaling.
 */
function expParts<F, I, M>(o: F32Ops<F, I, M>, x: F): ExpParts<F, I> {
  const n = o.nearest(o.mul(x, o.f(LOG2E)));
  const r = o.sub(o.sub(x, o.mul(n, o.f(LN2_HI))), o.mul(n, o.f(LN2_LO)));
  const r2 = o.mul(r, r);
  const q = o.add(o.mul(poly(o, r, EXP_P, r2), r2), r);
  return { n, k: o.toInt(n), q };
}

/**
 * v 2^k for k in [-159, 128]: two factors 2^(k >> 1) and 2^(k - (k >> 1)), each a normal
 * float32; for v in [1/2, 2] the first product is exact and the second rounds once, so subnormal
 * results are rounded correctly and k = 128 overflows exactly when the true value does.
 */
function scale2<F, I, M>(o: F32Ops<F, I, M>, v: F, k: I): F {
  const k1 = o.ishr(k, 1);
  return o.mul(o.mul(v, pow2(o, k1)), pow2(o, o.isub(k, k1)));
}

/**
 * exp(x) = 2^n (1 + q) (expParts, scale2). x is clamped to [-110, 89] first (exp(-110) rounds
 * to 0, exp(89) overflows), which keeps n in [-159, 128].
 */
export function exp<F, I, M>(o: F32Ops<F, I, M>, x: F): F {
  const { k, q } = expParts(o, clampNaNSafe(o, x, -110, 89));
  const y = scale2(o, o.add(q, o.f(1)), k);
  return o.select(o.ne(x, x), x, y);
}

/**
 * 1 + 2^n (1 + q) as an unevaluated sum dh + dl: dh is the float32 nearest to the value and dl
 * the rest (to well below an ulp of dh), from Fast2Sum of two exact addends:
 *   n in [-23, 23]:  (1 + 2^n) + 2^n q, both exact;
 *   n in [24, 127]:  2^n + 2^n q, exact, with the 1 added to dl (it is below an ulp of dh);
 *   n < -23:         1 + e, e = exp as a computed float32 (below half an ulp of 1, so e's own
 *                    rounding barely matters; `e` is only read there).
 * The first addend is never smaller than the second in magnitude, as Fast2Sum requires. The
 * caller keeps n <= 127.
 */
function onePlusExp<F, I, M>(o: F32Ops<F, I, M>, p: ExpParts<F, I>, e: F): { dh: F; dl: F } {
  const low = o.lt(p.n, o.f(-23));
  const high = o.gt(p.n, o.f(23));
  const s = pow2(o, o.toInt(o.select(low, o.f(-23), p.n)));
  const a = o.select(low, o.f(1), o.select(high, s, o.add(o.f(1), s)));
  const b = o.select(low, e, o.mul(s, p.q));
  const dh = o.add(a, b);
  const dl = o.add(o.sub(b, o.sub(dh, a)), o.select(high, o.f(1), o.f(0)));
  return { dh, dl };
}

// Cephes logf: log(1 + f) = f - f^2 / 2 + f^3 P(f) for f in [sqrt(1/2) - 1, sqrt(2) - 1], P of
// degree 8 (Cephes' coefficients, evaluated by Estrin's scheme).
const LOG_P = [
  3.3333331174e-1, -2.4999993993e-1, 2.0000714765e-1, -1.6668057665e-1, 1.4249322787e-1, -1.2420140846e-1,
  1.1676998740e-1, -1.1514610310e-1, 7.0376836292e-2,
];
const SQRT_HALF = 0.70710678118654752440;

/**
 * log(v) + c for a positive finite v (normal; callers scale subnormals) and an optional small
 * correction c (log1p's rounding compensation): v = 2^e m with m in [sqrt(1/2), sqrt(2)), read
 * from the bits (mantissa forced into [1/2, 1), then doubled below sqrt(1/2): both exact), and
 * log(v) = e ln2 + log(1 + f), f = m - 1 exact. Summed small to large as Cephes does:
 * ((f^3 P(f) + e C2 + c) - f^2 / 2 + f) + e C1. `eAdj` is subtracted from the exponent (log of a
 * scaled subnormal).
 */
function logCore<F, I, M>(o: F32Ops<F, I, M>, v: F, c?: F, eAdj?: F): F {
  const bits = o.bitsOf(v);
  const m0 = o.fromBits(o.ior(o.iand(bits, o.i(0x007fffff)), o.i(0x3f000000))); // [1/2, 1)
  const eBits = o.toFloat(o.isub(o.ishr(bits, 23), o.i(126)));
  const e0 = eAdj ? o.sub(eBits, eAdj) : eBits;
  const small = o.lt(m0, o.f(SQRT_HALF));
  const e = o.select(small, o.sub(e0, o.f(1)), e0);
  const f = o.sub(o.select(small, o.add(m0, m0), m0), o.f(1));
  const z = o.mul(f, f);
  let y = o.mul(o.mul(poly(o, f, LOG_P, z), f), z);
  y = o.add(y, o.mul(e, o.f(LN2_LO)));
  if (c) y = o.add(y, c);
  y = o.sub(y, o.mul(z, o.f(0.5)));
  return o.add(o.add(f, y), o.mul(e, o.f(LN2_HI)));
}

/**
 * log(x): subnormal x is scaled by 2^25 first (exactly) and 25 taken off the exponent; then
 * logCore. Special values by select: log(+-0) = -inf, log(inf) = inf, log(x < 0) = log(NaN) = NaN.
 */
export function log<F, I, M>(o: F32Ops<F, I, M>, x: F): F {
  const sub = o.lt(x, o.f(1.1754943508222875e-38)); // below FLT_MIN: subnormal (or <= 0, fixed below)
  const v = o.select(sub, o.mul(x, o.f(33554432)), x);
  const y = logCore(o, v, undefined, o.select(sub, o.f(25), o.f(0)));
  const y1 = o.select(o.eq(x, o.f(0)), o.f(-Infinity), y);
  const y2 = o.select(o.eq(x, o.f(Infinity)), x, y1);
  return o.select(o.ge(x, o.f(0)), y2, o.f(NaN));
}

/**
 * log1p(x) = log(u) + log(1 + x) - log(u) with u = fl(1 + x) >= 2^-24 (never subnormal); the
 * second part is c = ((1 + x) - u) / u to first order, where (1 + x) - u is computed exactly as
 * x - (u - 1) when u < 2 (u - 1 exact by Sterbenz) or 1 - (u - x) when u >= 2 (fdlibm's log1p).
 * |x| < 2^-24 returns x (log1p(x) = x (1 - x/2 + ...) rounds to x there; this keeps -0 and
 * subnormals exact). log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(inf) = inf.
 */
export function log1p<F, I, M>(o: F32Ops<F, I, M>, x: F): F {
  const one = o.f(1);
  const u = o.add(one, x);
  const big = o.ge(u, o.f(2));
  const d = o.select(big, o.sub(one, o.sub(u, x)), o.sub(x, o.sub(u, one)));
  const c = o.div(d, u);
  // u = 0 (x = -1), inf or negative would feed garbage to the bit reduction: use 1, fix below.
  const ok = o.and(o.gt(u, o.f(0)), o.lt(u, o.f(Infinity)));
  const y = logCore(o, o.select(ok, u, one), c);
  const y0 = o.select(o.lt(o.abs(x), o.f(5.9604644775390625e-8)), x, y);
  const y1 = o.select(o.eq(x, o.f(-1)), o.f(-Infinity), y0);
  const y2 = o.select(o.eq(x, o.f(Infinity)), x, y1);
  return o.select(o.ge(x, o.f(-1)), y2, o.f(NaN));
}

// expm1's polynomial (derived here, not Cephes): expm1(r) = r + r^2 / 2 + r^3 Q(r) on
// |r| <= 0.6935, Q of degree 5 fitted near-minimax for the relative error of expm1 (Lawson's
// iteratively reweighted least squares on 4000 Chebyshev points, each coefficient rounded to
// float32 in turn with the rest refitted): max relative error 1.5e-9 (2^-29.3) before rounding
// of the evaluation. Q's Taylor coefficients for comparison: 1/6, 1/24, 1/120, 1/720, 1/5040, ...
const EXPM1_Q = [0.166666716, 0.0416666456, 0.00833266228, 0.00138897693, 0.000200910232, 0.0000248360411];

/**
 * expm1(x) = 2^n expm1(r) + (2^n - 1), n = nearest(x / ln2), r = x - n ln2, with n forced to 0
 * for |x| < ln2 (so r = x there, and for |n| = 1 r has the sign of n: no cancellation between the
 * two terms), and to -24 at least (x >= -25 ln2; below that the result rounds to -1).
 * 2^n expm1(r) is exact and 2^n - 1 is exact for n <= 24; above, 2^n - 1 rounds to 2^n, which is
 * within half an ulp of the result. n = 128 (x in [88.38, 88.72], still finite) is applied as
 * 2^127 and a final exact doubling. x is clamped to <= 89 (overflows to inf).
 */
export function expm1<F, I, M>(o: F32Ops<F, I, M>, x: F): F {
  const xc = clampNaNSafe(o, x, -18, 89);
  const nr = o.nearest(o.mul(xc, o.f(LOG2E)));
  const n0 = o.select(o.lt(o.abs(xc), o.f(Math.LN2)), o.f(0), nr);
  const n = o.select(o.lt(n0, o.f(-24)), o.f(-24), n0);
  const r = o.sub(o.sub(xc, o.mul(n, o.f(LN2_HI))), o.mul(n, o.f(LN2_LO)));
  const r2 = o.mul(r, r);
  const p = o.add(r, o.mul(r2, o.add(o.f(0.5), o.mul(r, poly(o, r, EXPM1_Q, r2)))));
  const top = o.gt(n, o.f(127));
  const s = pow2(o, o.toInt(o.select(top, o.f(127), n)));
  const y = o.mul(o.add(o.mul(s, p), o.sub(s, o.f(1))), o.select(top, o.f(2), o.f(1)));
  const y1 = o.select(o.lt(x, o.f(-17.328679513998633)), o.f(-1), y); // x < -25 ln2, and -inf
  const y2 = o.select(o.eq(x, o.f(0)), x, y1); // keeps -0 (2^0 p + 0 would give +0)
  return o.select(o.ne(x, x), x, y2);
}

// Cephes tanhf: tanh(x) = x + x^3 P(x^2) for |x| < 0.625, P of degree 4 (Cephes' coefficients).
const TANH_P = [-3.33332819422e-1, 1.33314422036e-1, -5.37397155531e-2, 2.06390887954e-2, -5.70498872745e-3];

/**
 * tanh(x): x + x^3 P(x^2) for |x| < 0.625 (tiny x comes out as x), else
 * sign(x) (1 - 2 / (1 + exp(2|x|))), with 1 + exp(2|x|) rounded once (onePlusExp's dh; Cephes
 * rounds exp first, which costs up to half an ulp more). 2|x| is clamped to 40, where the
 * result is already +-1 (1 - 2 e^-40 rounds to 1), which keeps n in [2, 58].
 */
export function tanh<F, I, M>(o: F32Ops<F, I, M>, x: F): F {
  const ax = o.abs(x);
  const z = o.mul(x, x);
  const small = o.add(o.mul(o.mul(poly(o, z, TANH_P), z), x), x);
  const p = expParts(o, clampNaNSafe(o, o.add(ax, ax), 0, 40));
  const { dh } = onePlusExp(o, p, o.f(0)); // n >= 2: the `e` branch is never taken
  const t = o.sub(o.f(1), o.div(o.f(2), dh));
  const large = o.select(o.lt(x, o.f(0)), o.neg(t), t);
  const y = o.select(o.lt(ax, o.f(0.625)), small, large);
  // NaN (which the clamp turned into 0) and zeros: x itself (the polynomial gives +0 for -0).
  return o.select(o.or(o.ne(x, x), o.eq(x, o.f(0))), x, y);
}

/**
 * logistic(x) = 1 / (1 + exp(-x)) for x >= -87. The denominator is kept as an unevaluated sum
 * dh + dl (onePlusExp), and the quotient y0 = 1 / dh is corrected to first order:
 * y = y0 - y0 (dl y0). What remains is the rounding of y0 and of the correction (about 1 ulp at
 * worst, against 1.5 when a rounded 1 + exp(-x) is divided, and 2.3 when exp(-x) is rounded
 * too). Below -87 the result is subnormal and exp(-x) overflows, so there e = exp(x) and the
 * result is e / (1 + e) = e (1 + e rounds to 1; e itself is rounded once, in scale2). One exp
 * evaluation serves both: its argument is selected. logistic(inf) = 1, logistic(-inf) = 0.
 */
export function logistic<F, I, M>(o: F32Ops<F, I, M>, x: F): F {
  const veryNeg = o.lt(x, o.f(-87));
  const p = expParts(o, clampNaNSafe(o, o.select(veryNeg, x, o.neg(x)), -110, 87));
  const e = scale2(o, o.add(p.q, o.f(1)), p.k);
  const { dh, dl } = onePlusExp(o, p, e);
  const y0 = o.div(o.select(veryNeg, e, o.f(1)), dh);
  const y = o.sub(y0, o.mul(y0, o.mul(dl, o.select(veryNeg, o.f(1), y0))));
  return o.select(o.ne(x, x), x, y);
}

/**
 * The algorithms, by primitive name (exp, log, tanh, logistic, ...). A float32 elementwise
 * kernel whose primitive is listed here computes it with this algorithm on every backend.
 */
export const F32_MATH: Record<string, F32Algorithm> = { exp, log, log1p, expm1, tanh, logistic };
