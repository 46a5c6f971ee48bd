// pmap's executor: runs an `xla_pmap` equation on concrete arrays (the primitive's impl;
// kernel/transforms/pmap.ts defines the primitive, its rules and the API).
//
// Inputs: each mapped input is split along its in_axis and shard i is placed (committed) on
// device i, or, when it is already sharded so (a pmap output, devicePutSharded: a
// ShardedBuffer along that axis on those devices), its shards are used where they are.
// Unmapped inputs are copied to every device.
//
// The body is cut into steps (planSteps): each collective over this pmap's axis (and each
// equation holding one in a nested jaxpr, each effect, each nested pmap) is a step of its own,
// run by this thread for all shards at once; the runs of ordinary equations between them become
// programs of their own (closed jaxprs without collectives). A program runs:
//   - on every device at once, on the devices' own threads, where the backend offers it
//     (runShardPrograms: the CPU backend with several devices, backends/cpu/device-threads.ts),
//     compiled there, its outputs left in the threads' memory;
//   - compiled on this thread for a one-device pmap;
//   - else equation by equation for every shard ("lockstep"): each equation first offered to
//     the backend for all shards at once (executeShards: the CPU's matmuls and big wasm kernels
//     side by side on its kernel threads, backends/cpu/shard-parallel.ts), else bound on each
//     shard's values in turn (so it runs on that shard's device: WebGPU devices, each with its
//     own device thread and queue). With jit disabled (the JIT toggle) every body runs so.
// A collective gathers every shard's operands and computes the result with the collective's own
// batching rule (its vmap definition), then sends each shard its part. A jit holding a collective
// is run in lockstep; cond, scan and while holding one run in lockstep too (pmap-control-flow.ts:
// every shard takes part in each of the body's collectives, as under vmap).
//
// Outputs: each mapped output is one array whose shards stay on their devices (ShardedBuffer,
// gathered through host memory onto the first device only when read whole), as JAX's pmap
// outputs. An unmapped output (out_axes null) is shard 0's value.

import { ShapedArray } from "../core/aval";
import { config } from "../core/config";
import { Backend, Device, DeviceBuffer, devices as backendDevices } from "../core/device";
import { NotAvailableError, PrimalError, ValueError } from "../core/errors";
import { NDArray, fromStorage } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { ShardedBuffer } from "../core/sharded";
import { Tracer, bind } from "../core/trace";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "../ir/jaxpr";
import { fromLiteral } from "../ir/literal";
import { concatenate, reshape, sliceAxis } from "../primitives/ops";
import { customJvpCallP, customVjpCallP } from "./custom";
import { jitP } from "./jit";
import { lockstepControlFlow } from "./pmap-control-flow";
import type { PmapParams } from "./pmap";


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

/** Answers of hasCollective, per jaxpr and axis name (the lockstep asks them at every call). */
const collectiveIn = new WeakMap<Jaxpr, Map<string, boolean>>();

/** Whether the jaxpr (or a jaxpr nested in its equations) has a collective over `name`. */
export function hasCollective(j: Jaxpr, name: string): boolean {
  let byName = collectiveIn.get(j);
  if (!byName) collectiveIn.set(j, (byName = new Map()));
  let has = byName.get(name);
  if (has === undefined) {
    has = j.eqns.some((e) => e.primitive.axisNames?.(e.params).includes(name) || nestsCollective(e, name));
    byName.set(name, has);
  }
  return has;
}
/** Whether a jaxpr nested in the equation's parameters has a collective over `name`. */
function nestsCollective(e: JaxprEqn, name: string): boolean {
  return Object.values(e.params).some((v) => nestedJaxprs(v).some((sub) => hasCollective(sub, name)));
}
function nestedJaxprs(v: unknown): Jaxpr[] {
  if (v instanceof ClosedJaxpr) return [v.jaxpr];
  if (v instanceof Jaxpr) return [v];
  if (Array.isArray(v)) return v.flatMap(nestedJaxprs);
  return [];
}

/**
 * A collective over this pmap's axis, computed across the shards with its batching rule; with
 * axis_index_groups, within each group (the group's order is the order an all_gather stacks in).
 */
