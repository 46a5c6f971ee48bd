// Turns the benchmark's measurements into tables: the "Targets" table of issue 4 (each
// workload's figure for Primal and the peers, the ratio to jax-js, the target, met or missed),
// then the detailed tables, the machine and the method. Each table renders both as Markdown
// (test/bench/RESULTS.md) and as aligned text (the console), from the same cells.

import type { MlpBench, MlpResult } from "./mlp";
import { MLP } from "./mlp";
import { Timing, fmt, matmulGflops, melemPerS } from "./measure";
import type { Peers } from "./peers";
import type { GemmThreads, MatmulScaling, NumpyResult } from "./matmul";
import { AVX2_PEAK_GFLOPS, SIZES } from "./matmul";
import type { Row } from "./workloads";
import { describeCompile } from "./compile-probe";
import { PmapBench, pmapTable } from "./pmap";

/** Everything one `npm run bench` measured. */
export interface BenchResults {
  peers: Peers;
  eagerOps: Row[];
  matmul: Row[];
  fused: Row[];
  reductions: Row[];
  mlp: MlpBench;
  gemm: GemmThreads;
  scaling: MatmulScaling;
  numpy: NumpyResult | { error: string };
  /** pmap of a matmul per device, 2 CPU devices vs 1 (pmap.ts); absent in runs that did not measure it. */
  pmap?: PmapBench;
  /** load: the 1-minute load average when the run started and when it ended. */
  env: { date: string; machine: string; node: string; seconds: number; load: [number, number] };
}

/** A table: header cells, body rows, and which columns are numbers (right-aligned). */
export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  numeric: boolean[];
  /** Lines printed under the table. */
  after?: string[];
}

export function toMarkdown(t: Table, level = "##"): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    `${level} ${t.title}`,
    "",
    line(t.headers),
    line(t.numeric.map((n) => (n ? "---:" : "---"))),
    ...t.rows.map(line),
    ...(t.after?.length ? ["", ...t.after] : []),
    "",
  ].join("\n");
}

export function toText(t: Table): string {
  const all = [t.headers, ...t.rows];
  const width = t.headers.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const pad = (cells: string[]) => cells.map((s, c) => (t.numeric[c] ? s.padStart(width[c]) : s.padEnd(width[c]))).join("  ");
  return [t.title, pad(t.headers), width.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(pad), ...(t.after ?? []), ""].join("\n");
}

const ms = (t: Timing | null | undefined) => (t ? fmt(t.medianMs, 2) : "n/a");
const ratio = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : `${x.toFixed(2)}×`);
/** Speed-up of Primal over a peer (peer time / Primal time). */
const speedup = (primal: Timing | null | undefined, peer: Timing | null | undefined) => (primal && peer ? peer.medianMs / primal.medianMs : null);
const gf = (r: Row, t: Timing | null | undefined) => (t ? fmt(matmulGflops(Math.round(Math.cbrt(r.work / 2)), t.medianMs), 1) : "n/a");
const stepsPerS = (t: Timing | null | undefined) => (t ? 1000 / t.medianMs : null);
const met = (ok: boolean | null) => (ok === null ? "n/a" : ok ? "met" : "**missed**");

