// WGSL lowering of `sort` (kernel/primitives/sort.ts): one or more operands of the same shape
// sorted together along `dimension`, ordered lexicographically by the first `num_keys` of them,
// with the CPU's order (totalOrderCompare: -inf < ... < -0 == +0 < ... < inf < NaN, all NaNs
// equal) and the CPU's tie rule (V8's stable Array.prototype.sort, also used when `is_stable` is
// false). The result is bit-identical to the CPU's: the passes only compare integers and move
// bits.
//
// How:
// 1. Records. Every row (the elements of one index of the other axes) is padded to P, the next
//    power of two, and becomes P records of num_keys + 1 u32 words in one temp, row after row:
//    each key mapped to a u32 whose unsigned order is the CPU's order (orderKeyWgsl), then the
//    element's position in its row. The position, compared last, makes every record distinct,
//    so the sort is stable whatever the network does, and the result is the one stable order,
//    the CPU's. Padding records carry all-ones keys and positions >= n: they sort last (a real
//    record with all-ones keys still has a smaller position).
// 2. A bitonic sorting network over each row of P records. Compare-exchange steps at distance
//    j >= B (the block of one workgroup) are one pass each over global memory; the steps below B
//    run inside a workgroup on a block of B records held in workgroup memory, with a barrier
//    between steps: one pass sorts every block (all stages up to min(B, P)), and each later
//    stage k > B ends with one such pass for its distances < B. A row of P = 2^m records takes
//    m(m+1)/2 steps; with B = 2^b that is (m-b)(m-b+1)/2 global passes plus m-b+1 block passes.
//    When P < B a block holds several whole rows (directions come from the position in the row).
// 3. Gather: each output element reads the position at its place in the sorted records and
//    copies the operand's element from there (bits: any dtype, every operand together).
//
// Stage constants (k, j, P, sizes) are baked into each pass's text, so a row length gives its
// own set of shaders (the runtime caches them by text). Passes bind at most 7 storage buffers
// (WebGPU's default limit is 8 per stage): the gather is split into groups of 3 operands.

import { ShapedArray } from "../../core/aval";
import { DType, uint32 } from "../../core/dtype";
import { sizeOf } from "../../core/shape";
import { SortParams } from "../../primitives/sort";
import { WgslBinding, WgslKernel, dispatchSize } from "./codegen-wgsl";
import { AdapterCaps, WgslCall, WgslTemp, registerWgslRule } from "./wgsl-library";
import { wgslStorageType } from "./wgsl-scalar";

/** The dtypes a WGSL library rule can store (bool as one u32 per element). */
export const WGSL_LIBRARY_DTYPES: ReadonlySet<string> = new Set(["float32", "int32", "uint32", "bool"]);
/** Invocations per workgroup of the simple (one invocation per item) passes. */
const WG = 64;
/** The largest workgroup a block pass uses (llvmpipe and most GPUs run 256 well). */
const MAX_BLOCK_THREADS = 256;
/** Operands per gather pass: 2 * 3 + 1 bindings stay within WebGPU's default of 8 storage buffers per stage. */
const GATHER_GROUP = 3;

/**
 * WGSL functions mapping a value of `d` (as stored) to a u32 whose unsigned order is the CPU's
 * sort order: float32 -0 -> +0's key, every NaN -> one key above +inf, negative floats
 * bit-inverted, the sign bit of int32 flipped; uint32 and bool as they are. Integer compares
 * only, so it holds on GPUs that assume no NaN or flush subnormals in float compares.
 */
export function orderKeyWgsl(d: DType): { fn: string; call: (v: string) => string } {
  if (d.name === "float32")
    return {
      fn: [
        "fn p_okey(x: f32) -> u32 {",
        "  let u = bitcast<u32>(x);",
        "  if ((u & 0x7fffffffu) > 0x7f800000u) { return 0xffc00000u; }",
        "  if (u == 0x80000000u) { return 0x80000000u; }",
        "  return select(u ^ 0x80000000u, ~u, (u & 0x80000000u) != 0u);",
        "}",
      ].join("\n"),
      call: (v) => `p_okey(${v})`,
    };
  if (d.name === "int32") return { fn: "", call: (v) => `(bitcast<u32>(${v}) ^ 0x80000000u)` };
  return { fn: "", call: (v) => v };
}

/** A buffer a pass uses: the call's buffer number, its dtype, size, and whether the pass writes it. */
export interface PassBuf {
  buf: number;
  dtype: DType;
  elements: number;
  write: boolean;
  /** The WGSL variable name in the pass. */
  name: string;
}

