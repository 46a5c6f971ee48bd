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
// 2. A bitonic sorting network over each row of P records, without workgroup memory: each
//    invocation loads 2^S records into registers (8 records while they fit in 64 words), runs
//    up to S compare-exchange steps among them as straight-line branchless code, and stores them
//    back. The first pass runs every stage up to 2^S on contiguous groups; each later stage k
//    runs its log2(k) steps (distances k/2 .. 1) S at a time, on the groups those distances
//    close. A row of P = 2^m records takes m(m+1)/2 steps in 1 + sum_{k=S+1..m} ceil(k/S)
//    passes over the records (75 for 2^20 with one key). Why not workgroup memory and barriers:
//    on llvmpipe a barrier costs far more than a pass (measured: a workgroup pass of 45 barrier
//    steps over 2^20 records took 1.5 s, a pass of 3 register steps about 8 ms). Why 8 records
//    and not 16: the same run time on lavapipe (2^20 records: ~0.6 s of passes either way) for a
//    third of the code to compile; a real GPU would do a few more passes over memory.
// 3. Gather: each output element reads the position at its place in the sorted records and
//    copies the operand's element from there (bits: any dtype, every operand together).
//
// The network passes' text depends only on the record width and the steps per pass: the stage,
// the distance, P and N are read from a control temp of 4 words, which the first record pass
// initialises and a one-invocation pass advances between network passes. So one set of about ten
// pipelines serves sorts of every length (the runtime caches pipelines by text; on lavapipe a
// 4-step pass takes 20-150 ms to compile, which a baked-constant network would pay for each of
// its passes at each new row length). Record and gather passes have their sizes baked in (cheap
// to compile). Passes bind at most 7 storage buffers (WebGPU's default limit is 8 per stage): the
// gather is split into groups of 3 operands.

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
 * the bounds check (`p >= bound`, default the constant `items`; `bound` may read a buffer, so
 * that the text need not depend on the size). Workgroups beyond 65535 go to a 2-D grid
 * recombined into `p`.
 */
export function itemPass(title: string, bufs: readonly PassBuf[], items: number, body: string[], fns: string[] = [], bitExact = true, bound = `${items}u`): WgslKernel {
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
    `  if (p >= ${bound}) { return; }`,
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
  /** Steps per pass: an invocation holds 2^S records in registers (2^S <= GROUP_RECORDS, 2^S * R <= GROUP_WORDS). */
  S: number;
}

/** The most records one invocation holds, and the most words (registers on a GPU). */
const GROUP_RECORDS = 8;
const GROUP_WORDS = 64;

/** The network's sizes for `shape`, or why it does not fit the adapter. */
export function sortPlan(shape: readonly number[], p: SortParams, caps: AdapterCaps): SortPlan | { why: string } {
  const [outer, n, inner] = splitAround(shape, p.dimension);
  const rows = outer * inner;
  const P = nextPow2(Math.max(n, 1));
  const R = p.num_keys + 1;
  const N = rows * P;
  if (N * R > Math.min(caps.maxStorageBinding / 4, 2 ** 31 - 1))
    return { why: `sort: the padded records (${rows} rows x ${P} x ${R} words) exceed one storage binding (${caps.maxStorageBinding} bytes)` };
  const S = Math.max(1, Math.min(log2(P), log2(GROUP_RECORDS), Math.floor(Math.log2(GROUP_WORDS / R))));
  return { outer, n, inner, rows, P, R, N, S };
}

/** The passes of the network: each runs the steps `dists` (descending powers of two) of stage k; stage 0 = all stages up to 2^S. */
export function sortStages(pl: SortPlan): { k: number; dists: number[] }[] {
  const out: { k: number; dists: number[] }[] = [{ k: 0, dists: [] }];
  for (let k = 2 ** (pl.S + 1); k <= pl.P; k *= 2) {
    const all: number[] = [];
    for (let j = k / 2; j >= 1; j /= 2) all.push(j);
    for (let i = 0; i < all.length; i += pl.S) out.push({ k, dists: all.slice(i, i + pl.S) });
  }
  return out;
}

