// Matmul, the core of the CPU's speed, from every side: float32 square matmuls in Primal, jax-js
// and TensorFlow.js (256-2048); Primal's scaling with threads, through the public API in child
// processes with PRIMAL_CPU_THREADS=1 and =2 (the process-wide GEMM fixes its thread count when
// it starts) and for the GEMM of kernel/backends/cpu/gemm.ts alone (operands already in its
// memory, which isolates the kernel from the copies in and out that np.matmul also pays); and
// NumPy's matmul (OpenBLAS, all cores) in a python3 subprocess, the yardstick the issue names,
// with the cores' AVX2 peak. Where python3 or NumPy is missing the report says so.

import { spawnSync } from "node:child_process";
import { np } from "../../kernel/index";
import { DEFAULT_BLOCKING, WasmSgemm, defaultShape, defaultThreads, hasRelaxedSimd } from "../../kernel/backends/cpu/gemm";
import { childMedians, matmulGflops, measure, measureAll, uniform } from "./measure";
import type { Peers } from "./peers";
import { Row, row } from "./workloads";

/** The square sizes of every matmul table. */
export const SIZES = [256, 512, 1024, 2048];

/** Square float32 matmuls; Primal's includes copying operands into the GEMM's memory and the result out. */
export async function matmulRows(peers: Peers): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of SIZES) {
    const av = uniform(n * n, 10 + n);
    const bv = uniform(n * n, 20 + n);
    const a = np.array(av).reshape([n, n]);
    const b = np.array(bv).reshape([n, n]);
    const jx = peers.jax?.lib;
    const ja = jx?.numpy.array(av).reshape([n, n]);
    const jb = jx?.numpy.array(bv).reshape([n, n]);
    const tf = peers.tf?.lib;
    const ta = tf?.tensor2d(av, [n, n]);
    const tb = tf?.tensor2d(bv, [n, n]);
    const big = n >= 2048;
    rows.push(
      await row(
        peers,
        "matmul",
        `${n}×${n}`,
        2 * n ** 3,
        "GFLOP/s",
        {
          primal: () => np.matmul(a, b),
          jax: jx && (() => jx.numpy.matmul(ja!.ref, jb!.ref)),
          tf: tf && (() => tf.matMul(ta!, tb!)),
          reference: n === 256 ? () => matmul64(av, bv, n) : undefined,
        },
        big ? { warmup: 1, minSamples: 3, maxSamples: 10, budgetMs: 1500 } : { budgetMs: 1200 },
      ),
    );
    ja?.dispose();
    jb?.dispose();
    ta?.dispose();
    tb?.dispose();
  }
  return rows;
}

/** C = A·B in float64, the reference the libraries' float32 results are checked against. */
function matmul64(a: Float32Array, b: Float32Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  return c;
}

/** The GEMM alone: GFLOP/s per size, on 1 thread and on the default count. */
export interface GemmThreads {
  threads: number;
  rows: { threads: number; gflops: number[] }[];
  kernel: string;
}

/** The GEMM alone on 1 thread and on the default count (at least 2), timed side by side per size. */
export async function gemmAlone(): Promise<GemmThreads> {
  const threads = Math.max(2, defaultThreads());
  const shape = defaultShape(hasRelaxedSimd());
  const counts = [1, threads];
  const gemms = counts.map((t) => new WasmSgemm(shape, DEFAULT_BLOCKING, t));
  const gflops: number[][] = counts.map(() => []);
  for (const n of SIZES) {
    const runs = gemms.map((g) => {
      const at = g.heap / 4;
      g.reserve(4 * 3 * n * n);
      g.f32.set(uniform(2 * n * n, 60 + n), at);
      const [a, b, c] = [0, 1, 2].map((i) => ({ offset: 4 * (at + i * n * n), rs: n, cs: 1 }));
      return () => g.run(n, n, n, a, b, c);
    });
    const big = n >= 2048;
    const ts = await measureAll(runs.map((fn, i) => ({ label: `GEMM ${n} on ${counts[i]} thread(s)`, fn })), big ? { warmup: 1, minSamples: 3, budgetMs: 1000 } : { budgetMs: 600 }, null);
    ts.forEach((t, i) => gflops[i].push(matmulGflops(n, t!.medianMs)));
  }
  const rows = counts.map((t, i) => ({ threads: t, gflops: gflops[i] }));
  for (const r of rows) console.log(`gemm alone, ${r.threads} thread(s): ${r.gflops.map((x) => x.toFixed(1)).join(" ")} GFLOP/s`);
  return { threads, rows, kernel: `${shape.mr}×${shape.nr} ${shape.relaxed ? "relaxed_madd" : "mul+add"}` };
}