/** Issue 4's targets, one row per workload. */
export function targetsTable(r: BenchResults): Table {
  const rows: string[][] = [];
  const push = (workload: string, primal: string, jax: string, tf: string, vsJax: number | null, target: string, ok: boolean | null) =>
    rows.push([workload, primal, jax, tf, ratio(vsJax), target, met(ok)]);
  const mm = (n: number) => r.matmul.find((x) => x.size.startsWith(`${n}×`));
  const m1024 = mm(1024);
  const m2048 = mm(2048);
  if (m1024) {
    const s = speedup(m1024.primal, m1024.jax);
    push("matmul 1024 (GFLOP/s)", gf(m1024, m1024.primal), gf(m1024, m1024.jax), gf(m1024, m1024.tf), s, "≥ 3× jax-js", s === null ? null : s >= 3);
  }
  if (m1024 && m2048) {
    const keep = (t1: Timing | null, t2: Timing | null) => (t1 && t2 ? t1.medianMs / t2.medianMs * 8 : null); // GFLOP/s(2048) / GFLOP/s(1024)
    const k = keep(m1024.primal, m2048.primal);
    const cell = (t1: Timing | null, t2: Timing | null) => (keep(t1, t2) === null ? "n/a" : `${keep(t1, t2)!.toFixed(2)} (${gf(m2048, t2)} vs ${gf(m1024, t1)})`);
    push("matmul 2048 / 1024 (GFLOP/s ratio)", cell(m1024.primal, m2048.primal), cell(m1024.jax, m2048.jax), cell(m1024.tf, m2048.tf), null, "≥ 0.80 (within 20%)", k === null ? null : k >= 0.8);
  }
  for (const x of r.fused) {
    const s = speedup(x.primal, x.jax);
    push(`fused tanh(x*2+1)*x ${x.size}, jitted (ms)`, ms(x.primal), ms(x.jax), ms(x.tf), s, "≥ 3× jax-js", s === null ? null : s >= 3);
  }
  for (const x of r.reductions) {
    const s = speedup(x.primal, x.jax);
    push(`${x.op} ${x.size}, jitted (ms)`, ms(x.primal), ms(x.jax), ms(x.tf), s, "≥ 3× jax-js", s === null ? null : s >= 3);
  }
  const { primal: p, jax: j, tf: t } = r.mlp;
  const sps = (x: number | null) => (x === null ? "n/a" : fmt(x, 1));
  const sJit = speedup(p.jit, j?.jit);
  push("MLP step, jitted (steps/s)", sps(stepsPerS(p.jit)), sps(stepsPerS(j?.jit)), t ? `${sps(stepsPerS(t.jit))} (no jit)` : "n/a", sJit, "≥ 2.5× jax-js", sJit === null ? null : sJit >= 2.5);
  const sEager = speedup(p.eager, j?.eager);
  push("MLP step, eager (steps/s)", sps(stepsPerS(p.eager)), sps(stepsPerS(j?.eager)), t ? sps(stepsPerS(t.eager)) : "n/a", sEager, "≥ 2× jax-js", sEager === null ? null : sEager >= 2);
  const first = (label: string, pm: number | null, jm: number | null | undefined) => {
    const s = pm && jm ? jm / pm : null;
    push(label, fmt(pm, 1), fmt(jm, 1), "n/a (no jit)", s, "≤ 1/3 of jax-js (≥ 3×)", s === null ? null : s >= 3);
  };
  first("MLP step, first call of a fresh jitted function, warm process (ms)", p.firstCallMs, j?.firstCallMs);
  first("MLP step, first jitted call in a fresh process (ms)", p.coldFirstCallMs, j?.coldFirstCallMs);
  const sc = r.scaling.one && r.scaling.two ? r.scaling.two / r.scaling.one : null;
  push("np.matmul 1024, 2 threads vs 1", sc === null ? "n/a" : `${sc.toFixed(2)}× (${fmt(r.scaling.one, 1)} → ${fmt(r.scaling.two, 1)} GFLOP/s)`, "n/a", "n/a", null, "≥ 1.7×", sc === null ? null : sc >= 1.7);
  return {
    title: "Targets (issue 4)",
    headers: ["workload", "Primal", "jax-js", "tfjs", "Primal vs jax-js", "target", "status"],
    rows,
    numeric: [false, true, true, true, true, false, false],
    after: [
      "Ratios are speed-ups: jax-js time / Primal time (GFLOP/s and steps/s the other way round), so above 1 Primal is faster.",
      "tfjs has no jit: its MLP \"jitted\" figure is its ordinary training step (optimizer.minimize), the same as its eager one.",
      `Peers: jax-js ${r.peers.jax?.backend ?? "not loaded"}; tfjs ${r.peers.tf?.backend ?? "not loaded"}.`,
      "First call: trace + compile + run of jit(step) on its first call; the MLP table below says how each is measured.",
    ],
  };
}

