// WGSL lowerings (wgsl-library.ts rules) of the primitives that index and move data: gather, the
// scatter family (scatter, scatter-add, scatter-mul, scatter-min, scatter-max), pad,
// concatenate, dynamic_slice, dynamic_update_slice, iota and bitcast_convert_type. The semantics
// are the CPU implementations' (kernel/primitives/indexing.ts, slicing.ts, movement.ts), bit for
// bit except where noted below.
//
// Data is moved as raw u32 words: every float32/int32/uint32/bool buffer that a pass only copies
// is declared array<u32>, so NaN payloads, -0 and subnormals pass through untouched (no float
// load/store that a compiler could canonicalise or flush). Index arithmetic is i32 (buffers of
// at most 2^31 - 1 elements); uint32 indices are compared unsigned, as the CPU's Number(u32) is.
//
// Index modes, as the CPU: gather clamps each window start into [0, dim - slice] for "clip" and
// "promise_in_bounds", and writes the fill value for a window that does not fit in "fill";
// scatters clamp for "clip" and drop a whole out-of-bounds window otherwise. dynamic_slice and
// dynamic_update_slice clamp their starts (XLA).
//
// Scatters: a first pass copies the operand into the output (buffers come from a pool), then one
// invocation per update element combines it into its operand element:
// - scatter (replace), the CPU's last writer wins: a u32 temp of the operand's size, zeroed in the
//   copy pass, gets atomicMax(update number + 1) per element; a third pass lets only the winner
//   write. With unique_indices the promise is taken: the updates write directly.
// - integer and bool add/min/max: WGSL's atomics (add wraps as the CPU's |0 and Uint32Array do;
//   bool add = or, mul = and, min/max of 0/1); integer mul: a compare-exchange loop on the word.
//   All exact: these combines are commutative and associative, so the order does not matter.
// - float32 min/max: a compare-exchange loop on the bits with the CPU's rule (any NaN gives the
//   canonical NaN 0x7fc00000, -0 < +0), ordered through integer keys, so exact in any order.
// - float32 add/mul are not associative, and WGSL has no float atomics. When the work allows it
//   (operand elements x index rows <= PER_OUTPUT_LIMIT), one invocation per operand element scans
//   every index row for the updates landing on it and folds them in the CPU's order (update
//   number ascending): bit-exact and deterministic, one pass. Above the limit a compare-exchange
//   loop on the bits adds in whatever order the invocations arrive: exact when no two updates hit
//   one element, else possibly off in the last bits (a different rounding order) and not
//   deterministic from run to run (as XLA's own GPU scatter-add); the note and `bitExact` say so.
//
// Passes bind at most 8 storage buffers (WebGPU's default maxStorageBuffersPerShaderStage):
// concatenate splits its operands over several passes, and dynamic_slice / dynamic_update_slice
// with many start scalars first gather the clamped starts into one small i32 temp.

import { ShapedArray } from "../../core/aval";
import { DType, int32, uint32 } from "../../core/dtype";
import { sizeOf, stridesOf } from "../../core/shape";
import { GatherParams, ScatterParams, defaultFill } from "../../primitives/indexing";
import { WgslBinding, WgslKernel, dispatchSize } from "./codegen-wgsl";
import { AdapterCaps, WgslCall, WgslTemp, registerWgslRule } from "./wgsl-library";

/** The dtypes these rules handle (bool as one u32 per element). */
const DTYPES = new Set(["float32", "int32", "uint32", "bool"]);
/** Invocations per workgroup. */
export const WG = 64;
/** WebGPU's guaranteed storage buffers per shader stage. */
const MAX_BINDINGS = 8;
/**
 * Above this many (operand element, index row) pairs, float32 scatter-add/mul use atomics
 * instead of the exact scan. Measured on lavapipe: 2^24 pairs (a [4096, 64] operand, 64 rows)
 * took 118 ms scanning against 5 ms with compare-exchange, so the scan is kept to about 30 ms.
 */
export const PER_OUTPUT_LIMIT = 1 << 22;

// ---------------------------------------------------------------------------------------------
// A pass with one invocation per item.

/** A buffer of a pass: the call's buffer `buf`, declared as `storage` (default u32 words). */
export interface PassBuf {
  buf: number;
  dtype: DType;
  elements: number;
  write?: boolean;
  storage?: "u32" | "i32" | "f32";
  atomic?: boolean;
}

/** An i32 literal. */
export const ilit = (v: number): string => (v < 0 ? `(${v}i)` : `${v}i`);

/** sum of expr * coef (coefs may be 0: skipped), plus offset, as an i32 expression. */
export function lin(terms: readonly [string, number][], offset = 0): string {
  const parts: string[] = offset !== 0 ? [ilit(offset)] : [];
  for (const [e, k] of terms) if (k !== 0) parts.push(k === 1 ? e : `${e} * ${k}`);
  return parts.length ? parts.join(" + ") : "0i";
}

