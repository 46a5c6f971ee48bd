// WebAssembly code generation for the CPU backend's fused kernels: a pure function from a
// kernel (kernel/lower/kernel-ir.ts) to the bytes of a module and a WAT-like listing of it.
// Nothing here touches a memory or instantiates anything (wasm-kernels.ts runs the modules).
// The semantics are codegen-js.ts's, value for value (wasm-lanes.ts says how each op is made
// exact); only what has an exact rendering is eligible (`wasmSupport`), the rest stays JS.
//
// Module: imports env.memory (shared: worker threads run the same kernels on it) and exports
// `kernel(b0, b1, ..., [scratch], [lo, hi])`: the byte offsets of the kernel's buffers in that
// memory (outputs first, then inputs, as Kernel.bufs), a scratch area of `scratchBytes` when
// the kernel accumulates into one (see below), and with `split` the range of iterations of the
// outermost loop to run (kernel-threads.ts gives each thread one).
//
// Loops are codegen-js's: axis 0 outermost, constant trip counts, each op at the outermost loop
// where its inputs are known. Addresses are strength-reduced: every load/store keeps a pointer
// per loop level it moves along, set when the loop opens and bumped by its stride each
// iteration. The innermost loop of a nest is vectorised (f32x4 / i32x4, four points per step,
// then a scalar loop for the remaining points); values computed outside it are splat. Operands
// with stride 1 along it move as whole vectors; others (transposed, reversed, strided views)
// are gathered into lanes and scattered back one element at a time. Shifts by a per-element
// amount have no SIMD form: such a nest stays scalar.
//
// Reductions, as codegen-js: when the folded axes are innermost ("inner" mode) the accumulator
// is a local per kept point; otherwise ("outer" mode) the nest walks the input in order and
// accumulates into an array in the scratch area (f64 for float sums/products, f32 for float
// max/min, i32 for integers), and the epilogue runs in a second nest over the kept axes.
// - Outer mode, vectorised along a kept axis: each lane is a different output folded in
//   row-major order, exactly as JS: identical results for every kind.
// - Inner mode, vectorised along the folded axis: lanes (and unrolled copies) accumulate
//   disjoint subsets, combined at the end. Float sums accumulate in float64 (f64x2 lanes from
//   the promoted halves of each f32x4) and round once, as JS does, but in a different order:
//   the float64 sums can differ in their last bits, which after rounding to float32 almost
//   never shows (the tests accept 1 float32 ulp). Integer sums wrap in i32, which equals JS's
//   float64 sum wrapped at the end whenever that sum is exact (|sum| < 2^53). max/min, and/or
//   and integer products are exact: max/min keep JS's rule per subset (a later element replaces
//   the accumulator only if strictly greater, or NaN), and the one case where the subsets'
//   order matters, a maximum of 0 found as +0 in one subset and -0 in another (JS returns the
//   first zero in row-major order), is redone by a scalar pass over that row. Float products
//   are not vectorised in inner mode (float64 products of reordered factors can overflow
//   differently); they run scalar, in order.
//
// Measurements (2-core AMD EPYC VM, Node 20; the kernel alone, operands already in place, min
// of 11 runs after warm-up, ms; JS is the generated JS kernel on typed arrays):
//   kernel                        JS      wasm    module (generate + compile, warm)
//   x + 1, 1M                     2.09    0.16    ~0.5 ms
//   tanh(2x + 1) x, 1M            51.9    4.4     ~1-3 ms (tanh is ~80 SIMD instructions)
//   exp, 1M                       38.1    2.0
//   sum, 16M                      16.1    4.2     (memory-bound: 16 GB/s)
//   max, 16M                      26.4    4.2
//   sum over axis 0, 1024x1024    1.87    0.23    (outer mode, vectorised along the kept axis)
//   sum over axis 1, 1024x1024    0.98    0.17    (inner mode, lanes)
//   exp(x - m) summed, 16M        648     26.5
//   x.T * 2, 1024x1024            3.76    5.4     (gathered lanes, 4 KiB apart: JS wins)
//   rev(x) + 1, 1M                1.95    0.29    (gathered, 4 bytes apart)
// Accumulators per vectorised reduction (reduceUnroll): sum over 16M 5.1 ms with 1, 4.2 with
// 2 or 4 (memory-bound from 2 on); max 8.3 / 5.3 / 4.5 ms with 1 / 2 / 4 (its select chain is
// latency-bound), so 4. Unrolling elementwise loops (`unroll`) changed nothing measurable
// (tanh: 4.5 / 4.4 / 4.3 ms with 1 / 2 / 4), so 1. Which kernels then run as wasm in compiled
// programs, and why, is in wasm-kernels.ts (WasmKernel.preferred) and compiled.ts.

