// WGSL code generation for the WebGPU backend: a pure function from a kernel (kernel/lower/
// kernel-ir.ts) to the text of one compute shader, its bindings and its launch size. Nothing
// here touches a device; the runtime (Dawn through the `webgpu` package, the next step) compiles
// the text and dispatches it. `wgslSupport` says beforehand whether a kernel can be rendered.
//
// Shape of a shader: one storage buffer binding per kernel buffer (outputs read_write, inputs
// read; bool is stored as u32 because WGSL storage has no bool or u8, so the runtime widens and
// narrows bool arrays on transfer), one invocation per point of the kept axes (every point of an
// elementwise kernel), a bounds check, and the invocation's linear id decomposed into the loop
// indices with the extents baked in as constants. A reduction's invocation loops over the folded
// axes in row-major order (the order in which the CPU folds each output), so the work per
// output is serial: simple and correct; a workgroup-tree variant is a later step.
//
// What is exact (bit-identical to the JS of codegen-js.ts, given IEEE float32 arithmetic):
// - loads, stores, constants (bit patterns for inf/NaN/-0), select_n, copy, integer add/sub/mul/
//   neg/abs/max/min/sign/and/or/xor/not (WGSL integers wrap), comparisons, is_finite, floor,
//   ceil, float neg/abs, and float max/min/sign with the JS NaN and signed-zero rules (written
//   out with bit tests, because WGSL lets implementations assume no NaN/inf: a plain `a < b` or
//   `max(a, b)` is not trusted with NaN), int<->int and float->int conversion (saturating,
//   NaN -> 0, as XLA), float->bool;
// - float32 add/sub/mul: WGSL requires them correctly rounded, but a GPU may flush subnormal
//   inputs and outputs to zero, and a compiler may contract a * b + c into an FMA (the JS never
//   fuses). Exact on hardware that does neither; otherwise off in the last bit or for subnormals.
// Not exact:
// - float32 div and sqrt: WGSL allows 2.5 ulp (div for |y| in [2^-126, 2^126]) and sqrt is
//   "inherited from 1 / inverseSqrt"; the CPU rounds correctly.
// - exp, log, log1p, expm1, tanh, logistic: the same algorithms as the CPU (f32-math.ts rendered
//   through F32Ops into WGSL helper functions), so they are as accurate as the CPU's and
//   bit-identical only where the conditions above hold for every step (their divisions are not).
// - int32/uint32 -> float32 for |x| > 2^24: WGSL may round either way; the CPU rounds to nearest.
// - reductions over float32: the CPU accumulates sums and products in float64 and rounds once;
//   WGSL has no f64. Sums use a compensated (Kahan) f32 sum in row-major order, its terms passed
//   through a run-time zero so the shader compiler cannot simplify the compensation away (on
//   lavapipe it did; with the guard the results equal a float32 Kahan sum simulated in JS, bit
//   for bit, measured). That is within an ulp or two of the CPU's result, more where terms cancel
//   (Kahan's error is relative to the sum of |terms|), and an intermediate above float32's range
//   overflows where float64 would not. Products multiply in f32. max/min reductions are exact
//   (NaN sticks, ties keep the first, as on the CPU); integer and bool reductions are exact.
// Measured on Dawn + lavapipe (ad hoc, outside the tests): every shader of the golden programs
// and of softmax, flips, outer-axis sums, conversions, sign/max/floor/sqrt compiles and runs;
// the kernels marked bit-exact matched the CPU's JS bit for bit on random inputs with NaN, +-inf,
// +-0, subnormals and out-of-range values; exp/log/log1p/expm1/logistic differed in about 4% of
// elements by at most 4e-7 relative (the compiler contracts or reorders float32 operations).

import { DType } from "../../core/dtype";
import { ValueError } from "../../core/errors";
import { KIndex, KOp, Kernel, kernelPoints, kernelTypeError, opDepths, reducePhases } from "../../lower/kernel-ir";
import { reduceInit } from "../../lower/codegen-js";
import { F32_MATH } from "../../primitives/f32-math";
import { HELPERS, WgslOps, aluRender, cast, useHelper, wgslLiteral, wgslStorageType, wgslValueType } from "./wgsl-scalar";

export { wgslLiteral, wgslValueType, wgslStorageType };

