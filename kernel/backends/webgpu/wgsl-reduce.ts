// The passes of a fused kernel on the WebGPU backend (`generateWgslPasses`, which the runtime
// calls for every fused kernel) and the parallel form of big reductions. A single-pass shader
// (codegen-wgsl.ts) gives each kept point one invocation that folds all its points serially: a
// sum over 16M elements is one invocation doing 16M iterations. Here the folded range of each
// kept point is split into chunks:
//
//   pass 1: one invocation per (kept point, chunk) runs the prologue (the ops before the REDUCE)
//           over its chunk and writes its partial fold to a temp buffer;
//   pass 2: one invocation per kept point folds its partials in chunk order and runs the
//           epilogue (the ops after the REDUCE) and the stores.
//
// Why two passes without shared memory: on lavapipe (the CI device) barriers are very expensive
// and a second dispatch costs ~20 us, and nothing in a pass waits for another invocation, so the
// same text suits real GPUs. Chunks: the folded axes are flattened into one outer loop over a
// prefix of them (the inner folded axes keep their nested loops, so loop-invariant ops stay
// hoisted), and a chunk is a contiguous range of that outer index. When the one folded axis is
// read contiguously (vec4FoldWhy), pass 1 loads vec4s along it and runs the prologue once per
// lane; its chunks are then interleaved (chunk c takes vec4s c, c + C, ...) unless the order
// matters (below), so that neighbouring invocations read neighbouring 16-byte units: coalesced
// on GPUs, and whole cache lines for lavapipe's 8-lane SIMD groups (interleaving scalar loads
// made each group use half of every line it fetched: 42 ms instead of 31 ms for a 16M sum).
// Invocations are numbered with the kept point fastest when the innermost loop axis is kept
// (column sums: neighbours read neighbours), otherwise with the chunk fastest.
//
// Exactness: integer and bool folds are associative and commutative, so any split is exact.
// float max/min (NaN sticks: the last NaN wins; ties keep the first, which matters for +-0)
// depend on the order, and contiguous chunks folded in chunk order are exactly the row-major
// fold, so they always use contiguous chunks: exact. Float sums are compensated (Kahan) within
// each chunk, and the partials (each the chunk's rounded compensated sum) are folded with Kahan
// in chunk order: deterministic for a given plan. Error bound: with u = 2^-24 and the terms x_i
// (the float32 values the REDUCE folds), Kahan's bound (Higham, Accuracy and Stability of
// Numerical Algorithms, 4.3) |kahan(x) - sum(x)| <= (2u + O(m u^2)) sum|x_i| for a fold of m
// terms, applied to the chunks and then to the partials, gives |gpu - sum(x)| <= 4u sum|x_i|; the
// CPU rounds a float64 sum once, |cpu - sum(x)| <= u |sum(x)| + n 2^-53 sum|x_i|; so
//     |gpu - cpu| <= 5u sum|x_i|
// up to second-order terms (about m u^2 sum|x_i|, below u/8 while every fold has fewer than 2^21
// terms, which the plans below guarantee for any i32-indexable kernel). A single-pass sum (one
// Kahan fold) is within 3u sum|x_i|. test/webgpu/wgsl-reduce.test.ts checks the bound against
// float64 on data where a plain float32 sum of the same chunks breaks it. float16 sums: the same
// in f32, then one rounding to float16. Products multiply in f32 in each chunk and over the
// partials.
//
// Thresholds: the two-pass form is used when a kept point folds at least 2 * MIN_CHUNK points and
// there are fewer kept points than TARGET_INVOCATIONS; then C = min(MAX_CHUNKS,
// TARGET_INVOCATIONS / kept, folded / MIN_CHUNK). lavapipe is indifferent to C over a wide range
// (a 16M sum took 29-34 ms for C = 256..4096); TARGET_INVOCATIONS is for real GPUs, which need
// tens of thousands of invocations in flight. Measured on lavapipe (2-core VM shared with other
// jobs, load average 6-11, so minimum of 7-15 runs, ranges over sessions; shared/webgpu-node.md
// has 43 ms for a 16M sum with vec4 loads and a shared-memory tree):
//   sum of 16M f32:              one pass (1 invocation) 205-409 ms; two-pass vec4 interleaved
//                                31-33 ms, scalar contiguous 31-33 ms, scalar interleaved 39-42 ms
//   1024 x 1024 row sums:        1.3 ms (one pass 1.4);  column sums 1.0 ms (one pass 1.5)
//   4096 x 4096 row sums:        52 ms (one pass 59);    column sums 74-81 ms (one pass 92)
//   64 x 262144 row sums:        57 ms (one pass 88)
//   logsumexp's exp-sum kernel over 16 x 65536: 1.9 ms (one pass 7.9)
// and for vec4 elementwise kernels: tanh(x*2+1)*x over 4M f32, 22-32 ms vec4, 80-108 ms scalar.

