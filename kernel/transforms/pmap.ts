// pmap: JAX's parallel map over devices. `pmap(f)` traces f once per shard signature (the
// avals without the mapped axis) into a closed jaxpr, inside an axis frame (a MainTrace whose
// globalData is `{ axisName, axisSize }`, pushed below the staging trace) so the collectives in
// it (lax.psum, allGather...) are staged rather than evaluated. The call is one `xla_pmap`
// equation carrying that per-shard jaxpr, so every transformation composes with it through the
// primitive's rules, as with jit: jvp = pmap of the jvp'd body, batching = pmap of the vmapped
// body, partial evaluation (grad) = a known pmap and an unknown pmap fed by residuals, and
// transposition = pmap of the transposed body (the collectives' own rules apply inside).
// Running it on concrete arrays is pmap-exec.ts's business.

import { ShapedArray } from "../core/aval";
import { Device, devices as backendDevices } from "../core/device";
import { ArgumentError, PrimalError, ShapeError, ValueError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { Primitive, UndefinedPrimal, definePrimitive } from "../core/primitive";
import { describeValue } from "../core/shape";
import { Tracer, bind, bind1 } from "../core/trace";
import { PyTreeDef, treeFlatten, treeUnflatten } from "../core/tree";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { ClosedJaxpr } from "../ir/jaxpr";
import { recordTrace } from "../ir/trace-log";
import { axisIndex as axisIndexP, psum as psumP } from "../primitives/collectives";
import { convert, eq, moveAxis, mul, zerosLike } from "../primitives/ops";
import { flattenToArrays } from "./args";
import { globalAval, pmapImpl } from "./pmap-exec";
import { withAxisFrame } from "./pmap-control-flow";

export { setPmapParallel } from "./pmap-exec";
import { batchJaxpr, emitUnknown, hoistConsts, jvpJaxpr, partialEvalJaxpr, selectOutputs, transposeJaxpr } from "./control-flow";
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


const norm = (a: number | null, rank: number): number | null => (a === null ? null : a < 0 ? a + rank : a);

// ---------------------------------------------------------------------------------------------
// The primitive and its rules

/** Binds xla_pmap on a body that may have consts: they become leading inputs, the same on every device. */
function bindPmap(args: NDArray[], p: PmapParams): NDArray[] {
  const [body, consts] = hoistConsts(p.call_jaxpr);
  return bind(xlaPmap, [...consts, ...args], { ...p, call_jaxpr: body, in_axes: [...consts.map(() => null), ...p.in_axes] });
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
