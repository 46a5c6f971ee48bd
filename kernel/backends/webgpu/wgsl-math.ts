// WGSL helper functions for the float32 elementwise primitives that WGSL's builtins do not
// compute well enough (or at all): sin/cos/tan with exact Payne-Hanek range reduction, the
// inverse trigonometric and hyperbolic functions, exp2, rsqrt, cbrt, pow, and the exactly rounded
// ones (fmod, nextafter, the two roundings, integer powers); wgsl-special.ts has erf and the gamma
// family. Each is a WGSL function of f32 values, written here as text with its coefficients baked
// in; wgsl-scalar.ts registers them as helpers (by name, with the helpers they call) and
// aluRender calls them.
//
// Why not the builtins: WGSL only bounds sin/cos to an absolute error of 2^-11 on [-pi, pi],
// lets tan/asin/.../pow inherit their accuracy from formulas (pow = exp2(y * log2(x)), useless
// for large results), and says nothing of inf/NaN. The CPU computes these in float64 and rounds
// once, so its float32 results are (nearly) correctly rounded; the algorithms here aim at a few
// ulp of that, and follow the CPU rule for every special value (test/webgpu/wgsl-scalar.test.ts
// measures both: 0.7 to 2 ulp). The polynomials are near-minimax fits made for these files
// (Lawson's iteratively reweighted least squares in float64, each coefficient rounded to float32
// with the rest refitted); the error quoted with each is relative, before the rounding of the
// evaluation.
//
// Compiler folding: GPU compilers apply algebraic rules that are not IEEE-exact (lavapipe turns
// x - ((1 + x) - 1) into 0, measured), which destroys the error-compensation steps these
// algorithms rely on. Such steps pass a value through p_g(v, z) = bits(v) | z, where z = p_opq(x)
// is 0 for every x but not provably so to a compiler (x (x + 1) is even): the compiler must then
// treat the value as unknown. Constants split in two (pi/2 = hi + lo) need the same: lavapipe
// turns (x - hi) - lo into x - (hi + lo), which rounds lo away (measured).

/** A float32 literal of a finite coefficient (rounded to float32 first). */
export function lit(c: number): string {
  const v = Math.fround(c);
  const s = String(v);
  return v < 0 ? `(${s}f)` : `${s}f`;
}

/** c[0] + v (c[1] + v (c[2] + ...)) by Horner's rule, as a WGSL expression. */
export function horner(v: string, c: readonly number[]): string {
  let e = lit(c[c.length - 1]);
  for (let k = c.length - 2; k >= 0; k--) e = `${lit(c[k])} + ${v} * (${e})`;
  return `(${e})`;
}

/** hi + lo with hi = the float32 nearest to v and lo the (float32-rounded) rest. */
export function split(v: number): [string, string] {
  const hi = Math.fround(v);
  return [lit(hi), lit(v - hi)];
}

// --- Polynomials (fitted here; relative error before evaluation rounding in each comment) ---
// 2^r = 1 + r P(r), |r| <= 1/2: 3.0e-9.
const EXP2_P = [0.6931471824645996, 0.24022647738456726, 0.05550359934568405, 0.009618505835533142, 0.0013390807434916496, 0.0001532647293061018];
// sin r = r + r^3 S(r^2), |r| <= pi/4: 4.2e-9. cos r = 1 - r^2/2 + r^4 C(r^2): 1.2e-10.
const SIN_S = [-0.16666653752326965, 0.008332106284797192, -0.00019507846445776522];
const COS_C = [0.04166664555668831, -0.0013887308305129409, 0.00002443210360070225];
// tan r = r + r^3 T(r^2), |r| <= pi/4: 1.3e-9.
const TAN_T = [0.33333349227905273, 0.1333266943693161, 0.05405997112393379, 0.021279416978359222, 0.010847616009414196, 0.00007007175736362115, 0.004387669265270233];
// asin x = x + x^3 A(x^2), |x| <= 1/2: 4.9e-9.
const ASIN_A = [0.16666752099990845, 0.074953094124794, 0.04546915367245674, 0.02418474294245243, 0.04215838760137558];
// atan z = z + z^3 B(z^2), |z| <= 7/16: 1.3e-9.
const ATAN_B = [-0.3333330452442169, 0.1999778002500534, -0.14230133593082428, 0.10493792593479156, -0.05824819952249527];
// sinh x = x + x^3 H(x^2), |x| <= 1: 3.0e-10. asinh x = x + x^3 Q(x^2), |x| <= 1/2: 1.3e-9.
const SINH_H = [0.1666666716337204, 0.00833331048488617, 0.00019842895562760532, 0.0000027822131869470468];
const ASINH_Q = [-0.1666664332151413, 0.07498640567064285, -0.04438292980194092, 0.02816065587103367, -0.013222121633589268];
// log2((1 + s)/(1 - s)) = K1 s + K3 s^3 + s^5 R(s^2): the Taylor series K_k = 2/(k ln 2), |s| <= 0.1716 (truncation 2e-11).
const K1 = 2 / Math.LN2;
const LOG2_R = [5, 7, 9, 11, 13].map((k) => K1 / k);

