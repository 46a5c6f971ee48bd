// Code generation for the float32 GEMM: a pure function from the blocking shape to the bytes of
// a WebAssembly module (no instantiation here; kernel/backends/cpu/gemm.ts runs it). The
// algorithm is GotoBLAS/BLIS's: C += A·B is cut into KC×NC panels of B and MC×KC blocks of A,
// each packed into contiguous micro-panels, and an MR×NR register-blocked micro-kernel walks
// the packed data with f32x4 SIMD.
//
// Exported functions (all addresses and strides are in bytes, all sizes in elements):
//
//   kernel(kc, pa, pb, c, ldc, acc)  one full MR×NR tile: C[MR×NR] (= or +=) Ap·Bp over kc.
//                                    acc = 0 overwrites C (the first K block), 1 adds to it.
//   packA(src, rs, cs, mc, kc, dst)  A[i, k] = src + i*rs + k*cs, i < mc, k < kc, into micro-
//                                    panels of MR rows: panel p holds, for each k, MR floats
//                                    (rows p*MR .. p*MR+MR-1). A partial last panel is zero-padded.
//   packB(src, rs, cs, kc, nc, dst)  B[k, j] = src + k*rs + j*cs, into micro-panels of NR
//                                    columns: panel q holds, for each k, NR floats. Zero-padded.
//   macro(mc, nc, kc, pa, pb, c, ldc, acc, scratch)
//                                    every tile of an mc×nc block of C from packed A and B; edge
//                                    tiles go through an MR×NR scratch tile and are copied back.
//   gemm(M, N, K, a, rsa, csa, b, rsb, csb, c, ldc, scratch, pa, pb, MC, KC, NC)
//                                    C = A·B (C row-major with leading dimension ldc): the loops
//                                    jc (NC) → pc (KC: packB) → ic (MC: packA) → macro. scratch,
//                                    pa and pb are the caller's work areas (MR·NR, MC·KC and
//                                    KC·NC floats); K = 0 writes zeros.
//   gemmList(list, count)            runs `count` gemm calls whose 17 arguments each are stored
//                                    as i32 at list, list + 68, ...: one thread's share of work.
//
// With a shared memory, two more let threads share one product dynamically: the operand every
// thread needs is packed once, by the caller, for all of K (block pc at p + pc·step, each block
// as packA/packB lay it out), and each thread claims the next `chunk` columns (or rows) of C
// with an atomic add on the i32 at `counter` until none are left, packing only its own share
// of the other operand. A thread that starts late just finds less to do.
//   panels(M, N, K, b, rsb, csb, c, ldc, scratch, pa, aStep, pb, KC, counter, chunk)
//                                    A packed in pa (aStep = bytes per k: 4·M rounded up to MR);
//                                    claims columns j..j+chunk, packs B's into pb, runs macro.
//   rows(M, N, K, a, rsa, csa, c, ldc, scratch, pa, pb, bStep, KC, counter, chunk)
//                                    B packed in pb (bStep = 4·N rounded up to NR); claims rows.
//
// The micro-kernel keeps MR·NR/4 accumulators, NR/4 vectors of B and one broadcast element of
// A in registers. x64 has 16 xmm registers and V8 keeps one as scratch, so with mul+add (which
// needs a temporary) MR·NR/4 + NR/4 + 2 must stay ≤ 15: 4×8 (12 registers) and 5×8 (14) fit;
// with relaxed_madd (vfmadd231ps, no temporary) 6×8 (15) fits. Which one is fastest on the host
// was measured (see gemm.ts). Zero padding is only ever in M or N, never in K, so a padded row
// or column can hold NaN from 0·inf but never leaks into a stored element: every stored element
// is the exact IEEE float32 chain of its K products (no skipped zeros).

import { FunctionBuilder, ModuleBuilder } from "./wasm-encoder";

export interface GemmKernelShape {
  /** Rows of the micro-tile (rows of A per micro-panel). */
  mr: number;
  /** Columns of the micro-tile, a multiple of 4 (one f32x4 per 4 columns). */
  nr: number;
  /** Use f32x4.relaxed_madd (relaxed SIMD) instead of f32x4.mul + f32x4.add. */
  relaxed: boolean;
}

/** Number of i32 arguments of `gemm` (and of each record of `gemmList`). */
export const GEMM_ARGS = 17;
/** Number of i32 arguments of `panels` and `rows`. */
export const SHARED_ARGS = 15;

