// Tests of `random` (jax.random): the threefry2x32 primitive's known answers, keys and seeds,
// every vector of jax-reference.md §1.10 in both threefry modes (published by JAX, and the
// self-consistent ones, which real JAX 0.11.2 confirmed: see test/reference/jax-random.json),
// classic mode's size-dependent bits, and for the other samplers their properties: moments over
// 10^5 samples, support, shapes and dtypes, determinism, and JAX's errors. The rejection samplers
// (gamma and what uses it, poisson) trace: jit and vmap give the eager numbers key by key, and
// gamma's gradient in alpha (JAX's implicit reparameterisation) matches a float64 reference.
// Bits, keys and uniform are compared exactly; normal within 1 float32 ulp (XLA's erf_inv and
// Primal's round the last bit differently on about 1-5% of draws, jax-reference §1.8).

import { afterEach, describe, expect, it } from "vitest";
import { withConfig } from "../../kernel/core/config";
import { setDTypeWarningHandler, uint32 } from "../../kernel/core/dtype";
import { fromStorage } from "../../kernel/core/ndarray";
import { ShapedArray } from "../../kernel/core/aval";
import { bind } from "../../kernel/core/trace";
import { threefry2x32 } from "../../kernel/primitives/random";
import {
  ArgumentError, DTypeError, NDArray, NotAvailableError, PRNGKeyArray, PrimalError, ShapeError, ValueError, config, grad, jit, jvp, makeJaxpr, np, random, vmap,
} from "../../kernel/index";
import { randomGammaGrad } from "../../kernel/api/random-gamma";

const k0 = () => random.key(0);
const list = (x: NDArray | PRNGKeyArray): unknown => (x instanceof PRNGKeyArray ? random.keyData(x) : x).tolist();
const vals = (x: NDArray): number[] => Array.from(x.dataSync(), Number);
const classic = <T>(fn: () => T): T => withConfig("jax_threefry_partitionable", false, fn);
const u32 = (v: number[]) => fromStorage(new Uint32Array(v), new ShapedArray([v.length], uint32));

/** Distance in float32 ulps (through the ordered bit patterns). */
function ulps(a: number, b: number): number {
  const ord = (v: number) => {
    const i = new Int32Array(new Float32Array([v]).buffer)[0];
    return i < 0 ? -(i & 0x7fffffff) : i;
  };
  return Math.abs(ord(a) - ord(b));
}
function expectUlps(got: NDArray, want: number[], maxUlps = 1): void {
  const g = vals(got);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => expect(ulps(v, want[i]), `element ${i}: ${v} vs ${want[i]}`).toBeLessThanOrEqual(maxUlps));
}
function moments(x: NDArray): { mean: number; variance: number } {
  const g = vals(x);
  const mean = g.reduce((s, v) => s + v, 0) / g.length;
  return { mean, variance: g.reduce((s, v) => s + (v - mean) ** 2, 0) / g.length };
}

afterEach(() => config.update("jax_threefry_partitionable", true));

describe("threefry2x32 primitive", () => {
  it("reproduces the three known-answer tests (random_test.py::testThreefry2x32)", () => {
    const [y0, y1] = bind(threefry2x32, [
      u32([0, 0xffffffff, 0x13198a2e]), u32([0, 0xffffffff, 0x03707344]),
      u32([0, 0xffffffff, 0x243f6a88]), u32([0, 0xffffffff, 0x85a308d3]),
    ]);
    expect(vals(y0)).toEqual([0x6b200159, 0x1cb996fc, 0xc4923a9c]);
    expect(vals(y1)).toEqual([0x99ba4efe, 0xbb002be7, 0x483df7a0]);
  });
  it("broadcasts scalar keys against counters, and checks dtypes and shapes", () => {
    const zero = fromStorage(new Uint32Array([0]), new ShapedArray([], uint32));
    const [y0, y1] = bind(threefry2x32, [zero, zero, u32([0, 0]), u32([0, 0])]);
    expect(vals(y0)).toEqual([0x6b200159, 0x6b200159]);
    expect(vals(y1)).toEqual([0x99ba4efe, 0x99ba4efe]);
    expect(() => bind(threefry2x32, [np.array([1]), zero, zero, zero])).toThrow(/threefry2x32 must have uint32 type/);
    expect(() => bind(threefry2x32, [u32([1, 2]), u32([1, 2, 3]), zero, zero])).toThrow(ShapeError);
  });
});