/** Lines `let {prefix}{d} = ...` (i32) decomposing the u32 `src` < sizeOf(shape) row-major. */
export function unravel(shape: readonly number[], prefix: string, src = "p"): string[] {
  const lines: string[] = [];
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d];
    const q = stride === 1 ? src : `(${src} / ${stride}u)`;
    lines.unshift(`  let ${prefix}${d} = ${n === 1 ? "0i" : d === 0 ? `i32(${q})` : `i32(${q} % ${n}u)`};`);
    stride *= n;
  }
  return lines;
}

/**
 * One compute pass: `items` invocations, each with its linear id `p` (u32, bounds-checked) running
 * `body`. Bindings are numbered 0.. in the order of `bufs` (the runtime binds them so).
 */
export function itemsPass(title: string, bufs: readonly PassBuf[], items: number, body: readonly string[], fns: readonly string[] = [], bitExact = true): WgslKernel {
  if (new Set(bufs.map((b) => b.buf)).size !== bufs.length) throw new Error(`itemsPass: ${title} binds a buffer twice`);
  if (bufs.length > MAX_BINDINGS) throw new Error(`itemsPass: ${title} binds ${bufs.length} buffers`);
  const bindings: WgslBinding[] = bufs.map((b, i) => ({
    binding: i, buf: b.buf, role: b.write ? "out" : "in", access: b.write ? "read_write" : "read",
    dtype: b.dtype, storage: b.storage ?? "u32", elements: b.elements,
  }));
  const decl = (b: PassBuf) => (b.atomic ? `atomic<${b.storage ?? "u32"}>` : (b.storage ?? "u32"));
  const code = [
    `// ${title}`,
    ...bufs.map((b) => `//   b${b.buf}: ${b.write ? "write" : "read"} ${b.dtype.short}[${b.elements}]`),
    "",
    ...bufs.map((b, i) => `@group(0) @binding(${i}) var<storage, ${b.write ? "read_write" : "read"}> b${b.buf}: array<${decl(b)}>;`),
    "",
    ...(fns.length ? [...fns, ""] : []),
    `@compute @workgroup_size(${WG})`,
    `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`,
    `  let p = gid.x + gid.y * (nwg.x * ${WG}u);`,
    `  if (p >= ${items}u) { return; }`,
    ...body,
    "}",
    "",
  ].join("\n");
  return { code, entryPoint: "main", bindings, workgroupSize: WG, invocations: items, dispatch: dispatchSize(items, WG), bitExact };
}

/** Why these arrays cannot be handled (dtype, size), or null. */
export function unsupported(op: string, arrays: readonly ShapedArray[], caps: AdapterCaps): string | null {
  for (const a of arrays) {
    if (!DTYPES.has(a.dtype.name)) return `${op}: ${a.dtype.name} arrays are not supported on WebGPU (storage holds float32, int32, uint32, bool), got ${a.str()}`;
    if (a.size > 2 ** 31 - 1 || a.size * 4 > caps.maxStorageBinding) return `${op}: ${a.str()} exceeds one storage binding (${caps.maxStorageBinding} bytes, i32 indices)`;
  }
  return null;
}

/** The u32 word the CPU stores for `v` in an array of `d` (the typed array's own conversion). */
export function wordOf(d: DType, v: number): number {
  const a = new d.storage(1);
  a[0] = v;
  return d.name === "float32" ? new Uint32Array(a.buffer)[0] : a[0] >>> 0;
}

const storageOf = (d: DType): "u32" | "i32" => (d.name === "int32" ? "i32" : "u32");
const none = (note: string): WgslCall => ({ passes: [], temps: [], note });

/**
 * The window start `s{k}` (i32) read from index `k` of the row at i32 `base` of the index buffer
 * `b{buf}`, clamped into [0, hi] ("clip") or, when it does not fit, running `outOfBounds`.
 * Null when a clamped start is always 0 (hi = 0): nothing to read.
 */
function startOf(k: number, idx: DType, buf: number, base: string, hi: number, clamp: boolean, outOfBounds: string): string[] | null {
  const r = `b${buf}[${base === "0i" ? k : `${base} + ${k}`}]`;
  const u = idx.name === "uint32";
  if (clamp) {
    if (hi === 0) return null;
    return [`  let s${k} = ${u ? `i32(min(${r}, ${hi}u))` : `clamp(${r}, 0i, ${hi}i)`};`];
  }
  return [`  let r${k} = ${r};`, `  if (${u ? `r${k} > ${hi}u` : `r${k} < 0i || r${k} > ${hi}i`}) { ${outOfBounds} }`, `  let s${k} = i32(r${k});`];
}

// ---------------------------------------------------------------------------------------------
// gather