/** Bindings 0, 1, ... of a pass, in the order given, and their declarations. */
export function passBindings(bufs: readonly PassBuf[]): { bindings: WgslBinding[]; decls: string } {
  const bindings = bufs.map((b, i): WgslBinding => ({
    binding: i, buf: b.buf, role: b.write ? "out" : "in", access: b.write ? "read_write" : "read",
    dtype: b.dtype, storage: wgslStorageType(b.dtype), elements: b.elements,
  }));
  const decls = bufs.map((b, i) => `@group(0) @binding(${i}) var<storage, ${b.write ? "read_write" : "read"}> ${b.name}: array<${wgslStorageType(b.dtype)}>;`).join("\n");
  return { bindings, decls };
}

/**
 * A pass of one invocation per item in [0, items): `body` runs with `p` (u32) the item, after
 * the bounds check. Workgroups beyond 65535 go to a 2-D grid recombined into `p`.
 */
export function itemPass(title: string, bufs: readonly PassBuf[], items: number, body: string[], fns: string[] = [], bitExact = true): WgslKernel {
  const { bindings, decls } = passBindings(bufs);
  const code = [
    `// ${title}`,
    "",
    decls,
    "",
    ...fns.filter((f) => f).flatMap((f) => [f, ""]),
    `@compute @workgroup_size(${WG})`,
    "fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {",
    `  let p = gid.x + gid.y * (nwg.x * ${WG}u);`,
    `  if (p >= ${items}u) { return; }`,
    ...body.map((l) => "  " + l),
    "}",
    "",
  ].join("\n");
  return { code, entryPoint: "main", bindings, workgroupSize: WG, invocations: items, dispatch: dispatchSize(items, WG), bitExact };
}

