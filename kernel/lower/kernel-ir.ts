// The scalar kernel IR: what a fused kernel computes for one point of its loop nest, in a
// small op set after tinygrad's (LOAD with an affine index, CONST, ALU, REDUCE, STORE). Both
// CPU code generation (codegen-js.ts) and later backends render from it, so it knows nothing
// about JavaScript or devices.
//
// A kernel loops over `shape` (row-major, axis 0 outermost). Axes marked in `reduced` are
// folded by the kernel's single REDUCE op: the ops before it (the prologue) run once per point
// of the whole nest, the REDUCE folds their value into one accumulator per point of the kept
// axes, and the ops that use its result (the epilogue) run once per kept point. Indices are
// affine in the loop variables: `offset + sum_d i_d * strides[d]`, with stride 0 on the axes
// an operand does not vary along (broadcasting) and on the reduced axes for epilogue ops.
//
// Semantics: a LOAD yields the element's numeric value (float16/bfloat16 decoded); every ALU
// and REDUCE result is a value of its dtype (rounded to float32, wrapped to int8..uint32),
// exactly as when each primitive runs on its own and stores its result, so a fused kernel
// computes the same bits as the primitives run one by one.

import { DType } from "../core/dtype";

/** An affine index into a buffer, over the kernel's loop axes. */
export interface KIndex {
  offset: number;
  strides: number[];
}

/** The reductions a kernel can fold (the reduce_* primitives). */
export type ReduceKind = "sum" | "prod" | "max" | "min" | "and" | "or";

export type KOp =
  | { op: "const"; dtype: DType; value: number }
  | { op: "load"; buf: number; index: KIndex; dtype: DType }
  /** A primitive's scalar rule (its `elementwise` record), by primitive name. */
  | { op: "alu"; prim: string; params: unknown; args: number[]; inDtypes: DType[]; dtype: DType }
  | { op: "reduce"; kind: ReduceKind; src: number; dtype: DType }
  | { op: "store"; buf: number; index: KIndex; src: number; dtype: DType };

/** A kernel's buffer parameter. */
export interface KBuffer {
  dtype: DType;
  /** Elements. */
  size: number;
  role: "in" | "out";
}

export interface Kernel {
  name: string;
  /** Loop extents, axis 0 outermost. */
  shape: number[];
  /** Per loop axis: folded by the REDUCE op. All false for an elementwise kernel. */
  reduced: boolean[];
  /** Parameters: the outputs first, then the inputs. */
  bufs: KBuffer[];
  /** SSA ops: an op's id is its position; arguments refer to earlier ops. */
  ops: KOp[];
}

/** Elements the kernel's loop nest visits (its launch shape, flattened). */
export function kernelPoints(k: Kernel): number {
  return k.shape.reduce((a, b) => a * b, 1);
}

/** The REDUCE op of a kernel, if any. */
export function reduceOp(k: Kernel): Extract<KOp, { op: "reduce" }> | null {
  for (const o of k.ops) if (o.op === "reduce") return o;
  return null;
}

/**
 * The loop depth of each op within a nest over `axes` (ops `include` selects): 1 + the position
 * of its innermost loop variable, so an op is emitted at the outermost level where its inputs are
 * known (loop-invariant code motion). A REDUCE sits at `reduceDepth`. Both code generators place
 * ops with it.
 */
export function opDepths(ops: readonly KOp[], axes: readonly number[], include: (i: number) => boolean, reduceDepth: number): number[] {
  const pos = new Map(axes.map((a, p) => [a, p + 1]));
  const depth = new Array<number>(ops.length).fill(0);
  ops.forEach((o, i) => {
    if (!include(i)) return;
    if (o.op === "load" || o.op === "store") {
      let d = 0;
      o.index.strides.forEach((s, ax) => s !== 0 && (d = Math.max(d, pos.get(ax) ?? 0)));
      if (o.op === "store") d = Math.max(d, depth[o.src]);
      depth[i] = d;
    } else if (o.op === "alu") depth[i] = o.args.reduce((m, a) => Math.max(m, depth[a]), 0);
    else if (o.op === "reduce") depth[i] = reduceDepth;
  });
  return depth;
}

/**
 * The phases of a kernel around its REDUCE, per op: `post`, the ops that use the REDUCE's result
 * (the epilogue, run once per kept point, the REDUCE included); `pro`, what the REDUCE folds
 * (transitively: run once per point of the whole nest); `epi`, what the epilogue needs
 * (transitively: what a separate epilogue nest must compute). All false without a REDUCE.
 */
export function reducePhases(ops: readonly KOp[]): { post: boolean[]; pro: boolean[]; epi: boolean[] } {
  const post = new Array<boolean>(ops.length).fill(false);
  ops.forEach((o, i) => {
    if (o.op === "reduce") post[i] = true;
    else if (o.op === "alu") post[i] = o.args.some((a) => post[a]);
    else if (o.op === "store") post[i] = post[o.src];
  });
  const pro = new Array<boolean>(ops.length).fill(false);
  const mark = (i: number): void => {
    if (pro[i]) return;
    pro[i] = true;
    const o = ops[i];
    if (o.op === "alu") o.args.forEach(mark);
  };
  for (const o of ops) if (o.op === "reduce") mark(o.src);
  const epi = new Array<boolean>(ops.length).fill(false);
  for (let i = ops.length - 1; i >= 0; i--) {
    if (post[i]) epi[i] = true;
    if (!epi[i]) continue;
    const o = ops[i];
    if (o.op === "alu") o.args.forEach((a) => (epi[a] = true));
    if (o.op === "store") epi[o.src] = true;
  }
  return { post, pro, epi };
}