/** matmul: time and GFLOP/s per library. */
function matmulTable(r: BenchResults): Table {
  return {
    title: "matmul, float32, square (eager: one op)",
    headers: ["n", "Primal ms", "Primal GFLOP/s", "jax-js ms", "jax-js GFLOP/s", "tfjs ms", "tfjs GFLOP/s", "vs jax-js", "vs tfjs"],
    rows: r.matmul.map((x) => [x.size, ms(x.primal), gf(x, x.primal), ms(x.jax), gf(x, x.jax), ms(x.tf), gf(x, x.tf), ratio(speedup(x.primal, x.jax)), ratio(speedup(x.primal, x.tf))]),
    numeric: [false, true, true, true, true, true, true, true, true],
    after: ["Primal's time includes copying the operands into the GEMM's WebAssembly memory and the result out.", ...checks(r.matmul)],
  };
}

/** The jitted sections (fused elementwise, reductions): Primal jit and eager, the peers, how Primal compiled it. */
function jittedTable(title: string, rows: Row[], peerNote: string): Table {
  return {
    title,
    headers: ["op", "size", "Primal jit ms", "Primal eager ms", "jax-js jit ms", "tfjs ms", "vs jax-js", "vs tfjs", "Primal jit Melem/s", "Primal compiled as"],
    rows: rows.map((x) => [x.op, x.size, ms(x.primal), ms(x.primalAlt), ms(x.jax), ms(x.tf), ratio(speedup(x.primal, x.jax)), ratio(speedup(x.primal, x.tf)), fmt(melemPerS(x.work, x.primal.medianMs), 0), describeCompile(x.compile)]),
    numeric: [false, false, true, true, true, true, true, true, true, false],
    after: [peerNote, ...checks(rows)],
  };
}

/** Lines saying how far each library's values were from the float64 reference. */
function checks(rows: Row[]): string[] {
  const e = (x: number | null) => x?.toExponential(1) ?? "n/a";
  return rows.flatMap((x) => (x.errors ? [`${x.op} ${x.size}: largest relative error against a float64 recomputation: Primal ${e(x.errors.primal)}, jax-js ${e(x.errors.jax)}, tfjs ${e(x.errors.tf)}.`] : []));
}

function eagerOpsTable(r: BenchResults): Table {
  return {
    title: "Eager per-op rows (1M float32 elements, every op on its own, no jit)",
    headers: ["op", "Primal ms", "jax-js ms", "tfjs ms", "vs jax-js", "vs tfjs", "Primal Melem/s"],
    rows: r.eagerOps.map((x) => [x.op, ms(x.primal), ms(x.jax), ms(x.tf), ratio(speedup(x.primal, x.jax)), ratio(speedup(x.primal, x.tf)), fmt(melemPerS(x.work, x.primal.medianMs), 0)]),
    numeric: [false, true, true, true, true, true, true],
  };
}

function mlpTable(r: BenchResults): Table {
  const { primal: p, jax: j, tf: t } = r.mlp;
  const cell = (x: Timing | null | undefined) => (x ? `${fmt(1000 / x.medianMs, 1)} (${fmt(x.medianMs, 3)} ms)` : "n/a");
  const first = (x: number | null | undefined) => (x === null || x === undefined ? "n/a" : `${fmt(x, 1)} ms`);
  return {
    title: `MLP training step (${MLP.input}→${MLP.hidden}→${MLP.classes}, relu, softmax cross-entropy, batch ${MLP.batch}, valueAndGrad + SGD lr ${MLP.lr})`,
    headers: ["measure", "Primal", "jax-js", "tfjs", "Primal vs jax-js"],
    rows: [
      ["jitted: steps/s (ms/step)", cell(p.jit), cell(j?.jit), t ? `${cell(t.jit)} (no jit)` : "n/a", ratio(speedup(p.jit, j?.jit))],
      ["eager: steps/s (ms/step)", cell(p.eager), cell(j?.eager), cell(t?.eager), ratio(speedup(p.eager, j?.eager))],
      ["jitted, compiler off (PRIMAL_COMPILE=0): steps/s", cell(p.compilerOff), "n/a", "n/a", ratio(speedup(p.compilerOff, j?.jit))],
      ["first jitted call, fresh process (trace + compile + run)", first(p.coldFirstCallMs), first(j?.coldFirstCallMs), "n/a", ratio(p.coldFirstCallMs && j?.coldFirstCallMs ? j.coldFirstCallMs / p.coldFirstCallMs : null)],
      ["first call of a fresh jitted function, warm process", first(p.firstCallMs), first(j?.firstCallMs), "n/a", ratio(p.firstCallMs && j?.firstCallMs ? j.firstCallMs / p.firstCallMs : null)],
    ],
    numeric: [false, true, true, true, true],
    after: [
      `Primal's jitted step: ${describeCompile(p.compile)}.`,
      "Fresh process: median over 5 child processes, timing jit(step) and its first call after the library has loaded and the data exists. Warm process: median over 5 fresh jit(step) functions after one untimed; jax-js reuses wasm kernels compiled for an earlier function with the same code, Primal compiles each program anew.",
      ...lossCheck(r.mlp),
    ],
  };
}

