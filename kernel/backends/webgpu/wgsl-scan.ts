// WGSL lowerings of argmax/argmin and of the cumulative scans cumsum, cumprod, cummax, cummin,
// cumlogsumexp (kernel/primitives/reduce.ts), with the CPU's semantics:
// - argmax/argmin: along one axis; a NaN beats every number and the first NaN wins, ties go to
//   the lower index, -0 == +0. Exact: floats are compared through the integer order keys of
//   wgsl-sort.ts (no float compare, so a GPU that assumes no NaN or flushes subnormals in
//   compares still gets it right). The result is stored as index_dtype (int32 or uint32).
// - cumulative ops: out[k] = f(out[k-1], x[k]) along `axis` (from the end when `reverse`),
//   out[first] = x[first]. The CPU rounds every partial result to float32, so its float32 scans
//   are serial float32 scans: the serial path below gives the same bits for cumsum and cumprod
//   (float32 add/mul are correctly rounded in WGSL; a GPU that flushes subnormals differs
//   there). cummax/cummin are exact on every path (integer-key compares; NaN sticks; a tie of
//   -0 and +0 gives +0 for max and -0 for min, as Math.max/min). Integer scans wrap (int32
//   and uint32 add/mul modulo 2^32, as the CPU's `| 0` and Math.imul) and are exact on every
//   path. cumlogsumexp: the CPU computes max + log(exp(a - max) + exp(v - max)) in float64 and
//   rounds; the GPU computes max + log1p(exp(-|a - v|)) in float32 with the CPU's float32
//   exp/log1p algorithms (f32-math.ts): a few ulp of the result's magnitude apart, with the
//   CPU's NaN and infinity cases: -inf with -inf gives -inf, -inf with v gives v, and +inf
//   with anything gives NaN (the CPU's exp(inf - inf); JAX's logaddexp would give +inf there, so
//   a leading +inf turns the rest of the CPU's scan into NaN, and the GPU's the same way).
//
// Long rows. A serial scan per row has one invocation per row; when rows are few and long
// that leaves the GPU idle, so the row is cut into chunks of C elements and scanned in three
// passes (reduce, then scan, then rescan): (1) each (row, chunk) folds its chunk into a total;
// (2) each row scans its chunk totals serially, leaving in each chunk's slot the fold of all
// earlier chunks (its carry); (3) each (row, chunk) rescans its chunk from its carry (chunk 0
// from its first element). O(n) work, no barriers (expensive on llvmpipe), three shaders.
// It reassociates the scan: float cumsum/cumprod/cumlogsumexp results then differ from the
// CPU's serial float32 ones by rounding (relative to the sum of magnitudes for cumsum); the
// integer and max/min scans stay exact. argmax/argmin use the same chunking in two passes (each
// chunk's winner, then the chunks' winners in order with the same rule): still exact, because
// the rule picks the first NaN, else the first of the largest, whichever way it is grouped.

import { ShapedArray } from "../../core/aval";
import { DType, uint32 } from "../../core/dtype";
import { sizeOf } from "../../core/shape";
import { AdapterCaps, WgslCall, registerWgslRule } from "./wgsl-library";
import { HELPERS, useHelper, wgslStorageType } from "./wgsl-scalar";
import { PassBuf, WGSL_LIBRARY_DTYPES, itemPass, orderKeyWgsl, splitAround } from "./wgsl-sort";

/** Rows at or above which a scan stays serial per row (enough invocations already). */
const PARALLEL_ROWS = 8192;
/** The smallest chunk worth splitting a row into. */
const MIN_CHUNK = 32;
/** The most chunks per row (pass 2 scans them serially). */
const MAX_CHUNKS = 4096;

/** How a scan or arg-reduction walks its rows: C elements per chunk, NC chunks per row (NC = 1: serial). */
export interface ScanPlan {
  outer: number;
  n: number;
  inner: number;
  rows: number;
  C: number;
  NC: number;
}