describe("keys and seeds", () => {
  it("key(42) is a typed key over [0, 42] and prints like JAX", () => {
    const k = random.key(42);
    expect(k).toBeInstanceOf(PRNGKeyArray);
    expect(k.shape).toEqual([]);
    expect(String(k.dtype)).toBe("key<fry>");
    expect(list(k)).toEqual([0, 42]);
    expect(k.repr()).toBe("Array((), dtype=key<fry>) overlaying:\n[ 0 42]");
    expect(String(k)).toBe(k.repr());
    expect(random.split(k0()).repr()).toBe("Array((2,), dtype=key<fry>) overlaying:\n[[1797259609 2579123966]\n [ 928981903 3453687069]]");
  });
  it("PRNGKey(42) is the same bits as a raw uint32[2] array", () => {
    const r = random.PRNGKey(42);
    expect(r).toBeInstanceOf(NDArray);
    expect(r.dtype.name).toBe("uint32");
    expect(r.repr()).toBe("Array([ 0, 42], dtype=uint32)");
  });
  it("takes seeds as JAX does with x64 off: the low 32 bits as int32, high word 0", () => {
    expect(list(random.key(-1))).toEqual([0, 4294967295]);
    expect(list(random.key(2 ** 31 + 99))).toEqual([0, 2147483747]);
    expect(list(random.key(-(2 ** 31) - 100))).toEqual([0, 2147483548]);
    expect(list(random.key(2 ** 32 + 5))).toEqual([0, 5]);
    expect(list(random.key(np.array(7)))).toEqual([0, 7]);
    expect(list(random.key(np.array([-1], { dtype: "int8" }).get(0)))).toEqual([0, 4294967295]);
  });
  it("adds jax_random_seed_offset", () => {
    expect(withConfig("jax_random_seed_offset", 5, () => list(random.key(0)))).toEqual([0, 5]);
    expect(withConfig("jax_random_seed_offset", 1, () => list(random.key(-1)))).toEqual([0, 0]);
    expect(withConfig("jax_random_seed_offset", 3, () => list(random.PRNGKey(np.array(4))))).toEqual([0, 7]);
  });
  it("refuses bad seeds and implementations", () => {
    expect(() => random.key(1.5)).toThrow(DTypeError);
    expect(() => random.key(2 ** 64)).toThrow(/OverflowError/);
    expect(() => random.key(np.array([1, 2]))).toThrow(/accepts a scalar seed, but was given an array of shape \(2,\)/);
    expect(() => random.key(np.array(1.5))).toThrow(/seed must be an integer/);
    expect(() => random.key(k0() as never)).toThrow(/given a PRNG key/);
    expect(() => random.key(0, { impl: "rbg" })).toThrow(NotAvailableError);
    expect(() => random.key(0, { impl: "nope" })).toThrow(/unrecognized PRNG implementation "nope"/);
    expect(random.keyImpl(random.key(0, { impl: "threefry2x32" }))).toBe("threefry2x32");
  });
  it("converts with keyData / wrapKeyData, iterates, indexes and reshapes", () => {
    const ks = random.split(k0(), 4);
    const w = random.wrapKeyData(random.keyData(ks));
    expect(list(w)).toEqual(list(ks));
    const [a, , c] = ks;
    expect(list(a)).toEqual(list(ks.get(0)));
    expect(list(c)).toEqual(list(ks.get(2)));
    expect(ks.get("1:3").shape).toEqual([2]);
    expect(ks.reshape([2, 2]).shape).toEqual([2, 2]);
    expect(list(ks.reshape([2, 2]).get(1, 0))).toEqual(list(ks.get(2)));
    expect(() => [...k0()]).toThrow(/0-d key array/);
    expect(() => random.wrapKeyData(np.array([1, 2]))).toThrow(/key_data.dtype = uint32; got dtype=int32/);
    expect(() => random.wrapKeyData(u32([1, 2, 3]))).toThrow(/shape to end with \(2,\)/);
  });
  it("keeps the key form: typed in, typed out; raw in, raw out", () => {
    expect(random.split(k0())).toBeInstanceOf(PRNGKeyArray);
    expect(random.split(random.PRNGKey(0))).not.toBeInstanceOf(PRNGKeyArray);
    expect(random.foldIn(random.PRNGKey(0), 3)).not.toBeInstanceOf(PRNGKeyArray);
    expect(list(random.split(random.PRNGKey(0)))).toEqual(list(random.split(k0())));
    expect(vals(random.uniform(random.PRNGKey(3), [4]))).toEqual(vals(random.uniform(random.key(3), [4])));
  });
});

describe("§1.10 published vectors", () => {
  it("partitionable (the default): uniform doctests", () => {
    expect(random.uniform(k0()).item()).toBe(Math.fround(0.947667));
    expect(random.uniform(random.split(k0()).get(1)).item()).toBe(0.007293820381164551);
  });
  it("classic: uniform doctests of jax < 0.5", () => {
    classic(() => {
      expect(random.uniform(k0()).item()).toBe(0.41845703125);
      expect(random.uniform(random.split(k0()).get(1)).item()).toBe(0.105368971824646);
    });
  });
  it("classic: random_test.py bits, randint and split", () => {
    classic(() => {
      const k = random.key(1701);
      expect(list(random.bits(k, [3], "uint8"))).toEqual([216, 115, 43]);
      expect(list(random.bits(k, [3], "uint16"))).toEqual([41682, 1300, 55017]);
      expect(list(random.bits(k, [3], "uint32"))).toEqual([56197195, 4200222568, 961309823]);
      expect(list(random.randint(k0(), [3, 3], 0, 8))).toEqual([[2, 1, 3], [6, 1, 5], [6, 3, 4]]);
      expect(list(random.split(k0(), 4))).toEqual([[2285895361, 1501764800], [1518642379, 4090693311], [433833334, 4221794875], [839183663, 3740430601]]);
      expect(list(random.split(k0()))).toEqual([[4146024105, 967050713], [2718843009, 1272950319]]);
    });
  });
  it("split(key(0)) in partitionable mode starts with the first known-answer test", () => {
    expect(list(random.split(k0()))).toEqual([[1797259609, 2579123966], [928981903, 3453687069]]);
  });
  it("fold_in(key(0), 4) is the same in both modes", () => {
    expect(list(random.foldIn(k0(), 4))).toEqual([2285895361, 433833334]);
    expect(classic(() => list(random.foldIn(k0(), 4)))).toEqual([2285895361, 433833334]);
  });
});

