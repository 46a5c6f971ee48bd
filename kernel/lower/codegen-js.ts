// JavaScript code generation for the CPU backend: a pure function from a kernel (kernel-ir.ts)
// to source text. Nothing here runs the code; the backend's runtime turns the text into a
// function (kernel/backends/cpu/compiled.ts).
//
// Why JavaScript (for now): a generated loop over typed arrays with constant bounds, strides
// and the scalar expressions inlined is what V8 optimises best (monomorphic, no closure calls);
// it runs on every platform Node runs on, and the elementwise rules of the primitive records
// are already JS expressions, so a fused kernel computes exactly what the eager kernels do.
// A WebAssembly SIMD renderer of the same IR is the next step for the arithmetic-heavy
// kernels (test/bench/RESULTS.md has the measurements).
//
// The text returned is the body of a factory: `new Function("H", "T16", "TB16", text)` returns
// the kernel, a function of its buffers (outputs first, then inputs). H holds the scalar
// helpers of kernel/primitives/cpu-loops.ts; T16 and TB16 decode float16/bfloat16 bit patterns.
//
// Loops: axis 0 outermost, constant trip counts. Every op is emitted at the outermost loop level
// where its inputs are known (loop-invariant code motion), so a value broadcast along an inner
// axis is loaded once per outer iteration. A reduction whose folded axes are innermost keeps
// its accumulator in a local; otherwise the nest walks the input in order and accumulates into
// a Float64Array of the kept points, and the epilogue runs in a second nest over the kept axes.
// Either way each output folds its elements in row-major order, in float64, like the eager
// reduction loops (so sums agree to the bit).

import { DType, finfoOrIinfo } from "../core/dtype";
import { numberToBF16, numberToF16, bf16DecodeTable, f16DecodeTable } from "../core/float16";
import { PrimalError } from "../core/errors";
import { getPrimitive } from "../core/primitive";
import { KIndex, KOp, Kernel, ReduceKind, opDepths, reducePhases } from "./kernel-ir";

/** `e` rounded to a value of dtype `d`, as storing it into `d`'s storage and reading it back does. */
export function roundTo(d: DType, e: string): string {
  switch (d.name) {
    case "float32": return `Math.fround(${e})`;
    case "float16": return `T16[H.f16enc(${e})]`;
    case "bfloat16": return `TB16[H.bf16enc(${e})]`;
    case "int32": return `(${e}) | 0`;
    case "uint32": return `(${e}) >>> 0`;
    case "int16": return `(${e}) << 16 >> 16`;
    case "uint16": return `(${e}) & 65535`;
    case "int8": return `(${e}) << 24 >> 24`;
    case "uint8": return `(${e}) & 255`;
    case "bool": return e;
  }
}

/** Primitives whose result is one of their operands (or exactly representable): no rounding needed. */
const EXACT_FLOAT = new Set(["copy", "stop_gradient", "select_n", "max", "min", "neg", "abs", "clamp", "floor", "ceil"]);
const EXACT_INT = new Set(["copy", "stop_gradient", "select_n", "max", "min", "clamp"]);

function needsRounding(o: Extract<KOp, { op: "alu" }>): boolean {
  if (o.dtype.isBool) return false;
  const sameType = o.prim === "select_n" ? o.inDtypes.slice(1).every((d) => d === o.dtype) : o.inDtypes.every((d) => d === o.dtype);
  if (!sameType) return true;
  return !(o.dtype.isFloat ? EXACT_FLOAT : EXACT_INT).has(o.prim);
}

/** A numeric constant of dtype `d` as JS source (already rounded to `d`). */
export function constText(d: DType, value: number): string {
  let v = value;
  if (d.name === "float32") v = Math.fround(v);
  else if (d.name === "float16") v = f16DecodeTable()[numberToF16(v)];
  else if (d.name === "bfloat16") v = bf16DecodeTable()[numberToBF16(v)];
  else if (d.isBool) v = v ? 1 : 0;
  else if (d.isInt) {
    const s = new d.storage(1);
    s[0] = v;
    v = Number(s[0]);
  }
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "(-Infinity)";
  if (Object.is(v, -0)) return "(-0)";
  return v < 0 ? `(${v})` : String(v);
}

