// Tests of `nn` (jax.nn) and `nn.initializers` (jax.nn.initializers):
//  - every activation against a float64 reference written here from JAX's formula, on float32
//    inputs (including the far tails, infinities and NaN), plus JAX's documented examples;
//  - derivatives: grad (and vmap of grad, so the batching rules run too) against float64
//    analytic derivatives, JAX's choices at the kinks (relu'(0) = 0, relu6'(0) = relu6'(6) = 0),
//    softmax's Jacobian, masked softmax gradients, standardize against float64 differences;
//  - dtypes (ints, float16), axis/where options, jit against eager;
//  - initializers: shapes, dtypes, bit-for-bit equality with JAX's recipe written out with
//    `random` (fans, the 0.8796... correction, uniform bounds), empirical variance against
//    JAX's formula within sampling tolerance, support, determinism per key, and JAX's errors.

import { describe, expect, it } from "vitest";
import {
  ArgumentError, AxisError, NDArray, ShapeError, ValueError, grad, jacrev, jit, lax, nn, np, random, vmap,
} from "../../kernel/index";

const init = nn.initializers;
const vals = (x: NDArray): number[] => Array.from(x.dataSync(), Number);
const f32 = (v: number[]) => np.array(v, { dtype: "float32" });

/** Elementwise |got - want| <= atol + rtol |want|, with NaN matching NaN and infinities equal. */
function expectClose(got: NDArray | number[], want: number[], rtol = 2e-6, atol = 1e-7): void {
  const g = Array.isArray(got) ? got : vals(got);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => {
    const w = want[i];
    const msg = `element ${i}: got ${v}, want ${w}`;
    if (Number.isNaN(w)) expect(Number.isNaN(v), msg).toBe(true);
    else if (!Number.isFinite(w)) expect(v, msg).toBe(w);
    else expect(Math.abs(v - w), msg).toBeLessThanOrEqual(atol + rtol * Math.abs(w));
  });
}

// ---- float64 references ----

const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
/** erf by its Taylor series (|x| < 3, ~1e-13) or 1 - erfc by the continued fraction. */
function erf(x: number): number {
  if (Math.abs(x) >= 3) return Math.sign(x) * (1 - erfc(Math.abs(x)));
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
/** erfc; for x >= 3 the continued fraction exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
function erfc(x: number): number {
  if (x < 3) return 1 - erf(x);
  let f = x;
  for (let k = 80; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
const Phi = (x: number) => 0.5 * erfc(-x / Math.SQRT2);
const phi = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
const C = Math.sqrt(2 / Math.PI);
const SELU_A = 1.6732632423543772848170429916717, SELU_S = 1.0507009873554804934193349852946;
const sech2 = (x: number) => 1 - Math.tanh(x) ** 2;

interface Ref {
  f: (x: NDArray) => NDArray;
  v: (x: number) => number;
  /** The derivative, away from the kinks. */
  d: (x: number) => number;
  /** Absolute tolerance of the value at x, where JAX's float32 formula itself cancels. */
  atol?: (x: number) => number;
}
const REFS: Record<string, Ref> = {
  relu: { f: nn.relu, v: (x) => (Number.isNaN(x) ? NaN : Math.max(x, 0)), d: (x) => (x > 0 ? 1 : 0) },
  relu6: { f: nn.relu6, v: (x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, 0), 6)), d: (x) => (x > 0 && x < 6 ? 1 : 0) },
  sigmoid: { f: nn.sigmoid, v: sig, d: (x) => sig(x) * (1 - sig(x)) },
  logSigmoid: { f: nn.logSigmoid, v: (x) => -softplus(-x), d: (x) => sig(-x) },
  softplus: { f: nn.softplus, v: softplus, d: sig },
  silu: { f: nn.silu, v: (x) => x * sig(x), d: (x) => sig(x) + x * sig(x) * (1 - sig(x)) },
  mish: {
    f: nn.mish, v: (x) => x * Math.tanh(softplus(x)), d: (x) => Math.tanh(softplus(x)) + x * sech2(softplus(x)) * sig(x),
  },
  // (x + sqrt(x^2 + 4)) / 2 cancels for x << 0 in float32 (as in JAX): error ~ eps |x|.
  squareplus: {
    f: (x) => nn.squareplus(x), v: (x) => (x + Math.sqrt(x * x + 4)) / 2, d: (x) => (1 + x / Math.sqrt(x * x + 4)) / 2,
    atol: (x) => 1e-7 + 2 ** -23 * Math.abs(x),
  },
  sparsePlus: {
    f: nn.sparsePlus, v: (x) => (x <= -1 ? 0 : x >= 1 ? x : (x + 1) ** 2 / 4), d: (x) => (x <= -1 ? 0 : x >= 1 ? 1 : (x + 1) / 2),
  },
  sparseSigmoid: { f: nn.sparseSigmoid, v: (x) => 0.5 * Math.min(Math.max(x + 1, 0), 2), d: (x) => (Math.abs(x) < 1 ? 0.5 : 0) },
  geluTanh: {
    f: (x) => nn.gelu(x),
    v: (x) => 0.5 * x * (1 + Math.tanh(C * (x + 0.044715 * x ** 3))),
    d: (x) => {
      const u = C * (x + 0.044715 * x ** 3);
      return 0.5 * (1 + Math.tanh(u)) + 0.5 * x * sech2(u) * C * (1 + 3 * 0.044715 * x * x);
    },
  },
  geluErf: { f: (x) => nn.gelu(x, false), v: (x) => x * Phi(x), d: (x) => Phi(x) + x * phi(x) },
  elu: { f: (x) => nn.elu(x), v: (x) => (x > 0 ? x : Math.expm1(x)), d: (x) => (x > 0 ? 1 : Math.exp(x)) },
  elu05: { f: (x) => nn.elu(x, { alpha: 0.5 }), v: (x) => (x > 0 ? x : 0.5 * Math.expm1(x)), d: (x) => (x > 0 ? 1 : 0.5 * Math.exp(x)) },
  celu: { f: (x) => nn.celu(x), v: (x) => Math.max(x, 0) + Math.expm1(Math.min(x, 0)), d: (x) => (x > 0 ? 1 : Math.exp(x)) },
  celu2: {
    f: (x) => nn.celu(x, 2), v: (x) => Math.max(x, 0) + 2 * Math.expm1(Math.min(x, 0) / 2), d: (x) => (x > 0 ? 1 : Math.exp(x / 2)),
  },
  selu: { f: nn.selu, v: (x) => SELU_S * (x > 0 ? x : SELU_A * Math.expm1(x)), d: (x) => SELU_S * (x > 0 ? 1 : SELU_A * Math.exp(x)) },
  leakyRelu: { f: (x) => nn.leakyRelu(x), v: (x) => (x >= 0 ? x : 0.01 * x), d: (x) => (x >= 0 ? 1 : 0.01) },
  leakyRelu02: { f: (x) => nn.leakyRelu(x, 0.2), v: (x) => (x >= 0 ? x : 0.2 * x), d: (x) => (x >= 0 ? 1 : 0.2) },
  hardTanh: { f: nn.hardTanh, v: (x) => Math.min(Math.max(x, -1), 1), d: (x) => (Math.abs(x) < 1 ? 1 : 0) },
  hardSigmoid: { f: nn.hardSigmoid, v: (x) => Math.min(Math.max(x + 3, 0), 6) / 6, d: (x) => (Math.abs(x) < 3 ? 1 / 6 : 0) },
  hardSilu: {
    f: nn.hardSilu, v: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
    d: (x) => Math.min(Math.max(x + 3, 0), 6) / 6 + (Math.abs(x) < 3 ? x / 6 : 0),
  },
  softSign: { f: nn.softSign, v: (x) => x / (Math.abs(x) + 1), d: (x) => 1 / (1 + Math.abs(x)) ** 2 },
  identity: { f: nn.identity, v: (x) => x, d: () => 1 },
  tanh: { f: nn.tanh, v: Math.tanh, d: (x) => sech2(x) },
};

