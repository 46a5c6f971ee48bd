// The scalar pieces of WGSL code generation (codegen-wgsl.ts): literals, value types, the
// rendering of each ALU primitive with the semantics of its JS rule (kernel/primitives/unary.ts,
// binary.ts), and the helper functions those renderings call: NaN-exact comparisons and
// max/min/sign (WGSL lets an implementation assume no NaN, so NaN is detected from the bits),
// XLA's saturating float -> int, the integer division/remainder/power/shifts with the JS rules'
// results for division by zero, INT_MIN / -1 and out-of-range shifts, the float32 transcendental
// algorithms of kernel/primitives/f32-math.ts rendered through an F32Ops implementation that
// writes WGSL statements, and the other float32 functions (wgsl-math.ts, wgsl-special.ts).
// Pure: strings in, strings out.
//
// Every elementwise primitive of unary.ts and binary.ts renders for float32/int32/uint32/bool
// wherever its JS rule accepts the dtype. Measured accuracy of the float32 functions is in
// test/webgpu/wgsl-scalar.test.ts; wgslAluBitExact says which renderings are exact.

import { DType } from "../../core/dtype";
import { F32_MATH, F32Ops } from "../../primitives/f32-math";
import { MATH_HELPERS } from "./wgsl-math";
import { SPECIAL_HELPERS } from "./wgsl-special";

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
  // x / 0 is +-inf (NaN for 0/0 and NaN/0) as in IEEE and JS; WGSL leaves a division by zero
  // indeterminate, and a divisor baked into the shader as 0.0 was folded to 0 (measured on lavapipe).
  ["div", "fn p_div(a: f32, b: f32) -> f32 {\n  if ((bitcast<u32>(b) & 0x7fffffffu) == 0u) {\n    if (p_isnan(a) || (bitcast<u32>(a) & 0x7fffffffu) == 0u) { return p_f32bits(0x7fc00000u); }\n    return bitcast<f32>(((bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u) | 0x7f800000u);\n  }\n  return a / b;\n}", ["isnan", "f32bits"]],
  ["sign", "fn p_sign(x: f32) -> f32 {\n  if (p_isnan(x)) { return x; }\n  if (x > 0.0f) { return 1.0f; }\n  if (x < 0.0f) { return -1.0f; }\n  return x;\n}", ["isnan"]],
  // XLA's float -> int: truncate, NaN -> 0, saturate at the type's range.
  ["f2i", "fn p_f2i(x: f32) -> i32 {\n  if (p_isnan(x)) { return 0i; }\n  if (x >= 2147483648.0f) { return 2147483647i; }\n  if (x <= -2147483648.0f) { return bitcast<i32>(0x80000000u); }\n  return i32(x);\n}", ["isnan"]],
  ["f2u", "fn p_f2u(x: f32) -> u32 {\n  if (p_isnan(x) || x < 1.0f) { return 0u; }\n  if (x >= 4294967296.0f) { return 0xffffffffu; }\n  return u32(x);\n}", ["isnan"]],
  // Integer rules of binary.ts: x / 0 = -1 (all ones), x % 0 = x; INT_MIN / -1 = INT_MIN and
  // INT_MIN % -1 = 0 are what WGSL defines too. Functions, so that constant operands never make
  // a const-expression (where WGSL rejects these cases at shader creation).
  ["idiv_i", "fn p_idiv_i(a: i32, b: i32) -> i32 { if (b == 0i) { return -1i; } return a / b; }", []],
  ["idiv_u", "fn p_idiv_u(a: u32, b: u32) -> u32 { if (b == 0u) { return 0xffffffffu; } return a / b; }", []],
  ["irem_i", "fn p_irem_i(a: i32, b: i32) -> i32 { if (b == 0i) { return a; } return a % b; }", []],
  ["irem_u", "fn p_irem_u(a: u32, b: u32) -> u32 { if (b == 0u) { return a; } return a % b; }", []],
  // H.ipow: wrapping repeated squaring; negative exponents give 1, +-1 or 0.
  ["ipow_i", "fn p_ipow_i(a: i32, b: i32) -> i32 {\n  if (b < 0i) {\n    if (a == 1i) { return 1i; }\n    if (a == -1i) { return select(-1i, 1i, (b & 1i) == 0i); }\n    return 0i;\n  }\n  var r = 1i;\n  var x = a;\n  var e = u32(b);\n  loop {\n    if (e == 0u) { break; }\n    if ((e & 1u) == 1u) { r = r * x; }\n    x = x * x;\n    e = e >> 1u;\n  }\n  return r;\n}", []],
  ["ipow_u", "fn p_ipow_u(a: u32, b: u32) -> u32 {\n  var r = 1u;\n  var x = a;\n  var e = b;\n  loop {\n    if (e == 0u) { break; }\n    if ((e & 1u) == 1u) { r = r * x; }\n    x = x * x;\n    e = e >> 1u;\n  }\n  return r;\n}", []],
  // Shifts by an amount outside [0, 31] (as unsigned) give 0, the arithmetic one the sign fill.
  ["shl_i", "fn p_shl_i(a: i32, b: i32) -> i32 { if (u32(b) >= 32u) { return 0i; } return a << u32(b); }", []],
  ["shl_u", "fn p_shl_u(a: u32, b: u32) -> u32 { if (b >= 32u) { return 0u; } return a << b; }", []],
  ["shrl_i", "fn p_shrl_i(a: i32, b: i32) -> i32 { if (u32(b) >= 32u) { return 0i; } return bitcast<i32>(bitcast<u32>(a) >> u32(b)); }", []],
  ["shrl_u", "fn p_shrl_u(a: u32, b: u32) -> u32 { if (b >= 32u) { return 0u; } return a >> b; }", []],
  ["shra_i", "fn p_shra_i(a: i32, b: i32) -> i32 { return a >> min(u32(b), 31u); }", []],
  ...MATH_HELPERS,
  ...SPECIAL_HELPERS,
];

