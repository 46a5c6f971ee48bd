// cond, scan and while inside a pmap body whose branches or bodies hold a collective over the
// pmap's axis: run for every shard in lockstep (pmap-exec.ts's interpreter runs the nested
// jaxprs), so every shard takes part in each collective, as on devices that run one SPMD
// program. The semantics are those of the same loop under vmap with the axis name (JAX's
// batching rules of cond and while), which is also what JAX's pmap computes whenever it is
// defined:
//   - cond: when every shard picks the same branch, that branch runs; when they differ, each
//     picked branch runs on every shard (so its collectives see every shard) and each shard
//     keeps its own branch's outputs (JAX's batched cond: a select between the branches).
//   - scan: one iteration at a time for all shards, each shard with its own carry and its own
//     slice of xs; the ys are stacked along axis 0.
//   - while: the condition on every shard, then the body on every shard while any shard's
//     condition holds; a shard whose condition no longer holds keeps its carry (JAX's batched
//     while: the body runs, its result is selected away).
//   - an inner pmap whose body uses the outer pmap's axis: the inner pmap runs as a vmap over
//     its own axis on each outer shard (its body batched with the inner axis name, so its own
//     collectives reduce that axis), in lockstep across the outer shards (so the outer axis'
//     collectives see every outer shard). The values are JAX's; the inner shards run on their
//     outer shard's device rather than on a mesh of devices.
//   - a customJvp/customVjp function: its function, in lockstep (evaluation never uses a rule).

import { Device } from "../core/device";
import { PrimalError } from "../core/errors";
import { NDArray, fromStorage } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { MainTrace, Trace, withNewMain } from "../core/trace";
import { ClosedJaxpr, Jaxpr, JaxprEqn } from "../ir/jaxpr";
import { concatenate, moveAxis, reshape, sliceAxis } from "../primitives/ops";
import { CondParams, condP } from "./cond";
import { batchJaxpr } from "./control-flow";
import { customJvpCallP, customVjpCallP } from "./custom";
import { ScanParams, WhileParams, scanP, whileP } from "./loops";
import type { PmapParams } from "./pmap";

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
export function withAxisFrame<T>(name: string, size: number, fn: () => T): T {
  return withNewMain(AxisFrameTrace, { axisName: name, axisSize: size }, (_main: MainTrace) => fn());
}

/** Runs a jaxpr for every shard in lockstep: args[i] are shard i's inputs, the result shard i's outputs. */
export type RunLockstep = (j: Jaxpr, consts: NDArray[], args: NDArray[][]) => NDArray[][];

/**
 * A cond, scan, while, inner pmap or custom_jvp/custom_vjp call run for every shard in lockstep
 * (`ins[i]` are shard i's operands); null for any other primitive.
 */
export function lockstepControlFlow(e: JaxprEqn, ins: NDArray[][], run: RunLockstep, devs: Device[], outer: { name: string; size: number }): NDArray[][] | null {
  if (e.primitive.name === "xla_pmap") return lockstepInnerPmap(e.params as unknown as PmapParams, ins, run, outer);
  // Evaluation never uses a custom rule: the function itself runs.
  if (e.primitive === customJvpCallP || e.primitive === customVjpCallP) return runClosed(run, (e.params as unknown as { call_jaxpr: ClosedJaxpr }).call_jaxpr, ins);
  if (e.primitive === condP) return lockstepCond(e.params as unknown as CondParams, ins, run);
  if (e.primitive === scanP) return lockstepScan(e.params as unknown as ScanParams, ins, run, e, devs);
  if (e.primitive === whileP) return lockstepWhile(e.params as unknown as WhileParams, ins, run);
  return null;
}

const runClosed = (run: RunLockstep, cj: ClosedJaxpr, args: NDArray[][]) => run(cj.jaxpr, cj.consts, args);

/** The scalar value of a concrete array (an index or a predicate). */
const scalar = (x: NDArray, op: string): number => Number(x._concrete(op).item());