import { DType, float32 } from "../../core/dtype";
import { ValueError } from "../../core/errors";
import { KOp, Kernel, opDepths, reducePhases } from "../../lower/kernel-ir";
import { WgslBinding, WgslKernel, WgslOptions, WgslRenderer, bitExactLine, decompose, dispatchSize, generateWgsl, generateWgslVec4, isBitExact, storageElementBytes, vec4Why, wgslBinding, wgslIndex, wgslSupport, workgroupSizeOf } from "./codegen-wgsl";
import { AdapterCaps, DEFAULT_CAPS, WgslCall, WgslTemp } from "./wgsl-library";

/** Invocations pass 1 aims at: enough to fill a GPU's cores several times over. */
export const TARGET_INVOCATIONS = 16384;
/** The fewest folded points per chunk: below this the partial's write outweighs its work. */
export const MIN_CHUNK = 256;
/** The most chunks per kept point: pass 2 folds that many partials serially. */
export const MAX_CHUNKS = 4096;

export interface WgslPassOptions extends WgslOptions {
  /** Force the chunks per kept point (tests; 1 = single pass); default: by the thresholds above. */
  chunks?: number;
  /** Force the chunk layout (tests and measurements; float max/min stay contiguous, see the header). */
  layout?: "contiguous" | "interleaved";
  /** Whether a flat elementwise kernel may use vec4 loads and stores (default true). */
  vectorize?: boolean;
}

/** How a reduction is split (see the header). */
export interface ReducePlan {
  /** Chunks per kept point (C). */
  chunks: number;
  /** How many of the folded axes (a prefix) the chunked outer loop flattens. */
  outerAxes: number;
  /** Points of that outer loop (O; in vec4 units when `vec4`). */
  outer: number;
  /** Outer points per contiguous chunk (L = ceil(O / C)). */
  span: number;
  /** Pass 1 loads four consecutive folded points per step as vec4s (see vec4FoldWhy). */
  vec4: boolean;
  /** Chunk c takes the outer points c, c + C, ... instead of [c L, c L + L). */
  interleaved: boolean;
  /** Invocation ids run over the kept points fastest (else over the chunks). */
  keptFastest: boolean;
}

/** Ops `roots` need, following arguments (a REDUCE's source is not followed). */
function closure(ops: readonly KOp[], roots: number[]): boolean[] {
  const need = new Array<boolean>(ops.length).fill(false);
  const mark = (i: number): void => {
    if (need[i]) return;
    need[i] = true;
    const o = ops[i];
    if (o.op === "alu") o.args.forEach(mark);
    else if (o.op === "store") mark(o.src);
  };
  roots.forEach(mark);
  return need;
}

