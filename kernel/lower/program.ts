// A lowered program: the kernel graph (fusion.ts) in execution order, with each fused kernel's
// generated source, and the memory plan. Backend-independent except for the source text,
// which is the CPU's (codegen-js.ts); the backend turns it into functions and runs the steps.
//
// Memory plan: every materialised value has a buffer slot. Inputs (constants, arguments) are
// the caller's; a step's outputs are allocated when it runs; after the step that reads a
// buffer for the last time, the slot is cleared, so the array is garbage as soon as nothing
// else holds it. Buffers written by a fused kernel and read only by fused kernels never leave
// the program: they are `poolable`, and the runtime hands them to later kernels needing the
// same size instead of allocating (kernels overwrite every element they store). Buffers a
// library node reads or a view aliases may be held by its results, so they are only released.
// Values inside a fused kernel never have a buffer at all.
//
// One rewrite happens here, before fusion: a dot_general whose only reader is a transpose that
// swaps its lhs-free and rhs-free axes (what the weight gradient of x @ w is: dot(g, x) then
// .T) becomes the dot_general of the swapped operands, which computes that transposed layout
// directly. Each element is the same products (a·b = b·a exactly) summed in the same order, so
// the values are bit for bit the same, and the kernel that read the GEMM's result through
// transposed strides (gathers a row apart; the SGD update of w1 was 0.22 ms as JS) reads it
// contiguously instead.

import { ShapedArray } from "../core/aval";
import { NDArray } from "../core/ndarray";
import { Primitive } from "../core/primitive";
import { ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var } from "../ir/jaxpr";
import { DotDimensionNumbers, dotGeneral } from "../primitives/contraction";
import { transpose } from "../primitives/movement";
import { generateJs } from "./codegen-js";
import { buildKernelGraph, flattenProgram } from "./fusion";
import { Kernel, coalesce, kernelPoints } from "./kernel-ir";
import { isIdentity, reshapeView } from "./views";

export interface BufferInfo {
  aval: ShapedArray;
  origin: "const" | "arg" | "temp";
  /** Written by a fused kernel, read only by fused kernels, not an output: reusable after its last read. */
  poolable: boolean;
  /** The primitive that first reads it (named in errors about a disposed argument). */
  firstReader: string;
}

interface StepBase {
  /** Position among the program's steps. */
  index: number;
  name: string;
  /** Buffers to release after this step (their last reader). */
  free: number[];
  /** Indices of the equations of the lowered jaxpr this step computes. */
  eqns: number[];
}
export interface KernelStep extends StepBase {
  kind: "kernel";
  kernel: Kernel;
  /** The generated JS (factory body, see codegen-js.ts). */
  source: string;
  out: number;
  ins: number[];
}
export interface LibraryStep extends StepBase {
  kind: "library";
  prim: Primitive;
  params: unknown;
  ins: (number | Literal)[];
  /** One per output; null where the output is dropped. */
  outs: (number | null)[];
}
/** A reshape of a whole buffer: the result shares the storage (arrays are immutable). */
export interface AliasStep extends StepBase {
  kind: "alias";
  src: number;
  out: number;
}
export type Step = KernelStep | LibraryStep | AliasStep;

export interface LoweredProgram {
  /** The program as traced. */
  before: ClosedJaxpr;
  /** After passes and flattening (nested jits inlined, dead code removed): what was lowered. */
  after: ClosedJaxpr;
  buffers: BufferInfo[];
  /** Values of buffers 0..consts.length-1; the arguments follow. */
  consts: NDArray[];
  nArgs: number;
  steps: Step[];
  outputs: ({ buffer: number } | { literal: Literal })[];
  /** Largest total size of intermediate buffers alive at once, in bytes (fused values excluded). */
  peakTempBytes: number;
}