/** Inputs away from every kink (0, +-1, +-3, 6), in float32. */
const SMOOTH = [-30, -7.3, -4.1, -2.5, -1.2, -0.7, -0.3, -1e-3, 2e-3, 0.2, 0.6, 0.9, 1.4, 2.8, 5.1, 6.6, 12, 30].map(Math.fround);
/** The kinks and the non-finite values too. */
const SPECIAL = [0, -0, 1, -1, 3, -3, 6, -6, 100, -100, Infinity, -Infinity, NaN];

describe("activations: values against float64 references", () => {
  for (const [name, r] of Object.entries(REFS)) {
    it(name, () => {
      const xs = [...SMOOTH, ...SPECIAL];
      const out = r.f(f32(xs));
      expect(out.dtype.name).toBe("float32");
      expect(out.shape).toEqual([xs.length]);
      // (tanh(inf) etc. are exact; 1e-7 absolute covers values near 0.)
      if (!r.atol) expectClose(out, xs.map(r.v), 4e-6, 1e-7);
      else vals(out).forEach((v, i) => expectClose([v], [r.v(xs[i])], 4e-6, r.atol!(xs[i])));
    });
  }

  it("relu on JAX's documented example, and relu/relu6 propagate NaN", () => {
    expect(nn.relu(f32([-2, -1, -0.5, 0, 0.5, 1, 2])).tolist()).toEqual([0, 0, 0, 0, 0.5, 1, 2]);
    expect(vals(nn.relu(f32([NaN, -Infinity, Infinity])))).toEqual([NaN, 0, Infinity]);
    expect(vals(nn.relu6(f32([NaN, -Infinity, Infinity, 7])))).toEqual([NaN, 0, 6, 6]);
  });

  it("stay stable in the tails (no overflow to inf or NaN)", () => {
    expect(vals(nn.softplus(f32([1000, -1000])))).toEqual([1000, 0]);
    expect(vals(nn.logSigmoid(f32([-1000, 1000])))).toEqual([-1000, -0]);
    expect(vals(nn.sigmoid(f32([-1000, 1000])))).toEqual([0, 1]);
    expect(vals(nn.silu(f32([-1000]))).map((v) => v === 0)).toEqual([true]);
  });

  it("keep JAX's dtypes: ints stay ints where jnp keeps them, floats keep their width", () => {
    const i = np.array([-2, 0, 3, 8]);
    expect(nn.relu(i).dtype.name).toBe("int32");
    expect(nn.relu(i).tolist()).toEqual([0, 0, 3, 8]);
    // relu6's bound is JAX's float 6.: ints give float32 (JAX: min(max(x, 0), 6.)).
    expect(nn.relu6(i).dtype.name).toBe("float32");
    expect(nn.relu6(i).tolist()).toEqual([0, 0, 3, 6]);
    expect(nn.hardSigmoid(i).dtype.name).toBe("float32");
    expect(nn.hardTanh(i).dtype.name).toBe("int32");
    expect(nn.hardTanh(i).tolist()).toEqual([-1, 0, 1, 1]);
    expect(nn.leakyRelu(i).dtype.name).toBe("float32");
    expect(nn.elu(i).dtype.name).toBe("float32");
    expect(nn.gelu(i).dtype.name).toBe("float32");
    expect(nn.sigmoid(i).dtype.name).toBe("float32");
    expect(nn.softmax(i).dtype.name).toBe("float32");
    const h = np.array([-1.5, 0.25, 2], { dtype: "float16" });
    for (const f of [nn.relu, nn.relu6, nn.hardSigmoid, nn.sigmoid, nn.softplus, nn.silu, (x: NDArray) => nn.gelu(x), (x: NDArray) => nn.gelu(x, false), nn.selu, nn.elu, nn.softmax, nn.logSoftmax])
      expect(f(h).dtype.name).toBe("float16");
    expectClose(nn.gelu(h, { approximate: false }), [-1.5 * Phi(-1.5), 0.25 * Phi(0.25), 2 * Phi(2)], 2e-3, 1e-3);
    // A JS scalar works as in JAX (a weakly typed float).
    expectClose([nn.sigmoid(0.5).item() as number], [sig(0.5)]);
  });

  it("gelu: approximate is positional or an option; the two forms differ by < 1e-3", () => {
    const x = f32(SMOOTH.slice(1, -2));
    expect(vals(nn.gelu(x, true))).toEqual(vals(nn.gelu(x)));
    expect(vals(nn.gelu(x, { approximate: false }))).toEqual(vals(nn.gelu(x, false)));
    const diff = vals(nn.gelu(x)).map((v, i) => Math.abs(v - vals(nn.gelu(x, false))[i]));
    expect(Math.max(...diff)).toBeLessThan(1e-3);
    expect(Math.max(...diff)).toBeGreaterThan(1e-5);
    expect(() => nn.gelu(x, { approximate: 1 as any })).toThrow(ArgumentError);
  });

  it("selu uses JAX's constants: selu(-inf) = -scale * alpha, selu(1) = scale", () => {
    expectClose(nn.selu(f32([-Infinity, 1])), [-SELU_S * SELU_A, SELU_S]);
  });

  it("glu splits the axis in halves: a * sigmoid(b)", () => {
    const x = np.arange(12, { dtype: "float32" }).reshape(2, 6).mul(0.25).sub(1);
    const xs = vals(x);
    const want: number[] = [];
    for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) want.push(xs[r * 6 + c] * sig(xs[r * 6 + c + 3]));
    expect(nn.glu(x).shape).toEqual([2, 3]);
    expectClose(nn.glu(x), want);
    const want0: number[] = [];
    for (let c = 0; c < 6; c++) want0.push(xs[c] * sig(xs[6 + c]));
    expectClose(nn.glu(x, 0), want0);
    expectClose(nn.glu(x, { axis: 0 }), want0);
    expect(() => nn.glu(np.ones([2, 5]))).toThrow(/divisible by 2/);
    expect(() => nn.glu(x, 2)).toThrow(AxisError);
  });
});