function gatherRule(ins: readonly ShapedArray[], outs: readonly ShapedArray[], p: GatherParams, caps: AdapterCaps): WgslCall | { why: string } {
  const [op, idx] = ins;
  const [o] = outs;
  const why = unsupported("gather", [...ins, o], caps);
  if (why) return { why };
  if (o.size === 0) return none("gather: empty result");
  const { offset_dims, collapsed_slice_dims, start_index_map } = p.dimension_numbers;
  const K = idx.shape[idx.ndim - 1];
  const opS = stridesOf(op.shape);
  const windowDims = op.shape.map((_, d) => d).filter((d) => !collapsed_slice_dims.includes(d));
  const batchDims = o.shape.map((_, d) => d).filter((d) => !offset_dims.includes(d));
  const batchS = stridesOf(batchDims.map((d) => o.shape[d]));
  const fill = wordOf(op.dtype, p.fill_value ?? defaultFill(op.dtype));
  const clamp = p.mode !== "fill";
  const body = unravel(o.shape, "c");
  const terms: [string, number][] = offset_dims.map((d, j) => [`c${d}`, opS[windowDims[j]]]);
  const bufs: PassBuf[] = [{ buf: 0, dtype: o.dtype, elements: o.size, write: true }, { buf: 1, dtype: op.dtype, elements: op.size }];
  if (K > 0) {
    body.push(`  let g = ${lin(batchDims.map((d, j) => [`c${d}`, batchS[j] * K]))};`);
    let read = false;
    start_index_map.forEach((d, k) => {
      const lines = startOf(k, idx.dtype, 2, "g", op.shape[d] - p.slice_sizes[d], clamp, `b0[p] = ${fill}u; return;`);
      if (!lines) return;
      body.push(...lines);
      terms.push([`s${k}`, opS[d]]);
      read = true;
    });
    if (read) bufs.push({ buf: 2, dtype: idx.dtype, elements: idx.size, storage: storageOf(idx.dtype) });
  }
  body.push(`  b0[p] = b1[${lin(terms)}];`);
  const title = `gather ${op.str()} at ${idx.str()} -> ${o.str()}, mode ${p.mode}`;
  return { passes: [itemsPass(title, bufs, o.size, body)], temps: [], note: `gather: one invocation per result element, mode ${p.mode}` };
}

// ---------------------------------------------------------------------------------------------
// scatters

type ScatterKind = "scatter" | "add" | "mul" | "min" | "max";

/** Geometry shared by the scatter passes. */
interface ScatterGeom {
  op: ShapedArray;
  idx: ShapedArray;
  upd: ShapedArray;
  p: ScatterParams;
  K: number;
  /** Index rows (update windows). */
  G: number;
  opS: number[];
  updS: number[];
  windowOpDims: number[];
  scatterDims: number[];
  /** The largest in-bounds window start along each mapped operand axis (per index k). */
  his: number[];
  /** Whether any pass reads the indices (not when every start is clamped to 0). */
  readsIdx: boolean;
}

function scatterGeom(op: ShapedArray, idx: ShapedArray, upd: ShapedArray, p: ScatterParams): ScatterGeom {
  const { update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims } = p.dimension_numbers;
  const windowOpDims = op.shape.map((_, d) => d).filter((d) => !inserted_window_dims.includes(d));
  const opWindow = (d: number) => {
    const j = windowOpDims.indexOf(d);
    return j < 0 ? 1 : upd.shape[update_window_dims[j]];
  };
  const his = scatter_dims_to_operand_dims.map((d) => op.shape[d] - opWindow(d));
  return {
    op, idx, upd, p, K: idx.shape[idx.ndim - 1], G: sizeOf(idx.shape.slice(0, -1)), opS: stridesOf(op.shape), updS: stridesOf(upd.shape),
    windowOpDims, scatterDims: upd.shape.map((_, d) => d).filter((d) => !update_window_dims.includes(d)),
    his, readsIdx: his.length > 0 && (p.mode !== "clip" || his.some((h) => h > 0)),
  };
}

/** Bindings out (0), operand (1), indices (2), updates (3), as a scatter pass declares them. */
function scatterBufs(g: ScatterGeom, out: Partial<PassBuf>, upd: Partial<PassBuf> = {}): PassBuf[] {
  const bufs: PassBuf[] = [{ buf: 0, dtype: g.op.dtype, elements: g.op.size, write: true, ...out }];
  if (g.readsIdx) bufs.push({ buf: 2, dtype: g.idx.dtype, elements: g.idx.size, storage: storageOf(g.idx.dtype) });
  bufs.push({ buf: 3, dtype: g.upd.dtype, elements: g.upd.size, ...upd });
  return bufs;
}