/** What each pass of a split reduction runs: `one`, ops of pass 1; `two`, ops of pass 2; null when a split cannot hold them. */
function passOps(k: Kernel): { one: boolean[]; two: boolean[]; depth: number[]; folded: number[] } | null {
  const ops = k.ops;
  const red = ops.findIndex((o) => o.op === "reduce");
  const folded = k.shape.map((_, d) => d).filter((d) => k.reduced[d]);
  const { post } = reducePhases(ops);
  const depth = opDepths(ops, folded, () => true, 0);
  const r = ops[red] as Extract<KOp, { op: "reduce" }>;
  // A store of a prologue value runs in pass 1 if it varies over the folded axes (each point is
  // visited once there), else once per kept point in pass 2.
  const stores = ops.flatMap((o, i) => (o.op === "store" && !post[i] ? [i] : []));
  const one = closure(ops, [r.src, ...stores.filter((i) => depth[i] > 0)]);
  const two = closure(ops, [...ops.flatMap((_, i) => (post[i] ? [i] : [])), ...stores.filter((i) => depth[i] === 0)]);
  // Pass 2 has no folded loop: what it needs besides the REDUCE must not vary over folded axes.
  if (ops.some((_, i) => two[i] && !post[i] && depth[i] > 0)) return null;
  return { one, two, depth, folded };
}

/**
 * Why pass 1 of a split reduction cannot load vec4s, or null: there must be one folded axis, of
 * a multiple of 4 points, that pass 1 reads only through loads of stride 1 along it (offset and
 * other strides multiples of 4, 4-byte elements, buffer sizes multiples of 4) or of stride 0 (then
 * not also of stride 1 from the same buffer), and pass 1 must not store.
 */
export function vec4FoldWhy(k: Kernel): string | null {
  const po = passOps(k);
  if (!po) return "no split";
  const { one, folded } = po;
  if (folded.length !== 1 || k.shape[folded[0]] % 4 !== 0) return `folded axes [${folded.map((d) => k.shape[d])}] (one axis of a multiple of 4 points needed)`;
  const f = folded[0];
  const mode = new Map<number, boolean>();
  for (const [i, o] of k.ops.entries()) {
    if (!one[i] || (o.op !== "load" && o.op !== "store")) continue;
    if (o.op === "store") return "a store in pass 1";
    const vec = o.index.strides[f] !== 0;
    if (vec && (o.index.strides[f] !== 1 || o.index.offset % 4 !== 0 || o.index.strides.some((st, d) => d !== f && st % 4 !== 0) || k.bufs[o.buf].size % 4 !== 0 || storageElementBytes(o.dtype) !== 4))
      return `a load of b${o.buf} with strides [${o.index.strides}], offset ${o.index.offset}`;
    if ((mode.get(o.buf) ?? vec) !== vec) return `b${o.buf} read both along and across the folded axis`;
    mode.set(o.buf, vec);
  }
  return null;
}