describe("§1.10 self-consistent vectors (confirmed by JAX 0.11.2)", () => {
  it("partitionable", () => {
    expect(list(random.split(random.key(42)))).toEqual([[1832780943, 270669613], [64467757, 2916123636]]);
    expect(list(random.foldIn(random.key(42), 7))).toEqual([2547012911, 1371500959]);
    expect(list(random.bits(k0(), [5]))).toEqual([4070199207, 4202968722, 1427181096, 2012915765, 2447653815]);
    expect(list(random.bits(k0(), [5], "uint8"))).toEqual([167, 146, 40, 53, 183]);
    expect(list(random.bits(k0(), [5], "uint16"))).toEqual([20391, 13970, 3624, 43061, 15287]);
    expect(vals(random.uniform(k0(), [5]))).toEqual([0.947667, 0.9785799, 0.33229148, 0.46866846, 0.5698887].map(Math.fround));
    expectUlps(random.normal(k0(), [5]), [1.6226422, 2.0252647, -0.43359444, -0.07861735, 0.1760909]);
    expect(list(random.randint(k0(), [5], 0, 10))).toEqual([9, 0, 2, 3, 1]);
    expect(list(random.bernoulli(k0(), 0.5, [5]))).toEqual([false, false, true, true, false]);
    expect(random.categorical(k0(), np.log(np.array([0.1, 0.2, 0.7]))).item()).toBe(1);
    expect(list(random.permutation(k0(), 10))).toEqual([0, 1, 8, 5, 6, 4, 3, 2, 7, 9]);
  });
  it("classic equivalents (from JAX 0.11.2 in classic mode)", () => {
    classic(() => {
      expect(list(random.bits(k0(), [5]))).toEqual([2467461003, 428148500, 1688610540, 3840466878, 2562233961]);
      expect(list(random.bits(k0(), [5], "uint8"))).toEqual([143, 35, 95, 55, 29]);
      expect(list(random.bits(k0(), [5], "uint16"))).toEqual([20137, 63263, 64300, 20622, 16513]);
      expect(vals(random.uniform(k0(), [5]))).toEqual([0.5745004415512085, 0.09968602657318115, 0.39316022396087646, 0.8941782712936401, 0.5965665578842163]);
      expectUlps(random.normal(k0(), [5]), [0.18784384429454803, -1.2833425998687744, -0.2710916996002197, 1.2490594387054443, 0.2444700300693512]);
      expect(list(random.randint(k0(), [5], 0, 10))).toEqual([8, 1, 3, 8, 8]);
      expect(list(random.bernoulli(k0(), 0.5, [5]))).toEqual([false, true, true, false, false]);
      expect(random.categorical(k0(), np.log(np.array([0.1, 0.2, 0.7]))).item()).toBe(0);
      expect(list(random.permutation(k0(), 10))).toEqual([2, 7, 9, 6, 0, 8, 1, 3, 4, 5]);
    });
  });
  it("uint64 bits narrow to uint32 with JAX's x64-off warning", () => {
    const warnings: string[] = [];
    setDTypeWarningHandler((m) => warnings.push(m));
    try {
      const b = random.bits(k0(), [3], "uint64");
      expect(b.dtype.name).toBe("uint32");
      expect(list(b)).toEqual(list(random.bits(k0(), [3])));
      expect(warnings[0]).toMatch(/Explicitly requested dtype uint64 requested in bits is not available/);
    } finally {
      setDTypeWarningHandler((m) => process.emitWarning(m, "UserWarning"));
    }
  });
});

describe("the two modes' structure", () => {
  it("partitionable: child i of split is fold_in(key, i), and bits prefixes agree across sizes", () => {
    expect(random.bits(k0()).item()).toBe((0x6b200159 ^ 0x99ba4efe) >>> 0);
    const ks = random.split(random.key(9), 5);
    for (let i = 0; i < 5; i++) expect(list(ks.get(i))).toEqual(list(random.foldIn(random.key(9), i)));
    expect(vals(random.bits(k0(), [7], "uint16")).slice(0, 5)).toEqual(vals(random.bits(k0(), [5], "uint16")));
    expect(vals(random.bits(k0(), [2, 3])).slice(0, 5)).toEqual(vals(random.bits(k0(), [5])));
    expect(list(random.split(random.key(42), [2, 3]).get(1, 2))).toEqual(list(random.foldIn(random.key(42), 5)));
  });
  it("classic: bits depend on the total size (odd padding, first half paired with second)", () => {
    classic(() => {
      expect(list(random.bits(k0(), [7], "uint16"))).toEqual([20137, 63263, 1497, 14756, 16513, 41486, 44591]);
      expect(list(random.bits(k0(), [7], "uint8"))).toEqual([143, 35, 95, 55, 29, 21, 219]);
      // One word: the odd length is padded, so the counter pair is (0, 0) and the word is y0 of
      // the first known-answer test; partitionable mode gives y0 ^ y1 of the same hash.
      expect(vals(random.bits(k0(), [1]))).toEqual([0x6b200159]);
      expect(vals(random.bits(k0(), [3]))).toEqual([4146024105, 1351547692, 2718843009]);
      expect(list(random.split(random.key(42), [2, 3]))).toEqual([
        [[2768684296, 515161807], [1303553849, 4184444755], [416959680, 1163211924]],
        [[3055579793, 2323374536], [871308580, 1523113029], [1252189920, 1179259758]],
      ]);
    });
  });
  it("the mode is read at call time, and config's camelCase name works too", () => {
    const a = random.uniform(k0()).item();
    config.update("threefryPartitionable", false);
    expect(random.uniform(k0()).item()).toBe(0.41845703125);
    config.update("threefryPartitionable", true);
    expect(random.uniform(k0()).item()).toBe(a);
  });
});