/** Body lines of a per-update pass up to `let pos` (the operand element), dropping out-of-bounds windows. */
function updatePosition(g: ScatterGeom): string[] {
  const { update_window_dims, scatter_dims_to_operand_dims } = g.p.dimension_numbers;
  const body = unravel(g.upd.shape, "u");
  const terms: [string, number][] = update_window_dims.map((d, j) => [`u${d}`, g.opS[g.windowOpDims[j]]]);
  if (g.K > 0) {
    const scS = stridesOf(g.scatterDims.map((d) => g.upd.shape[d]));
    body.push(`  let g = ${lin(g.scatterDims.map((d, j) => [`u${d}`, scS[j] * g.K]))};`);
    scatter_dims_to_operand_dims.forEach((d, k) => {
      const lines = startOf(k, g.idx.dtype, 2, "g", g.his[k], g.p.mode === "clip", "return;");
      if (!lines) return;
      body.push(...lines);
      terms.push([`s${k}`, g.opS[d]]);
    });
  }
  body.push(`  let pos = ${lin(terms)};`);
  return body;
}

/** WGSL helpers of the float32 min/max combine: the CPU's NaN rule, ordered by integer keys. */
const FMINMAX = [
  "fn p_fnan(x: u32) -> bool { return (x & 0x7fffffffu) > 0x7f800000u; }",
  "fn p_fkey(x: u32) -> u32 { return select(x | 0x80000000u, ~x, (x & 0x80000000u) != 0u); }",
  "fn p_fmin(a: u32, b: u32) -> u32 {\n  if (p_fnan(a) || p_fnan(b)) { return 0x7fc00000u; }\n  return select(b, a, p_fkey(a) <= p_fkey(b));\n}",
  "fn p_fmax(a: u32, b: u32) -> u32 {\n  if (p_fnan(a) || p_fnan(b)) { return 0x7fc00000u; }\n  return select(b, a, p_fkey(a) >= p_fkey(b));\n}",
];

/** A compare-exchange loop folding `v` into atomic word b0[pos] with `combine(old, v)` (u32 words). */
function casLoop(combine: (old: string) => string): string[] {
  return [
    "  var old = atomicLoad(&b0[pos]);",
    "  loop {",
    `    let nv = ${combine("old")};`,
    "    if (nv == old) { break; }",
    "    let r = atomicCompareExchangeWeak(&b0[pos], old, nv);",
    "    if (r.exchanged) { break; }",
    "    old = r.old_value;",
    "  }",
  ];
}

const F32_OP: Record<string, string> = { add: "+", mul: "*" };

/** The copy of the operand into the output (and the zeroing of a u32 temp `zero`). */
function copyPass(g: ScatterGeom, zero?: number): WgslKernel {
  const bufs: PassBuf[] = [{ buf: 0, dtype: g.op.dtype, elements: g.op.size, write: true }, { buf: 1, dtype: g.op.dtype, elements: g.op.size }];
  const body = ["  b0[p] = b1[p];"];
  if (zero !== undefined) {
    bufs.push({ buf: zero, dtype: uint32, elements: g.op.size, write: true });
    body.push(`  b${zero}[p] = 0u;`);
  }
  return itemsPass(`scatter: copy the operand ${g.op.str()}${zero !== undefined ? ", zero the winners" : ""}`, bufs, g.op.size, body);
}

/**
 * Whether the updates landing on one operand element come in index-row order, so that folding
 * rows in order is folding by update number (the CPU's order). Hits from different rows share
 * their window offset unless a window moves along one of its own axes (an indexed window axis);
 * then the order can differ only if such a window axis precedes a scatter axis in the updates.
 */
function rowsInUpdateOrder(g: ScatterGeom): boolean {
  const { update_window_dims, scatter_dims_to_operand_dims } = g.p.dimension_numbers;
  const moving = update_window_dims.filter((wd, j) => g.upd.shape[wd] > 1 && scatter_dims_to_operand_dims.includes(g.windowOpDims[j]));
  return g.scatterDims.every((sd) => g.upd.shape[sd] === 1 || moving.every((wd) => wd > sd));
}

/**
 * float32 add/mul, exact: one invocation per operand element folds the updates landing on it in
 * update-number order (rows in order, or, when window axes come first in the updates, by
 * repeatedly taking the smallest update number above the last one).
 */