/**
 * Chunking of `rows` rows of length n: serial (one chunk) when rows already fill the GPU or the
 * row is short; otherwise chunks of at least MIN_CHUNK, enough of them for about PARALLEL_ROWS
 * invocations, at most MAX_CHUNKS per row.
 */
export function scanPlan(shape: readonly number[], axis: number): ScanPlan {
  const [outer, n, inner] = splitAround(shape, axis);
  const rows = outer * inner;
  let C = n;
  if (rows < PARALLEL_ROWS && n >= 2 * MIN_CHUNK) {
    const want = Math.ceil(PARALLEL_ROWS / Math.max(rows, 1));
    C = Math.max(MIN_CHUNK, Math.ceil(n / want), Math.ceil(n / MAX_CHUNKS));
  }
  return { outer, n, inner, rows, C, NC: Math.max(1, Math.ceil(n / C)) };
}

/** WGSL expression of the element index of step t (scan order) of row (a, c). */
function elemIndex(pl: ScanPlan, a: string, t: string, c: string, reverse: boolean): string {
  const k = reverse ? `(${pl.n - 1}u - ${t})` : t;
  return `(${a} * ${pl.n}u + ${k}) * ${pl.inner}u + ${c}`;
}

/** Decomposition of item p into (a, ch, c), c fastest (neighbouring invocations read neighbouring elements). */
function itemRowChunk(pl: ScanPlan): string[] {
  return [`let c = p % ${pl.inner}u;`, `let ch = (p / ${pl.inner}u) % ${pl.NC}u;`, `let a = p / ${pl.inner * pl.NC}u;`];
}

// ---------------------------------------------------------------------------------------------
// Cumulative scans

type CumName = "cumsum" | "cumprod" | "cummax" | "cummin" | "cumlogsumexp";
type CumParams = { axis: number; reverse: boolean };

/** The combine function `fn p_comb(a, v) -> T` of a scan, and the helpers it calls. */
function combineFn(name: CumName, d: DType): { fns: string[]; exact: boolean } | { why: string } {
  const t = wgslStorageType(d);
  const f = d.name === "float32";
  if (d.isBool || !WGSL_LIBRARY_DTYPES.has(d.name)) return { why: `${name} of ${d.name} (WGSL scans float32, int32, uint32)` };
  switch (name) {
    case "cumsum":
    case "cumprod":
      return { fns: [`fn p_comb(a: ${t}, v: ${t}) -> ${t} { return a ${name === "cumsum" ? "+" : "*"} v; }`], exact: !f };
    case "cummax":
    case "cummin": {
      const gt = name === "cummax" ? ">" : "<";
      if (!f) return { fns: [`fn p_comb(a: ${t}, v: ${t}) -> ${t} { return ${name === "cummax" ? "max" : "min"}(a, v); }`], exact: true };
      const key = orderKeyWgsl(d);
      return {
        fns: [
          key.fn,
          HELPERS.get("f32bits")!,
          [
            "// Math.max/min after a NaN check (the CPU's combine): NaN sticks; +-0 tie -> max +0, min -0.",
            "fn p_comb(a: f32, v: f32) -> f32 {",
            "  let ua = bitcast<u32>(a);",
            "  let uv = bitcast<u32>(v);",
            "  if ((ua & 0x7fffffffu) > 0x7f800000u || (uv & 0x7fffffffu) > 0x7f800000u) { return p_f32bits(0x7fc00000u); }",
            `  let ka = ${key.call("a")};`,
            `  let kv = ${key.call("v")};`,
            `  if (ka ${gt} kv) { return a; }`,
            `  if (kv ${gt} ka) { return v; }`,
            `  return bitcast<f32>(ua ${name === "cummax" ? "&" : "|"} uv);`,
            "}",
          ].join("\n"),
        ],
        exact: true,
      };
    }
    case "cumlogsumexp": {
      if (!f) return { why: `cumlogsumexp of ${d.name} (float32 only)` };
      const helpers = new Set<string>();
      useHelper(helpers, "exp");
      useHelper(helpers, "log1p");
      // Non-finite values through a function: a constant NaN or inf is a shader-creation error.
      useHelper(helpers, "f32bits");
      const fns = [...HELPERS.keys()].filter((h) => helpers.has(h)).map((h) => HELPERS.get(h)!);
      fns.push(
        [
          "// logaddexp as the CPU's m + log(exp(a - m) + exp(v - m)), m = max(a, v), written as m + log1p(exp(-|a - v|));",
          "// the special cases by bits, so that a GPU assuming finite floats still gets them.",
          "fn p_comb(a: f32, v: f32) -> f32 {",
          "  let ua = bitcast<u32>(a);",
          "  let uv = bitcast<u32>(v);",
          "  let nan = p_f32bits(0x7fc00000u);",
          "  if ((ua & 0x7fffffffu) > 0x7f800000u || (uv & 0x7fffffffu) > 0x7f800000u) { return nan; }",
          // As the CPU: with m = +inf, a - m or v - m is inf - inf = NaN, so any +inf operand gives NaN.
          "  if (ua == 0x7f800000u || uv == 0x7f800000u) { return nan; }",
          "  if (ua == 0xff800000u) { return v; }",
          "  if (uv == 0xff800000u) { return a; }",
          "  let m = max(a, v);",
          "  return m + p_log1p(p_exp(-abs(a - v)));",
          "}",
        ].join("\n"),
      );
      return { fns, exact: false };
    }
  }
}

