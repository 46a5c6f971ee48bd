// The array workloads of `npm run bench -- --backend webgpu`: Primal on webgpu:0 and jax-js on
// its webgpu device, on the same adapter, side by side: square float32 matmuls (1024 by
// default; `--sizes` adds others, 4096 on a real GPU), the fused elementwise chain
// tanh(x*2+1)*x, and the sum/max/logsumexp reductions, the same workloads as the CPU bench.
//
// "Ready" means computed on the device, not copied back: Primal waits with its client's
// syncSync() (every command sent has run; NDArray.blockUntilReady would also download the
// array), jax-js with blockUntilReady (its zero-byte read waits for the queue). On a hardware
// GPU one matmul is shorter than a host round trip, so each timed call there runs the op
// BATCH_HW times and waits once (the figures are per op); on a software adapter it runs once.
//
// Where Primal's work ran: each row probes a jitted version once and lists the steps of its
// compiled programs whose inspection note says "runs on the host" (host fallbacks: no WGSL rule
// or a kernel the WGSL generator refused), and the GEMM variant the dot rule chose.

import { NDArray, jit, nn, np } from "../../kernel/index";
import { CompileInfo, probeCompile } from "./compile-probe";
import { MeasureOptions, Timing, measureAll, uniform } from "./measure";
import type { JaxGpu, PrimalGpu } from "./webgpu-setup";

type JArr = InstanceType<JaxGpu["lib"]["Array"]>;

/** Ops per timed call on a hardware GPU (a software adapter runs one). */
export const BATCH_HW = 10;

/** One line of a WebGPU table. */
export interface GpuRow {
  op: string;
  size: string;
  /** Flops or elements of one op. */
  work: number;
  unit: "GFLOP/s" | "Melem/s";
  /** Ops per timed call (the timings are per op). */
  batch: number;
  primal: Timing | null;
  /** Primal eager, for the jitted rows. */
  primalEager: Timing | null;
  jax: Timing | null;
  /** What Primal's compiler made of a jitted version of the row. */
  compile: CompileInfo | null;
  /** Primal's steps that ran on the host, and GEMM variants, from the inspection notes. */
  notes: string[];
  /** Largest relative error against a float64 recomputation. */
  errors: { primal: number | null; jax: number | null } | null;
}

/** The two contenders and where failures are reported. */
export interface GpuPeers {
  primal: PrimalGpu;
  jax: JaxGpu | null;
  notes: string[];
}

/** A row's implementations: one op each, not waited for. */
interface GpuImpl {
  primal: () => NDArray;
  primalEager?: () => NDArray;
  jax?: () => JArr;
  /** A jitted Primal version, called once to read what the compiler made of it. */
  probe?: () => NDArray;
  /** float64 values to compare with, and which flat indices they are (all when absent). */
  reference?: () => { values: ArrayLike<number>; at?: number[] };
}

/** Largest |a-b| / max(|b|, 1e-3·max|b|) over the reference's entries. */
export function maxRelDiff(a: ArrayLike<number>, ref: ArrayLike<number>, at?: number[]): number {
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const v = a[at ? at[i] : i];
    worst = Math.max(worst, Math.abs(v - ref[i]) / Math.max(Math.abs(ref[i]), 1e-3 * scale, 1e-30));
  }
  return worst;
}

/** The inspection notes that say where steps ran: host fallbacks and library variants. */
export function placementNotes(info: CompileInfo | null): string[] {
  if (!info) return [];
  const out: string[] = [];
  for (const r of info.records)
    for (const k of r.kernels) if (k.note && (k.kind === "library" || k.note.startsWith("runs on the host"))) out.push(`${k.name}: ${k.note}`);
  if (info.records.some((r) => r.platform && r.platform !== "webgpu")) out.push(`compiled for ${info.records.map((r) => r.platform).join(", ")}, not webgpu`);
  return [...new Set(out)];
}