/** Splits `shape` around `axis`: [outer, n, inner]. */
export function splitAround(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

const log2 = (x: number) => Math.round(Math.log2(x));
const nextPow2 = (x: number) => 2 ** Math.ceil(Math.log2(x));
const floorPow2 = (x: number) => 2 ** Math.floor(Math.log2(x));

/** The shape of a sort's network, exported for the tests. */
export interface SortPlan {
  outer: number;
  n: number;
  inner: number;
  /** Rows (outer * inner), each padded to P records. */
  rows: number;
  P: number;
  /** u32 words per record: the keys, then the position. */
  R: number;
  /** Records in the temp: rows * P. */
  N: number;
  /** Records per block pass (a power of two, min(B, P) the largest stage a block sorts). */
  B: number;
}

/** The network's sizes for `shape`, or why it does not fit the adapter. */
export function sortPlan(shape: readonly number[], p: SortParams, caps: AdapterCaps): SortPlan | { why: string } {
  const [outer, n, inner] = splitAround(shape, p.dimension);
  const rows = outer * inner;
  const P = nextPow2(Math.max(n, 1));
  const R = p.num_keys + 1;
  const N = rows * P;
  const words = N * R;
  if (words > Math.min(caps.maxStorageBinding / 4, 2 ** 31 - 1))
    return { why: `sort: the padded records (${rows} rows x ${P} x ${R} words) exceed one storage binding (${caps.maxStorageBinding} bytes)` };
  const byStorage = floorPow2(caps.maxWorkgroupStorage / (4 * R));
  const B = Math.min(2 * floorPow2(Math.min(caps.maxInvocations, MAX_BLOCK_THREADS)), byStorage, nextPow2(N));
  if (B < 2) return { why: `sort: ${R} words per record leave no room in ${caps.maxWorkgroupStorage} bytes of workgroup memory` };
  return { outer, n, inner, rows, P, R, N, B };
}

/** Pass 1: the records of key operand q (and, with the first key, the positions). */
function recordPass(pl: SortPlan, q: number, x: ShapedArray, inBuf: number, recBuf: number): WgslKernel {
  const { n, inner, P, R, N } = pl;
  const key = orderKeyWgsl(x.dtype);
  const lp = log2(P);
  const body = [
    `let r = p >> ${lp}u;`,
    `let t = p & ${P - 1}u;`,
    `var v = 0xffffffffu;`,
    `if (t < ${n}u) { v = ${key.call(`x[((r / ${inner}u) * ${n}u + t) * ${inner}u + r % ${inner}u]`)}; }`,
    `rec[p * ${R}u + ${q}u] = v;`,
    ...(q === 0 ? [`rec[p * ${R}u + ${R - 1}u] = t;`] : []),
  ];
  return itemPass(
    `sort: records of key ${q} (${x.dtype.name}), ${pl.rows} rows of ${n} padded to ${P}`,
    [{ buf: recBuf, dtype: uint32, elements: N * R, write: true, name: "rec" }, { buf: inBuf, dtype: x.dtype, elements: sizeOf(x.shape), write: false, name: "x" }],
    N, body, [key.fn],
  );
}

/**
 * A block pass: workgroups of B/2 invocations sort-merge B consecutive records in workgroup
 * memory, for the stages k in [kLo, kHi] (each from distance min(k/2, B/2) down to 1).
 */
function blockPass(pl: SortPlan, kLo: number, kHi: number, recBuf: number): WgslKernel {
  const { P, R, N, B } = pl;
  const W = B / 2;
  const blocks = Math.ceil(N / B);
  const { bindings, decls } = passBindings([{ buf: recBuf, dtype: uint32, elements: N * R, write: true, name: "rec" }]);
  const code = [
    `// sort: bitonic stages k = ${kLo}..${kHi}, distances below ${B} in workgroup memory; ${blocks} blocks of ${B} records (${R} words each), rows of ${P}`,
    "",
    decls,
    `var<workgroup> sh: array<u32, ${B * R}>;`,
    "",
    "// Whether record x orders after record y (records are distinct: the position is the last word).",
    "fn after(x: u32, y: u32) -> bool {",
    `  for (var q = 0u; q < ${R}u; q++) {`,
    `    let a = sh[x * ${R}u + q];`,
    `    let b = sh[y * ${R}u + q];`,
    "    if (a != b) { return a > b; }",
    "  }",
    "  return false;",
    "}",
    "",
    `@compute @workgroup_size(${W})`,
    "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lt: u32) {",
    `  let base = (wid.x + wid.y * nwg.x) * ${B}u;`,
    "  for (var s = 0u; s < 2u; s++) {",
    `    let i = lt + s * ${W}u;`,
    `    if (base + i < ${N}u) {`,
    `      for (var q = 0u; q < ${R}u; q++) { sh[i * ${R}u + q] = rec[(base + i) * ${R}u + q]; }`,
    "    }",
    "  }",
    "  workgroupBarrier();",
    `  for (var k = ${kLo}u; k <= ${kHi}u; k <<= 1u) {`,
    `    for (var j = min(k >> 1u, ${W}u); j > 0u; j >>= 1u) {`,
    "      let i = 2u * lt - (lt & (j - 1u));",
    // Rows are whole within a block (P <= B, N a multiple of P; or P > B and blocks full), so a
    // record inside the array has its partner inside too.
    `      if (base + i < ${N}u) {`,
    `        let desc = (((base + i) & ${P - 1}u) & k) != 0u;`,
    "        if (after(i, i + j) != desc) {",
    `          for (var q = 0u; q < ${R}u; q++) {`,
    `            let a = sh[i * ${R}u + q];`,
    `            sh[i * ${R}u + q] = sh[(i + j) * ${R}u + q];`,
    `            sh[(i + j) * ${R}u + q] = a;`,
    "          }",
    "        }",
    "      }",
    "      workgroupBarrier();",
    "    }",
    "  }",
    "  for (var s = 0u; s < 2u; s++) {",
    `    let i = lt + s * ${W}u;`,
    `    if (base + i < ${N}u) {`,
    `      for (var q = 0u; q < ${R}u; q++) { rec[(base + i) * ${R}u + q] = sh[i * ${R}u + q]; }`,
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
  return { code, entryPoint: "main", bindings, workgroupSize: W, invocations: blocks * W, dispatch: dispatchSize(blocks * W, W), bitExact: true };
}

/** A global pass: one compare-exchange step of stage k at distance j (j >= B) over all rows. */
function stepPass(pl: SortPlan, k: number, j: number, recBuf: number): WgslKernel {
  const { P, R, N } = pl;
  const body = [
    `let i = 2u * p - (p & ${j - 1}u);`,
    `let l = i + ${j}u;`,
    `let desc = ((i & ${P - 1}u) & ${k}u) != 0u;`,
    "var after = false;",
    `for (var q = 0u; q < ${R}u; q++) {`,
    `  let a = rec[i * ${R}u + q];`,
    `  let b = rec[l * ${R}u + q];`,
    "  if (a != b) { after = a > b; break; }",
    "}",
    "if (after != desc) {",
    `  for (var q = 0u; q < ${R}u; q++) {`,
    `    let a = rec[i * ${R}u + q];`,
    `    rec[i * ${R}u + q] = rec[l * ${R}u + q];`,
    `    rec[l * ${R}u + q] = a;`,
    "  }",
    "}",
  ];
  return itemPass(`sort: bitonic stage ${k}, distance ${j}, rows of ${P}`, [{ buf: recBuf, dtype: uint32, elements: N * R, write: true, name: "rec" }], N / 2, body);
}

/** The last pass(es): every operand's elements permuted by the sorted positions. */
function gatherPasses(pl: SortPlan, ins: readonly ShapedArray[], recBuf: number | null): WgslKernel[] {
  const { n, inner, P, R, N } = pl;
  const total = pl.outer * n * inner;
  const m = ins.length;
  const passes: WgslKernel[] = [];
  for (let g0 = 0; g0 < m; g0 += GATHER_GROUP) {
    const ops = ins.map((_, o) => o).slice(g0, g0 + GATHER_GROUP);
    const bufs: PassBuf[] = [
      ...ops.map((o) => ({ buf: o, dtype: ins[o].dtype, elements: total, write: true, name: `y${o}` })),
      ...ops.map((o) => ({ buf: m + o, dtype: ins[o].dtype, elements: total, write: false, name: `x${o}` })),
    ];
    // Without records (rows of one element) the permutation is the identity.
    if (recBuf !== null) bufs.push({ buf: recBuf, dtype: uint32, elements: N * R, write: false, name: "rec" });
    const body =
      recBuf === null
        ? ops.map((o) => `y${o}[p] = x${o}[p];`)
        : [
            `let a = p / ${n * inner}u;`,
            `let k = (p / ${inner}u) % ${n}u;`,
            `let c = p % ${inner}u;`,
            `let src = (a * ${n}u + rec[(((a * ${inner}u + c) << ${log2(P)}u) + k) * ${R}u + ${R - 1}u]) * ${inner}u + c;`,
            ...ops.map((o) => `y${o}[p] = x${o}[src];`),
          ];
    passes.push(itemPass(`sort: gather operands ${ops.join(", ")} by the sorted positions`, bufs, total, body));
  }
  return passes;
}

/** The WGSL lowering of `sort` (see the file header); declines dtypes WGSL cannot store and arrays too large for one binding. */
export function sortRule(ins: readonly ShapedArray[], _outs: readonly ShapedArray[], p: SortParams, caps: AdapterCaps): WgslCall | { why: string } {
  for (const x of ins) if (!WGSL_LIBRARY_DTYPES.has(x.dtype.name)) return { why: `sort: operand of ${x.dtype.name} (WGSL stores float32, int32, uint32, bool)` };
  if (ins.length === 0 || p.num_keys < 1 || p.num_keys > ins.length) return { why: `sort: num_keys must be between 1 and ${ins.length}, got ${p.num_keys}` };
  const pl = sortPlan(ins[0].shape, p, caps);
  if ("why" in pl) return pl;
  const total = pl.outer * pl.n * pl.inner;
  if (total === 0) return { passes: [], temps: [], note: "sort: empty operands" };
  if (total > 2 ** 31 - 1) return { why: `sort: ${total} elements (indices are u32 below 2^31)` };
  if (pl.n === 1) return { passes: gatherPasses(pl, ins, null), temps: [], note: "sort: rows of one element (a copy)" };
  const recBuf = 2 * ins.length;
  const temps: WgslTemp[] = [{ dtype: uint32, elements: pl.N * pl.R }];
  const passes: WgslKernel[] = [];
  for (let q = 0; q < p.num_keys; q++) passes.push(recordPass(pl, q, ins[q], ins.length + q, recBuf));
  const { P, B } = pl;
  passes.push(blockPass(pl, 2, Math.min(B, P), recBuf));
  for (let k = 2 * B; k <= P; k *= 2) {
    for (let j = k / 2; j >= B; j /= 2) passes.push(stepPass(pl, k, j, recBuf));
    passes.push(blockPass(pl, k, k, recBuf));
  }
  passes.push(...gatherPasses(pl, ins, recBuf));
  return {
    passes, temps,
    note: `sort: bitonic network, ${pl.rows} row(s) of ${pl.n} padded to ${P}, ${p.num_keys} key(s) + position, blocks of ${B} records in workgroup memory, ${passes.length} passes`,
  };
}

registerWgslRule<SortParams>("sort", sortRule);