/** The WGSL lowering of a cumulative op (see the file header). */
function cumRule(name: CumName) {
  return (ins: readonly ShapedArray[], _outs: readonly ShapedArray[], p: CumParams, _caps: AdapterCaps): WgslCall | { why: string } => {
    const x = ins[0];
    const comb = combineFn(name, x.dtype);
    if ("why" in comb) return comb;
    const total = sizeOf(x.shape);
    if (total > 2 ** 31 - 1) return { why: `${name}: ${total} elements (indices are u32 below 2^31)` };
    if (total === 0) return { passes: [], temps: [], note: `${name}: empty operand` };
    const pl = scanPlan(x.shape, p.axis);
    const { n, C, NC, inner } = pl;
    const T = wgslStorageType(x.dtype);
    const out: PassBuf = { buf: 0, dtype: x.dtype, elements: total, write: true, name: "y" };
    const inp: PassBuf = { buf: 1, dtype: x.dtype, elements: total, write: false, name: "x" };
    const idx = (t: string) => elemIndex(pl, "a", t, "c", p.reverse);
    const dir = p.reverse ? ", reverse" : "";
    if (NC === 1) {
      const body = [
        `let c = p % ${inner}u;`,
        `let a = p / ${inner}u;`,
        `var acc: ${T} = x[${idx("0u")}];`,
        `y[${idx("0u")}] = acc;`,
        `for (var t = 1u; t < ${n}u; t++) {`,
        `  let i = ${idx("t")};`,
        "  acc = p_comb(acc, x[i]);",
        "  y[i] = acc;",
        "}",
      ];
      // Serial: float cumsum/cumprod are the CPU's float32 partials bit for bit; only cumlogsumexp is not exact.
      const pass = itemPass(`${name} ${x.dtype.name}: serial scan of ${pl.rows} rows of ${n}${dir}`, [out, inp], pl.rows, body, comb.fns, comb.exact || name !== "cumlogsumexp");
      return { passes: [pass], temps: [], note: `${name}: one serial scan per row (${pl.rows} rows of ${n})` };
    }
    const tmp: PassBuf = { buf: 2, dtype: x.dtype, elements: pl.outer * NC * inner, write: true, name: "tot" };
    const items = pl.outer * NC * inner;
    const slot = `(a * ${NC}u + ch) * ${inner}u + c`;
    const chunkLoop = (lines: string[]) => [`let t0 = ch * ${C}u;`, `let t1 = min(t0 + ${C}u, ${n}u);`, ...lines];
    const totals = itemPass(`${name} ${x.dtype.name}: totals of chunks of ${C} (${NC} per row)${dir}`, [tmp, inp], items, [
      ...itemRowChunk(pl),
      ...chunkLoop([`var acc: ${T} = x[${idx("t0")}];`, "for (var t = t0 + 1u; t < t1; t++) { acc = p_comb(acc, x[" + idx("t") + "]); }", `tot[${slot}] = acc;`]),
    ], comb.fns, comb.exact);
    const carries = itemPass(`${name} ${x.dtype.name}: carries into the ${NC} chunks of each row`, [tmp], pl.rows, [
      `let c = p % ${inner}u;`,
      `let a = p / ${inner}u;`,
      `var run: ${T} = tot[a * ${NC * inner}u + c];`,
      `for (var ch = 1u; ch < ${NC}u; ch++) {`,
      `  let s = (a * ${NC}u + ch) * ${inner}u + c;`,
      "  let v = tot[s];",
      "  tot[s] = run;",
      "  run = p_comb(run, v);",
      "}",
    ], comb.fns, comb.exact);
    const tmpIn: PassBuf = { ...tmp, write: false };
    const rescan = itemPass(`${name} ${x.dtype.name}: rescan of each chunk from its carry${dir}`, [out, inp, tmpIn], items, [
      ...itemRowChunk(pl),
      ...chunkLoop([
        `var acc: ${T} = x[${idx("t0")}];`,
        `if (ch > 0u) { acc = p_comb(tot[${slot}], acc); }`,
        `y[${idx("t0")}] = acc;`,
        "for (var t = t0 + 1u; t < t1; t++) {",
        `  let i = ${idx("t")};`,
        "  acc = p_comb(acc, x[i]);",
        "  y[i] = acc;",
        "}",
      ]),
    ], comb.fns, comb.exact);
    return {
      passes: [totals, carries, rescan],
      temps: [{ dtype: x.dtype, elements: items }],
      note: `${name}: chunked scan, ${pl.rows} rows of ${n} in ${NC} chunks of ${C} (totals, carries, rescan)${comb.exact ? "" : "; float results reassociated"}`,
    };
  };
}

