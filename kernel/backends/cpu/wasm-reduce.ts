// The reductions of the WebAssembly kernel generator (codegen-wasm.ts, which decides where
// each piece goes): the accumulator of one REDUCE op, its fold step as a scalar and over SIMD
// lanes, the combination of lane accumulators, the rounding to the reduction's dtype, and the
// scratch array of "outer" mode. Every step is codegen-js's `reduceStep`, exactly:
//   sum      float: float64 `acc += v` (f64, or two f64x2 halves of the promoted f32x4);
//            int: i32 wrapping add (JS adds in float64 and wraps at the end: equal while the sum
//            is exact, |sum| < 2^53); bool: or.
//   prod     float: float64 `acc *= v`; int32/uint32: wrapping (Math.imul).
//   max/min  float: `if (v > acc || v !== v) acc = v` (strictly greater, or NaN), as a select;
//            int: i32x4.max/min (signed or unsigned).
//   and/or   bitwise.
// Pure: it appends instructions to a FunctionBuilder through the Lanes emitters.

import { DType } from "../../core/dtype";
import { reduceInit } from "../../lower/codegen-js";
import { KOp, ReduceKind } from "../../lower/kernel-ir";
import { JOIN_LOW_HALVES, Lanes, Val, highHalf, isF32 } from "./wasm-lanes";

export type ReduceOp = Extract<KOp, { op: "reduce" }>;
export type AccType = "f64" | "f32" | "i32";

/** What accumulates a reduction: float64 for float sums and products, float32 for float max/min, i32 otherwise. */
export function accType(kind: ReduceKind, d: DType): AccType {
  if (!isF32(d)) return "i32";
  return kind === "sum" || kind === "prod" ? "f64" : "f32";
}
export const ACC_BYTES: Record<AccType, number> = { f64: 8, f32: 4, i32: 4 };

/** Code for one REDUCE op: `S` renders scalars, `V` four lanes. */
export class Fold {
  readonly at: AccType;
  constructor(
    readonly r: ReduceOp,
    private readonly S: Lanes,
    private readonly V: Lanes,
  ) {
    this.at = accType(r.kind, r.dtype);
  }
  private get f() {
    return this.S.b;
  }

  setConst(local: number, value: number): void {
    const at = this.at;
    if (at === "f64") this.f.f64Const(value);
    else if (at === "f32") this.f.f32Const(value);
    else this.f.i32Const(value | 0);
    this.f.set(local);
  }
  initVec(): Val {
    const { r, at } = this;
    const init = reduceInit(r.kind, r.dtype);
    return at === "f64" ? this.V.d(init) : at === "f32" ? this.V.f(init) : this.V.i(init | 0);
  }

  /** acc = step(acc, v), the scalar rule of codegen-js's reduceStep. */
  stepScalar(acc: number, v: Val): void {
    const { r, at } = this;
    const f = this.f;
    const S = this.S;
    if (at === "f64") {
      f.get(acc).get(v).ins("f64.promote_f32").ins(r.kind === "sum" ? "f64.add" : "f64.mul").set(acc);
      return;
    }
    let nv: Val;
    if (at === "f32") {
      const cmp = r.kind === "max" ? S.gt(v, acc) : S.lt(v, acc);
      nv = S.select(S.or(cmp, S.ne(v, v)), v, acc);
    } else {
      const u = r.dtype.isUnsigned || r.dtype.isBool;
      switch (r.kind) {
        case "sum": nv = r.dtype.isBool ? S.ior(acc, v) : S.iadd(acc, v); break;
        case "prod": nv = S.imul(acc, v); break;
        case "max": nv = S.select(S.icmp("gt", v, acc, u), v, acc); break;
        case "min": nv = S.select(S.icmp("lt", v, acc, u), v, acc); break;
        case "and": nv = S.iand(acc, v); break;
        case "or": nv = S.ior(acc, v); break;
      }
    }
    f.get(nv).set(acc);
  }

  /** The same step on vector accumulators (two f64x2 halves for float64 accumulation). */
  stepVector(accs: number[], v: Val): void {
    const { r, at } = this;
    const f = this.f;
    const V = this.V;
    if (at === "f64") {
      const op = r.kind === "sum" ? "f64x2.add" : "f64x2.mul";
      f.get(accs[0]).get(v).ins("f64x2.promote_low_f32x4").ins(op).set(accs[0]);
      f.get(accs[1]).get(highHalf(V, v)).ins("f64x2.promote_low_f32x4").ins(op).set(accs[1]);
      return;
    }
    const acc = accs[0];
    let nv: Val;
    if (at === "f32") {
      const cmp = r.kind === "max" ? V.gt(v, acc) : V.lt(v, acc);
      nv = V.select(V.or(cmp, V.ne(v, v)), v, acc);
    } else {
      const u = r.dtype.isUnsigned || r.dtype.isBool;
      switch (r.kind) {
        case "sum": nv = r.dtype.isBool ? V.ior(acc, v) : V.iadd(acc, v); break;
        case "prod": nv = V.imul(acc, v); break;
        case "max": nv = V.imax(acc, v, u); break;
        case "min": nv = V.imin(acc, v, u); break;
        case "and": nv = V.iand(acc, v); break;
        case "or": nv = V.ior(acc, v); break;
      }
    }
    f.get(nv).set(acc);
  }

