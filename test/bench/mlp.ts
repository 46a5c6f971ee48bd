// The MLP training step of issue 4, written the same way in the three libraries: 728 -> 100
// (relu) -> 10, batch 32, softmax cross-entropy on one-hot labels (the mean over the batch of
// -sum(y * log_softmax(logits))), valueAndGrad + an SGD update with learning rate 0.01. Every
// library starts from the same seeded float32 parameters and data; the losses of the first steps
// are compared with each other and, at step 0, with a float64 recomputation in plain JS, so a
// speed difference cannot come from computing something else.
//
// Timed loops are real training loops: each step's new parameters feed the next step, and the
// old ones are disposed (jax-js needs it: its arrays are reference-counted and every call takes
// ownership of its arguments, so a loop that forgets `.ref`/dispose leaks or frees too early).
// TensorFlow.js has no jit: its step is optimizer.minimize inside its own tidy, the same code
// in the "jitted" and "eager" rows.

import { NDArray, blockUntilReady, disableJit, jit, nn, np, tree, valueAndGrad } from "../../kernel/index";
import { CompileInfo, probeCompile, withCompilerOff } from "./compile-probe";
import type { JaxJs, Peers, Tfjs } from "./peers";
import { tryPeer } from "./peers";
import { ChildMode, Timing, childMedians, measureAll, median, rng, timeOnce, uniform } from "./measure";

/** The network and training constants of the MLP step. */
export const MLP = { batch: 32, input: 728, hidden: 100, classes: 10, lr: 0.01 } as const;

/** Seeded float32 data and initial parameters, shared by the three libraries. */
export interface MlpData {
  x: Float32Array;
  /** One-hot labels, batch × classes. */
  y: Float32Array;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/** The data and initial parameters (Glorot-uniform weights, small random biases), from fixed seeds. */
export function mlpData(): MlpData {
  const { batch, input, hidden, classes } = MLP;
  const labels = rng(7);
  const y = new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) y[i * classes + Math.floor(labels() * classes)] = 1;
  const glorot = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut));
  return {
    x: uniform(batch * input, 1),
    y,
    w1: uniform(input * hidden, 2, -glorot(input, hidden), glorot(input, hidden)),
    b1: uniform(hidden, 3, -0.1, 0.1),
    w2: uniform(hidden * classes, 4, -glorot(hidden, classes), glorot(hidden, classes)),
    b2: uniform(classes, 5, -0.1, 0.1),
  };
}

/** The step-0 loss recomputed in float64 in plain JS: the independent reference. */
export function referenceLoss(d: MlpData): number {
  const { batch, input, hidden, classes } = MLP;
  let total = 0;
  for (let b = 0; b < batch; b++) {
    const h = new Float64Array(hidden);
    for (let j = 0; j < hidden; j++) {
      let s = d.b1[j];
      for (let k = 0; k < input; k++) s += d.x[b * input + k] * d.w1[k * hidden + j];
      h[j] = Math.max(0, s);
    }
    const logits = new Float64Array(classes);
    for (let c = 0; c < classes; c++) {
      let s = d.b2[c];
      for (let j = 0; j < hidden; j++) s += h[j] * d.w2[j * classes + c];
      logits[c] = s;
    }
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0));
    for (let c = 0; c < classes; c++) total -= d.y[b * classes + c] * (logits[c] - lse);
  }
  return total / batch;
}

/** One library's MLP figures (null where it does not apply or failed). */
export interface MlpResult {
  jit: Timing | null;
  eager: Timing | null;
  /** Primal only: jitted with the compiler off (the jaxpr interpreted primitive by primitive). */
  compilerOff: Timing | null;
  /** First call of a fresh jitted step (trace + compile + run), median over fresh functions. */
  firstCallMs: number | null;
  /** First call in a fresh process (library code still cold), median over child processes. */
  coldFirstCallMs: number | null;
  /** Losses of the first steps from the shared initial parameters. */
  losses: number[];
  /** Primal only: what the compiler made of the step. */
  compile: CompileInfo | null;
}

/** A timed training loop: each call is one step, fed the previous step's parameters. */
type Loop = () => Promise<void>;

/** What each library prepares before the loops are timed side by side. */
interface Prepared {
  jit: Loop | null;
  eager: Loop | null;
  compilerOff: Loop | null;
  firstCallMs: number | null;
  losses: number[];
  compile: CompileInfo | null;
  dispose(): void;
}

const FRESH_FUNCTIONS = 5;
const CHECK_STEPS = 5;
const TIMING = { warmup: 5, minSamples: 20, maxSamples: 400, budgetMs: 1500 };