/** The module's bytes for one micro-tile shape. The memory is imported as env.memory. */
export function gemmModule(shape: GemmKernelShape, memory: { minPages: number; shared?: { maxPages: number } } = { minPages: 1 }): Uint8Array {
  const { mr, nr } = shape;
  if (nr % 4 !== 0 || nr < 4 || mr < 1) throw new RangeError(`gemmModule: bad micro-tile ${JSON.stringify(shape)}`);
  const mod = new ModuleBuilder({ module: "env", name: "memory", ...memory });
  const kernel = emitKernel(mod.func("kernel", ["i32", "i32", "i32", "i32", "i32", "i32"]), shape);
  const packA = emitPackA(mod.func("packA", ["i32", "i32", "i32", "i32", "i32", "i32"]), mr);
  const packB = emitPackB(mod.func("packB", ["i32", "i32", "i32", "i32", "i32", "i32"]), nr);
  const macro = emitMacro(mod.func("macro", ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]), mr, nr, mod.indexOf(kernel));
  const gemm = mod.func("gemm", new Array(GEMM_ARGS).fill("i32"));
  emitGemm(gemm, mod.indexOf(packA), mod.indexOf(packB), mod.indexOf(macro));
  emitGemmList(mod.func("gemmList", ["i32", "i32"]), mod.indexOf(gemm));
  if (memory.shared) {
    emitShared(mod.func("panels", new Array(SHARED_ARGS).fill("i32")), "panels", mod.indexOf(packB), mod.indexOf(macro));
    emitShared(mod.func("rows", new Array(SHARED_ARGS).fill("i32")), "rows", mod.indexOf(packA), mod.indexOf(macro));
  }
  return mod.encode();
}

/** A tiny module using f32x4.relaxed_madd: WebAssembly.validate on it tells whether the host has relaxed SIMD. */
export function relaxedSimdProbe(): Uint8Array {
  const mod = new ModuleBuilder({ module: "env", name: "memory", minPages: 1 });
  const f = mod.func("probe", [], ["i32"]);
  f.v128Const().v128Const().v128Const().f32x4RelaxedMadd().drop().i32Const(1);
  return mod.encode();
}

/**
 * Emits `for (v = 0; v < n; v += step) body()`, with v and n locals (n may be a param); step is
 * a constant, or a local given as `{ local }`.
 */
function forLoop(f: FunctionBuilder, v: number, n: number, step: number | { local: number }, body: () => void): void {
  f.i32Const(0).set(v);
  f.block().get(v).get(n).i32GeS().brIf(0);
  f.loop();
  body();
  f.get(v);
  if (typeof step === "number") f.i32Const(step);
  else f.get(step.local);
  f.i32Add().tee(v).get(n).i32LtS().brIf(0);
  f.end().end();
}

/** x = x + c (x a local, c a constant). */
const bump = (f: FunctionBuilder, x: number, c: number) => f.get(x).i32Const(c).i32Add().set(x);

/** min(a, b) of two locals onto the stack. */
const minOf = (f: FunctionBuilder, a: number, b: number) => f.get(a).get(b).get(a).get(b).i32LtS().select();