/** Child mode: GFLOP/s of np.matmul 1024 under this process's PRIMAL_CPU_THREADS. */
export async function matmul1024Child(): Promise<number> {
  const n = 1024;
  const a = np.array(uniform(n * n, 70)).reshape([n, n]);
  const b = np.array(uniform(n * n, 71)).reshape([n, n]);
  const t = await measure(async () => {
    const c = np.matmul(a, b);
    await c.blockUntilReady();
    c.dispose();
  }, { budgetMs: 1200 });
  return matmulGflops(n, t.medianMs);
}

/** np.matmul 1024 GFLOP/s with 1 and 2 threads, each the median of 3 child processes. */
export interface MatmulScaling {
  one: number | null;
  two: number | null;
  error: string | null;
}

/** Runs the np.matmul 1024 children, 1 and 2 threads alternating. */
export function matmulScaling(): MatmulScaling {
  const r = childMedians([{ mode: "matmul-1024", env: { PRIMAL_CPU_THREADS: "1" } }, { mode: "matmul-1024", env: { PRIMAL_CPU_THREADS: "2" } }], 3);
  const [one, two] = "error" in r ? [null, null] : r.medians;
  const error = "error" in r ? r.error : null;
  console.log(`np.matmul 1024: 1 thread ${one?.toFixed(1)} GFLOP/s, 2 threads ${two?.toFixed(1)} GFLOP/s${error ? ` (${error})` : ""}`);
  return { one, two, error };
}

/** The 2-core AVX2 peak the issue states for this machine (2 cores × 2 FMA pipes × 8 lanes × 2 flops × ~2.8 GHz). */
export const AVX2_PEAK_GFLOPS = 180;

export interface NumpyResult {
  version: string;
  /** The BLAS NumPy was built with, in its own words. */
  blas: string;
  /** GFLOP/s by size (median after warm-up, same method as the rest of the benchmark). */
  gflops: Record<number, number>;
}

// Same timing rule as measure.ts: warm-up calls, then at least 5 timed calls and more while
// the budget lasts; the median.
const SCRIPT = `
import json, time, numpy as np
try:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    blas = (blas.get("openblas configuration") or blas.get("name") or "unknown").strip()
except Exception:
    blas = "unknown"
out = {"version": np.__version__, "blas": blas, "gflops": {}}
rng = np.random.default_rng(0)
for n in SIZES:
    a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    for _ in range(2): a @ b
    ts = []
    end = time.perf_counter() + 1.5
    while len(ts) < 5 or (time.perf_counter() < end and len(ts) < 60):
        t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
    ts.sort()
    out["gflops"][n] = 2 * n**3 / ts[len(ts) // 2] / 1e9
print(json.dumps(out))
`;

/** NumPy's matmul GFLOP/s at `sizes`, or the reason it could not be measured. */
export function numpyMatmul(sizes: number[]): NumpyResult | { error: string } {
  const r = spawnSync("python3", ["-c", SCRIPT.replace("SIZES", JSON.stringify(sizes))], { encoding: "utf8", timeout: 120_000 });
  if (r.error) return { error: `python3 could not run (${r.error.message})` };
  if (r.status !== 0) return { error: `python3 with NumPy failed: ${(r.stderr || "").trim().split("\n").pop()}` };
  try {
    const o = JSON.parse(r.stdout.trim().split("\n").pop()!) as { version: string; blas: string; gflops: Record<string, number> };
    const gflops: Record<number, number> = {};
    for (const [k, v] of Object.entries(o.gflops)) gflops[Number(k)] = v;
    return { version: o.version, blas: o.blas, gflops };
  } catch (e) {
    return { error: `unexpected output from the NumPy script (${(e as Error).message})` };
  }
}