function perOutputPass(kind: "add" | "mul", g: ScatterGeom): WgslKernel {
  const { update_window_dims, scatter_dims_to_operand_dims } = g.p.dimension_numbers;
  const ordered = rowsInUpdateOrder(g);
  const scExt = g.scatterDims.map((d) => g.upd.shape[d]);
  const scS = stridesOf(scExt);
  const find: string[] = [];
  const starts = new Map<number, string>();
  scatter_dims_to_operand_dims.forEach((d, k) => {
    const lines = startOf(k, g.idx.dtype, 2, `g * ${g.K}`, g.his[k], g.p.mode === "clip", "continue;");
    if (!lines) return;
    find.push(...lines);
    starts.set(d, `s${k}`);
  });
  // g's coordinates along the updates' scatter axes.
  const gTerms: [string, number][] = g.scatterDims.map((d, j) => {
    const q = scS[j] === 1 ? "g" : `(g / ${scS[j]})`;
    return [g.upd.shape[d] === 1 ? "0i" : j === 0 ? q : `(${q} % ${scExt[j]})`, g.updS[d]];
  });
  const wTerms: [string, number][] = [];
  g.op.shape.forEach((n, d) => {
    const s = starts.get(d);
    const w = s ? `(c${d} - ${s})` : `c${d}`;
    const j = g.windowOpDims.indexOf(d);
    if (j < 0) {
      if (s || n > 1) find.push(`  if (${w} != 0i) { continue; }`);
      return;
    }
    const W = g.upd.shape[update_window_dims[j]];
    if (s || W < n) find.push(`  if (${w} < 0i || ${w} >= ${W}i) { continue; }`);
    wTerms.push([w, g.updS[update_window_dims[j]]]);
  });
  find.push(`  let i = ${lin([...gTerms, ...wTerms])};`);
  const ind = (lines: string[], pre: string) => lines.map((l) => pre + l);
  const fold = `acc = acc ${F32_OP[kind]} bitcast<f32>(b3[IDX]);`;
  const body = [...unravel(g.op.shape, "c"), "  var acc = bitcast<f32>(b1[p]);", "  var hit = false;"];
  if (ordered)
    body.push(`  for (var g = 0i; g < ${g.G}i; g++) {`, ...ind(find, "  "), `    ${fold.replace("IDX", "i")}`, "    hit = true;", "  }");
  else
    body.push(
      "  var last = -1i;",
      "  loop {",
      "    var best = 2147483647i;",
      `    for (var g = 0i; g < ${g.G}i; g++) {`, ...ind(find, "    "), "      if (i > last && i < best) { best = i; }", "    }",
      "    if (best == 2147483647i) { break; }",
      `    ${fold.replace("IDX", "best")}`, "    hit = true;", "    last = best;", "  }",
    );
  body.push("  b0[p] = select(b1[p], bitcast<u32>(acc), hit);");
  const bufs = [{ buf: 0, dtype: g.op.dtype, elements: g.op.size, write: true }, { buf: 1, dtype: g.op.dtype, elements: g.op.size }, ...scatterBufs(g, {}).slice(1)];
  return itemsPass(`scatter-${kind} ${g.op.str()}: per operand element, updates folded in the CPU's order${ordered ? "" : " (selected by update number)"}`, bufs, g.op.size, body);
}

/** The rule of one scatter primitive. `limit` overrides PER_OUTPUT_LIMIT (tests). */
export function scatterCall(kind: ScatterKind, ins: readonly ShapedArray[], outs: readonly ShapedArray[], p: ScatterParams, caps: AdapterCaps, limit = PER_OUTPUT_LIMIT): WgslCall | { why: string } {
  const name = kind === "scatter" ? "scatter" : `scatter-${kind}`;
  const [op, idx, upd] = ins;
  const why = unsupported(name, [...ins, outs[0]], caps);
  if (why) return { why };
  if (op.size === 0) return none(`${name}: empty operand`);
  const g = scatterGeom(op, idx, upd, p);
  if (upd.size === 0) return { passes: [copyPass(g)], temps: [], note: `${name}: no updates, operand copied` };
  const title = `${name} of ${upd.str()} into ${op.str()} at ${idx.str()}, mode ${p.mode}`;
  const dt = op.dtype;
  const update = (tail: string[], out: Partial<PassBuf>, extra: PassBuf[] = [], fns: string[] = [], exact = true, sub = "") =>
    itemsPass(title + sub, [...scatterBufs(g, out, { storage: out.storage ?? "u32" }), ...extra], upd.size, [...updatePosition(g), "  let v = b3[p];", ...tail], fns, exact);

  if (kind === "scatter") {
    if (p.unique_indices) return { passes: [copyPass(g), update(["  b0[pos] = v;"], {})], temps: [], note: `${name}: indices promised unique, direct writes` };
    const T = 4;
    const idxBufs = scatterBufs(g, {}).filter((b) => b.buf === 2);
    const mark = itemsPass(`${title}: mark the last writer`, [...idxBufs, { buf: T, dtype: uint32, elements: op.size, write: true, atomic: true }], upd.size, [...updatePosition(g), `  atomicMax(&b${T}[pos], p + 1u);`]);
    const write = update([`  if (b${T}[pos] == p + 1u) { b0[pos] = v; }`], {}, [{ buf: T, dtype: uint32, elements: op.size }], [], true, ": the last writer writes");
    return { passes: [copyPass(g, T), mark, write], temps: [{ dtype: uint32, elements: op.size }], note: `${name}: last writer wins (atomicMax of the update number per element)` };
  }
  if (dt.name === "float32" && (kind === "add" || kind === "mul")) {
    const unique = new Set(p.dimension_numbers.scatter_dims_to_operand_dims).size === g.K;
    const cost = op.size * g.G * (rowsInUpdateOrder(g) ? 1 : 2);
    if (unique && cost <= limit) return { passes: [perOutputPass(kind, g)], temps: [], note: `${name}: per operand element, updates folded in the CPU's order (bit-exact)` };
    const f = (o: string) => `bitcast<u32>(bitcast<f32>(${o}) ${F32_OP[kind]} bitcast<f32>(v))`;
    return {
      passes: [copyPass(g), update(casLoop(f), { storage: "u32", atomic: true }, [], [], false)],
      temps: [],
      note: `${name}: compare-exchange float32 ${kind} per update element; with repeated indices the order (and the last bits) may differ from the CPU's`,
    };
  }
  if (dt.name === "float32") return { passes: [copyPass(g), update(casLoop((o) => `p_f${kind}(${o}, v)`), { storage: "u32", atomic: true }, [], FMINMAX)], temps: [], note: `${name}: compare-exchange on the bits (exact)` };
  // Integers and bool: native atomics, or a compare-exchange loop for integer products.
  const st = dt.isBool ? "u32" : storageOf(dt);
  const fn = dt.isBool ? { add: "atomicOr", mul: "atomicAnd", min: "atomicMin", max: "atomicMax" }[kind] : { add: "atomicAdd", mul: "", min: "atomicMin", max: "atomicMax" }[kind];
  const tail = fn ? [`  ${fn}(&b0[pos], v);`] : casLoop((o) => `${o} * v`);
  return { passes: [copyPass(g), update(tail, { storage: st, atomic: true })], temps: [], note: `${name}: ${fn || "compare-exchange"} per update element (exact)` };
}