const [PIO2_H, PIO2_L] = split(Math.PI / 2);
export const [PI_H, PI_L] = split(Math.PI);
const PIO4_H = lit(Math.PI / 4);
const PIO2_L2 = lit(Math.PI / 2 - 2 * Math.fround(Math.PI / 4)); // pi/2 = 2 PIO4_H + PIO2_L2
const [K1_H, K1_L] = split(K1);
const [K3_H, K3_L] = split(K1 / 3);
/** NaN and inf as WGSL expressions (a const-expression of them is a shader-creation error). */
export const NAN = "p_f32bits(0x7fc00000u)";
export const INF = "p_f32bits(0x7f800000u)";
/** |x| < 2^-12, from the bits a = bits(x) & 0x7fffffff: odd functions with f(x) = x + O(x^3) round to x. */
const TINY = "0x39800000u";

/** fdlibm's atan reduction: atan(0.5), atan(1), atan(1.5), atan(inf) as hi + lo. */
const ATAN_HI_LO = [Math.atan(0.5), Math.PI / 4, Math.atan(1.5), Math.PI / 2].map(split);

/** Helpers: [name, WGSL text, helpers it calls]. */
export const MATH_HELPERS: [string, string, string[]][] = [
  ["opq", "// 0 for every x, but not provably so to a compiler: x (x + 1) is even\nfn p_opq(x: f32) -> u32 { let b = bitcast<u32>(x); return (b * (b + 1u)) & 1u; }", []],
  ["g", "// v, opaque to the compiler's algebra (z = p_opq(...) = 0)\nfn p_g(v: f32, z: u32) -> f32 { return bitcast<f32>(bitcast<u32>(v) | z); }", []],
  ["pow2i", "// 2^k for k in [-126, 127]\nfn p_pow2i(k: i32) -> f32 { return bitcast<f32>(u32(k + 127) << 23u); }", []],
  ["scale2", "// v 2^k for k in [-252, 254] in two exact steps (one rounding, correct for subnormal results)\nfn p_scale2(v: f32, k: i32) -> f32 { let k1 = k >> 1u; return (v * p_pow2i(k1)) * p_pow2i(k - k1); }", ["pow2i"]],
  ["copysign", "fn p_copysign(m: f32, s: f32) -> f32 { return bitcast<f32>((bitcast<u32>(m) & 0x7fffffffu) | (bitcast<u32>(s) & 0x80000000u)); }", []],
  // a * b - p exactly, for p = fl(a * b) passed through p_g (Veltkamp splitting into 12-bit halves).
  ["twoprod", `fn p_twoprod(a: f32, b: f32, p: f32, z: u32) -> f32 {
  let ca = p_g(4097.0f * a, z);
  let ah = p_g(ca - p_g(ca - a, z), z);
  let al = a - ah;
  let cb = p_g(4097.0f * b, z);
  let bh = p_g(cb - p_g(cb - b, z), z);
  let bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}`, ["g"]],

  // ---- exactly rounded ----
  ["round_away", `// H.roundAway: half away from zero; the sign of x is kept (-0.3 -> -0)
fn p_round_away(x: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x4b000000u) { return x; }
  let a = bitcast<f32>(bitcast<u32>(x) & 0x7fffffffu);
  let t = trunc(a);
  let r = select(t, t + 1.0f, a - t >= 0.5f);
  return bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(x) & 0x80000000u));
}`, []],
  ["round_even", `// H.roundEven: half to even; the sign of x is kept
fn p_round_even(x: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x4b000000u) { return x; }
  let r = round(bitcast<f32>(bitcast<u32>(x) & 0x7fffffffu));
  return bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(x) & 0x80000000u));
}`, []],
  ["fmod", `// JS x % y (C fmod): exact, from the integer significands; the result has x's sign
fn p_fmod(x: f32, y: f32) -> f32 {
  let ux = bitcast<u32>(x);
  let sx = ux & 0x80000000u;
  let ax = ux & 0x7fffffffu;
  let ay = bitcast<u32>(y) & 0x7fffffffu;
  if (ax >= 0x7f800000u || ay > 0x7f800000u || ay == 0u) { return ${NAN}; }
  if (ax < ay) { return x; }
  if (ax == ay) { return bitcast<f32>(sx); }
  var ex = i32(ax >> 23u);
  var ey = i32(ay >> 23u);
  var mx = (ax & 0x7fffffu) | 0x800000u;
  var my = (ay & 0x7fffffu) | 0x800000u;
  if (ex == 0) { let s = countLeadingZeros(ax) - 8u; mx = ax << s; ex = 1 - i32(s); }
  if (ey == 0) { let s = countLeadingZeros(ay) - 8u; my = ay << s; ey = 1 - i32(s); }
  // (mx 2^(ex - ey)) mod my, 8 bits at a time (r < my < 2^24, so r << 8 fits)
  var r = mx % my;
  var d = ex - ey;
  loop {
    if (d <= 0) { break; }
    let k = min(d, 8);
    r = (r << u32(k)) % my;
    d = d - k;
  }
  if (r == 0u) { return bitcast<f32>(sx); }
  let s = countLeadingZeros(r) - 8u;
  let e = ey - i32(s);
  let m = r << s;
  if (e >= 1) { return bitcast<f32>(sx | (u32(e) << 23u) | (m & 0x7fffffu)); }
  return bitcast<f32>(sx | (m >> u32(1 - e)));
}`, ["f32bits"]],
  ["nextafter", `// H.nextafter for float32: a's bit pattern stepped toward b (equal values give b)
fn p_nextafter(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a);
  let ub = bitcast<u32>(b);
  let aa = ua & 0x7fffffffu;
  let ab = ub & 0x7fffffffu;
  if (aa > 0x7f800000u || ab > 0x7f800000u) { return ${NAN}; }
  if (ua == ub || (aa | ab) == 0u) { return b; }
  if (aa == 0u) { return bitcast<f32>((ub & 0x80000000u) | 1u); }
  // order-preserving keys of the bit patterns
  let ka = select(ua | 0x80000000u, ~ua, (ua >> 31u) == 1u);
  let kb = select(ub | 0x80000000u, ~ub, (ub >> 31u) == 1u);
  let away = (ka < kb) == ((ua >> 31u) == 0u);
  return bitcast<f32>(select(ua - 1u, ua + 1u, away));
}`, ["f32bits"]],
  ["ipowf", `// H.ipowf32: x^n by repeated squaring, rounding at each step as XLA does
fn p_ipowf(x: f32, n: i32) -> f32 {
  var m = u32(abs(n));
  var acc = 1.0f;
  var base = x;
  var first = true;
  loop {
    if (m == 0u) { break; }
    if ((m & 1u) == 1u) { acc = select(acc * base, base, first); first = false; }
    m = m >> 1u;
    if (m > 0u) { base = base * base; }
  }
  if (n >= 0) { return acc; }
  return p_recip(acc);
}`, ["recip"]],
  ["recip", `// 1 / v with IEEE special values (WGSL leaves division by 0 and by huge values unspecified)
fn p_recip(v: f32) -> f32 {
  let u = bitcast<u32>(v);
  let a = u & 0x7fffffffu;
  let s = u & 0x80000000u;
  if (a > 0x7f800000u) { return v; }
  if (a == 0u) { return bitcast<f32>(s | 0x7f800000u); }
  if (a == 0x7f800000u) { return bitcast<f32>(s); }
  if (a >= 0x7e800000u) { return (1.0f / (v * 0.0625f)) * 0.0625f; }
  if (a < 0x00800000u) { return (1.0f / (f32(a) * 1.1920928955078125e-7f)) * p_copysign(8.507059173023462e37f, v); }
  return 1.0f / v;
}`, ["copysign"]],
  
  // ---- exponentials, roots ----
  ["exp2", `// Math.pow(2, x): x = n + r (exact), 2^r by polynomial, scaled by 2^n
fn p_exp2(x: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u) { return x; }
  let xc = clamp(x, -160.0f, 130.0f);
  let n = round(xc);
  let r = xc - n;
  return p_scale2(1.0f + r * ${horner("r", EXP2_P)}, i32(n));
}`, ["scale2"]],
  ["rsqrt", `// 1 / Math.sqrt(x): inverseSqrt and one Newton step; subnormals scaled by 2^64 (from the bits)
fn p_rsqrt(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  if ((u & 0x7fffffffu) == 0u) { return bitcast<f32>(u | 0x7f800000u); }
  if (u > 0x7f800000u) { return ${NAN}; }
  if (u == 0x7f800000u) { return 0.0f; }
  let sub = u < 0x00800000u;
  let v = select(x, f32(u) * 2.5849394142282115e-26f, sub);
  let y0 = inverseSqrt(v);
  let h = 0.5f * v;
  let y = y0 + y0 * (0.5f - h * y0 * y0);
  return select(y, y * 4294967296.0f, sub);
}`, ["f32bits"]],
  ["cbrt", `// Math.cbrt: |x| = m 2^(3k), m in [1, 8) (from the bits, subnormals too), a bit-level first
// guess, two Halley steps and one Newton step on m, then the exact scaling by 2^k
fn p_cbrt(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a == 0u || a >= 0x7f800000u) { return x; }
  var mant = a;
  var e = i32(a >> 23u) - 127;
  if (a < 0x00800000u) { let s = countLeadingZeros(a) - 8u; mant = a << s; e = -126 - i32(s); }
  let k = (e + 300) / 3 - 100;
  let m = bitcast<f32>((mant & 0x7fffffu) | (u32(127 + e - 3 * k) << 23u));
  var t = bitcast<f32>(bitcast<u32>(m) / 3u + 709958130u);
  for (var i = 0; i < 2; i++) {
    let t3 = t * t * t;
    t = t * (t3 + m + m) / (t3 + t3 + m);
  }
  t = t - (t - m / (t * t)) * 0.3333333432674408f;
  return bitcast<f32>(bitcast<u32>(t * p_pow2i(k)) | (u & 0x80000000u));
}`, ["pow2i"]],

  // ---- trigonometric ----
  ["mul32", `// the 64-bit product of two u32 as (low, high)
fn p_mul32(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}`, []],
  ["trigred", `// Payne-Hanek: a = |x| > pi/4 (finite) as q pi/2 + r, |r| <= pi/4, q mod 4 (exact reduction:
// 96 bits of 2/pi from the window that matters, an integer product, the fraction turned to r).
struct p_red { r: f32, q: u32 }
fn p_trigred(a: f32) -> p_red {
  var t = array<u32, 8>(0u, 0xa2f9836eu, 0x4e441529u, 0xfc2757d1u, 0xf534ddc0u, 0xdb629599u, 0x3c439041u, 0xfe5163abu);
  let u = bitcast<u32>(a);
  let m = (u & 0x7fffffu) | 0x800000u;
  // a = m 2^e, e = exponent - 150 >= -24; the window starts at bit e - 1 of 2/pi (padded by 32 zero bits)
  let j = u32(i32(u >> 23u) - 120);
  let w = j >> 5u;
  let sh = j & 31u;
  let w0 = (t[w] << sh) | select(0u, t[w + 1u] >> (32u - sh), sh != 0u);
  let w1 = (t[w + 1u] << sh) | select(0u, t[w + 2u] >> (32u - sh), sh != 0u);
  let w2 = (t[w + 2u] << sh) | select(0u, t[w + 3u] >> (32u - sh), sh != 0u);
  // (m W) mod 2^96: 2 bits of quadrant, 94 bits of fraction
  let p2 = p_mul32(m, w2);
  let p1 = p_mul32(m, w1);
  let r1 = p1.x + p2.y;
  let r0 = m * w0 + p1.y + select(0u, 1u, r1 < p1.x);
  var q = r0 >> 30u;
  var f0 = r0 & 0x3fffffffu;
  var f1 = r1;
  var f2 = p2.x;
  let neg = (f0 & 0x20000000u) != 0u;
  if (neg) {
    // fraction >= 1/2: round the quadrant up and take 2^94 - fraction
    q = q + 1u;
    f2 = ~f2 + 1u;
    let c2 = select(0u, 1u, f2 == 0u);
    f1 = ~f1 + c2;
    let c3 = select(0u, 1u, f1 == 0u && c2 == 1u);
    f0 = (~f0 + c3) & 0x3fffffffu;
  }
  // normalise the magnitude: h, l = its top 64 bits, L = its leading zeros in 96 bits
  var h = 0u; var l = 0u; var lz = 96u;
  if (f0 != 0u) {
    let s = countLeadingZeros(f0);
    h = (f0 << s) | (f1 >> (32u - s)); l = (f1 << s) | (f2 >> (32u - s)); lz = s;
  } else if (f1 != 0u) {
    let s = countLeadingZeros(f1);
    h = (f1 << s) | select(0u, f2 >> (32u - s), s != 0u); l = f2 << s; lz = 32u + s;
  } else if (f2 != 0u) {
    let s = countLeadingZeros(f2);
    h = f2 << s; lz = 64u + s;
  }
  if (lz >= 96u) { return p_red(0.0f, q & 3u); }
  // fraction = (h + l 2^-32) 2^(-30 - lz); r = fraction pi/2 with 12-bit pieces (exact products)
  let fh1 = f32(h & 0xfff00000u);
  let fh2 = f32(h & 0x000fff00u);
  let fl = f32(h & 0xffu) + f32(l >> 8u) * 5.9604644775390625e-8f;
  let c1 = 1.5703125f;
  let c2 = 0.0004837512969970703f;
  let c3 = 7.549790126404332e-8f;
  let big = fh1 * c1;
  let mid = fh1 * c2 + fh2 * c1;
  let small = fh2 * c2 + (fh1 + fh2) * c3 + fl * (c1 + c2);
  let r = (big + p_g(mid + small, p_opq(a))) * p_pow2i(-30 - i32(lz));
  return p_red(select(r, -r, neg), q & 3u);
}`, ["mul32", "pow2i", "g", "opq"]],
  ["sinr", `fn p_sinr(r: f32) -> f32 { let s = r * r; return r + (r * s) * ${horner("s", SIN_S)}; }`, []],
  ["cosr", `// cos r with the rounding of 1 - r^2/2 recovered (musl's __cos)
fn p_cosr(r: f32, z: u32) -> f32 {
  let s = r * r;
  let hz = 0.5f * s;
  let w = p_g(1.0f - hz, z);
  return w + (((1.0f - w) - hz) + s * s * ${horner("s", COS_C)});
}`, ["g"]],
  ["tanr", `fn p_tanr(r: f32) -> f32 { let s = r * r; return r + (r * s) * ${horner("s", TAN_T)}; }`, []],
  ["reduce", `// |x| (finite) as q pi/2 + r
fn p_reduce(a: u32) -> p_red {
  if (a <= 0x3f490fdbu) { return p_red(bitcast<f32>(a), 0u); }
  return p_trigred(bitcast<f32>(a));
}`, ["trigred"]],
  ["sin", `fn p_sin(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) { return ${NAN}; }
  if (a < ${TINY}) { return x; }
  let rq = p_reduce(a);
  var v = select(p_cosr(rq.r, p_opq(x)), p_sinr(rq.r), (rq.q & 1u) == 0u);
  v = select(v, -v, rq.q >= 2u);
  return bitcast<f32>(bitcast<u32>(v) ^ (u & 0x80000000u));
}`, ["reduce", "sinr", "cosr", "opq", "f32bits"]],
  ["cos", `fn p_cos(x: f32) -> f32 {
  let a = bitcast<u32>(x) & 0x7fffffffu;
  if (a >= 0x7f800000u) { return ${NAN}; }
  if (a < ${TINY}) { return 1.0f; }
  let rq = p_reduce(a);
  let v = select(p_sinr(rq.r), p_cosr(rq.r, p_opq(x)), (rq.q & 1u) == 0u);
  return select(v, -v, rq.q == 1u || rq.q == 2u);
}`, ["reduce", "sinr", "cosr", "opq", "f32bits"]],
  ["tan", `fn p_tan(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) { return ${NAN}; }
  if (a < ${TINY}) { return x; }
  let rq = p_reduce(a);
  let t = p_tanr(rq.r);
  let v = select(-1.0f / t, t, (rq.q & 1u) == 0u);
  return bitcast<f32>(bitcast<u32>(v) ^ (u & 0x80000000u));
}`, ["reduce", "tanr", "f32bits"]],
  ["asinp", `fn p_asinp(x: f32) -> f32 { let s = x * x; return x + (x * s) * ${horner("s", ASIN_A)}; }`, []],
  ["asin", `// asin: a polynomial to 1/2, then pi/2 - 2 asin(s), s = sqrt(t), t = (1 - |x|) / 2, with s's
// rounding error recovered below 0.975 (fdlibm: s = df + c, df = s cut to 12 bits, df^2 exact)
fn p_asin(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a > 0x3f800000u) { return ${NAN}; }
  if (a < ${TINY}) { return x; }
  let ax = bitcast<f32>(a);
  var v: f32;
  if (ax <= 0.5f) {
    v = p_asinp(ax);
  } else {
    let z = p_opq(x);
    let t = 0.5f * (1.0f - ax);
    let s = sqrt(t);
    let r = t * ${horner("t", ASIN_A)};
    if (ax >= 0.975f) {
      v = ${PIO2_H} - p_g(2.0f * (s + s * r) - ${PIO2_L}, z);
    } else {
      let df = bitcast<f32>(bitcast<u32>(s) & 0xfffff000u);
      let c = (t - df * df) / (s + df);
      let p = p_g(2.0f * s * r - (${PIO2_L2} - 2.0f * c), z);
      let q = p_g(${PIO4_H} - 2.0f * df, z);
      v = ${PIO4_H} - p_g(p - q, z);
    }
  }
  return bitcast<f32>(bitcast<u32>(v) | (u & 0x80000000u));
}`, ["asinp", "g", "opq", "f32bits"]],
  ["acos", `fn p_acos(x: f32) -> f32 {
  let a = bitcast<u32>(x) & 0x7fffffffu;
  if (a > 0x3f800000u) { return ${NAN}; }
  let z = p_opq(x);
  if (x < -0.5f) { return ${PI_H} - p_g(2.0f * p_asinp(sqrt(0.5f * (1.0f + x))) - ${PI_L}, z); }
  if (x > 0.5f) { return 2.0f * p_asinp(sqrt(0.5f * (1.0f - x))); }
  return ${PIO2_H} - p_g(p_asinp(x) - ${PIO2_L}, z);
}`, ["asinp", "g", "opq", "f32bits"]],
  ["atanpos", `// atan(a) for a >= 0 (not NaN): fdlibm's reduction to |z| <= 7/16 around atan(0.5), atan(1), atan(1.5), pi/2
fn p_atanpos(a: f32) -> f32 {
  var hi = 0.0f; var lo = 0.0f; var z = a;
  if (a >= 2.4375f) {
    hi = ${ATAN_HI_LO[3][0]}; lo = ${ATAN_HI_LO[3][1]}; z = -p_recip(a);
  } else if (a >= 1.1875f) {
    hi = ${ATAN_HI_LO[2][0]}; lo = ${ATAN_HI_LO[2][1]}; z = (a - 1.5f) / (1.0f + 1.5f * a);
  } else if (a >= 0.6875f) {
    hi = ${ATAN_HI_LO[1][0]}; lo = ${ATAN_HI_LO[1][1]}; z = (a - 1.0f) / (a + 1.0f);
  } else if (a >= 0.4375f) {
    hi = ${ATAN_HI_LO[0][0]}; lo = ${ATAN_HI_LO[0][1]}; z = (2.0f * a - 1.0f) / (2.0f + a);
  }
  let s = z * z;
  let tail = (z * s) * ${horner("s", ATAN_B)};
  return hi + (z + p_g(tail + lo, p_opq(a)));
}`, ["recip", "g", "opq"]],
  ["atan", `fn p_atan(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u || a < ${TINY}) { return x; }
  return bitcast<f32>(bitcast<u32>(p_atanpos(bitcast<f32>(a))) | (u & 0x80000000u));
}`, ["atanpos"]],
  ["atan2", `// Math.atan2(y, x) with the ES special cases (signed zeros, infinities)
fn p_atan2(y: f32, x: f32) -> f32 {
  let uy = bitcast<u32>(y); let ux = bitcast<u32>(x);
  let ay = uy & 0x7fffffffu; let ax = ux & 0x7fffffffu;
  let sy = uy & 0x80000000u;
  let xneg = (ux >> 31u) == 1u;
  if (ay > 0x7f800000u || ax > 0x7f800000u) { return ${NAN}; }
  var v: f32;
  if (ay == 0u) {
    v = select(0.0f, ${PI_H}, xneg);
  } else if (ax == 0u) {
    v = ${PIO2_H};
  } else if (ay == 0x7f800000u) {
    v = select(${PIO2_H}, select(0.7853981852531433f, 2.356194496154785f, xneg), ax == 0x7f800000u);
  } else if (ax == 0x7f800000u) {
    v = select(0.0f, ${PI_H}, xneg);
  } else {
    let fy = bitcast<f32>(ay); let fx = bitcast<f32>(ax);
    let z = p_opq(y);
    var t: f32;
    if (ay <= ax) {
      t = p_atanpos(p_fdiv(fy, fx));
    } else {
      t = ${PIO2_H} - p_g(p_atanpos(p_fdiv(fx, fy)) - ${PIO2_L}, z);
    }
    v = select(t, ${PI_H} - p_g(t - ${PI_L}, z), xneg);
  }
  return bitcast<f32>(bitcast<u32>(v) | sy);
}`, ["atanpos", "fdiv", "g", "opq", "f32bits"]],
  ["fdiv", `// a / b for finite nonzero a, b with a/b's magnitude anywhere (scaled into WGSL's accurate range)
fn p_fdiv(a: f32, b: f32) -> f32 {
  let ea = i32((bitcast<u32>(a) >> 23u) & 0xffu);
  let eb = i32((bitcast<u32>(b) >> 23u) & 0xffu);
  if (ea > 1 && eb > 1 && ea < 253 && eb < 253 && abs(ea - eb) < 120) { return a / b; }
  // bring both to [1, 2) exactly (subnormals from their integer bits), divide, rescale once
  let na = p_frexp(a); let nb = p_frexp(b);
  return p_scale2(na.m / nb.m, clamp(na.e - nb.e, -250, 250));
}
struct p_fr { m: f32, e: i32 }
fn p_frexp(v: f32) -> p_fr {
  var u = bitcast<u32>(v) & 0x7fffffffu;
  var e = i32(u >> 23u) - 127;
  if (u < 0x00800000u) { let s = countLeadingZeros(u) - 8u; u = u << s; e = -126 - i32(s); }
  return p_fr(bitcast<f32>((u & 0x7fffffu) | 0x3f800000u | (bitcast<u32>(v) & 0x80000000u)), e);
}`, ["scale2"]],

  // ---- hyperbolic ----
  ["sinh", `fn p_sinh(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a >= 0x7f800000u || a < ${TINY}) { return x; }
  let ax = bitcast<f32>(a);
  var v: f32;
  if (ax < 1.0f) {
    let s = ax * ax;
    v = ax + (ax * s) * ${horner("s", SINH_H)};
  } else if (ax < 88.0f) {
    let e = p_exp(ax);
    v = 0.5f * e - 0.5f / e;
  } else {
    v = p_exp(ax - 0.693359375f) * 1.0002121925354004f;
  }
  return bitcast<f32>(bitcast<u32>(v) | (u & 0x80000000u));
}`, ["exp"]],
  ["cosh", `fn p_cosh(x: f32) -> f32 {
  let a = bitcast<u32>(x) & 0x7fffffffu;
  if (a > 0x7f800000u) { return x; }
  if (a < ${TINY}) { return 1.0f; }
  let ax = bitcast<f32>(a);
  if (ax < 88.0f) { let e = p_exp(ax); return 0.5f * e + 0.5f / e; }
  return p_exp(ax - 0.693359375f) * 1.0002121925354004f;
}`, ["exp"]],
  ["asinh", `fn p_asinh(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a >= 0x7f800000u || a < ${TINY}) { return x; }
  let ax = bitcast<f32>(a);
  var v: f32;
  if (ax < 0.5f) {
    let s = ax * ax;
    v = ax + (ax * s) * ${horner("s", ASINH_Q)};
  } else if (ax <= 2.0f) {
    let s = ax * ax;
    v = p_log1p(ax + s / (1.0f + sqrt(1.0f + s)));
  } else if (ax < 4096.0f) {
    v = p_log(2.0f * ax + 1.0f / (sqrt(ax * ax + 1.0f) + ax));
  } else {
    v = p_log(ax) + 0.6931471824645996f;
  }
  return bitcast<f32>(bitcast<u32>(v) | (u & 0x80000000u));
}`, ["log", "log1p"]],
  ["acosh", `fn p_acosh(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  if (u < 0x3f800000u || u > 0x7f800000u) { return ${NAN}; }
  if (u == 0x7f800000u) { return x; }
  if (x >= 4096.0f) { return p_log(x) + 0.6931471824645996f; }
  if (x > 2.0f) { return p_log(2.0f * x - 1.0f / (x + sqrt(x * x - 1.0f))); }
  let t = x - 1.0f;
  return p_log1p(t + sqrt(2.0f * t + t * t));
}`, ["log", "log1p", "f32bits"]],
  ["atanh", `fn p_atanh(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u || a < ${TINY}) { return x; }
  if (a > 0x3f800000u) { return ${NAN}; }
  if (a == 0x3f800000u) { return bitcast<f32>((u & 0x80000000u) | 0x7f800000u); }
  let ax = bitcast<f32>(a);
  let t = ax + ax;
  let v = 0.5f * p_log1p(select(t / (1.0f - ax), t + t * ax / (1.0f - ax), ax < 0.5f));
  return bitcast<f32>(bitcast<u32>(v) | (u & 0x80000000u));
}`, ["log1p", "f32bits"]],

  // ---- pow ----
  ["log2x", `// log2(v) for a positive finite v as hi + lo, to about 2^-35 relative: v = 2^k m, m in
// [sqrt(1/2), sqrt(2)), log2 m = K1 s + K3 s^3 + s^5 R(s^2) with s = (m - 1)/(m + 1); s, K1 s and
// K3 s^3 (up to 1% of the sum) in double-float32, the rest (below 0.05%) in float32
fn p_log2x(v: f32, z: u32) -> vec2<f32> {
  let u = bitcast<u32>(v);
  var mant = (u & 0x7fffffu) | 0x800000u;
  var k = i32(u >> 23u) - 127;
  if (u < 0x00800000u) { let s = countLeadingZeros(u) - 8u; mant = u << s; k = -126 - i32(s); }
  var mb = (mant & 0x7fffffu) | 0x3f800000u;
  if (mb > 0x3fb504f3u) { mb = mb - 0x00800000u; k = k + 1; }
  let m = bitcast<f32>(mb);
  let f = m - 1.0f;
  let vh = p_g(m + 1.0f, z);
  let vl = m - p_g(vh - 1.0f, z);
  let sh = p_g(f / vh, z);
  let p = p_g(sh * vh, z);
  let sl = (((f - p) - p_twoprod(sh, vh, p, z)) - sh * vl) / vh;
  let s2 = p_g(sh * sh, z);
  let s2e = p_twoprod(sh, sh, s2, z);
  let s3 = p_g(s2 * sh, z);
  let s3e = p_twoprod(s2, sh, s3, z) + s2e * sh;
  let c = p_g(${K3_H} * s3, z);
  let ce = p_twoprod(${K3_H}, s3, c, z) + (${K3_H} * s3e + ${K3_L} * s3);
  let rest = (s3 * s2) * ${horner("s2", LOG2_R)} + ${lit(K1)} * s2 * sl;
  let q0 = p_g(${K1_H} * sh, z);
  let lo0 = p_twoprod(${K1_H}, sh, q0, z) + (${K1_H} * sl + ${K1_L} * sh);
  let q = p_g(q0 + c, z);
  let lo = (c - p_g(q - q0, z)) + ((lo0 + ce) + rest);
  // k + q + lo (TwoSum of k and q), renormalised
  let kf = f32(k);
  let s = p_g(kf + q, z);
  let bb = p_g(s - kf, z);
  let err = (kf - p_g(s - bb, z)) + (q - bb) + lo;
  let h = p_g(s + err, z);
  return vec2<f32>(h, err - p_g(h - s, z));
}`, ["g", "twoprod"]],
  ["pow", `// H.powf: C pow's special values (pow(x, 0) = pow(1, y) = 1, even for NaN), else
// 2^(y log2|x|) with y log2|x| in double-float32, the sign from an odd integer y
fn p_pow(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a); let ub = bitcast<u32>(b);
  let aa = ua & 0x7fffffffu; let ab = ub & 0x7fffffffu;
  if (ab == 0u || ua == 0x3f800000u) { return 1.0f; }
  if (aa > 0x7f800000u || ab > 0x7f800000u) { return ${NAN}; }
  let bf = bitcast<f32>(ab);
  let bint = ab >= 0x4b800000u || floor(bf) == bf;
  let bodd = ab < 0x4b800000u && bint && (u32(bf) & 1u) == 1u;
  let bneg = (ub >> 31u) == 1u;
  let aneg = (ua >> 31u) == 1u;
  if (ab == 0x7f800000u) {
    if (aa == 0x3f800000u) { return 1.0f; }
    return bitcast<f32>(select(0u, 0x7f800000u, (aa > 0x3f800000u) != bneg));
  }
  let sign = select(0u, 0x80000000u, aneg && bodd);
  if (aa == 0u || aa == 0x7f800000u) {
    return bitcast<f32>(sign | select(0u, 0x7f800000u, (aa == 0u) == bneg));
  }
  if (aneg && !bint) { return ${NAN}; }
  if (aa == 0x3f800000u) { return bitcast<f32>(0x3f800000u | sign); }
  let z = p_opq(a);
  let l = p_log2x(bitcast<f32>(aa), z);
  let th = p_g(b * l.x, z);
  if (th > 200.0f) { return bitcast<f32>(sign | 0x7f800000u); }
  if (th < -200.0f) { return bitcast<f32>(sign); }
  let tl = p_twoprod(b, l.x, th, z) + b * l.y;
  let n = round(th);
  let r = (th - n) + tl;
  let v = p_scale2(1.0f + r * ${horner("r", EXP2_P)}, i32(n));
  return bitcast<f32>(bitcast<u32>(v) | sign);
}`, ["log2x", "scale2", "opq", "g", "twoprod", "f32bits"]],

];
