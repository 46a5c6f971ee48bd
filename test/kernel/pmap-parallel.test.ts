// pmap's shards side by side (backends/cpu/shard-parallel.ts) against the shard-by-shard
// lockstep path (setPmapParallel(false)) and against host float64 references: matmuls (plain,
// batched, with an operand that must be permuted, with weights replicated to every device),
// big elementwise kernels and reductions, a collective between side-by-side matmuls, and the
// gradient of a data-parallel MLP step. Four logical devices on this machine's cores, so more
// shards than threads (rounds, products dealt round-robin) is covered. The side-by-side results
// must equal the lockstep ones bit for bit (the same GEMM records and kernels run, on other
// threads); no timing is asserted (the speed-up is test/bench/pmap.ts's business). This is the
// executor pmap uses when the devices have no threads of their own (PRIMAL_CPU_DEVICE_THREADS=0,
// set here): with them, the programs between collectives run on the devices' threads
// (test/kernel/pmap.test.ts, device-threads.test.ts).

import { afterEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.PRIMAL_CPU_DEVICES = "4";
  process.env.PRIMAL_CPU_DEVICE_THREADS = "0";
});

import { NDArray, grad, lax, np, pmap } from "../../kernel/index";
import { setPmapParallel } from "../../kernel/transforms/pmap";
import { runShards, shardStats } from "../../kernel/backends/cpu/shard-parallel";
import { heap, startKernelThreads } from "../../kernel/backends/cpu/wasm-kernels";
import { ShapedArray } from "../../kernel/core/aval";
import { float32 } from "../../kernel/core/dtype";
import { dotGeneral } from "../../kernel/primitives/contraction";
import { tanh } from "../../kernel/primitives/unary";
import { rng } from "./helpers/rng";

type Fn = (...args: any[]) => any;
const D = 4;
const rand = rng(9876);
/** Whether this machine has worker threads (more than one CPU): only then do shards run side by side. */
const threaded = startKernelThreads();

function randArray(shape: number[], scale = 1): [NDArray, Float32Array] {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (rand() * 2 - 1) * scale;
  return [np.array(v).reshape(shape), v];
}
const data = (x: unknown): Float32Array => (x as NDArray).dataSync() as Float32Array;

/** Runs f side by side and shard by shard; both results, and how many equations each side-by-side path took. */
function bothPaths(f: () => unknown): { par: Float32Array[]; seq: Float32Array[]; dots: number; kernels: number } {
  const flat = (r: unknown): Float32Array[] => (Array.isArray(r) ? r.map(data) : [data(r)]);
  const before = { ...shardStats };
  setPmapParallel(true);
  const par = flat(f());
  const dots = shardStats.dot - before.dot;
  const kernels = shardStats.kernel - before.kernel;
  setPmapParallel(false);
  const seq = flat(f());
  setPmapParallel(true);
  return { par, seq, dots, kernels };
}

function expectSameBits(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, k) => {
    expect(x.length).toBe(b[k].length);
    const bad = x.findIndex((v, i) => !Object.is(v, b[k][i]));
    if (bad >= 0) throw new Error(`output ${k} element ${bad}: side by side ${x[bad]}, shard by shard ${b[k][bad]}`);
  });
}

