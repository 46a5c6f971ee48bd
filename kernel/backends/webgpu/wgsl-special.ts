// WGSL helper functions for the float32 special functions: erf, erfc, erf_inv, lgamma and
// digamma (with sin(pi x), cos(pi x) for their reflection formulas). Same conventions as
// wgsl-math.ts (text with baked-in coefficients, fitted there; p_g/p_opq guards against compiler
// folding); wgsl-scalar.ts registers them.
//
// Where the CPU rule (cpu-loops.ts's H) is not an accurate function of its input these compute
// the mathematical function instead: erfc(x) for x > 4.5 (the CPU's 1 - erf(x) in float64 loses
// relative accuracy there and is 0 from x = 6, where erfc is still 2e-17), lgamma at the negative
// integers (+inf here, the pole, as in XLA; the CPU's sin(pi n) is not 0 in float64, which gives
// finite values such as lgamma(-1) = 37.78) and erf(-0) (-0 here; the CPU's series gives +0).

import { INF, NAN, PI_H, horner, lit, split } from "./wgsl-math";

// sin(pi r) = r SP(r^2), cos(pi r) = 1 + r^2 CP(r^2), |r| <= 1/4: 2.8e-8 (pi's own rounding) and 4.4e-10.
const SINPI = [3.1415927410125732, -5.167733192443848, 2.5508008003234863, -0.5998043417930603];
const COSPI = [-4.934802055358887, 4.058696746826172, -1.3347581624984741, 0.22898851335048676];
// erf x = x + x P(x^2), |x| <= 0.875: 8.6e-10.
const ERF_P = [0.12837916612625122, -0.3761262893676758, 0.11283621937036514, -0.026855282485485077, 0.0051906355656683445, -0.0008021723479032516, 0.00007842241757316515];
// erfc(x) e^(x^2) = EA(x - 1.4375) on [0.875, 2]: 1.6e-8; x erfc(x) e^(x^2) = EB(1/x^2) on [2, 10.2]: 4.2e-9.
const ERFC_A = [0.33211755752563477, -0.17354117333889008, 0.08265253901481628, -0.03648629039525986, 0.015096619725227356, -0.005901144351810217, 0.002222272101789713, -0.0008389218128286302, 0.0002524898445699364];
const ERFC_B = [0.5641895532608032, -0.28208795189857483, 0.4226069748401642, -1.0374342203140259, 3.2526092529296875, -10.243968963623047, 25.73264503479004, -41.492130279541016, 30.751384735107422];
// lgamma(1 + t) = t P1(t), |t| <= 1/4: 1.2e-8. lgamma(2 + t) = t P2(t), t in [-3/4, 1/2]: 1.6e-8.
const LGAMMA_P1 = [-0.5772156715393066, 0.822467029094696, -0.40068304538726807, 0.27058300375938416, -0.2075497806072235, 0.1692214012145996, -0.14034490287303925, 0.13682474195957184, -0.14458540081977844];
const LGAMMA_P2 = [0.42278432846069336, 0.32246702909469604, -0.06735158711671829, 0.020581627264618874, -0.007397485896945, 0.0028714498039335012, -0.0011337967589497566, 0.0006410825299099088, -0.00026501930551603436, -0.00016893968859221786, -0.000240894325543195];
// digamma(x0 + d) = d Q(d), x0 the positive root, d in [1 - x0, 2 - x0]: 1.7e-8.
const PSI_Q = [0.9676722288131714, -0.44276314973831177, 0.2585020065307617, -0.16394317150115967, 0.10777637362480164, -0.07222473621368408, 0.04913362115621567, -0.03256978094577789, 0.02170579507946968, -0.01929520256817341, 0.012501711025834084];
const PSI_X0 = 1.4616321449683623;
// erf_inv: XLA's float32 (Giles) coefficients, as the CPU rule H.erfInv32.
const ERFINV_A = [2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941];
const ERFINV_B = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682];
const [X0_H, X0_L] = split(PSI_X0);
const X0_M1 = lit(Math.fround(PSI_X0) - 1); // exact

