// The tables of `npm run bench -- --backend webgpu`: issue 5's targets (matmul 1024 ≥ 5×
// jax-js, the jitted MLP step ≥ 2× jax-js, fewer pipelines for the MLP step than jax-js), then
// matmul (GFLOP/s and TFLOP/s), the fused and reduction rows, the MLP step, where Primal's MLP
// step spends its time, and the machine and method. Rendered as Markdown into
// test/bench/RESULTS-webgpu.md (a file of its own: the CPU run writes RESULTS.md and never
// touches this one) and as aligned text on the console, from the same cells.

import { Table, toMarkdown, toText } from "./report";
import { Timing, fmt, matmulGflops, melemPerS } from "./measure";
import { describeCompile } from "./compile-probe";
import { MLP } from "./mlp";
import type { Breakdown, GpuMlp } from "./webgpu-mlp";
import type { GpuRow } from "./webgpu-workloads";

/** Everything one WebGPU run measured. */
export interface WebgpuResults {
  primal: { device: string; adapter: string; software: boolean };
  jax: { name: string; version: string; backend: string } | null;
  matmul: GpuRow[];
  fused: GpuRow[];
  reductions: GpuRow[];
  mlp: GpuMlp;
  breakdown: Breakdown | null;
  /** Primal's device thread at the end: pipelines, submits, dispatches. */
  stats: { pipelines: number; submits: number; dispatches: number } | null;
  notes: string[];
  env: { date: string; machine: string; node: string; seconds: number; load: [number, number] };
}

/** The pipeline count the issue measured for jax-js's MLP step. */
export const ISSUE_JAX_PIPELINES = 17;

const ms = (t: Timing | null | undefined) => (t ? fmt(t.medianMs, 2) : "n/a");
const ratio = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : `${x.toFixed(2)}×`);
const speedup = (primal: Timing | null | undefined, peer: Timing | null | undefined) => (primal && peer ? peer.medianMs / primal.medianMs : null);
const sizeOf = (r: GpuRow) => Math.round(Math.cbrt(r.work / 2));
const gf = (r: GpuRow, t: Timing | null | undefined) => (t ? fmt(matmulGflops(sizeOf(r), t.medianMs), 1) : "n/a");
const tf = (r: GpuRow, t: Timing | null | undefined) => (t ? (matmulGflops(sizeOf(r), t.medianMs) / 1000).toPrecision(3) : "n/a");
const stepsPerS = (t: Timing | null | undefined) => (t ? fmt(1000 / t.medianMs, 1) : "n/a");
const met = (ok: boolean | null) => (ok === null ? "n/a" : ok ? "met" : "**missed**");

