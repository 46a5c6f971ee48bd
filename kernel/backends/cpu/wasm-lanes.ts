// The value-level half of the WebAssembly kernel generator (codegen-wasm.ts): how one kernel
// IR value is computed, either as a scalar (f32 / i32 locals) or as four SIMD lanes (one v128
// local), from the values it uses. Pure: it only appends instructions to a FunctionBuilder.
//
// Representation of values (the same in both modes, lane for lane):
//   float32            f32 / f32x4
//   int8..int32, uint8..uint32, bool
//                      i32 / i32x4, canonical: sign-extended for signed types, zero-extended
//                      for unsigned ones (uint32 is its bit pattern), 0/1 for bool, so every
//                      value is what the JS kernel's Number holds, modulo 2^32.
//   masks (comparison results inside one op's rendering): i32 0/1 / v128 all-ones lanes.
// Every result is a fresh local: values are reused freely (SSA-like) and the JIT's register
// allocator does the rest.
//
// Each op computes exactly what its JS rule (kernel/primitives/unary.ts, binary.ts, and the
// rounding of codegen-js.ts) computes: every float32 operation used is exactly rounded IEEE
// float32 arithmetic, which equals JS's float64 operation followed by Math.fround for +, -, *,
// /, sqrt (float64 has more than twice float32's precision); integer ops wrap to their dtype as
// the JS `| 0`, `>>> 0`, `<< 24 >> 24`... do. Transcendentals render F32_MATH's algorithms
// (kernel/primitives/f32-math.ts) through WasmF32Ops below, the same sequence of float32
// operations as their JS rendering, hence the same bits. What has no exact rendering (float64
// library functions such as Math.pow, erf, integer division...) is refused by `aluSupported`,
// and the kernel stays JS.

import { DType } from "../../core/dtype";
import { F32_MATH, F32Ops } from "../../primitives/f32-math";
import { FunctionBuilder, Op, ValType } from "./wasm-encoder";

/** A value: the index of the local that holds it. */
export type Val = number;

/** The storage class of a dtype's values in wasm: f32 or i32 (lanes of f32x4 / i32x4 in SIMD). */
export const isF32 = (d: DType): boolean => d.name === "float32";

/** dtypes the wasm kernels handle (float16/bfloat16 are decoded through tables in JS: not rendered). */
export function wasmDType(d: DType): boolean {
  return d.name !== "float16" && d.name !== "bfloat16";
}

const FLOAT_BINARY: Record<string, "add" | "sub" | "mul" | "div" | "max" | "min"> = { add: "add", add_any: "add", sub: "sub", mul: "mul", div: "div", max: "max", min: "min" };
const COMPARE = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);
const FLOAT_UNARY = new Set(["neg", "abs", "sqrt", "floor", "ceil", "square", "sign", "round", "is_finite", "integer_pow", "rsqrt"]);
const INT_OPS = new Set(["add", "add_any", "sub", "mul", "neg", "abs", "sign", "square", "not", "and", "or", "xor", "max", "min", "integer_pow", "shift_left", "shift_right_logical", "shift_right_arithmetic"]);
const SHIFTS = new Set(["shift_left", "shift_right_logical", "shift_right_arithmetic"]);
const ANY = new Set(["copy", "stop_gradient", "select_n", "clamp", "convert_element_type", ...COMPARE]);

/** Whether an ALU op (primitive, operand and result dtypes) has an exact wasm rendering; null if so, else why not. */
export function aluSupported(prim: string, inDtypes: readonly DType[], dtype: DType): string | null {
  if (![...inDtypes, dtype].every(wasmDType)) return `${prim} on ${[...inDtypes, dtype].map((d) => d.name).join(", ")}`;
  if (ANY.has(prim)) return null;
  const d = inDtypes[0] ?? dtype;
  if (isF32(d)) {
    if (prim in FLOAT_BINARY || FLOAT_UNARY.has(prim) || prim in F32_MATH) return null;
    return `float32 ${prim} has no exact wasm rendering`;
  }
  if (INT_OPS.has(prim)) return null;
  return `${d.name} ${prim} has no exact wasm rendering`;
}