/** Helpers: [name, WGSL text, helpers it calls]. */
export const SPECIAL_HELPERS: [string, string, string[]][] = [
  // ---- error function ----
  ["erfpoly", `fn p_erfpoly(x: f32) -> f32 { let s = x * x; return x + x * ${horner("s", ERF_P)}; }`, []],
  ["erfcpos", `// erfc(x) for x >= 0.875: exp(-x^2) G(x), exp(-x^2) = exp(-z^2) exp((z - x)(z + x)) with z = x cut
// to 12 bits (z^2 exact); past x = 9.3 exp(-z^2) is subnormal: then exp(-z^2/2)^2, so that the
// result rounds once
fn p_erfcpos(x: f32) -> f32 {
  if (bitcast<u32>(x) >= 0x4121999au) { return 0.0f; } // x >= 10.1 (inf too): rounds to 0
  let zt = bitcast<f32>(bitcast<u32>(x) & 0xfffff000u);
  let c = p_exp((zt - x) * (zt + x));
  var g: f32;
  if (x < 2.0f) {
    let t = x - 1.4375f;
    g = ${horner("t", ERFC_A)};
  } else {
    let w = 1.0f / (x * x);
    g = ${horner("w", ERFC_B)} / x;
  }
  if (x < 9.3f) { return p_exp(-(zt * zt)) * (c * g); }
  let e1 = p_exp(-0.5f * (zt * zt));
  return (e1 * (c * g)) * e1;
}`, ["exp"]],
  ["erf", `fn p_erf(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return x; }
  let ax = bitcast<f32>(a);
  let v = select(1.0f - p_erfcpos(ax), p_erfpoly(ax), ax < 0.875f);
  return bitcast<f32>(bitcast<u32>(v) | (u & 0x80000000u));
}`, ["erfpoly", "erfcpos"]],
  ["erfc", `fn p_erfc(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return x; }
  let ax = bitcast<f32>(a);
  if (ax < 0.875f) { return 1.0f - p_erfpoly(x); }
  if ((u >> 31u) == 0u) { return p_erfcpos(ax); }
  return 2.0f - p_erfcpos(ax);
}`, ["erfpoly", "erfcpos"]],
  ["erfinv", `// H.erfInv32: XLA's float32 erf_inv (Giles), w = -log1p(-x^2)
fn p_erfinv(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return x; }
  if (a > 0x3f800000u) { return ${NAN}; }
  if (a == 0x3f800000u) { return bitcast<f32>((u & 0x80000000u) | 0x7f800000u); }
  let w = -p_log1p(-(x * x));
  var p: f32;
  if (w < 5.0f) {
    let t = w - 2.5f;
    p = ${lit(ERFINV_A[0])};
${ERFINV_A.slice(1).map((c) => `    p = ${lit(c)} + p * t;`).join("\n")}
  } else {
    let t = sqrt(w) - 3.0f;
    p = ${lit(ERFINV_B[0])};
${ERFINV_B.slice(1).map((c) => `    p = ${lit(c)} + p * t;`).join("\n")}
  }
  return p * x;
}`, ["log1p", "f32bits"]],

  // ---- gamma family ----
  ["sinpi", `// sin(pi r), cos(pi r) for r in [-1/2, 1/2]
fn p_sinpi(r: f32) -> f32 {
  let a = abs(r);
  var v: f32;
  if (a <= 0.25f) { v = a * ${horner("(a * a)", SINPI)}; } else { let b = 0.5f - a; let s = b * b; v = 1.0f + s * ${horner("s", COSPI)}; }
  return select(v, -v, r < 0.0f);
}
fn p_cospi(r: f32) -> f32 {
  let a = abs(r);
  if (a <= 0.25f) { let s = a * a; return 1.0f + s * ${horner("s", COSPI)}; }
  let b = 0.5f - a;
  return b * ${horner("(b * b)", SINPI)};
}`, []],
  ["lgammapos", `// lgamma(x) for finite x > 0: t P1(t) near 1, t P2(t) near 2, recurrences into [0.75, 2.5), Stirling from 8
fn p_lgammapos(x: f32) -> f32 {
  if (x >= 8.0f) {
    let w = 1.0f / x;
    let w2 = w * w;
    let corr = w * (0.0833333358168602f + w2 * (-0.002777777845039964f + w2 * (0.0007936508045531809f - w2 * 0.0005952380783855915f)));
    return (x - 0.5f) * (p_log(x) - 1.0f) + (0.4189385332046727f + corr);
  }
  if (x >= 2.5f) {
    var y = x;
    var prod = 1.0f;
    loop {
      if (y < 2.5f) { break; }
      y = y - 1.0f;
      prod = prod * y;
    }
    let t = y - 2.0f;
    return p_log(prod) + t * ${horner("t", LGAMMA_P2)};
  }
  if (x >= 1.25f) { let t = x - 2.0f; return t * ${horner("t", LGAMMA_P2)}; }
  if (x >= 0.75f) { let t = x - 1.0f; return t * ${horner("t", LGAMMA_P1)}; }
  // lgamma(x) = lgamma(1 + x) - log(x), 1 + x never rounded: t = x or x - 1
  var l1: f32;
  if (x < 0.25f) { l1 = x * ${horner("x", LGAMMA_P1)}; } else { let t = x - 1.0f; l1 = t * ${horner("t", LGAMMA_P2)}; }
  return l1 - p_log(x);
}`, ["log"]],
  ["lgamma", `// lgamma: +inf at the poles (0 and the negative integers), reflection for x < 0
fn p_lgamma(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return x; }
  if (a == 0x7f800000u || a == 0u) { return ${INF}; }
  if ((u >> 31u) == 0u) { return p_lgammapos(x); }
  if (a >= 0x4b000000u) { return ${INF}; }
  let r = x - round(x);
  if (r == 0.0f) { return ${INF}; }
  let ax = -x;
  if (ax < 0.5f) { return p_lgammapos(1.0f + x) - p_log(ax); }
  return p_log(${PI_H} / (ax * abs(p_sinpi(r)))) - p_lgammapos(ax);
}`, ["lgammapos", "sinpi", "log", "f32bits"]],
  ["psi1", `// digamma(1 + y) for 0 <= y < 1, from y (1 + y is never rounded)
fn p_psi1(y: f32) -> f32 { let d = p_g(y - ${X0_M1}, p_opq(y)) - ${X0_L}; return d * ${horner("d", PSI_Q)}; }`, ["g", "opq"]],
  ["digammapos", `// digamma(x) for finite x > 0: d Q(d) around the root x0 on [1, 2), recurrences, the asymptotic series from 6
fn p_digammapos(x: f32) -> f32 {
  if (x >= 6.0f) {
    let w = 1.0f / x;
    let f = w * w;
    return p_log(x) - 0.5f * w - f * (0.0833333358168602f - f * (0.008333333767950535f - f * (0.003968254197388887f - f * (0.004166666883975267f - f * 0.007575757801532745f))));
  }
  if (x >= 2.0f) {
    var y = x;
    var s = 0.0f;
    loop {
      if (y < 2.0f) { break; }
      y = y - 1.0f;
      s = s + 1.0f / y;
    }
    let d = p_g(y - ${X0_H}, p_opq(x)) - ${X0_L};
    return d * ${horner("d", PSI_Q)} + s;
  }
  if (x >= 1.0f) { let d = p_g(x - ${X0_H}, p_opq(x)) - ${X0_L}; return d * ${horner("d", PSI_Q)}; }
  return p_psi1(x) - 1.0f / x;
}`, ["psi1", "log", "g", "opq"]],
  ["digamma", `// H.digamma: NaN at the poles (0 and the negative integers) and at -inf;
// x < 0 by reflection: digamma(x) = digamma(1 + y) + pi cot(pi y), y = -x
fn p_digamma(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u || u == 0x7f800000u) { return x; }
  if ((u >> 31u) == 0u && a != 0u) { return p_digammapos(x); }
  if (a >= 0x4b000000u) { return ${NAN}; }
  let r = x - round(x);
  if (r == 0.0f) { return ${NAN}; }
  let y = -x;
  let p1 = select(p_digammapos(1.0f + y), p_psi1(y), y < 1.0f);
  return p1 + ${PI_H} * p_cospi(-r) / p_sinpi(-r);
}`, ["digammapos", "psi1", "sinpi", "f32bits"]],
];