  /**
   * Inner mode: folds the vector accumulators into the scalar one. For float max/min, a zero
   * result seen as +0 in one subset and -0 in another is recomputed by a scalar pass in order.
   */
  combine(acc: number, vacc: number[], rescan: () => void): void {
    const { r, at } = this;
    const f = this.f;
    const S = this.S;
    const V = this.V;
    if (at === "f64") {
      let t = vacc[0];
      for (let j = 1; j < vacc.length; j++) t = V.out("v128", () => f.get(t).get(vacc[j]).ins("f64x2.add"));
      f.get(acc).get(t).lane("f64x2.extract_lane", 0).ins("f64.add").get(t).lane("f64x2.extract_lane", 1).ins("f64.add").set(acc);
      return;
    }
    const lanes = (v: Val, fn: (x: Val) => void) => {
      for (let j = 0; j < 4; j++) fn(S.out(at, () => f.get(v).lane(at === "f32" ? "f32x4.extract_lane" : "i32x4.extract_lane", j)));
    };
    if (at === "i32") {
      for (let j = 1; j < vacc.length; j++) this.stepVector([vacc[0]], vacc[j]);
      lanes(vacc[0], (x) => this.stepScalar(acc, x));
      return;
    }
    // float32 max/min: JS's rule over the subsets, and which zeros they ended on.
    const pos = f.local("i32");
    const neg = f.local("i32");
    const zeroFlags = (x: Val, first: boolean) => {
      const bits = S.bitsOf(x);
      f.get(bits).i32Eqz();
      if (!first) f.get(pos).ins("i32.or");
      f.set(pos);
      f.get(bits).i32Const(-0x80000000).i32Eq();
      if (!first) f.get(neg).ins("i32.or");
      f.set(neg);
    };
    zeroFlags(acc, true);
    for (const v of vacc) lanes(v, (x) => {
      zeroFlags(x, false);
      this.stepScalar(acc, x);
    });
    f.get(acc).f32Const(0).ins("f32.eq").get(pos).ins("i32.and").get(neg).ins("i32.and").if();
    this.setConst(acc, reduceInit(r.kind, r.dtype));
    rescan();
    f.end();
  }

  /** The reduction's value (rounded to its dtype, as codegen-js's roundAcc) from the scalar accumulator. */
  roundAcc(acc: number): Val {
    const { r, at } = this;
    if (at === "f64") return this.S.out("f32", () => this.f.get(acc).ins("f32.demote_f64"));
    if (at === "f32") return acc;
    if (r.dtype.isBool) return this.S.maskToBool(this.S.icmp("ne", acc, this.S.i(0), false));
    return this.S.wrap(acc, r.dtype);
  }

  /** Outer mode: every accumulator of the scratch array set to the initial value. */
  fillScratch(scratch: number, count: number): void {
    const at = this.at;
    const init = reduceInit(this.r.kind, this.r.dtype);
    const f = this.f;
    const bytes = count * ACC_BYTES[at];
    if (bytes === 0) return;
    if (init === 0 && !Object.is(init, -0)) {
      f.get(scratch).i32Const(0).i32Const(bytes).memoryFill();
      return;
    }
    const p = f.local("i32");
    f.get(scratch).set(p);
    f.loop();
    f.get(p);
    if (at === "f64") f.f64Const(init).mem("f64.store");
    else if (at === "f32") f.f32Const(init).mem("f32.store");
    else f.i32Const(init | 0).mem("i32.store");
    f.get(p).i32Const(ACC_BYTES[at]).i32Add().tee(p).get(scratch).i32Const(bytes).i32Add().ins("i32.lt_u").brIf(0);
    f.end();
  }

  /** Outer mode, innermost statement: the accumulator at `p` folds the value. */
  stepScratch(p: number, u: number | null, v: Val): void {
    const at = this.at;
    const f = this.f;
    if (u === null) {
      const a = f.local(at);
      f.get(p).mem(at === "f64" ? "f64.load" : at === "f32" ? "f32.load" : "i32.load").set(a);
      this.stepScalar(a, v);
      f.get(p).get(a).mem(at === "f64" ? "f64.store" : at === "f32" ? "f32.store" : "i32.store");
      return;
    }
    const n = at === "f64" ? 2 : 1;
    const accs: number[] = [];
    for (let j = 0; j < n; j++) accs.push(this.V.out("v128", () => f.get(p).mem("v128.load", 16 * (n * u + j))));
    this.stepVector(accs, v);
    accs.forEach((a, j) => f.get(p).get(a).mem("v128.store", 16 * (n * u + j)));
  }

  /** Outer mode, epilogue: the reduction's value from the scratch array. */
  loadScratch(p: number, u: number | null): Val {
    const { r, at } = this;
    const f = this.f;
    if (u === null) {
      const a = this.S.out(at, () => f.get(p).mem(at === "f64" ? "f64.load" : at === "f32" ? "f32.load" : "i32.load"));
      return this.roundAcc(a);
    }
    const V = this.V;
    if (at === "f64") {
      const half = (j: number) => V.out("v128", () => f.get(p).mem("v128.load", 16 * (2 * u + j)).ins("f32x4.demote_f64x2_zero"));
      const lo = half(0);
      const hi = half(1);
      return V.out("v128", () => f.get(lo).get(hi).shuffle(JOIN_LOW_HALVES));
    }
    const a = V.out("v128", () => f.get(p).mem("v128.load", 16 * u));
    if (at === "f32") return a;
    if (r.dtype.isBool) return V.maskToBool(V.icmp("ne", a, V.i(0), false));
    return V.wrap(a, r.dtype);
  }
}