/** Shifts need a per-lane amount, which SIMD lacks: vectorisable only when the amount is loop-invariant. */
export const isShift = (prim: string): boolean => SHIFTS.has(prim);

/**
 * Scalar or four-lane code for values. Methods take and return locals; constants are hoisted
 * to the function's start (`prelude`), once per distinct value.
 */
export class Lanes implements F32Ops<Val, Val, Val> {
  private readonly consts: Map<string, Val>;

  constructor(
    readonly b: FunctionBuilder,
    readonly vec: boolean,
    private readonly prelude: (emit: () => void) => void,
    consts: Map<string, Val>,
  ) {
    this.consts = consts;
  }

  /** Appends instructions then stores the result in a new local of `type`. */
  out(type: ValType, emit: () => void): Val {
    emit();
    const l = this.b.local(type);
    this.b.set(l);
    return l;
  }
  get ft(): ValType {
    return this.vec ? "v128" : "f32";
  }
  get it(): ValType {
    return this.vec ? "v128" : "i32";
  }
  /** One instruction over locals: its scalar or SIMD form. */
  op(s: Op, v: Op, type: ValType, ...args: Val[]): Val {
    return this.out(type, () => {
      for (const a of args) this.b.get(a);
      this.b.ins(this.vec ? v : s);
    });
  }
  fop = (s: Op, v: Op, ...a: Val[]) => this.op(s, v, this.ft, ...a);
  iop = (s: Op, v: Op, ...a: Val[]) => this.op(s, v, this.it, ...a);

  /** A hoisted constant local. */
  private constant(kind: "f32" | "i32" | "f64", bits: number[], emit: (b: FunctionBuilder) => void): Val {
    const key = `${this.vec ? "v" : "s"}${kind}:${bits.join(",")}`;
    let l = this.consts.get(key);
    if (l === undefined) {
      const local = this.b.local(this.vec ? "v128" : kind);
      this.prelude(() => {
        emit(this.b);
        this.b.set(local);
      });
      this.consts.set(key, (l = local));
    }
    return l;
  }

  // F32Ops -------------------------------------------------------------------------------

