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

import { Device } from "../core/device";
import { NDArray, fromStorage } from "../core/ndarray";
import { ClosedJaxpr, Jaxpr, JaxprEqn } from "../ir/jaxpr";
import { concatenate, reshape, sliceAxis } from "../primitives/ops";
import { CondParams, condP } from "./cond";
import { ScanParams, WhileParams, scanP, whileP } from "./loops";

/** Runs a jaxpr for every shard in lockstep: args[i] are shard i's inputs, the result shard i's outputs. */
export type RunLockstep = (j: Jaxpr, consts: NDArray[], args: NDArray[][]) => NDArray[][];

/**
 * A cond, scan or while equation run for every shard in lockstep (`ins[i]` are shard i's
 * operands); null for any other primitive.
 */
export function lockstepControlFlow(e: JaxprEqn, ins: NDArray[][], run: RunLockstep, devs: Device[]): NDArray[][] | null {
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