import { DType } from "../../core/dtype";
import { reduceInit } from "../../lower/codegen-js";
import { KIndex, KOp, Kernel, opDepths, reducePhases } from "../../lower/kernel-ir";
import { FunctionBuilder, MemOp, ModuleBuilder, ValType } from "./wasm-encoder";
import { Lanes, Val, isF32, isShift, renderAlu } from "./wasm-lanes";
import { DEFAULT_MEMORY, WasmCodegenOptions, WasmKernelModule, wasmSplittable, wasmSupport } from "./wasm-support";
import { ACC_BYTES, Fold } from "./wasm-reduce";

export { DEFAULT_MEMORY, wasmSplittable, wasmSupport } from "./wasm-support";
export type { WasmCodegenOptions, WasmKernelModule, WasmMemoryShape } from "./wasm-support";

/** An addressed operand: a buffer (or the scratch accumulators) read or written through an affine index. */
interface Access {
  param: number;
  index: KIndex;
  size: number;
}

type Mode = { vec: false } | { vec: true; u: number };
const SCALAR: Mode = { vec: false };

interface Nest {
  axes: number[];
  include: (i: number) => boolean;
  depth: number[];
  accesses: Map<string, Access>;
  vector: boolean;
  /** Statements at a level before its loop opens / after it closes. */
  open?: Map<number, () => void>;
  close?: Map<number, () => void>;
  /** Innermost statements, after the ops. */
  body?: (mode: Mode) => void;
  /** Ops emitted after the level's loop closes (the epilogue, inner mode). */
  closeOps?: (i: number) => boolean;
}

/** The module of a kernel. Throws if `wasmSupport` refuses it. */
export function generateWasm(k: Kernel, opts: WasmCodegenOptions = {}): WasmKernelModule {
  const why = wasmSupport(k);
  if (why) throw new Error(`generateWasm: kernel ${k.name} is not eligible (${why})`);
  return new Generator(k, opts).module();
}

class Generator {
  private readonly f: FunctionBuilder;
  private readonly mod: ModuleBuilder;
  private readonly ops: KOp[];
  private readonly S: Lanes;
  private readonly V: Lanes;
  private readonly sval: (Val | undefined)[];
  private vval: (Val | undefined)[][];
  private readonly scratchParam: number;
  private readonly simd: boolean;
  private readonly unroll: number;
  private readonly reduceUnroll: number;
  private scratchBytes = 0;
  private vectorized = false;
  /** Whether a vectorised loop reads or writes lanes one by one (strided views), and their largest stride in bytes. */
  private gathered = false;
  private gatherBytes = 0;
  private readonly notes: string[] = [];
  private note(n: string): void {
    if (!this.notes.includes(n)) this.notes.push(n);
  }
  /** Pointer locals: by access key, per loop level. */
  private ptrs = new Map<string, number[]>();
  private readonly counters = new Map<number, number>();
  /** The split range's parameters. */
  private readonly range: { lo: number; hi: number } | null;

  constructor(
    private readonly k: Kernel,
    opts: WasmCodegenOptions,
  ) {
    const mem = opts.memory ?? DEFAULT_MEMORY;
    this.mod = new ModuleBuilder({ module: "env", name: "memory", minPages: mem.minPages, shared: { maxPages: mem.maxPages } });
    const red = k.ops.find((o) => o.op === "reduce");
    const inner = this.innerMode();
    const params: ValType[] = k.bufs.map(() => "i32");
    if (red && !inner) params.push("i32");
    this.scratchParam = k.bufs.length;
    const split = (opts.split ?? false) && wasmSplittable(k);
    if (split) params.push("i32", "i32");
    this.range = split ? { lo: params.length - 2, hi: params.length - 1 } : null;
    this.f = this.mod.func("kernel", params);
    this.simd = opts.simd ?? true;
    this.unroll = opts.unroll ?? 1;
    this.reduceUnroll = opts.reduceUnroll ?? 4;
    const start = this.f.mark();
    const prelude = (emit: () => void) => this.f.insertAt(start, emit);
    const consts = new Map<string, Val>();
    this.S = new Lanes(this.f, false, prelude, consts);
    this.V = new Lanes(this.f, true, prelude, consts);
    this.ops = k.ops;
    this.sval = new Array(k.ops.length);
    this.vval = [];
  }