  f(c: number): Val {
    const bytes = [...new Uint8Array(new Float32Array([c]).buffer)];
    return this.constant("f32", bytes, (b) => (this.vec ? b.v128Const([...bytes, ...bytes, ...bytes, ...bytes]) : b.f32Const(c)));
  }
  i(c: number): Val {
    const bytes = [...new Uint8Array(new Int32Array([c]).buffer)];
    return this.constant("i32", bytes, (b) => (this.vec ? b.v128Const([...bytes, ...bytes, ...bytes, ...bytes]) : b.i32Const(c | 0)));
  }
  /** A float64 constant (scalar f64, or f64x2 lanes). */
  d(c: number): Val {
    const bytes = [...new Uint8Array(new Float64Array([c]).buffer)];
    return this.constant("f64", bytes, (b) => (this.vec ? b.v128Const([...bytes, ...bytes]) : b.f64Const(c)));
  }
  add = (a: Val, b: Val) => this.fop("f32.add", "f32x4.add", a, b);
  sub = (a: Val, b: Val) => this.fop("f32.sub", "f32x4.sub", a, b);
  mul = (a: Val, b: Val) => this.fop("f32.mul", "f32x4.mul", a, b);
  div = (a: Val, b: Val) => this.fop("f32.div", "f32x4.div", a, b);
  neg = (a: Val) => this.fop("f32.neg", "f32x4.neg", a);
  abs = (a: Val) => this.fop("f32.abs", "f32x4.abs", a);
  sqrt = (a: Val) => this.fop("f32.sqrt", "f32x4.sqrt", a);
  floor = (a: Val) => this.fop("f32.floor", "f32x4.floor", a);
  ceil = (a: Val) => this.fop("f32.ceil", "f32x4.ceil", a);
  trunc = (a: Val) => this.fop("f32.trunc", "f32x4.trunc", a);
  nearest = (a: Val) => this.fop("f32.nearest", "f32x4.nearest", a);
  /** IEEE maximum/minimum: NaN if either is NaN, -0 < +0 (Math.max/min). */
  fmax = (a: Val, b: Val) => this.fop("f32.max", "f32x4.max", a, b);
  fmin = (a: Val, b: Val) => this.fop("f32.min", "f32x4.min", a, b);
  lt = (a: Val, b: Val) => this.iop("f32.lt", "f32x4.lt", a, b);
  le = (a: Val, b: Val) => this.iop("f32.le", "f32x4.le", a, b);
  gt = (a: Val, b: Val) => this.iop("f32.gt", "f32x4.gt", a, b);
  ge = (a: Val, b: Val) => this.iop("f32.ge", "f32x4.ge", a, b);
  eq = (a: Val, b: Val) => this.iop("f32.eq", "f32x4.eq", a, b);
  ne = (a: Val, b: Val) => this.iop("f32.ne", "f32x4.ne", a, b);
  /** A float comparison by name (eq, ne, lt, le, gt, ge). */
  fcmp(kind: string, a: Val, b: Val): Val {
    return this.iop(`f32.${kind}` as Op, `f32x4.${kind}` as Op, a, b);
  }
  and = (a: Val, b: Val) => this.iop("i32.and", "v128.and", a, b);
  or = (a: Val, b: Val) => this.iop("i32.or", "v128.or", a, b);
  select(m: Val, a: Val, b: Val): Val {
    const type = this.b.typeOf(a);
    return this.out(type, () => this.b.get(a).get(b).get(m).ins(this.vec ? "v128.bitselect" : "select"));
  }
  /** Truncation toward zero, saturating, NaN to 0 (exactly XLA's float -> int32 conversion). */
  toInt = (a: Val) => this.iop("i32.trunc_sat_f32_s", "i32x4.trunc_sat_f32x4_s", a);
  toIntU = (a: Val) => this.iop("i32.trunc_sat_f32_u", "i32x4.trunc_sat_f32x4_u", a);
  toFloat = (a: Val) => this.fop("f32.convert_i32_s", "f32x4.convert_i32x4_s", a);
  toFloatU = (a: Val) => this.fop("f32.convert_i32_u", "f32x4.convert_i32x4_u", a);
  bitsOf = (a: Val) => (this.vec ? a : this.op("i32.reinterpret_f32", "i32.reinterpret_f32", "i32", a));
  fromBits = (a: Val) => (this.vec ? a : this.op("f32.reinterpret_i32", "f32.reinterpret_i32", "f32", a));
  iadd = (a: Val, b: Val) => this.iop("i32.add", "i32x4.add", a, b);
  isub = (a: Val, b: Val) => this.iop("i32.sub", "i32x4.sub", a, b);
  imul = (a: Val, b: Val) => this.iop("i32.mul", "i32x4.mul", a, b);
  iand = (a: Val, b: Val) => this.iop("i32.and", "v128.and", a, b);
  ior = (a: Val, b: Val) => this.iop("i32.or", "v128.or", a, b);
  ixor = (a: Val, b: Val) => this.iop("i32.xor", "v128.xor", a, b);
  private shiftConst(a: Val, n: number, s: Op, v: Op): Val {
    return this.out(this.it, () => this.b.get(a).i32Const(n).ins(this.vec ? v : s));
  }
  ishl = (a: Val, n: number) => this.shiftConst(a, n, "i32.shl", "i32x4.shl");
  ishr = (a: Val, n: number) => this.shiftConst(a, n, "i32.shr_s", "i32x4.shr_s");
  ishru = (a: Val, n: number) => this.shiftConst(a, n, "i32.shr_u", "i32x4.shr_u");

  // Integer comparisons and extrema ------------------------------------------------------