/** The control words (a temp of 4 u32) the network passes read: stage k, top distance j of the next pass, P, N. */
const CTL = { k: 0, j: 1, P: 2, N: 3 };

/** Pass 1: the records of key operand q (with the first key, the positions and the control words). */
function recordPass(pl: SortPlan, q: number, x: ShapedArray, inBuf: number, recBuf: number, ctlBuf: number): WgslKernel {
  const { n, inner, P, R, N, S } = pl;
  const key = orderKeyWgsl(x.dtype);
  const lp = log2(P);
  const body = [
    `let r = p >> ${lp}u;`,
    `let t = p & ${P - 1}u;`,
    `var v = 0xffffffffu;`,
    `if (t < ${n}u) { v = ${key.call(`x[((r / ${inner}u) * ${n}u + t) * ${inner}u + r % ${inner}u]`)}; }`,
    `rec[p * ${R}u + ${q}u] = v;`,
    ...(q === 0
      ? [
          `rec[p * ${R}u + ${R - 1}u] = t;`,
          `if (p == 0u) { ctl[${CTL.k}] = ${2 ** (S + 1)}u; ctl[${CTL.j}] = ${2 ** S}u; ctl[${CTL.P}] = ${P}u; ctl[${CTL.N}] = ${N}u; }`,
        ]
      : []),
  ];
  const bufs: PassBuf[] = [{ buf: recBuf, dtype: uint32, elements: N * R, write: true, name: "rec" }, { buf: inBuf, dtype: x.dtype, elements: sizeOf(x.shape), write: false, name: "x" }];
  if (q === 0) bufs.push({ buf: ctlBuf, dtype: uint32, elements: 4, write: true, name: "ctl" });
  return itemPass(`sort: records of key ${q} (${x.dtype.name}), ${pl.rows} rows of ${n} padded to ${P}`, bufs, N, body, [key.fn]);
}

/**
 * A network pass on groups of 2^s records, its text independent of the row length (stage,
 * distances, P and N come from the control words), so that one pipeline serves every sort with
 * the same record width. Each invocation loads the records i0 + m * low (m < 2^s; i0 has zero
 * bits where m * low has its) into scalar variables, runs compare-exchanges among them as
 * straight-line branchless code, and stores them back.
 * - first (stage 0): every stage k <= 2^s on 2^s contiguous records; for k < 2^s the direction
 *   depends only on m, a constant of each exchange; for k = 2^s it is bit k of i0's position.
 * - otherwise: s steps of stage k from distance j down to low = j / 2^(s-1); the direction, bit
 *   k of the position in the row, is the group's (k > every distance).
 * (Measured on lavapipe: records as arrays passed to a compare function took seconds to compile
 * per pipeline; scalars and selects take 10-150 ms and run a 10-step pass over 2^20 records in ~8 ms.)
 */