/** Issue 5's targets, plus the other workloads' ratios (no target). */
export function gpuTargetsTable(r: WebgpuResults): Table {
  const rows: string[][] = [];
  const m1024 = r.matmul.find((x) => x.size.startsWith("1024×"));
  if (m1024) {
    const s = speedup(m1024.primal, m1024.jax);
    rows.push(["matmul 1024 (GFLOP/s)", gf(m1024, m1024.primal), gf(m1024, m1024.jax), ratio(s), "≥ 5× jax-js", met(s === null ? null : s >= 5)]);
  } else rows.push(["matmul 1024 (GFLOP/s)", "not run", "not run", "n/a", "≥ 5× jax-js", "n/a (not in --sizes)"]);
  const { primal: p, jax: j } = r.mlp;
  const sJit = speedup(p.jit, j?.jit);
  rows.push(["MLP step, jitted (steps/s)", stepsPerS(p.jit), stepsPerS(j?.jit), ratio(sJit), "≥ 2× jax-js", met(sJit === null ? null : sJit >= 2)]);
  const pipes = (n: number | null | undefined) => (n === null || n === undefined ? "n/a" : String(n));
  const fewer = p.pipelinesJit !== null && j?.pipelinesJit !== null && j?.pipelinesJit !== undefined ? p.pipelinesJit < j.pipelinesJit : null;
  rows.push([
    "MLP step, jitted: pipelines compiled by its first call",
    pipes(p.pipelinesJit),
    pipes(j?.pipelinesJit),
    p.pipelinesJit && j?.pipelinesJit ? `${(j.pipelinesJit / p.pipelinesJit).toFixed(2)}× fewer` : "n/a",
    "fewer than jax-js",
    met(fewer),
  ]);
  for (const m of r.matmul.filter((x) => x !== m1024)) rows.push([`matmul ${sizeOf(m)} (GFLOP/s)`, gf(m, m.primal), gf(m, m.jax), ratio(speedup(m.primal, m.jax)), "(no target)", "n/a"]);
  for (const x of [...r.fused, ...r.reductions]) rows.push([`${x.op} ${x.size}, jitted (ms)`, ms(x.primal), ms(x.jax), ratio(speedup(x.primal, x.jax)), "(no target)", "n/a"]);
  rows.push(["MLP step, eager (steps/s)", stepsPerS(p.eager), stepsPerS(j?.eager), ratio(speedup(p.eager, j?.eager)), "(no target)", "n/a"]);
  rows.push(["MLP step, first jitted call (ms)", fmt(p.firstCallMs, 1), fmt(j?.firstCallMs, 1), ratio(p.firstCallMs && j?.firstCallMs ? j.firstCallMs / p.firstCallMs : null), "(no target)", "n/a"]);
  return {
    title: "Targets (issue 5, WebGPU)",
    headers: ["workload", "Primal", "jax-js", "Primal vs jax-js", "target", "status"],
    rows,
    numeric: [false, true, true, true, false, false],
    after: [
      "Ratios are speed-ups: jax-js time / Primal time (GFLOP/s and steps/s the other way round), so above 1 Primal is faster; for pipelines, jax-js's count / Primal's.",
      `Pipelines: the status compares with jax-js's count measured in this run; the issue's figure for jax-js is ${ISSUE_JAX_PIPELINES}, and Primal's ${p.pipelinesJit ?? "n/a"} is ${p.pipelinesJit === null ? "not measured" : p.pipelinesJit < ISSUE_JAX_PIPELINES ? "below" : "not below"} it.`,
      `Adapter: ${r.primal.adapter}${r.primal.software ? " (software: a correctness backend, not a fast one; see the breakdown below)" : ""}.`,
    ],
  };
}

function matmulTable(r: WebgpuResults): Table {
  return {
    title: "matmul, float32, square (eager: one op)",
    headers: ["n", "Primal ms", "Primal GFLOP/s", "Primal TFLOP/s", "jax-js ms", "jax-js GFLOP/s", "jax-js TFLOP/s", "vs jax-js", "Primal ran as"],
    rows: r.matmul.map((x) => [x.size, ms(x.primal), gf(x, x.primal), tf(x, x.primal), ms(x.jax), gf(x, x.jax), tf(x, x.jax), ratio(speedup(x.primal, x.jax)), x.notes.join("; ") || "n/a"]),
    numeric: [false, true, true, true, true, true, true, true, false],
    after: [
      r.matmul.some((x) => x.batch > 1) ? `Each timed call ran ${r.matmul[0].batch} matmuls and waited once; the figures are per matmul.` : "Each timed call ran one matmul and waited for it.",
      ...checks(r.matmul),
    ],
  };
}

function jittedTable(title: string, rows: GpuRow[]): Table {
  return {
    title,
    headers: ["op", "size", "Primal jit ms", "Primal eager ms", "jax-js jit ms", "vs jax-js", "Primal jit Melem/s", "Primal compiled as", "Primal steps on the host"],
    rows: rows.map((x) => [
      x.op, x.size, ms(x.primal), ms(x.primalEager), ms(x.jax), ratio(speedup(x.primal, x.jax)),
      x.primal ? fmt(melemPerS(x.work, x.primal.medianMs), 0) : "n/a", describeCompile(x.compile), x.notes.join("; ") || "none",
    ]),
    numeric: [false, false, true, true, true, true, true, false, false],
    after: checks(rows),
  };
}