/** The reduction's initial accumulator, as the eager reduce_* kernels start it. */
export function reduceInit(kind: ReduceKind, d: DType): number {
  switch (kind) {
    case "sum": return 0;
    case "prod": return 1;
    case "max": return d.isFloat ? -Infinity : finfoOrIinfo(d).min;
    case "min": return d.isFloat ? Infinity : finfoOrIinfo(d).max;
    case "and": return d.isBool ? 1 : -1;
    case "or": return 0;
  }
}

/** One fold step over `acc` and the value `v` (the statements of kernel/primitives/reduce.ts). */
export function reduceStep(kind: ReduceKind, d: DType, acc: string, v: string): string {
  switch (kind) {
    case "sum": return d.isBool ? `${acc} |= ${v};` : `${acc} += ${v};`;
    case "prod": return d.isInt && d.bits === 32 ? `${acc} = Math.imul(${acc}, ${v});` : `${acc} *= ${v};`;
    case "max": return `if (${v} > ${acc} || ${v} !== ${v}) ${acc} = ${v};`;
    case "min": return `if (${v} < ${acc} || ${v} !== ${v}) ${acc} = ${v};`;
    case "and": return `${acc} &= ${v};`;
    case "or": return `${acc} |= ${v};`;
  }
}

/** The accumulator rounded to the reduction's dtype (as the eager kernel's final store). */
function roundAcc(d: DType, e: string): string {
  return d.isBool ? `(${e} ? 1 : 0)` : roundTo(d, e);
}

function loadText(d: DType, buf: string, idx: string): string {
  const raw = `${buf}[${idx}]`;
  return d.name === "float16" ? `T16[${raw}]` : d.name === "bfloat16" ? `TB16[${raw}]` : raw;
}

function storeValue(d: DType, v: string): string {
  return d.name === "float16" ? `H.f16enc(${v})` : d.name === "bfloat16" ? `H.bf16enc(${v})` : v;
}

function indexText(ix: KIndex, axes: readonly number[]): string {
  const terms: string[] = [];
  for (const d of axes) {
    const s = ix.strides[d];
    if (s === 0) continue;
    terms.push(s === 1 ? `i${d}` : s === -1 ? `-i${d}` : `i${d} * ${s}`);
  }
  if (terms.length === 0) return String(ix.offset);
  let t = terms.join(" + ").replace(/\+ -/g, "- ");
  if (ix.offset !== 0) t = `${ix.offset} + ${t}`.replace(/\+ -/g, "- ");
  return t;
}

