// dot_general in WGSL (the library rule of wgsl-library.ts). Every dot_general is lowered to one
// batched matmul C[b, m, n] = sum_k A[b, m, k] * B[b, k, n] over the operands as they lie in
// memory: each of the groups batch/M/K (lhs) and batch/K/N (rhs) is read through strides baked
// into the shader, so transposed operands (x.T @ y, the weight gradients of an MLP, the layouts
// vmap produces) need no copy. The output is written row-major [batch..., lhs free..., rhs
// free...], which is exactly C's [b, m, n] order.
//
// Index arithmetic: a group's axes (size-1 axes dropped) merge into "runs" where they are
// contiguous with each other (stride[d] == stride[d+1] * size[d+1]); a group of one run is
// `i * stride`, more runs cost a div/mod per run. Contracting pairs are reordered (the sum does
// not care) to give the fewest runs. Non-mergeable M, N and batch groups (e.g. the free axes
// 0 and 2 of an lhs contracted over axis 1) cost a few div/mods once per invocation; a
// non-mergeable K group (contracting over axes that are not adjacent in memory, rare) costs
// them inside the k loop: correct, slower. Nothing is declined for its dimension numbers.
//
// Variants (dotVariants lists every candidate, so a runtime can time them per adapter):
// - "simple": one output per invocation, a plain k loop. For small outputs, matrix-vector
//   products and K = 0: nothing is wasted on partial tiles.
// - "reg8x8" / "reg4x4": each invocation keeps an 8x8 (4x4) tile of C in vec4 registers, no
//   workgroup memory and no barriers. Best on llvmpipe/lavapipe, where a barrier is very
//   expensive and each SIMD lane is one invocation (shared/webgpu-node.md section 4d). Rows of A
//   and columns of B past the edge are read clamped (finite, never stored); B is read as vec4
//   when its rows are contiguous and 16-byte aligned, A as vec4 along m likewise (x.T @ y); when
//   both are contiguous along k instead (x @ y.T), both are read as vec4 along k into dot products.
// - "smem": the classic tiled kernel for GPUs: 256 invocations cooperatively stage a 64x16
//   slab of A and a 16x64 slab of B in workgroup memory (8 KiB), each invocation accumulates a
//   4x4 strided sub-tile (conflict-free reads, coalesced stores). Zero-filled at the edges.
// Choice (chooseDotVariant): outputs < 4096 or min(M, N) < 8 -> simple; else a known hardware
// adapter (caps.software === false) -> smem when it fits the caps; else reg8x8 (reg4x4 when
// M or N < 32, where 8x8 tiles would be mostly edge). The note of the call says which and why.
// Measured on lavapipe (ad hoc, f32 square matmuls, best of 2-6 interleaved runs on the 2-core
// VM while other jobs kept its load average at 6-9, so absolute numbers are low and noisy):
// reg8x8 1.8-3.9 / 1.9-2.8 (5.6 once, quieter) / 2.2-2.7 GFLOP/s at 256 / 512 / 1024 (x.T @ y
// 2.2-6.3, x @ y.T 1.4-3.9), reg4x4 1.4-4.2, smem 0.5-0.9, simple 0.3-0.5 (5-8x below reg8x8).
//
// Numerics: float32 accumulates in f32 in k order (the CPU accumulates in float64 and rounds
// once, so results differ by a few ulps times sqrt(K); a compiler may also contract into FMA).
// int32/uint32 wrap exactly as the CPU's Math.imul loop. bool is OR of ANDs (the CPU's nonzero
// count). Integer or bool operands with a wider preferred_element_type are converted at load
// (int -> f32 rounds each operand, then sums in f32). 8/16-bit and float-to-int are declined.

import { ShapedArray } from "../../core/aval";
import { DType } from "../../core/dtype";
import { stridesOf } from "../../core/shape";
import { DotGeneralParams } from "../../primitives/contraction";
import { WgslBinding, WgslKernel, dispatchSize } from "./codegen-wgsl";
import { AdapterCaps, WgslCall, registerWgslRule } from "./wgsl-library";

/** AdapterCaps plus what the dot rule can use if the runtime knows it. */
export interface DotCaps extends AdapterCaps {
  /**
   * A software rasterizer (adapter.info.isFallbackAdapter, or architecture "software", as
   * lavapipe/llvmpipe): barriers are expensive, register tiles win. Unknown (undefined) is
   * treated as software for the choice, because that is the adapter the variants were measured on.
   */
  software?: boolean;
}