describe("activations: derivatives", () => {
  for (const [name, r] of Object.entries(REFS)) {
    it(`${name}: grad and vmap(grad) against the analytic derivative`, () => {
      const xs = SMOOTH.filter((x) => Math.abs(x) < 20);
      const want = xs.map(r.d);
      const g = vmap(grad((x: NDArray) => r.f(x)))(f32(xs));
      expectClose(g, want, 2e-5, 1e-6);
      // One scalar through plain grad.
      expectClose([grad((x: NDArray) => r.f(x))(xs[4]).item() as number], [want[4]], 2e-5, 1e-6);
    });
  }

  it("relu'(0) = 0 (JAX's custom_jvp), relu6'(0) = relu6'(6) = 0, and their second derivatives are 0", () => {
    const at = (f: (x: NDArray) => NDArray, xs: number[]) => vals(vmap(grad(f))(f32(xs)));
    expect(at(nn.relu, [-1, 0, 1e-30, 1])).toEqual([0, 0, 1, 1]);
    expect(at(nn.relu6, [-1, 0, 3, 6, 7])).toEqual([0, 0, 1, 0, 0]);
    // hard_sigmoid = relu6(x + 3) / 6 inherits the kink rule at -3 and 3.
    expect(at(nn.hardSigmoid, [-3, 0, 3])).toEqual([0, 1 / 6, 0].map(Math.fround));
    expect(vals(vmap(grad(grad(nn.relu)))(f32([-1, 0, 1])))).toEqual([0, 0, 0]);
    // The derivative at NaN is 0, as JAX's select(x > 0, g, 0).
    expect(grad(nn.relu)(NaN).item()).toBe(0);
  });

  it("second derivatives of sigmoid, softplus (away from 0) and gelu", () => {
    const xs = [-2.5, -0.3, 0, 0.9, 4].map(Math.fround);
    expectClose(vmap(grad(grad(nn.sigmoid)))(f32(xs)), xs.map((x) => sig(x) * (1 - sig(x)) * (1 - 2 * sig(x))), 2e-5, 1e-6);
    const ys = xs.filter((x) => x !== 0);
    expectClose(vmap(grad(grad(nn.softplus)))(f32(ys)), ys.map((x) => sig(x) * (1 - sig(x))), 2e-5, 1e-6);
    // gelu (erf form): d2/dx2 x Phi(x) = phi(x) (2 - x^2).
    expectClose(vmap(grad(grad((x: NDArray) => nn.gelu(x, false))))(f32(xs)), xs.map((x) => phi(x) * (2 - x * x)), 2e-5, 1e-6);
  });
  // softplus''(0) = sigmoid'(0) = 1/4 and logSigmoid''(0) = -1/4, from logaddexp's custom jvp
  // (t1 exp(x1 - out) + t2 exp(x2 - out)), as in JAX; max/abs alone would give 0 at the tie.
  it("second derivatives at 0 of softplus and logSigmoid", () => {
    expect(grad(grad(nn.softplus))(0).item()).toBeCloseTo(0.25, 6);
    expect(grad(grad(nn.logSigmoid))(0).item()).toBeCloseTo(-0.25, 6);
    expect(Number.isFinite(grad((x: NDArray) => np.logaddexp(x, Infinity))(1).item())).toBe(true);
    expect(grad((x: NDArray) => np.logaddexp(x, 2))(2).item()).toBeCloseTo(0.5, 6);
  });

  it("gradients are finite in the far tails", () => {
    for (const f of [nn.softplus, nn.logSigmoid, nn.sigmoid, nn.silu, nn.mish, nn.elu, nn.selu, nn.celu, (x: NDArray) => nn.gelu(x), (x: NDArray) => nn.gelu(x, false)]) {
      const g = vals(vmap(grad(f))(f32([-1000, -80, 80, 1000])));
      expect(g.every(Number.isFinite), String(g)).toBe(true);
    }
  });
});