describe("sampler properties (10^5 samples where cheap)", () => {
  const N = 100_000;
  const key = random.key(2024);
  it("uniform: [minval, maxval), mean and variance; minval > maxval gives minval, as JAX", () => {
    const u = random.uniform(key, [N]);
    const g = vals(u);
    expect(Math.min(...g)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...g)).toBeLessThan(1);
    const m = moments(u);
    expect(m.mean).toBeCloseTo(0.5, 2);
    expect(m.variance).toBeCloseTo(1 / 12, 2);
    const r = vals(random.uniform(key, [1000], { minval: -3, maxval: 5.5 }));
    expect(Math.min(...r)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...r)).toBeLessThan(5.5);
    expect(vals(random.uniform(key, [4], { minval: 1, maxval: 0 }))).toEqual([1, 1, 1, 1]);
  });
  it("normal, exponential, laplace, logistic, gumbel, cauchy: moments", () => {
    const n = moments(random.normal(key, [N]));
    expect(n.mean).toBeCloseTo(0, 1);
    expect(n.variance).toBeCloseTo(1, 1);
    const e = random.exponential(key, [N]);
    expect(Math.min(...vals(e))).toBeGreaterThanOrEqual(0);
    expect(moments(e).mean).toBeCloseTo(1, 1);
    expect(moments(random.laplace(key, [N])).variance).toBeCloseTo(2, 0);
    expect(moments(random.logistic(key, [N])).variance / (Math.PI ** 2 / 3)).toBeCloseTo(1, 1);
    expect(moments(random.gumbel(key, [N])).mean).toBeCloseTo(0.5772, 1);
    expect(moments(random.gumbel(key, [N], { mode: "high" })).mean).toBeCloseTo(0.5772, 1);
    const c = vals(random.cauchy(key, [N])).sort((a, b) => a - b);
    expect(c[N / 2]).toBeCloseTo(0, 1);
    expect(c[(3 * N) / 4]).toBeCloseTo(1, 1); // the upper quartile of Cauchy(0, 1) is tan(pi/4)
  });
  it("randint: range, mean, dtypes (int8/uint8 through int32, maxval 256 for uint8)", () => {
    const r = random.randint(key, [N], -5, 5);
    const g = vals(r);
    expect(Math.min(...g)).toBe(-5);
    expect(Math.max(...g)).toBe(4);
    expect(moments(r).mean).toBeCloseTo(-0.5, 1);
    const b = random.randint(key, [N], 0, 256, "uint8");
    expect(b.dtype.name).toBe("uint8");
    expect(Math.max(...vals(b))).toBe(255);
    expect(random.randint(key, [3], -128, 128, { dtype: "int8" }).dtype.name).toBe("int8");
    expect(vals(random.randint(key, [4], 5, 5))).toEqual([5, 5, 5, 5]);
    expect(vals(random.randint(key, [2, 3], np.array([[0], [100]]), np.array([10, 20, 30]))).slice(3)).toEqual([100, 100, 100]);
  });
  it("bernoulli: frequency p, shape from p, mode 'high'", () => {
    expect(moments(astypeF(random.bernoulli(key, 0.3, [N]))).mean).toBeCloseTo(0.3, 2);
    expect(moments(astypeF(random.bernoulli(key, 0.3, [N], "high"))).mean).toBeCloseTo(0.3, 2);
    const b = random.bernoulli(key, np.array([0, 1, 0, 1], { dtype: "float32" }));
    expect(b.dtype.name).toBe("bool");
    expect(b.tolist()).toEqual([false, true, false, true]);
  });
  it("categorical and choice with p: frequencies; choice without replacement: distinct", () => {
    const cat = vals(random.categorical(key, np.log(np.array([0.1, 0.2, 0.7])), { shape: [N] }));
    expect(cat.filter((v) => v === 2).length / N).toBeCloseTo(0.7, 2);
    const ch = vals(random.choice(key, 4, [N], true, np.array([1, 2, 3, 4])));
    expect(ch.filter((v) => v === 3).length / N).toBeCloseTo(0.4, 2); // p need not sum to 1
    const no = vals(random.choice(key, 50, [50], false));
    expect(new Set(no).size).toBe(50);
    const nop = vals(random.choice(key, 10, [10], false, np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1])));
    expect([...nop].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(random.categorical(key, np.array([[0, 1, 2, 3], [3, 2, 1, 0]], { dtype: "float32" }), { shape: [3, 2] }).shape).toEqual([3, 2]);
    expect(vals(random.categorical(key, np.array([0, 1, 2, 3, 0.5]), { shape: [5], replace: false })).sort()).toEqual([0, 1, 2, 3, 4]);
    // Integer logits are refused as in JAX (Gumbel noise needs a float dtype).
    expect(() => random.categorical(key, np.array([0, 1, 2]))).toThrow("dtype argument to `gumbel` must be a float dtype, got int32");
  });
  it("permutation: a permutation (two sort rounds above 1625 elements), of arrays along an axis", () => {
    const p = vals(random.permutation(key, 3000));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const x = np.arange(12).reshape([4, 3]);
    const rows = random.permutation(key, x).tolist() as number[][];
    expect(rows.map((r) => r[0] / 3).sort()).toEqual([0, 1, 2, 3]);
    expect(rows.every((r) => r[1] === r[0] + 1)).toBe(true);
    const ind = random.permutation(key, x, { axis: 1, independent: true }).tolist() as number[][];
    ind.forEach((r, i) => expect([...r].sort((a, b) => a - b)).toEqual([3 * i, 3 * i + 1, 3 * i + 2]));
    expect(random.permutation(key, 0).shape).toEqual([0]);
  });
  it("gamma, loggamma, beta, dirichlet, chisquare, t: moments and support", () => {
    const M = 20_000;
    for (const a of [0.3, 1, 4.5]) {
      const g = random.gamma(key, a, [M]);
      expect(Math.min(...vals(g))).toBeGreaterThanOrEqual(0);
      expect(moments(g).mean / a).toBeCloseTo(1, 1);
      expect(moments(g).variance / a).toBeCloseTo(1, 0);
    }
    const lg = vals(random.loggamma(key, 2.5, [1000]));
    expectUlps(np.exp(np.array(lg)), vals(random.gamma(key, 2.5, [1000])), 64);
    const b = random.beta(key, 2, 5, [M]);
    expect(moments(b).mean).toBeCloseTo(2 / 7, 2);
    const d = random.dirichlet(key, np.array([1, 2, 3]), [M]);
    expect(d.shape).toEqual([M, 3]);
    const rows = d.tolist() as number[][];
    expect(rows.every((r) => Math.abs(r[0] + r[1] + r[2] - 1) < 1e-5)).toBe(true);
    expect(rows.reduce((s, r) => s + r[2], 0) / M).toBeCloseTo(0.5, 2);
    expect(moments(random.chisquare(key, 3, [M])).mean / 3).toBeCloseTo(1, 1);
    expect(moments(random.t(key, 5, [M])).mean).toBeCloseTo(0, 1);
  });
  it("poisson: mean and variance lam on both branches, 0 for lam = 0", () => {
    for (const lam of [3, 30]) {
      const p = random.poisson(key, lam, [N]);
      expect(p.dtype.name).toBe("int32");
      expect(moments(p).mean / lam).toBeCloseTo(1, 2);
      expect(moments(p).variance / lam).toBeCloseTo(1, 1);
    }
    expect(vals(random.poisson(key, np.array([0, 0])))).toEqual([0, 0]);
    expect(random.poisson(key, 4, [5], "int16").dtype.name).toBe("int16");
  });
  it("truncated normal stays inside (lower, upper); multivariate normal has the covariance", () => {
    const tn = vals(random.truncatedNormal(key, -1, 2, [N]));
    expect(Math.min(...tn)).toBeGreaterThan(-1);
    expect(Math.max(...tn)).toBeLessThan(2);
    const cov = [[2, 0.5, 0.1], [0.5, 1, 0.2], [0.1, 0.2, 0.5]];
    const s = random.multivariateNormal(key, np.array([1, -1, 0]), np.array(cov), [N]).tolist() as number[][];
    const mean = [0, 1, 2].map((j) => s.reduce((a, r) => a + r[j], 0) / N);
    expect(mean[0]).toBeCloseTo(1, 1);
    expect(mean[1]).toBeCloseTo(-1, 1);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) expect(s.reduce((a, r) => a + (r[i] - mean[i]) * (r[j] - mean[j]), 0) / N).toBeCloseTo(cov[i][j], 1);
  });
  it("rademacher and pareto", () => {
    const r = vals(random.rademacher(key, [1000]));
    expect(new Set(r)).toEqual(new Set([-1, 1]));
    expect(Math.min(...vals(random.pareto(key, 3, [1000])))).toBeGreaterThanOrEqual(1);
  });
});