/** Times one workload in both libraries, interleaved, after probing Primal's compiler. */
async function gpuRow(g: GpuPeers, op: string, size: string, work: number, unit: GpuRow["unit"], impl: GpuImpl, opts: MeasureOptions): Promise<GpuRow> {
  const { primal: pg, jax } = g;
  const batch = pg.software ? 1 : BATCH_HW;
  let compile: CompileInfo | null = null;
  if (impl.probe)
    compile = (
      await probeCompile(async () => {
        impl.probe!().dispose();
        pg.sync();
      })
    ).info;
  const primalFn = (f: () => NDArray) => () => {
    const rs: NDArray[] = [];
    for (let i = 0; i < batch; i++) rs.push(f());
    pg.sync();
    for (const r of rs) r.dispose();
  };
  const jaxFn = jax && impl.jax
    ? async () => {
        const rs: JArr[] = [];
        for (let i = 0; i < batch; i++) rs.push(impl.jax!());
        await jax.lib.blockUntilReady(rs);
        for (const r of rs) r.dispose();
      }
    : null;
  const what = `${op} ${size}`;
  const [p, pe, j] = await measureAll(
    [
      { label: `Primal webgpu ${what}`, fn: primalFn(impl.primal) },
      { label: `Primal webgpu eager ${what}`, fn: impl.primalEager && primalFn(impl.primalEager) },
      { label: `jax-js webgpu ${what}`, fn: jaxFn },
    ],
    opts,
    g.notes,
  );
  const per = (t: Timing | null): Timing | null => (t ? { medianMs: t.medianMs / batch, minMs: t.minMs / batch, samples: t.samples } : null);
  let errors: GpuRow["errors"] = null;
  if (impl.reference) {
    const { values, at } = impl.reference();
    const r = impl.primal();
    errors = { primal: maxRelDiff(r.dataSync() as ArrayLike<number>, values, at), jax: null };
    r.dispose();
    if (jax && impl.jax && j) errors.jax = maxRelDiff(await impl.jax().data(), values, at);
  }
  const ms = (t: Timing | null) => (t ? `${t.medianMs.toFixed(2)} ms` : "-");
  const row: GpuRow = { op, size, work, unit, batch, primal: per(p), primalEager: per(pe), jax: per(j), compile, notes: placementNotes(compile), errors };
  console.log(`webgpu ${what}: primal ${ms(row.primal)}${row.primalEager ? ` (eager ${ms(row.primalEager)})` : ""}, jax-js ${ms(row.jax)}${row.notes.length ? `; ${row.notes.join("; ")}` : ""}`);
  return row;
}

/** Repetitions: a software adapter is slow, so few calls; a GPU gets more within the same budget. */
function opts(pg: PrimalGpu, heavy: boolean): MeasureOptions {
  if (heavy && pg.software) return { warmup: 1, minSamples: 3, maxSamples: 5, budgetMs: 1000 };
  return { warmup: 2, minSamples: 5, maxSamples: pg.software ? 20 : 100, budgetMs: pg.software ? 800 : 1000 };
}

/** Square float32 matmuls, eager (np.matmul / jnp.matmul), checked on a sample of rows. */
export async function gpuMatmulRows(g: GpuPeers, sizes: number[]): Promise<GpuRow[]> {
  const rows: GpuRow[] = [];
  for (const n of sizes) {
    const av = uniform(n * n, 10 + n);
    const bv = uniform(n * n, 20 + n);
    const a = np.array(av).reshape([n, n]);
    const b = np.array(bv).reshape([n, n]);
    const jx = g.jax?.lib;
    const ja = jx?.numpy.array(av).reshape([n, n]);
    const jb = jx?.numpy.array(bv).reshape([n, n]);
    const mm = jit((x: NDArray, y: NDArray) => np.matmul(x, y));
    rows.push(
      await gpuRow(g, "matmul", `${n}×${n}`, 2 * n ** 3, "GFLOP/s", {
        primal: () => np.matmul(a, b),
        jax: jx && (() => jx.numpy.matmul(ja!.ref, jb!.ref)),
        probe: () => mm(a, b),
        reference: () => matmulRows64(av, bv, n, Math.max(1, Math.floor(n / 16))),
      }, opts(g.primal, n >= 1024)),
    );
    for (const x of [a, b]) x.dispose();
    ja?.dispose();
    jb?.dispose();
  }
  return rows;
}