// ---------------------------------------------------------------------------------------------
// pad, concatenate

type PadParams = { padding_config: [number, number, number][] };

function padRule(ins: readonly ShapedArray[], outs: readonly ShapedArray[], p: PadParams, caps: AdapterCaps): WgslCall | { why: string } {
  const [x, v] = ins;
  const [o] = outs;
  const why = unsupported("pad", [x, v, o], caps);
  if (why) return { why };
  if (o.size === 0) return none("pad: empty result");
  const xS = stridesOf(x.shape);
  const body = unravel(o.shape, "c");
  const bufs: PassBuf[] = [{ buf: 0, dtype: o.dtype, elements: o.size, write: true }];
  if (x.size === 0) body.push("  b0[p] = b2[0];");
  else {
    bufs.push({ buf: 1, dtype: x.dtype, elements: x.size });
    const conds: string[] = [];
    const terms: [string, number][] = [];
    x.shape.forEach((n, d) => {
      const [lo, , interior] = p.padding_config[d];
      const step = interior + 1;
      body.push(`  let t${d} = c${d} - ${ilit(lo)};`);
      conds.push(`t${d} >= 0i`, `t${d} <= ${(n - 1) * step}i`);
      if (step > 1) conds.push(`t${d} % ${step}i == 0i`);
      terms.push([step > 1 ? `(t${d} / ${step}i)` : `t${d}`, xS[d]]);
    });
    body.push(`  if (${conds.join(" && ") || "true"}) { b0[p] = b1[${lin(terms)}]; } else { b0[p] = b2[0]; }`);
  }
  bufs.push({ buf: 2, dtype: v.dtype, elements: 1 });
  const cfg = p.padding_config.map((c) => c.join(":")).join(",");
  return { passes: [itemsPass(`pad ${x.str()} by [${cfg}] -> ${o.str()}`, bufs, o.size, body)], temps: [], note: "pad: one invocation per result element" };
}

function concatenateRule(ins: readonly ShapedArray[], outs: readonly ShapedArray[], p: { dimension: number }, caps: AdapterCaps): WgslCall | { why: string } {
  const [o] = outs;
  const why = unsupported("concatenate", [...ins, o], caps);
  if (why) return { why };
  const d = p.dimension;
  const outer = sizeOf(o.shape.slice(0, d));
  const innerOut = sizeOf(o.shape.slice(d));
  // Column ranges of the non-empty operands, grouped MAX_BINDINGS - 1 per pass.
  const parts: { buf: number; x: ShapedArray; col: number; inner: number }[] = [];
  let col = 0;
  ins.forEach((x, i) => {
    const inner = sizeOf(x.shape.slice(d));
    if (x.size > 0) parts.push({ buf: 1 + i, x, col, inner });
    col += inner;
  });
  const passes: WgslKernel[] = [];
  for (let at = 0; at < parts.length; at += MAX_BINDINGS - 1) {
    const group = parts.slice(at, at + MAX_BINDINGS - 1);
    const col0 = group[0].col;
    const width = group.reduce((a, q) => a + q.inner, 0);
    const body = [`  let r = p / ${width}u;`, `  let c = p % ${width}u;`, `  let o = r * ${innerOut}u + ${col0}u + c;`];
    let end = 0;
    group.forEach((q, j) => {
      const src = `b${q.buf}[r * ${q.inner}u + c${end ? ` - ${end}u` : ""}]`;
      end += q.inner;
      body.push(j === group.length - 1 ? `  ${j ? "else { " : ""}b0[o] = ${src};${j ? " }" : ""}` : `  ${j ? "else " : ""}if (c < ${end}u) { b0[o] = ${src}; }`);
    });
    const bufs: PassBuf[] = [{ buf: 0, dtype: o.dtype, elements: o.size, write: true }, ...group.map((q) => ({ buf: q.buf, dtype: q.x.dtype, elements: q.x.size }))];
    passes.push(itemsPass(`concatenate along axis ${d} -> ${o.str()}: operands ${group.map((q) => q.buf - 1).join(", ")}`, bufs, outer * width, body));
  }
  return { passes, temps: [], note: `concatenate: ${passes.length} pass(es), one invocation per element` };
}