function astypeF(x: NDArray): NDArray {
  return x.astype("float32");
}

describe("shapes, dtypes, determinism", () => {
  it("shapes and dtypes, scalars and empty shapes", () => {
    const k = random.key(1);
    expect(random.uniform(k).shape).toEqual([]);
    expect(random.uniform(k, 3).shape).toEqual([3]);
    expect(random.normal(k, [2, 3], { dtype: "float16" }).dtype.name).toBe("float16");
    expect(random.uniform(k, [4], "bfloat16").dtype.name).toBe("bfloat16");
    expect(random.uniform(k, [0]).shape).toEqual([0]);
    expect(random.bits(k, [0, 3], "uint8").shape).toEqual([0, 3]);
    expect(classic(() => random.normal(k, [0]).shape)).toEqual([0]);
    expect(random.split(k, 0).shape).toEqual([0]);
    expect(random.gamma(k, np.ones([2, 0])).shape).toEqual([2, 0]);
    expect(random.choice(k, 5, [0]).shape).toEqual([0]);
    const f16 = vals(random.uniform(k, [1000], "float16"));
    expect(Math.max(...f16)).toBeLessThan(1);
  });
  it("the same key gives the same numbers; split children and fold_in data give different ones", () => {
    const a = vals(random.normal(random.key(5), [8]));
    expect(vals(random.normal(random.key(5), [8]))).toEqual(a);
    const [c1, c2] = random.split(random.key(5));
    expect(vals(random.normal(c1, [8]))).not.toEqual(vals(random.normal(c2, [8])));
    expect(vals(random.normal(random.foldIn(random.key(5), 1), [8]))).not.toEqual(a);
    expect(vals(random.gamma(random.key(5), 1.5, [8]))).toEqual(vals(random.gamma(random.key(5), 1.5, [8])));
  });
});