function checks(rows: GpuRow[]): string[] {
  const e = (x: number | null | undefined) => (x === null || x === undefined ? "n/a" : x.toExponential(1));
  return rows.flatMap((x) => (x.errors ? [`${x.op} ${x.size}: largest relative error against a float64 recomputation${x.op === "matmul" ? " (every 16th row)" : ""}: Primal ${e(x.errors.primal)}, jax-js ${e(x.errors.jax)}.`] : []));
}

function mlpTable(r: WebgpuResults): Table {
  const { primal: p, jax: j } = r.mlp;
  const cell = (x: Timing | null | undefined) => (x ? `${fmt(1000 / x.medianMs, 1)} (${fmt(x.medianMs, 3)} ms)` : "n/a");
  const n = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : String(v));
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  const lossLines = [`Loss check (same seeded parameters and data; float64 reference at step 0: ${r.mlp.referenceLoss.toPrecision(8)}):`, "", "| step | Primal | jax-js |", "|---:|---:|---:|"];
  for (let s = 0; s < p.losses.length; s++) lossLines.push(`| ${s} | ${p.losses[s]?.toPrecision(8) ?? "n/a"} | ${j?.losses[s]?.toPrecision(8) ?? "n/a"} |`);
  lossLines.push("");
  for (const [name, side] of [["Primal", p], ["jax-js", j]] as const)
    if (side?.losses.length) lossLines.push(`- ${name}: step 0 differs from the float64 reference by ${rel(side.losses[0], r.mlp.referenceLoss).toExponential(1)} relative (${rel(side.losses[0], r.mlp.referenceLoss) <= 1e-4 ? "within" : "**outside**"} 1e-4).`);
  return {
    title: `MLP training step on WebGPU (${MLP.input}→${MLP.hidden}→${MLP.classes}, relu, softmax cross-entropy, batch ${MLP.batch}, valueAndGrad + SGD lr ${MLP.lr})`,
    headers: ["measure", "Primal", "jax-js", "Primal vs jax-js"],
    rows: [
      ["jitted: steps/s (ms/step)", cell(p.jit), cell(j?.jit), ratio(speedup(p.jit, j?.jit))],
      ["eager: steps/s (ms/step)", cell(p.eager), cell(j?.eager), ratio(speedup(p.eager, j?.eager))],
      ["first jitted call (trace + compile + pipelines + run), ms", fmt(p.firstCallMs, 1), fmt(j?.firstCallMs, 1), ratio(p.firstCallMs && j?.firstCallMs ? j.firstCallMs / p.firstCallMs : null)],
      ["pipelines created by the first jitted step", n(p.pipelinesJit), n(j?.pipelinesJit), "n/a"],
      ["further pipelines created by the first eager step", n(p.pipelinesEager), n(j?.pipelinesEager), "n/a"],
    ],
    numeric: [false, true, true, true],
    after: [
      `Primal's jitted step: ${describeCompile(r.mlp.compile)}.`,
      `Primal's steps on the host: ${r.mlp.notes.filter((x) => x.includes("runs on the host")).join("; ") || "none"}.`,
      "Pipelines: Primal's client.shaderCount (distinct WGSL shaders sent to the device, one pipeline each) before and after the call; jax-js's createComputePipeline + createComputePipelineAsync calls on its GPUDevice. The MLP runs first in the process, so neither library had compiled anything it could reuse.",
      ...lossLines,
    ],
  };
}

function breakdownTable(r: WebgpuResults): Table | string {
  const b = r.breakdown;
  if (!b) return "## Where Primal's jitted MLP step spends its time\n\nNot measured (see the notes).\n";
  const host = b.steps.filter((s) => s.where === "host");
  return {
    title: "Where Primal's jitted MLP step spends its time (one compiled program, per training step)",
    headers: ["step", "kind", "runs", "GPU ms", "note"],
    rows: b.steps.map((s) => [s.name, s.kind, s.where, s.gpuMs === null ? "-" : fmt(s.gpuMs, 3), s.note || ""]),
    numeric: [false, false, false, true, false],
    after: [
      `Wall time per step (kernel timing on): ${fmt(b.wallMs, 2)} ms; GPU time of its dispatches (timestamp queries): ${b.timed ? `${fmt(b.gpuMs, 2)} ms` : "n/a (no timestamp-query)"}; the rest, ${!b.timed ? "n/a" : b.wallMs - b.gpuMs < 0.05 * b.wallMs ? "about 0 ms (within the timestamps' noise)" : `${fmt(b.wallMs - b.gpuMs, 2)} ms`}, is host work: ${host.length ? `${host.length} step(s) on the host (copy down, CPU implementation, upload), ` : ""}dispatch and the wait. ${fmt(b.dispatches, 1)} dispatches and ${fmt(b.submits, 1)} submit(s) per step.`,
      "Kernel timing puts each dispatch in a compute pass of its own with timestamp writes, so the wall time here is above the timed loop's, and on lavapipe single kernels' times are noisy: read the GPU column for proportions, not for absolute speed.",
    ],
  };
}

