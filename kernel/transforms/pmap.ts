// pmap: JAX's parallel map over devices. `pmap(f)` traces f once per shard signature (the
// avals without the mapped axis) into a closed jaxpr, inside an axis frame (a MainTrace whose
// globalData is `{ axisName, axisSize }`, pushed below the staging trace) so the collectives in
// it (lax.psum, allGather...) are staged rather than evaluated. The call is one `xla_pmap`
// equation carrying that per-shard jaxpr, so every transformation composes with it through the
// primitive's rules, as with jit: jvp = pmap of the jvp'd body, batching = pmap of the vmapped
// body, partial evaluation (grad) = a known pmap and an unknown pmap fed by residuals, and
// transposition = pmap of the transposed body (the collectives' own rules apply inside).
//
// Execution on concrete arrays (`pmapImpl`): each mapped input is split along its in_axis and
// shard i is placed (committed) on device i; unmapped inputs are copied to every device. The
// body runs shard by shard in lockstep, one equation at a time: an ordinary equation is bound
// on each shard's values (so it runs on that shard's device); a collective over this pmap's
// axis gathers every shard's operands and computes the result with the collective's own
// batching rule (its vmap definition), then sends each shard its part. Jit calls in the body
// that contain collectives are inlined into the lockstep; cond/scan/while bodies containing
// them are refused (NotAvailableError). An ordinary equation is first offered to the devices'
// backend for all shards at once (`executeShards`, found on the backend object when it has
// one): the CPU backend runs the shards' matmuls and big wasm kernels side by side on its
// worker threads, each device with its share of the cores (backends/cpu/shard-parallel.ts),
// with the same results as shard by shard. What it declines (small ops, JS kernels, other
// dtypes) runs shard after shard on this thread, as does everything between those kernels:
// the interpreter itself stays on the main thread, so the parallel part of a body is its big
// kernels, not whole per-device programs.
//
// Outputs are stacked along their out_axes into one array on the first device, uncommitted.
// JAX keeps each shard on its device until the array is read; here the shards are gathered
// when the pmap returns.

import { ShapedArray } from "../core/aval";
import { config } from "../core/config";
import { Backend, Device, DeviceBuffer, devices as backendDevices } from "../core/device";
import { ArgumentError, NotAvailableError, PrimalError, ShapeError, ValueError } from "../core/errors";
import { NDArray, fromStorage } from "../core/ndarray";
import { ShardedBuffer } from "../core/sharded";
import { Primitive, UndefinedPrimal, definePrimitive } from "../core/primitive";
import { describeValue } from "../core/shape";
import { MainTrace, Trace, Tracer, bind, bind1, withNewMain } from "../core/trace";
import { PyTreeDef, treeFlatten, treeUnflatten } from "../core/tree";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "../ir/jaxpr";
import { fromLiteral } from "../ir/literal";
import { recordTrace } from "../ir/trace-log";
import { axisIndex as axisIndexP, psum as psumP } from "../primitives/collectives";
import { concatenate, convert, eq, moveAxis, mul, reshape, sliceAxis, zerosLike } from "../primitives/ops";
import { flattenToArrays } from "./args";
import { batchJaxpr, emitUnknown, hoistConsts, jvpJaxpr, partialEvalJaxpr, selectOutputs, transposeJaxpr } from "./control-flow";
import { customJvpCallP, customVjpCallP } from "./custom";
import { jitP } from "./jit";
import { PartialEvalTracer } from "./partial-eval";
import { traceToJaxpr } from "./stage";

/** The parameters of an `xla_pmap` equation (JAX's names). */
export interface PmapParams {
  /** The per-shard program: avals without the mapped axis; no consts (they are hoisted to inputs). */
  call_jaxpr: ClosedJaxpr;
  /** The axis name the body's collectives use (a generated one when pmap was given none). */
  axis_name: string;
  axis_size: number;
  /** Per input: the mapped axis, or null (the same value on every device). */
  in_axes: (number | null)[];
  /** Per output: the axis the shards are stacked along, or null (shard 0's value). */
  out_axes: (number | null)[];
  /** The devices given to pmap, or null: the default backend's first axis_size devices. */
  devices: Device[] | null;
  name: string;
}

/** Names made for a pmap given no axisName: they print as None, as JAX's unnamed axis. */
const generatedNames = new Set<string>();
let nextAxis = 0;

/** The level that binds the pmap axis while the body is traced; it is always below the staging trace. */
class AxisFrameTrace extends Trace {
  pure(x: NDArray): NDArray {
    return x;
  }
  processPrimitive(prim: Primitive): NDArray[] {
    throw new PrimalError(`xla_pmap: '${prim.name}' reached the axis frame of a pmap outside its body, got a primitive with no traced operand`);
  }
}

/** Runs `fn` with the pmap's axis bound (collectives over it are then staged by the trace above). */
function withAxisFrame<T>(name: string, size: number, fn: () => T): T {
  return withNewMain(AxisFrameTrace, { axisName: name, axisSize: size }, (_main: MainTrace) => fn());
}

const norm = (a: number | null, rank: number): number | null => (a === null ? null : a < 0 ? a + rank : a);

