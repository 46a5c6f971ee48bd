// WGSL code generation (kernel/backends/webgpu/codegen-wgsl.ts), without a device: golden
// files pin the shaders of a few jitted programs (test/kernel/golden/wgsl-*.txt; rewrite with
// PRIMAL_UPDATE_GOLDEN=1 npx vitest run test/kernel/codegen-wgsl.test.ts and review), wgslSupport
// accepts and refuses the right kernels, and a structural check reads every shader back: each
// binding declared once with the right access and type, the invocation id decomposed into the
// kept loop indices in row-major order, and every load/store index, evaluated at sample points,
// equal to the IR's affine index. The multi-pass entry point (wgsl-reduce.ts): its plans (vec4
// elementwise, two-pass reductions, single pass) by the thresholds, golden texts of each kind, and
// the bindings of every pass; float16 rendering (enable f16, array<f16>, rounding after each op).

import { describe, expect, it } from "vitest";
import { makeJaxpr, nn, np } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { bfloat16, float16, float32, int32, bool as boolDT, DType } from "../../kernel/core/dtype";
import { Kernel, KIndex, printKernel } from "../../kernel/lower/kernel-ir";
import { dispatchSize, generateWgsl, generateWgslVec4, storageBytes, vec4Why, wgslSupport } from "../../kernel/backends/webgpu/codegen-wgsl";
import { MAX_CHUNKS, MIN_CHUNK, TARGET_INVOCATIONS, generateWgslPasses, reducePlan } from "../../kernel/backends/webgpu/wgsl-reduce";
import { DEFAULT_CAPS } from "../../kernel/backends/webgpu/wgsl-library";
import { wasmSupport } from "../../kernel/backends/cpu/wasm-support";
import { checkGolden, lowerPure } from "./helpers/golden";

const F16_CAPS = { ...DEFAULT_CAPS, f16: true };
const arr = (shape: number[], dtype = "float32") => np.zeros(shape, { dtype: dtype as "float32" });

const PROGRAMS: [string, string, (...xs: NDArray[]) => unknown, NDArray[]][] = [
  ["wgsl-tanh-fma", "tanh(x*2+1)*x: one flat elementwise kernel", (x) => np.tanh(x.mul(2).add(1)).mul(x), [arr([4, 256])]],
  ["wgsl-logsumexp-axis1", "logsumexp over axis 1: a max reduction, then exp-sum-log", (x) => nn.logsumexp(x, 1), [arr([8, 16])]],
  ["wgsl-transposed-broadcast-add", "x.T + row: transpose and broadcast as load strides", (x, r) => x.T.add(r).mul(0.5), [arr([5, 3]), arr([5])]],
  [
    "wgsl-int-bool",
    "int32 and bool: where(x > y, (x + y) * 3, x - y) and (x > 0) & (y < 5)",
    (x, y) => [np.where(np.greater(x, y), x.add(y).mul(3), x.sub(y)), np.logicalAnd(np.greater(x, 0), np.less(y, 5))],
    [arr([6, 7], "int32"), arr([6, 7], "int32")],
  ],
];

/** The fused kernels of a program, as jit would lower it. */
function kernelsOf(f: (...xs: NDArray[]) => unknown, args: NDArray[]): Kernel[] {
  return lowerPure(makeJaxpr(f)(...args)).steps.flatMap((s) => (s.kind === "kernel" ? [s.kernel] : []));
}

/** Evaluates a WGSL integer index expression (i32 arithmetic over iN, abstract literals) in JS. */
function evalIndex(expr: string, idx: Record<string, number>): number {
  if (!/^[\sid0-9+*()-]+$/.test(expr.replace(/i\d+/g, "i0"))) throw new Error(`unexpected index expression ${expr}`);
  return Function(...Object.keys(idx), `return ${expr};`)(...Object.values(idx));
}

function irIndex(ix: KIndex, point: number[]): number {
  return ix.strides.reduce((a, s, d) => a + s * point[d], ix.offset);
}