// ---- softmax, logSoftmax, logsumexp ----

/** Row-wise softmax of a [rows][cols] table along `axis` (0: columns, 1: rows) in float64. */
function softmaxRef(t: number[][], axis: 0 | 1): number[][] {
  const T = (m: number[][]) => m[0].map((_, j) => m.map((row) => row[j]));
  const rows = axis === 1 ? t : T(t);
  const out = rows.map((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
  return axis === 1 ? out : T(out);
}
/** log_softmax along `axis` in float64: x - max - log(sum(exp(x - max))), finite where softmax underflows. */
function logSoftmaxRef(t: number[][], axis: 0 | 1): number[][] {
  const T = (m: number[][]) => m[0].map((_, j) => m.map((row) => row[j]));
  const rows = axis === 1 ? t : T(t);
  const out = rows.map((r) => {
    const m = Math.max(...r);
    const lse = Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
    return r.map((v) => v - m - lse);
  });
  return axis === 1 ? out : T(out);
}
const TABLE = [
  [0.5, -1.25, 3, 0.0625],
  [-2, 7.5, 7.5, -0.75],
  [1000, 1001, 999, -1000],
].map((r) => r.map(Math.fround));

describe("softmax and logSoftmax", () => {
  it("match float64 references along each axis, with large inputs (no overflow)", () => {
    const x = f32(TABLE.flat());
    const x2 = x.reshape(3, 4);
    expectClose(nn.softmax(x2), softmaxRef(TABLE, 1).flat());
    expectClose(nn.softmax(x2, -1), softmaxRef(TABLE, 1).flat());
    expectClose(nn.softmax(x2, 0), softmaxRef(TABLE, 0).flat());
    expectClose(nn.softmax(x2, { axis: 0 }), softmaxRef(TABLE, 0).flat());
    expectClose(nn.logSoftmax(x2), logSoftmaxRef(TABLE, 1).flat(), 2e-6, 2e-6);
    expectClose(nn.logSoftmax(x2, 0), logSoftmaxRef(TABLE, 0).flat(), 2e-6, 2e-6);
    // Several axes (and null = all) normalise over all of them.
    const all = TABLE.flat();
    const m = Math.max(...all);
    const s = all.reduce((a, v) => a + Math.exp(v - m), 0);
    expectClose(nn.softmax(x2, [0, 1]), all.map((v) => Math.exp(v - m) / s));
    expectClose(nn.softmax(x2, null), all.map((v) => Math.exp(v - m) / s));
    expectClose(nn.logSoftmax(x2, { axis: [0, 1] }), all.map((v) => v - m - Math.log(s)), 2e-6, 2e-6);
  });

  it("rows sum to one; the output has the input's shape", () => {
    const x = random.normal(random.key(3), [5, 7]).mul(4);
    const s = nn.softmax(x);
    expect(s.shape).toEqual([5, 7]);
    expectClose(np.sum(s, -1), new Array(5).fill(1), 2e-6);
    expectClose(np.sum(np.exp(nn.logSoftmax(x)), -1), new Array(5).fill(1), 4e-6);
  });

  it("where: masked-out entries give 0 (softmax) and -inf (logSoftmax); others normalise among the kept", () => {
    const x = f32([1, 2, 3, 4]);
    const mask = np.array([true, false, true, false]);
    const e1 = Math.exp(1 - 3), e3 = 1;
    expectClose(nn.softmax(x, { where: mask }), [e1 / (e1 + e3), 0, e3 / (e1 + e3), 0]);
    expectClose(nn.logSoftmax(x, { where: mask }), [Math.log(e1 / (e1 + e3)), -Infinity, Math.log(e3 / (e1 + e3)), -Infinity], 2e-6, 2e-6);
    // A row masked out entirely gives zeros, not NaN.
    const x2 = f32([1, 2, 3, 4, 5, 6]).reshape(2, 3);
    const m2 = np.array([[true, true, false], [false, false, false]]);
    const s2 = vals(nn.softmax(x2, { axis: 1, where: m2 }));
    expectClose(s2.slice(0, 3), [1 / (1 + Math.E), Math.E / (1 + Math.E), 0]);
    expect(s2.slice(3)).toEqual([0, 0, 0]);
    // The mask broadcasts.
    expectClose(nn.softmax(x2, { where: np.array([true, false, true]) }), [
      ...softmaxRef([[1, 3]], 1)[0].flatMap((v, i) => (i === 0 ? [v, 0] : [v])),
      ...softmaxRef([[4, 6]], 1)[0].flatMap((v, i) => (i === 0 ? [v, 0] : [v])),
    ]);
  });

  it("the Jacobian of softmax is diag(s) - s s^T (through the stop_gradient of the max)", () => {
    const xs = [0.3, -1.2, 2.5, 0.9].map(Math.fround);
    const s = softmaxRef([xs], 1)[0];
    const want = s.flatMap((si, i) => s.map((sj, j) => si * ((i === j ? 1 : 0) - sj)));
    const J = jacrev((x: NDArray) => nn.softmax(x))(f32(xs)) as NDArray;
    expect(J.shape).toEqual([4, 4]);
    expectClose(J, want, 1e-5, 1e-7);
  });

  it("grad of sum(w * logSoftmax(x)) is w - softmax(x) sum(w); vmap over rows matches axis -1", () => {
    const xs = [0.3, -1.2, 2.5, 0.9].map(Math.fround);
    const w = [1, -2, 0.5, 3];
    const s = softmaxRef([xs], 1)[0];
    const sw = w.reduce((a, b) => a + b, 0);
    const g = grad((x: NDArray) => np.sum(nn.logSoftmax(x).mul(f32(w))))(f32(xs));
    expectClose(g, w.map((wi, i) => wi - s[i] * sw), 1e-5, 1e-6);
    const x = f32(TABLE.flat()).reshape(3, 4);
    expectClose(vmap((r: NDArray) => nn.softmax(r))(x), vals(nn.softmax(x)), 1e-7, 0);
    expectClose(vmap((r: NDArray) => nn.logSoftmax(r), { inAxes: 1, outAxes: 1 })(x), vals(nn.logSoftmax(x, 0)), 1e-7, 0);
  });

  it("masked gradients: the masked entries get zero gradient, the rest the softmax of the kept", () => {
    const mask = np.array([true, false, true, true]);
    const xs = [0.3, 50, 2.5, 0.9].map(Math.fround);
    const w = [1, 7, -1, 2];
    const kept = [0, 2, 3];
    const s = softmaxRef([kept.map((i) => xs[i])], 1)[0];
    const sw = kept.reduce((a, i) => a + w[i], 0);
    const g = vals(grad((x: NDArray) => np.sum(np.where(mask, nn.logSoftmax(x, { where: mask }), 0).mul(f32(w))))(f32(xs)));
    const want = [0, 0, 0, 0];
    kept.forEach((i, k) => (want[i] = w[i] - s[k] * sw));
    expectClose(g, want, 1e-5, 1e-6);
  });

  it("jit gives the eager values", () => {
    const x = f32(TABLE.flat()).reshape(3, 4);
    expect(vals(jit((a: NDArray) => nn.softmax(a))(x))).toEqual(vals(nn.softmax(x)));
    expect(vals(jit((a: NDArray) => nn.gelu(a))(x))).toEqual(vals(nn.gelu(x)));
  });

  it("logsumexp is np.logsumexp", () => {
    expect(nn.logsumexp).toBe(np.logsumexp);
    const r = TABLE[2];
    const m = Math.max(...r);
    expectClose(nn.logsumexp(f32(r)), [m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0))]);
  });

  it("reject bad options", () => {
    expect(() => nn.softmax(f32([1, 2]), { axes: 0 } as any)).toThrow(ArgumentError);
    expect(() => nn.softmax(f32([1, 2]), 0, { axis: 0 })).toThrow(/multiple values/);
    expect(() => nn.softmax(f32([1, 2]), 1)).toThrow(AxisError);
    expect(() => nn.softmax(f32([1, 2]), { where: np.array([true, false, true]) })).toThrow(ShapeError);
  });
});