/** The devices an xla_pmap runs on, with JAX's error when there are too few. */
function pmapDevices(p: PmapParams): Device[] {
  if (p.devices) return p.devices;
  const all = backendDevices();
  if (p.axis_size > all.length)
    throw new ValueError(`compiling computation that requires ${p.axis_size} logical devices, but only ${all.length} XLA devices are available (num_replicas=${p.axis_size})`);
  return all.slice(0, p.axis_size);
}

/** x's data copied to `device` (committed to it), unless it is there already. */
function place(x: NDArray, device: Device, committed: boolean): NDArray {
  if (x._buffer && x.device === device && x._committed === committed) return x;
  return fromStorage(x._buf("xla_pmap").readSync(), x.aval, device, committed);
}

/**
 * Whether x's data is host memory to read in place: a CPU array (its storage is never mutated,
 * so a view of it may stand for a slice). Sharding and stacking 1024² matmul operands through
 * slice and concatenate took ~5 ms per 4 MiB shard, a third of the matmul itself.
 */
const onHost = (x: NDArray): boolean => !(x instanceof Tracer) && !!x._buffer && !x._disposed && x._buffer.device.platform === "cpu";

/** Slice i of x along `axis`, without that axis (committed to `device`). */
function shardOf(x: NDArray, axis: number, i: number, device: Device): NDArray {
  const shape = x.shape.filter((_, k) => k !== axis);
  // A slice along an axis with only size-1 axes before it is contiguous: a view of the storage.
  if (onHost(x) && x.shape.slice(0, axis).every((d) => d === 1)) {
    const n = shape.reduce((a, b) => a * b, 1);
    return fromStorage(x._buf("xla_pmap").readSync().subarray(i * n, (i + 1) * n), x.aval.update({ shape }), device, true);
  }
  return place(reshape(sliceAxis(x, axis, i, i + 1), shape), device, true);
}

/** Stacks one value per shard along a new axis 0 on `device` (uncommitted). */
function stackShards(xs: NDArray[], device: Device): NDArray {
  const aval = xs[0].aval.update({ shape: [xs.length, ...xs[0].shape] });
  if (device.platform === "cpu" && xs.every(onHost)) {
    const parts = xs.map((x) => x._buf("xla_pmap").readSync());
    // Shards computed side by side may be views of one array, in order: it is the stack.
    const whole = parts[0].buffer;
    const step = parts[0].byteLength;
    if (whole.byteLength === step * parts.length && parts.every((p, i) => p.buffer === whole && p.byteOffset === i * step && p.constructor === parts[0].constructor))
      return fromStorage(new xs[0].dtype.storage(whole, 0, aval.size), aval, device, false);
    const out = new xs[0].dtype.storage(aval.size);
    parts.forEach((p, i) => out.set(p, i * p.length));
    return fromStorage(out, aval, device, false);
  }
  return concatenate(
    xs.map((x) => reshape(place(x, device, false), [1, ...x.shape])),
    0,
  );
}

// ---------------------------------------------------------------------------------------------
// Execution: the lockstep interpreter

/** Whether the jaxpr (or a jaxpr nested in its equations) has a collective over `name`. */
function hasCollective(j: Jaxpr, name: string): boolean {
  for (const e of j.eqns) {
    if (e.primitive.axisNames?.(e.params).includes(name)) return true;
    for (const v of Object.values(e.params)) for (const sub of nestedJaxprs(v)) if (hasCollective(sub, name)) return true;
  }
  return false;
}
function nestedJaxprs(v: unknown): Jaxpr[] {
  if (v instanceof ClosedJaxpr) return [v.jaxpr];
  if (v instanceof Jaxpr) return [v];
  if (Array.isArray(v)) return v.flatMap(nestedJaxprs);
  return [];
}

/** A collective over this pmap's axis, computed across the shards with its batching rule. */
function collectiveAcross(e: JaxprEqn, ins: NDArray[][], p: PmapParams, devs: Device[]): NDArray[][] {
  const prim = e.primitive;
  if (!prim.batch) throw new NotAvailableError(`xla_pmap: collective '${prim.name}' has no batching rule to evaluate it across devices`);
  const nIn = e.inputs.length;
  const stacked = Array.from({ length: nIn }, (_, k) => stackShards(ins.map((shard) => shard[k]), devs[0]));
  const [outs, dims] = prim.batch(stacked, stacked.map(() => 0), e.params, p.axis_size, p.axis_name);
  return devs.map((dev, i) => outs.map((o, k) => (dims[k] === null ? place(o, dev, true) : shardOf(o, dims[k]!, i, dev))));
}

/**
 * What a backend offers to run one primitive on every shard at once (shard i's inputs on
 * devices[i]), or null to have it run shard by shard. The CPU backend has it (cpu-backend.ts).
 */
interface ShardExecutor {
  executeShards(prim: Primitive, inputs: { buffer: DeviceBuffer; aval: ShapedArray }[][], params: unknown, outAvals: ShapedArray[], devices: Device[]): DeviceBuffer[][] | null;
}

let sideBySideOn = process.env.PRIMAL_PMAP_PARALLEL !== "0";
/**
 * Turns running shards side by side on or off (tests and the benchmark compare the two paths;
 * PRIMAL_PMAP_PARALLEL=0 starts with it off); returns the previous setting.
 */