// ---------------------------------------------------------------- Primal

/** The MLP's parameters in Primal. */
export type PP = { w1: NDArray; b1: NDArray; w2: NDArray; b2: NDArray };

/** A fresh step function (new closures, so a new jit traces and compiles it from scratch). */
export function primalStep(): (p: PP, x: NDArray, y: NDArray) => [PP, NDArray] {
  const loss = (p: PP, x: NDArray, y: NDArray) => {
    const h = nn.relu(np.matmul(x, p.w1).add(p.b1));
    const logits = np.matmul(h, p.w2).add(p.b2);
    return np.negative(np.mean(np.sum(y.mul(nn.logSoftmax(logits, 1)), 1)));
  };
  return (p, x, y) => {
    const [l, g] = valueAndGrad(loss)(p, x, y);
    return [tree.map((w: NDArray, gw: NDArray) => w.sub(gw.mul(MLP.lr)), p, g) as PP, l];
  };
}

/** The shared initial parameters as Primal arrays (on the default device). */
/** The losses of the first `steps` steps from the initial parameters (checked against the float64 reference). */
export function stepLosses(step: (p: PP, x: NDArray, y: NDArray) => [PP, NDArray], d: MlpData, x: NDArray, y: NDArray, steps: number): number[] {
  const losses: number[] = [];
  let p = primalParams(d);
  for (let i = 0; i < steps; i++) {
    const [next, l] = step(p, x, y);
    losses.push(Number(l.item()));
    p = next;
  }
  return losses;
}

export function primalParams(d: MlpData): PP {
  const { input, hidden, classes } = MLP;
  return { w1: np.array(d.w1).reshape([input, hidden]), b1: np.array(d.b1), w2: np.array(d.w2).reshape([hidden, classes]), b2: np.array(d.b2) };
}

/** Frees the old parameters, except any the step handed back unchanged. */
export function disposeOld(old: PP, fresh: PP): void {
  const keep = new Set(Object.values(fresh));
  for (const a of Object.values(old)) if (!keep.has(a)) a.dispose();
}

async function preparePrimal(d: MlpData): Promise<Prepared> {
  const x = np.array(d.x).reshape([MLP.batch, MLP.input]);
  const y = np.array(d.y).reshape([MLP.batch, MLP.classes]);
  const loop = (step: (p: PP, x: NDArray, y: NDArray) => [PP, NDArray]): Loop => {
    let p = primalParams(d);
    return async () => {
      const [next, l] = step(p, x, y);
      await blockUntilReady([next, l]);
      l.dispose();
      disposeOld(p, next);
      p = next;
    };
  };
  // The first of these first calls also pays for warming the library's own code (cold starts
  // are measured in child processes): it is left out of the median.
  const firsts: number[] = [];
  let compile: CompileInfo | null = null;
  let jitted = jit(primalStep());
  for (let i = 0; i < FRESH_FUNCTIONS + 1; i++) {
    const f = jit(primalStep());
    const p = primalParams(d);
    const probe = await probeCompile(() => timeOnce(async () => blockUntilReady(f(p, x, y)))); // trace + compile + run
    firsts.push(probe.value);
    if (i === 0) {
      compile = probe.info;
      jitted = f;
    }
  }
  const losses = stepLosses(jitted, d, x, y, CHECK_STEPS);
  const eager = primalStep();
  const off = loop(jit(primalStep()));
  return {
    jit: loop(jitted),
    eager: loop((pp, xx, yy) => disableJit(() => eager(pp, xx, yy))),
    compilerOff: () => withCompilerOff(off),
    firstCallMs: median(firsts.slice(1)),
    losses,
    compile,
    dispose: () => {},
  };
}

// ---------------------------------------------------------------- jax-js

type JArr = InstanceType<JaxJs["Array"]>;
/** The MLP's parameters in jax-js. */
export type JP = { w1: JArr; b1: JArr; w2: JArr; b2: JArr };