  icmp(kind: string, a: Val, b: Val, unsigned: boolean): Val {
    const sfx = kind === "eq" || kind === "ne" ? "" : unsigned ? "_u" : "_s";
    return this.iop(`i32.${kind}${sfx}` as Op, `i32x4.${kind}${sfx}` as Op, a, b);
  }
  imax(a: Val, b: Val, unsigned: boolean): Val {
    return this.vec ? this.iop("i32x4.max_s", unsigned ? "i32x4.max_u" : "i32x4.max_s", a, b) : this.select(this.icmp("gt", a, b, unsigned), a, b);
  }
  imin(a: Val, b: Val, unsigned: boolean): Val {
    return this.vec ? this.iop("i32x4.min_s", unsigned ? "i32x4.min_u" : "i32x4.min_s", a, b) : this.select(this.icmp("lt", a, b, unsigned), a, b);
  }
  /** A mask (comparison result) as a bool value 0/1. */
  maskToBool = (m: Val): Val => (this.vec ? this.iop("i32x4.neg", "i32x4.neg", m) : m);
  /** A bool value (0/1) as a mask. */
  boolToMask = (b: Val): Val => (this.vec ? this.iop("i32x4.neg", "i32x4.neg", b) : b);
  /** The mask of `v != 0` for an integer value. */
  nonzero = (v: Val): Val => (this.vec ? this.icmp("ne", v, this.i(0), false) : v);

  /** An integer result wrapped to dtype `d` (the JS `<< 24 >> 24`, `& 255`, ...). */
  wrap(v: Val, d: DType): Val {
    if (d.isBool || d.bits === 32) return v;
    if (d.isUnsigned) return this.iand(v, this.i(2 ** d.bits - 1));
    if (!this.vec) return this.op(d.bits === 8 ? "i32.extend8_s" : "i32.extend16_s", "i32.extend8_s", "i32", v);
    return this.ishr(this.ishl(v, 32 - d.bits), 32 - d.bits);
  }
}

/**
 * One ALU op of the kernel IR: `prim` with its params over `args` (values of `inDtypes`), a
 * value of `dtype`. `scalarArg(i)` gives operand i as a scalar local where it is loop-invariant
 * (shift amounts in SIMD code); null where it varies per lane.
 */
export function renderAlu(L: Lanes, prim: string, params: unknown, args: Val[], inDtypes: readonly DType[], dtype: DType, scalarArg: (i: number) => Val | null): Val {
  const d0 = inDtypes[0];
  switch (prim) {
    case "copy":
    case "stop_gradient":
      return args[0];
    case "select_n":
      return selectN(L, args, inDtypes);
    case "clamp":
      return isF32(dtype) ? L.fmin(L.fmax(args[1], args[0]), args[2]) : L.imin(L.imax(args[1], args[0], dtype.isUnsigned || dtype.isBool), args[2], dtype.isUnsigned || dtype.isBool);
    case "convert_element_type":
      return convert(L, args[0], d0, dtype);
    case "eq": case "ne": case "lt": case "le": case "gt": case "ge": {
      if (isF32(d0)) return L.maskToBool(L.fcmp(prim, args[0], args[1]));
      return L.maskToBool(L.icmp(prim, args[0], args[1], d0.isUnsigned || d0.isBool));
    }
  }
  if (isF32(d0 ?? dtype)) return floatOp(L, prim, params, args);
  return intOp(L, prim, params, args, dtype, scalarArg);
}

function floatOp(L: Lanes, prim: string, params: unknown, [a, b]: Val[]): Val {
  const alg = F32_MATH[prim];
  if (alg) return alg(L, a);
  switch (prim) {
    case "add": case "add_any": return L.add(a, b);
    case "sub": return L.sub(a, b);
    case "mul": return L.mul(a, b);
    case "div": return L.div(a, b);
    case "max": return L.fmax(a, b);
    case "min": return L.fmin(a, b);
    case "neg": return L.neg(a);
    case "abs": return L.abs(a);
    case "sqrt": return L.sqrt(a);
    case "floor": return L.floor(a);
    case "ceil": return L.ceil(a);
    case "square": return L.mul(a, a);
    // H.sign: NaN stays NaN, zeros keep their sign.
    case "sign": return L.select(L.gt(a, L.f(0)), L.f(1), L.select(L.lt(a, L.f(0)), L.f(-1), a));
    case "is_finite": return L.maskToBool(L.lt(L.abs(a), L.f(Infinity)));
    case "round": {
      if ((params as { rounding_method: number }).rounding_method === 1) return L.nearest(a);
      // H.roundAway: trunc(a), one more unit away from zero when the dropped fraction is >= 1/2
      // (a - trunc(a) is exact); a select (not an add of 0) keeps trunc's -0 for -0.5 < a <= -0.
      const t = L.trunc(a);
      const up = L.ge(L.abs(L.sub(a, t)), L.f(0.5));
      return L.select(up, L.add(t, L.select(L.lt(a, L.f(0)), L.f(-1), L.f(1))), t);
    }
    case "integer_pow": return ipowF32(L, a, (params as { y: number }).y);
    case "rsqrt": return rsqrt(L, a);
  }
  throw new Error(`renderAlu: float32 ${prim} is not rendered`);
}