  private innerMode(): boolean {
    const k = this.k;
    const firstReduced = k.reduced.indexOf(true);
    return !k.ops.some((o) => o.op === "reduce") || firstReduced < 0 || k.reduced.every((r, d) => r === d >= firstReduced);
  }

  module(): WasmKernelModule {
    this.emitKernel();
    const bytes = this.mod.encode();
    const k = this.k;
    const head = [
      `;; ${k.name}: WebAssembly, ${k.shape.length ? `loops [${k.shape.map((s, d) => (k.reduced[d] ? `${s}r` : String(s))).join(", ")}]` : "one point"}${this.vectorized ? ", SIMD innermost loop" : ", scalar"}`,
      ...k.bufs.map((b, i) => `;;   $${i}: ${b.role} ${b.dtype.short}[${b.size}] (byte offset)`),
      ...(this.scratchBytes ? [`;;   $${this.scratchParam}: scratch, ${this.scratchBytes} bytes`] : []),
      ...(this.range ? [`;;   $${this.range.lo}, $${this.range.hi}: the iterations of the outermost loop to run (threads share the kernel)`] : []),
      ...this.notes.map((n) => `;; ${n}`),
    ];
    const f = this.f;
    let text: string | null = null;
    // The listing is formatted when first read (inspection), not on the compile path.
    return {
      bytes,
      scratchBytes: this.scratchBytes,
      vectorized: this.vectorized,
      gathered: this.gathered,
      gatherBytes: this.gatherBytes,
      split: this.range !== null,
      get text() {
        return (text ??= `${head.join("\n")}\n${f.text()}\n`);
      },
    };
  }

  // Structure (mirrors codegen-js.generateJs) ----------------------------------------------