/** Structural check of one kernel's shader against its IR; returns the problems found. */
function structure(k: Kernel): string[] {
  const g = generateWgsl(k);
  const code = g.code;
  const bad: string[] = [];
  // Bindings: each buffer once, outputs read_write, inputs read, the storage type of its dtype.
  k.bufs.forEach((b, i) => {
    const re = new RegExp(`@group\\(0\\) @binding\\((\\d+)\\) var<storage, (read|read_write)> b${i}: array<(\\w+)>;`, "g");
    const m = [...code.matchAll(re)];
    if (m.length !== 1) return bad.push(`b${i} declared ${m.length} times`);
    const [, binding, access, type] = m[0];
    const want = b.dtype.isBool ? "u32" : b.dtype === float32 ? "f32" : b.dtype === int32 ? "i32" : "u32";
    if (Number(binding) !== g.bindings[i].binding || access !== (b.role === "out" ? "read_write" : "read") || type !== want) bad.push(`b${i}: ${m[0][0]}`);
  });
  if ((code.match(/@binding/g) ?? []).length !== k.bufs.length) bad.push("extra bindings");
  // Decomposition: `let iD = i32((p / S) % N)` per kept axis, S the row-major stride of the kept axes.
  const kept = k.shape.map((_, d) => d).filter((d) => !k.reduced[d] || !k.ops.some((o) => o.op === "reduce"));
  let stride = 1;
  for (let j = kept.length - 1; j >= 0; j--) {
    const d = kept[j];
    const q = stride === 1 ? "p" : `\\(p / ${stride}u\\)`;
    const re = new RegExp(`let i${d} = i32\\(${j === 0 ? q : `${q} % ${k.shape[d]}u`}\\);`);
    if (!re.test(code)) bad.push(`decomposition of axis ${d}`);
    stride *= k.shape[d];
  }
  if (g.invocations !== stride) bad.push(`invocations ${g.invocations} vs ${stride}`);
  if (!code.includes(`if (p >= ${stride}u) { return; }`)) bad.push("bounds check");
  // Folded axes loop over their extents.
  k.shape.forEach((n, d) => kept.includes(d) || code.includes(`for (var i${d}: i32 = 0; i${d} < ${n}; i${d}++)`) || bad.push(`loop of axis ${d}`));
  // Accesses: the multiset of (buffer, index at a point) from the shader equals the IR's.
  const accesses = [...code.matchAll(/\bb(\d+)\[([^\]]+)\]/g)].map((m) => [Number(m[1]), m[2]] as const);
  const irAcc = k.ops.flatMap((o) => (o.op === "load" || o.op === "store" ? [[o.buf, o.index] as const] : []));
  if (accesses.length !== irAcc.length) bad.push(`${accesses.length} accesses in WGSL vs ${irAcc.length} in the IR`);
  const points = [k.shape.map(() => 0), k.shape.map((n) => n - 1), k.shape.map((n, d) => (d * 7 + 3) % n)];
  for (const pt of points) {
    const env = Object.fromEntries(pt.map((v, d) => [`i${d}`, v]));
    const got = accesses.map(([b, e]) => `${b}:${evalIndex(e, env)}`).sort();
    const want = irAcc.map(([b, ix]) => `${b}:${irIndex(ix, pt)}`).sort();
    if (got.join() !== want.join()) bad.push(`accesses at [${pt}]: ${got} vs ${want}`);
  }
  // Stores go to outputs only.
  for (const m of code.matchAll(/\bb(\d+)\[[^\]]+\] = /g)) if (k.bufs[Number(m[1])].role !== "out") bad.push(`store into input b${m[1]}`);
  return bad;
}

