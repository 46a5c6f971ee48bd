// Lowering of a jaxpr to a kernel graph: which values are materialised in buffers, and one
// fused kernel (kernel-ir.ts) per materialised value that is not computed by a library call.
//
// Every equation is one of:
//   elementwise  a primitive with an `elementwise` rule (add, tanh, select_n, clamp,
//                convert_element_type, integer_pow, ...): fuses into its consumers
//   view         broadcast_in_dim, reshape, transpose, squeeze, rev, slice: becomes index
//                arithmetic of the loads below it (views.ts); never copies by itself
//   reduction    reduce_sum/prod/max/min/and/or: one per kernel, taking its producers as
//                prologue and the elementwise chain on its result as epilogue
//   library      everything else (dot_general, gather/scatter, sort, cumulative ops, control
//                flow, random, custom calls, debug callbacks): one node run through the
//                primitive's own CPU path
//
// The values that must exist in memory are the program's inputs and outputs and whatever a
// library node reads or writes. Each other materialised value is the root of a kernel built by
// walking back through its unmaterialised producers, carrying the view from the producer's
// shape to the kernel's loop space. The walk asks for more values to be materialised when
// fusing them would be wrong or wasteful, and the graph is rebuilt until no kernel asks:
//   - a reshape whose operand's view cannot be reshaped without a copy (views.ts): the
//     reshape's operand;
//   - a reduction reached through anything but the identity map from the kernel's loop space
//     (a broadcast of a sum, a second reduction in one kernel, a reduction in a prologue);
//   - a value computed by more than one kernel (or under two different views in one): kept
//     when cheap (a few add/mul/compare/select, recomputed where used, as XLA duplicates cheap
//     producers), materialised when it calls a transcendental or is a reduction.