  private emitKernel(): void {
    const k = this.k;
    const ops = this.ops;
    const allAxes = k.shape.map((_, d) => d);
    const red = ops.findIndex((o) => o.op === "reduce");
    const keptAxes = allAxes.filter((d) => !k.reduced[d]);
    const { post, pro, epi } = reducePhases(ops);
    const bufAccesses = (include: (i: number) => boolean) => {
      const m = new Map<string, Access>();
      ops.forEach((o, i) => {
        if ((o.op === "load" || o.op === "store") && include(i)) m.set(String(i), { param: o.buf, index: o.index, size: k.bufs[o.buf].dtype.itemsize });
      });
      return m;
    };
    if (red < 0) {
      const all = () => true;
      const nest: Nest = { axes: allAxes, include: all, depth: this.depthsFor(allAxes, all, 0), accesses: bufAccesses(all), vector: false };
      this.prepareVector(nest, true, () => {});
      this.runNest(nest);
      return;
    }
    const r = ops[red] as Extract<KOp, { op: "reduce" }>;
    const fold = new Fold(r, this.S, this.V);
    const at = fold.at;
    if (this.innerMode()) {
      const kdepth = keptAxes.length;
      const all = () => true;
      const depth = this.depthsFor(allAxes, all, kdepth);
      for (let i = 0; i < ops.length; i++) if (post[i]) depth[i] = Math.max(depth[i], kdepth);
      const acc = this.f.local(at);
      const lanes = at === "f64" ? 2 : 1;
      const vacc: Val[] = [];
      const nest: Nest = { axes: allAxes, include: all, depth, accesses: bufAccesses(all), vector: false, closeOps: (i) => post[i] };
      // Reordering float products changes their float64 overflow: scalar only.
      const vectorOk = !(r.kind === "prod" && isF32(r.dtype)) && kdepth < allAxes.length;
      nest.open = new Map([[kdepth, () => {
        fold.setConst(acc, reduceInit(r.kind, r.dtype));
        if (nest.vector) for (const v of vacc) this.f.get(fold.initVec()).set(v);
      }]]);
      nest.body = (mode) => {
        if (!mode.vec) return fold.stepScalar(acc, this.sv(r.src));
        const mine = vacc.slice(mode.u * lanes, (mode.u + 1) * lanes);
        fold.stepVector(mine, this.vv(r.src, mode.u));
      };
      nest.close = new Map([[kdepth, () => {
        if (!nest.vector) return;
        fold.combine(acc, vacc, () => {
          // The in-order pass over the folded loops (float max/min whose zero maximum came with both signs).
          const saved = this.vval;
          this.loop(nest, kdepth + 1, true);
          this.vval = saved;
          this.note("max/min: a zero maximum seen with both signs is recomputed in order (JS keeps the first zero)");
        });
      }]]);
      const origEmit = this.emitReduceValue;
      this.emitReduceValue = () => fold.roundAcc(acc);
      this.prepareVector(nest, vectorOk, () => {
        for (let i = 0; i < this.reduceUnroll * lanes; i++) vacc.push(this.f.local("v128"));
      });
      this.runNest(nest);
      this.emitReduceValue = origEmit;
      return;
    }
    // Outer mode: accumulate into the scratch array in order, then the epilogue over the kept axes.
    const keptSize = keptAxes.reduce((a, d) => a * k.shape[d], 1);
    const bytes = ACC_BYTES[at];
    this.scratchBytes = keptSize * bytes;
    const accStrides = allAxes.map(() => 0);
    for (let d = keptAxes.length - 1, s = 1; d >= 0; d--) (accStrides[keptAxes[d]] = s), (s *= k.shape[keptAxes[d]]);
    fold.fillScratch(this.scratchParam, keptSize);
    const inPro = (i: number) => pro[i];
    const acc1 = bufAccesses(inPro);
    acc1.set("A", { param: this.scratchParam, index: { offset: 0, strides: accStrides }, size: bytes });
    const nest1: Nest = { axes: allAxes, include: inPro, depth: this.depthsFor(allAxes, inPro, 0), accesses: acc1, vector: false };
    nest1.body = (mode) => fold.stepScratch(this.ptrAt("A", nest1), mode.vec ? mode.u : null, mode.vec ? this.vv(r.src, mode.u) : this.sv(r.src));
    const innerAxis = allAxes[allAxes.length - 1];
    this.prepareVector(nest1, accStrides[innerAxis] === 1, () => {});
    this.runNest(nest1);
    const inEpi = (i: number) => epi[i];
    const acc2 = bufAccesses(inEpi);
    acc2.set("A", { param: this.scratchParam, index: { offset: 0, strides: accStrides }, size: bytes });
    const nest2: Nest = { axes: keptAxes, include: inEpi, depth: this.depthsFor(keptAxes, inEpi, keptAxes.length), accesses: acc2, vector: false };
    const origEmit = this.emitReduceValue;
    this.emitReduceValue = (mode) => fold.loadScratch(this.ptrAt("A", nest2), mode.vec ? mode.u : null);
    this.prepareVector(nest2, true, () => {});
    this.runNest(nest2);
    this.emitReduceValue = origEmit;
  }

  /** The value of the REDUCE op where the epilogue reads it. */
  private emitReduceValue: (mode: Mode) => Val = () => {
    throw new Error("codegen-wasm: reduce value outside a reduction");
  };

  /** Level of each op in a nest over `axes`: 1 + the position of its innermost loop variable. */
  private depthsFor(axes: readonly number[], include: (i: number) => boolean, reduceDepth: number): number[] {
    return opDepths(this.ops, axes, include, reduceDepth);
  }

  /** Decides whether the nest's innermost loop runs four points per step (`ok`: what the caller requires). */
  private prepareVector(nest: Nest, ok: boolean, onVector: () => void): void {
    const m = nest.axes.length;
    if (!this.simd || !ok || m === 0 || this.k.shape[nest.axes[m - 1]] < 4) return;
    const ax = nest.axes[m - 1];
    let gathers = false;
    for (let i = 0; i < this.ops.length; i++) {
      if (!nest.include(i) || nest.depth[i] !== m || nest.closeOps?.(i)) continue;
      const o = this.ops[i];
      if ((o.op === "load" || o.op === "store") && o.index.strides[ax] !== 1) {
        gathers = true;
        this.gatherBytes = Math.max(this.gatherBytes, Math.abs(o.index.strides[ax]) * this.k.bufs[o.buf].dtype.itemsize);
      }
      if (o.op === "alu" && isShift(o.prim) && nest.depth[o.args[1]] === m) return;
    }
    // The scratch accumulators are read and written as whole vectors.
    const scratch = nest.accesses.get("A");
    if (scratch && scratch.index.strides[ax] !== 0 && scratch.index.strides[ax] !== 1) return;
    nest.vector = true;
    this.vectorized = true;
    this.gathered ||= gathers;
    onVector();
  }