/** One binding of a generated shader: kernel buffer `buf` at @group(0) @binding(binding). */
export interface WgslBinding {
  binding: number;
  /** Index into the kernel's `bufs` (outputs first, then inputs). */
  buf: number;
  role: "in" | "out";
  access: "read" | "read_write";
  /** The kernel's dtype of the buffer (bool arrays travel as u32 elements). */
  dtype: DType;
  /** The element type in WGSL: f32, i32 or u32 (bool -> u32). */
  storage: "f32" | "i32" | "u32";
  /** Elements; the binding holds `elements * 4` bytes. */
  elements: number;
}

/** A generated shader. */
export interface WgslKernel {
  code: string;
  entryPoint: string;
  bindings: WgslBinding[];
  workgroupSize: number;
  /** Invocations the kernel needs: its points (elementwise) or kept points (reduction). */
  invocations: number;
  /** Workgroup counts for dispatchWorkgroups(x, y, z) covering `invocations`. */
  dispatch: [number, number, number];
  /** Whether results equal the CPU's bit for bit on IEEE hardware (see the file header); false: within float32 tolerance. */
  bitExact: boolean;
}

export interface WgslOptions {
  /** Invocations per workgroup (default 64; WebGPU guarantees 256, adapters may allow 1024). */
  workgroupSize?: number;
}

/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Workgroup counts covering `invocations` with `workgroupSize` each: one dimension while it fits
 * the per-dimension limit, else a 2-D grid (the shader recombines x and y into one linear id).
 */
export function dispatchSize(invocations: number, workgroupSize: number): [number, number, number] {
  const groups = Math.ceil(invocations / workgroupSize);
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  if (y > MAX_WORKGROUPS_PER_DIM) throw new ValueError(`wgsl: a kernel needs at most ${MAX_WORKGROUPS_PER_DIM ** 2} workgroups, got ${groups}`);
  return [MAX_WORKGROUPS_PER_DIM, y, 1];
}

const WGSL_DTYPES = new Set(["float32", "int32", "uint32", "bool"]);
/** Elements an index may address: i32 index arithmetic. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Whether a kernel can be rendered to WGSL as described in the header: null if so, else why not. */
export function wgslSupport(k: Kernel): string | null {
  for (const b of k.bufs) {
    if (!WGSL_DTYPES.has(b.dtype.name)) return `buffer of ${b.dtype.name} (WGSL storage holds f32, i32, u32; bool as u32)`;
    if (b.size > MAX_ELEMENTS) return `buffer of ${b.size} elements (indices are i32)`;
  }
  if (kernelPoints(k) > MAX_ELEMENTS) return `kernel of ${kernelPoints(k)} points`;
  const bad = kernelTypeError(k);
  if (bad) return bad;
  for (const o of k.ops) {
    if (o.op === "const" && !WGSL_DTYPES.has(o.dtype.name)) return `constant of ${o.dtype.name}`;
    if (o.op === "reduce" && !WGSL_DTYPES.has(o.dtype.name)) return `reduce_${o.kind} of ${o.dtype.name}`;
    if (o.op === "alu") {
      const r = aluRender(o.prim, o.params, o.inDtypes, o.dtype, o.inDtypes.map((_, i) => `a${i}`));
      if (typeof r !== "string") return r.why;
    }
  }
  return null;
}

/** An affine index as WGSL (i32 arithmetic; abstract-int literals). */
export function wgslIndex(ix: KIndex, axes?: readonly number[]): string {
  const terms: string[] = [];
  for (const d of axes ?? ix.strides.map((_, d) => d)) {
    const s = ix.strides[d];
    if (s === 0) continue;
    terms.push(s === 1 ? `i${d}` : s === -1 ? `-i${d}` : `i${d} * ${s}`);
  }
  if (ix.offset !== 0 || terms.length === 0) terms.unshift(String(ix.offset));
  return terms.join(" + ").replace(/\+ -/g, "- ");
}

function loadExpr(d: DType, raw: string): string {
  return d.isBool ? `(${raw} != 0u)` : raw;
}

function storeExpr(d: DType, v: string): string {
  return d.isBool ? `select(0u, 1u, ${v})` : v;
}