function methodLines(r: WebgpuResults): string[] {
  const { env } = r;
  return [
    "## Machine and method",
    "",
    `- Machine: ${env.machine}. Node ${env.node}.`,
    `- Primal: ${r.primal.device} (${r.primal.adapter}), Dawn from the \`webgpu\` package in Primal's device thread. jax-js: ${r.jax ? `${r.jax.name} ${r.jax.version}, ${r.jax.backend}` : "not loaded"}; \`navigator.gpu\` made from the same \`webgpu\` package (\`create()\` kept referenced for the whole run).`,
    "- Both run in the same process on the same adapter, timed interleaved (after each one's warm-up, rounds of one call each in turn), medians; all float32, the same seeded inputs.",
    "- A timed call ends when its results are computed on the device, not copied back: Primal waits with its client's `syncSync()` (NDArray.blockUntilReady would also download the array), jax-js with `blockUntilReady` (a zero-byte read that waits for its queue). Results are disposed in the loop.",
    r.primal.software
      ? "- Software adapter (lavapipe: Vulkan on the CPU's cores): repetitions are few (matmul 1024: 3-5 timed calls) and matmul 4096 is left out; `--sizes 1024,4096` runs it anyway."
      : "- Hardware adapter: each timed array call runs the op several times and waits once (per-op figures), so a host round trip does not hide the GPU's speed.",
    "- Primal's rows also probe a jitted version once: its inspection records (kernel/lower/inspect.ts) name the steps that ran on the host (`runs on the host: ...`) and the GEMM variant of dot_general.",
    `- Load average (1 min): ${env.load[0].toFixed(2)} at the start, ${env.load[1].toFixed(2)} at the end.${env.load[0] > 0.5 ? " Other processes were busy during this run: absolute figures vary from run to run." : ""}`,
    ...(r.stats ? [`- Primal's device at the end: ${r.stats.pipelines} pipelines, ${r.stats.submits} submits, ${r.stats.dispatches} dispatches in the whole run.`] : []),
    `- Whole run: ${env.seconds.toFixed(0)} s.`,
    ...r.notes.map((n) => `- Note: ${n}`),
    "",
  ];
}

function tables(r: WebgpuResults): (Table | string)[] {
  return [
    gpuTargetsTable(r),
    matmulTable(r),
    jittedTable("Fused elementwise tanh(x*2+1)*x, float32, jitted", r.fused),
    jittedTable("Reductions, float32, jitted", r.reductions),
    mlpTable(r),
    breakdownTable(r),
  ];
}

/** The whole RESULTS-webgpu.md. */
export function renderGpuResults(r: WebgpuResults): string {
  return [
    "# Benchmark results: WebGPU",
    "",
    `Written by \`npm run bench -- --backend webgpu\` (test/bench/bench.ts) on ${r.env.date}. Not a test: nothing here asserts a time. The CPU run (\`npm run bench\`) writes RESULTS.md.`,
    "",
    ...tables(r).map((t) => (typeof t === "string" ? t : toMarkdown(t))),
    ...methodLines(r),
  ].join("\n");
}

/** The console version. */
export function renderGpuConsole(r: WebgpuResults): string {
  return tables(r)
    .map((t) => (typeof t === "string" ? t : toText({ ...t, after: t.after?.filter((l) => l && !l.startsWith("|")) })))
    .join("\n");
}