type Scalar = "f32" | "i32" | "u32";

/** A run of memory-contiguous axes: `size` indices `stride` elements apart. */
interface Run {
  size: number;
  stride: number;
}

/** One operand as a strided [batch, outer, K] array (outer = M for lhs, N for rhs). */
interface OperandView {
  batch: Run[];
  outer: Run[];
  k: Run[];
  elements: number;
}

/** A dot_general as a strided batched matmul. */
export interface DotPlan {
  batch: number;
  M: number;
  N: number;
  K: number;
  a: OperandView;
  b: OperandView;
  /** WGSL element type of the operands' storage (bool as u32). */
  inType: Scalar;
  /** Accumulation and output type. */
  accType: Scalar;
  /** "sum": acc += a * b; "or": acc |= a & b (bool). */
  mode: "sum" | "or";
  inDtype: DType;
  outDtype: DType;
}

/** One candidate lowering. */
export interface DotVariant {
  name: string;
  call: WgslCall;
}

const scalarOf = (d: DType): Scalar | null =>
  d.name === "float32" ? "f32" : d.name === "int32" ? "i32" : d.name === "uint32" || d.isBool ? "u32" : null;

function runsOf(shape: readonly number[], dims: readonly number[]): Run[] {
  const st = stridesOf(shape);
  const out: Run[] = [];
  for (const d of dims) {
    if (shape[d] === 1) continue;
    const last = out[out.length - 1];
    if (last && last.stride === st[d] * shape[d]) {
      last.size *= shape[d];
      last.stride = st[d];
    } else out.push({ size: shape[d], stride: st[d] });
  }
  return out;
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** The batched-matmul view of a dot_general, or why WGSL cannot do it. */
export function planDot(ins: readonly ShapedArray[], outs: readonly ShapedArray[], params: DotGeneralParams, caps: AdapterCaps): DotPlan | { why: string } {
  const [a, b] = ins;
  const out = outs[0];
  const inType = scalarOf(a.dtype);
  const accType = scalarOf(out.dtype);
  if (!inType || a.dtype !== b.dtype) return { why: `operands of ${a.dtype.name} and ${b.dtype.name} (WGSL storage holds f32, i32, u32, bool as u32)` };
  if (!accType) return { why: `result of ${out.dtype.name} (WGSL storage holds f32, i32, u32, bool as u32)` };
  if (out.dtype !== a.dtype) {
    // Widening conversions at load; the CPU's float64 sum of float operands cast to int or bool is not mirrored.
    const ok = (a.dtype.isBool && !out.dtype.isBool) || (a.dtype.isInt && (out.dtype.isFloat || out.dtype.isInt));
    if (!ok) return { why: `preferred_element_type ${out.dtype.name} for ${a.dtype.name} operands` };
  }
  for (const [what, x] of [["lhs", a], ["rhs", b], ["result", out]] as const) {
    if (x.size > 2 ** 31 - 1) return { why: `${what} of ${x.size} elements (indices are 32-bit)` };
    if (x.size * 4 > caps.maxStorageBinding) return { why: `${what} of ${x.size * 4} bytes, over maxStorageBindingSize ${caps.maxStorageBinding}` };
  }
  const [[ac, bc], [ab, bb]] = params.dimension_numbers;
  const af = a.shape.map((_, i) => i).filter((i) => !ac.includes(i) && !ab.includes(i));
  const bf = b.shape.map((_, i) => i).filter((i) => !bc.includes(i) && !bb.includes(i));
  // Contracting pairs in the order that merges best (fewest runs over both operands).
  const pairs = ac.map((d, i) => [d, bc[i]]);
  const orders = [pairs, [...pairs].sort((x, y) => x[0] - y[0]), [...pairs].sort((x, y) => x[1] - y[1])];
  const cost = (o: number[][]) => runsOf(a.shape, o.map((p) => p[0])).length + runsOf(b.shape, o.map((p) => p[1])).length;
  const kOrder = orders.reduce((best, o) => (cost(o) < cost(best) ? o : best));
  return {
    batch: prod(ab.map((d) => a.shape[d])),
    M: prod(af.map((d) => a.shape[d])),
    N: prod(bf.map((d) => b.shape[d])),
    K: prod(ac.map((d) => a.shape[d])),
    a: { batch: runsOf(a.shape, ab), outer: runsOf(a.shape, af), k: runsOf(a.shape, kOrder.map((p) => p[0])), elements: a.size },
    b: { batch: runsOf(b.shape, bb), outer: runsOf(b.shape, bf), k: runsOf(b.shape, kOrder.map((p) => p[1])), elements: b.size },
    inType,
    accType,
    mode: out.dtype.isBool ? "or" : "sum",
    inDtype: a.dtype,
    outDtype: out.dtype,
  };
}

// ---------------------------------------------------------------------------------------------
// Text pieces shared by the variants.

const u = (n: number): string => `${n}u`;

/** The element offset of linear group index `i` (a u32 expression, in range) through `runs`. */
function offsetExpr(runs: readonly Run[], i: string): string {
  if (!runs.length) return "0u";
  const terms: string[] = [];
  let inner = 1;
  for (let j = runs.length - 1; j >= 0; j--) {
    const { size, stride } = runs[j];
    let e = inner === 1 ? i : `(${i} / ${u(inner)})`;
    if (j > 0) e = `(${e} % ${u(size)})`;
    terms.unshift(stride === 1 ? e : `${e} * ${u(stride)}`);
    inner *= size;
  }
  return terms.join(" + ");
}

/** `p` split row-major over `dims` (names and sizes), as `let` lines; size-1 axes are 0u (size 0: never reached). */
function decompose(p: string, dims: [string, number][]): string[] {
  const lines: string[] = [];
  let inner = 1;
  for (let j = dims.length - 1; j >= 0; j--) {
    const [name, size] = dims[j];
    const q = inner === 1 ? p : `(${p} / ${u(inner)})`;
    lines.unshift(`  let ${name} = ${size <= 1 ? "0u" : j === 0 ? q : `${q} % ${u(size)}`};`);
    inner *= size;
  }
  return lines;
}

/** Whether every stride of the runs is a multiple of 4 (a vec4 view stays aligned). */
const aligned4 = (runs: readonly Run[]): boolean => runs.every((r) => r.stride % 4 === 0);

/** Whether the operand's outer axis (M of lhs, N of rhs) is contiguous, a multiple of 4, and 16-byte aligned in every row and batch. */
function outerVec4(v: OperandView, size: number): boolean {
  return size % 4 === 0 && v.outer.length === 1 && v.outer[0].stride === 1 && aligned4(v.k) && aligned4(v.batch);
}

/** Whether the operand is contiguous along k with K % 4 == 0 and every row and batch 16-byte aligned. */
function kVec4(v: OperandView, K: number): boolean {
  return K % 4 === 0 && K > 0 && v.k.length === 1 && v.k[0].stride === 1 && aligned4(v.outer) && aligned4(v.batch);
}

/** Converts a loaded operand value (scalar or vec4) to the accumulation type. */
function conv(p: DotPlan, x: string, vec: boolean): string {
  const { inType, accType } = p;
  if (inType === accType) return x;
  const ty = vec ? `vec4<${accType}>` : accType;
  return accType === "f32" ? `${ty}(${x})` : `bitcast<${ty}>(${x})`;
}

/** acc <- acc (+) a (*) b, where `b` may be a vec4 and `a` a scalar. */
function mac(p: DotPlan, acc: string, a: string, b: string, bVec: boolean): string {
  if (p.mode === "or") return `${acc} = ${acc} | (${b} & ${bVec ? `vec4<u32>(${a})` : a});`;
  return `${acc} = ${acc} + ${b} * ${a};`;
}

/** The accumulation type's zero, scalar or vec4. */
function zero(p: DotPlan, vec: boolean): string {
  return vec ? `vec4<${p.accType}>()` : p.accType === "f32" ? "0.0f" : p.accType === "i32" ? "0i" : "0u";
}

function bindings(p: DotPlan, outElems: number): WgslBinding[] {
  const mk = (binding: number, role: "in" | "out", dtype: DType, elements: number, storage: Scalar): WgslBinding => ({
    binding, buf: binding, role, access: role === "out" ? "read_write" : "read", dtype, storage, elements,
  });
  return [mk(0, "out", p.outDtype, outElems, p.accType), mk(1, "in", p.inDtype, p.a.elements, p.inType), mk(2, "in", p.inDtype, p.b.elements, p.inType)];
}

function decls(p: DotPlan, aVec: boolean, bVec: boolean): string[] {
  const arr = (v: boolean) => (v ? `array<vec4<${p.inType}>>` : `array<${p.inType}>`);
  return [
    `@group(0) @binding(0) var<storage, read_write> b0: array<${p.accType}>;`,
    `@group(0) @binding(1) var<storage, read> b1: ${arr(aVec)};`,
    `@group(0) @binding(2) var<storage, read> b2: ${arr(bVec)};`,
  ];
}

function header(name: string, p: DotPlan, what: string): string[] {
  const runs = (rs: Run[]) => `[${rs.map((r) => `${r.size}@${r.stride}`).join(" ")}]`;
  return [
    `// dot_general ${name}: C[${p.batch}, ${p.M}, ${p.N}] = sum_k A[b, m, k] * B[b, k, n], K = ${p.K}, ${p.inType} -> ${p.accType}${p.mode === "or" ? " (bool: or of ands)" : ""}`,
    `// ${what}`,
    `//   b0: out ${p.outDtype.short}[${p.batch * p.M * p.N}]`,
    `//   b1: lhs ${p.inDtype.short}[${p.a.elements}] batch ${runs(p.a.batch)} m ${runs(p.a.outer)} k ${runs(p.a.k)} (size@stride)`,
    `//   b2: rhs ${p.inDtype.short}[${p.b.elements}] batch ${runs(p.b.batch)} k ${runs(p.b.k)} n ${runs(p.b.outer)}`,
  ];
}

const GLOBAL_ID = "@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>";

/** A variant's shader text: header comments, declarations, and the entry point around `body`. */
function shader(head: string[], decl: string[], wg: number, builtins: string, body: string[]): string[] {
  return [...head, "", ...decl, "", `@compute @workgroup_size(${wg})`, `fn main(${builtins}) {`, ...body, "}"];
}

function kernel(p: DotPlan, code: string[], wg: number, invocations: number, groups?: number): WgslKernel {
  const total = p.batch * p.M * p.N;
  return {
    code: code.join("\n") + "\n",
    entryPoint: "main",
    bindings: bindings(p, total),
    workgroupSize: wg,
    invocations,
    // An empty output needs no pass: dispatch 0 (the runtime skips it).
    dispatch: total === 0 ? [0, 1, 1] : dispatchSize(groups !== undefined ? groups * wg : invocations, wg),
    bitExact: p.accType !== "f32",
  };
}

// ---------------------------------------------------------------------------------------------
// Variants.

/** One output per invocation; p -> (b, m, n) row-major. */
export function simpleKernel(p: DotPlan): WgslKernel {
  const total = p.batch * p.M * p.N;
  const kA = offsetExpr(p.a.k, "k");
  const kB = offsetExpr(p.b.k, "k");
  const body = [
    `  let p = gid.x + gid.y * (nwg.x * 64u);`,
    `  if (p >= ${u(total)}) { return; }`,
    ...decompose("p", [["bi", p.batch], ["m", p.M], ["n", p.N]]),
    `  let ao = ${offsetExpr(p.a.batch, "bi")} + ${offsetExpr(p.a.outer, "m")};`,
    `  let bo = ${offsetExpr(p.b.batch, "bi")} + ${offsetExpr(p.b.outer, "n")};`,
    `  var acc: ${p.accType} = ${zero(p, false)};`,
    `  for (var k = 0u; k < ${u(p.K)}; k++) {`,
    `    ${mac(p, "acc", conv(p, `b1[ao + ${kA}]`, false), conv(p, `b2[bo + ${kB}]`, false), false)}`,
    `  }`,
    `  b0[p] = acc;`,
  ];
  const code = shader(header("simple", p, `one output per invocation, ${total} invocations`), decls(p, false, false), 64, GLOBAL_ID, body);
  return kernel(p, code, 64, total);
}

/** Clamped row/column start offsets (`let ${name}${i}`): element offsets, or vec4 units when `vec4`. */
function clampedStarts(body: string[], name: string, base: string, runs: readonly Run[], first: string, count: number, size: number, vec4: boolean): void {
  for (let i = 0; i < count; i++) {
    const off = `${base} + ${offsetExpr(runs, `min(${first} + ${u(i)}, ${u(size - 1)})`)}`;
    body.push(`  let ${name}${i} = ${vec4 ? `(${off}) / 4u` : off};`);
  }
}

/**
 * The k loop of the register tile as outer products: per k, B's row k (TN values as TN/4 vec4,
 * one vec4 load each when rhs is contiguous along n) times each of A's TM values of column k
 * (vec4 loads of 4 rows when lhs is contiguous along m). Returns the accumulator of (r, col).
 */
function outerProductLoop(body: string[], p: DotPlan, TM: number, TN: number, aVec: boolean, bVec: boolean): (r: number, col: number) => string {
  // Vec4 groups start at m0 + 4g (n0 + 4g), clamped to the last group: M (N) is a multiple of 4 there.
  if (aVec) for (let g = 0; g < TM / 4; g++) body.push(`  let ar${g} = (ab + min(m0 + ${u(4 * g)}, ${u(p.M - 4)})) / 4u;`);
  else clampedStarts(body, "ar", "ab", p.a.outer, "m0", TM, p.M, false);
  if (bVec) for (let g = 0; g < TN / 4; g++) body.push(`  let bc${g} = (bb + min(n0 + ${u(4 * g)}, ${u(p.N - 4)})) / 4u;`);
  else clampedStarts(body, "bc", "bb", p.b.outer, "n0", TN, p.N, false);
  for (let r = 0; r < TM; r++) for (let c = 0; c < TN / 4; c++) body.push(`  var c${r}_${c} = ${zero(p, true)};`);
  const kA = offsetExpr(p.a.k, "k");
  const kB = offsetExpr(p.b.k, "k");
  body.push(`  for (var k = 0u; k < ${u(p.K)}; k++) {`, `    let ka = ${aVec ? `(${kA}) / 4u` : kA};`, `    let kb = ${bVec ? `(${kB}) / 4u` : kB};`);
  for (let c = 0; c < TN / 4; c++) {
    const v = bVec ? `b2[bc${c} + kb]` : `vec4<${p.inType}>(${[0, 1, 2, 3].map((j) => `b2[bc${4 * c + j} + kb]`).join(", ")})`;
    body.push(`    let x${c} = ${conv(p, v, true)};`);
  }
  if (aVec) for (let g = 0; g < TM / 4; g++) body.push(`    let y${g} = ${conv(p, `b1[ar${g} + ka]`, true)};`);
  for (let r = 0; r < TM; r++) {
    if (!aVec) body.push(`    let a${r} = ${conv(p, `b1[ar${r} + ka]`, false)};`);
    const a = aVec ? `y${r >> 2}.${"xyzw"[r & 3]}` : `a${r}`;
    for (let c = 0; c < TN / 4; c++) body.push(`    ${mac(p, `c${r}_${c}`, a, `x${c}`, true)}`);
  }
  body.push(`  }`);
  return (r, col) => `c${r}_${col >> 2}.${"xyzw"[col & 3]}`;
}

/**
 * The k loop of the register tile as dot products, for operands both contiguous along k (x @ y.T,
 * where B's columns are rows of memory): per 4 k, one vec4 of each of A's TM rows and B's TN
 * columns, and TM x TN scalar accumulators.
 */
function dotProductLoop(body: string[], p: DotPlan, TM: number, TN: number): (r: number, col: number) => string {
  clampedStarts(body, "ar", "ab", p.a.outer, "m0", TM, p.M, true);
  clampedStarts(body, "bc", "bb", p.b.outer, "n0", TN, p.N, true);
  for (let r = 0; r < TM; r++) for (let c = 0; c < TN; c++) body.push(`  var c${r}_${c} = ${zero(p, false)};`);
  body.push(`  for (var kq = 0u; kq < ${u(p.K / 4)}; kq++) {`);
  for (let r = 0; r < TM; r++) body.push(`    let y${r} = ${conv(p, `b1[ar${r} + kq]`, true)};`);
  for (let c = 0; c < TN; c++) {
    body.push(`    let x${c} = ${conv(p, `b2[bc${c} + kq]`, true)};`);
    for (let r = 0; r < TM; r++) {
      const acc = `c${r}_${c}`;
      body.push(p.mode === "or" ? `    ${acc} = ${acc} | u32(any((y${r} & x${c}) != vec4<u32>()));` : `    ${acc} = ${acc} + dot(y${r}, x${c});`);
    }
  }
  body.push(`  }`);
  return (r, col) => `c${r}_${col}`;
}

/**
 * TM x TN outputs per invocation (multiples of 4), no workgroup memory. Invocations are numbered
 * over tiles with n fastest (neighbouring lanes share A's rows; m fastest measured the same on
 * lavapipe). Rows and columns past the edges are read clamped (finite, never stored) and the
 * stores are guarded. Loads: outer products with vec4 rows of B (and vec4 columns of A when lhs
 * is contiguous along m), or dot products when both operands are contiguous along k and rhs is
 * not along n. (A vec4-along-k read of A beside vec4 rows of B, k unrolled by 4, measured about
 * 2x slower on lavapipe at 256 and 512 and was dropped.)
 */
export function regKernel(p: DotPlan, TM: number, TN: number): WgslKernel {
  const bVec = outerVec4(p.b, p.N);
  const dotK = !bVec && kVec4(p.a, p.K) && kVec4(p.b, p.K);
  const aVec = !dotK && outerVec4(p.a, p.M);
  const tilesM = Math.ceil(p.M / TM);
  const tilesN = Math.ceil(p.N / TN);
  const total = p.batch * tilesM * tilesN;
  const body: string[] = [
    `  let p = gid.x + gid.y * (nwg.x * 64u);`,
    `  if (p >= ${u(total)}) { return; }`,
    ...decompose("p", [["bi", p.batch], ["tm", tilesM], ["tn", tilesN]]),
    `  let m0 = tm * ${u(TM)};`,
    `  let n0 = tn * ${u(TN)};`,
    `  let ab = ${offsetExpr(p.a.batch, "bi")};`,
    `  let bb = ${offsetExpr(p.b.batch, "bi")};`,
  ];
  const acc = dotK ? dotProductLoop(body, p, TM, TN) : outerProductLoop(body, p, TM, TN, aVec, bVec);
  // Stores, guarded at the edges (C is contiguous [b, m, n]).
  body.push(`  let o = bi * ${u(p.M * p.N)} + m0 * ${u(p.N)} + n0;`);
  for (let r = 0; r < TM; r++) {
    const row: string[] = [];
    for (let col = 0; col < TN; col++) {
      const st = `b0[o + ${u(r * p.N + col)}] = ${acc(r, col)};`;
      row.push(p.N % TN === 0 || col === 0 ? st : `if (n0 + ${u(col)} < ${u(p.N)}) { ${st} }`);
    }
    if (p.M % TM === 0 || r === 0) body.push(...row.map((s) => "  " + s));
    else body.push(`  if (m0 + ${u(r)} < ${u(p.M)}) {`, ...row.map((s) => "    " + s), `  }`);
  }
  const loads = dotK ? "lhs and rhs vec4 along k (dot products)" : `lhs ${aVec ? "vec4 along m" : "scalar"}, rhs ${bVec ? "vec4 along n" : "scalar"}`;
  const what = `${TM}x${TN} register tile per invocation, ${total} invocations, no workgroup memory; ${loads}`;
  const code = shader(header(`reg${TM}x${TN}`, p, what), decls(p, aVec || dotK, bVec || dotK), 64, GLOBAL_ID, body);
  return kernel(p, code, 64, total);
}

/** Invocations and workgroup memory of the smem variant: 16x16 invocations, two 16x64 slabs. */
const SMEM_WG = 256;
const SMEM_BYTES = 2 * 16 * 64 * 4;

/**
 * The shared-memory tiled kernel: a workgroup of 16x16 invocations computes a 64x64 block of C;
 * per 16-wide k slab it stages A[64 x 16] and B[16 x 64] (converted to the accumulation type,
 * zero past the edges) in workgroup memory, then each invocation accumulates rows ty + 16i and
 * columns tx + 16j (i, j < 4). Staging reads follow whichever of each operand's strides is 1.
 */
export function smemKernel(p: DotPlan): WgslKernel {
  const blocksM = Math.ceil(p.M / 64);
  const blocksN = Math.ceil(p.N / 64);
  const groups = p.batch * blocksM * blocksN;
  const aK1 = p.a.k.length === 1 && p.a.k[0].stride === 1;
  const bN1 = p.b.outer.length === 1 && p.b.outer[0].stride === 1;
  const kA = (k: string) => offsetExpr(p.a.k, k);
  const kB = (k: string) => offsetExpr(p.b.k, k);
  const body: string[] = [
    `  let w = wid.x + wid.y * nwg.x;`,
    `  if (w >= ${u(groups)}) { return; }`,
    ...decompose("w", [["bi", p.batch], ["gm", blocksM], ["gn", blocksN]]),
    `  let m0 = gm * 64u;`,
    `  let n0 = gn * 64u;`,
    `  let tx = li % 16u;`,
    `  let ty = li / 16u;`,
    `  let ab = ${offsetExpr(p.a.batch, "bi")};`,
    `  let bb = ${offsetExpr(p.b.batch, "bi")};`,
  ];
  // Staging: element e = li + 256 i of each slab; along k first where that is the contiguous axis.
  for (let i = 0; i < 4; i++) {
    const [r, kk] = aK1 ? [`li / 16u + ${u(16 * i)}`, `li % 16u`] : [`li % 64u`, `li / 64u + ${u(4 * i)}`];
    body.push(`  let ra${i} = ${r};`, `  let ka${i} = ${kk};`, `  let va${i} = m0 + ra${i} < ${u(p.M)};`);
    body.push(`  let ao${i} = ab + ${offsetExpr(p.a.outer, `min(m0 + ra${i}, ${u(p.M - 1)})`)};`);
    const [c, kb] = bN1 ? [`li % 64u`, `li / 64u + ${u(4 * i)}`] : [`li / 16u + ${u(16 * i)}`, `li % 16u`];
    body.push(`  let cb${i} = ${c};`, `  let kb${i} = ${kb};`, `  let vb${i} = n0 + cb${i} < ${u(p.N)};`);
    body.push(`  let bo${i} = bb + ${offsetExpr(p.b.outer, `min(n0 + cb${i}, ${u(p.N - 1)})`)};`);
  }
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) body.push(`  var c${i}_${j} = ${zero(p, false)};`);
  body.push(`  for (var k0 = 0u; k0 < ${u(p.K)}; k0 += 16u) {`);
  for (let i = 0; i < 4; i++) {
    body.push(`    let kx${i} = k0 + ka${i};`);
    body.push(`    sa[ka${i} * 64u + ra${i}] = select(${zero(p, false)}, ${conv(p, `b1[ao${i} + ${kA(`min(kx${i}, ${u(p.K - 1)})`)}]`, false)}, va${i} && kx${i} < ${u(p.K)});`);
    body.push(`    let ky${i} = k0 + kb${i};`);
    body.push(`    sb[kb${i} * 64u + cb${i}] = select(${zero(p, false)}, ${conv(p, `b2[bo${i} + ${kB(`min(ky${i}, ${u(p.K - 1)})`)}]`, false)}, vb${i} && ky${i} < ${u(p.K)});`);
  }
  body.push(`    workgroupBarrier();`, `    for (var kk = 0u; kk < 16u; kk++) {`);
  for (let i = 0; i < 4; i++) body.push(`      let a${i} = sa[kk * 64u + ty + ${u(16 * i)}];`);
  for (let j = 0; j < 4; j++) body.push(`      let x${j} = sb[kk * 64u + tx + ${u(16 * j)}];`);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) body.push(`      ${mac(p, `c${i}_${j}`, `a${i}`, `x${j}`, false)}`);
  body.push(`    }`, `    workgroupBarrier();`, `  }`);
  body.push(`  let o = bi * ${u(p.M * p.N)};`);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++)
      body.push(`  if (m0 + ty + ${u(16 * i)} < ${u(p.M)} && n0 + tx + ${u(16 * j)} < ${u(p.N)}) { b0[o + (m0 + ty + ${u(16 * i)}) * ${u(p.N)} + n0 + tx + ${u(16 * j)}] = c${i}_${j}; }`);
  const what = `64x64 block per workgroup of 16x16 invocations (4x4 each), k slabs of 16 in workgroup memory (${SMEM_BYTES} bytes), ${groups} workgroups`;
  const decl = [...decls(p, false, false), `var<workgroup> sa: array<${p.accType}, 1024>;`, `var<workgroup> sb: array<${p.accType}, 1024>;`];
  const code = shader(header("smem", p, what), decl, SMEM_WG, "@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nwg: vec3<u32>", body);
  return kernel(p, code, SMEM_WG, groups * SMEM_WG, groups);
}

