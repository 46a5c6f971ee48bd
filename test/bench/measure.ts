// Timing and data for the benchmark: medians of timed calls after warm-up (one function, or
// several side by side), medians over child processes for what needs a process of its own,
// seeded inputs (so the three libraries see the same numbers), and the throughput units.
// Nothing here asserts a time: a benchmark reports, it does not pass or fail.

import { spawnSync } from "node:child_process";
import { rng } from "../kernel/helpers/rng";
export { rng };

/** How long to time one workload. */
export interface MeasureOptions {
  /** Untimed calls first (JIT tiers, caches, buffer pools). */
  warmup?: number;
  /** At least this many timed calls... */
  minSamples?: number;
  /** ...and then more while the budget lasts, up to this many. */
  maxSamples?: number;
  budgetMs?: number;
}

/** Median and spread of one workload's timed calls, in milliseconds. */
export interface Timing {
  medianMs: number;
  minMs: number;
  samples: number;
}

/** Median of timed calls after warm-up; the number of calls adapts to the call's duration. */
export async function measure(fn: () => Promise<unknown> | unknown, opts: MeasureOptions = {}): Promise<Timing> {
  return (await measureAll([{ label: "measure", fn }], opts, null))[0]!;
}

/** A contender of `measureAll`; a null fn (library missing) gets a null timing. */
export interface Contender {
  label: string;
  fn: (() => Promise<unknown> | unknown) | null | undefined;
}

/**
 * Times several implementations of one workload side by side: after each one's warm-up calls,
 * rounds of one timed call each, in turn, until every one has `minSamples` and the budget
 * (per contender) is spent or `maxSamples` reached. Interleaving keeps a change in the
 * machine's load (other processes, turbo, the GC) from favouring whoever ran first. A contender
 * that throws is dropped (null timing) and the reason goes to `notes`; with `notes` null, it
 * throws.
 */
export async function measureAll(contenders: Contender[], opts: MeasureOptions, notes: string[] | null): Promise<(Timing | null)[]> {
  const { warmup = 2, minSamples = 5, maxSamples = 60, budgetMs = 800 } = opts;
  const live = new Set(contenders.flatMap((c, i) => (c.fn ? [i] : [])));
  const times: number[][] = contenders.map(() => []);
  const call = async (i: number, timed: boolean) => {
    try {
      const t = performance.now();
      await contenders[i].fn!();
      if (timed) times[i].push(performance.now() - t);
    } catch (e) {
      if (!notes) throw e;
      const msg = `${contenders[i].label} failed: ${(e as Error).message.split("\n")[0]}`;
      console.error(`bench: ${msg}`);
      notes.push(msg);
      live.delete(i);
    }
  };
  for (const i of [...live]) for (let w = 0; w < warmup && live.has(i); w++) await call(i, false);
  const start = performance.now();
  const budget = budgetMs * Math.max(1, live.size);
  for (let round = 0; live.size > 0; round++) {
    for (const i of [...live]) await call(i, true);
    if (round + 1 >= maxSamples || (round + 1 >= minSamples && performance.now() - start >= budget)) break;
  }
  return times.map((ts, i) => {
    if (!live.has(i) || ts.length === 0) return null;
    const sorted = [...ts].sort((a, b) => a - b);
    return { medianMs: median(sorted), minMs: sorted[0], samples: sorted.length };
  });
}

/** Middle value (mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Time of one call (for first calls, which cannot be repeated on the same function). */
export async function timeOnce(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** n uniform floats in [lo, hi), seeded. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** GFLOP/s of an n×n×n matmul that took `ms`. */
export function matmulGflops(n: number, ms: number): number {
  return (2 * n ** 3) / ms / 1e6;
}

/** Millions of elements per second for `elements` processed in `ms`. */
export function melemPerS(elements: number, ms: number): number {
  return elements / ms / 1e3;
}

/** Formats a number with a precision that suits its size (tables stay narrow). */
export function fmt(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (Math.abs(x) >= 100) return x.toFixed(Math.max(0, digits - 1));
  return x.toFixed(digits);
}

// ---------------------------------------------------------------- child processes
// Some figures need a process of their own, run as `node dist/bench.js --child <mode>`: the
// first call of a jitted step where nothing has run yet (a cold start, what a user waits for),
// and np.matmul under another PRIMAL_CPU_THREADS (the GEMM's thread count is fixed per process).
// The child prints one JSON line; the parent takes the medians.

/** The modes bench.ts dispatches on when started with `--child`. */
export type ChildMode = "first-call-primal" | "first-call-jax" | "matmul-1024" | "pmap-matmul";

/** Prints a child's result for the parent. */
export function childReply(value: unknown): void {
  process.stdout.write(JSON.stringify({ value }) + "\n");
}

/** One kind of child run: its mode and the environment it adds. */
export interface ChildRun {
  mode: ChildMode;
  env?: Record<string, string>;
}

/**
 * Runs this bench script as a child `count` times per kind, the kinds in turn (1, 2, 1, 2, ...,
 * so a change in the machine's load hits them alike), and returns each kind's median reply.
 */
export function childMedians(runs: ChildRun[], count: number): { medians: number[]; values: number[][] } | { error: string } {
  const script = process.argv[1];
  const values: number[][] = runs.map(() => []);
  for (let i = 0; i < count; i++)
    for (const [k, { mode, env }] of runs.entries()) {
      const r = spawnSync(process.execPath, [script, "--child", mode], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
      if (r.status !== 0) return { error: `child ${mode} failed: ${(r.stderr || String(r.error ?? "")).trim().split("\n").slice(-1)[0]}` };
      const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
      const v = line ? (JSON.parse(line) as { value: unknown }).value : undefined;
      if (typeof v !== "number") return { error: `child ${mode} printed no number` };
      values[k].push(v);
    }
  return { medians: values.map(median), values };
}