/** The split of a reduction kernel's folds, or null for one pass (see the header for the thresholds). */
export function reducePlan(k: Kernel, opts: WgslPassOptions = {}): ReducePlan | null {
  const red = k.ops.find((o): o is Extract<KOp, { op: "reduce" }> => o.op === "reduce");
  if (!red) return null;
  const folded = k.shape.map((_, d) => d).filter((d) => k.reduced[d]);
  const nF = folded.reduce((a, d) => a * k.shape[d], 1);
  const nK = k.shape.reduce((a, n, d) => (k.reduced[d] ? a : a * n), 1);
  let C: number;
  if (opts.chunks !== undefined) {
    if (!Number.isInteger(opts.chunks) || opts.chunks < 1) throw new ValueError(`generateWgslPasses: chunks must be a positive integer, got ${opts.chunks}`);
    C = Math.min(opts.chunks, nF);
  } else {
    if (nF < 2 * MIN_CHUNK || nK >= TARGET_INVOCATIONS || nK === 0) return null;
    C = Math.min(MAX_CHUNKS, Math.ceil(TARGET_INVOCATIONS / nK), Math.floor(nF / MIN_CHUNK));
  }
  if (C < 2 || !passOps(k)) return null;
  const vec4 = opts.vectorize !== false && vec4FoldWhy(k) === null;
  // The outer loop: the shortest prefix of folded axes with at least C points (vec4: the one axis, in vec4 units).
  let s = 0;
  let O = 1;
  while (s < folded.length && O < C * (vec4 ? 4 : 1)) O *= k.shape[folded[s++]];
  if (vec4) O /= 4;
  C = Math.min(C, O);
  const span = Math.ceil(O / C);
  const keptFastest = nK > 1 && !k.reduced[k.shape.length - 1];
  const orderExact = red.dtype.isFloat && (red.kind === "max" || red.kind === "min");
  // Interleaving makes neighbouring invocations read neighbouring elements (coalesced on GPUs),
  // but on lavapipe a SIMD group of 8 scalar lanes then uses half of each cache line it fetches
  // (the other half is read by the next group, after the line is gone): only with vec4 loads.
  const interleaved = !orderExact && (opts.layout ? opts.layout === "interleaved" : !keptFastest && vec4);
  // Contiguous chunks of `span` outer points: no chunk may be empty.
  return { chunks: interleaved ? C : Math.ceil(O / span), outerAxes: s, outer: O, span, vec4, interleaved, keptFastest };
}

/** The dtype partial folds are kept in: float16 folds accumulate in f32. */
function partialDtype(d: DType): DType {
  return d.name === "float16" ? float32 : d;
}

/** Bindings of the call buffers `bufs` (sorted), temps after the kernel's buffers. */
function bindingsOf(k: Kernel, bufs: Set<number>, temp: WgslTemp, tempAccess: WgslBinding["access"]): WgslBinding[] {
  const T = k.bufs.length;
  return [...bufs].sort((a, b) => a - b).map((b, i) => (b === T ? wgslBinding(i, b, "temp", temp.dtype, temp.elements, tempAccess) : wgslBinding(i, b, k.bufs[b].role, k.bufs[b].dtype, k.bufs[b].size)));
}

/** The buffers the selected ops load or store. */
function bufsOf(k: Kernel, sel: boolean[]): Set<number> {
  const s = new Set<number>();
  k.ops.forEach((o, i) => sel[i] && (o.op === "load" || o.op === "store") && s.add(o.buf));
  return s;
}