// ---- standardize ----

function standardizeRef(rows: number[][], eps = 1e-5, mask?: boolean[][]): number[][] {
  return rows.map((r, i) => {
    const keep = r.map((_, j) => (mask ? mask[i][j] : true));
    const n = keep.filter(Boolean).length;
    const m = r.reduce((a, v, j) => a + (keep[j] ? v : 0), 0) / n;
    const v = r.reduce((a, x, j) => a + (keep[j] ? x * x : 0), 0) / n - m * m;
    return r.map((x) => (x - m) / Math.sqrt(v + eps));
  });
}

describe("standardize", () => {
  const rows = [
    [0.5, -1.25, 3, 0.0625, 2],
    [-2, 7.5, 7.25, -0.75, 1],
  ].map((r) => r.map(Math.fround));

  it("matches (x - mean) / sqrt(E[x^2] - mean^2 + eps) along the last axis by default", () => {
    const x = f32(rows.flat()).reshape(2, 5);
    expectClose(nn.standardize(x), standardizeRef(rows).flat(), 1e-5, 1e-6);
    const T = (m: number[][]) => m[0].map((_, j) => m.map((row) => row[j]));
    expectClose(nn.standardize(x, 0), T(standardizeRef(T(rows))).flat(), 1e-5, 1e-6);
    expectClose(nn.standardize(x, { axis: 0, epsilon: 0.5 }), T(standardizeRef(T(rows), 0.5)).flat(), 1e-5, 1e-6);
  });

  it("uses a given mean and variance, and a where mask", () => {
    const x = f32(rows[0]);
    expectClose(nn.standardize(x, { mean: 1, variance: 4 }), rows[0].map((v) => (v - 1) / Math.sqrt(4 + 1e-5)), 1e-6);
    const mask = [[true, false, true, true, false]];
    expectClose(nn.standardize(x, { where: np.array(mask[0]) }), standardizeRef([rows[0]], 1e-5, mask)[0], 1e-5, 1e-6);
  });

  it("its gradient matches float64 central differences", () => {
    const w = [1, -0.5, 2, 0.25, -1];
    const F = (r: number[]) => standardizeRef([r])[0].reduce((a, v, i) => a + v * w[i], 0);
    const h = 1e-6;
    const want = rows[0].map((_, i) => {
      const p = [...rows[0]], m = [...rows[0]];
      p[i] += h;
      m[i] -= h;
      return (F(p) - F(m)) / (2 * h);
    });
    expectClose(grad((x: NDArray) => np.sum(nn.standardize(x).mul(f32(w))))(f32(rows[0])), want, 2e-4, 2e-5);
  });
});