// ---------------------------------------------------------------------------------------------
// Choice and registration.

/** The variants: how to generate each, and whether an adapter can run it (all can run simple and reg). */
const VARIANTS: Record<string, { make: (p: DotPlan) => WgslKernel; fits?: (c: AdapterCaps) => boolean }> = {
  simple: { make: simpleKernel },
  reg8x8: { make: (p) => regKernel(p, 8, 8) },
  reg4x4: { make: (p) => regKernel(p, 4, 4) },
  smem: { make: smemKernel, fits: (c) => c.maxInvocations >= SMEM_WG && c.maxWorkgroupStorage >= SMEM_BYTES },
};

/** Outputs below which the tiled variants would leave most of a GPU idle (fewer than 64 8x8 tiles). */
const SMALL_OUTPUT = 4096;

/**
 * The variant the rule uses, and why: a documented heuristic over the shape and the caps
 * (see the file header). Tiled variants need M, N, K >= 1.
 */
export function chooseDotVariant(p: DotPlan, caps: DotCaps): { name: string; why: string } {
  const total = p.batch * p.M * p.N;
  if (total === 0) return { name: "simple", why: "empty output (no pass is dispatched)" };
  if (p.K === 0) return { name: "simple", why: "K = 0 (writes zeros)" };
  if (Math.min(p.M, p.N) < 8) return { name: "simple", why: `matrix-vector shaped (min(M, N) = ${Math.min(p.M, p.N)} < 8)` };
  // A software adapter has a few dozen lanes, not thousands: a small output with a long K
  // (an MLP's 32x728 @ 728x100) still fills it with 4x4 tiles, and each tile reuses its loads.
  const fewLanes = caps.software === true && total >= 1024 && p.K >= 64;
  if (total < SMALL_OUTPUT && !fewLanes) return { name: "simple", why: `small output (${total} < ${SMALL_OUTPUT} elements)` };
  if (total < SMALL_OUTPUT) return { name: "reg4x4", why: `software adapter: small output (${total} elements) with K = ${p.K}, 4x4 register tiles` };
  if (caps.software === false && VARIANTS.smem.fits!(caps)) return { name: "smem", why: "hardware adapter: shared-memory tiles" };
  const why = caps.software === undefined ? "adapter kind unknown: register tiles (measured best on lavapipe)" : "software adapter: register tiles, no barriers";
  if (Math.min(p.M, p.N) < 32) return { name: "reg4x4", why: `${why}; 4x4 since min(M, N) < 32` };
  return { name: "reg8x8", why };
}