/** The two passes of a split reduction (`plan` from reducePlan). */
export function twoPassReduce(k: Kernel, plan: ReducePlan, caps: AdapterCaps = DEFAULT_CAPS, opts: WgslOptions = {}): WgslCall {
  const wg = workgroupSizeOf(opts, caps, "generateWgslPasses");
  const po = passOps(k);
  if (!po) throw new ValueError(`generateWgslPasses: kernel ${k.name} cannot be split into two passes, got an epilogue that varies over the folded axes`);
  const { one, two, depth, folded } = po;
  const ops = k.ops;
  const kept = k.shape.map((_, d) => d).filter((d) => !k.reduced[d]);
  const nK = kept.reduce((a, d) => a * k.shape[d], 1);
  const { chunks: C, outerAxes: s, outer: O, span: L, vec4, interleaved, keptFastest } = plan;
  const T = k.bufs.length;
  const R1 = new WgslRenderer(k);
  const red = R1.reduce;
  const temp: WgslTemp = { dtype: partialDtype(red.dtype), elements: nK * C };
  const shapeText = `[${k.shape.map((n, d) => (k.reduced[d] ? `${n}r` : String(n))).join(", ")}]`;
  const bitExact = isBitExact(k);
  const unit = vec4 ? "vec4s" : "outer points";
  const how = `${C} chunks per kept point, ${interleaved ? `interleaved (chunk c takes ${unit} c, c + ${C}, ...)` : `contiguous (${L} ${unit} each)`}, ${keptFastest ? "kept point" : "chunk"} fastest`;

  // Pass 1: partial folds.
  const n1 = nK * C;
  const b1: string[] = [`  let p = gid.x + gid.y * (nwg.x * ${wg}u);`, `  if (p >= ${n1}u) { return; }`];
  b1.push(keptFastest ? `  let c = i32(p / ${nK}u);` : `  let c = i32(p % ${C}u);`, keptFastest ? `  let kp = p % ${nK}u;` : `  let kp = p / ${C}u;`);
  b1.push(...decompose(k, kept, "kp"));
  b1.push(...R1.accDecl("  "));
  ops.forEach((_, i) => one[i] && depth[i] === 0 && b1.push(...R1.op(i, "  ")));
  const outer = folded.slice(0, s);
  const o = s === 1 ? `i${outer[0]}` : "o";
  b1.push(interleaved ? `  for (var ${o}: i32 = c; ${o} < ${O}; ${o} += ${C}) {` : `  for (var ${o}: i32 = c * ${L}; ${o} < min(c * ${L} + ${L}, ${O}); ${o}++) {`);
  if (vec4) {
    // One vec4 unit of the folded axis per iteration: loads along it as vec4s, the ops once per lane, four steps in order.
    const lanes = ["x", "y", "z", "w"];
    const lv = (a: number, l: string) => (depth[a] === 0 ? R1.val(a) : R1.val(a, l));
    ops.forEach((op, i) => {
      if (!one[i] || depth[i] === 0) return;
      if (op.op === "load") {
        const ix = { offset: op.index.offset / 4, strides: op.index.strides.map((st, d) => (d === outer[0] ? 1 : st / 4)) };
        b1.push(`    let q${i} = b${op.buf}[${wgslIndex(ix)}];`, ...lanes.map((l) => `    let v${i}${l} = ${R1.loadValue(op.dtype, `q${i}.${l}`)};`));
      } else if (op.op === "alu") lanes.forEach((l) => b1.push(`    let v${i}${l}: ${R1.valueType(op.dtype)} = ${R1.alu(op, op.args.map((a) => lv(a, l)))};`));
    });
    lanes.forEach((l) => b1.push(...R1.step(lv(red.src, l)).map((st) => "    " + st)));
  } else {
    if (s > 1) {
      let stride = 1;
      const dec: string[] = [];
      for (let j = s - 1; j >= 0; j--) {
        const q = stride === 1 ? "o" : `(o / ${stride})`;
        dec.unshift(`    let i${outer[j]} = ${j === 0 ? q : `${q} % ${k.shape[outer[j]]}`};`);
        stride *= k.shape[outer[j]];
      }
      b1.push(...dec);
    }
    ops.forEach((_, i) => one[i] && depth[i] >= 1 && depth[i] <= s && b1.push(...R1.op(i, "    ")));
    const rec = (lvl: number, ind: string): void => {
      if (lvl < folded.length) {
        const a = folded[lvl];
        b1.push(`${ind}for (var i${a}: i32 = 0; i${a} < ${k.shape[a]}; i${a}++) {`);
        ops.forEach((_, i) => one[i] && depth[i] === lvl + 1 && b1.push(...R1.op(i, ind + "  ")));
        rec(lvl + 1, ind + "  ");
        b1.push(`${ind}}`);
      } else b1.push(...R1.step(R1.val(red.src)).map((st) => ind + st));
    };
    rec(s, "    ");
  }
  b1.push("  }");
  b1.push(`  b${T}[p] = ${red.dtype.isBool ? `select(0u, 1u, ${R1.accValue})` : R1.accValue};`);
  const vecBufs = new Set(vec4 ? k.ops.flatMap((op, i) => (one[i] && op.op === "load" && depth[i] > 0 ? [op.buf] : [])) : []);
  const bind1 = bindingsOf(k, new Set([...bufsOf(k, one), T]), temp, "read_write").map((b) => (vecBufs.has(b.buf) ? { ...b, storage: `vec4<${b.storage}>` as WgslBinding["storage"] } : b));
  const head1 = [
    `// ${k.name} pass 1 of 2: loops ${shapeText}, ${n1} invocations, each folding one chunk of a kept point's ${folded.reduce((a, d) => a * k.shape[d], 1)} points into b${T}`,
    `// ${how}`,
    ...R1.bufferLines(),
    `//   b${T}: temp ${temp.dtype.short}[${temp.elements}] (partial folds)`,
  ];
  const pass1: WgslKernel = { code: R1.shader(head1, bind1, wg, b1), entryPoint: "main", bindings: bind1, workgroupSize: wg, invocations: n1, dispatch: dispatchSize(n1, wg), bitExact };

  // Pass 2: fold the partials in chunk order, then the epilogue.
  const R2 = new WgslRenderer(k);
  const b2: string[] = [`  let p = gid.x + gid.y * (nwg.x * ${wg}u);`, `  if (p >= ${nK}u) { return; }`, ...decompose(k, kept)];
  b2.push(...R2.accDecl("  "));
  const { post } = reducePhases(ops);
  ops.forEach((_, i) => two[i] && !post[i] && b2.push(...R2.op(i, "  ")));
  b2.push(`  for (var c: i32 = 0; c < ${C}; c++) {`);
  const idx = keptFastest ? `c * ${nK} + i32(p)` : `i32(p) * ${C} + c`;
  b2.push(`    let v = ${red.dtype.isBool ? `(b${T}[${idx}] != 0u)` : `b${T}[${idx}]`};`);
  b2.push(...R2.step("v").map((st) => "    " + st));
  b2.push("  }");
  b2.push(...R2.op(R2.red, "  ", R2.accValue));
  ops.forEach((_, i) => post[i] && i !== R2.red && b2.push(...R2.op(i, "  ")));
  const bind2 = bindingsOf(k, new Set([...bufsOf(k, two), T]), temp, "read");
  const head2 = [
    `// ${k.name} pass 2 of 2: ${nK} invocations, each folding the ${C} partials of one kept point in chunk order, then the epilogue`,
    `// ${bitExactLine(bitExact)}`,
    ...R2.bufferLines(),
    `//   b${T}: temp ${temp.dtype.short}[${temp.elements}] (partial folds)`,
  ];
  const pass2: WgslKernel = { code: R2.shader(head2, bind2, wg, b2), entryPoint: "main", bindings: bind2, workgroupSize: wg, invocations: nK, dispatch: dispatchSize(nK, wg), bitExact };
  return { passes: [pass1, pass2], temps: [temp], note: `two-pass reduction: ${how}` };
}