/** Lowers `after` (the optimised program) into steps; `before` is kept for inspection. */
export function lowerProgram(before: ClosedJaxpr, optimized: ClosedJaxpr): LoweredProgram {
  const after = swapTransposedDots(flattenProgram(optimized));
  const j = after.jaxpr;
  const graph = buildKernelGraph(after);
  const eqnIndex = new Map(j.eqns.map((e, i) => [e, i]));

  const buffers: BufferInfo[] = [];
  const bufOf = new Map<Var, number>();
  const addBuffer = (v: Var, origin: BufferInfo["origin"]): number => {
    let b = bufOf.get(v);
    if (b === undefined) {
      b = buffers.length;
      buffers.push({ aval: v.aval, origin, poolable: false, firstReader: "" });
      bufOf.set(v, b);
    }
    return b;
  };
  j.constvars.forEach((v) => addBuffer(v, "const"));
  // An argument passed twice in invars is impossible (Vars are distinct); constants may repeat values, not vars.
  j.invars.forEach((v) => addBuffer(v, "arg"));

  const kernelAt = new Map(graph.kernels.map((k) => [k.position, k]));
  const steps: Step[] = [];
  const producedBy = new Map<number, Step>();
  j.eqns.forEach((e, i) => {
    if (graph.classes[i] === "library") {
      const outs = e.outVars.map((v) => (v instanceof DropVar || !graph.realized.has(v) ? null : addBuffer(v, "temp")));
      const step: LibraryStep = {
        kind: "library", index: steps.length, name: e.primitive.name, prim: e.primitive, params: e.params,
        ins: e.inputs.map((a) => (a instanceof Literal ? a : bufOf.get(a)!)), outs, free: [], eqns: [i],
      };
      steps.push(step);
      outs.forEach((b) => b !== null && producedBy.set(b, step));
      return;
    }
    const bk = kernelAt.get(i);
    if (!bk) return;
    const out = addBuffer(bk.root, "temp");
    const ins = bk.inputs.map((v) => bufOf.get(v)!);
    const eqns = bk.eqns.map((e2) => eqnIndex.get(e2)!);
    const k = coalesce(bk.kernel);
    // A pure reshape of a whole buffer of the same dtype: share it.
    const [load, store] = k.ops;
    if (k.ops.length === 2 && load.op === "load" && store.op === "store" && load.dtype === store.dtype && k.bufs[1].size === k.bufs[0].size && isWhole(load.index, k)) {
      steps.push({ kind: "alias", index: steps.length, name: `alias_${bk.kernel.name}`, src: ins[0], out, free: [], eqns });
    } else {
      steps.push({ kind: "kernel", index: steps.length, name: k.name, kernel: k, source: generateJs(k), out, ins, free: [], eqns });
    }
    producedBy.set(out, steps[steps.length - 1]);
  });

  const outputs = j.outvars.map((a) => (a instanceof Literal ? { literal: a } : { buffer: bufOf.get(a)! }));
  const isOutput = new Set(outputs.flatMap((o) => ("buffer" in o ? [o.buffer] : [])));

  // Last reader of each buffer; readers that may keep a reference (library nodes, aliases).
  const last = new Array<number>(buffers.length).fill(-1);
  const escapes = new Array<boolean>(buffers.length).fill(false);
  const reads = (s: Step): number[] => (s.kind === "kernel" ? s.ins : s.kind === "alias" ? [s.src] : s.ins.filter((x): x is number => typeof x === "number"));
  for (const s of steps) {
    for (const b of reads(s)) {
      last[b] = s.index;
      if (!buffers[b].firstReader) buffers[b].firstReader = s.kind === "library" ? s.name : (j.eqns[s.eqns[0]]?.primitive.name ?? s.name);
      if (s.kind !== "kernel") escapes[b] = true;
    }
  }
  let live = 0;
  let peak = 0;
  const bytes = (b: number) => buffers[b].aval.size * buffers[b].aval.dtype.itemsize;
  for (const s of steps) {
    const produced = s.kind === "library" ? s.outs.filter((x): x is number => x !== null) : [s.out];
    for (const b of produced) if (s.kind !== "alias") live += bytes(b);
    peak = Math.max(peak, live);
    const done = new Set<number>();
    for (const b of [...reads(s), ...produced]) {
      if (buffers[b].origin !== "temp" || isOutput.has(b)) continue;
      if (last[b] === s.index || (last[b] === -1 && produced.includes(b))) done.add(b);
    }
    s.free = [...done];
    for (const b of done) {
      const p = producedBy.get(b);
      if (p?.kind !== "alias") live -= bytes(b);
      buffers[b].poolable = p?.kind === "kernel" && !escapes[b];
    }
  }
  return { before, after, buffers, consts: after.consts, nArgs: j.invars.length, steps, outputs, peakTempBytes: peak };
}

/** The load reads its whole buffer in row-major order (through whatever loop shape). */
function isWhole(ix: { offset: number; strides: number[] }, k: Kernel): boolean {
  const v = reshapeView({ shape: k.shape, strides: ix.strides, offset: ix.offset }, [kernelPoints(k)]);
  return v !== null && isIdentity(v);
}

/**
 * Rewrites transpose(dot_general(a, b)) into dot_general(b, a) where the transpose puts the
 * rhs-free axes before the lhs-free ones (batch axes first and in place) and is the product's
 * only reader (see the header). Returns `cj` itself when nothing changes.
 */
export function swapTransposedDots(cj: ClosedJaxpr): ClosedJaxpr {
  const j = cj.jaxpr;
  const uses = new Map<Var, number>();
  const use = (a: unknown, n = 1) => a instanceof Var && uses.set(a, (uses.get(a) ?? 0) + n);
  for (const e of j.eqns) for (const a of e.inputs) use(a);
  for (const a of j.outvars) use(a, 2);
  const producer = new Map<Var, number>();
  j.eqns.forEach((e, i) => e.primitive === dotGeneral && producer.set(e.outVars[0], i));
  const dropped = new Set<number>();
  const replaced = new Map<number, JaxprEqn>();
  j.eqns.forEach((e, i) => {
    if (e.primitive !== transpose || !(e.inputs[0] instanceof Var)) return;
    const di = producer.get(e.inputs[0]);
    if (di === undefined || uses.get(e.inputs[0]) !== 1) return;
    const d = j.eqns[di];
    const [a, b] = d.inputs;
    const [[ac, bc], [ab, bb]] = (d.params as { dimension_numbers: DotDimensionNumbers }).dimension_numbers;
    const nb = ab.length;
    const nm = a.aval.shape.length - ac.length - nb;
    const nn = b.aval.shape.length - bc.length - bb.length;
    const swap = [...Array.from({ length: nb }, (_, k) => k), ...Array.from({ length: nn }, (_, k) => nb + nm + k), ...Array.from({ length: nm }, (_, k) => nb + k)];
    const perm = (e.params as { permutation: number[] }).permutation;
    if (perm.length !== swap.length || perm.some((x, k) => x !== swap[k])) return;
    const params = { ...d.params, dimension_numbers: [[[...bc], [...ac]], [[...bb], [...ab]]] as DotDimensionNumbers };
    dropped.add(di);
    replaced.set(i, new JaxprEqn(d.primitive, [b, a], params, e.outVars, e.sourceRef));
  });
  if (dropped.size === 0) return cj;
  const eqns = j.eqns.flatMap((e, i) => (dropped.has(i) ? [] : [replaced.get(i) ?? e]));
  return new ClosedJaxpr(new Jaxpr(j.constvars, j.invars, eqns, j.outvars), cj.consts);
}