export function setPmapParallel(on: boolean): boolean {
  const was = sideBySideOn;
  sideBySideOn = on;
  return was;
}

/**
 * An ordinary equation on every shard at once through the devices' backend (executeShards), as
 * evalPrimitive would run it on each: null when it cannot (off, one shard, several backends, a
 * higher-order primitive, a tracer operand) or the backend declines.
 */
function sideBySide(e: JaxprEqn, ins: NDArray[][], devs: Device[]): NDArray[][] | null {
  const prim = e.primitive;
  if (!sideBySideOn || devs.length < 2 || prim.impl) return null;
  const backend = devs[0].backend as Backend & Partial<ShardExecutor>;
  if (typeof backend.executeShards !== "function" || devs.some((d) => d.backend !== backend)) return null;
  if (ins.some((shard) => shard.some((x) => x instanceof Tracer || !x._buffer || x._disposed))) return null;
  const outAvals = prim.abstractEval(ins[0].map((x) => x.aval), e.params);
  const inputs = ins.map((shard, i) =>
    shard.map((x) => ({ buffer: x._buffer!.device === devs[i] ? x._buffer! : backend.fromHost(x._buffer!.readSync(), x.aval, devs[i]), aval: x.aval })),
  );
  const outs = backend.executeShards(prim, inputs, e.params, outAvals, devs);
  return outs && outs.map((bufs) => bufs.map((b, k) => new NDArray(outAvals[k], b, true)));
}

/**
 * What a backend offers to run a whole program on every shard at once, shard i on devices[i]
 * (the CPU backend: each device's own thread, backends/cpu/device-threads.ts), returning each
 * shard's outputs as buffers left on its device; null when it cannot (the caller then runs the
 * program's equations in lockstep). Throws what the program raises.
 */
interface ShardProgramRunner {
  runShardPrograms(program: ClosedJaxpr, name: string, inputs: { buffer: DeviceBuffer; aval: ShapedArray }[][], devices: Device[]): DeviceBuffer[][] | null;
}

/** The runner of the devices' backend, or null (one device, several backends, none offered, side by side off). */
function programRunner(devs: Device[]): ShardProgramRunner | null {
  // With jit disabled (the JIT toggle off) the body runs equation by equation, as eager code.
  if (!sideBySideOn || devs.length < 2 || config.disableJit) return null;
  const backend = devs[0].backend as Backend & Partial<ShardProgramRunner>;
  if (typeof backend.runShardPrograms !== "function" || devs.some((d) => d.backend !== backend)) return null;
  return backend as ShardProgramRunner;
}

/**
 * A step of a body: one equation the main thread runs in lockstep (a collective over the axis,
 * a jit holding one, an effect, a nested pmap), or a run of ordinary equations cut out as a
 * program of its own, run on every device at once where the backend can.
 */
type Step =
  | { eqn: JaxprEqn }
  | { program: ClosedJaxpr; ins: Var[]; outs: Var[]; eqns: JaxprEqn[]; declined: boolean };

/** Primitives that stay on the main thread: effects (their output and order belong to the cell) and nested pmaps. */
const MAIN_THREAD = new Set(["debug_print", "debug_callback", "xla_pmap"]);

/** Steps of a body, per axis name (a body's collectives are over its own pmap's axis). */
const plans = new WeakMap<Jaxpr, Map<string, Step[]>>();

/** Cuts `j` into steps: maximal runs of ordinary equations become programs. */
function planSteps(j: Jaxpr, axis: string): Step[] {
  let byAxis = plans.get(j);
  if (!byAxis) plans.set(j, (byAxis = new Map()));
  const known = byAxis.get(axis);
  if (known) return known;
  const steps: Step[] = [];
  let run: JaxprEqn[] = [];
  const cut = () => {
    if (run.length) steps.push({ program: null as unknown as ClosedJaxpr, ins: [], outs: [], eqns: run, declined: false });
    run = [];
  };
  for (const e of j.eqns) {
    const own = e.primitive.axisNames?.(e.params).includes(axis) || MAIN_THREAD.has(e.primitive.name) || Object.values(e.params).some((v) => nestedJaxprs(v).some((sub) => hasCollective(sub, axis)));
    if (own) {
      cut();
      steps.push({ eqn: e });
    } else run.push(e);
  }
  cut();
  // Each program's inputs: the variables it reads that it does not define; its outputs: the
  // variables it defines that a later step or the body's outputs read.
  const readLater = new Set<Var>(j.outvars.filter((a): a is Var => a instanceof Var));
  for (let k = steps.length - 1; k >= 0; k--) {
    const st = steps[k];
    const eqns = "eqn" in st ? [st.eqn] : st.eqns;
    if (!("eqn" in st)) {
      const defined = new Set<Var>(eqns.flatMap((e) => e.outVars));
      const ins: Var[] = [];
      const seen = new Set<Var>();
      for (const e of eqns)
        for (const a of e.inputs)
          if (a instanceof Var && !defined.has(a) && !seen.has(a)) {
            seen.add(a);
            ins.push(a);
          }
      const outs = [...defined].filter((v) => !(v instanceof DropVar) && readLater.has(v));
      st.ins = ins;
      st.outs = outs;
      st.program = new ClosedJaxpr(new Jaxpr([], ins, eqns.map(forDevice), outs), []);
    }
    for (const e of eqns) for (const a of e.inputs) if (a instanceof Var) readLater.add(a);
  }
  byAxis.set(axis, steps);
  return steps;
}