  // Nest emission --------------------------------------------------------------------------

  private runNest(nest: Nest): void {
    this.ptrs = new Map();
    for (const [key, a] of nest.accesses) {
      const p = this.f.local("i32");
      this.f.get(a.param);
      if (a.index.offset) this.f.i32Const(a.index.offset * a.size).i32Add();
      this.f.set(p);
      this.ptrs.set(key, [p]);
    }
    this.vval = [];
    this.splat = new Map();
    this.level(nest, 0);
  }

  /** The pointer of access `key` at the innermost level where it is defined. */
  private ptrAt(key: string, nest: Nest): number {
    const p = this.ptrs.get(key)!;
    return p[Math.min(p.length - 1, nest.axes.length)];
  }

  private level(nest: Nest, d: number): void {
    const m = nest.axes.length;
    const emitOps = (close: boolean) => {
      for (let i = 0; i < this.ops.length; i++) if (nest.include(i) && nest.depth[i] === d && (nest.closeOps?.(i) ?? false) === close) this.emitOp(i, nest, SCALAR);
    };
    emitOps(false);
    nest.open?.get(d)?.();
    if (d < m) this.loop(nest, d + 1);
    else nest.body?.(SCALAR);
    nest.close?.get(d)?.();
    emitOps(true);
  }

  /** Opens the loop of level `l` (its pointers, counter, vector and scalar parts). */
  private loop(nest: Nest, l: number, forceScalar = false): void {
    const f = this.f;
    const m = nest.axes.length;
    const ax = nest.axes[l - 1];
    const n = this.k.shape[ax];
    if (n === 0) return;
    // The outermost loop of a kernel split over threads runs over [lo, hi) (parameters).
    const ranged = this.range !== null && l === 1;
    // Pointers of this level, starting where the enclosing level's are.
    const bumps: [number, number][] = [];
    for (const [key, a] of nest.accesses) {
      const p = this.ptrs.get(key)!;
      if (p.length < l) continue; // (defined up to an outer level: it does not move here)
      const s = a.index.strides[ax];
      const deeper = nest.depth.some((dd, i) => nest.include(i) && dd >= l && this.accessKey(i) === key) || key === "A";
      if (s === 0 || !deeper) {
        p[l] = p[l - 1];
        continue;
      }
      const local = f.local("i32");
      f.get(p[l - 1]);
      if (ranged) f.get(this.range!.lo).i32Const(s * a.size).i32Mul().i32Add();
      f.set(local);
      p[l] = local;
      bumps.push([local, s * a.size]);
    }
    const i = this.counter(l);
    if (ranged) f.get(this.range!.lo).set(i);
    else f.i32Const(0).set(i);
    const vector = nest.vector && l === m && !forceScalar;
    const iteration = (step: number, mode: (u: number) => Mode, slots: number) => {
      for (let u = 0; u < slots; u++) {
        const md = mode(u);
        for (let j = 0; j < this.ops.length; j++) if (nest.include(j) && nest.depth[j] === l && !nest.closeOps?.(j)) this.emitOp(j, nest, md);
        if (l === m) nest.body?.(md);
      }
      if (l < m) {
        nest.open?.get(l)?.();
        this.loop(nest, l + 1, forceScalar);
        nest.close?.get(l)?.();
        for (let j = 0; j < this.ops.length; j++) if (nest.include(j) && nest.depth[j] === l && nest.closeOps?.(j)) this.emitOp(j, nest, SCALAR);
      }
      for (const [p, bytes] of bumps) f.get(p).i32Const(bytes * step).i32Add().set(p);
      f.get(i).i32Const(step).i32Add();
    };
    /** Iterations of `step` points while i + step <= end (a constant: do-while; the range's end: tested first). */
    const run = (step: number, count: number, mode: (u: number) => Mode, slots: number) => {
      if (ranged) {
        // if (i + step <= hi) do { ... } while (i + step <= hi): one branch per iteration.
        const more = () => f.get(i).i32Const(step).i32Add().get(this.range!.hi).ins("i32.le_s");
        more().if().loop();
        iteration(step, mode, slots);
        f.set(i);
        more().brIf(0).end().end();
        return;
      }
      if (count <= 0) return;
      f.loop();
      iteration(step, mode, slots);
      f.tee(i).i32Const(count).ins("i32.lt_s").brIf(0);
      f.end();
    };
    if (vector) {
      const reduction = !!nest.body && this.ops.some((o) => o.op === "reduce") && this.innerMode();
      const U = Math.max(1, reduction ? this.reduceUnroll : this.unroll);
      const main = Math.floor(n / (4 * U)) * 4 * U;
      const whole = Math.floor(n / 4) * 4;
      run(4 * U, main, (u) => ({ vec: true, u }), U);
      if (whole > main || (ranged && U > 1)) {
        this.vval = [];
        run(4, whole, () => ({ vec: true, u: 0 }), 1);
      }
      this.vval = [];
      if (n > whole || ranged) run(1, n, () => SCALAR, 1);
      // (Each run's counter continues where the previous one stopped.)
    } else run(1, n, () => SCALAR, 1);
    this.vval = [];
  }