// ---------------------------------------------------------------------------------------------
// dynamic_slice, dynamic_update_slice

/**
 * The clamped start `s{d}` of each axis whose window can move (as i32 lines), reading the start
 * scalars (call buffers firstStart + d) directly when `room` bindings allow, else from an i32
 * temp `tempBuf` filled by staging passes. Returns the lines, the bindings and the staging passes.
 */
function clampedStarts(op: string, shape: readonly number[], sizes: readonly number[], starts: readonly ShapedArray[], firstStart: number, room: number, tempBuf: number) {
  const moving = shape.map((_, d) => d).filter((d) => shape[d] - sizes[d] > 0);
  const clampOf = (d: number, r: string) => (starts[d].dtype.name === "uint32" ? `i32(min(${r}, ${shape[d] - sizes[d]}u))` : `clamp(${r}, 0i, ${shape[d] - sizes[d]}i)`);
  const startBuf = (d: number): PassBuf => ({ buf: firstStart + d, dtype: starts[d].dtype, elements: 1, storage: storageOf(starts[d].dtype) });
  if (moving.length <= room)
    return { moving, lines: moving.map((d) => `  let s${d} = ${clampOf(d, `b${firstStart + d}[0]`)};`), bufs: moving.map(startBuf), staging: [] as WgslKernel[], temps: [] as WgslTemp[] };
  const staging: WgslKernel[] = [];
  for (let at = 0; at < moving.length; at += MAX_BINDINGS - 1) {
    const group = moving.slice(at, at + MAX_BINDINGS - 1);
    const bufs: PassBuf[] = [{ buf: tempBuf, dtype: int32, elements: shape.length, write: true, storage: "i32" }, ...group.map(startBuf)];
    staging.push(itemsPass(`${op}: clamp start indices ${group.join(", ")}`, bufs, 1, group.map((d) => `  b${tempBuf}[${d}] = ${clampOf(d, `b${firstStart + d}[0]`)};`)));
  }
  return {
    moving,
    lines: moving.map((d) => `  let s${d} = b${tempBuf}[${d}];`),
    bufs: [{ buf: tempBuf, dtype: int32, elements: shape.length, storage: "i32" as const }],
    staging,
    temps: [{ dtype: int32, elements: shape.length }],
  };
}

function dynamicSliceRule(ins: readonly ShapedArray[], outs: readonly ShapedArray[], p: { slice_sizes: number[] }, caps: AdapterCaps): WgslCall | { why: string } {
  const [x, ...starts] = ins;
  const [o] = outs;
  const why = unsupported("dynamic_slice", [...ins, o], caps);
  if (why) return { why };
  if (o.size === 0) return none("dynamic_slice: empty result");
  const st = clampedStarts("dynamic_slice", x.shape, p.slice_sizes, starts, 2, MAX_BINDINGS - 2, 1 + ins.length);
  const xS = stridesOf(x.shape);
  const body = [...unravel(o.shape, "c"), ...st.lines, `  b0[p] = b1[${lin(x.shape.map((_, d) => [st.moving.includes(d) ? `(c${d} + s${d})` : `c${d}`, xS[d]]))}];`];
  const bufs: PassBuf[] = [{ buf: 0, dtype: o.dtype, elements: o.size, write: true }, { buf: 1, dtype: x.dtype, elements: x.size }, ...st.bufs];
  return { passes: [...st.staging, itemsPass(`dynamic_slice ${x.str()} -> ${o.str()}`, bufs, o.size, body)], temps: st.temps, note: "dynamic_slice: clamped starts, one invocation per element" };
}