import { DType } from "../core/dtype";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { sizeOf, stridesOf } from "../core/shape";
import { Atom, ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "../ir/jaxpr";
import { KIndex, KOp, Kernel, ReduceKind } from "./kernel-ir";
import { View, ViewOp, applyViewOp, contiguous, isIdentity, reshapeView, viewKey } from "./views";

export type EqnClass = "elementwise" | "view" | "reduce" | "library";

const REDUCE_KIND: Record<string, ReduceKind> = {
  reduce_sum: "sum", reduce_prod: "prod", reduce_max: "max", reduce_min: "min", reduce_and: "and", reduce_or: "or",
};
const VIEW_PRIMS = new Set(["broadcast_in_dim", "reshape", "transpose", "squeeze", "rev", "slice"]);
/** Elementwise primitives cheap enough to recompute in every kernel that needs them. */
const CHEAP = new Set([
  "add", "add_any", "sub", "mul", "neg", "max", "min", "select_n", "clamp", "eq", "ne", "lt", "le", "gt", "ge",
  "and", "or", "xor", "not", "abs", "copy", "stop_gradient", "convert_element_type", "square", "sign", "floor", "ceil", "is_finite",
]);
/** How many kernels (or views) may recompute one cheap value before it is materialised. */
const MAX_DUPLICATES = 4;

export function classify(e: JaxprEqn): EqnClass {
  return classifyPrimitive(e.primitive, e.params, e.outVars.length);
}

/** How the lowering treats a primitive with these parameters and number of outputs (an equation's class without the equation). */
export function classifyPrimitive(p: Primitive, params: Record<string, unknown>, outputs: number): EqnClass {
  if (p.elementwise && outputs === 1) return "elementwise";
  if (VIEW_PRIMS.has(p.name) && !(p.name === "reshape" && params.dimensions != null)) return "view";
  if (p.name in REDUCE_KIND) return "reduce";
  return "library";
}

/** The movement a view equation applies. */
function viewOpOf(e: JaxprEqn): ViewOp {
  const p = e.params as Record<string, any>;
  switch (e.primitive.name) {
    case "broadcast_in_dim": return { kind: "broadcast", shape: p.shape, dims: p.broadcast_dimensions };
    case "reshape": return { kind: "reshape", shape: p.new_sizes };
    case "transpose": return { kind: "transpose", perm: p.permutation };
    case "squeeze": return { kind: "squeeze", dims: p.dimensions };
    case "rev": return { kind: "rev", dims: p.dimensions };
    default: {
      const start: number[] = p.start_indices;
      return { kind: "slice", start, limit: p.limit_indices, step: p.strides ?? start.map(() => 1) };
    }
  }
}

/** The implicit broadcast of an elementwise operand of shape `from` to the result's shape `to`, if any. */
function implicitBroadcast(from: readonly number[], to: readonly number[]): ViewOp | null {
  if (from.length === to.length && from.every((n, i) => n === to[i])) return null;
  if (from.length === 0) return { kind: "broadcast", shape: to, dims: [] };
  return { kind: "broadcast", shape: to, dims: from.map((_, i) => i) };
}

/** Primitives that must run even when nothing uses their results. */
function hasEffects(p: Primitive): boolean {
  return p.impl !== undefined || p.name.startsWith("debug");
}

/**
 * The program to lower: nested jit calls inlined (their bodies' variables renamed, their
 * constants appended), and equations whose results nothing uses removed (unless effectful).
 * Returns `cj` itself when there is nothing to change.
 */
export function flattenProgram(cj: ClosedJaxpr): ClosedJaxpr {
  const j = cj.jaxpr;
  const constvars = [...j.constvars];
  const consts = [...cj.consts];
  const subst = new Map<Var, Atom>();
  const eqns: JaxprEqn[] = [];
  let changed = false;
  const resolve = (a: Atom, m: Map<Var, Atom>): Atom => (a instanceof Var ? (m.get(a) ?? a) : a);
  const inline = (body: Jaxpr, bodyConsts: NDArray[], env: Map<Var, Atom>, fresh: boolean): void => {
    for (const e of body.eqns) {
      const inputs = e.inputs.map((a) => resolve(a, env));
      if (e.primitive.name === "jit") {
        changed = true;
        const inner = (e.params as { jaxpr: ClosedJaxpr }).jaxpr;
        const m = new Map<Var, Atom>();
        inner.jaxpr.constvars.forEach((v, i) => {
          const nv = new Var(v.aval);
          constvars.push(nv);
          consts.push(inner.consts[i]);
          m.set(v, nv);
        });
        inner.jaxpr.invars.forEach((v, i) => m.set(v, inputs[i]));
        inline(inner.jaxpr, inner.consts, m, true);
        e.outVars.forEach((v, i) => !(v instanceof DropVar) && env.set(v, resolve(inner.jaxpr.outvars[i], m)));
        continue;
      }
      const outVars = fresh ? e.outVars.map((v) => (v instanceof DropVar ? v : new Var(v.aval))) : e.outVars;
      if (fresh) e.outVars.forEach((v, i) => !(v instanceof DropVar) && env.set(v, outVars[i]));
      const same = !fresh && inputs.every((a, i) => a === e.inputs[i]);
      eqns.push(same ? e : new JaxprEqn(e.primitive, inputs, e.params, outVars, e.sourceRef));
    }
    void bodyConsts;
  };
  inline(j, cj.consts, subst, false);
  const outvars = j.outvars.map((a) => resolve(a, subst));
  // Dead code: walk back from the outputs.
  const live = new Set<Var>();
  for (const a of outvars) if (a instanceof Var) live.add(a);
  const keep = new Array<boolean>(eqns.length).fill(false);
  for (let i = eqns.length - 1; i >= 0; i--) {
    const e = eqns[i];
    if (!hasEffects(e.primitive) && !e.outVars.some((v) => live.has(v))) continue;
    keep[i] = true;
    for (const a of e.inputs) if (a instanceof Var) live.add(a);
  }
  const kept = eqns.filter((_, i) => keep[i]);
  if (!changed && kept.length === j.eqns.length) return cj;
  return new ClosedJaxpr(new Jaxpr(constvars, j.invars, kept, outvars), consts);
}

/** Thrown while building a kernel: `v` must be materialised first. */
class NeedRealize {
  constructor(readonly v: Var) {}
}

/** One step of the path from a value to a kernel's loop space, and the value it applies to. */
interface PathStep {
  op: ViewOp;
  input: Atom;
}

/** A kernel built for one materialised value. */
export interface BuiltKernel {
  root: Var;
  kernel: Kernel;
  /** The materialised values it reads, in buffer order (buffer 0 is the root's). */
  inputs: Var[];
  /** The equations it computes (its root's producer included), in program order. */
  eqns: JaxprEqn[];
  /** Position of the root's producer in the program. */
  position: number;
}

export interface KernelGraph {
  jaxpr: ClosedJaxpr;
  realized: Set<Var>;
  kernels: BuiltKernel[];
  classes: EqnClass[];
}

let nextVarId = 0;
const varIds = new WeakMap<Var, number>();
function varId(v: Var): number {
  let id = varIds.get(v);
  if (id === undefined) varIds.set(v, (id = nextVarId++));
  return id;
}

/** Lowers a (flattened) closed jaxpr to its kernel graph. */
export function buildKernelGraph(cj: ClosedJaxpr): KernelGraph {
  const j = cj.jaxpr;
  const classes = j.eqns.map(classify);
  const producer = new Map<Var, number>();
  j.eqns.forEach((e, i) => e.outVars.forEach((v) => !(v instanceof DropVar) && producer.set(v, i)));
  const realized = new Set<Var>([...j.constvars, ...j.invars]);
  for (const a of j.outvars) if (a instanceof Var) realized.add(a);
  j.eqns.forEach((e, i) => {
    if (classes[i] !== "library") return;
    for (const a of e.inputs) if (a instanceof Var) realized.add(a);
    for (const v of e.outVars) if (!(v instanceof DropVar)) realized.add(v);
  });

  // Each round builds the kernel of every materialised value; a kernel that no newly
  // materialised value changes (none of the values it walked through or loaded) is the same as
  // in the previous round, so its build is reused (renumbered: names follow the root's rank).
  const built = new Map<Var, Build>();
  for (let round = 0; ; round++) {
    const requests = new Set<Var>();
    const visits = new Map<Var, Set<string>>();
    const kernels: BuiltKernel[] = [];
    const roots = [...realized].filter((v) => producer.has(v) && classes[producer.get(v)!] !== "library").sort((a, b) => producer.get(a)! - producer.get(b)!);
    roots.forEach((root, n) => {
      let b = built.get(root);
      if (!b) built.set(root, (b = buildKernel(root, cj, classes, producer, realized)));
      for (const [v, key] of b.visits) {
        let seen = visits.get(v);
        if (!seen) visits.set(v, (seen = new Set()));
        seen.add(key);
      }
      if (b.need) requests.add(b.need);
      else kernels.push({ ...b.kernel!, kernel: { ...b.kernel!.kernel, name: kernelName(n, b.prims) } });
    });
    for (const [v, seen] of visits) {
      if (seen.size <= 1) continue;
      const e = j.eqns[producer.get(v)!];
      const cheap = classes[producer.get(v)!] === "elementwise" && CHEAP.has(e.primitive.name) && !isHalf(v.aval.dtype);
      if (!cheap || seen.size > MAX_DUPLICATES) requests.add(v);
    }
    if (requests.size === 0) return { jaxpr: cj, realized, kernels, classes };
    for (const v of requests) realized.add(v);
    for (const [root, b] of built) {
      for (const v of requests) if (b.touched.has(v)) built.delete(root);
    }
    if (round > j.eqns.length + 1) throw new Error("lowering: materialisation did not converge");
  }
}

/** One kernel's build: the kernel (or the value it needs materialised first), and what it depends on. */
interface Build {
  kernel: BuiltKernel | null;
  /** The primitives of its equations, for its name. */
  prims: string[];
  need: Var | null;
  /** Every value the walk reached (loaded or walked through): only their materialisation can change the build. */
  touched: Set<Var>;
  /** (value, kernel + view) pairs of the fused non-view values it computes: for the duplication check. */
  visits: [Var, string][];
}

const isHalf = (d: DType) => d.name === "float16" || d.name === "bfloat16";

/** Composes `path` onto the row-major view of `shape`; on failure names the value to materialise. */
function composeView(shape: readonly number[], path: readonly PathStep[]): View | Var {
  let v: View | null = contiguous(shape);
  for (const s of path) {
    const next: View | null = applyViewOp(v, s.op);
    if (!next) return s.input as Var;
    v = next;
  }
  return v;
}

function buildKernel(root: Var, cj: ClosedJaxpr, classes: EqnClass[], producer: Map<Var, number>, realized: Set<Var>): Build {
  const touched = new Set<Var>();
  const visits: [Var, string][] = [];
  try {
    const { kernel, prims } = walkKernel(root, cj, classes, producer, realized, touched, visits);
    return { kernel, prims, need: null, touched, visits };
  } catch (e) {
    if (!(e instanceof NeedRealize)) throw e;
    touched.add(e.v);
    return { kernel: null, prims: [], need: e.v, touched, visits };
  }
}

function walkKernel(
  root: Var, cj: ClosedJaxpr, classes: EqnClass[], producer: Map<Var, number>, realized: Set<Var>, touched: Set<Var>, visits: [Var, string][],
): { kernel: BuiltKernel; prims: string[] } {
  const j = cj.jaxpr;
  const ops: KOp[] = [];
  const memo = new Map<string, number>();
  const inputs: Var[] = [];
  const inputIndex = new Map<Var, number>();
  const fused = new Set<number>();
  /** Loads in the root's space, to re-index once the loop space is known. */
  const rootLoads: { op: number; view: View }[] = [];
  let red: { r: Var; eqn: JaxprEqn; axes: number[]; xShape: readonly number[] } | null = null;
  const rootId = varId(root);

  const push = (o: KOp): number => (ops.push(o), ops.length - 1);
  const bufOf = (v: Var): number => {
    let b = inputIndex.get(v);
    if (b === undefined) {
      inputs.push(v);
      inputIndex.set(v, (b = inputs.length));
    }
    return b;
  };

  const visit = (a: Atom, path: PathStep[], space: "root" | "red", isRoot = false): number => {
    if (a instanceof Literal) {
      const key = `c:${a.aval.dtype.name}:${String(a.value)}`;
      let id = memo.get(key);
      if (id === undefined) memo.set(key, (id = push({ op: "const", dtype: a.aval.dtype, value: Number(a.value) })));
      return id;
    }
    const v = a;
    touched.add(v);
    const view = composeView(v.aval.shape, path);
    if (view instanceof Var) throw new NeedRealize(view);
    const key = `${space}:${varId(v)}:${viewKey(view)}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let id: number;
    if (realized.has(v) && !isRoot) {
      id = push({ op: "load", buf: bufOf(v), index: { offset: view.offset, strides: [...view.strides] }, dtype: v.aval.dtype });
      if (space === "root") rootLoads.push({ op: id, view });
    } else {
      const pi = producer.get(v)!;
      const e = j.eqns[pi];
      const cls = classes[pi];
      if (!isRoot && cls !== "view") visits.push([v, `${rootId}|${key}`]);
      fused.add(pi);
      if (cls === "elementwise") {
        const args = e.inputs.map((x) => {
          const b = implicitBroadcast(x.aval.shape, v.aval.shape);
          return visit(x, b ? [{ op: b, input: x }, ...path] : path, space);
        });
        id = push({ op: "alu", prim: e.primitive.name, params: e.params, args, inDtypes: e.inputs.map((x) => x.aval.dtype), dtype: v.aval.dtype });
      } else if (cls === "view") {
        id = visit(e.inputs[0], [{ op: viewOpOf(e), input: e.inputs[0] }, ...path], space);
      } else if (cls === "reduce") {
        // Only the identity map from the loop space, once per kernel, outside any prologue.
        const sameSize = sizeOf(v.aval.shape) === sizeOf(root.aval.shape);
        if (space !== "root" || red !== null || !sameSize || !isIdentity(view)) throw new NeedRealize(v);
        const x = e.inputs[0] as Var;
        red = { r: v, eqn: e, axes: (e.params as { axes: number[] }).axes, xShape: x.aval.shape };
        const src = visit(x, [], "red");
        id = push({ op: "reduce", kind: REDUCE_KIND[e.primitive.name], src, dtype: v.aval.dtype });
      } else throw new Error(`lowering: ${e.primitive.name} output is not materialised`);
    }
    memo.set(key, id);
    return id;
  };

  const value = visit(root, [], "root", true);
  // The loop space: the root's shape, or the reduction's operand (kept axes in the root's order).
  let shape: number[];
  let reduced: boolean[];
  let toLoop: (v: View) => KIndex;
  if (red) {
    const { axes, xShape, r } = red as { r: Var; axes: number[]; xShape: readonly number[] };
    shape = [...xShape];
    reduced = xShape.map((_, d) => axes.includes(d));
    const kept = xShape.filter((_, d) => !reduced[d]);
    toLoop = (rv: View): KIndex => {
      const w = reshapeView(rv, kept);
      if (!w) throw new NeedRealize(r);
      const strides: number[] = [];
      let k = 0;
      for (let d = 0; d < xShape.length; d++) strides.push(reduced[d] ? 0 : w.strides[k++]);
      return { offset: w.offset, strides };
    };
  } else {
    shape = [...root.aval.shape];
    reduced = shape.map(() => false);
    toLoop = (rv) => ({ offset: rv.offset, strides: [...rv.strides] });
  }
  for (const { op, view } of rootLoads) (ops[op] as Extract<KOp, { op: "load" }>).index = toLoop(view);
  push({ op: "store", buf: 0, index: toLoop(contiguous(root.aval.shape)), src: value, dtype: root.aval.dtype });
  const eqnIdx = [...fused].sort((a, b) => a - b);
  const kernel: Kernel = {
    name: "",
    shape,
    reduced,
    bufs: [
      { dtype: root.aval.dtype, size: root.aval.size, role: "out" },
      ...inputs.map((v) => ({ dtype: v.aval.dtype, size: v.aval.size, role: "in" as const })),
    ],
    ops,
  };
  const built = { root, kernel, inputs, eqns: eqnIdx.map((i) => j.eqns[i]), position: producer.get(root)! };
  return { kernel: built, prims: eqnIdx.map((i) => j.eqns[i].primitive.name) };
}

/** `k3_mul_add_tanh`: the kernel's number and its first few distinct primitives (views left out when there is more). */
function kernelName(n: number, prims: string[]): string {
  const distinct = [...new Set(prims)];
  const arith = distinct.filter((p) => !VIEW_PRIMS.has(p));
  const shown = (arith.length ? arith : distinct).slice(0, 3).map((p) => p.replace(/[^A-Za-z0-9_]/g, "_"));
  return [`k${n}`, ...shown].join("_");
}

/** The row-major strides of a shape (re-exported for the program builder). */
export { stridesOf };