  private accessKey(i: number): string | null {
    const o = this.ops[i];
    return o.op === "load" || o.op === "store" ? String(i) : null;
  }

  private counter(l: number): number {
    let c = this.counters.get(l);
    if (c === undefined) this.counters.set(l, (c = this.f.local("i32")));
    return c;
  }

  // Ops ------------------------------------------------------------------------------------

  private splat = new Map<number, Val>();

  /** The scalar value of op `i`. */
  private sv(i: number): Val {
    const o = this.ops[i];
    if (o.op === "const") return this.constant(this.S, o.dtype, o.value);
    const v = this.sval[i];
    if (v === undefined) throw new Error(`codegen-wasm: %${i} used before it is computed`);
    return v;
  }
  /** The vector value of op `i` in unroll slot `u` (a splat where it is loop-invariant). */
  private vv(i: number, u: number): Val {
    const o = this.ops[i];
    if (o.op === "const") return this.constant(this.V, o.dtype, o.value);
    const v = this.vval[u]?.[i] ?? this.splat.get(i);
    if (v === undefined) throw new Error(`codegen-wasm: %${i} has no vector value`);
    return v;
  }
  private constant(L: Lanes, d: DType, value: number): Val {
    if (isF32(d)) return L.f(value);
    if (d.isBool) return L.i(value ? 1 : 0);
    const s = new d.storage(1);
    s[0] = value;
    return L.i(Number(s[0]) | 0);
  }

  private emitOp(i: number, nest: Nest, mode: Mode): void {
    const o = this.ops[i];
    const f = this.f;
    let v: Val | null = null;
    const m = nest.axes.length;
    switch (o.op) {
      case "const":
        return;
      case "load": {
        const p = this.ptrs.get(String(i))![nest.depth[i]];
        const stride = o.index.strides[nest.axes[m - 1]];
        v = !mode.vec ? this.loadScalar(o.dtype, p) : stride === 1 ? this.loadVec(o.dtype, p, mode.u) : this.gather(o.dtype, p, mode.u, stride);
        break;
      }
      case "alu": {
        if (mode.vec) {
          const args = o.args.map((a) => this.vv(a, mode.u));
          v = renderAlu(this.V, o.prim, o.params, args, o.inDtypes, o.dtype, (j) => (nest.depth[o.args[j]] < m ? this.sv(o.args[j]) : null));
        } else v = renderAlu(this.S, o.prim, o.params, o.args.map((a) => this.sv(a)), o.inDtypes, o.dtype, (j) => this.sv(o.args[j]));
        break;
      }
      case "reduce":
        v = this.emitReduceValue(mode);
        break;
      case "store": {
        const p = this.ptrs.get(String(i))![nest.depth[i]];
        const stride = o.index.strides[nest.axes[m - 1]];
        if (!mode.vec) f.get(p).get(this.sv(o.src)).mem(STORE[storeKind(o.dtype)]);
        else if (stride === 1) this.storeVec(o.dtype, p, mode.u, this.vv(o.src, mode.u));
        else this.scatter(o.dtype, p, mode.u, stride, this.vv(o.src, mode.u));
        return;
      }
    }
    if (mode.vec) (this.vval[mode.u] ??= [])[i] = v;
    else {
      this.sval[i] = v;
      if (nest.vector && nest.depth[i] < m) this.splat.set(i, this.V.out("v128", () => f.get(v!).ins(isF32(o.dtype) ? "f32x4.splat" : "i32x4.splat")));
    }
  }