/** Every `step`-th row of A·B in float64 (a full float64 product of 4096² would take minutes). */
function matmulRows64(a: Float32Array, b: Float32Array, n: number, step: number): { values: Float64Array; at: number[] } {
  const picked: number[] = [];
  for (let i = 0; i < n; i += step) picked.push(i);
  const values = new Float64Array(picked.length * n);
  const at: number[] = [];
  picked.forEach((i, r) => {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      for (let j = 0; j < n; j++) values[r * n + j] += aik * b[k * n + j];
    }
    for (let j = 0; j < n; j++) at.push(i * n + j);
  });
  return { values, at };
}

/** tanh(x*2+1)*x at 1M and 4M: Primal jit (headline) and eager, jax-js jit. */
export async function gpuFusedRows(g: GpuPeers): Promise<GpuRow[]> {
  const rows: GpuRow[] = [];
  for (const n of [1 << 20, 1 << 22]) {
    const xv = uniform(n, 30 + n);
    const x = np.array(xv);
    const f = (v: NDArray) => np.tanh(v.mul(2).add(1)).mul(v);
    const pj = jit(f);
    const jx = g.jax?.lib;
    const jxv = jx?.numpy.array(xv);
    const jf = jx?.jit((v: JArr) => jx.numpy.tanh(v.ref.mul(2).add(1)).mul(v));
    rows.push(
      await gpuRow(g, "tanh(x*2+1)*x", `${n >> 20}M`, n, "Melem/s", {
        primal: () => pj(x),
        primalEager: () => f(x),
        probe: () => jit(f)(x),
        jax: jf && (() => jf(jxv!.ref)),
        reference: () => ({ values: Float64Array.from(xv, (v) => Math.tanh(v * 2 + 1) * v) }),
      }, opts(g.primal, false)),
    );
    jf?.dispose();
    jxv?.dispose();
    x.dispose();
  }
  return rows;
}

/** sum, max and logsumexp of `n` elements: Primal jit (headline) and eager, jax-js jit. */
export async function gpuReductionRows(g: GpuPeers, n: number): Promise<GpuRow[]> {
  const xv = uniform(n, 40);
  const x = np.array(xv);
  const jx = g.jax?.lib;
  const jxv = jx?.numpy.array(xv);
  const sum64 = (h: (v: number) => number) => xv.reduce((s, v) => s + h(v), 0);
  const max64 = () => xv.reduce((m, v) => Math.max(m, v), -Infinity);
  const defs: [string, (v: NDArray) => NDArray, ((v: JArr) => JArr) | undefined, () => number][] = [
    ["sum", (v) => np.sum(v), jx && ((v) => jx.numpy.sum(v)), () => sum64((v) => v)],
    ["max", (v) => np.max(v), jx && ((v) => jx.numpy.max(v)), max64],
    ["logsumexp", (v) => nn.logsumexp(v), jx && ((v) => jx.nn.logsumexp(v)), () => {
      const m = max64();
      return m + Math.log(sum64((v) => Math.exp(v - m)));
    }],
  ];
  const size = n >= 1 << 20 ? `${n >> 20}M` : `${n >> 10}K`;
  const rows: GpuRow[] = [];
  for (const [op, f, jfn, ref] of defs) {
    const pj = jit(f);
    const jf = jx && jfn ? jx.jit(jfn) : undefined;
    rows.push(
      await gpuRow(g, op, size, n, "Melem/s", {
        primal: () => pj(x),
        primalEager: () => f(x),
        probe: () => jit(f)(x),
        jax: jf && (() => jf(jxv!.ref)),
        reference: () => ({ values: [ref()] }),
      }, opts(g.primal, false)),
    );
    jf?.dispose();
  }
  jxv?.dispose();
  x.dispose();
  return rows;
}