// cond[branches] index *ops: the index is clamped to the branches, as lax.switch does.
function lockstepCond(p: CondParams, ins: NDArray[][], run: RunLockstep): NDArray[][] {
  const n = p.branches.length;
  const picks = ins.map((shard) => Math.min(Math.max(Math.trunc(scalar(shard[0], "cond")), 0), n - 1));
  const ops = ins.map((shard) => shard.slice(1));
  const used = [...new Set(picks)].sort((a, b) => a - b);
  const outs = new Map(used.map((k) => [k, runClosed(run, p.branches[k], ops)]));
  return picks.map((k, i) => outs.get(k)![i]);
}

/** Row t of x along axis 0, without that axis (on x's device). */
const row = (x: NDArray, t: number): NDArray => reshape(sliceAxis(x, 0, t, t + 1), x.shape.slice(1));

// scan[jaxpr length reverse num_consts num_carry] *consts *init *xs -> *carry *ys
function lockstepScan(p: ScanParams, ins: NDArray[][], run: RunLockstep, e: JaxprEqn, devs: Device[]): NDArray[][] {
  const nc = p.num_consts;
  const nk = p.num_carry;
  const consts = ins.map((shard) => shard.slice(0, nc));
  let carry = ins.map((shard) => shard.slice(nc, nc + nk));
  const xs = ins.map((shard) => shard.slice(nc + nk));
  const nY = e.outVars.length - nk;
  // ys[i][k][t]: shard i's output k at iteration t.
  const ys: NDArray[][][] = ins.map(() => Array.from({ length: nY }, () => new Array<NDArray>(p.length)));
  for (let s = 0; s < p.length; s++) {
    const t = p.reverse ? p.length - 1 - s : s;
    const outs = runClosed(
      run,
      p.jaxpr,
      ins.map((_, i) => [...consts[i], ...carry[i], ...xs[i].map((x) => row(x, t))]),
    );
    carry = outs.map((o) => o.slice(0, nk));
    outs.forEach((o, i) => o.slice(nk).forEach((y, k) => (ys[i][k][t] = y)));
  }
  return ins.map((_, i) => [
    ...carry[i],
    ...ys[i].map((rows, k) => {
      const aval = e.outVars[nk + k].aval;
      if (p.length === 0) return fromStorage(new aval.dtype.storage(0), aval, devs[i], true);
      return concatenate(
        rows.map((y) => reshape(y, [1, ...y.shape])),
        0,
      );
    }),
  ]);
}

// while[cond_jaxpr cond_nconsts body_jaxpr body_nconsts] *cond_consts *body_consts *init
function lockstepWhile(p: WhileParams, ins: NDArray[][], run: RunLockstep): NDArray[][] {
  const cc = ins.map((shard) => shard.slice(0, p.cond_nconsts));
  const bc = ins.map((shard) => shard.slice(p.cond_nconsts, p.cond_nconsts + p.body_nconsts));
  let carry = ins.map((shard) => shard.slice(p.cond_nconsts + p.body_nconsts));
  for (;;) {
    const going = runClosed(
      run,
      p.cond_jaxpr,
      ins.map((_, i) => [...cc[i], ...carry[i]]),
    ).map(([pred]) => scalar(pred, "while") !== 0);
    if (!going.some((g) => g)) return carry;
    const next = runClosed(
      run,
      p.body_jaxpr,
      ins.map((_, i) => [...bc[i], ...carry[i]]),
    );
    carry = carry.map((old, i) => (going[i] ? next[i] : old));
  }
}

// xla_pmap[call_jaxpr axis_name axis_size in_axes out_axes] inside an outer pmap's body.
function lockstepInnerPmap(q: PmapParams, ins: NDArray[][], run: RunLockstep, outer: { name: string; size: number }): NDArray[][] {
  const inBatched = q.in_axes.map((a) => a !== null);
  const { jaxpr } = withAxisFrame(outer.name, outer.size, () =>
    batchJaxpr(
      q.call_jaxpr,
      q.axis_size,
      inBatched,
      q.out_axes.map(() => true),
      q.axis_name,
    ),
  );
  const args = ins.map((shard) => shard.map((x, k) => (q.in_axes[k] === null || q.in_axes[k] === 0 ? x : moveAxis(x, q.in_axes[k]!, 0))));
  return runClosed(run, jaxpr, args).map((shard) =>
    shard.map((o, k) => {
      const ax = q.out_axes[k];
      return ax === null ? row(o, 0) : ax === 0 ? o : moveAxis(o, 0, ax);
    }),
  );
}
