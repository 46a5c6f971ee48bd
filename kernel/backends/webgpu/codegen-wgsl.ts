// WGSL code generation for the WebGPU backend: pure functions from a kernel (kernel/lower/
// kernel-ir.ts) to the text of compute shaders, their bindings and launch sizes. Nothing here
// touches a device; the runtime compiles the text and dispatches it. `wgslSupport` says
// beforehand whether a kernel can be rendered. This file holds the single-pass generator
// (`generateWgsl`), a vec4 variant of flat elementwise kernels (`generateWgslVec4`) and the op
// rendering both share with the two-pass reductions of wgsl-reduce.ts, whose
// `generateWgslPasses` is what the runtime calls for every fused kernel.
//
// Shape of a shader: one storage buffer binding per kernel buffer (outputs read_write, inputs
// read; bool is stored as u32 because WGSL storage has no bool or u8, so the runtime widens and
// narrows bool arrays on transfer; float16 as array<f16>, 2 bytes per element, with
// `enable f16;`), one invocation per point of the kept axes (every point of an elementwise
// kernel), a bounds check, and the invocation's linear id decomposed into the loop indices with
// the extents baked in as constants. A single-pass reduction's invocation loops over the folded
// axes in row-major order (the order in which the CPU folds each output); wgsl-reduce.ts splits
// big folds over many invocations.
//
// float16 (needs the adapter's shader-f16 feature, AdapterCaps.f16): values are loaded as f32
// (decoded from the bits, so subnormals survive), every op computes in f32 and rounds its result
// to float16 (round to nearest even with integer ops, not WGSL's f32 -> f16 conversion, whose
// rounding direction and overflow WGSL leaves open), as the CPU rounds each op's float64 result
// once. Rounding a correctly rounded f32 result to f16 equals rounding the exact value once
// (24 >= 2 * 11 + 2 bits), so f16 add/sub/mul/convert/compare/max/min are bit-exact with the
// CPU; div, sqrt and the transcendentals are within an f16 ulp (the f32 steps are not correctly
// rounded). bfloat16 is refused: WGSL has no 16-bit integer storage, and passing bfloat16 bit
// patterns through array<f16> would hand the implementation f16 NaNs it may alter.
//
// What is exact (bit-identical to the JS of codegen-js.ts, given IEEE float32 arithmetic; the
// per-primitive rule is wgsl-scalar.ts's wgslAluBitExact, and F16_BIT_EXACT below for float16):
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
// - reductions over floats: the CPU accumulates sums and products in float64 and rounds once;
//   WGSL has no f64. Sums use a compensated (Kahan) f32 sum, its terms passed through a run-time
//   zero so the shader compiler cannot simplify the compensation away (on lavapipe it did; with
//   the guard the results equal a float32 Kahan sum simulated in JS, bit for bit, measured). The
//   error bound versus the CPU is in wgsl-reduce.ts's header (5 * 2^-24 * sum |terms|). An
//   intermediate above float32's range overflows where float64 would not. Products multiply in
//   f32. max/min reductions are exact (NaN sticks, ties keep the first, as on the CPU); integer
//   and bool reductions are exact.
// Measured on Dawn + lavapipe (ad hoc, outside the tests): every shader of the golden programs
// and of softmax, flips, outer-axis sums, conversions, sign/max/floor/sqrt compiles and runs;
// the kernels marked bit-exact matched the CPU's JS bit for bit on random inputs with NaN, +-inf,
// +-0, subnormals and out-of-range values; exp/log/log1p/expm1/logistic differed in about 4% of
// elements by at most 4e-7 relative (the compiler contracts or reorders float32 operations).

