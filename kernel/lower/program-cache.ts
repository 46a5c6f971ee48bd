// The compiler's cache of lowered programs, shared by every jitted function of the process: a
// new jitted function doing the same operations on the same avals as one compiled before (a
// training step made afresh, a cell run again, the same body under another name) gets that
// program's steps, kernels and memory plan instead of running the passes and the lowering
// again (jax-js caches its kernels by their code, XLA has its compilation cache). Programs are
// keyed by their structure (kernel/ir/structural-key.ts) at two points of the pipeline:
//
//   traced     the program as jit traced it, its small constants keyed by value: a hit skips
//              the passes and the lowering (the passes' results depend on constant values);
//   optimized  the program after the passes, its constants keyed by aval only: a hit skips the
//              lowering (which never reads a constant's value); the values are the new ones.
//
// A hit is the cached program rebased onto the new one: its constants are the new program's
// (by position; constants the passes made, for a "traced" hit, are kept: they were computed
// from equal values), and the equations of its lowered jaxpr carry the new program's source
// lines (by position in equationsInOrder, since equal keys mean corresponding equations at
// equal positions), so the inspectors show the new function's lines. Each function still gets
// a record of its own and its own preparation by the backend (which caches the kernels' code).
// What a cache entry keeps is stripped of the old program's source lines and of the constants
// that came from it, so it holds no user objects alive through them.

import { NDArray } from "../core/ndarray";
import { ClosedJaxpr, Jaxpr, JaxprEqn } from "../ir/jaxpr";
import { OptimizeRecord } from "../ir/passes";
import { equationsInOrder } from "../ir/structural-key";
import { LoweredProgram } from "./program";

/** A lowered program kept for programs of the same key. */
interface Entry {
  /** The program, with `before`, `after` and `consts` to be replaced on a hit. */
  program: LoweredProgram;
  /** The lowered jaxpr without source lines. */
  after: Jaxpr;
  /** Per equation of `after`: the position (equationsInOrder) of the keyed equation whose source it carries, or -1. */
  sourceAt: Int32Array;
  /** Per constant of the program: the position of the keyed program's constant it is, or -1 (then `own[i]`). */
  constAt: Int32Array;
  own: (NDArray | null)[];
  passes: OptimizeRecord;
}

/** A cache hit: the rebased program and the passes' record of the program it was made for. */
export interface CacheHit {
  program: LoweredProgram;
  passes: OptimizeRecord;
}

/** One level of the cache: structural key -> lowered program, least recently used first out. */
export class ProgramCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;
  constructor(
    readonly name: string,
    private readonly capacity: number,
    /** Whether a program's own constants (made by the passes, not the keyed program's) may be kept. */
    private readonly ownConsts: boolean,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.hits = this.misses = 0;
  }

  /**
   * The program cached under `key`, rebased onto `keyed` (the program the key was computed
   * from: its constants and source lines); `before` is the traced program it is compiled for.
   */
  get(key: string, keyed: ClosedJaxpr, before: ClosedJaxpr): CacheHit | null {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return null;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    const eqs = equationsInOrder(keyed.jaxpr);
    const consts = Array.from(e.constAt, (at, i) => (at >= 0 ? keyed.consts[at] : e.own[i]!));
    const eqns = e.after.eqns.map((q, i) => new JaxprEqn(q.primitive, q.inputs, q.params, q.outVars, e.sourceAt[i] >= 0 ? eqs[e.sourceAt[i]].sourceRef : null));
    const after = new ClosedJaxpr(new Jaxpr(e.after.constvars, e.after.invars, eqns, e.after.outvars), consts);
    return { program: { ...e.program, before, after, consts }, passes: e.passes };
  }

  /**
   * Keeps `p` (lowered from `keyed`, or rebased onto it) under `key`. Not kept when a constant
   * of `p` is not one of `keyed`'s and this level may not keep its own.
   */
  put(key: string, keyed: ClosedJaxpr, p: LoweredProgram, passes: OptimizeRecord): void {
    const position = new Map<unknown, number>();
    equationsInOrder(keyed.jaxpr).forEach((q, i) => {
      const ref = q.sourceRef;
      if (ref !== null && !position.has(ref)) position.set(ref, i);
    });
    const constPos = new Map<NDArray, number>();
    keyed.consts.forEach((x, i) => constPos.has(x) || constPos.set(x, i));
    const constAt = Int32Array.from(p.consts, (x) => constPos.get(x) ?? -1);
    if (!this.ownConsts && constAt.some((at) => at < 0)) return;
    const j = p.after.jaxpr;
    const sourceAt = Int32Array.from(j.eqns, (q) => (q.sourceRef === null ? -1 : (position.get(q.sourceRef) ?? -1)));
    const after = new Jaxpr(j.constvars, j.invars, j.eqns.map((q) => new JaxprEqn(q.primitive, q.inputs, q.params, q.outVars, null)), j.outvars);
    const own = p.consts.map((x, i) => (constAt[i] < 0 ? x : null));
    const stripped: LoweredProgram = { ...p, before: EMPTY, after: EMPTY, consts: [] };
    this.entries.set(key, { program: stripped, after, sourceAt, constAt, own, passes });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }
}

const EMPTY = new ClosedJaxpr(new Jaxpr([], [], [], []), []);