// ---- oneHot ----

describe("oneHot", () => {
  it("JAX's documented examples", () => {
    const a = nn.oneHot(np.array([0, 1, 2]), 3);
    expect(a.dtype.name).toBe("float32");
    expect(a.tolist()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(nn.oneHot(np.array([-1, 3]), 3).tolist()).toEqual([[0, 0, 0], [0, 0, 0]]);
  });

  it("axis, dtype, n-d inputs and float labels", () => {
    const x = np.array([[0, 2], [1, 1]]);
    const h = nn.oneHot(x, 3);
    expect(h.shape).toEqual([2, 2, 3]);
    expect(h.tolist()).toEqual([[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]);
    const h0 = nn.oneHot(x, 3, { axis: 0, dtype: "int32" });
    expect(h0.dtype.name).toBe("int32");
    expect(h0.shape).toEqual([3, 2, 2]);
    expect(h0.tolist()).toEqual([[[1, 0], [0, 0]], [[0, 0], [1, 1]], [[0, 1], [0, 0]]]);
    expect(nn.oneHot(x, 3, { axis: 1 }).shape).toEqual([2, 3, 2]);
    expect(nn.oneHot(np.array([1, 0]), 2, { dtype: "bool" }).tolist()).toEqual([[false, true], [true, false]]);
    // Float labels compare exactly: 1.5 is no class.
    expect(nn.oneHot(f32([1, 1.5]), 3).tolist()).toEqual([[0, 1, 0], [0, 0, 0]]);
    expect(nn.oneHot(2, 4).tolist()).toEqual([0, 0, 1, 0]);
    expect(nn.oneHot(np.array([0, 1]), 0).shape).toEqual([2, 0]);
  });

  it("batches under vmap and traces under jit", () => {
    const x = np.array([[0, 2], [1, 3]]);
    expect(vmap((r: NDArray) => nn.oneHot(r, 4))(x).tolist()).toEqual(nn.oneHot(x, 4).tolist());
    expect(jit((r: NDArray) => nn.oneHot(r, 4))(x).tolist()).toEqual(nn.oneHot(x, 4).tolist());
  });

  it("rejects a bad class count or axis", () => {
    expect(() => nn.oneHot(np.array([0]), 2.5)).toThrow(ValueError);
    expect(() => nn.oneHot(np.array([0]), -1)).toThrow(ValueError);
    expect(() => nn.oneHot(np.array([0]), 2, { axis: 2 })).toThrow(AxisError);
    expect(() => nn.oneHot(np.array([0]), 2, { axes: 0 } as any)).toThrow(ArgumentError);
  });
});

// ---- initializers ----

describe("initializers", () => {
  const key = random.key(42);
  const stats = (x: NDArray) => {
    const v = vals(x);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean, variance: v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length, min: Math.min(...v), max: Math.max(...v), n: v.length };
  };
  const sqrt32 = (v: number) => Math.fround(Math.sqrt(Math.fround(v)));

  it("zeros, ones and constant: shapes and dtypes", () => {
    const z = init.zeros(key, [2, 3]);
    expect(z.shape).toEqual([2, 3]);
    expect(z.dtype.name).toBe("float32");
    expect(vals(z)).toEqual(new Array(6).fill(0));
    expect(init.ones(key, [4], "int32").tolist()).toEqual([1, 1, 1, 1]);
    expect(init.ones(key, 2, { dtype: "float16" }).dtype.name).toBe("float16");
    const c = init.constant(-0.5)(key, [2, 2]);
    expect(c.dtype.name).toBe("float32");
    expect(c.tolist()).toEqual([[-0.5, -0.5], [-0.5, -0.5]]);
    expect(init.constant(3, "int32")(key, [3]).tolist()).toEqual([3, 3, 3]);
    expect(init.constant(3, { dtype: "int32" })(key, [3], "float32").dtype.name).toBe("float32");
    // Raw keys work too.
    expect(init.zeros(random.PRNGKey(0), [1]).tolist()).toEqual([0]);
  });

  it("normal, uniform and truncatedNormal are JAX's sampler times the scale, bit for bit", () => {
    const s = [64, 32];
    expect(vals(init.normal()(key, s))).toEqual(vals(lax.mul(random.normal(key, s), np.array(0.01, { dtype: "float32" }))));
    expect(vals(init.normal(0.5)(key, s))).toEqual(vals(random.normal(key, s).mul(0.5)));
    expect(vals(init.uniform(2)(key, s))).toEqual(vals(random.uniform(key, s).mul(2)));
    expect(vals(init.uniform({ scale: 2 })(key, s))).toEqual(vals(random.uniform(key, s).mul(2)));
    expect(vals(init.truncatedNormal(0.1)(key, s))).toEqual(vals(random.truncatedNormal(key, -2, 2, s).mul(Math.fround(0.1))));
    expect(vals(init.truncatedNormal(0.1, { lower: -1, upper: 3 })(key, s))).toEqual(vals(random.truncatedNormal(key, -1, 3, s).mul(Math.fround(0.1))));
    const u = stats(init.uniform()(key, [10000]));
    expect(u.min).toBeGreaterThanOrEqual(0);
    expect(u.max).toBeLessThan(0.01);
    const t = stats(init.truncatedNormal(1)(key, [10000]));
    expect(t.min).toBeGreaterThan(-2);
    expect(t.max).toBeLessThan(2);
  });

  it("dtype from the factory, overridable per call", () => {
    expect(init.normal(1, "float16")(key, [3]).dtype.name).toBe("float16");
    expect(init.normal(1, "float16")(key, [3], "bfloat16").dtype.name).toBe("bfloat16");
    expect(init.glorotNormal({ dtype: "float16" })(key, [3, 4]).dtype.name).toBe("float16");
    expect(init.heUniform()(key, [3, 4], "bfloat16").dtype.name).toBe("bfloat16");
    expect(init.lecunNormal()(key, [3, 4]).dtype.name).toBe("float32");
  });

  /** JAX's variance_scaling recipe, written out with random and lax (float32). */
  function recipe(k: NDArray | ReturnType<typeof random.key>, shape: number[], scale: number, denom: number, dist: string): number[] {
    const variance = np.array(scale / denom, { dtype: "float32" });
    if (dist === "truncated_normal")
      return vals(lax.mul(random.truncatedNormal(k, -2, 2, shape), lax.div(lax.sqrt(variance), np.array(0.87962566103423978, { dtype: "float32" }))));
    if (dist === "normal") return vals(lax.mul(random.normal(k, shape), lax.sqrt(variance)));
    return vals(lax.mul(random.uniform(k, shape, "float32", -1), lax.sqrt(lax.mul(np.array(3, { dtype: "float32" }), variance))));
  }

  it("the glorot/he/lecun presets follow JAX's variance_scaling recipe exactly (dense and conv shapes)", () => {
    const dense = [20, 30];
    const conv = [3, 3, 16, 8]; // HWIO: receptive field 9, fan_in 144, fan_out 72
    const cases: [string, (...a: any[]) => any, number, "in" | "out" | "avg", string][] = [
      ["glorotUniform", init.glorotUniform, 1, "avg", "uniform"],
      ["xavierUniform", init.xavierUniform, 1, "avg", "uniform"],
      ["glorotNormal", init.glorotNormal, 1, "avg", "truncated_normal"],
      ["xavierNormal", init.xavierNormal, 1, "avg", "truncated_normal"],
      ["lecunUniform", init.lecunUniform, 1, "in", "uniform"],
      ["lecunNormal", init.lecunNormal, 1, "in", "truncated_normal"],
      ["heUniform", init.heUniform, 2, "in", "uniform"],
      ["kaimingUniform", init.kaimingUniform, 2, "in", "uniform"],
      ["heNormal", init.heNormal, 2, "in", "truncated_normal"],
      ["kaimingNormal", init.kaimingNormal, 2, "in", "truncated_normal"],
    ];
    for (const [name, f, scale, mode, dist] of cases) {
      for (const [shape, fi, fo] of [[dense, 20, 30], [conv, 144, 72]] as [number[], number, number][]) {
        const denom = mode === "in" ? fi : mode === "out" ? fo : (fi + fo) / 2;
        const got = f()(key, shape) as NDArray;
        expect(got.shape, name).toEqual(shape);
        expect(vals(got), `${name} ${shape}`).toEqual(recipe(key, shape, scale, denom, dist));
      }
    }
  });

  it("varianceScaling: modes, distributions, inAxis/outAxis/batchAxis (positional or options)", () => {
    const s = [4, 6, 10];
    // Default axes: in = -2 (6), out = -1 (10), receptive field 4.
    expect(vals(init.varianceScaling(1, "fan_in", "normal")(key, s))).toEqual(recipe(key, s, 1, 24, "normal"));
    expect(vals(init.varianceScaling(3, "fan_out", "uniform")(key, s))).toEqual(recipe(key, s, 3, 40, "uniform"));
    expect(vals(init.varianceScaling(0.5, "fan_avg", "truncated_normal")(key, s))).toEqual(recipe(key, s, 0.5, 32, "truncated_normal"));
    // batchAxis 0 drops the 4 from the receptive field.
    expect(vals(init.varianceScaling(1, "fan_in", "normal", { batchAxis: [0] })(key, s))).toEqual(recipe(key, s, 1, 6, "normal"));
    expect(vals(init.varianceScaling(1, "fan_in", "normal", -2, -1, 0)(key, s))).toEqual(recipe(key, s, 1, 6, "normal"));
    // inAxis 0 and outAxis 1: receptive field 10.
    expect(vals(init.varianceScaling(1, "fan_out", "normal", 0, 1)(key, s))).toEqual(recipe(key, s, 1, 60, "normal"));
    // Several in axes.
    expect(vals(init.varianceScaling(1, "fan_in", "normal", { inAxis: [0, 1] })(key, s))).toEqual(recipe(key, s, 1, 24, "normal"));
    expect(vals(init.glorotUniform(0, 1)(key, s))).toEqual(recipe(key, s, 1, 50, "uniform"));
    expect(vals(init.heNormal({ inAxis: -1, outAxis: -2 })(key, s))).toEqual(recipe(key, s, 2, 40, "truncated_normal"));
  });

  it("empirical variance matches JAX's formula; uniform and truncated normal stay in their bounds", () => {
    const shape = [200, 300];
    const n = 200 * 300;
    const cases: [NDArray, number, number][] = [
      // [sample, expected variance, bound on |x| or Infinity]
      [init.glorotUniform()(key, shape), 2 / 500, sqrt32(3 * (2 / 500))],
      [init.glorotNormal()(key, shape), 2 / 500, (2 * Math.sqrt(2 / 500)) / 0.87962566103423978],
      [init.heUniform()(key, shape), 2 / 200, sqrt32(3 * (2 / 200))],
      [init.heNormal()(key, shape), 2 / 200, (2 * Math.sqrt(2 / 200)) / 0.87962566103423978],
      [init.lecunUniform()(key, shape), 1 / 200, sqrt32(3 / 200)],
      [init.lecunNormal()(key, shape), 1 / 200, (2 * Math.sqrt(1 / 200)) / 0.87962566103423978],
      [init.varianceScaling(2, "fan_out", "normal")(key, shape), 2 / 300, Infinity],
      [init.normal(0.3)(key, shape), 0.09, Infinity],
    ];
    for (const [x, want, bound] of cases) {
      const st = stats(x);
      expect(st.n).toBe(n);
      // Relative standard error of a sample variance is about sqrt(2 / n) = 0.6%; 5 sigma.
      expect(Math.abs(st.variance / want - 1), `variance ${st.variance} vs ${want}`).toBeLessThan(5 * Math.sqrt(2 / n));
      expect(Math.abs(st.mean), `mean ${st.mean}`).toBeLessThan(5 * Math.sqrt(want / n));
      if (Number.isFinite(bound)) {
        expect(st.max).toBeLessThanOrEqual(bound * (1 + 1e-6));
        expect(st.min).toBeGreaterThanOrEqual(-bound * (1 + 1e-6));
        // And the bound is nearly reached.
        expect(st.max).toBeGreaterThan(bound * 0.98);
      }
    }
  });

  it("is deterministic per key and differs across keys", () => {
    const f = init.glorotNormal();
    expect(vals(f(random.key(7), [8, 8]))).toEqual(vals(f(random.key(7), [8, 8])));
    const [k1, k2] = random.split(random.key(7));
    expect(vals(f(k1, [8, 8]))).not.toEqual(vals(f(k2, [8, 8])));
    // A raw key with the same seed draws the same values.
    expect(vals(f(random.PRNGKey(7), [8, 8]))).toEqual(vals(f(random.key(7), [8, 8])));
  });

  it("work under jit and vmap over keys", () => {
    const f = init.heNormal();
    const k = random.PRNGKey(5);
    expect(vals(jit((kk: NDArray) => f(kk, [4, 5]))(k))).toEqual(vals(f(k, [4, 5])));
    const keys = random.split(k, 3);
    const batched = vmap((kk: NDArray) => f(kk, [4, 5]))(keys);
    expect(batched.shape).toEqual([3, 4, 5]);
    expect(vals(batched).slice(20, 40)).toEqual(vals(f(keys.get(1), [4, 5])));
  });

  it("JAX's errors", () => {
    expect(() => init.glorotNormal()(key, [5])).toThrow(/Can't compute input and output sizes of a 1-dimensional weights tensor/);
    expect(() => init.heUniform()(key, [])).toThrow(ShapeError);
    expect(() => init.varianceScaling(1, "fan_sum" as any, "normal")(key, [2, 2])).toThrow(/invalid mode for variance scaling initializer/);
    expect(() => init.varianceScaling(1, "fan_in", "cauchy" as any)(key, [2, 2])).toThrow(/invalid distribution for variance scaling initializer/);
    expect(() => init.glorotUniform()(key, [2, 2], "int32")).toThrow(ValueError);
    expect(() => init.glorotUniform({ inAxes: 0 } as any)).toThrow(ArgumentError);
    expect(() => init.varianceScaling(1, "fan_in", "normal", { inAxis: 3 })(key, [2, 2])).toThrow(AxisError);
  });
});
