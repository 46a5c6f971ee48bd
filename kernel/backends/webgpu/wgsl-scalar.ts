// The scalar pieces of WGSL code generation (codegen-wgsl.ts): literals, value types, the
// rendering of each ALU primitive with the semantics of its JS rule (kernel/primitives/unary.ts,
// binary.ts), and the helper functions those renderings call: NaN-exact comparisons and
// max/min/sign (WGSL lets an implementation assume no NaN, so NaN is detected from the bits),
// XLA's saturating float -> int, and the float32 transcendental algorithms of
// kernel/primitives/f32-math.ts rendered through an F32Ops implementation that writes WGSL
// statements. Pure: strings in, strings out.

import { DType } from "../../core/dtype";
import { F32_MATH, F32Ops } from "../../primitives/f32-math";

/** The WGSL type of a kernel value of dtype `d` (bool values are WGSL bools). */
export function wgslValueType(d: DType): "f32" | "i32" | "u32" | "bool" {
  return d.name === "float32" ? "f32" : d.name === "int32" ? "i32" : d.name === "uint32" ? "u32" : "bool";
}

/** The WGSL element type of a storage buffer of dtype `d` (bool is stored as u32 0/1). */
export function wgslStorageType(d: DType): "f32" | "i32" | "u32" {
  const t = wgslValueType(d);
  return t === "bool" ? "u32" : t;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** A float32 literal: the value rounded to float32; inf, NaN, -0 and subnormals by bit pattern. */
function f32Literal(value: number): string {
  F32[0] = value;
  const v = F32[0];
  const bits = U32[0];
  // inf and NaN through a function: a const-expression of those values is a shader-creation error.
  if (!Number.isFinite(v)) return `p_f32bits(0x${bits.toString(16)}u)`;
  if (Object.is(v, -0) || (v !== 0 && Math.abs(v) < 1.1754943508222875e-38)) return `bitcast<f32>(0x${bits.toString(16)}u)`;
  const s = String(v);
  return v < 0 ? `(${s}f)` : `${s}f`;
}

/** A constant of dtype `d` as a WGSL expression (already converted to `d`, as codegen-js's constText). */
export function wgslLiteral(d: DType, value: number): string {
  switch (wgslValueType(d)) {
    case "f32":
      return f32Literal(value);
    case "bool":
      return value ? "true" : "false";
    case "u32":
      return `${value >>> 0}u`;
    case "i32":
      return i32Lit(value);
  }
}

/** i32 literal for the F32Ops renderer. */
function i32Lit(c: number): string {
  const v = c | 0;
  return v === -2147483648 ? "bitcast<i32>(0x80000000u)" : v < 0 ? `(${v}i)` : `${v}i`;
}

// ---------------------------------------------------------------------------------------------
// Helper functions, by name: their WGSL text and the helpers they call.

const CMP: Record<string, string> = { lt: "<", le: "<=", gt: ">", ge: ">=", eq: "==" };

const BASE: [string, string, string[]][] = [
  ["f32bits", "fn p_f32bits(u: u32) -> f32 { return bitcast<f32>(u); }", []],
  ["isnan", "fn p_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }", []],
  ["isfinite", "fn p_isfinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }", []],
  ...Object.entries(CMP).map(([n, op]): [string, string, string[]] => [n, `fn p_${n}(a: f32, b: f32) -> bool { return !p_isnan(a) && !p_isnan(b) && a ${op} b; }`, ["isnan"]]),
  ["ne", "fn p_ne(a: f32, b: f32) -> bool { return !p_eq(a, b); }", ["eq"]],
  // Math.max/min: NaN wins; equal values (+-0) combine their bits: max(-0, +0) = +0, min = -0.
  ["max", "fn p_max(a: f32, b: f32) -> f32 {\n  if (p_isnan(a)) { return a; }\n  if (p_isnan(b)) { return b; }\n  if (a > b) { return a; }\n  if (b > a) { return b; }\n  return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b));\n}", ["isnan"]],
  ["min", "fn p_min(a: f32, b: f32) -> f32 {\n  if (p_isnan(a)) { return a; }\n  if (p_isnan(b)) { return b; }\n  if (a < b) { return a; }\n  if (b < a) { return b; }\n  return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b));\n}", ["isnan"]],
  ["sign", "fn p_sign(x: f32) -> f32 {\n  if (p_isnan(x)) { return x; }\n  if (x > 0.0f) { return 1.0f; }\n  if (x < 0.0f) { return -1.0f; }\n  return x;\n}", ["isnan"]],
  // XLA's float -> int: truncate, NaN -> 0, saturate at the type's range.
  ["f2i", "fn p_f2i(x: f32) -> i32 {\n  if (p_isnan(x)) { return 0i; }\n  if (x >= 2147483648.0f) { return 2147483647i; }\n  if (x <= -2147483648.0f) { return bitcast<i32>(0x80000000u); }\n  return i32(x);\n}", ["isnan"]],
  ["f2u", "fn p_f2u(x: f32) -> u32 {\n  if (p_isnan(x) || x < 1.0f) { return 0u; }\n  if (x >= 4294967296.0f) { return 0xffffffffu; }\n  return u32(x);\n}", ["isnan"]],
];

/**
 * F32Ops writing WGSL: each operation appends `let tN = ...;` to `lines` and returns tN;
 * constants are inlined. `uses` collects the helpers the statements call.
 */
export class WgslOps implements F32Ops<string, string, string> {
  readonly lines: string[] = [];
  readonly uses = new Set<string>();
  private n = 0;

  private t(e: string): string {
    const name = `t${this.n++}`;
    this.lines.push(`  let ${name} = ${e};`);
    return name;
  }
  private call(h: string, a: string, b: string): string {
    this.uses.add(h);
    return this.t(`p_${h}(${a}, ${b})`);
  }
  f = (c: number): string => f32Literal(c);
  i = (c: number): string => i32Lit(c);
  add = (a: string, b: string) => this.t(`${a} + ${b}`);
  sub = (a: string, b: string) => this.t(`${a} - ${b}`);
  mul = (a: string, b: string) => this.t(`${a} * ${b}`);
  div = (a: string, b: string) => this.t(`${a} / ${b}`);
  neg = (a: string) => this.t(`-${a}`);
  abs = (a: string) => this.t(`bitcast<f32>(bitcast<u32>(${a}) & 0x7fffffffu)`);
  sqrt = (a: string) => this.t(`sqrt(${a})`);
  floor = (a: string) => this.t(`floor(${a})`);
  /** WGSL's round() rounds halfway cases to even. */
  nearest = (a: string) => this.t(`round(${a})`);
  lt = (a: string, b: string) => this.call("lt", a, b);
  le = (a: string, b: string) => this.call("le", a, b);
  gt = (a: string, b: string) => this.call("gt", a, b);
  ge = (a: string, b: string) => this.call("ge", a, b);
  eq = (a: string, b: string) => this.call("eq", a, b);
  ne = (a: string, b: string) => this.call("ne", a, b);
  and = (a: string, b: string) => this.t(`${a} && ${b}`);
  or = (a: string, b: string) => this.t(`${a} || ${b}`);
  select = (m: string, a: string, b: string) => this.t(`select(${b}, ${a}, ${m})`);
  toInt = (a: string) => this.t(`i32(${a})`);
  toFloat = (a: string) => this.t(`f32(${a})`);
  bitsOf = (a: string) => this.t(`bitcast<i32>(${a})`);
  fromBits = (a: string) => this.t(`bitcast<f32>(${a})`);
  iadd = (a: string, b: string) => this.t(`${a} + ${b}`);
  isub = (a: string, b: string) => this.t(`${a} - ${b}`);
  iand = (a: string, b: string) => this.t(`${a} & ${b}`);
  ior = (a: string, b: string) => this.t(`${a} | ${b}`);
  ishl = (a: string, n: number) => this.t(`${a} << ${n}u`);
  ishr = (a: string, n: number) => this.t(`${a} >> ${n}u`);
  ishru = (a: string, n: number) => this.t(`bitcast<i32>(bitcast<u32>(${a}) >> ${n}u)`);
}

/** Helper text and dependencies, by name (base helpers, then one per f32-math algorithm). */
export const HELPERS = new Map<string, string>();
const DEPS = new Map<string, string[]>();
for (const [n, text, deps] of BASE) (HELPERS.set(n, text), DEPS.set(n, deps));
for (const [name, alg] of Object.entries(F32_MATH)) {
  const o = new WgslOps();
  const r = alg(o, "x");
  HELPERS.set(name, `// f32-math.ts's ${name}, the CPU's algorithm\nfn p_${name}(x: f32) -> f32 {\n${o.lines.join("\n")}\n  return ${r};\n}`);
  DEPS.set(name, [...o.uses]);
}

/** Adds helper `name` and what it calls to `helpers`. */
export function useHelper(helpers: Set<string> | undefined, name: string): string {
  if (helpers && !helpers.has(name)) {
    helpers.add(name);
    for (const d of DEPS.get(name) ?? []) useHelper(helpers, d);
  }
  return `p_${name}`;
}

/** A value of dtype `from` converted to `to` (convert_element_type's JS rule), as WGSL. */
export function cast(from: DType, to: DType, a: string, helpers?: Set<string>): string {
  const f = wgslValueType(from);
  const t = wgslValueType(to);
  if (f === t) return a;
  if (t === "bool") return f === "f32" ? `((bitcast<u32>(${a}) & 0x7fffffffu) != 0u)` : `(${a} != 0${f === "i32" ? "i" : "u"})`;
  if (f === "bool") return `${t}(${a})`;
  if (f === "f32") return `${useHelper(helpers, t === "i32" ? "f2i" : "f2u")}(${a})`;
  if (t === "f32") return `f32(${a})`;
  return `bitcast<${t}>(${a})`; // int32 <-> uint32: wraps, as storing into the other type does
}

/** Primitives whose operands and result all have the result's dtype. */
const SAME = new Set(["copy", "stop_gradient", "add", "add_any", "sub", "mul", "div", "neg", "abs", "max", "min", "sign", "floor", "ceil", "sqrt", "square", "and", "or", "xor", "not", "clamp", ...Object.keys(F32_MATH)]);
const COMPARE = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);
const INT_CMP: Record<string, string> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };

/**
 * The WGSL expression of an ALU op with operand expressions `a`, computing what the
 * primitive's JS rule computes followed by rounding to `dtype` (see the header of
 * codegen-wgsl.ts for what is exact); `{ why }` when there is no such rendering.
 */
export function aluRender(prim: string, _params: unknown, inDtypes: readonly DType[], dtype: DType, a: readonly string[], helpers?: Set<string>): string | { why: string } {
  const t = wgslValueType(dtype);
  const no = { why: `${inDtypes.map((d) => d.name).join(", ")} ${prim} has no WGSL rendering` };
  if (![...inDtypes, dtype].every((d) => ["float32", "int32", "uint32", "bool"].includes(d.name))) return no;
  if (SAME.has(prim) && !inDtypes.every((d) => d === dtype)) return { why: `${prim} of ${inDtypes.map((d) => d.name).join(", ")} into ${dtype.name}` };
  const f = t === "f32";
  const b = t === "bool";
  const h = (n: string) => useHelper(helpers, n);
  switch (prim) {
    case "copy":
    case "stop_gradient":
      return a[0];
    case "add":
    case "add_any":
      return b ? `(${a[0]} || ${a[1]})` : `(${a[0]} + ${a[1]})`;
    case "sub":
      return b ? no : `(${a[0]} - ${a[1]})`;
    case "mul":
      return b ? `(${a[0]} && ${a[1]})` : `(${a[0]} * ${a[1]})`;
    case "div":
      return f ? `(${a[0]} / ${a[1]})` : { why: `${dtype.name} div (the JS rule's division by zero is not rendered)` };
    case "neg":
      return b ? no : t === "u32" ? `(0u - ${a[0]})` : `(-${a[0]})`;
    case "abs":
      return f ? `bitcast<f32>(bitcast<u32>(${a[0]}) & 0x7fffffffu)` : t === "i32" ? `abs(${a[0]})` : t === "u32" ? a[0] : no;
    case "max":
    case "min":
      if (b) return prim === "max" ? `(${a[0]} || ${a[1]})` : `(${a[0]} && ${a[1]})`;
      return f ? `${h(prim)}(${a[0]}, ${a[1]})` : `${prim}(${a[0]}, ${a[1]})`;
    case "clamp": {
      // Math.min(Math.max(x, lo), hi) with operands [lo, x, hi].
      if (b) return no;
      return f ? `${h("min")}(${h("max")}(${a[1]}, ${a[0]}), ${a[2]})` : `min(max(${a[1]}, ${a[0]}), ${a[2]})`;
    }
    case "sign":
      return f ? `${h("sign")}(${a[0]})` : t === "i32" ? `sign(${a[0]})` : t === "u32" ? `select(0u, 1u, ${a[0]} > 0u)` : no;
    case "floor":
    case "ceil":
    case "sqrt":
      return f ? `${prim}(${a[0]})` : no;
    case "square":
      return b ? no : `(${a[0]} * ${a[0]})`;
    case "and":
      return f ? no : b ? `(${a[0]} && ${a[1]})` : `(${a[0]} & ${a[1]})`;
    case "or":
      return f ? no : b ? `(${a[0]} || ${a[1]})` : `(${a[0]} | ${a[1]})`;
    case "xor":
      return f ? no : b ? `(${a[0]} != ${a[1]})` : `(${a[0]} ^ ${a[1]})`;
    case "not":
      return f ? no : b ? `(!${a[0]})` : `(~${a[0]})`;
    case "is_finite":
      return inDtypes[0].name === "float32" && b ? `${h("isfinite")}(${a[0]})` : no;
    case "select_n": {
      const [w, ...cases] = a;
      if (cases.length === 0 || !inDtypes.slice(1).every((d) => d === dtype)) return { why: `select_n of ${inDtypes.map((d) => d.name).join(", ")} into ${dtype.name}` };
      const wt = wgslValueType(inDtypes[0]);
      if (wt === "f32") return no;
      if (cases.length === 1) return cases[0];
      if (wt === "bool") return cases.length === 2 ? `select(${cases[0]}, ${cases[1]}, ${w})` : no;
      const s = wt === "i32" ? "i" : "u";
      if (cases.length === 2) return `select(${cases[0]}, ${cases[1]}, ${w} != 0${s})`;
      // JS clamps the index into [0, n - 1]: case j wins when w >= j, for the largest such j.
      return cases.slice(1).reduce((acc, c, j) => `select(${acc}, ${c}, ${w} >= ${j + 1}${s})`, cases[0]);
    }
    case "convert_element_type":
      return cast(inDtypes[0], dtype, a[0], helpers);
  }
  if (COMPARE.has(prim)) {
    if (!b || inDtypes[0] !== inDtypes[1]) return no;
    const it = wgslValueType(inDtypes[0]);
    if (it === "f32") return `${h(prim)}(${a[0]}, ${a[1]})`;
    if (it === "bool" && prim !== "eq" && prim !== "ne") return `(u32(${a[0]}) ${INT_CMP[prim]} u32(${a[1]}))`;
    return `(${a[0]} ${INT_CMP[prim]} ${a[1]})`;
  }
  if (prim in F32_MATH) return f ? `${h(prim)}(${a[0]})` : no;
  return no;
}