/** The same step in jax-js, which takes ownership of every argument: `tree.ref(p)` keeps p for the update. */
export function jaxStep(jx: JaxJs): (p: JP, x: JArr, y: JArr) => [JP, JArr] {
  const { numpy: jnp, nn: jnn } = jx;
  const loss = (p: JP, x: JArr, y: JArr): JArr => {
    const h = jnn.relu(jnp.matmul(x, p.w1).add(p.b1));
    const logits = jnp.matmul(h, p.w2).add(p.b2);
    return jnp.negative(jnp.mean(jnp.sum(y.mul(jnn.logSoftmax(logits, 1)), 1)));
  };
  return (p, x, y) => {
    const [l, g] = jx.valueAndGrad(loss)(jx.tree.ref(p), x, y) as [JArr, JP];
    const next = { w1: p.w1.sub(g.w1.mul(MLP.lr)), b1: p.b1.sub(g.b1.mul(MLP.lr)), w2: p.w2.sub(g.w2.mul(MLP.lr)), b2: p.b2.sub(g.b2.mul(MLP.lr)) };
    return [next, l];
  };
}

/** The shared initial parameters as jax-js arrays (on its default device). */
export function jaxParams(jx: JaxJs, d: MlpData): JP {
  const { input, hidden, classes } = MLP;
  const a = (v: Float32Array) => jx.numpy.array(v);
  return { w1: a(d.w1).reshape([input, hidden]), b1: a(d.b1), w2: a(d.w2).reshape([hidden, classes]), b2: a(d.b2) };
}