/**
 * What is wrong with a kernel's typing, or null: a load or store of another dtype than its
 * buffer's, an ALU op or REDUCE whose operands are not of the dtypes it declares, or more than one
 * REDUCE. The lowering never builds such kernels; code generators check before rendering, so a
 * malformed kernel is refused with a reason instead of rendered wrong.
 */
export function kernelTypeError(k: Kernel): string | null {
  let reduces = 0;
  for (const o of k.ops) {
    if (o.op === "load" && o.dtype !== k.bufs[o.buf].dtype) return `load of ${o.dtype.name} from a ${k.bufs[o.buf].dtype.name} buffer`;
    if (o.op === "store" && (o.dtype !== k.bufs[o.buf].dtype || k.ops[o.src].dtype !== o.dtype)) return `store of ${k.ops[o.src].dtype.name} into ${k.bufs[o.buf].dtype.name}`;
    if (o.op === "alu" && o.args.some((a, i) => k.ops[a].dtype !== o.inDtypes[i])) return `${o.prim} with operands of other dtypes than declared`;
    if (o.op === "reduce" && (reduces++, k.ops[o.src].dtype !== o.dtype)) return `reduce_${o.kind} of ${k.ops[o.src].dtype.name} into ${o.dtype.name}`;
  }
  return reduces > 1 ? `${reduces} reductions in one kernel` : null;
}

/** Every index of the kernel's loads and stores. */
function indices(k: Kernel): KIndex[] {
  const out: KIndex[] = [];
  for (const o of k.ops) if (o.op === "load" || o.op === "store") out.push(o.index);
  return out;
}

/**
 * Simplifies the loop nest without changing what it computes: drops size-1 axes, and merges
 * adjacent axes of the same kind (kept/reduced) when every index steps through them as through
 * one axis (strides[d] = shape[d+1] * strides[d+1]). A kernel whose operands are all read in
 * order becomes one flat loop.
 */
export function coalesce(k: Kernel): Kernel {
  const idx = indices(k);
  let shape = [...k.shape];
  let reduced = [...k.reduced];
  let strides = idx.map((ix) => [...ix.strides]);
  // Size-1 axes (but keep rank 0 kernels rank 0).
  const keep = shape.map((n) => n !== 1);
  shape = shape.filter((_, d) => keep[d]);
  reduced = reduced.filter((_, d) => keep[d]);
  strides = strides.map((s) => s.filter((_, d) => keep[d]));
  for (let d = shape.length - 2; d >= 0; d--) {
    if (reduced[d] !== reduced[d + 1]) continue;
    if (!strides.every((s) => s[d] === s[d + 1] * shape[d + 1])) continue;
    shape.splice(d, 2, shape[d] * shape[d + 1]);
    reduced.splice(d, 1);
    strides.forEach((s) => s.splice(d, 2, s[d + 1]));
  }
  let n = 0;
  const ops = k.ops.map((o): KOp => (o.op === "load" || o.op === "store" ? { ...o, index: { offset: o.index.offset, strides: strides[n++] } } : o));
  return { ...k, shape, reduced, ops };
}

const opName: Record<ReduceKind, string> = { sum: "sum", prod: "prod", max: "max", min: "min", and: "and", or: "or" };

function indexText(ix: KIndex): string {
  const terms = ix.strides.flatMap((s, d) => (s === 0 ? [] : [s === 1 ? `i${d}` : `i${d}*${s}`]));
  if (ix.offset !== 0 || terms.length === 0) terms.unshift(String(ix.offset));
  return terms.join(" + ");
}

/** The kernel as text, one op per line (inspection and golden tests). */
export function printKernel(k: Kernel): string {
  const loops = k.shape.map((n, d) => `${k.reduced[d] ? "r" : ""}${n}`).join(", ");
  const lines = [`kernel ${k.name}[${loops}]`];
  k.bufs.forEach((b, i) => lines.push(`  buf${i}: ${b.role} ${b.dtype.short}[${b.size}]`));
  k.ops.forEach((o, i) => {
    const t = `%${i}`;
    switch (o.op) {
      case "const":
        lines.push(`  ${t} = const ${o.value}:${o.dtype.short}`);
        break;
      case "load":
        lines.push(`  ${t} = load buf${o.buf}[${indexText(o.index)}] : ${o.dtype.short}`);
        break;
      case "alu":
        lines.push(`  ${t} = ${o.prim}${o.params && Object.keys(o.params).length ? JSON.stringify(o.params) : ""} ${o.args.map((a) => `%${a}`).join(" ")} : ${o.dtype.short}`);
        break;
      case "reduce":
        lines.push(`  ${t} = reduce_${opName[o.kind]} %${o.src} : ${o.dtype.short}`);
        break;
      case "store":
        lines.push(`  store buf${o.buf}[${indexText(o.index)}] %${o.src}`);
        break;
    }
  });
  return lines.join("\n");
}