describe("errors", () => {
  const k = random.key(0);
  it("bad shapes and dtypes", () => {
    expect(() => random.uniform(k, [-1])).toThrow(ShapeError);
    expect(() => random.normal(k, [1.5])).toThrow(ShapeError);
    expect(() => random.bits(k, [3], "int32")).toThrow("dtype argument to `bits` must be an unsigned int dtype, got int32");
    expect(() => random.bits(k, [3], "float32")).toThrow(ValueError);
    expect(() => random.uniform(k, [3], "int32")).toThrow("dtype argument to `uniform` must be a float dtype, got int32");
    expect(() => random.normal(k, [3], "int32")).toThrow("must be a float or complex dtype, got int32");
    expect(() => random.randint(k, [3], 0, 5, "float32")).toThrow("randint only accepts integer dtypes, got float32");
    expect(() => random.bernoulli(k, np.array([1, 0]))).toThrow("bernoulli probability `p` must have a floating dtype, got int32.");
    expect(() => random.gumbel(k, [2], { mode: "medium" as "low" })).toThrow(/valid mode for gumbel got: medium/);
    expect(() => random.randint(k, [2], np.array([0, 1, 2]), 5)).toThrow(/Incompatible shapes for broadcasting/);
    expect(() => random.bernoulli(k, np.array([0.5, 0.5]), [3, 1])).toThrow(/result of broadcasting the shapes must equal the shape argument/);
  });
  it("choice: sample size, p's shape, shape as a sequence", () => {
    expect(() => random.choice(k, 3, [5], false)).toThrow("Cannot take a larger sample (size 5) than population (size 3) when 'replace=False'");
    expect(() => random.choice(k, 4, [2], true, np.array([0.5, 0.5]))).toThrow("p must be None or a 1D vector with the same size as a.shape[axis]. p has shape (2,) and a.shape[axis] is 4.");
    expect(() => random.choice(k, 4, 3 as never)).toThrow("shape argument of jax.random.choice must be a sequence, got 3");
    expect(() => random.choice(k, 0, [2])).toThrow("a must be greater than 0 unless no samples are taken");
  });
  it("keys: batched keys, bad raw keys, not a key", () => {
    expect(() => random.uniform(random.split(k), [2])).toThrow("uniform accepts a single key, but was given a key array of shape (2,) != (). Use vmap for batching.");
    expect(() => random.normal(np.array([1, 2]), [2])).toThrow(/key_data.dtype = uint32; got dtype=int32/);
    expect(() => random.normal(u32([1, 2, 3]), [2])).toThrow(/shape to end with \(2,\)/);
    expect(() => random.normal(42 as never, [2])).toThrow(/unexpected PRNG key type/);
    expect(() => random.foldIn(k, np.array([1, 2]))).toThrow(/fold_in accepts a scalar, but was given an array of shape \(2,\)/);
  });
  it("arguments: unknown options and values given twice", () => {
    expect(() => random.uniform(k, [2], { minvalue: 1 } as never)).toThrow(ArgumentError);
    expect(() => random.uniform(k, [2], "float32", { dtype: "float16" })).toThrow(/multiple values for argument dtype/);
    expect(() => random.categorical(k, np.array([1.5, 2.5]), { shape: [3], replace: false })).toThrow(/Number of samples without replacement \(3\) cannot exceed number of categories \(2\)/);
    expect(() => random.multivariateNormal(k, np.array([0, 0]), np.eye(3))).toThrow(/cov.shape == \(..., n, n\) for n=2, but got cov.shape == \(3, 3\)/);
    expect(() => random.multivariateNormal(k, np.array([0, 0]), np.eye(2), { method: "svd" })).toThrow(NotAvailableError);
    expect(() => random.dirichlet(k, 1.0)).toThrow("dirichlet requires alpha.ndim >= 1, got alpha.ndim == 0");
  });
  it("every error is a PrimalError", () => {
    expect(() => random.poisson(k, 3, [2], "float32")).toThrow(PrimalError);
  });
});