function emitKernel(f: FunctionBuilder, { mr, nr, relaxed }: GemmKernelShape): FunctionBuilder {
  const [kc, pa, pb, c, ldc, accumulate] = [0, 1, 2, 3, 4, 5];
  const nv = nr / 4;
  const acc = Array.from({ length: mr }, () => Array.from({ length: nv }, () => f.local("v128")));
  const bv = Array.from({ length: nv }, () => f.local("v128"));
  const av = f.local("v128");
  const paEnd = f.local("i32");
  const crow = f.local("i32");

  // Accumulators start at C (acc) or zero.
  f.get(accumulate).if();
  f.get(c).set(crow);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nv; j++) f.get(crow).v128Load(16 * j, 2).set(acc[r][j]);
    if (r < mr - 1) f.get(crow).get(ldc).i32Add().set(crow);
  }
  f.else();
  for (let r = 0; r < mr; r++) for (let j = 0; j < nv; j++) f.v128Const().set(acc[r][j]);
  f.end();

  // One k step: NR/4 vectors of B, then per row one broadcast element of A and NR/4 multiply-adds.
  const step = () => {
    for (let j = 0; j < nv; j++) f.get(pb).v128Load(16 * j).set(bv[j]);
    for (let r = 0; r < mr; r++) {
      f.get(pa).v128Load32Splat(4 * r).set(av);
      for (let j = 0; j < nv; j++) {
        if (relaxed) f.get(av).get(bv[j]).get(acc[r][j]).f32x4RelaxedMadd().set(acc[r][j]);
        else f.get(acc[r][j]).get(av).get(bv[j]).f32x4Mul().f32x4Add().set(acc[r][j]);
      }
    }
  };
  // The k loop, one step per iteration, until pa reaches its end (k holds that end address: no
  // separate counter). Not unrolled: TurboFan schedules a body's loads in program order but its
  // arithmetic late, so an unrolled body loads every step's operands up front, runs out of
  // registers and spills; measured 4×8 unrolled ×4: 20 GFLOP/s against 37 for this loop.
  f.get(kc).i32Const(4 * mr).i32Mul().get(pa).i32Add().set(paEnd);
  f.block().get(pa).get(paEnd).i32Eq().brIf(0);
  f.loop();
  step();
  bump(f, pb, 4 * nr);
  f.get(pa).i32Const(4 * mr).i32Add().tee(pa).get(paEnd).i32LtU().brIf(0);
  f.end().end();

  f.get(c).set(crow);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nv; j++) f.get(crow).get(acc[r][j]).v128Store(16 * j, 2);
    if (r < mr - 1) f.get(crow).get(ldc).i32Add().set(crow);
  }
  return f;
}

function emitPackA(f: FunctionBuilder, mr: number): FunctionBuilder {
  const [src, rs, cs, mc, kc, dst] = [0, 1, 2, 3, 4, 5];
  const i0 = f.local("i32");
  const k = f.local("i32");
  const rows = f.local("i32");
  const r = f.local("i32");
  const p = f.local("i32");
  const q = f.local("i32");
  const rowp = Array.from({ length: mr }, () => f.local("i32"));
  const left = f.local("i32");
  forLoop(f, i0, mc, mr, () => {
    // rows = min(mr, mc - i0)
    f.get(mc).get(i0).i32Sub().set(left);
    f.i32Const(mr).set(rows);
    minOf(f, rows, left).set(rows);
    f.get(rows).i32Const(mr).i32Eq().if();
    {
      // Full panel: MR row pointers, each advancing by cs per k.
      for (let t = 0; t < mr; t++) f.get(src).get(i0).i32Const(t).i32Add().get(rs).i32Mul().i32Add().set(rowp[t]);
      forLoop(f, k, kc, 1, () => {
        for (let t = 0; t < mr; t++) {
          f.get(dst).get(rowp[t]).f32Load().f32Store(4 * t);
          f.get(rowp[t]).get(cs).i32Add().set(rowp[t]);
        }
        bump(f, dst, 4 * mr);
      });
    }
    f.else();
    {
      // Partial panel: zero it, then copy the rows that exist.
      f.get(dst).i32Const(0).get(kc).i32Const(4 * mr).i32Mul().memoryFill();
      forLoop(f, r, rows, 1, () => {
        f.get(src).get(i0).get(r).i32Add().get(rs).i32Mul().i32Add().set(p);
        f.get(dst).get(r).i32Const(4).i32Mul().i32Add().set(q);
        forLoop(f, k, kc, 1, () => {
          f.get(q).get(p).f32Load().f32Store();
          f.get(p).get(cs).i32Add().set(p);
          bump(f, q, 4 * mr);
        });
      });
      f.get(dst).get(kc).i32Const(4 * mr).i32Mul().i32Add().set(dst);
    }
    f.end();
  });
  return f;
}

