// The MLP training step of issue 4 (mlp.ts: 728 -> 100 relu -> 10, batch 32, softmax
// cross-entropy, valueAndGrad + SGD) on WebGPU: Primal on webgpu:0 and jax-js on its webgpu
// device, jitted and eager, timed side by side; the first jitted call of each (trace, compile,
// pipeline creation, run) and the pipelines it created, which issue 5 compares (Primal's
// client.shaderCount before and after; jax-js's createComputePipeline(Async) calls); and the
// losses of the first steps against the float64 reference.
//
// `mlpBreakdown` says where Primal's jitted step spends its time: run at the end of the bench
// (per-kernel timestamps stay on for the device once asked for, which would perturb the other
// timings), a fresh jit of the step with kernel timing on gives each step's GPU time; the wall
// time per step minus their sum is host work (host fallbacks, dispatch, the wait).

import { NDArray, disableJit, jit, np } from "../../kernel/index";
import { setKernelTiming } from "../../kernel/lower/inspect";
import { CompileInfo, probeCompile } from "./compile-probe";
import { disposeOld, jaxParams, jaxStep, JP, MLP, MlpData, PP, primalParams, primalStep, referenceLoss, stepLosses } from "./mlp";
import { Timing, measureAll, median } from "./measure";
import type { JaxGpu } from "./webgpu-setup";
import { GpuPeers, placementNotes } from "./webgpu-workloads";

type JArr = InstanceType<JaxGpu["lib"]["Array"]>;

/** One library's MLP figures on WebGPU. */
export interface GpuMlpSide {
  jit: Timing | null;
  eager: Timing | null;
  /** The first call of the jitted step (trace + compile + pipelines + run), ms. */
  firstCallMs: number | null;
  /** Pipelines created during that first jitted call. */
  pipelinesJit: number | null;
  /** Pipelines the first eager step created in addition (after the jitted step's). */
  pipelinesEager: number | null;
  losses: number[];
}

/** Where one step of Primal's compiled MLP program ran and what it cost on the GPU. */
export interface BreakdownStep {
  name: string;
  kind: string;
  where: "gpu" | "host" | "host-driven" | "alias";
  /** GPU time per training step (timestamp queries), ms; null for steps without dispatches. */
  gpuMs: number | null;
  note: string;
}

export interface Breakdown {
  wallMs: number;
  gpuMs: number;
  steps: BreakdownStep[];
  /** Dispatches and submits per training step. */
  dispatches: number;
  submits: number;
  /** Whether the adapter gave timestamps (timestamp-query). */
  timed: boolean;
}

export interface GpuMlp {
  primal: GpuMlpSide;
  jax: GpuMlpSide | null;
  compile: CompileInfo | null;
  /** Primal's steps that ran on the host (inspection notes). */
  notes: string[];
  referenceLoss: number;
}

const CHECK_STEPS = 5;

function timing(software: boolean) {
  return software ? { warmup: 3, minSamples: 10, maxSamples: 200, budgetMs: 2000 } : { warmup: 5, minSamples: 20, maxSamples: 400, budgetMs: 1500 };
}

/** Primal's jitted and eager step on webgpu:0: first call, pipelines, losses, and the timed loops. */
async function preparePrimal(g: GpuPeers, d: MlpData) {
  const { primal: pg } = g;
  const x = np2(d.x, [MLP.batch, MLP.input]);
  const y = np2(d.y, [MLP.batch, MLP.classes]);
  const loop = (step: (p: PP, x: NDArray, y: NDArray) => [PP, NDArray]) => {
    let p = primalParams(d);
    return () => {
      const [next, l] = step(p, x, y);
      pg.sync();
      l.dispose();
      disposeOld(p, next);
      p = next;
    };
  };
  const jitted = jit(primalStep());
  const p0 = primalParams(d);
  pg.sync();
  const before = pg.client.shaderCount;
  const probe = await probeCompile(async () => {
    const t = performance.now();
    jitted(p0, x, y);
    pg.sync();
    return performance.now() - t;
  });
  const pipelinesJit = pg.client.shaderCount - before;
  const losses = stepLosses(jitted, d, x, y, CHECK_STEPS);
  const eager = primalStep();
  const eagerStep = (pp: PP, xx: NDArray, yy: NDArray) => disableJit(() => eager(pp, xx, yy));
  const e0 = primalParams(d);
  pg.sync();
  const beforeEager = pg.client.shaderCount;
  eagerStep(e0, x, y);
  pg.sync();
  return {
    jit: loop(jitted),
    eager: loop(eagerStep),
    side: { jit: null, eager: null, firstCallMs: probe.value, pipelinesJit, pipelinesEager: pg.client.shaderCount - beforeEager, losses } as GpuMlpSide,
    compile: probe.info,
  };
}

const np2 = (v: Float32Array, shape: number[]): NDArray => np.array(v).reshape(shape);