/**
 * An equation as a device's program runs it: a custom_jvp/custom_vjp call (whose rules are
 * functions of this thread, which no other thread can run) becomes a jit of the function it
 * calls. Only evaluation happens there, which never uses the rules.
 */
function forDevice(e: JaxprEqn): JaxprEqn {
  if (e.primitive !== customJvpCallP && e.primitive !== customVjpCallP) return e;
  const p = e.params as { call_jaxpr: ClosedJaxpr; name: string };
  return new JaxprEqn(jitP, e.inputs, { jaxpr: p.call_jaxpr, name: p.name }, e.outVars, e.sourceRef);
}

/** Runs `j` on every shard in lockstep; envs[i] holds shard i's values. */
function runLockstep(j: Jaxpr, consts: NDArray[], args: NDArray[][], p: PmapParams, devs: Device[]): NDArray[][] {
  const envs = devs.map((_, i) => {
    const env = new Map<Var, NDArray>();
    j.constvars.forEach((v, k) => env.set(v, consts[k]));
    j.invars.forEach((v, k) => env.set(v, args[i][k]));
    return env;
  });
  const read = (i: number, a: Atom): NDArray => {
    if (a instanceof Literal) return fromLiteral(a);
    const x = envs[i].get(a);
    if (x === undefined) throw new PrimalError(`xla_pmap: variable used before it is defined, got ${a.aval.str()}`);
    return x;
  };
  const runner = programRunner(devs);
  const runEqn = (e: JaxprEqn) => {
    const ins = devs.map((_, i) => e.inputs.map((a) => read(i, a)));
    let outs: NDArray[][];
    if (e.primitive.axisNames?.(e.params).includes(p.axis_name)) outs = collectiveAcross(e, ins, p, devs);
    else if (e.primitive === jitP && hasCollective((e.params as { jaxpr: ClosedJaxpr }).jaxpr.jaxpr, p.axis_name)) {
      const inner = (e.params as { jaxpr: ClosedJaxpr }).jaxpr;
      outs = runLockstep(inner.jaxpr, inner.consts, ins, p, devs);
    } else {
      if (Object.values(e.params).some((v) => nestedJaxprs(v).some((sub) => hasCollective(sub, p.axis_name))))
        throw new NotAvailableError(`xla_pmap: a collective over axis '${p.axis_name}' inside '${e.primitive.name}' is not supported in pmap yet (only in the body itself, inside jit or under vmap), got one in a ${e.primitive.name} body`);
      // Each shard's equation runs on its device, all shards at once where the backend can;
      // results that came out elsewhere (an equation of literals only) are moved there, so every
      // intermediate value lives on its shard's device.
      outs = sideBySide(e, ins, devs) ?? devs.map((dev, i) => bind(e.primitive, ins[i], e.params).map((o) => place(o, dev, true)));
    }
    devs.forEach((_, i) =>
      e.outVars.forEach((v, k) => {
        if (!(v instanceof DropVar)) envs[i].set(v, outs[i][k]);
      }),
    );
  };
  for (const st of planSteps(j, p.axis_name)) {
    if ("eqn" in st) {
      runEqn(st.eqn);
      continue;
    }
    if (st.outs.length === 0) continue;
    const res = runner && !st.declined ? runProgram(runner, st, devs, (i, v) => read(i, v), p.name) : devs.length === 1 && !config.disableJit ? runCompiled(st, devs[0], (v) => read(0, v), p.name) : null;
    if (!res) {
      if (runner) st.declined = true;
      for (const e of st.eqns) runEqn(e);
      continue;
    }
    devs.forEach((_, i) => st.outs.forEach((v, k) => envs[i].set(v, res[i][k])));
  }
  return devs.map((_, i) => j.outvars.map((a) => read(i, a)));
}

/** One program on every device at once through the backend's runner; null when it declines (or an operand is a tracer). */
function runProgram(runner: ShardProgramRunner, st: Extract<Step, { program: ClosedJaxpr }>, devs: Device[], read: (i: number, v: Var) => NDArray, name: string): NDArray[][] | null {
  const ins = devs.map((_, i) => st.ins.map((v) => read(i, v)));
  if (ins.some((shard) => shard.some((x) => x instanceof Tracer || !x._buffer || x._disposed))) return null;
  const outs = runner.runShardPrograms(
    st.program,
    name,
    ins.map((shard) => shard.map((x) => ({ buffer: x._rawBuf("xla_pmap"), aval: x.aval }))),
    devs,
  );
  return outs && outs.map((bufs) => bufs.map((b, k) => new NDArray(st.outs[k].aval, b, true)));
}

/**
 * A program on the one device of a one-device pmap: compiled, as the device threads run it (so
 * one device and several compare the same code); null when an operand is a tracer.
 */