function expectClose(got: Float32Array, want: Float64Array | number[], tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++)
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]}`);
}

/** C[s] = A[s] · B[s] (or B when it is shared) in float64. */
function matmul64(a: Float32Array, b: Float32Array, S: number, M: number, K: number, N: number, bShared: boolean): Float64Array {
  const c = new Float64Array(S * M * N);
  for (let s = 0; s < S; s++)
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++) {
        const aik = a[(s * M + i) * K + k];
        const bo = (bShared ? 0 : s * K * N) + k * N;
        for (let j = 0; j < N; j++) c[(s * M + i) * N + j] += aik * b[bo + j];
      }
  return c;
}

afterEach(() => setPmapParallel(true));

describe("matmuls side by side", () => {
  it("one matmul per device: the same bits as shard by shard, and the float64 product", () => {
    const [M, K, N] = [64, 256, 96];
    const [a, av] = randArray([D, M, K]);
    const [b, bv] = randArray([D, K, N]);
    const f = pmap((x: NDArray, y: NDArray) => np.matmul(x, y));
    const r = bothPaths(() => f(a, b));
    expect(r.dots).toBe(threaded ? 1 : 0);
    expectSameBits(r.par, r.seq);
    expectClose(r.par[0], matmul64(av, bv, D, M, K, N, false), 1e-4);
  });

  it("weights replicated to every device (inAxes [0, null]) and a batched matmul per device", () => {
    const [S, M, K, N] = [3, 40, 128, 72];
    const [x, xv] = randArray([D, S, M, K]);
    const [w, wv] = randArray([K, N]);
    const f = pmap((v: NDArray, ww: NDArray) => np.matmul(v, ww), { inAxes: [0, null] });
    const r = bothPaths(() => f(x, w));
    expect(r.dots).toBe(threaded ? 1 : 0);
    expectSameBits(r.par, r.seq);
    expectClose(r.par[0], matmul64(xv, wv, D * S, M, K, N, true), 1e-4);
  });

  it("an operand whose contracting axes do not collapse to one stride (permuted first)", () => {
    // lhs [64, 8, 96] contracts axes 1 and 2... as (8, 96) against rhs [8, 96, 40] axes 0, 1.
    const [P, Q, M, N] = [8, 96, 64, 40];
    const [x, xv] = randArray([D, Q, M, P]);
    const [y, yv] = randArray([D, P, Q, N]);
    // Per shard: lhs [Q, M, P] contracting (0, 2) with rhs [P, Q, N] contracting (1, 0).
    const f = pmap((u: NDArray, v: NDArray) => lax.dotGeneral(u, v, [[[0, 2], [1, 0]], [[], []]]));
    const r = bothPaths(() => f(x, y));
    expect(r.dots).toBe(threaded ? 1 : 0);
    expectSameBits(r.par, r.seq);
    const want = new Float64Array(D * M * N);
    for (let s = 0; s < D; s++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let acc = 0;
          for (let q = 0; q < Q; q++) for (let p = 0; p < P; p++) acc += xv[((s * Q + q) * M + i) * P + p] * yv[((s * P + p) * Q + q) * N + j];
          want[(s * M + i) * N + j] = acc;
        }
    expectClose(r.par[0], want, 1e-4);
  });

  it("small matmuls stay shard by shard", () => {
    const [a] = randArray([D, 8, 8]);
    const r = bothPaths(() => pmap((x: NDArray) => np.matmul(x, x))(a));
    expect(r.dots).toBe(0);
    expectSameBits(r.par, r.seq);
  });

  it("a psum between side-by-side matmuls", () => {
    const [M, K] = [48, 160];
    const [a, av] = randArray([D, M, K], 0.5);
    const [w, wv] = randArray([K, K], 0.5);
    const f = pmap((x: NDArray, ww: NDArray) => np.matmul(lax.psum(np.matmul(x, ww), "i"), ww), { axisName: "i", inAxes: [0, null] });
    const r = bothPaths(() => f(a, w));
    expect(r.dots).toBe(threaded ? 2 : 0);
    expectSameBits(r.par, r.seq);
    const h = matmul64(av, wv, D, M, K, K, true);
    const summed = new Float64Array(M * K);
    for (let s = 0; s < D; s++) for (let i = 0; i < M * K; i++) summed[i] += h[s * M * K + i];
    const once = matmul64(Float32Array.from(summed), wv, 1, M, K, K, true);
    const want = new Float64Array(D * M * K);
    for (let s = 0; s < D; s++) want.set(once, s * M * K);
    expectClose(r.par[0], want, 1e-3);
  });
});

describe("elementwise kernels and reductions side by side", () => {
  it("a transcendental chain on 2^18 points per device", () => {
    const n = 1 << 18;
    const [x, xv] = randArray([D, n], 3);
    const f = pmap((v: NDArray) => np.tanh(v).mul(2).add(1));
    const r = bothPaths(() => f(x));
    expect(r.kernels).toBe(threaded ? 3 : 0);
    expectSameBits(r.par, r.seq);
    expectClose(r.par[0], Array.from(xv, (v) => 2 * Math.tanh(v) + 1), 1e-5);
  });

  it("a row sum of a 512 x 512 shard", () => {
    const [x, xv] = randArray([D, 512, 512]);
    const f = pmap((v: NDArray) => np.sum(v, 1));
    const r = bothPaths(() => f(x));
    expect(r.kernels).toBe(threaded ? 1 : 0);
    expectSameBits(r.par, r.seq);
    const want = new Float64Array(D * 512);
    for (let i = 0; i < D * 512; i++) for (let j = 0; j < 512; j++) want[i] += xv[i * 512 + j];
    expectClose(r.par[0], want, 1e-4);
  });
});

describe("a data-parallel training step side by side", () => {
  it("pmap(grad) of an MLP with pmean of the gradients: the same bits either way", () => {
    const [B, I, H, O] = [64, 128, 128, 16];
    const [x] = randArray([D, B, I]);
    const [y] = randArray([D, B, O]);
    const [w1] = randArray([I, H], 0.1);
    const [w2] = randArray([H, O], 0.1);
    const loss = (p: NDArray[], xb: NDArray, yb: NDArray) => {
      const h = np.tanh(np.matmul(xb, p[0]));
      return np.mean(np.square(np.matmul(h, p[1]).sub(yb)));
    };
    const step = pmap(
      (p: NDArray[], xb: NDArray, yb: NDArray) => (grad(loss as Fn)(p, xb, yb) as NDArray[]).map((g) => lax.pmean(g, "i")),
      { axisName: "i", inAxes: [null, 0, 0] },
    );
    const r = bothPaths(() => step([w1, w2], x, y));
    // Big enough (4·2·64·128·128 flops): x·w1 and its weight gradient xᵀ·dh; the products with
    // w2 (16 columns) are 8 times smaller and run shard by shard.
    expect(r.dots).toBe(threaded ? 2 : 0);
    expectSameBits(r.par, r.seq);
  });
});

describe("sharding and stacking through views of host arrays", () => {
  it("an identity body and a shard-swapping ppermute give the input back, stacked along axis 0 or 1", () => {
    const [x, xv] = randArray([D, 5, 3]);
    expect(Array.from(data(pmap((v: NDArray) => v)(x)))).toEqual(Array.from(xv));
    const perm = Array.from({ length: D }, (_, i) => [i, (i + 1) % D] as [number, number]);
    const moved = data(pmap((v: NDArray) => lax.ppermute(v, "i", perm), { axisName: "i", outAxes: 1 })(x));
    // out[r, s, c] = x[(s - 1) mod D, r, c]
    const want: number[] = [];
    for (let r = 0; r < 5; r++) for (let s2 = 0; s2 < D; s2++) for (let c = 0; c < 3; c++) want.push(xv[(((s2 + D - 1) % D) * 5 + r) * 3 + c]);
    expect(Array.from(moved)).toEqual(want);
  });
});

describe("runShards itself", () => {
  it("frees every region it takes, and declines one shard", () => {
    const used = heap().used;
    const blocks = heap().blocks;
    const [, av] = randArray([64, 128]);
    const [, bv] = randArray([128, 96]);
    const host = (data: Float32Array, shape: number[]) => ({ data, shape, dtype: float32 });
    const params = { dimension_numbers: [[[1], [0]], [[], []]], precision: null, preferred_element_type: null };
    const out = [new ShapedArray([64, 96], float32)];
    // b replicated to all four shards (one storage object: placed once).
    const shards = Array.from({ length: D }, () => [host(av, [64, 128]), host(bv, [128, 96])]);
    const res = runShards(dotGeneral, shards, params, out);
    expect(res === null).toBe(!threaded);
    if (res) {
      const want = matmul64(av, bv, 1, 64, 128, 96, true);
      for (const [c] of res) expectClose(c as Float32Array, want, 1e-4);
    }
    const [, xv] = randArray([1 << 18], 2);
    const t = runShards(tanh, Array.from({ length: D }, () => [host(xv, [1 << 18])]), {}, [new ShapedArray([1 << 18], float32)]);
    if (t) for (const [c] of t) expectClose(c as Float32Array, Array.from(xv, Math.tanh), 1e-5);
    expect(runShards(dotGeneral, shards.slice(0, 1), params, out)).toBeNull();
    expect([heap().used, heap().blocks]).toEqual([used, blocks]);
  });
});