function networkPass(pl: SortPlan, s: number, first: boolean, recBuf: number, ctlBuf: number): WgslKernel {
  const { R, N } = pl;
  const G = 2 ** s;
  const words = Array.from({ length: R }, (_, q) => q);
  const body: string[] = [
    `let P = ctl[${CTL.P}];`,
    ...(first
      ? ["let i0 = p * " + `${G}u;`, "let low = 1u;", `let descG = ((i0 & (P - 1u)) & ${G}u) != 0u;`]
      : [
          `let k = ctl[${CTL.k}];`,
          `let low = ctl[${CTL.j}] >> ${s - 1}u;`,
          "let lb = countTrailingZeros(low);",
          `let i0 = ((p >> lb) << (lb + ${s}u)) | (p & (low - 1u));`,
          "let desc = ((i0 & (P - 1u)) & k) != 0u;",
        ]),
  ];
  const at = (m: number) => (m === 0 ? "i0" : `(i0 + ${m}u * low)`);
  for (let m = 0; m < G; m++) body.push(words.map((q) => `var r${m}_${q} = rec[${at(m)} * ${R}u + ${q}u];`).join(" "));
  const exchange = (a: number, b: number, desc: string): void => {
    // Record a after record b, lexicographically (records are distinct: the position is the last word).
    let after = `r${a}_${R - 1} > r${b}_${R - 1}`;
    for (let q = R - 2; q >= 0; q--) after = `r${a}_${q} > r${b}_${q} || (r${a}_${q} == r${b}_${q} && (${after}))`;
    const sw = desc === "false" ? `(${after})` : desc === "true" ? `!(${after})` : `(${after}) != ${desc}`;
    body.push(`{ let sw = ${sw};` + words.map((q) => ` let x${q} = r${a}_${q}; r${a}_${q} = select(x${q}, r${b}_${q}, sw); r${b}_${q} = select(r${b}_${q}, x${q}, sw);`).join("") + " }");
  };
  const stepAt = (d: number, desc: (m: number) => string): void => {
    for (let m = 0; m < G; m++) if ((m & d) === 0) exchange(m, m + d, desc(m));
  };
  if (first) {
    for (let kk = 2; kk <= G; kk *= 2) for (let d = kk / 2; d >= 1; d /= 2) stepAt(d, (m) => (kk < G ? String((m & kk) !== 0) : "descG"));
  } else {
    for (let d = G / 2; d >= 1; d /= 2) stepAt(d, () => "desc");
  }
  for (let m = 0; m < G; m++) body.push(words.map((q) => `rec[${at(m)} * ${R}u + ${q}u] = r${m}_${q};`).join(" "));
  const title = first ? `sort: bitonic stages 2..${G} on groups of ${G} records` : `sort: ${s} bitonic steps (stage and distance from ctl) on groups of ${G} records`;
  return itemPass(
    `${title}, ${R} words each`,
    [{ buf: recBuf, dtype: uint32, elements: N * R, write: true, name: "rec" }, { buf: ctlBuf, dtype: uint32, elements: 4, write: false, name: "ctl" }],
    N / G, body, [], true, `(ctl[${CTL.N}] >> ${s}u)`,
  );
}

/** One invocation moving the control words past a pass of s steps: the next distance, or the next stage. */
function advancePass(s: number, ctlBuf: number): WgslKernel {
  return itemPass(`sort: control words past ${s} bitonic steps`, [{ buf: ctlBuf, dtype: uint32, elements: 4, write: true, name: "ctl" }], 1, [
    `let j = ctl[${CTL.j}] >> ${s}u;`,
    `if (j == 0u) { ctl[${CTL.k}] = ctl[${CTL.k}] << 1u; ctl[${CTL.j}] = ctl[${CTL.k}] >> 1u; } else { ctl[${CTL.j}] = j; }`,
  ]);
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
  const total = sizeOf(ins[0].shape);
  if (total === 0) return { passes: [], temps: [], note: "sort: empty operands" };
  const pl = sortPlan(ins[0].shape, p, caps);
  if ("why" in pl) return pl;
  if (total > 2 ** 31 - 1) return { why: `sort: ${total} elements (indices are u32 below 2^31)` };
  if (pl.n === 1) return { passes: gatherPasses(pl, ins, null), temps: [], note: "sort: rows of one element (a copy)" };
  const recBuf = 2 * ins.length;
  const ctlBuf = recBuf + 1;
  const temps: WgslTemp[] = [{ dtype: uint32, elements: pl.N * pl.R }, { dtype: uint32, elements: 4 }];
  const passes: WgslKernel[] = [];
  for (let q = 0; q < p.num_keys; q++) passes.push(recordPass(pl, q, ins[q], ins.length + q, recBuf, ctlBuf));
  const stages = sortStages(pl);
  stages.forEach((st, i) => {
    if (st.k === 0) return passes.push(networkPass(pl, pl.S, true, recBuf, ctlBuf));
    passes.push(networkPass(pl, st.dists.length, false, recBuf, ctlBuf));
    if (i < stages.length - 1) passes.push(advancePass(st.dists.length, ctlBuf));
  });
  passes.push(...gatherPasses(pl, ins, recBuf));
  return {
    passes, temps,
    note: `sort: bitonic network, ${pl.rows} row(s) of ${pl.n} padded to ${pl.P}, ${p.num_keys} key(s) + position, ${2 ** pl.S} records per invocation, ${passes.length} passes`,
  };
}

registerWgslRule<SortParams>("sort", sortRule);