/** H.ipowf32: square-and-multiply with float32 rounding at each step, 1 / acc for negative powers. */
function ipowF32(L: Lanes, x: Val, n: number): Val {
  let m = Math.abs(n);
  let acc: Val | null = null;
  let base = x;
  while (m > 0) {
    if (m & 1) acc = acc === null ? base : L.mul(acc, base);
    m >>>= 1;
    if (m > 0) base = L.mul(base, base);
  }
  const r = acc ?? L.f(1);
  return n < 0 ? L.div(L.f(1), r) : r;
}

/** `1 / Math.sqrt(a)` rounded once to float32: computed in float64 as JS does. */
function rsqrt(L: Lanes, a: Val): Val {
  const b = L.b;
  if (!L.vec) return L.out("f32", () => b.f64Const(1).get(a).ins("f64.promote_f32").ins("f64.sqrt").ins("f64.div").ins("f32.demote_f64"));
  // Both halves through f64x2, demoted and joined.
  const one = L.d(1);
  const half = (src: Val): Val => L.out("v128", () => b.get(one).get(src).ins("f64x2.promote_low_f32x4").ins("f64x2.sqrt").ins("f64x2.div").ins("f32x4.demote_f64x2_zero"));
  const lo = half(a);
  const hi = half(highHalf(L, a));
  return L.out("v128", () => b.get(lo).get(hi).shuffle(JOIN_LOW_HALVES));
}

/** Lanes 2, 3 of a vector moved to lanes 0, 1 (for f64x2.promote_low_f32x4). */
export function highHalf(L: Lanes, a: Val): Val {
  return L.out("v128", () => L.b.get(a).get(a).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]));
}
/** Shuffle joining lanes 0, 1 of the first operand and lanes 0, 1 of the second. */
export const JOIN_LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

function intOp(L: Lanes, prim: string, params: unknown, [a, b]: Val[], d: DType, scalarArg: (i: number) => Val | null): Val {
  const u = d.isUnsigned || d.isBool;
  const w = (v: Val) => L.wrap(v, d);
  switch (prim) {
    case "add": case "add_any": return d.isBool ? L.ior(a, b) : w(L.iadd(a, b));
    case "sub": return w(L.isub(a, b));
    case "mul": return d.isBool ? L.iand(a, b) : w(L.imul(a, b));
    case "neg": return w(L.isub(L.i(0), a));
    case "abs": return d.isUnsigned ? a : w(L.vec ? absVec(L, a) : L.select(L.icmp("lt", a, L.i(0), false), L.isub(L.i(0), a), a));
    case "sign":
      if (u) return L.maskToBool(L.icmp("ne", a, L.i(0), false));
      // (a > 0) - (a < 0): masks are -1 in SIMD, so there it is (a < 0) - (a > 0).
      return L.vec ? L.isub(L.icmp("lt", a, L.i(0), false), L.icmp("gt", a, L.i(0), false)) : L.isub(L.icmp("gt", a, L.i(0), false), L.icmp("lt", a, L.i(0), false));
    case "square": return w(L.imul(a, a));
    case "not": return d.isBool ? L.ixor(a, L.i(1)) : w(L.ixor(a, L.i(-1)));
    case "and": return L.iand(a, b);
    case "or": return L.ior(a, b);
    case "xor": return L.ixor(a, b);
    case "max": return L.imax(a, b, u);
    case "min": return L.imin(a, b, u);
    case "integer_pow": {
      // H.ipow: square-and-multiply with wrapping products (the last squaring included: it is unused).
      let y = (params as { y: number }).y;
      let r = L.i(1);
      let base = a;
      while (y > 0) {
        if (y & 1) r = L.imul(r, base);
        base = L.imul(base, base);
        y >>>= 1;
      }
      return w(r);
    }
    case "shift_left": case "shift_right_logical": case "shift_right_arithmetic":
      return shift(L, prim, a, b, d, scalarArg(1));
  }
  throw new Error(`renderAlu: ${d.name} ${prim} is not rendered`);
}