function emitPackB(f: FunctionBuilder, nr: number): FunctionBuilder {
  const [src, rs, cs, kc, nc, dst] = [0, 1, 2, 3, 4, 5];
  const j0 = f.local("i32");
  const k = f.local("i32");
  const cols = f.local("i32");
  const j = f.local("i32");
  const p = f.local("i32");
  const q = f.local("i32");
  const left = f.local("i32");
  const nv = nr / 4;
  forLoop(f, j0, nc, nr, () => {
    f.get(nc).get(j0).i32Sub().set(left);
    f.i32Const(nr).set(cols);
    minOf(f, cols, left).set(cols);
    // p = start of this panel's columns in row 0.
    f.get(src).get(j0).get(cs).i32Mul().i32Add().set(p);
    f.get(cols).i32Const(nr).i32Eq().get(cs).i32Const(4).i32Eq().i32And().if();
    {
      // Full panel of contiguous columns: NR/4 vector copies per k.
      forLoop(f, k, kc, 1, () => {
        for (let v = 0; v < nv; v++) f.get(dst).get(p).v128Load(16 * v, 2).v128Store(16 * v, 2);
        f.get(p).get(rs).i32Add().set(p);
        bump(f, dst, 4 * nr);
      });
    }
    f.else();
    {
      // Strided or partial panel: element by element, zero-padded.
      f.get(dst).i32Const(0).get(kc).i32Const(4 * nr).i32Mul().memoryFill();
      forLoop(f, k, kc, 1, () => {
        f.get(p).set(q);
        forLoop(f, j, cols, 1, () => {
          f.get(dst).get(j).i32Const(4).i32Mul().i32Add().get(q).f32Load().f32Store();
          f.get(q).get(cs).i32Add().set(q);
        });
        f.get(p).get(rs).i32Add().set(p);
        bump(f, dst, 4 * nr);
      });
    }
    f.end();
  });
  return f;
}