describe("WGSL codegen: golden shaders (PRIMAL_UPDATE_GOLDEN=1 rewrites test/kernel/golden/wgsl-*.txt)", () => {
  for (const [name, what, f, args] of PROGRAMS)
    it(`${name}: ${what}`, () => {
      const ks = kernelsOf(f, args);
      expect(ks.length).toBeGreaterThan(0);
      const parts = ks.map((k) => {
        expect(wgslSupport(k)).toBeNull();
        const g = generateWgsl(k);
        return [`=== kernel ${k.name} ===`, "--- IR ---", printKernel(k), `--- WGSL (dispatch ${g.dispatch.join("x")}, bit-exact: ${g.bitExact}) ---`, g.code.trimEnd(), ""].join("\n");
      });
      checkGolden(name, `# ${what}\n# inputs: ${args.map((a) => a.aval.str()).join(", ")}\n\n${parts.join("\n")}\n`);
    });

  it("logsumexp lowers to two reduction kernels, the sum not bit-exact (f32 Kahan), the max bit-exact", () => {
    const ks = kernelsOf(PROGRAMS[1][2], PROGRAMS[1][3]);
    expect(ks.length).toBe(2);
    const [mx, lse] = ks.map((k) => generateWgsl(k));
    expect(mx.bitExact).toBe(true);
    expect(lse.bitExact).toBe(false);
    expect(lse.code).toContain("let t = bitcast<f32>(bitcast<u32>(acc + y) | opaque); comp = select(0.0f, (t - acc) - y, p_isfinite(t));");
    expect(mx.invocations).toBe(8);
  });
});

describe("WGSL codegen: structure", () => {
  const extra: [string, (...xs: NDArray[]) => unknown, NDArray[]][] = [
    ["softmax", (x) => nn.softmax(x, -1), [arr([8, 16])]],
    ["sum over outer axes", (x) => np.sum(np.exp(x), { axis: [0, 2] }), [arr([2, 3, 4])]],
    ["flip", (x) => np.flip(x, 1).add(1), [arr([3, 4])]],
  ];
  for (const [name, f, args] of [...PROGRAMS.map(([n, , f, a]) => [n, f, a] as const), ...extra])
    it(`${name}: bindings, decomposition and every load/store index match the IR`, () => {
      for (const k of kernelsOf(f, args)) {
        expect(wgslSupport(k), k.name).toBeNull();
        expect(structure(k), `${k.name}\n${generateWgsl(k).code}`).toEqual([]);
      }
    });

  it("dispatch covers the invocations, in 2-D past 65535 workgroups", () => {
    expect(dispatchSize(1000, 64)).toEqual([16, 1, 1]);
    expect(dispatchSize(65535 * 64, 64)).toEqual([65535, 1, 1]);
    const [x, y] = dispatchSize(65536 * 64 + 1, 64);
    expect(x).toBe(65535);
    expect(x * y * 64).toBeGreaterThanOrEqual(65536 * 64 + 1);
    expect(generateWgsl(kernelsOf(PROGRAMS[0][2], PROGRAMS[0][3])[0], DEFAULT_CAPS, { workgroupSize: 256 }).code).toContain("@workgroup_size(256)");
    expect(() => generateWgsl(kernelsOf(PROGRAMS[0][2], PROGRAMS[0][3])[0], DEFAULT_CAPS, { workgroupSize: 0 })).toThrow(/workgroupSize/);
    // Beyond the adapter's maxComputeInvocationsPerWorkgroup (256 by default).
    expect(() => generateWgsl(kernelsOf(PROGRAMS[0][2], PROGRAMS[0][3])[0], DEFAULT_CAPS, { workgroupSize: 512 })).toThrow(/\[1, 256\], got 512/);
  });
});