function absVec(L: Lanes, a: Val): Val {
  return L.iop("i32x4.abs", "i32x4.abs", a);
}

/**
 * The shifts of binary.ts: amounts >= the bit width give 0 (the sign fill for arithmetic right
 * shifts of signed types, where the amount is clamped to 31). In SIMD the amount must be a
 * loop-invariant scalar (`sb`).
 */
function shift(L: Lanes, prim: string, a: Val, b: Val, d: DType, sb: Val | null): Val {
  const amount = L.vec ? sb : b;
  if (amount === null) throw new Error(`renderAlu: ${prim} with a per-lane amount has no SIMD form`);
  const fb = L.b;
  const op = (s: Op, v: Op): void => void fb.ins(L.vec ? v : s);
  if (prim === "shift_right_arithmetic" && !d.isUnsigned) {
    // a >> min(b >>> 0, 31)
    return L.out(L.it, () => {
      fb.get(a).get(amount).i32Const(31).get(amount).i32Const(31).ins("i32.lt_u").select();
      op("i32.shr_s", "i32x4.shr_s");
    });
  }
  const src = prim === "shift_right_logical" && d.bits < 32 ? L.iand(a, L.i(2 ** d.bits - 1)) : a;
  const zero = L.i(0);
  // (b >>> 0 >= bits) ? 0 : shifted
  const r = L.out(L.it, () => {
    fb.get(zero).get(src).get(amount);
    if (prim === "shift_left") op("i32.shl", "i32x4.shl");
    else op("i32.shr_u", "i32x4.shr_u");
    fb.get(amount).i32Const(d.bits).ins("i32.ge_u").select();
  });
  return L.wrap(r, d);
}

/** select_n(which, cases...): `which ? c1 : c0`, or cases[clamp(which, 0, n - 1)]. */
function selectN(L: Lanes, [w, ...cases]: Val[], inDtypes: readonly DType[]): Val {
  if (cases.length === 1) return cases[0];
  const wd = inDtypes[0];
  if (wd.isBool) return L.select(L.boolToMask(w), cases[1], cases[0]);
  if (cases.length === 2) return L.select(L.nonzero(w), cases[1], cases[0]);
  let r = cases[0];
  for (let j = 1; j < cases.length; j++) r = L.select(L.icmp("ge", w, L.i(j), wd.isUnsigned), cases[j], r);
  return r;
}

/** convert_element_type: to bool `x != 0`; float -> int saturating truncation (H.f2i); int -> int wraps; -> float32 rounds. */
function convert(L: Lanes, a: Val, from: DType, to: DType): Val {
  if (to.isBool) return L.maskToBool(isF32(from) ? L.ne(a, L.f(0)) : L.icmp("ne", a, L.i(0), false));
  if (isF32(to)) return isF32(from) ? a : from.name === "uint32" ? L.toFloatU(a) : L.toFloat(a);
  if (isF32(from)) {
    if (to.name === "uint32") return L.toIntU(a);
    const t = L.toInt(a);
    if (to.bits === 32) return t;
    const lo = to.isUnsigned ? 0 : -(2 ** (to.bits - 1));
    const hi = to.isUnsigned ? 2 ** to.bits - 1 : 2 ** (to.bits - 1) - 1;
    return L.imin(L.imax(t, L.i(lo), false), L.i(hi), false);
  }
  return L.wrap(a, to);
}