/** The JS source (factory body) of a kernel. */
export function generateJs(k: Kernel): string {
  const ops = k.ops;
  const allAxes = k.shape.map((_, d) => d);
  const red = ops.findIndex((o) => o.op === "reduce");
  const keptAxes = allAxes.filter((d) => !k.reduced[d]);
  const firstReduced = k.reduced.indexOf(true);
  // Inner mode: the folded axes are the innermost ones; the accumulator is a local.
  const inner = red < 0 || firstReduced < 0 || k.reduced.every((r, d) => r === d >= firstReduced);

  // The epilogue (post), the prologue the REDUCE folds (pro), and what a separate epilogue nest needs (epi).
  const { post, pro, epi } = reducePhases(ops);
  const val = (i: number): string => {
    const o = ops[i];
    return o.op === "const" ? constText(o.dtype, o.value) : `v${i}`;
  };
  const bufName = (b: number) => `b${b}`;

  const depthsFor = (axes: readonly number[], include: (i: number) => boolean, reduceDepth: number): number[] => opDepths(ops, axes, include, reduceDepth);

  const lines: string[] = [];
  const emitOp = (i: number, ind: string, axes: readonly number[], accExpr: string | null): void => {
    const o = ops[i];
    switch (o.op) {
      case "const":
        return;
      case "load":
        lines.push(`${ind}const v${i} = ${loadText(o.dtype, bufName(o.buf), indexText(o.index, axes))};`);
        return;
      case "alu": {
        const prim = getPrimitive(o.prim);
        if (!prim?.elementwise) throw new PrimalError(`codegen: ${o.prim} has no elementwise rule, got it in kernel ${k.name}`);
        const e = prim.elementwise.js(o.args.map(val), o.inDtypes, o.dtype, o.params);
        lines.push(`${ind}const v${i} = ${needsRounding(o) ? roundTo(o.dtype, e) : e};`);
        return;
      }
      case "reduce":
        lines.push(`${ind}const v${i} = ${roundAcc(o.dtype, accExpr!)};`);
        return;
      case "store":
        lines.push(`${ind}${bufName(o.buf)}[${indexText(o.index, axes)}] = ${storeValue(o.dtype, val(o.src))};`);
        return;
    }
  };

  /**
   * A loop nest over `axes`, emitting the ops `include` selects at their depth. `hooks` add
   * statements at a depth: before the loop of that depth opens (`open`) and after it closes
   * (`close`); `body` goes in the innermost loop after its ops.
   */
  const nest = (axes: readonly number[], include: (i: number) => boolean, depth: number[], hooks: { open?: Map<number, string[]>; close?: Map<number, string[]>; body?: string[]; accExpr?: string }, closeOps?: (i: number) => boolean): void => {
    const rec = (d: number, ind: string): void => {
      ops.forEach((_, i) => include(i) && depth[i] === d && !(closeOps?.(i) ?? false) && emitOp(i, ind, axes, hooks.accExpr ?? null));
      for (const s of hooks.open?.get(d) ?? []) lines.push(ind + s);
      if (d < axes.length) {
        const a = axes[d];
        lines.push(`${ind}for (let i${a} = 0; i${a} < ${k.shape[a]}; i${a}++) {`);
        rec(d + 1, ind + "  ");
        lines.push(`${ind}}`);
      } else for (const s of hooks.body ?? []) lines.push(ind + s);
      for (const s of hooks.close?.get(d) ?? []) lines.push(ind + s);
      if (closeOps) ops.forEach((_, i) => include(i) && depth[i] === d && closeOps(i) && emitOp(i, ind, axes, hooks.accExpr ?? null));
    };
    rec(0, "  ");
  };

  if (red < 0) {
    const depth = depthsFor(allAxes, () => true, 0);
    nest(allAxes, () => true, depth, {});
  } else {
    const r = ops[red] as Extract<KOp, { op: "reduce" }>;
    const init = constText(r.dtype, reduceInit(r.kind, r.dtype)).replace(/^\((.*)\)$/, "$1");
    if (inner) {
      const kdepth = keptAxes.length;
      const depth = depthsFor(allAxes, () => true, kdepth);
      // Epilogue ops sit at the kept depth, after the folded loops close.
      for (let i = 0; i < ops.length; i++) if (post[i]) depth[i] = Math.max(depth[i], kdepth);
      nest(allAxes, () => true, depth, {
        open: new Map([[kdepth, [`let acc = ${init};`]]]),
        body: [reduceStep(r.kind, r.dtype, "acc", val(r.src))],
        accExpr: "acc",
      }, (i) => post[i]);
    } else {
      const keptSize = keptAxes.reduce((a, d) => a * k.shape[d], 1);
      const accStrides = allAxes.map(() => 0);
      for (let d = keptAxes.length - 1, s = 1; d >= 0; d--) (accStrides[keptAxes[d]] = s), (s *= k.shape[keptAxes[d]]);
      const accIndex: KIndex = { offset: 0, strides: accStrides };
      lines.push(`  const A = new Float64Array(${keptSize})${init === "0" ? "" : `.fill(${init})`};`);
      const d1 = depthsFor(allAxes, (i) => pro[i], 0);
      nest(allAxes, (i) => pro[i], d1, {
        body: [`{ let acc = A[${indexText(accIndex, allAxes)}]; ${reduceStep(r.kind, r.dtype, "acc", val(r.src))} A[${indexText(accIndex, allAxes)}] = acc; }`],
      });
      const rest = (i: number) => epi[i];
      const d2 = depthsFor(keptAxes, rest, keptAxes.length);
      nest(keptAxes, rest, d2, { accExpr: `A[${indexText(accIndex, keptAxes)}]` });
    }
  }
  const params = k.bufs.map((_, i) => bufName(i));
  const header = [
    `// ${k.name}: ${k.shape.length ? `loops [${k.shape.map((s, d) => (k.reduced[d] ? `${s}r` : String(s))).join(", ")}]` : "one point"}`,
    ...k.bufs.map((b, i) => `//   b${i}: ${b.role} ${b.dtype.short}[${b.size}]`),
  ];
  return `"use strict";\n${header.join("\n")}\nreturn function ${k.name}(${params.join(", ")}) {\n${lines.join("\n")}\n};\n`;
}