describe("WGSL codegen: wgslSupport", () => {
  /** A one-op elementwise kernel: out[i] = prim(in[i]...). */
  const unaryKernel = (prim: string, inD: DType[], outD: DType, params: unknown = {}): Kernel => ({
    name: `k_${prim}`,
    shape: [4],
    reduced: [false],
    bufs: [{ dtype: outD, size: 4, role: "out" }, ...inD.map((d) => ({ dtype: d, size: 4, role: "in" as const }))],
    ops: [
      ...inD.map((d, i) => ({ op: "load" as const, buf: i + 1, index: { offset: 0, strides: [1] }, dtype: d })),
      { op: "alu", prim, params, args: inD.map((_, i) => i), inDtypes: inD, dtype: outD },
      { op: "store", buf: 0, index: { offset: 0, strides: [1] }, src: inD.length, dtype: outD },
    ],
  });

  it("accepts the supported primitives and dtypes", () => {
    for (const p of ["exp", "log", "log1p", "expm1", "tanh", "logistic", "sqrt", "floor", "ceil", "abs", "neg", "sign", "square"]) expect(wgslSupport(unaryKernel(p, [float32], float32)), p).toBeNull();
    for (const p of ["add", "sub", "mul", "div", "max", "min"]) expect(wgslSupport(unaryKernel(p, [float32, float32], float32)), p).toBeNull();
    for (const p of ["add", "sub", "mul", "and", "or", "xor", "max", "min"]) expect(wgslSupport(unaryKernel(p, [int32, int32], int32)), p).toBeNull();
    for (const p of ["lt", "eq", "ne"]) expect(wgslSupport(unaryKernel(p, [float32, float32], boolDT)), p).toBeNull();
    expect(wgslSupport(unaryKernel("not", [boolDT], boolDT))).toBeNull();
    expect(wgslSupport(unaryKernel("convert_element_type", [float32], int32, { new_dtype: int32 }))).toBeNull();
    expect(wgslSupport(unaryKernel("select_n", [boolDT, float32, float32], float32))).toBeNull();
  });

  it("refuses what it cannot render exactly, with the reason", () => {
    expect(wgslSupport(unaryKernel("population_count", [float32], float32))).toMatch(/float32 population_count has no WGSL rendering/);
    expect(wgslSupport(unaryKernel("exp", [float16], float16))).toMatch(/float16 needs the adapter feature "shader-f16"/);
    expect(wgslSupport(unaryKernel("exp", [float16], float16), F16_CAPS)).toBeNull();
    expect(wgslSupport(unaryKernel("exp", [bfloat16], bfloat16), F16_CAPS)).toMatch(/buffer of bfloat16 \(WGSL has no 16-bit integer storage/);
    expect(wgslSupport(unaryKernel("and", [float32, float32], float32))).toMatch(/no WGSL rendering/);
    expect(wgslSupport(unaryKernel("add", [int32, int32], float32))).toMatch(/add of int32, int32 into float32/);
    expect(() => generateWgsl(unaryKernel("population_count", [float32], float32))).toThrow(/cannot be rendered to WGSL, got float32 population_count/);
    expect(wgslSupport(unaryKernel("nextafter", [float16, float16], float16), F16_CAPS)).toMatch(/float16 nextafter \(its JS rule steps in float16/);
  });
});

/** Every pass's bindings and declarations agree; each buffer bound once per pass; outputs written somewhere, inputs never. */
function passStructure(k: Kernel, call: ReturnType<typeof generateWgslPasses>): string[] {
  const bad: string[] = [];
  const nb = k.bufs.length + call.temps.length;
  const written = new Set<number>();
  call.passes.forEach((p, pi) => {
    const bufs = p.bindings.map((b) => b.buf);
    if (new Set(bufs).size !== bufs.length) bad.push(`pass ${pi}: a buffer bound twice`);
    p.bindings.forEach((b, i) => {
      if (b.binding !== i || b.buf < 0 || b.buf >= nb) bad.push(`pass ${pi}: binding ${b.binding} of buffer ${b.buf}`);
      const decl = `@group(0) @binding(${b.binding}) var<storage, ${b.access}> b${b.buf}: array<${b.storage}>;`;
      if (!p.code.includes(decl)) bad.push(`pass ${pi}: no declaration ${decl}`);
      const isIn = b.buf >= k.bufs.length ? false : k.bufs[b.buf].role === "in";
      if (isIn && b.access !== "read") bad.push(`pass ${pi}: input b${b.buf} bound ${b.access}`);
      if (new RegExp(`\\bb${b.buf}\\[[^\\]]+\\] = `).test(p.code)) (isIn ? bad.push(`pass ${pi}: stores into input b${b.buf}`) : written.add(b.buf));
    });
    if ((p.code.match(/@binding/g) ?? []).length !== p.bindings.length) bad.push(`pass ${pi}: extra declarations`);
    if (!p.code.includes(`if (p >= ${p.invocations}u) { return; }`)) bad.push(`pass ${pi}: bounds check`);
    if (p.dispatch[0] * p.dispatch[1] * p.workgroupSize < p.invocations) bad.push(`pass ${pi}: dispatch ${p.dispatch} short of ${p.invocations}`);
  });
  k.bufs.forEach((b, i) => b.role === "out" && !written.has(i) && bad.push(`output b${i} never written`));
  call.temps.forEach((_, t) => written.has(k.bufs.length + t) || bad.push(`temp ${t} never written`));
  return bad;
}

const PASS_PROGRAMS: [string, string, (...xs: NDArray[]) => unknown, NDArray[], typeof DEFAULT_CAPS][] = [
  ["wgsl-passes-logsumexp", "logsumexp over 4096 points per row: two two-pass reductions, vec4 loads, prologue and epilogue", (x) => nn.logsumexp(x, 1), [arr([4, 4096])], DEFAULT_CAPS],
  ["wgsl-passes-outer-axes", "sum(exp(x)) over axes 0 and 2: a two-pass split over a flattened pair of folded axes", (x) => np.sum(np.exp(x), { axis: [0, 2] }), [arr([2, 3, 2000])], DEFAULT_CAPS],
  ["wgsl-passes-column-sums", "column sums: kept point fastest, contiguous chunks", (x) => np.sum(x, { axis: 0 }), [arr([2048, 8])], DEFAULT_CAPS],
  ["wgsl-passes-vec4", "tanh(x*2+1)*x: a vec4 elementwise kernel", (x) => np.tanh(x.mul(2).add(1)).mul(x), [arr([4, 256])], DEFAULT_CAPS],
  ["wgsl-passes-f16", "float16: (x*2+1)*x - y, tanh(x), and a float16 sum (f32 accumulation)", (x, y, z) => [x.mul(2).add(1).mul(x).sub(y), np.tanh(x), np.sum(z)], [arr([64], "float16"), arr([64], "float16"), arr([1024], "float16")], F16_CAPS],
];

describe("generateWgslPasses: golden multi-pass shaders (PRIMAL_UPDATE_GOLDEN=1 rewrites test/kernel/golden/wgsl-passes-*.txt)", () => {
  for (const [name, what, f, args, caps] of PASS_PROGRAMS)
    it(`${name}: ${what}`, () => {
      const ks = kernelsOf(f, args);
      expect(ks.length).toBeGreaterThan(0);
      const parts = ks.map((k) => {
        expect(wgslSupport(k, caps)).toBeNull();
        const call = generateWgslPasses(k, caps);
        expect(passStructure(k, call), call.passes.map((p) => p.code).join("\n")).toEqual([]);
        const head = [`=== kernel ${k.name} ===`, "--- IR ---", printKernel(k), `--- ${call.note}; temps: [${call.temps.map((t) => `${t.dtype.short}[${t.elements}]`)}] ---`];
        return [...head, ...call.passes.flatMap((p, i) => [`--- pass ${i} (dispatch ${p.dispatch.join("x")}, bit-exact: ${p.bitExact}) ---`, p.code.trimEnd()]), ""].join("\n");
      });
      checkGolden(name, `# ${what}\n# inputs: ${args.map((a) => a.aval.str()).join(", ")}\n\n${parts.join("\n")}\n`);
    });
});

describe("generateWgslPasses: plans", () => {
  const one = (f: (x: NDArray) => unknown, shape: number[], dtype = "float32") => kernelsOf(f, [arr(shape, dtype)])[0];
  const sum = (shape: number[], axis?: number[]) => one((x) => np.sum(x, axis ? { axis } : {}), shape);

  it("splits big folds with few kept points; the thresholds are those documented", () => {
    // A 16M sum: the most chunks, vec4 loads interleaved.
    expect(reducePlan(sum([1 << 24]))).toMatchObject({ chunks: MAX_CHUNKS, vec4: true, interleaved: true, keptFastest: false, outer: (1 << 24) / 4, outerAxes: 1 });
    // Below 2 * MIN_CHUNK folded points: one pass.
    expect(reducePlan(sum([2 * MIN_CHUNK - 1]))).toBeNull();
    expect(reducePlan(sum([2 * MIN_CHUNK]))).toMatchObject({ chunks: 2 });
    // Row sums: chunks enough for TARGET_INVOCATIONS invocations in all, at least MIN_CHUNK points each.
    expect(reducePlan(sum([1024, 1024], [1]))).toMatchObject({ chunks: 1024 / MIN_CHUNK, vec4: true, keptFastest: false });
    expect(reducePlan(sum([16, 1 << 16], [1]))).toMatchObject({ chunks: Math.min(TARGET_INVOCATIONS / 16, (1 << 16) / MIN_CHUNK) });
    expect(reducePlan(sum([4, 1 << 20], [1]))).toMatchObject({ chunks: TARGET_INVOCATIONS / 4 });
    expect(reducePlan(sum([2, 1 << 20], [1]))).toMatchObject({ chunks: MAX_CHUNKS });
    // Column sums: the kept axis is innermost, so kept points run fastest over contiguous chunks.
    expect(reducePlan(sum([1024, 1024], [0]))).toMatchObject({ chunks: 4, vec4: false, interleaved: false, keptFastest: true, span: 256 });
    // As many kept points as the target: one pass.
    expect(reducePlan(sum([TARGET_INVOCATIONS, 1024], [1]))).toBeNull();
    expect(generateWgslPasses(sum([TARGET_INVOCATIONS, 1024], [1])).passes).toHaveLength(1);
    // Forced: one chunk is one pass; more chunks than points is capped.
    expect(reducePlan(sum([1 << 24]), { chunks: 1 })).toBeNull();
    expect(reducePlan(sum([16]), { chunks: 64, vectorize: false })).toMatchObject({ chunks: 16 });
  });

  it("float max/min keep contiguous chunks (order matters for NaN and +-0); other folds may interleave", () => {
    const mx = one((x) => np.max(x), [1 << 20]);
    expect(reducePlan(mx)).toMatchObject({ interleaved: false, vec4: true });
    expect(reducePlan(mx, { layout: "interleaved" })).toMatchObject({ interleaved: false });
    const isum = one((x) => np.sum(x), [1 << 20], "int32");
    expect(reducePlan(isum, { layout: "interleaved", vectorize: false })).toMatchObject({ interleaved: true, vec4: false });
    expect(isum.ops.some((o) => o.op === "reduce" && o.dtype === int32)).toBe(true);
  });

  it("a two-pass call declares its temp, sized kept points x chunks, and numbers it after the kernel's buffers", () => {
    const k = sum([4, 4096], [1]);
    const call = generateWgslPasses(k);
    expect(call.passes).toHaveLength(2);
    expect(call.temps).toEqual([{ dtype: float32, elements: 4 * 16 }]);
    expect(call.passes[0].bindings.map((b) => [b.buf, b.role, b.access])).toEqual([[1, "in", "read"], [2, "temp", "read_write"]]);
    expect(call.passes[1].bindings.map((b) => [b.buf, b.role, b.access])).toEqual([[0, "out", "read_write"], [2, "temp", "read"]]);
    expect(call.passes[0].invocations).toBe(64);
    expect(call.passes[1].invocations).toBe(4);
  });

  it("vec4 elementwise: only flat kernels of 4-byte elements with aligned contiguous or broadcast accesses", () => {
    const tanh = kernelsOf(PROGRAMS[0][2], PROGRAMS[0][3])[0];
    expect(vec4Why(tanh)).toBeNull();
    const w = generateWgslVec4(tanh);
    expect(w.invocations).toBe(256);
    expect(w.code).toContain("var<storage, read> b1: array<vec4<f32>>;");
    expect(generateWgslPasses(tanh).passes[0].code).toBe(w.code);
    expect(generateWgslPasses(tanh, DEFAULT_CAPS, { vectorize: false }).passes[0].code).toBe(generateWgsl(tanh).code);
    expect(vec4Why(one((x) => np.flip(x, 0).add(1), [8]))).toMatch(/stride -1, offset 7/);
    expect(vec4Why(one((x) => x.add(1), [3, 5]))).toMatch(/multiple of 4/);
    expect(vec4Why(one((x) => x.add(1), [8], "float16"))).toMatch(/float16 buffer/);
    expect(vec4Why(one((x) => np.sum(x), [8]))).toMatch(/reduction/);
    // A broadcast scalar stays a scalar binding.
    const bk = kernelsOf((x, y) => x.mul(y), [arr([8]), arr([])])[0];
    expect(vec4Why(bk)).toBeNull();
    expect(generateWgslVec4(bk).code).toMatch(/var<storage, read> b2: array<f32>;/);
  });
});

describe("float16 rendering", () => {
  const k = kernelsOf((x, y) => x.mul(2).add(1).mul(x).sub(y).neg(), [arr([6], "float16"), arr([6], "float16")])[0];

  it("enables f16, stores array<f16>, and sizes buffers at 2 bytes per element", () => {
    const w = generateWgsl(k, F16_CAPS);
    expect(w.code).toMatch(/^enable f16;$/m);
    expect(w.code).toContain("var<storage, read_write> b0: array<f16>;");
    expect(w.bindings.map((b) => b.bytesPerElement)).toEqual([2, 2, 2]);
    expect(storageBytes(float16, 3)).toBe(8);
    expect(storageBytes(float16, 4)).toBe(8);
    expect(storageBytes(float32, 3)).toBe(12);
    expect(storageBytes(boolDT, 0)).toBe(4);
    expect(w.bitExact).toBe(true);
  });

  it("rounds each arithmetic result to float16 (not neg, whose result is exact)", () => {
    const w = generateWgsl(k, F16_CAPS);
    const lines = w.code.split("\n").filter((l) => /^  let v\d+: f32 = /.test(l));
    expect(lines.filter((l) => l.includes("p_f16r(")).length).toBe(4); // mul, add, mul, sub
    expect(lines.find((l) => l.includes("(-v"))).not.toContain("p_f16r(");
    expect(() => generateWgsl(k)).toThrow(/shader-f16/);
  });
});

describe("malformed kernels are refused by every code generator (kernelTypeError)", () => {
  const idx: KIndex = { offset: 0, strides: [1] };
  const base = (ops: Kernel["ops"]): Kernel => ({
    name: "bad", shape: [4], reduced: [false],
    bufs: [{ dtype: float32, size: 4, role: "out" }, { dtype: int32, size: 4, role: "in" }], ops,
  });
  const cases: [string, Kernel, RegExp][] = [
    ["a load of another dtype than its buffer's", base([{ op: "load", buf: 1, index: idx, dtype: float32 }, { op: "store", buf: 0, index: idx, src: 0, dtype: float32 }]), /load of float32 from a int32 buffer/],
    ["an alu op whose operand is not of the declared dtype", base([
      { op: "load", buf: 1, index: idx, dtype: int32 },
      { op: "alu", prim: "neg", params: {}, args: [0], inDtypes: [float32], dtype: float32 },
      { op: "store", buf: 0, index: idx, src: 1, dtype: float32 },
    ]), /neg with operands of other dtypes than declared/],
  ];
  for (const [what, k, why] of cases)
    it(what, () => {
      expect(wgslSupport(k)).toMatch(why);
      expect(wasmSupport(k)).toMatch(why);
    });
});