// ---------------------------------------------------------------------------------------------
// argmax / argmin

type ArgParams = { axes: number[]; index_dtype: DType };

/**
 * WGSL of the CPU's rule: `better(v, best)` (strictly larger for argmax, smaller for argmin) and
 * `isnan(v)`, as functions of stored values.
 */
function argFns(name: "argmax" | "argmin", d: DType): string[] {
  const op = name === "argmax" ? ">" : "<";
  const t = wgslStorageType(d);
  const key = orderKeyWgsl(d);
  return [
    key.fn,
    d.name === "float32"
      ? "fn p_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }"
      : `fn p_isnan(x: ${t}) -> bool { return false; }`,
    `fn p_better(v: ${t}, best: ${t}) -> bool { return ${key.call("v")} ${op} ${key.call("best")}; }`,
  ];
}

function argRule(name: "argmax" | "argmin") {
  return (ins: readonly ShapedArray[], _outs: readonly ShapedArray[], p: ArgParams, _caps: AdapterCaps): WgslCall | { why: string } => {
    const x = ins[0];
    if (!WGSL_LIBRARY_DTYPES.has(x.dtype.name)) return { why: `${name} of ${x.dtype.name} (WGSL stores float32, int32, uint32, bool)` };
    const od = p.index_dtype;
    if (od.name !== "int32" && od.name !== "uint32") return { why: `${name}: index_dtype ${od.name} (WGSL stores int32, uint32)` };
    if (p.axes.length !== 1) return { why: `${name}: one axis, got [${p.axes.join(", ")}]` };
    const total = sizeOf(x.shape);
    if (total > 2 ** 31 - 1) return { why: `${name}: ${total} elements (indices are u32 below 2^31)` };
    const pl = scanPlan(x.shape, p.axes[0]);
    const { n, C, NC, inner, rows } = pl;
    if (rows === 0) return { passes: [], temps: [], note: `${name}: empty result` };
    if (n === 0) return { why: `${name}: attempt to get ${name} of an empty sequence` };
    const fns = argFns(name, x.dtype);
    const T = wgslStorageType(x.dtype);
    const store = od.name === "int32" ? "i32(bi)" : "bi";
    const out: PassBuf = { buf: 0, dtype: od, elements: rows, write: true, name: "y" };
    const inp: PassBuf = { buf: 1, dtype: x.dtype, elements: total, write: false, name: "x" };
    const at = (k: string) => elemIndex(pl, "a", k, "c", false);
    // Folds positions [k0, k1) into (best, bi): the CPU's loop, stopping once best is NaN.
    const fold = (k0: string, k1: string, read: (k: string) => string) => [
      `var bi = ${k0};`,
      `var best: ${T} = ${read(k0)};`,
      `for (var k = ${k0} + 1u; k < ${k1} && !p_isnan(best); k++) {`,
      `  let v: ${T} = ${read("k")};`,
      "  if (p_isnan(v) || p_better(v, best)) { best = v; bi = k; }",
      "}",
    ];
    if (NC === 1) {
      const pass = itemPass(`${name} ${x.dtype.name} -> ${od.name}: ${rows} rows of ${n}, serial`, [out, inp], rows, [
        `let c = p % ${inner}u;`,
        `let a = p / ${inner}u;`,
        ...fold("0u", `${n}u`, (k) => `x[${at(k)}]`),
        `y[p] = ${store};`,
      ], fns);
      return { passes: [pass], temps: [], note: `${name}: one serial pass per row (${rows} rows of ${n})` };
    }
    const items = pl.outer * NC * inner;
    const win: PassBuf = { buf: 2, dtype: uint32, elements: items, write: true, name: "win" };
    const chunks = itemPass(`${name} ${x.dtype.name}: winner of each chunk of ${C} (${NC} per row)`, [win, inp], items, [
      ...itemRowChunk(pl),
      `let t1 = min(ch * ${C}u + ${C}u, ${n}u);`,
      ...fold(`(ch * ${C}u)`, "t1", (k) => `x[${at(k)}]`),
      `win[(a * ${NC}u + ch) * ${inner}u + c] = bi;`,
    ], fns);
    // The chunks' winners in order, with the same rule: the first NaN, else the first largest.
    const combine = itemPass(`${name} ${x.dtype.name} -> ${od.name}: the ${NC} chunk winners of each row in order`, [out, inp, { ...win, write: false }], rows, [
      `let c = p % ${inner}u;`,
      `let a = p / ${inner}u;`,
      "var bi = win[a * " + `${NC * inner}u + c];`,
      `var best: ${T} = x[${at("bi")}];`,
      `for (var ch = 1u; ch < ${NC}u && !p_isnan(best); ch++) {`,
      `  let k = win[(a * ${NC}u + ch) * ${inner}u + c];`,
      `  let v: ${T} = x[${at("k")}];`,
      "  if (p_isnan(v) || p_better(v, best)) { best = v; bi = k; }",
      "}",
      `y[p] = ${store};`,
    ], fns);
    return {
      passes: [chunks, combine],
      temps: [{ dtype: uint32, elements: items }],
      note: `${name}: ${rows} rows of ${n} in ${NC} chunks of ${C} (chunk winners, then rows)`,
    };
  };
}

registerWgslRule<CumParams>("cumsum", cumRule("cumsum"));
registerWgslRule<CumParams>("cumprod", cumRule("cumprod"));
registerWgslRule<CumParams>("cummax", cumRule("cummax"));
registerWgslRule<CumParams>("cummin", cumRule("cummin"));
registerWgslRule<CumParams>("cumlogsumexp", cumRule("cumlogsumexp"));
registerWgslRule<ArgParams>("argmax", argRule("argmax"));
registerWgslRule<ArgParams>("argmin", argRule("argmin"));