function runCompiled(st: Extract<Step, { program: ClosedJaxpr }>, dev: Device, read: (v: Var) => NDArray, name: string): NDArray[][] | null {
  const ins = st.ins.map(read);
  if (ins.some((x) => x instanceof Tracer)) return null;
  return [bind(jitP, ins, { jaxpr: st.program, name }).map((o) => place(o, dev, true))];
}

/** The shards of x along `axis` when x is already sharded so on `devs` (a pmap output, devicePutSharded): no copy. */
function existingShards(x: NDArray, axis: number, devs: Device[]): NDArray[] | null {
  const b = !(x instanceof Tracer) && !x._disposed ? x._buffer : null;
  if (!(b instanceof ShardedBuffer) || b.axis !== axis || b.shards.length !== devs.length || b.shards.some((s, i) => s.device !== devs[i])) return null;
  return b.shards.map((s) => new NDArray(b.shardAval, s, true));
}

function pmapImpl(args: NDArray[], p: PmapParams): NDArray[] {
  const devs = pmapDevices(p);
  // Shard i of every input, committed to device i.
  const byInput = args.map((a, k) => {
    const ax = p.in_axes[k];
    return ax === null ? null : existingShards(a, ax, devs);
  });
  const shards = devs.map((dev, i) =>
    args.map((a, k) => {
      const ax = p.in_axes[k];
      return byInput[k]?.[i] ?? (ax === null ? place(a, dev, true) : shardOf(a, ax, i, dev));
    }),
  );
  const outs = runLockstep(p.call_jaxpr.jaxpr, p.call_jaxpr.consts, shards, p, devs);
  // Buffers the outputs may not own: the inputs' (a body returning an input unchanged).
  const taken = new Set<DeviceBuffer>(shards.flatMap((shard) => shard.map((x) => x._rawBuf("xla_pmap"))));
  const keepShards = !!programRunner(devs) || devs[0].platform === "cpu";
  return p.out_axes.map((ax, k) => {
    if (ax === null) return place(outs[0][k], devs[0], false);
    if (keepShards) return shardedOutput(outs.map((o) => o[k]), ax, devs, taken);
    const stacked = stackShards(
      outs.map((o) => o[k]),
      devs[0],
    );
    return ax === 0 ? stacked : moveAxis(stacked, 0, ax);
  });
}

/**
 * One output whose shards stay on their devices (JAX's pmap outputs): a ShardedBuffer along
 * `axis`, gathered only when read whole. A shard buffer something else also holds (an input
 * returned unchanged, one value returned twice) is copied, so disposing the output frees only
 * its own.
 */
function shardedOutput(xs: NDArray[], axis: number, devs: Device[], taken: Set<DeviceBuffer>): NDArray {
  const bufs = xs.map((x, i) => {
    let b = x._rawBuf("xla_pmap");
    if (b.device !== devs[i] || b.resolve || taken.has(b)) b = devs[i].backend.fromHost(x._buf("xla_pmap").readSync(), x.aval, devs[i]);
    taken.add(b);
    return b;
  });
  const aval = globalAval(xs[0].aval, axis, xs.length);
  return new NDArray(aval, new ShardedBuffer(bufs, xs[0].aval, axis, aval), false);
}

// ---------------------------------------------------------------------------------------------
// The primitive and its rules

/** Binds xla_pmap on a body that may have consts: they become leading inputs, the same on every device. */
function bindPmap(args: NDArray[], p: PmapParams): NDArray[] {
  const [body, consts] = hoistConsts(p.call_jaxpr);
  return bind(xlaPmap, [...consts, ...args], { ...p, call_jaxpr: body, in_axes: [...consts.map(() => null), ...p.in_axes] });
}

/** The global aval of a per-shard value mapped along `axis` (or the value itself when null). */
function globalAval(a: ShapedArray, axis: number | null, size: number): ShapedArray {
  if (axis === null) return a;
  const shape = [...a.shape];
  shape.splice(axis, 0, size);
  return a.update({ shape });
}