/** The loss check: the three libraries at steps 0.., and step 0 against the float64 reference. */
function lossCheck(m: MlpBench): string[] {
  const libs: [string, MlpResult | null][] = [["Primal", m.primal], ["jax-js", m.jax], ["tfjs", m.tf]];
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  const lines = [`Loss check (same seeded parameters and data in every library; float64 reference at step 0: ${m.referenceLoss.toPrecision(8)}):`, ""];
  lines.push(`| step | ${libs.map(([n]) => n).join(" | ")} |`, `|---:|${libs.map(() => "---:").join("|")}|`);
  for (let s = 0; s < m.primal.losses.length; s++) lines.push(`| ${s} | ${libs.map(([, x]) => (x ? x.losses[s]?.toPrecision(8) ?? "n/a" : "n/a")).join(" | ")} |`);
  lines.push("");
  for (const [n, x] of libs) {
    if (!x) continue;
    const r0 = rel(x.losses[0], m.referenceLoss);
    const worst = Math.max(...x.losses.map((l, i) => rel(l, m.primal.losses[i])));
    lines.push(`- ${n}: step 0 differs from the float64 reference by ${r0.toExponential(1)} relative (${r0 <= 1e-4 ? "within" : "**outside**"} 1e-4)${n === "Primal" ? "" : `; largest difference from Primal over the steps ${worst.toExponential(1)}`}.`);
  }
  return lines;
}

function threadsTable(r: BenchResults): Table {
  const g = r.gemm;
  const scale = g.rows.length > 1 ? g.rows[1].gflops[SIZES.indexOf(1024)] / g.rows[0].gflops[SIZES.indexOf(1024)] : null;
  return {
    title: "Threads: the float32 GEMM alone (operands already in its memory), GFLOP/s",
    headers: ["threads", ...SIZES.map(String)],
    rows: g.rows.map((x) => [String(x.threads), ...x.gflops.map((v) => fmt(v, 1))]),
    numeric: [false, ...SIZES.map(() => true)],
    after: [
      `Micro-kernel ${g.kernel}. GEMM-alone scaling at 1024: ${ratio(scale)} (${g.rows.at(-1)?.threads} threads vs 1).`,
      `np.matmul 1024 through the public API, PRIMAL_CPU_THREADS=1: ${fmt(r.scaling.one, 1)} GFLOP/s, =2: ${fmt(r.scaling.two, 1)} GFLOP/s (median of 3 child processes each)${r.scaling.error ? `; ${r.scaling.error}` : ""}.`,
    ],
  };
}

function numpyTable(r: BenchResults): Table | string {
  if ("error" in r.numpy) return `## NumPy\n\nNumPy could not be measured: ${r.numpy.error}.\n`;
  const np = r.numpy;
  const rows = [1024, 2048].map((n) => {
    const m = r.matmul.find((x) => x.size.startsWith(`${n}×`));
    const primal = m ? matmulGflops(n, m.primal.medianMs) : null;
    const ref = np.gflops[n];
    return [String(n), fmt(ref, 1), fmt(primal, 1), primal && ref ? `${((100 * primal) / ref).toFixed(0)}%` : "n/a", primal ? `${((100 * primal) / AVX2_PEAK_GFLOPS).toFixed(0)}%` : "n/a"];
  });
  return {
    title: "Against NumPy (OpenBLAS) and the cores' peak: matmul GFLOP/s",
    headers: ["n", "NumPy", "Primal np.matmul", "Primal / NumPy", `Primal / AVX2 peak (${AVX2_PEAK_GFLOPS})`],
    rows,
    numeric: [false, true, true, true, true],
    after: [`NumPy ${np.version}, BLAS: ${np.blas}; measured in a python3 subprocess on all cores, median after warm-up, the same inputs' distribution.`],
  };
}