import { DType, float32 } from "../../core/dtype";
import { ValueError } from "../../core/errors";
import { f16DecodeTable, numberToF16 } from "../../core/float16";
import { KIndex, KOp, Kernel, kernelPoints, kernelTypeError, opDepths, reducePhases } from "../../lower/kernel-ir";
import { reduceInit } from "../../lower/codegen-js";
import { AdapterCaps, DEFAULT_CAPS } from "./wgsl-library";
import { HELPERS, WgslOps, aluRender, cast, useHelper, wgslAluBitExact, wgslLiteral, wgslStorageType, wgslValueType } from "./wgsl-scalar";

export { wgslLiteral, wgslValueType, wgslStorageType };

/** One binding of a generated shader: buffer `buf` of the call at @group(0) @binding(binding). */
export interface WgslBinding {
  binding: number;
  /** Index into the call's buffers: outputs, then inputs (the kernel's `bufs`), then temps. */
  buf: number;
  role: "in" | "out" | "temp";
  access: "read" | "read_write";
  /** The buffer's dtype (bool arrays travel as u32 elements). */
  dtype: DType;
  /** The element type in WGSL: f32, i32 or u32 (bool -> u32), f16 for float16; vec4 of the 4-byte types in generateWgslVec4's shaders. */
  storage: "f32" | "i32" | "u32" | "f16" | "vec4<f32>" | "vec4<i32>" | "vec4<u32>";
  /** Elements of `dtype` (scalars, also where `storage` is a vec4). */
  elements: number;
  /**
   * Bytes per element in device storage: 4 (absent means 4), or 2 for float16. A buffer needs
   * `storageBytes(dtype, elements)` bytes (rounded up to whole 4-byte words).
   */
  bytesPerElement?: 2 | 4;
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

/** Bytes per element of a dtype in device storage (bool as u32, float16 as f16). */
export function storageElementBytes(d: DType): 2 | 4 {
  return d.name === "float16" ? 2 : 4;
}

/** Bytes a device buffer of `elements` of dtype `d` needs: whole 4-byte words, at least one. */
export function storageBytes(d: DType, elements: number): number {
  return Math.max(4, Math.ceil((elements * storageElementBytes(d)) / 4) * 4);
}

const WGSL_DTYPES = new Set(["float32", "int32", "uint32", "bool"]);
/** Elements an index may address: i32 index arithmetic. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** The dtype a value of dtype `d` is computed in: float16 values live in f32 between rounding steps. */
function computeDtype(d: DType): DType {
  return d.name === "float16" ? float32 : d;
}

/** Why dtype `d` has no WGSL form under `caps`, or null. */
function dtypeWhy(d: DType, caps: AdapterCaps, what: string): string | null {
  if (WGSL_DTYPES.has(d.name)) return null;
  if (d.name === "float16") return caps.f16 ? null : `${what} of float16 needs the adapter feature "shader-f16", which this adapter lacks (caps.f16 is false)`;
  if (d.name === "bfloat16") return `${what} of bfloat16 (WGSL has no 16-bit integer storage, and bfloat16 bits stored as f16 could be altered where they form f16 NaNs)`;
  return `${what} of ${d.name} (WGSL storage holds f32, i32, u32, f16; bool as u32)`;
}

/** Whether a kernel can be rendered to WGSL as described in the header: null if so, else why not. */
export function wgslSupport(k: Kernel, caps: AdapterCaps = DEFAULT_CAPS): string | null {
  for (const b of k.bufs) {
    const why = dtypeWhy(b.dtype, caps, "buffer");
    if (why) return why;
    if (b.size > MAX_ELEMENTS) return `buffer of ${b.size} elements (indices are i32)`;
  }
  if (kernelPoints(k) > MAX_ELEMENTS) return `kernel of ${kernelPoints(k)} points`;
  const bad = kernelTypeError(k);
  if (bad) return bad;
  for (const o of k.ops) {
    const why = o.op === "const" || o.op === "reduce" || o.op === "alu" ? dtypeWhy(o.dtype, caps, o.op === "const" ? "constant" : o.op === "reduce" ? `reduce_${o.kind}` : o.prim) : null;
    if (why) return why;
    if (o.op === "alu") {
      for (const d of o.inDtypes) {
        const w = dtypeWhy(d, caps, `${o.prim} operand`);
        if (w) return w;
      }
      if (F16_REFUSED.has(o.prim) && [o.dtype, ...o.inDtypes].some((d) => d.name === "float16")) return `float16 ${o.prim} (its JS rule steps in float16, not in the float32 the shader computes in)`;
      const r = aluRender(o.prim, o.params, o.inDtypes.map(computeDtype), computeDtype(o.dtype), o.inDtypes.map((_, i) => `a${i}`));
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

// float16 helpers, with integer ops only so that every GPU rounds alike (see the header).
const F16_HELPERS: [string, string, string[]][] = [
  [
    "f16enc",
    // float32 -> float16 bits, round to nearest even (core/float16.ts's numberToF16): NaN -> quiet
    // NaN keeping the sign, |x| >= 65520 -> inf, below 2^-14 the subnormal m * 2^-24.
    "fn p_f16enc(x: f32) -> u32 {\n  let u = bitcast<u32>(x);\n  let s = (u >> 16u) & 0x8000u;\n  let a = u & 0x7fffffffu;\n  if (a > 0x7f800000u) { return s | 0x7e00u; }\n  if (a >= 0x477ff000u) { return s | 0x7c00u; }\n  if (a >= 0x38800000u) { let r = a - 0x38000000u; return s | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u); }\n  let e = a >> 23u;\n  if (e < 102u) { return s; }\n  let m = (a & 0x7fffffu) | 0x800000u;\n  let sh = 126u - e;\n  let h = m >> sh;\n  let rem = m & ((1u << sh) - 1u);\n  let half = 1u << (sh - 1u);\n  return s | (h + select(0u, 1u, rem > half || (rem == half && (h & 1u) == 1u)));\n}",
    [],
  ],
  [
    "f16dec",
    // float16 bits -> float32, exact (subnormals m * 2^-24 included; NaN keeps sign and payload).
    "fn p_f16dec(h: u32) -> f32 {\n  let s = (h & 0x8000u) << 16u;\n  let e = (h >> 10u) & 0x1fu;\n  let m = h & 0x3ffu;\n  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u) | select(0u, 0x400000u, m != 0u)); }\n  if (e != 0u) { return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u)); }\n  return bitcast<f32>(s | bitcast<u32>(f32(m) * 5.9604644775390625e-8f));\n}",
    [],
  ],
  ["f16ld", "fn p_f16ld(x: f16) -> f32 { return p_f16dec(bitcast<u32>(vec2<f16>(x, 0.0h)) & 0xffffu); }", ["f16dec"]],
  ["f16st", "fn p_f16st(x: f32) -> f16 { return bitcast<vec2<f16>>(p_f16enc(x)).x; }", ["f16enc"]],
  ["f16r", "fn p_f16r(x: f32) -> f32 { return p_f16dec(p_f16enc(x)); }", ["f16enc", "f16dec"]],
];
const LOCAL = new Map(F16_HELPERS.map(([n, t, d]) => [n, { text: t, deps: d }]));

/** float16 results that are one of the operands (or exactly representable): no rounding, as codegen-js's needsRounding. */
const F16_EXACT = new Set(["copy", "stop_gradient", "select_n", "max", "min", "neg", "abs", "clamp", "floor", "ceil"]);

/** A float16 constant: the value rounded to float16, written as the f32 literal of that value. */
function f16Value(v: number): number {
  return f16DecodeTable()[numberToF16(v)];
}

/**
 * @internal Renders a kernel's ops as WGSL statements and assembles shaders; shared by the
 * single-pass, vec4 and two-pass generators. Collects the helper functions the statements call.
 */
export class WgslRenderer {
  readonly helpers = new Set<string>();
  /** The kernel's REDUCE (null for an elementwise kernel) and its index. */
  readonly red: number;
  constructor(readonly k: Kernel) {
    this.red = k.ops.findIndex((o) => o.op === "reduce");
  }

  /** Adds a helper: one of wgsl-scalar.ts's or a local float16 one. */
  use(name: string): string {
    const l = LOCAL.get(name);
    if (!l) return useHelper(this.helpers, name);
    if (!this.helpers.has(name)) {
      this.helpers.add(name);
      l.deps.forEach((d) => this.use(d));
    }
    return `p_${name}`;
  }

  /** The WGSL type a value of dtype `d` is held in (float16 in f32). */
  valueType(d: DType): string {
    return wgslValueType(computeDtype(d));
  }

  /** A constant of dtype `d`. */
  literal(d: DType, v: number): string {
    return d.name === "float16" ? wgslLiteral(float32, f16Value(v)) : wgslLiteral(d, v);
  }

  /** The operand expression of op `i`: a constant's literal, else its name (`lane` suffixes vec4 lanes). */
  val(i: number, lane = ""): string {
    const o = this.k.ops[i];
    return o.op === "const" ? this.literal(o.dtype, o.value) : `v${i}${lane}`;
  }

  /** A loaded element as a value of dtype `d`. */
  loadValue(d: DType, raw: string): string {
    return d.isBool ? `(${raw} != 0u)` : d.name === "float16" ? `${this.use("f16ld")}(${raw})` : raw;
  }

  /** A value of dtype `d` as its storage element. */
  storeValue(d: DType, v: string): string {
    return d.isBool ? `select(0u, 1u, ${v})` : d.name === "float16" ? `${this.use("f16st")}(${v})` : v;
  }

  /** The expression of ALU op `o` over operand expressions `args`, rounded to its dtype. */
  alu(o: Extract<KOp, { op: "alu" }>, args: string[]): string {
    const r = aluRender(o.prim, o.params, o.inDtypes.map(computeDtype), computeDtype(o.dtype), args, this.helpers);
    if (typeof r !== "string") throw new ValueError(`generateWgsl: ${r.why}`);
    if (o.dtype.name !== "float16") return r;
    const same = o.prim === "select_n" ? o.inDtypes.slice(1).every((d) => d === o.dtype) : o.inDtypes.every((d) => d === o.dtype);
    return same && F16_EXACT.has(o.prim) ? r : `${this.use("f16r")}(${r})`;
  }

  /**
   * The statements of op `i` at indentation `ind`: a REDUCE takes its value from `accExpr`
   * (rounded to its dtype, as the CPU's final store does).
   */
  op(i: number, ind: string, accExpr = "acc"): string[] {
    const o = this.k.ops[i];
    switch (o.op) {
      case "const":
        return [];
      case "load":
        return [`${ind}let v${i} = ${this.loadValue(o.dtype, `b${o.buf}[${wgslIndex(o.index)}]`)};`];
      case "alu":
        return [`${ind}let v${i}: ${this.valueType(o.dtype)} = ${this.alu(o, o.args.map((a) => this.val(a)))};`];
      case "reduce":
        return [`${ind}let v${i} = ${o.dtype.name === "float16" && (o.kind === "sum" || o.kind === "prod") ? `${this.use("f16r")}(${accExpr})` : accExpr};`];
      case "store":
        return [`${ind}b${o.buf}[${wgslIndex(o.index)}] = ${this.storeValue(o.dtype, this.val(o.src))};`];
    }
  }

  /** The REDUCE op. */
  get reduce(): Extract<KOp, { op: "reduce" }> {
    return this.k.ops[this.red] as Extract<KOp, { op: "reduce" }>;
  }

  /** Whether the REDUCE is a compensated (Kahan) float sum. */
  get kahan(): boolean {
    const r = this.reduce;
    return r.kind === "sum" && r.dtype.isFloat;
  }

  /** Declarations of the accumulator (and the Kahan state). */
  accDecl(ind: string): string[] {
    const r = this.reduce;
    const lines = [`${ind}var acc: ${this.valueType(r.dtype)} = ${this.literal(r.dtype, reduceInit(r.kind, r.dtype))};`];
    // `opaque` is 0 at run time (dispatchSize always launches z = 1) but unknown to the shader
    // compiler: passing the new sum through it keeps (t - acc) - y from being simplified to 0,
    // which lavapipe does to a plain Kahan sum (measured: the result equalled the naive sum).
    if (this.kahan) lines.push(`${ind}let opaque = nwg.z - 1u;`, `${ind}var comp: f32 = 0.0f;`);
    return lines;
  }

  /**
   * The accumulated value: a Kahan sum ends with its last compensation applied (comp holds the
   * lost low part, negated). Applied only when there is one: lavapipe folds `0.0 - comp` into
   * `-comp`, which made the sum of an empty axis -0 instead of the CPU's +0.
   */
  get accValue(): string {
    return this.kahan ? "select(acc - comp, acc, comp == 0.0f)" : "acc";
  }

  /** One fold step of `v` into `acc` (and `comp`, the Kahan compensation of float sums). */
  step(v: string): string[] {
    const { kind, dtype: d } = this.reduce;
    if (d.isBool) return [kind === "and" || kind === "prod" || kind === "min" ? `acc = acc && ${v};` : `acc = acc || ${v};`];
    const f = d.isFloat;
    switch (kind) {
      case "sum":
        if (!f) return [`acc = acc + ${v};`];
        // Kahan; the compensation is dropped once the sum is not finite (inf - inf would make NaN).
        return [`{ let y = bitcast<f32>(bitcast<u32>(${v} - comp) | opaque); let t = bitcast<f32>(bitcast<u32>(acc + y) | opaque); comp = select(0.0f, (t - acc) - y, ${this.use("isfinite")}(t)); acc = t; }`];
      case "prod":
        return [`acc = acc * ${v};`];
      case "max":
      case "min": {
        const cmp = kind === "max" ? "gt" : "lt";
        if (!f) return [`if (${v} ${kind === "max" ? ">" : "<"} acc) { acc = ${v}; }`];
        return [`if (${this.use(cmp)}(${v}, acc) || ${this.use("isnan")}(${v})) { acc = ${v}; }`];
      }
      case "and":
        return [`acc = acc & ${v};`];
      default:
        return [`acc = acc | ${v};`];
    }
  }

  /**
   * The shader text: header comments, `enable f16;` when a binding needs it, the bindings, the
   * helper functions the body calls, and `main` around `body`.
   */
  shader(header: string[], bindings: WgslBinding[], wg: number, body: string[]): string {
    const decls = bindings.map((b) => `@group(0) @binding(${b.binding}) var<storage, ${b.access}> b${b.buf}: array<${b.storage}>;`);
    // Non-finite constants (wgslLiteral) call p_f32bits, in the body or in a helper.
    const texts = () => [...this.helpers].map((h) => LOCAL.get(h)?.text ?? HELPERS.get(h)!);
    if ([...body, ...texts()].some((l) => l.includes("p_f32bits("))) this.helpers.add("f32bits");
    const fns = [...[...HELPERS.keys()].filter((h) => this.helpers.has(h)).map((h) => HELPERS.get(h)!), ...F16_HELPERS.filter(([n]) => this.helpers.has(n)).map(([, t]) => t)];
    return [
      ...header,
      "",
      ...(bindings.some((b) => b.storage === "f16") ? ["enable f16;", ""] : []),
      ...decls,
      "",
      ...(fns.length ? [...fns, ""] : []),
      `@compute @workgroup_size(${wg})`,
      `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
      ...body,
      "}",
      "",
    ].join("\n");
  }

  /** Header lines naming the kernel's buffers. */
  bufferLines(): string[] {
    return this.k.bufs.map((b, i) => `//   b${i}: ${b.role} ${b.dtype.short}[${b.size}]${b.dtype.isBool ? " (as u32)" : ""}`);
  }
}

/**
 * A binding of call buffer `buf`: inputs read, outputs and temps read_write unless `access`
 * says otherwise; `storage` overrides the element type (the vec4 generator's vec4<T>).
 */
export function wgslBinding(binding: number, buf: number, role: WgslBinding["role"], dtype: DType, elements: number, access?: WgslBinding["access"], storage?: WgslBinding["storage"]): WgslBinding {
  return {
    binding,
    buf,
    role,
    access: access ?? (role === "in" ? "read" : "read_write"),
    dtype,
    storage: storage ?? (dtype.name === "float16" ? "f16" : wgslStorageType(dtype)),
    elements,
    bytesPerElement: storageElementBytes(dtype),
  };
}

/**
 * float16 ops that are bit-exact when computed in f32 and rounded once to float16: their f32
 * result is exact or correctly rounded (then rounding it to float16 equals rounding the exact
 * value, 24 >= 2 * 11 + 2), and the CPU rounds its float64 result once. int -> float16 is exact:
 * an integer rounded to f32, then to float16, is the integer rounded once (or inf).
 */
const F16_BIT_EXACT = new Set(["copy", "stop_gradient", "select_n", "max", "min", "neg", "abs", "clamp", "floor", "ceil", "round", "sign", "add", "add_any", "sub", "mul", "square", "convert_element_type", "eq", "ne", "lt", "le", "gt", "ge", "is_finite"]);
/** float16 ops whose JS rule depends on the dtype itself, which the f32 rendering would get wrong. */
const F16_REFUSED = new Set(["nextafter"]);

/** Whether the kernel's results equal the CPU's bit for bit on IEEE hardware without FMA contraction or flushing. */
export function isBitExact(k: Kernel): boolean {
  return k.ops.every((o) => {
    if (o.op === "reduce") return !(o.dtype.isFloat && (o.kind === "sum" || o.kind === "prod"));
    if (o.op !== "alu") return true;
    if ([o.dtype, ...o.inDtypes].some((d) => d.name === "float16")) return F16_BIT_EXACT.has(o.prim);
    return wgslAluBitExact(o.prim, o.params, o.inDtypes, o.dtype);
  });
}

/** The workgroup size of `opts`, checked against the adapter. */
export function workgroupSizeOf(opts: WgslOptions, caps: AdapterCaps, who: string): number {
  const wg = opts.workgroupSize ?? 64;
  const max = Math.min(1024, caps.maxInvocations);
  if (!Number.isInteger(wg) || wg < 1 || wg > max) throw new ValueError(`${who}: workgroupSize must be an integer in [1, ${max}], got ${wg}`);
  return wg;
}

/** Statements decomposing the linear id `p` into the loop indices of `axes` (row-major, extents baked in). */
export function decompose(k: Kernel, axes: readonly number[], p = "p", ind = "  "): string[] {
  let stride = 1;
  const out: string[] = [];
  for (let j = axes.length - 1; j >= 0; j--) {
    const d = axes[j];
    const q = stride === 1 ? p : `(${p} / ${stride}u)`;
    out.unshift(`${ind}let i${d} = i32(${j === 0 ? q : `${q} % ${k.shape[d]}u`});`);
    stride *= k.shape[d];
  }
  return out;
}

function checkSupport(k: Kernel, caps: AdapterCaps, who: string): void {
  const why = wgslSupport(k, caps);
  if (why) throw new ValueError(`${who}: kernel ${k.name} cannot be rendered to WGSL, got ${why}`);
}

/** The single-pass WGSL compute shader of a kernel (which `wgslSupport` accepts under `caps`; others throw). */
export function generateWgsl(k: Kernel, caps: AdapterCaps = DEFAULT_CAPS, opts: WgslOptions = {}): WgslKernel {
  checkSupport(k, caps, "generateWgsl");
  const wg = workgroupSizeOf(opts, caps, "generateWgsl");
  const R = new WgslRenderer(k);
  const ops = k.ops;
  const red = R.red;
  const allAxes = k.shape.map((_, d) => d);
  const kept = red < 0 ? allAxes : allAxes.filter((d) => !k.reduced[d]);
  const folded = red < 0 ? [] : allAxes.filter((d) => k.reduced[d]);
  const invocations = kept.reduce((a, d) => a * k.shape[d], 1);

  // Ops that depend on the REDUCE result (the epilogue) run after the folded loops.
  const { post } = reducePhases(ops);
  const depth = opDepths(ops, folded, () => true, 0);

  const body: string[] = [`  let p = gid.x + gid.y * (nwg.x * ${wg}u);`, `  if (p >= ${invocations}u) { return; }`, ...decompose(k, kept)];
  if (red < 0) {
    ops.forEach((_, i) => body.push(...R.op(i, "  ")));
  } else {
    body.push(...R.accDecl("  "));
    ops.forEach((_, i) => depth[i] === 0 && !post[i] && body.push(...R.op(i, "  ")));
    const rec = (lvl: number, ind: string): void => {
      if (lvl < folded.length) {
        const a = folded[lvl];
        body.push(`${ind}for (var i${a}: i32 = 0; i${a} < ${k.shape[a]}; i${a}++) {`);
        ops.forEach((_, i) => depth[i] === lvl + 1 && !post[i] && body.push(...R.op(i, ind + "  ")));
        rec(lvl + 1, ind + "  ");
        body.push(`${ind}}`);
      } else body.push(...R.step(R.val(R.reduce.src)).map((s) => ind + s));
    };
    rec(0, "  ");
    // The epilogue: the REDUCE's value, then what uses it, once per kept point.
    body.push(...R.op(red, "  ", R.accValue));
    ops.forEach((_, i) => post[i] && i !== red && body.push(...R.op(i, "  ")));
  }

  const bindings = k.bufs.map((b, i) => wgslBinding(i, i, b.role, b.dtype, b.size));
  const bitExact = isBitExact(k);
  const header = [
    `// ${k.name}: loops [${k.shape.map((s, d) => (k.reduced[d] ? `${s}r` : String(s))).join(", ")}], ${invocations} invocations of ${red < 0 ? "one point" : "one kept point (folded axes looped)"}`,
    `// ${bitExactLine(bitExact)}`,
    ...R.bufferLines(),
  ];
  const code = R.shader(header, bindings, wg, body);
  return { code, entryPoint: "main", bindings, workgroupSize: wg, invocations, dispatch: dispatchSize(invocations, wg), bitExact };
}

/** The header line saying whether a shader is bit-exact. */
export function bitExactLine(exact: boolean): string {
  return exact
    ? "bit-exact with the CPU on IEEE float32 hardware (no FMA contraction, no subnormal flushing)"
    : "not bit-exact with the CPU (float32 division/sqrt/transcendentals or an f32 reduction): within float32 tolerance";
}

/**
 * Why a kernel has no vec4 form, or null: it must be elementwise over one flat axis of a
 * multiple of 4 points, with 4-byte elements, every load and store either contiguous (stride
 * 1, offset a multiple of 4) or a broadcast scalar (stride 0, loads only), and no buffer read
 * both ways.
 */
export function vec4Why(k: Kernel): string | null {
  if (k.ops.some((o) => o.op === "reduce")) return "a reduction";
  if (k.shape.length !== 1 || k.shape[0] % 4 !== 0 || k.shape[0] === 0) return `loops [${k.shape}] (one flat axis of a multiple of 4 points needed)`;
  const mode = new Map<number, "vec" | "scalar">();
  for (const o of k.ops) {
    if (o.op !== "load" && o.op !== "store") continue;
    if (storageElementBytes(o.dtype) !== 4) return `a ${o.dtype.name} buffer`;
    const s = o.index.strides[0];
    const m = s === 1 && o.index.offset % 4 === 0 && k.bufs[o.buf].size % 4 === 0 ? "vec" : s === 0 && o.op === "load" ? "scalar" : null;
    if (!m) return `an access of stride ${s}, offset ${o.index.offset} into b${o.buf}`;
    if ((mode.get(o.buf) ?? m) !== m) return `b${o.buf} read both contiguously and as a scalar`;
    mode.set(o.buf, m);
  }
  return null;
}

/**
 * The vec4 form of a flat elementwise kernel (`vec4Why` null): each invocation loads and stores
 * four consecutive elements as one vec4 and runs the scalar ops once per lane, so it computes
 * exactly what `generateWgsl` does with a quarter of the invocations and wide memory accesses.
 */
export function generateWgslVec4(k: Kernel, caps: AdapterCaps = DEFAULT_CAPS, opts: WgslOptions = {}): WgslKernel {
  checkSupport(k, caps, "generateWgslVec4");
  const v4 = vec4Why(k);
  if (v4) throw new ValueError(`generateWgslVec4: kernel ${k.name} has no vec4 form, got ${v4}`);
  const wg = workgroupSizeOf(opts, caps, "generateWgslVec4");
  const R = new WgslRenderer(k);
  const invocations = k.shape[0] / 4;
  const lanes = ["x", "y", "z", "w"];
  const vecBuf = new Set(k.ops.flatMap((o) => ((o.op === "load" || o.op === "store") && o.index.strides[0] === 1 ? [o.buf] : [])));
  const body: string[] = [`  let p = gid.x + gid.y * (nwg.x * ${wg}u);`, `  if (p >= ${invocations}u) { return; }`, `  let i0 = i32(p);`];
  k.ops.forEach((o, i) => {
    if (o.op === "const") return;
    if (o.op === "load") {
      if (o.index.strides[0] === 0) body.push(`  let v${i} = ${R.loadValue(o.dtype, `b${o.buf}[${o.index.offset}]`)};`, ...lanes.map((l) => `  let v${i}${l} = v${i};`));
      else {
        body.push(`  let q${i} = b${o.buf}[${wgslIndex({ offset: o.index.offset / 4, strides: [1] })}];`);
        lanes.forEach((l) => body.push(`  let v${i}${l} = ${R.loadValue(o.dtype, `q${i}.${l}`)};`));
      }
    } else if (o.op === "alu") lanes.forEach((l) => body.push(`  let v${i}${l}: ${R.valueType(o.dtype)} = ${R.alu(o, o.args.map((a) => R.val(a, l)))};`));
    else if (o.op === "store") {
      const t = wgslStorageType(o.dtype);
      body.push(`  b${o.buf}[${wgslIndex({ offset: o.index.offset / 4, strides: [1] })}] = vec4<${t}>(${lanes.map((l) => R.storeValue(o.dtype, R.val(o.src, l))).join(", ")});`);
    }
  });
  const bindings = k.bufs.map((b, i) => (vecBuf.has(i) ? wgslBinding(i, i, b.role, b.dtype, b.size, undefined, `vec4<${wgslStorageType(b.dtype)}>`) : wgslBinding(i, i, b.role, b.dtype, b.size)));
  const bitExact = isBitExact(k);
  const header = [`// ${k.name}: loops [${k.shape[0]}], ${invocations} invocations of four points (vec4 loads and stores)`, `// ${bitExactLine(bitExact)}`, ...R.bufferLines()];
  const code = R.shader(header, bindings, wg, body);
  return { code, entryPoint: "main", bindings, workgroupSize: wg, invocations, dispatch: dispatchSize(invocations, wg), bitExact };
}

export { cast, WgslOps };