export const xlaPmap: Primitive<PmapParams> = definePrimitive<PmapParams>({
  name: "xla_pmap",
  abstractEval: (_avals, p) => p.call_jaxpr.outAvals.map((a, k) => globalAval(a, p.out_axes[k], p.axis_size)),
  cpu: () => {
    throw new PrimalError("xla_pmap: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl: (args, p) => pmapImpl(args, p),
  // The body's jvp, pmapped: tangents are mapped as their primals, out tangents as their outputs.
  jvp: (primals, tangents, p) => {
    const nz = tangents.map((t) => t !== null);
    const { jaxpr, outNz } = withAxisFrame(p.axis_name, p.axis_size, () => jvpJaxpr(p.call_jaxpr, nz, p.out_axes.map(() => false)));
    const given = tangents.filter((t): t is NDArray => t !== null);
    const outs = bindPmap([...primals, ...given], {
      ...p,
      call_jaxpr: jaxpr,
      in_axes: [...p.in_axes, ...p.in_axes.filter((_, i) => nz[i])],
      out_axes: [...p.out_axes, ...p.out_axes.filter((_, j) => outNz[j])],
    });
    const m = p.out_axes.length;
    let k = m;
    return [outs.slice(0, m), outNz.map((n) => (n ? outs[k++] : null))];
  },
  // vmap of pmap: the vmapped axis goes to the front of every batched input (the pmap axis after
  // it), so each shard is batched along axis 0; the outputs keep it at 0.
  batch: (args, dims, p, size) => {
    const xs: NDArray[] = [];
    const inAxes: (number | null)[] = [];
    args.forEach((a, i) => {
      const d = dims[i];
      const ax = p.in_axes[i];
      if (d === null) return (xs.push(a), inAxes.push(ax));
      // The pmap axis in a's coordinates, then after moving the batch axis d to the front.
      let pa = ax === null ? null : d <= ax ? ax + 1 : ax;
      if (pa !== null && pa < d) pa += 1;
      xs.push(moveAxis(a, d, 0));
      inAxes.push(pa);
    });
    const inBatched = dims.map((d) => d !== null);
    const { jaxpr } = withAxisFrame(p.axis_name, p.axis_size, () => batchJaxpr(p.call_jaxpr, size, inBatched, p.out_axes.map(() => true)));
    const outs = bindPmap(xs, { ...p, call_jaxpr: jaxpr, in_axes: inAxes, out_axes: p.out_axes.map((a) => (a === null ? null : a + 1)) });
    return [outs, outs.map(() => 0)];
  },
  inlineForPartialEval: (args, p) => pmapPartialEval(args as PartialEvalTracer[], p),
  transpose: (cts, args, p) => pmapTranspose(cts, args, p),
  printParams: (p) => ({
    axis_name: generatedNames.has(p.axis_name) ? null : p.axis_name,
    axis_size: p.axis_size,
    backend: null,
    call_jaxpr: p.call_jaxpr,
    devices: p.devices ? p.devices.map(String) : null,
    donated_invars: p.in_axes.map(() => false),
    global_axis_size: p.axis_size,
    in_axes: p.in_axes,
    is_explicit_global_axis_size: false,
    name: p.name,
    out_axes: p.out_axes,
  }),
});

/**
 * grad through pmap (JAX's partial_eval_jaxpr_nounits for xla_pmap): the body is split into a
 * known part, pmapped now on the known inputs, and an unknown part recorded as a pmap over the
 * residuals (stacked per shard along axis 0) and the unknown inputs.
 */
function pmapPartialEval(ts: PartialEvalTracer[], p: PmapParams): NDArray[] {
  const trace = ts[0]._trace;
  const inUk = ts.map((t) => !t.known);
  const pe = withAxisFrame(p.axis_name, p.axis_size, () => partialEvalJaxpr(p.call_jaxpr, inUk, p.out_axes.map(() => false)));
  const knownArgs = ts.filter((t) => t.known).map((t) => t.known!);
  const knownInAxes = p.in_axes.filter((_, i) => !inUk[i]);
  const nKnown = pe.numKnownOuts;
  // Only computed residuals come out of the known pmap; inputs and constants are passed as they are.
  const outRes = pe.resSources.map((s, r) => (s.kind === "out" ? r : -1)).filter((r) => r >= 0);
  const known = selectOutputs(pe.known, [...Array.from({ length: nKnown }, (_, k) => k), ...outRes.map((r) => nKnown + r)]);
  const knownOutAxes = p.out_axes.filter((_, j) => !pe.outUk[j]);
  const kouts = bindPmap(knownArgs, { ...p, call_jaxpr: known, in_axes: knownInAxes, out_axes: [...knownOutAxes, ...outRes.map(() => 0)] });
  const knownOuts = kouts.slice(0, nKnown);
  if (pe.outUk.every((u) => !u)) return knownOuts;
  const resVals: NDArray[] = [];
  const resAxes: (number | null)[] = [];
  pe.resSources.forEach((s, r) => {
    if (s.kind === "out") (resVals.push(kouts[nKnown + outRes.indexOf(r)]), resAxes.push(0));
    else if (s.kind === "in") (resVals.push(knownArgs[s.index]), resAxes.push(knownInAxes[s.index]));
    else (resVals.push(s.value), resAxes.push(null));
  });
  const ukArgs = ts.filter((t) => !t.known);
  const params: PmapParams = {
    ...p,
    call_jaxpr: pe.unknown,
    in_axes: [...resAxes, ...p.in_axes.filter((_, i) => inUk[i])],
    out_axes: p.out_axes.filter((_, j) => pe.outUk[j]),
  };
  const uouts = emitUnknown(xlaPmap, trace, [...resVals, ...ukArgs], params);
  let ki = 0;
  let ui = 0;
  return pe.outUk.map((u) => (u ? uouts[ui++] : knownOuts[ki++]));
}

/**
 * The transpose of a pmap linear in some inputs: the transposed body, pmapped. A linear input
 * broadcast to every device (in_axis null) gets the psum of its per-shard cotangents; an output
 * that was shard 0's value (out_axis null) sends its cotangent to shard 0 only.
 */
function pmapTranspose(cts: (NDArray | null)[], args: (NDArray | UndefinedPrimal)[], p: PmapParams): (NDArray | null)[] {
  const linear = args.map((a) => a instanceof UndefinedPrimal);
  const nonlinear = args.filter((a): a is NDArray => !(a instanceof UndefinedPrimal));
  const nlAxes = p.in_axes.filter((_, i) => !linear[i]);
  const linAxes = p.in_axes.filter((_, i) => linear[i]);
  const outAvals = p.call_jaxpr.outAvals;
  const ctVals = cts.map((c, j) => c ?? zerosLike(globalAval(outAvals[j], p.out_axes[j], p.axis_size)));
  const name = p.axis_name;
  const body = withAxisFrame(name, p.axis_size, () => {
    const tj = transposeJaxpr(p.call_jaxpr, linear);
    return traceToJaxpr(
      (...xs) => {
        const nl = xs.slice(0, nonlinear.length);
        const cs = xs.slice(nonlinear.length).map((c, j) => {
          if (p.out_axes[j] !== null) return c;
          const first = convert(eq(bind1(axisIndexP, [], { axis_name: name }), 0), c.dtype);
          return mul(c, first);
        });
        const res = evalClosedJaxpr(tj, [...nl, ...cs]);
        return res.map((r, k) => (linAxes[k] === null ? bind1(psumP, [r], { axes: [name], axis_index_groups: null }) : r));
      },
      [...nonlinear.map((a, k) => (nlAxes[k] === null ? a.aval : shardAval(a.aval, nlAxes[k]!))), ...outAvals],
      { dropUnused: false },
    );
  });
  const res = bindPmap([...nonlinear, ...ctVals], { ...p, call_jaxpr: body, in_axes: [...nlAxes, ...p.out_axes], out_axes: linAxes });
  let k = 0;
  return linear.map((l) => (l ? res[k++] : null));
}

/** The aval of one shard of a value mapped along `axis`. */
function shardAval(a: ShapedArray, axis: number): ShapedArray {
  return a.update({ shape: a.shape.filter((_, k) => k !== axis) });
}

// ---------------------------------------------------------------------------------------------
// The API

export interface PmapOptions {
  /** The name collectives in f use for the mapped axis (lax.psum(x, axisName)). */
  axisName?: string | null;
  /** Per argument: the mapped axis, null (broadcast to every device), or a pytree prefix of them. Default 0. */
  inAxes?: unknown;
  /** Per output: the axis the shards are stacked along, null (not mapped: shard 0's value), or a pytree prefix. Default 0. */
  outAxes?: unknown;
  /** Positions of arguments passed to f as they are (JS values), hashed into the trace cache key. */
  staticBroadcastedArgnums?: number | readonly number[];
  /** The devices to run on: exactly as many as the mapped axis' size. Default: the first devices of the default backend. */
  devices?: readonly Device[] | null;
  /** The mapped axis' size, needed when no argument is mapped. */
  axisSize?: number;
}

const objectIds = new WeakMap<object, number>();
let nextId = 0;
function staticKey(v: unknown): string {
  if (v === null || v === undefined || typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(staticKey).join(",")}]`;
  if (v instanceof NDArray) throw new ArgumentError(`pmap: static broadcasted arguments must be hashable, got an array ${v.aval.str()}`);
  let id = objectIds.get(v as object);
  if (id === undefined) objectIds.set(v as object, (id = nextId++));
  return `#${id}`;
}

/** Expands per-argument axis specs (numbers, null, or pytree prefixes) to one entry per leaf. */
function flattenAxes(op: string, specs: unknown[], trees: unknown[]): (number | null)[] {
  const out: (number | null)[] = [];
  specs.forEach((spec, i) => {
    const [leaves] = treeFlatten(trees[i]);
    if (spec === null || typeof spec === "number") for (let k = 0; k < leaves.length; k++) out.push(spec as number | null);
    else {
      const [specLeaves, specDef] = treeFlatten(spec, (x) => x === null);
      specDef.flattenUpTo(trees[i], op).forEach((sub, k) => {
        for (let n = treeFlatten(sub)[0].length; n > 0; n--) out.push(specLeaves[k] as number | null);
      });
    }
  });
  return out;
}

/**
 * jax.pmap: runs f on every device at once, each on one slice of the mapped axis, with
 * named-axis collectives (lax.psum(x, axisName)...) communicating between them. The mapped
 * axis' size must not exceed the number of devices.
 */
export function pmap<F extends (...args: any[]) => any>(f: F, opts: PmapOptions = {}): (...args: Parameters<F>) => ReturnType<F> {
  if (typeof f !== "function") throw new ArgumentError(`pmap: expected a function, got ${describeValue(f)}`);
  const axisName = opts.axisName ?? null;
  if (axisName !== null && (typeof axisName !== "string" || axisName.length === 0)) throw new ArgumentError(`pmap: axisName must be a non-empty string, got ${describeValue(axisName)}`);
  const statics = opts.staticBroadcastedArgnums === undefined ? [] : typeof opts.staticBroadcastedArgnums === "number" ? [opts.staticBroadcastedArgnums] : [...opts.staticBroadcastedArgnums];
  const devs = opts.devices ? [...opts.devices] : null;
  const name = f.name || "<lambda>";
  const internalName = axisName ?? `__pmap_axis_${nextAxis++}`;
  if (axisName === null) generatedNames.add(internalName);
  const cache = new Map<string, { body: ClosedJaxpr; consts: NDArray[]; outTree: PyTreeDef; outAxes: (number | null)[] }>();

  return ((...args: unknown[]) => {
    const st = statics.map((i) => (i < 0 ? i + args.length : i));
    for (const i of st) if (!Number.isInteger(i) || i < 0 || i >= args.length) throw new ArgumentError(`pmap: staticBroadcastedArgnums ${describeValue(opts.staticBroadcastedArgnums)} is out of range for a call with ${args.length} arguments`);
    const dynamic = args.filter((_, i) => !st.includes(i));
    const [leaves, inTree] = flattenToArrays(dynamic, "pmap");
    // inAxes: one value for every argument, or one per (dynamic) argument, a pytree prefix of it.
    const inAxesOpt = opts.inAxes === undefined ? 0 : opts.inAxes;
    if (Array.isArray(inAxesOpt) && inAxesOpt.length !== dynamic.length)
      throw new ShapeError(`pmap in_axes must be an int, None, or a tuple of entries corresponding to the positional arguments passed to the function, but got len(in_axes)=${inAxesOpt.length}, len(args)=${dynamic.length}`);
    const perArg = Array.isArray(inAxesOpt) ? inAxesOpt : dynamic.map(() => inAxesOpt);
    const inAxes = flattenAxes("pmap", perArg, dynamic).map((a, k) => {
      const l = leaves[k];
      if (a !== null && (!Number.isInteger(a) || a < -l.ndim || a >= l.ndim))
        throw new ShapeError(`pmap was requested to map its argument along axis ${a}, which implies that its rank should be at least ${a < 0 ? -a : a + 1}, but is only ${l.ndim} (its shape is [${l.shape.join(", ")}])`);
      return norm(a, l.ndim);
    });
    const sizes = new Set(leaves.map((l, k) => (inAxes[k] === null ? -1 : l.shape[inAxes[k]!])).filter((s) => s >= 0));
    if (opts.axisSize !== undefined) sizes.add(opts.axisSize);
    if (sizes.size === 0) throw new ShapeError("pmap must have at least one non-None value in in_axes, or axisSize must be given");
    if (sizes.size > 1) throw new ShapeError(`pmap got inconsistent sizes for array axes to be mapped: ${[...sizes].join(", ")}`);
    const size = [...sizes][0];
    if (devs && devs.length !== size)
      throw new ValueError(`Leading axis size of input to pmapped function must equal the number of local devices passed to pmap. Got axis_size=${size}, num_local_devices=${devs.length}.`);
    const shardAvals = leaves.map((l, k) => (inAxes[k] === null ? l.aval : shardAval(l.aval, inAxes[k]!)));
    const key = `${inTree}|${shardAvals.map((a) => a.key()).join(",")}|${inAxes.join(",")}|${size}|${st.map((i) => staticKey(args[i])).join(",")}`;
    let entry = cache.get(key);
    if (!entry) {
      let outTree: PyTreeDef | null = null;
      let outLeaves: NDArray[] = [];
      const traced = withAxisFrame(internalName, size, () =>
        traceToJaxpr(
          (...xs) => {
            const dyn = treeUnflatten(inTree, xs) as unknown[];
            const full: unknown[] = [];
            let k = 0;
            for (let i = 0; i < args.length; i++) full.push(st.includes(i) ? args[i] : dyn[k++]);
            const [outs, def] = flattenToArrays(f(...full), "pmap");
            outTree = def;
            outLeaves = outs;
            return outs;
          },
          shardAvals,
          { dropUnused: false },
        ),
      );
      // outAxes: one value for every output, or a pytree prefix of the output.
      const outAxesOpt = opts.outAxes === undefined ? 0 : opts.outAxes;
      const outStruct = treeUnflatten(outTree!, outLeaves);
      const outAxes = (
        outAxesOpt === null || typeof outAxesOpt === "number" ? outLeaves.map(() => outAxesOpt as number | null) : flattenAxes("pmap", [outAxesOpt], [outStruct])
      ).map((a, k) => {
        const rank = outLeaves[k].ndim + 1;
        if (a !== null && (!Number.isInteger(a) || a < -rank || a >= rank)) throw new ShapeError(`pmap: outAxes ${a} is out of bounds for an output of rank ${rank}`);
        return norm(a, rank);
      });
      const [body, consts] = hoistConsts(traced);
      // The IR panel's record: the per-device program, with its consts (as makeJaxpr of the body prints it).
      recordTrace("pmap", name, traced, {
        pmap: { axisName, axisSize: size, devices: (devs ?? backendDevices().slice(0, size)).map(String) },
      });
      entry = { body, consts, outTree: outTree!, outAxes };
      // A body closing over a tracer of an enclosing transformation is traced again next call.
      if (!consts.some((c) => c instanceof Tracer)) cache.set(key, entry);
    }
    const params: PmapParams = {
      call_jaxpr: entry.body,
      axis_name: internalName,
      axis_size: size,
      in_axes: [...entry.consts.map(() => null), ...inAxes],
      out_axes: entry.outAxes,
      devices: devs,
      name,
    };
    const outs = bind(xlaPmap, [...entry.consts, ...leaves], params);
    return treeUnflatten(entry.outTree, outs);
  }) as (...args: Parameters<F>) => ReturnType<F>;
}