/**
 * The passes of a fused kernel under `caps` (which `wgslSupport` must accept; others throw): a
 * vec4 shader for a flat elementwise kernel, two passes for a big reduction with few kept points
 * (see the header), else the single-pass shader of codegen-wgsl.ts. Buffers are numbered as the
 * kernel's `bufs` (outputs, then inputs), then the temps.
 */
export function generateWgslPasses(k: Kernel, caps: AdapterCaps = DEFAULT_CAPS, opts: WgslPassOptions = {}): WgslCall {
  const why = wgslSupport(k, caps);
  if (why) throw new ValueError(`generateWgslPasses: kernel ${k.name} cannot be rendered to WGSL, got ${why}`);
  if (opts.vectorize !== false && vec4Why(k) === null) {
    const w = generateWgslVec4(k, caps, opts);
    return { passes: [w], temps: [], note: `vec4 elementwise: ${w.invocations} invocations of 4 points` };
  }
  const plan = reducePlan(k, opts);
  if (plan) return twoPassReduce(k, plan, caps, opts);
  const w = generateWgsl(k, caps, opts);
  return { passes: [w], temps: [], note: k.ops.some((o) => o.op === "reduce") ? `one pass: ${w.invocations} invocations, each folding its kept point serially` : `one pass: ${w.invocations} invocations` };
}