function emitMacro(f: FunctionBuilder, mr: number, nr: number, kernelIndex: number): FunctionBuilder {
  const [mc, nc, kc, pa, pb, c, ldc, accumulate, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const i0 = f.local("i32");
  const j0 = f.local("i32");
  const rows = f.local("i32");
  const cols = f.local("i32");
  const left = f.local("i32");
  const ap = f.local("i32");
  const bp = f.local("i32");
  const ct = f.local("i32");
  const r = f.local("i32");
  const j = f.local("i32");
  const crow = f.local("i32");
  const srow = f.local("i32");
  // Copies the rows×cols corner between C (leading dimension ldc) and the scratch tile (NR).
  const copyTile = (toScratch: boolean) => {
    f.get(ct).set(crow);
    f.get(scratch).set(srow);
    forLoop(f, r, rows, 1, () => {
      forLoop(f, j, cols, 1, () => {
        const [to, from] = toScratch ? [srow, crow] : [crow, srow];
        f.get(to).get(j).i32Const(4).i32Mul().i32Add();
        f.get(from).get(j).i32Const(4).i32Mul().i32Add().f32Load();
        f.f32Store();
      });
      f.get(crow).get(ldc).i32Add().set(crow);
      bump(f, srow, 4 * nr);
    });
  };
  forLoop(f, j0, nc, nr, () => {
    f.get(nc).get(j0).i32Sub().set(left);
    f.i32Const(nr).set(cols);
    minOf(f, cols, left).set(cols);
    f.get(pb).get(j0).get(kc).i32Mul().i32Const(4).i32Mul().i32Add().set(bp);
    forLoop(f, i0, mc, mr, () => {
      f.get(mc).get(i0).i32Sub().set(left);
      f.i32Const(mr).set(rows);
      minOf(f, rows, left).set(rows);
      f.get(pa).get(i0).get(kc).i32Mul().i32Const(4).i32Mul().i32Add().set(ap);
      f.get(c).get(i0).get(ldc).i32Mul().i32Add().get(j0).i32Const(4).i32Mul().i32Add().set(ct);
      f.get(rows).i32Const(mr).i32Eq().get(cols).i32Const(nr).i32Eq().i32And().if();
      f.get(kc).get(ap).get(bp).get(ct).get(ldc).get(accumulate).call(kernelIndex);
      f.else();
      f.get(accumulate).if();
      copyTile(true);
      f.end();
      f.get(kc).get(ap).get(bp).get(scratch).i32Const(4 * nr).get(accumulate).call(kernelIndex);
      copyTile(false);
      f.end();
    });
  });
  return f;
}

function emitGemm(f: FunctionBuilder, packA: number, packB: number, macro: number): void {
  const [M, N, K, a, rsa, csa, b, rsb, csb, c, ldc, scratch, pa, pb, MC, KC, NC] = Array.from({ length: 17 }, (_, i) => i);
  const [jc, pc, ic, nc, kc, mc, left, i] = Array.from({ length: 8 }, () => f.local("i32"));
  // K = 0: C is zero (the loops below would leave it untouched).
  f.get(K).i32Eqz().if();
  forLoop(f, i, M, 1, () => {
    f.get(c).get(i).get(ldc).i32Mul().i32Add().i32Const(0).get(N).i32Const(4).i32Mul().memoryFill();
  });
  f.return().end();
  const clamp = (v: number, block: number, n: number, start: number) => {
    f.get(n).get(start).i32Sub().set(left);
    f.get(block).set(v);
    minOf(f, v, left).set(v);
  };
  forLoop(f, jc, N, { local: NC }, () => {
    clamp(nc, NC, N, jc);
    forLoop(f, pc, K, { local: KC }, () => {
      clamp(kc, KC, K, pc);
      f.get(b).get(pc).get(rsb).i32Mul().i32Add().get(jc).get(csb).i32Mul().i32Add();
      f.get(rsb).get(csb).get(kc).get(nc).get(pb).call(packB);
      forLoop(f, ic, M, { local: MC }, () => {
        clamp(mc, MC, M, ic);
        f.get(a).get(ic).get(rsa).i32Mul().i32Add().get(pc).get(csa).i32Mul().i32Add();
        f.get(rsa).get(csa).get(mc).get(kc).get(pa).call(packA);
        f.get(mc).get(nc).get(kc).get(pa).get(pb);
        f.get(c).get(ic).get(ldc).i32Mul().i32Add().get(jc).i32Const(4).i32Mul().i32Add();
        f.get(ldc).get(pc).i32Const(0).i32Ne().get(scratch).call(macro);
      });
    });
  });
}

function emitGemmList(f: FunctionBuilder, gemm: number): void {
  const [list, count] = [0, 1];
  const i = f.local("i32");
  forLoop(f, i, count, 1, () => {
    for (let t = 0; t < GEMM_ARGS; t++) f.get(list).i32Load(4 * t);
    f.call(gemm);
    bump(f, list, 4 * GEMM_ARGS);
  });
}

/**
 * `panels` (claims columns of C; A is packed, shared) or `rows` (claims rows; B is packed,
 * shared): see the header. Every element of C is computed by one thread, over the same KC
 * blocks in the same order as `gemm`, so the results are those of `gemm` bit for bit.
 */
function emitShared(f: FunctionBuilder, kind: "panels" | "rows", pack: number, macro: number): void {
  const [M, N, K, src, rs, cs, c, ldc, scratch, pa, p5, p6, KC, counter, chunk] = Array.from({ length: SHARED_ARGS }, (_, i) => i);
  // panels: p5 = aStep, p6 = pb (own); rows: p5 = pb (shared), p6 = bStep.
  const [at, n, pc, kc, left] = Array.from({ length: 5 }, () => f.local("i32"));
  const total = kind === "panels" ? N : M;
  f.block().loop();
  f.get(counter).get(chunk).mem("i32.atomic.rmw.add").tee(at).get(total).i32GeS().brIf(1);
  // n = min(chunk, total - at)
  f.get(total).get(at).i32Sub().set(left);
  f.get(chunk).set(n);
  minOf(f, n, left).set(n);
  forLoop(f, pc, K, { local: KC }, () => {
    f.get(K).get(pc).i32Sub().set(left);
    f.get(KC).set(kc);
    minOf(f, kc, left).set(kc);
    if (kind === "panels") {
      // packB(b + pc·rsb + at·csb, rsb, csb, kc, n, pb); macro(M, n, kc, pa + pc·aStep, pb, c + 4·at, ldc, pc ≠ 0, scratch)
      f.get(src).get(pc).get(rs).i32Mul().i32Add().get(at).get(cs).i32Mul().i32Add();
      f.get(rs).get(cs).get(kc).get(n).get(p6).call(pack);
      f.get(M).get(n).get(kc).get(pa).get(pc).get(p5).i32Mul().i32Add().get(p6);
      f.get(c).get(at).i32Const(4).i32Mul().i32Add();
    } else {
      // packA(a + at·rsa + pc·csa, rsa, csa, n, kc, pa); macro(n, N, kc, pa, pb + pc·bStep, c + at·ldc, ldc, pc ≠ 0, scratch)
      f.get(src).get(at).get(rs).i32Mul().i32Add().get(pc).get(cs).i32Mul().i32Add();
      f.get(rs).get(cs).get(n).get(kc).get(pa).call(pack);
      f.get(n).get(N).get(kc).get(pa).get(p5).get(pc).get(p6).i32Mul().i32Add();
      f.get(c).get(at).get(ldc).i32Mul().i32Add();
    }
    f.get(ldc).get(pc).i32Const(0).i32Ne().get(scratch).call(macro);
  });
  f.br(0).end().end();
}