function collectiveAcross(e: JaxprEqn, ins: NDArray[][], p: PmapParams, devs: Device[]): NDArray[][] {
  const prim = e.primitive;
  if (!prim.batch) throw new NotAvailableError(`xla_pmap: collective '${prim.name}' has no batching rule to evaluate it across devices`);
  const groups = (e.params as { axis_index_groups?: number[][] | null }).axis_index_groups ?? null;
  // Every operand comes to this thread: read them all at once where the backend can.
  devs[0].backend.readMany?.(ins.flat().flatMap((x) => (x instanceof Tracer || !x._buffer ? [] : [x._rawBuf(prim.name)])));
  const out: NDArray[][] = new Array(devs.length);
  for (const group of groups ?? [devs.map((_, i) => i)]) {
    const params = groups ? { ...e.params, axis_index_groups: null } : e.params;
    const stacked = e.inputs.map((_, k) => stackShards(group.map((i) => ins[i][k]), devs[group[0]]));
    const [outs, dims] = prim.batch(stacked, stacked.map(() => 0), params, group.length, p.axis_name);
    group.forEach((i, g) => (out[i] = outs.map((o, k) => (dims[k] === null ? place(o, devs[i], true) : shardOf(o, dims[k]!, g, devs[i])))));
  }
  return out;
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
  // Equations of their own, and runs of ordinary equations between them.
  const parts: (JaxprEqn | JaxprEqn[])[] = [];
  for (const e of j.eqns) {
    const own = e.primitive.axisNames?.(e.params).includes(axis) || MAIN_THREAD.has(e.primitive.name) || nestsCollective(e, axis);
    const last = parts[parts.length - 1];
    if (own) parts.push(e);
    else if (Array.isArray(last)) last.push(e);
    else parts.push([e]);
  }
  // Each program's inputs: the variables it reads that it does not define; its outputs: the
  // variables it defines that a later step or the body's outputs read (found walking backwards).
  const readLater = new Set<Var>(j.outvars.filter((a): a is Var => a instanceof Var));
  const steps: Step[] = new Array(parts.length);
  for (let k = parts.length - 1; k >= 0; k--) {
    const part = parts[k];
    const eqns = Array.isArray(part) ? part : [part];
    if (!Array.isArray(part)) steps[k] = { eqn: part };
    else {
      const defined = new Set<Var>(eqns.flatMap((e) => e.outVars));
      const ins = [...new Set(eqns.flatMap((e) => e.inputs.filter((a): a is Var => a instanceof Var && !defined.has(a))))];
      const outs = [...defined].filter((v) => !(v instanceof DropVar) && readLater.has(v));
      steps[k] = { program: new ClosedJaxpr(new Jaxpr([], ins, eqns.map(forDevice), outs), []), ins, outs, eqns, declined: false };
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
    } else if (nestsCollective(e, p.axis_name)) {
      const cf = lockstepControlFlow(e, ins, (jj, cs, as) => runLockstep(jj, cs, as, p, devs), devs, { name: p.axis_name, size: p.axis_size });
      if (!cf)
        throw new NotAvailableError(`xla_pmap: a collective over axis '${p.axis_name}' inside '${e.primitive.name}' is not supported in pmap yet (only in the body itself and inside jit, cond, scan and while), got one in a ${e.primitive.name} body`);
      outs = cf.map((shard, i) => shard.map((o) => place(o, devs[i], true)));
    } else {
      // Each shard's equation runs on its device, all shards at once where the backend can;
      // results that came out elsewhere (an equation of literals only) are moved there, so every
      // intermediate value lives on its shard's device.
      outs = sideBySide(e, ins, devs) ?? devs.map((dev, i) => bind(e.primitive, ins[i], nestedParams(e, i, devs)).map((o) => place(o, dev, true)));
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

/**
 * A nested pmap's parameters for outer shard i: JAX lays nested pmaps out as a mesh, outer shard
 * i's inner shard j on device i * inner + j, so an inner pmap given no devices gets its row of
 * the backend's devices when there are enough for the whole mesh (else, as before, the first
 * ones: JAX would raise; Primal runs the rows one after another on the same devices).
 */
function nestedParams(e: JaxprEqn, i: number, devs: Device[]): Record<string, unknown> {
  const q = e.params as unknown as PmapParams;
  if (e.primitive.name !== "xla_pmap" || q.devices) return e.params;
  const all = devs[0].backend.devices();
  if (all.length < devs.length * q.axis_size) return e.params;
  return { ...e.params, devices: all.slice(i * q.axis_size, (i + 1) * q.axis_size) };
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

export function pmapImpl(args: NDArray[], p: PmapParams): NDArray[] {
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
  return p.out_axes.map((ax, k) =>
    ax === null
      ? place(outs[0][k], devs[0], false)
      : shardedOutput(
          outs.map((o) => o[k]),
          ax,
          devs,
          taken,
        ),
  );
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

/** The global aval of a per-shard value mapped along `axis` (or the value itself when null). */
export function globalAval(a: ShapedArray, axis: number | null, size: number): ShapedArray {
  if (axis === null) return a;
  const shape = [...a.shape];
  shape.splice(axis, 0, size);
  return a.update({ shape });
}