describe("tracing", () => {
  it("samplers trace with primitives only (makeJaxpr), with threefry2x32 in the jaxpr", async () => {
    const { makeJaxpr } = await import("../../kernel/index");
    const text = String(makeJaxpr((key: NDArray) => random.normal(key, [3]))(random.PRNGKey(0)));
    expect(text).toMatch(/threefry2x32/);
    expect(text).toMatch(/erf_inv/);
    for (const f of [
      (key: NDArray) => random.randint(key, [4], 0, 7),
      (key: NDArray) => random.permutation(key, 6),
      (key: NDArray) => random.choice(key, 5, [3], true, np.array([0.1, 0.2, 0.3, 0.2, 0.2])),
      (key: NDArray) => random.categorical(key, np.array([0.5, 1.0])),
      (key: NDArray) => random.keyData(random.split(key, 3)),
      (key: NDArray) => random.bits(key, [5], "uint8"),
    ]) expect(String(makeJaxpr(f)(random.PRNGKey(1)))).toMatch(/threefry2x32/);
    expect(String(classic(() => makeJaxpr((key: NDArray) => random.uniform(key, [5]))(random.PRNGKey(0))))).toMatch(/threefry2x32/);
  });
  it("gamma and poisson trace: random_gamma and while loops in the jaxpr, jit gives the eager numbers", () => {
    const text = String(makeJaxpr((key: NDArray) => random.gamma(key, 2.0, [3]))(random.PRNGKey(0)));
    expect(text).toMatch(/c:f32\[3\] = random_gamma\[log_space=False\] a b/);
    expect(String(makeJaxpr((key: NDArray) => random.loggamma(key, 2.0, [3]))(random.PRNGKey(0)))).toMatch(/random_gamma\[log_space=True\]/);
    const p = String(makeJaxpr((key: NDArray) => random.poisson(key, 2.0, [3]))(random.PRNGKey(0)));
    expect(p.match(/ = while\[/g)?.length).toBe(2); // Knuth's and the rejection loop, selected by rate
    expect(p).toMatch(/select_n/);
    for (const mode of [true, false])
      withConfig("jax_threefry_partitionable", mode, () => {
        const k = random.key(42);
        const cases: ((key: PRNGKeyArray) => NDArray)[] = [
          (key) => random.gamma(key, 2.0, [5]),
          (key) => random.gamma(key, np.array([0.5, 1, 4, 0.1]), [2, 4]),
          (key) => random.loggamma(key, 0.3, [6]),
          (key) => random.beta(key, 2, 3, [4]),
          (key) => random.dirichlet(key, np.array([1, 2, 3]), [2]),
          (key) => random.chisquare(key, 3, [4]),
          (key) => random.t(key, 5, [4]),
          (key) => random.poisson(key, 3.0, [8]),
          (key) => random.poisson(key, np.array([0, 1, 5, 50, 1000])),
          (key) => random.poisson(key, 4, [5], "int16"),
        ];
        for (const f of cases) expect(vals(jit(f)(k))).toEqual(vals(f(k)));
      });
  });
  it("vmap over keys (and over alphas, rates) gives each key's own samples, in both threefry modes", () => {
    for (const mode of [true, false])
      withConfig("jax_threefry_partitionable", mode, () => {
        const keys = random.split(random.key(7), 3);
        const per = (f: (key: PRNGKeyArray) => NDArray) => [0, 1, 2].flatMap((i) => vals(f(keys.get(i))));
        const cases: ((key: PRNGKeyArray) => NDArray)[] = [
          (key) => random.gamma(key, 2.0, [5]),
          (key) => random.loggamma(key, np.array([0.2, 3]), [2, 2]),
          (key) => random.dirichlet(key, np.array([1, 2, 3])),
          (key) => random.poisson(key, 3.0, [4]),
          (key) => random.poisson(key, 30.0, [4]),
        ];
        for (const f of cases) {
          expect(vals(vmap(f)(keys))).toEqual(per(f));
          expect(vals(vmap(jit(f))(keys))).toEqual(per(f));
        }
        const k = random.key(1);
        const alphas = [0.5, 1, 4, 0.1];
        const g = vmap((a: NDArray) => random.gamma(k, a, [2]))(np.array(alphas));
        expect(vals(g)).toEqual(alphas.flatMap((a) => vals(random.gamma(k, a, [2]))));
        const both = vmap((key: PRNGKeyArray, a: NDArray) => random.gamma(key, a))(keys, np.array([0.5, 1, 4]));
        expect(vals(both)).toEqual([0.5, 1, 4].flatMap((a, i) => vals(random.gamma(keys.get(i), a))));
        const lams = [2, 20, 0];
        expect(vals(vmap((lam: NDArray) => random.poisson(k, lam, [3]))(np.array(lams)))).toEqual(lams.flatMap((l) => vals(random.poisson(k, l, [3]))));
      });
  });
  it("jit takes and returns typed keys (pytree nodes) and gives the eager numbers", async () => {
    const { jit } = await import("../../kernel/index");
    const f = (key: PRNGKeyArray) => random.normal(key, [3]);
    expect(vals(jit(f)(random.key(0)))).toEqual(vals(f(random.key(0))));
    const s = jit((key: PRNGKeyArray) => random.split(key))(random.key(0));
    expect(s).toBeInstanceOf(PRNGKeyArray);
    expect(list(s)).toEqual(list(random.split(random.key(0))));
  });
  it("typed keys are pytree nodes over their data", async () => {
    const { tree } = await import("../../kernel/index");
    const leaves = tree.leaves(random.split(random.key(0), 3));
    expect(leaves.length).toBe(1);
    expect((leaves[0] as NDArray).shape).toEqual([3, 2]);
    const back = tree.map((x: NDArray) => x, random.key(7));
    expect(back).toBeInstanceOf(PRNGKeyArray);
    expect(list(back)).toEqual([0, 7]);
  });
});

// The reference for gamma's gradient, in float64: the regularised lower incomplete gamma P(a, x)
// (series below a + 1, Lentz's continued fraction of Q above) and the implicit derivative of a
// sample, dx/da = -(dP/da) / (dP/dx), with dP/da by central differences.
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
function lgamma64(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma64(1 - x);
  let s = LANCZOS[0];
  for (let i = 1; i < 9; i++) s += LANCZOS[i] / (x - 1 + i);
  const t = x + 6.5;
  return 0.5 * Math.log(2 * Math.PI) + (x - 0.5) * Math.log(t) - t + Math.log(s);
}
function igamma64(a: number, x: number): number {
  const lead = Math.exp(a * Math.log(x) - x - lgamma64(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10000 && Math.abs(term) > Math.abs(sum) * 1e-17; n++) sum += (term *= x / (a + n));
    return sum * lead;
  }
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = 1 / (an * d + b);
    c = b + an / c;
    h *= d * c;
    if (Math.abs(d * c - 1) < 1e-16) break;
  }
  return 1 - lead * h;
}
function dxda(a: number, x: number): number {
  const h = 1e-5 * a;
  return -((igamma64(a + h, x) - igamma64(a - h, x)) / (2 * h)) / Math.exp((a - 1) * Math.log(x) - x - lgamma64(a));
}
const f32 = (v: number | number[]) => np.array(v, { dtype: "float32" });