function note(p: DotPlan, name: string, why: string): string {
  return `dot_general as batched matmul [batch ${p.batch}] ${p.M}x${p.K} @ ${p.K}x${p.N} (${p.inDtype.name} -> ${p.outDtype.name}): ${name}, ${why}`;
}

/** Names of the variants dotVariants may return. */
export const DOT_VARIANT_NAMES: readonly string[] = Object.keys(VARIANTS);

const callOf = (p: DotPlan, name: string, why: string): WgslCall => ({ passes: [VARIANTS[name].make(p)], temps: [], note: note(p, name, why) });

/**
 * Every lowering that can run these operands on an adapter with `caps`, named, the rule's
 * choice first, for a runtime that times them per adapter; `{ why }` when WGSL cannot do it at
 * all. Tiled variants are offered only when M, N, K >= 1 and the output is not empty.
 */
export function dotVariants(ins: readonly ShapedArray[], outs: readonly ShapedArray[], params: DotGeneralParams, caps: DotCaps): DotVariant[] | { why: string } {
  const p = planDot(ins, outs, params, caps);
  if ("why" in p) return p;
  const chosen = chooseDotVariant(p, caps);
  const degenerate = p.batch * p.M * p.N === 0 || p.K === 0;
  const others = degenerate ? [] : DOT_VARIANT_NAMES.filter((n) => n !== chosen.name && (VARIANTS[n].fits?.(caps) ?? true));
  return [{ name: chosen.name, call: callOf(p, chosen.name, chosen.why) }, ...others.map((name) => ({ name, call: callOf(p, name, "candidate") }))];
}

/** The dot_general rule (registered): the variant chooseDotVariant picks. */
export function dotGeneralWgsl(ins: readonly ShapedArray[], outs: readonly ShapedArray[], params: DotGeneralParams, caps: AdapterCaps): WgslCall | { why: string } {
  const p = planDot(ins, outs, params, caps);
  if ("why" in p) return p;
  const chosen = chooseDotVariant(p, caps);
  return callOf(p, chosen.name, chosen.why);
}

registerWgslRule<DotGeneralParams>("dot_general", dotGeneralWgsl);