/** jax-js's jitted and eager step on its webgpu device. */
async function prepareJax(jx: JaxGpu, d: MlpData) {
  const lib = jx.lib;
  const x = lib.numpy.array(d.x).reshape([MLP.batch, MLP.input]);
  const y = lib.numpy.array(d.y).reshape([MLP.batch, MLP.classes]);
  const loop = (step: (p: JP, x: JArr, y: JArr) => [JP, JArr]) => {
    let p = jaxParams(lib, d);
    return async () => {
      const [next, l] = step(p, x.ref, y.ref);
      await lib.blockUntilReady([next, l]);
      l.dispose();
      p = next;
    };
  };
  const jitted = lib.jit(jaxStep(lib));
  const p0 = jaxParams(lib, d);
  await lib.blockUntilReady([p0, x, y]);
  const before = jx.pipelines();
  const t = performance.now();
  const [n0, l0] = jitted(p0, x.ref, y.ref);
  await lib.blockUntilReady([n0, l0]);
  const firstCallMs = performance.now() - t;
  const pipelinesJit = jx.pipelines() - before;
  lib.tree.dispose([n0, l0]);
  const losses: number[] = [];
  let p = jaxParams(lib, d);
  for (let i = 0; i < CHECK_STEPS; i++) {
    const [next, l] = jitted(p, x.ref, y.ref);
    losses.push((await l.data())[0]);
    p = next;
  }
  lib.tree.dispose(p);
  const eager = jaxStep(lib);
  const e0 = jaxParams(lib, d);
  await lib.blockUntilReady(e0);
  const beforeEager = jx.pipelines();
  const [n1, l1] = eager(e0, x.ref, y.ref);
  await lib.blockUntilReady([n1, l1]);
  const pipelinesEager = jx.pipelines() - beforeEager;
  lib.tree.dispose([n1, l1]);
  return {
    jit: loop(jitted),
    eager: loop(eager),
    side: { jit: null, eager: null, firstCallMs, pipelinesJit, pipelinesEager, losses } as GpuMlpSide,
  };
}

/** The MLP on WebGPU: first calls and pipelines, the loss check, then the loops side by side. */
export async function gpuMlpBench(g: GpuPeers, d: MlpData): Promise<GpuMlp> {
  const p = await preparePrimal(g, d);
  let j: Awaited<ReturnType<typeof prepareJax>> | null = null;
  if (g.jax)
    try {
      j = await prepareJax(g.jax, d);
    } catch (e) {
      g.notes.push(`jax-js webgpu MLP failed: ${(e as Error).message.split("\n")[0]}`);
    }
  const opts = timing(g.primal.software);
  const [pJit, jJit] = await measureAll([{ label: "Primal webgpu MLP jitted", fn: p.jit }, { label: "jax-js webgpu MLP jitted", fn: j?.jit }], opts, g.notes);
  const [pEager, jEager] = await measureAll([{ label: "Primal webgpu MLP eager", fn: p.eager }, { label: "jax-js webgpu MLP eager", fn: j?.eager }], opts, g.notes);
  const out: GpuMlp = {
    primal: { ...p.side, jit: pJit, eager: pEager },
    jax: j && { ...j.side, jit: jJit, eager: jEager },
    compile: p.compile,
    notes: placementNotes(p.compile),
    referenceLoss: referenceLoss(d),
  };
  const ms = (x: Timing | null | undefined) => x?.medianMs.toFixed(3) ?? "-";
  for (const [name, s] of [["primal", out.primal], ["jax-js", out.jax]] as const)
    if (s) console.log(`webgpu mlp ${name}: jit ${ms(s.jit)} ms, eager ${ms(s.eager)} ms, first call ${s.firstCallMs?.toFixed(1)} ms, pipelines ${s.pipelinesJit} (+${s.pipelinesEager} eager)`);
  return out;
}

/** Primal's jitted step with per-kernel GPU timing: where each training step's time goes. */
export async function mlpBreakdown(g: GpuPeers, d: MlpData, steps = 10): Promise<Breakdown> {
  const { primal: pg } = g;
  setKernelTiming(true);
  try {
    const f = jit(primalStep());
    const x = np2(d.x, [MLP.batch, MLP.input]);
    const y = np2(d.y, [MLP.batch, MLP.classes]);
    let p = primalParams(d);
    const step = () => {
      const [next, l] = f(p, x, y);
      pg.sync();
      l.dispose();
      disposeOld(p, next);
      p = next;
    };
    const { info } = await probeCompile(async () => step());
    for (let i = 0; i < 2; i++) step();
    const kernels = info.records.flatMap((r) => r.kernels);
    const gpu0 = kernels.map((k) => k.timing.totalMs);
    const s0 = pg.client.stats();
    const walls: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      step();
      walls.push(performance.now() - t);
    }
    const s1 = pg.client.stats();
    const per = kernels.map((k, i) => (k.timing.totalMs - gpu0[i]) / steps);
    const timed = per.some((v) => v > 0);
    const out: BreakdownStep[] = kernels.map((k, i) => {
      const note = k.note ?? "";
      const where: BreakdownStep["where"] = k.kind === "alias" ? "alias" : note.startsWith("runs on the host") ? "host" : note.startsWith("higher-order") ? "host-driven" : "gpu";
      return { name: k.name, kind: k.kind, where, gpuMs: where === "gpu" && timed ? per[i] : null, note };
    });
    return {
      wallMs: median(walls),
      gpuMs: per.reduce((a, b) => a + b, 0),
      steps: out,
      dispatches: (s1.dispatches - s0.dispatches) / steps,
      submits: (s1.submits - s0.submits) / steps,
      timed,
    };
  } finally {
    setKernelTiming(false);
    pg.client.setTiming(false);
  }
}