/**
 * F32Ops writing WGSL: each operation appends `let tN = ...;` to `lines` and returns tN;
 * constants are inlined. `uses` collects the helpers the statements call. With `opaque` (the
 * name of a u32 that is 0 at run time but unknown to the compiler, wgsl-math.ts's p_opq), every
 * sum and difference passes through `bits | opaque`: the f32-math algorithms compensate rounding
 * errors (x - ((1 + x) - 1) and the like), which shader compilers otherwise fold to 0 (lavapipe
 * did: log1p(3e-7) came out 19% off).
 */
export class WgslOps implements F32Ops<string, string, string> {
  readonly lines: string[] = [];
  readonly uses = new Set<string>();
  private n = 0;

  constructor(private readonly opaque?: string) {}

  private t(e: string): string {
    const name = `t${this.n++}`;
    this.lines.push(`  let ${name} = ${e};`);
    return name;
  }
  private g(e: string): string {
    return this.t(this.opaque ? `bitcast<f32>(bitcast<u32>(${e}) | ${this.opaque})` : e);
  }
  private call(h: string, a: string, b: string): string {
    this.uses.add(h);
    return this.t(`p_${h}(${a}, ${b})`);
  }
  f = (c: number): string => f32Literal(c);
  i = (c: number): string => i32Lit(c);
  add = (a: string, b: string) => this.g(`${a} + ${b}`);
  sub = (a: string, b: string) => this.g(`${a} - ${b}`);
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
  const o = new WgslOps("z");
  const r = alg(o, "x");
  HELPERS.set(name, `// f32-math.ts's ${name}, the CPU's algorithm (sums guarded by z against folding)\nfn p_${name}(x: f32) -> f32 {\n  let z = p_opq(x);\n${o.lines.join("\n")}\n  return ${r};\n}`);
  DEPS.set(name, ["opq", ...o.uses]);
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

/** float32 functions of one operand rendered as a call of the wgsl-math.ts helper of this name. */
const F32_UNARY: Record<string, string> = {
  exp2: "exp2", rsqrt: "rsqrt", cbrt: "cbrt", sin: "sin", cos: "cos", tan: "tan", asin: "asin", acos: "acos", atan: "atan",
  sinh: "sinh", cosh: "cosh", asinh: "asinh", acosh: "acosh", atanh: "atanh", erf: "erf", erfc: "erfc", erf_inv: "erfinv",
  lgamma: "lgamma", digamma: "digamma",
};
/** float32 functions of two operands, likewise. */
const F32_BINARY: Record<string, string> = { atan2: "atan2", nextafter: "nextafter", pow: "pow" };
/** The integer helpers of the shifts, by primitive and WGSL type. */
const SHIFTS: Record<string, Record<string, string>> = {
  shift_left: { i32: "shl_i", u32: "shl_u" },
  shift_right_logical: { i32: "shrl_i", u32: "shrl_u" },
  // The JS rule shifts unsigned values logically (XLA's unsigned arithmetic shift).
  shift_right_arithmetic: { i32: "shra_i", u32: "shrl_u" },
};

/** Primitives whose operands and result all have the result's dtype. */
const SAME = new Set(["copy", "stop_gradient", "add", "add_any", "sub", "mul", "div", "rem", "pow", "neg", "abs", "max", "min", "sign", "floor", "ceil", "sqrt", "square", "and", "or", "xor", "not", "clamp", "round", "integer_pow", ...Object.keys(F32_MATH), ...Object.keys(F32_UNARY), ...Object.keys(F32_BINARY), ...Object.keys(SHIFTS)]);
const COMPARE = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);
const INT_CMP: Record<string, string> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };

/**
 * The WGSL expression of an ALU op with operand expressions `a`, computing what the
 * primitive's JS rule computes followed by rounding to `dtype` (exactly where wgslAluBitExact
 * says so, else within a few float32 ulps); `{ why }` when there is no such rendering. Three
 * knowing departures from the CPU rule, where it is not the mathematical function
 * (wgsl-special.ts): erfc for x > 4.5, lgamma at the negative integers (+inf) and erf(-0) (-0).
 */
export function aluRender(prim: string, params: unknown, inDtypes: readonly DType[], dtype: DType, a: readonly string[], helpers?: Set<string>): string | { why: string } {
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
      return f ? `${h("div")}(${a[0]}, ${a[1]})` : b ? no : `${h(t === "i32" ? "idiv_i" : "idiv_u")}(${a[0]}, ${a[1]})`;
    case "rem":
      // float: JS's % is C's fmod (exact); integer: x % 0 = x
      return b ? no : `${h(f ? "fmod" : t === "i32" ? "irem_i" : "irem_u")}(${a[0]}, ${a[1]})`;
    case "pow":
      // float: H.powf (wgsl-math's p_pow); integer: H.ipow
      return b ? no : `${h(f ? "pow" : t === "i32" ? "ipow_i" : "ipow_u")}(${a[0]}, ${a[1]})`;
    case "integer_pow": {
      const y = (params as { y: number }).y;
      if (b || !Number.isInteger(y) || (!f && y < 0)) return no;
      return f ? `${h("ipowf")}(${a[0]}, ${i32Lit(y)})` : t === "i32" ? `${h("ipow_i")}(${a[0]}, ${i32Lit(y)})` : `${h("ipow_u")}(${a[0]}, ${y >>> 0}u)`;
    }
    case "round":
      return f ? `${h((params as { rounding_method: number }).rounding_method === 1 ? "round_even" : "round_away")}(${a[0]})` : no;
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
      if (b) return `((${a[1]} || ${a[0]}) && ${a[2]})`;
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
  if (prim in F32_UNARY) return f ? `${h(F32_UNARY[prim])}(${a[0]})` : no;
  if (prim in F32_BINARY) return f ? `${h(F32_BINARY[prim])}(${a[0]}, ${a[1]})` : no;
  if (prim in SHIFTS) return t === "i32" || t === "u32" ? `${h(SHIFTS[prim][t])}(${a[0]}, ${a[1]})` : no;
  return no;
}

/** float32 results that are not exactly the CPU's (division, sqrt and the transcendental functions). */
const INEXACT_F32 = new Set(["div", "sqrt", "pow", ...Object.keys(F32_MATH), ...Object.keys(F32_UNARY), ...Object.keys(F32_BINARY).filter((p) => p !== "nextafter")]);

/**
 * Whether aluRender's rendering of an op gives the CPU's result bit for bit on IEEE float32
 * hardware that neither contracts a * b + c into an FMA nor flushes subnormals: everything with an
 * integer or bool result, and the float32 ops but division, sqrt, integer_pow with a negative
 * exponent (a division), int -> float conversion (WGSL may round |x| > 2^24 either way) and the
 * transcendental functions (within a few ulp: test/webgpu/wgsl-scalar.test.ts).
 */
export function wgslAluBitExact(prim: string, params: unknown, inDtypes: readonly DType[], dtype: DType): boolean {
  if (!dtype.isFloat) return true;
  if (prim === "convert_element_type") return inDtypes[0].isFloat || inDtypes[0].isBool;
  if (prim === "integer_pow") return (params as { y: number }).y >= 0;
  return !INEXACT_F32.has(prim);
}