  private loadScalar(d: DType, p: number): Val {
    return this.S.out(isF32(d) ? "f32" : "i32", () => this.f.get(p).mem(LOAD[storeKind(d)]));
  }
  private loadVec(d: DType, p: number, u: number): Val {
    const f = this.f;
    const size = d.itemsize;
    return this.V.out("v128", () => {
      f.get(p);
      if (size === 4) f.mem("v128.load", 16 * u);
      else if (size === 2) f.mem(d.isUnsigned ? "v128.load16x4_u" : "v128.load16x4_s", 8 * u);
      else {
        const sx = d.name === "int8";
        f.mem("v128.load32_zero", 4 * u).ins(sx ? "i16x8.extend_low_i8x16_s" : "i16x8.extend_low_i8x16_u").ins(sx ? "i32x4.extend_low_i16x8_s" : "i32x4.extend_low_i16x8_u");
      }
    });
  }
  /** Pushes the address of lane `j` of slot `u` of a strided access; returns the memarg offset to use. */
  private laneAddress(p: number, u: number, j: number, stride: number, size: number): number {
    const off = (4 * u + j) * stride * size;
    this.f.get(p);
    if (off >= 0) return off;
    this.f.i32Const(off).i32Add();
    return 0;
  }
  /** Four elements `stride` apart (a transposed or strided view), loaded one by one into lanes. */
  private gather(d: DType, p: number, u: number, stride: number): Val {
    const f = this.f;
    const k = storeKind(d);
    const f32 = k === "f32";
    return this.V.out("v128", () => {
      // The vector built so far stays on the stack under each next lane's value.
      for (let j = 0; j < 4; j++) {
        const off = this.laneAddress(p, u, j, stride, d.itemsize);
        f.mem(LOAD[k], off);
        if (j === 0) f.ins(f32 ? "f32x4.splat" : "i32x4.splat");
        else f.lane(f32 ? "f32x4.replace_lane" : "i32x4.replace_lane", j);
      }
    });
  }
  /** The lanes of `v` stored one by one, `stride` elements apart, lane 0 first. */
  private scatter(d: DType, p: number, u: number, stride: number, v: Val): void {
    const f = this.f;
    const k = storeKind(d);
    for (let j = 0; j < 4; j++) {
      const off = this.laneAddress(p, u, j, stride, d.itemsize);
      f.get(v).lane(k === "f32" ? "f32x4.extract_lane" : "i32x4.extract_lane", j).mem(STORE[k], off);
    }
  }
  private storeVec(d: DType, p: number, u: number, v: Val): void {
    const f = this.f;
    const size = d.itemsize;
    f.get(p).get(v);
    if (size === 4) f.mem("v128.store", 16 * u);
    else if (size === 2) f.get(v).shuffle([0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13]).storeLane("v128.store64_lane", 8 * u, 0);
    else f.get(v).shuffle([0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12]).storeLane("v128.store32_lane", 4 * u, 0);
  }
}

type Kind = "f32" | "i32" | "i16" | "u16" | "i8" | "u8";
function storeKind(d: DType): Kind {
  if (isF32(d)) return "f32";
  if (d.itemsize === 4) return "i32";
  if (d.itemsize === 2) return d.isUnsigned ? "u16" : "i16";
  return d.name === "int8" ? "i8" : "u8";
}
const LOAD: Record<Kind, MemOp> = { f32: "f32.load", i32: "i32.load", i16: "i32.load16_s", u16: "i32.load16_u", i8: "i32.load8_s", u8: "i32.load8_u" };
const STORE: Record<Kind, MemOp> = { f32: "f32.store", i32: "i32.store", i16: "i32.store16", u16: "i32.store16", i8: "i32.store8", u8: "i32.store8" };