/** The whole RESULTS.md. */
export function renderResults(r: BenchResults): string {
  const { peers, env } = r;
  const peerLine = (p: { name: string; version: string; backend: string } | null, fallback: string) => (p ? `${p.name} ${p.version} (${p.backend})` : fallback);
  const tables: (Table | string)[] = [
    targetsTable(r),
    matmulTable(r),
    jittedTable("Fused elementwise tanh(x*2+1)*x, float32, jitted", r.fused, "jax-js: jit; tfjs: tf.tidy (frees intermediates, does not fuse)."),
    jittedTable("Reductions over 16M float32 elements", r.reductions, "jax-js: jit; tfjs: tf.sum / tf.max / tf.logSumExp."),
    mlpTable(r),
    threadsTable(r),
    ...(r.pmap ? [pmapTable(r.pmap)] : []),
    numpyTable(r),
    eagerOpsTable(r),
  ];
  return [
    "# Benchmark results",
    "",
    `Written by \`npm run bench\` (test/bench/bench.ts) on ${env.date}. Not a test: nothing here asserts a time.`,
    "",
    ...tables.map((t) => (typeof t === "string" ? t : toMarkdown(t))),
    "## Machine and method",
    "",
    `- Machine: ${env.machine}. Node ${env.node}.`,
    `- Peers, in the same process as Primal: ${peerLine(peers.jax, "@jax-js/jax: not loaded")}; ${peerLine(peers.tf, "@tensorflow/tfjs: not loaded")}.`,
    "- Every figure is the median of timed calls after warm-up calls (at least 3-20 timed calls each, more while a per-workload time budget lasts), all float32, inputs from the same seeded generator for every library.",
    "- The libraries are timed interleaved: after each one's warm-up, rounds of one call each in turn, so a change in the machine's load during a workload hits all of them alike. Cold starts and PRIMAL_CPU_THREADS=1/2 run in child processes, also alternating.",
    `- Load average (1 min): ${env.load[0].toFixed(2)} when the run started, ${env.load[1].toFixed(2)} when it ended (the latter includes the benchmark's own threads).${env.load[0] > 0.5 ? " Other processes were using the 2 cores during this run: absolute figures are lower than on an idle machine, vary from run to run, and thread scaling may not show. Interleaving protects the ratios from load that changes over time, but not from this: Primal's matmul splits its work over both cores and waits for the slower one, so a busy core costs it more than the single-threaded peers." : ""}`,
    "- Each timed call makes its result, waits for it (`blockUntilReady`; jax-js is lazy) and disposes it, in every library; TensorFlow.js's wasm backend runs each op when it is called, so its results are ready on return and are not copied out.",
    "- jax-js spreads its wasm kernels over Web Workers only where a global `Worker` exists; Node has none, so in Node it runs on one thread. tfjs's wasm backend reports no multithread support in Node either. Primal uses both cores for matmul (worker_threads).",
    "- Primal's \"jitted\" rows call `jit`; the compiler's inspection records show what it made of each function (\"compiled as\"), and how often the compiled program ran during the timing (an interpreted fallback would show as \"interpreted\").",
    "- The MLP loss is softmax cross-entropy on one-hot labels (mean over the batch of -sum(y · log_softmax(logits))), the same expression in the three libraries; training loops feed each step's parameters to the next.",
    `- Whole run: ${env.seconds.toFixed(0)} s.`,
    ...peers.notes.map((n) => `- Note: ${n}`),
    "",
  ].join("\n");
}

/** The console version: the same tables, aligned. */
export function renderConsole(r: BenchResults): string {
  const tables = [targetsTable(r), matmulTable(r), jittedTable("Fused elementwise, jitted", r.fused, ""), jittedTable("Reductions, 16M", r.reductions, ""), mlpTable(r), threadsTable(r), ...(r.pmap ? [pmapTable(r.pmap)] : []), numpyTable(r), eagerOpsTable(r)];
  return tables.map((t) => (typeof t === "string" ? t : toText({ ...t, after: t.after?.filter((l) => l && !l.startsWith("|")) }))).join("\n");
}