function dynamicUpdateSliceRule(ins: readonly ShapedArray[], outs: readonly ShapedArray[], _p: unknown, caps: AdapterCaps): WgslCall | { why: string } {
  const [x, u, ...starts] = ins;
  const why = unsupported("dynamic_update_slice", [...ins, outs[0]], caps);
  if (why) return { why };
  if (x.size === 0) return none("dynamic_update_slice: empty operand");
  const out: PassBuf = { buf: 0, dtype: x.dtype, elements: x.size, write: true };
  const xb: PassBuf = { buf: 1, dtype: x.dtype, elements: x.size };
  if (u.size === 0) return { passes: [itemsPass(`dynamic_update_slice ${x.str()}: empty update, copy`, [out, xb], x.size, ["  b0[p] = b1[p];"])], temps: [], note: "dynamic_update_slice: empty update" };
  const st = clampedStarts("dynamic_update_slice", x.shape, u.shape, starts, 3, MAX_BINDINGS - 3, 1 + ins.length);
  const uS = stridesOf(u.shape);
  const conds: string[] = [];
  const terms: [string, number][] = [];
  const body = [...unravel(x.shape, "c"), ...st.lines];
  x.shape.forEach((n, d) => {
    const moving = n - u.shape[d] > 0;
    const w = moving ? `(c${d} - s${d})` : `c${d}`;
    if (moving) conds.push(`${w} >= 0i`, `${w} < ${u.shape[d]}i`);
    terms.push([w, uS[d]]);
  });
  body.push(`  if (${conds.join(" && ") || "true"}) { b0[p] = b2[${lin(terms)}]; } else { b0[p] = b1[p]; }`);
  const bufs: PassBuf[] = [out, xb, { buf: 2, dtype: u.dtype, elements: u.size }, ...st.bufs];
  return { passes: [...st.staging, itemsPass(`dynamic_update_slice ${u.str()} into ${x.str()}`, bufs, x.size, body)], temps: st.temps, note: "dynamic_update_slice: clamped starts, one invocation per element" };
}

// ---------------------------------------------------------------------------------------------
// iota, bitcast_convert_type

type IotaParams = { dtype: DType; shape: number[]; dimension: number };

function iotaRule(_ins: readonly ShapedArray[], outs: readonly ShapedArray[], p: IotaParams, caps: AdapterCaps): WgslCall | { why: string } {
  const [o] = outs;
  const why = unsupported("iota", [o], caps);
  if (why) return { why };
  if (o.dtype.isBool) return { why: "iota: bool iota is not defined, got bool" };
  if (o.size === 0) return none("iota: empty");
  const s = stridesOf(p.shape)[p.dimension];
  const n = p.shape[p.dimension];
  const v = `${s === 1 ? "p" : `(p / ${s}u)`}${s * n === o.size ? "" : ` % ${n}u`}`;
  // float32: f32(hi) + f32(lo) of the halves is one correctly rounded add (round to nearest
  // even, as the CPU's Float32Array store), where f32(u32) may round either way above 2^24.
  const store = o.dtype.name === "float32" ? "bitcast<u32>(f32(v & 0xffffff00u) + f32(v & 0xffu))" : "v";
  const body = [`  let v = ${v};`, `  b0[p] = ${store};`];
  return { passes: [itemsPass(`iota ${o.str()} along axis ${p.dimension}`, [{ buf: 0, dtype: o.dtype, elements: o.size, write: true }], o.size, body)], temps: [], note: "iota" };
}

function bitcastRule(ins: readonly ShapedArray[], outs: readonly ShapedArray[], p: { new_dtype: DType }, caps: AdapterCaps): WgslCall | { why: string } {
  const [x] = ins;
  const [o] = outs;
  if (x.dtype.bits !== 32 || o.dtype.bits !== 32) return { why: `bitcast_convert_type: only 32-bit types (float32, int32, uint32) on WebGPU, got ${x.dtype.name} -> ${p.new_dtype.name}` };
  const why = unsupported("bitcast_convert_type", [x, o], caps);
  if (why) return { why };
  if (o.size === 0) return none("bitcast_convert_type: empty");
  const bufs: PassBuf[] = [{ buf: 0, dtype: o.dtype, elements: o.size, write: true }, { buf: 1, dtype: x.dtype, elements: x.size }];
  return { passes: [itemsPass(`bitcast_convert_type ${x.str()} -> ${o.str()}`, bufs, o.size, ["  b0[p] = b1[p];"])], temps: [], note: "bitcast: word copy" };
}

registerWgslRule("gather", gatherRule);
registerWgslRule<ScatterParams>("scatter", (i, o, p, c) => scatterCall("scatter", i, o, p, c));
registerWgslRule<ScatterParams>("scatter-add", (i, o, p, c) => scatterCall("add", i, o, p, c));
registerWgslRule<ScatterParams>("scatter-mul", (i, o, p, c) => scatterCall("mul", i, o, p, c));
registerWgslRule<ScatterParams>("scatter-min", (i, o, p, c) => scatterCall("min", i, o, p, c));
registerWgslRule<ScatterParams>("scatter-max", (i, o, p, c) => scatterCall("max", i, o, p, c));
registerWgslRule("pad", padRule);
registerWgslRule("concatenate", concatenateRule);
registerWgslRule("dynamic_slice", dynamicSliceRule);
registerWgslRule("dynamic_update_slice", dynamicUpdateSliceRule);
registerWgslRule("iota", iotaRule);
registerWgslRule("bitcast_convert_type", bitcastRule);