describe("gamma's gradient (implicit reparameterisation, JAX's random_gamma_grad)", () => {
  const key = random.key(3);
  it("matches -(dP/da) / (dP/dx) of the sample, per element, on both branches (series, continued fraction)", () => {
    for (const a of [0.05, 0.3, 1, 2.5, 10, 100]) {
      const xs = vals(random.gamma(key, a, [12]));
      const [, dx] = jvp((t: NDArray) => random.gamma(key, t, [12]), [f32(a)], [f32(1)]);
      const ref = xs.map((x) => dxda(Math.fround(a), x));
      vals(dx as NDArray).forEach((g, i) => expect(Math.abs(g - ref[i]) / Math.abs(ref[i]), `a=${a} x=${xs[i]}: ${g} vs ${ref[i]}`).toBeLessThan(1e-4));
      // Both branches are exercised: x > 1 and x > a (continued fraction), else the series.
      if (a === 2.5) expect(xs.some((x) => x > a) && xs.some((x) => x < a)).toBe(true);
    }
  });
  it("grad of a sum, loggamma (d log x = dx / x), and E[dx/da] = d E[x]/da = 1", () => {
    const a = f32(2.5);
    const xs = vals(random.gamma(key, 2.5, [12]));
    const [, dx] = jvp((t: NDArray) => random.gamma(key, t, [12]), [a], [f32(1)]);
    const g = vals(grad((t: NDArray) => random.gamma(key, t, [12]).sum())(a))[0];
    expect(g).toBeCloseTo(vals(dx as NDArray).reduce((s, v) => s + v, 0), 3);
    const [, dlog] = jvp((t: NDArray) => random.loggamma(key, t, [12]), [a], [f32(1)]);
    vals(dlog as NDArray).forEach((v, i) => expect(v).toBeCloseTo(vals(dx as NDArray)[i] / xs[i], 4));
    for (const alpha of [0.5, 3]) expect(vals(grad((t: NDArray) => random.gamma(key, t, [20_000]).mean())(f32(alpha)))[0]).toBeCloseTo(1, 1);
    // beta, dirichlet, chisquare and t are differentiable through their log-gamma draws.
    expect(Number.isFinite(vals(grad((t: NDArray) => random.beta(key, t, 3.0, [4]).sum())(f32(2)))[0])).toBe(true);
    expect(vals(grad((t: NDArray) => random.dirichlet(key, t).sum())(f32([1, 2, 3]))).every((v) => Math.abs(v) < 1e-5)).toBe(true);
  });
  it("composes with jit and vmap, and keeps float16 in float16", () => {
    const f = (t: NDArray) => random.gamma(key, t, [3]).sum();
    const g = vals(grad(f)(f32(1.5)));
    expect(vals(jit(grad(f))(f32(1.5)))).toEqual(g);
    expect(vals(grad(jit(f))(f32(1.5)))).toEqual(g);
    const alphas = [0.4, 1.5, 7];
    expect(vals(vmap(grad(f))(f32(alphas)))).toEqual(alphas.flatMap((a) => vals(grad(f)(f32(a)))));
    expect(String(makeJaxpr(grad(f))(f32(1.5)))).toMatch(/while\[/);
    // float16 samples (their own draws) get float16 derivatives, computed in float32 as JAX does.
    const a16 = np.array(1.5, { dtype: "float16" });
    const xs = vals(random.gamma(key, a16, [3], "float16"));
    const [, dx] = jvp((t: NDArray) => random.gamma(key, t, [3], "float16"), [a16], [np.array(1, { dtype: "float16" })]);
    expect((dx as NDArray).dtype.name).toBe("float16");
    vals(dx as NDArray).forEach((g, i) => expect(Math.abs(g - dxda(1.5, xs[i])) / Math.abs(g)).toBeLessThan(2e-3));
  });
  it("random_gamma_grad at the edges: 0 at x = 0, NaN for a <= 0, x < 0 or NaN", () => {
    const out = vals(randomGammaGrad(f32([2, 0, -1, 2, NaN, 2]), f32([0, 1, 1, -1, 1, NaN])));
    expect(out[0]).toBe(0);
    expect(out.slice(1).every(Number.isNaN)).toBe(true);
    const [a, x] = [[0.5, 3, 3, 50], [0.2, 0.5, 8, 49]];
    vals(randomGammaGrad(f32(a), f32(x))).forEach((g, i) => expect(Math.abs(g - dxda(Math.fround(a[i]), Math.fround(x[i]))) / Math.abs(g)).toBeLessThan(1e-4));
  });
});