/** Whether the kernel's results equal the CPU's bit for bit on IEEE hardware without FMA contraction or flushing. */
function isBitExact(k: Kernel): boolean {
  return k.ops.every((o) => {
    if (o.op === "reduce") return !(o.dtype.isFloat && (o.kind === "sum" || o.kind === "prod"));
    if (o.op !== "alu") return true;
    if (o.prim === "div" && o.dtype.isFloat) return false;
    if (o.prim === "sqrt" || o.prim in F32_MATH) return false;
    if (o.prim === "convert_element_type" && o.dtype.isFloat && !o.inDtypes[0].isFloat && !o.inDtypes[0].isBool) return false;
    return true;
  });
}

/** The WGSL compute shader of a kernel (which `wgslSupport` accepts; others throw). */
export function generateWgsl(k: Kernel, opts: WgslOptions = {}): WgslKernel {
  const why = wgslSupport(k);
  if (why) throw new ValueError(`generateWgsl: kernel ${k.name} cannot be rendered to WGSL, got ${why}`);
  const wg = opts.workgroupSize ?? 64;
  if (!Number.isInteger(wg) || wg < 1 || wg > 1024) throw new ValueError(`generateWgsl: workgroupSize must be an integer in [1, 1024], got ${wg}`);
  const ops = k.ops;
  const red = ops.findIndex((o) => o.op === "reduce");
  const allAxes = k.shape.map((_, d) => d);
  const kept = red < 0 ? allAxes : allAxes.filter((d) => !k.reduced[d]);
  const folded = red < 0 ? [] : allAxes.filter((d) => k.reduced[d]);
  const invocations = kept.reduce((a, d) => a * k.shape[d], 1);

  // Ops that depend on the REDUCE result (the epilogue) run after the folded loops.
  const { post } = reducePhases(ops);
  const depth = opDepths(ops, folded, () => true, 0);

  const helpers = new Set<string>();
  const body: string[] = [];
  const val = (i: number): string => {
    const o = ops[i];
    return o.op === "const" ? wgslLiteral(o.dtype, o.value) : `v${i}`;
  };
  const emit = (i: number, ind: string): void => {
    const o = ops[i];
    switch (o.op) {
      case "const":
        return;
      case "load":
        body.push(`${ind}let v${i} = ${loadExpr(o.dtype, `b${o.buf}[${wgslIndex(o.index)}]`)};`);
        return;
      case "alu": {
        const r = aluRender(o.prim, o.params, o.inDtypes, o.dtype, o.args.map(val), helpers);
        if (typeof r !== "string") throw new ValueError(`generateWgsl: ${r.why}`);
        body.push(`${ind}let v${i}: ${wgslValueType(o.dtype)} = ${r};`);
        return;
      }
      case "reduce":
        // A Kahan sum ends with its last compensation applied (comp holds the lost low part, negated).
        body.push(`${ind}let v${i} = ${o.kind === "sum" && o.dtype.isFloat ? "acc - comp" : "acc"};`);
        return;
      case "store":
        body.push(`${ind}b${o.buf}[${wgslIndex(o.index)}] = ${storeExpr(o.dtype, val(o.src))};`);
        return;
    }
  };

  // Linear invocation id -> kept loop indices (row-major, extents baked in).
  body.push(`  let p = gid.x + gid.y * (nwg.x * ${wg}u);`);
  body.push(`  if (p >= ${invocations}u) { return; }`);
  let stride = 1;
  const decomp: string[] = [];
  for (let j = kept.length - 1; j >= 0; j--) {
    const d = kept[j];
    const q = stride === 1 ? "p" : `(p / ${stride}u)`;
    decomp.unshift(`  let i${d} = i32(${j === 0 ? q : `${q} % ${k.shape[d]}u`});`);
    stride *= k.shape[d];
  }
  body.push(...decomp);

  if (red < 0) {
    ops.forEach((_, i) => emit(i, "  "));
  } else {
    const r = ops[red] as Extract<KOp, { op: "reduce" }>;
    const t = wgslValueType(r.dtype);
    const kahan = r.kind === "sum" && r.dtype.isFloat;
    body.push(`  var acc: ${t} = ${wgslLiteral(r.dtype, reduceInit(r.kind, r.dtype))};`);
    if (kahan) {
      // `opaque` is 0 at run time (dispatchSize always launches z = 1) but unknown to the shader
      // compiler: passing the new sum through it keeps (t - acc) - y from being simplified to 0,
      // which lavapipe does to a plain Kahan sum (measured: the result equalled the naive sum).
      body.push(`  let opaque = nwg.z - 1u;`, `  var comp: f32 = 0.0f;`);
    }
    ops.forEach((_, i) => depth[i] === 0 && !post[i] && emit(i, "  "));
    const rec = (lvl: number, ind: string): void => {
      if (lvl < folded.length) {
        const a = folded[lvl];
        body.push(`${ind}for (var i${a}: i32 = 0; i${a} < ${k.shape[a]}; i${a}++) {`);
        ops.forEach((_, i) => depth[i] === lvl + 1 && !post[i] && emit(i, ind + "  "));
        rec(lvl + 1, ind + "  ");
        body.push(`${ind}}`);
      } else body.push(...reduceStep(r.kind, r.dtype, val(r.src), helpers).map((s) => ind + s));
    };
    rec(0, "  ");
    // The epilogue: the REDUCE's value, then what uses it, once per kept point.
    emit(red, "  ");
    ops.forEach((_, i) => post[i] && i !== red && emit(i, "  "));
  }

  const bindings: WgslBinding[] = k.bufs.map((b, i) => ({
    binding: i,
    buf: i,
    role: b.role,
    access: b.role === "out" ? "read_write" : "read",
    dtype: b.dtype,
    storage: wgslStorageType(b.dtype),
    elements: b.size,
  }));
  // Non-finite constants (wgslLiteral) call p_f32bits, in the body or in a helper.
  if ([...body, ...[...helpers].map((h) => HELPERS.get(h)!)].some((l) => l.includes("p_f32bits("))) helpers.add("f32bits");
  const bitExact = isBitExact(k);
  const header = [
    `// ${k.name}: loops [${k.shape.map((s, d) => (k.reduced[d] ? `${s}r` : String(s))).join(", ")}], ${invocations} invocations of ${red < 0 ? "one point" : "one kept point (folded axes looped)"}`,
    `// ${bitExact ? "bit-exact with the CPU on IEEE float32 hardware (no FMA contraction, no subnormal flushing)" : "not bit-exact with the CPU (float32 division/sqrt/transcendentals or an f32 reduction): within float32 tolerance"}`,
    ...k.bufs.map((b, i) => `//   b${i}: ${b.role} ${b.dtype.short}[${b.size}]${b.dtype.isBool ? " (as u32)" : ""}`),
  ];
  const decls = bindings.map((b) => `@group(0) @binding(${b.binding}) var<storage, ${b.access}> b${b.buf}: array<${b.storage}>;`);
  const fns = [...HELPERS.keys()].filter((h) => helpers.has(h)).map((h) => HELPERS.get(h)!);
  const code = [
    ...header,
    "",
    ...decls,
    "",
    ...(fns.length ? [...fns, ""] : []),
    `@compute @workgroup_size(${wg})`,
    `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
    ...body,
    "}",
    "",
  ].join("\n");
  return { code, entryPoint: "main", bindings, workgroupSize: wg, invocations, dispatch: dispatchSize(invocations, wg), bitExact };
}

/** One fold step of `v` into `acc` (and `comp`, the Kahan compensation of float sums). */
function reduceStep(kind: string, d: DType, v: string, helpers: Set<string>): string[] {
  if (d.isBool) return [kind === "and" || kind === "prod" || kind === "min" ? `acc = acc && ${v};` : `acc = acc || ${v};`];
  const f = d.isFloat;
  switch (kind) {
    case "sum":
      if (!f) return [`acc = acc + ${v};`];
      useHelper(helpers, "isfinite");
      // Kahan; the compensation is dropped once the sum is not finite (inf - inf would make NaN).
      return [`{ let y = bitcast<f32>(bitcast<u32>(${v} - comp) | opaque); let t = bitcast<f32>(bitcast<u32>(acc + y) | opaque); comp = select(0.0f, (t - acc) - y, p_isfinite(t)); acc = t; }`];
    case "prod":
      return [`acc = acc * ${v};`];
    case "max":
    case "min": {
      const cmp = kind === "max" ? "gt" : "lt";
      if (!f) return [`if (${v} ${kind === "max" ? ">" : "<"} acc) { acc = ${v}; }`];
      useHelper(helpers, cmp);
      useHelper(helpers, "isnan");
      return [`if (p_${cmp}(${v}, acc) || p_isnan(${v})) { acc = ${v}; }`];
    }
    case "and":
      return [`acc = acc & ${v};`];
    default:
      return [`acc = acc | ${v};`];
  }
}

export { cast, WgslOps };