async function prepareJax(jx: JaxJs, d: MlpData): Promise<Prepared> {
  const x = jx.numpy.array(d.x).reshape([MLP.batch, MLP.input]);
  const y = jx.numpy.array(d.y).reshape([MLP.batch, MLP.classes]);
  const live: (() => void)[] = [];
  // x and y stay alive across steps: each call gets its own reference; the old p is consumed by the step.
  const loop = (step: (p: JP, x: JArr, y: JArr) => [JP, JArr]): Loop => {
    let p = jaxParams(jx, d);
    live.push(() => jx.tree.dispose(p));
    return async () => {
      const [next, l] = step(p, x.ref, y.ref);
      await jx.blockUntilReady([next, l]);
      l.dispose();
      p = next;
    };
  };
  const firsts: number[] = [];
  for (let i = 0; i < FRESH_FUNCTIONS + 1; i++) {
    const f = jx.jit(jaxStep(jx));
    const p = jaxParams(jx, d);
    firsts.push(
      await timeOnce(async () => {
        const [next, l] = f(p, x.ref, y.ref);
        await jx.blockUntilReady([next, l]);
        jx.tree.dispose([next, l]);
      }),
    );
    f.dispose();
  }
  const jitted = jx.jit(jaxStep(jx));
  const losses: number[] = [];
  let p = jaxParams(jx, d);
  for (let i = 0; i < CHECK_STEPS; i++) {
    const [next, l] = jitted(p, x.ref, y.ref);
    losses.push((await l.data())[0]); // data() consumes l
    p = next;
  }
  jx.tree.dispose(p);
  return {
    jit: loop(jitted),
    eager: loop(jaxStep(jx)),
    compilerOff: null,
    firstCallMs: median(firsts.slice(1)),
    losses,
    compile: null,
    dispose: () => {
      for (const f of live) f();
      jitted.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

// ---------------------------------------------------------------- TensorFlow.js

async function prepareTf(tf: Tfjs, d: MlpData): Promise<Prepared> {
  const { batch, input, hidden, classes } = MLP;
  const x = tf.tensor2d(d.x, [batch, input]);
  const y = tf.tensor2d(d.y, [batch, classes]);
  const fresh = () => {
    const v = { w1: tf.variable(tf.tensor2d(d.w1, [input, hidden])), b1: tf.variable(tf.tensor1d(d.b1)), w2: tf.variable(tf.tensor2d(d.w2, [hidden, classes])), b2: tf.variable(tf.tensor1d(d.b2)) };
    const loss = () => {
      const h = tf.relu(tf.add(tf.matMul(x, v.w1), v.b1));
      const logits = tf.add(tf.matMul(h, v.w2), v.b2);
      return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits, 1)), 1))) as import("@tensorflow/tfjs").Scalar;
    };
    const opt = tf.train.sgd(MLP.lr);
    const step = async () => {
      const cost = opt.minimize(loss, true, [v.w1, v.b1, v.w2, v.b2])!;
      const l = (await cost.data())[0];
      cost.dispose();
      return l;
    };
    return { step, dispose: () => (opt.dispose(), Object.values(v).forEach((t) => t.dispose())) };
  };
  const check = fresh();
  const losses: number[] = [];
  for (let i = 0; i < CHECK_STEPS; i++) losses.push(await check.step());
  check.dispose();
  const run = fresh();
  const before = tf.memory().numTensors;
  const loop: Loop = async () => void (await run.step());
  return {
    jit: loop,
    eager: null,
    compilerOff: null,
    firstCallMs: null,
    losses,
    compile: null,
    dispose: () => {
      const leaked = tf.memory().numTensors - before;
      if (leaked > 0) console.error(`bench: the tfjs MLP loop left ${leaked} tensors behind`);
      run.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

/** Child mode: the first jitted step in this fresh process, in ms (data made first, not timed). */
export async function coldFirstCallPrimal(): Promise<number> {
  const d = mlpData();
  const x = np.array(d.x).reshape([MLP.batch, MLP.input]);
  const y = np.array(d.y).reshape([MLP.batch, MLP.classes]);
  const p = primalParams(d);
  return timeOnce(async () => blockUntilReady(jit(primalStep())(p, x, y)));
}

/** Child mode: the same for jax-js (its wasm device initialised first, not timed). */
export async function coldFirstCallJax(jx: JaxJs): Promise<number> {
  const d = mlpData();
  const x = jx.numpy.array(d.x).reshape([MLP.batch, MLP.input]);
  const y = jx.numpy.array(d.y).reshape([MLP.batch, MLP.classes]);
  const p = jaxParams(jx, d);
  return timeOnce(async () => {
    const [next, l] = jx.jit(jaxStep(jx))(p, x, y);
    await jx.blockUntilReady([next, l]);
  });
}

/** The MLP figures of the three libraries, and the float64 step-0 reference loss. */
export interface MlpBench {
  primal: MlpResult;
  jax: MlpResult | null;
  tf: MlpResult | null;
  referenceLoss: number;
}

const COLD_PROCESSES = 5;

/** Prepares the three libraries' steps (first calls, loss check), then times the loops side by side. */
export async function mlpBench(peers: Peers): Promise<MlpBench> {
  const d = mlpData();
  const cold = childMedians(["first-call-primal", "first-call-jax"].slice(0, peers.jax ? 2 : 1).map((mode) => ({ mode: mode as ChildMode })), COLD_PROCESSES);
  const p = await preparePrimal(d);
  const j = peers.jax ? await tryPeer("jax-js MLP", peers.notes, () => prepareJax(peers.jax!.lib, d)) : null;
  const t = peers.tf ? await tryPeer("tfjs MLP", peers.notes, () => prepareTf(peers.tf!.lib, d)) : null;
  // The jitted loops (and tfjs's only one) side by side, then the eager ones.
  const [pJit, pOff, jJit, tStep] = await measureAll(
    [
      { label: "Primal MLP jitted", fn: p.jit },
      { label: "Primal MLP jitted, compiler off", fn: p.compilerOff },
      { label: "jax-js MLP jitted", fn: j?.jit },
      { label: "tfjs MLP", fn: t?.jit },
    ],
    TIMING,
    peers.notes,
  );
  const [pEager, jEager] = await measureAll([{ label: "Primal MLP eager", fn: p.eager }, { label: "jax-js MLP eager", fn: j?.eager }], TIMING, peers.notes);
  for (const x of [p, j, t]) x?.dispose();
  const coldOf = (i: number) => ("error" in cold ? null : cold.medians[i] ?? null);
  if ("error" in cold) peers.notes.push(cold.error);
  const result = (x: Prepared, jitT: Timing | null, eagerT: Timing | null, off: Timing | null, coldMs: number | null): MlpResult => ({
    jit: jitT,
    eager: eagerT,
    compilerOff: off,
    firstCallMs: x.firstCallMs,
    coldFirstCallMs: coldMs,
    losses: x.losses,
    compile: x.compile,
  });
  const out: MlpBench = {
    primal: result(p, pJit, pEager, pOff, coldOf(0)),
    jax: j && result(j, jJit, jEager, null, coldOf(1)),
    tf: t && result(t, tStep, tStep, null, null),
    referenceLoss: referenceLoss(d),
  };
  const ms = (x: Timing | null | undefined) => x?.medianMs.toFixed(3) ?? "-";
  const first = (r: MlpResult | null) => `first call ${r?.firstCallMs?.toFixed(1) ?? "-"} ms (fresh process ${r?.coldFirstCallMs?.toFixed(1) ?? "-"} ms)`;
  console.log(`mlp primal: jit ${ms(pJit)} ms, eager ${ms(pEager)} ms, compiler off ${ms(pOff)} ms, ${first(out.primal)}`);
  console.log(`mlp jax-js: jit ${ms(jJit)} ms, eager ${ms(jEager)} ms, ${first(out.jax)}`);
  console.log(`mlp tfjs: ${ms(tStep)} ms per step`);
  return out;
}
