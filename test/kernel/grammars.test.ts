// The TextMate grammars in syntaxes/ (jaxpr + kernels listing, WGSL, WAT), tokenized with shiki's
// engine (the one the inspector panels render with) on real output: jaxprs printed by makeJaxpr
// (nested jit, cond, scan, custom_jvp, a gradient), the `primal run --kernels` listing with JS,
// WGSL and WAT sources embedded, WGSL from the WebGPU code generator and WAT listings from the
// wasm one. Key tokens get the right scopes, counted against the jaxpr objects themselves
// (primitives, binders, literals), and no non-blank text is left with only the root scope.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createHighlighterCore, type HighlighterCore } from "shiki/core";
import { createOnigurumaEngine } from "shiki/engine/oniguruma";
import { bundledLanguages } from "shiki/langs";
import { customJvp, grad, jit, lax, makeJaxpr, nn, np } from "../../kernel/index";
import { NDArray } from "../../kernel/core/ndarray";
import { ClosedJaxpr, DropVar, Jaxpr, Literal } from "../../kernel/ir/jaxpr";
import { Kernel } from "../../kernel/lower/kernel-ir";
import { generateJs } from "../../kernel/lower/codegen-js";
import { clearCompiled, formatCompiled, recordCompiled } from "../../kernel/lower/inspect";
import { generateWgsl, generateWgslVec4, vec4Why } from "../../kernel/backends/webgpu/codegen-wgsl";
import { DEFAULT_CAPS } from "../../kernel/backends/webgpu/wgsl-library";
import { generateWasm, wasmSupport } from "../../kernel/backends/cpu/codegen-wasm";
import { lowerPure } from "./helpers/golden";

const ROOT = join(__dirname, "..", "..");
const SYNTAXES = join(ROOT, "syntaxes");

interface Tok {
  text: string;
  scopes: string[];
  line: number;
}

let hl: HighlighterCore;

function grammarFile(file: string, id: string) {
  const g = JSON.parse(readFileSync(join(SYNTAXES, file), "utf8"));
  return { ...g, name: id };
}

beforeAll(async () => {
  const js = (await bundledLanguages.javascript()).default;
  hl = await createHighlighterCore({
    themes: [],
    langs: [js, grammarFile("wgsl.tmLanguage.json", "wgsl"), grammarFile("wat.tmLanguage.json", "wat"), grammarFile("jaxpr.tmLanguage.json", "primal-ir")],
    engine: createOnigurumaEngine(import("shiki/wasm")),
  });
});

/** Tokens of `text`, line by line (the state carried across lines, as an editor does). */
function tokenize(lang: string, text: string): Tok[] {
  const g = hl.getLanguage(lang);
  const out: Tok[] = [];
  let state: Parameters<typeof g.tokenizeLine>[1] = null;
  text.split("\n").forEach((line, i) => {
    const r = g.tokenizeLine(line, state);
    state = r.ruleStack;
    for (const t of r.tokens) out.push({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes, line: i });
  });
  return out;
}

/** Non-blank text that only the root scope covers (a gap in the grammar), with its line. */
function unscoped(toks: Tok[], text: string): string[] {
  const lines = text.split("\n");
  return toks.filter((t) => t.text.trim() && t.scopes.length < 2).map((t) => `${JSON.stringify(t.text)} in ${JSON.stringify(lines[t.line])}`);
}

const has = (t: Tok, scope: string) => t.scopes.some((s) => s === scope || s.startsWith(scope + "."));
const withScope = (toks: Tok[], scope: string) => toks.filter((t) => has(t, scope));
const textsWith = (toks: Tok[], scope: string) => withScope(toks, scope).map((t) => t.text.trim());
/** The tokens, line by line. */
function text(toks: Tok[]): Tok[][] {
  const lines: Tok[][] = [];
  for (const t of toks) (lines[t.line] ??= []).push(t);
  return lines.filter(Boolean);
}
/** The scopes of the first token whose text is exactly `text` (after a given token index). */
function scopesOf(toks: Tok[], text: string): string[] {
  const t = toks.find((x) => x.text.trim() === text);
  if (!t) throw new Error(`no token ${JSON.stringify(text)}`);
  return t.scopes;
}

// ---- jaxprs ------------------------------------------------------------------------------------

/** What the printer must show, counted on the jaxpr objects: primitives, binders, literals, parameter names. */
function census(j: Jaxpr) {
  const prims = new Set<string>();
  const params = new Set<string>();
  let binders = 0;
  let drops = 0;
  let literals = 0;
  const walk = (jj: Jaxpr) => {
    binders += jj.constvars.length + jj.invars.length;
    literals += jj.outvars.filter((a) => a instanceof Literal).length;
    for (const e of jj.eqns) {
      prims.add(e.primitive.name);
      for (const v of e.outVars) v instanceof DropVar ? drops++ : binders++;
      literals += e.inputs.filter((a) => a instanceof Literal).length;
      const shown = e.primitive.printParams ? e.primitive.printParams(e.params) : e.params;
      for (const [k, v] of Object.entries(shown)) {
        params.add(k);
        const nested = v instanceof Jaxpr || v instanceof ClosedJaxpr ? [v] : Array.isArray(v) && v.length > 0 && v.every((x) => x instanceof Jaxpr || x instanceof ClosedJaxpr) ? v : [];
        for (const x of nested as (Jaxpr | ClosedJaxpr)[]) walk(x instanceof ClosedJaxpr ? x.jaxpr : x);
      }
    }
  };
  walk(j);
  return { prims, params, binders, drops, literals };
}

const x34 = () => np.ones([3, 4]);
const inner = jit((a: NDArray) => np.sin(a).mul(2));
const softplus = customJvp((a: NDArray) => np.log1p(np.exp(a)));
softplus.defjvp(([a]: NDArray[], [t]: NDArray[]) => [softplus(a), t.mul(nn.sigmoid(a))]);

const JAXPRS: [string, () => ClosedJaxpr][] = [
  ["one line: sin", () => makeJaxpr((a: NDArray) => np.sin(a))(x34())],
  [
    "nested jit, cond (two branches), scan, integer and bool values",
    () =>
      makeJaxpr((a: NDArray) => {
        const y = inner(a);
        const z = lax.cond(np.greater(np.sum(y), 0), (b: NDArray) => b.mul(3), (b: NDArray) => b.neg(), y);
        const [c, ys] = lax.scan((carry: NDArray, row: NDArray) => [carry.add(row), carry.mul(row)], np.zeros([4]), z);
        return np.sum(c).add(np.sum(ys));
      })(x34()),
  ],
  ["custom_jvp_call with its call_jaxpr", () => makeJaxpr((a: NDArray) => np.sum(softplus(a)))(x34())],
  ["a gradient (dropped outputs `_`, literals)", () => makeJaxpr(grad((a: NDArray) => np.sum(np.tanh(a).mul(a))))(x34())],
  ["logsumexp with -inf and a transpose", () => makeJaxpr((a: NDArray) => nn.logsumexp(a.T.add(1), 1))(x34())],
];

describe("jaxpr grammar (source.primal-ir)", () => {
  for (const [what, make] of JAXPRS) {
    it(what, () => {
      const cj = make();
      const text = String(cj);
      const toks = tokenize("primal-ir", text);
      expect(unscoped(toks, text)).toEqual([]);
      expect(withScope(toks, "invalid")).toEqual([]);
      const c = census(cj.jaxpr);
      // Every primitive the jaxpr holds is shown as one, and nothing else is.
      expect(new Set(textsWith(toks, "entity.name.function.primitive"))).toEqual(c.prims);
      // Binders (`a:f32[3,4]`) and dropped outputs (`_:f32[]`), one per variable the jaxprs bind.
      expect(withScope(toks, "variable.other.definition").length).toBe(c.binders);
      expect(withScope(toks, "variable.language.dropvar").length).toBe(c.drops);
      // One dtype per binder, dropped output and literal; each a known short name.
      const dtypes = textsWith(toks, "storage.type.dtype");
      expect(dtypes.length).toBe(c.binders + c.drops + c.literals);
      for (const d of dtypes) expect(["f32", "i32", "bool", "f16", "bf16", "u32", "u8", "i8"]).toContain(d);
      // Literals (parameter values are scoped apart: constant.numeric / constant.language).
      const lits = toks.filter((t) => has(t, "constant.numeric.float") || has(t, "constant.numeric.integer") || has(t, "constant.language.boolean"));
      expect(lits.length).toBe(c.literals);
      // Parameter names.
      expect(new Set(textsWith(toks, "variable.parameter"))).toEqual(c.params);
      // Keywords: one `lambda`, `let` and `in` per jaxpr (nested ones included).
      const lambdas = textsWith(toks, "keyword.other.lambda").length;
      expect(lambdas).toBe((text.match(/\{ lambda/g) ?? []).length);
      expect(textsWith(toks, "keyword.other.let").length).toBe(lambdas);
      expect(textsWith(toks, "keyword.other.in").length).toBe(lambdas);
    });
  }

  it("scopes of the tokens of one equation", () => {
    const text = String(makeJaxpr((a: NDArray) => np.sum(a.mul(2), 0))(x34()));
    const toks = tokenize("primal-ir", text);
    expect(text).toContain("b:f32[3,4] = mul a 2.0:f32[]");
    expect(scopesOf(toks, "{")).toContain("punctuation.section.block.begin.primal-ir");
    expect(scopesOf(toks, "lambda")).toContain("keyword.other.lambda.primal-ir");
    expect(scopesOf(toks, "b")).toContain("variable.other.definition.primal-ir");
    expect(scopesOf(toks, "f32")).toContain("storage.type.dtype.primal-ir");
    expect(scopesOf(toks, "3")).toContain("constant.numeric.dimension.primal-ir");
    expect(scopesOf(toks, "=")).toContain("keyword.operator.assignment.primal-ir");
    expect(scopesOf(toks, "mul")).toContain("entity.name.function.primitive.primal-ir");
    expect(scopesOf(toks, "2.0")).toContain("constant.numeric.float.primal-ir");
    expect(scopesOf(toks, "reduce_sum")).toContain("entity.name.function.primitive.primal-ir");
    expect(scopesOf(toks, "axes")).toContain("variable.parameter.primal-ir");
    expect(scopesOf(toks, "None")).toContain("constant.language.primal-ir");
    // `a` used as an input (after `mul`) is a variable, not a definition.
    const uses = toks.filter((t) => t.text === "a" && has(t, "variable.other") && !has(t, "variable.other.definition"));
    expect(uses.length).toBeGreaterThan(0);
    expect(scopesOf(toks, "}")).toContain("punctuation.section.block.end.primal-ir");
  });
});

// ---- the kernels listing ---------------------------------------------------------------------

function kernelsOf(cj: ClosedJaxpr): Kernel[] {
  return lowerPure(cj).steps.flatMap((s) => (s.kind === "kernel" ? [s.kernel] : []));
}

const lseJaxpr = () => makeJaxpr((a: NDArray, r: NDArray) => nn.logsumexp(a.T.add(r).mul(0.5), 1))(np.ones([5, 3]), np.ones([5]));

/** The `primal run --kernels` text of a program, its kernel sources replaced by `source(k)` when given. */
function listing(cj: ClosedJaxpr, platform?: string, source?: (k: Kernel) => string): string {
  const p = lowerPure(cj);
  const rec = recordCompiled(p, "step", null, 1.25, () => null);
  clearCompiled();
  if (platform) rec.platform = platform;
  p.steps.forEach((s, i) => {
    if (s.kind === "kernel" && source) rec.kernels[i].source = source(s.kernel);
  });
  rec.kernels[0].note = "runs on the host: a note for the test";
  rec.kernels[0].timing = { calls: 3, totalMs: 0.6, lastMs: 0.2 };
  return formatCompiled(rec, " (examples/mlp.ts:12)");
}

describe("kernels listing (primal run --kernels) in source.primal-ir", () => {
  function check(text: string, embedded: string) {
    const toks = tokenize("primal-ir", text);
    expect(unscoped(toks, text)).toEqual([]);
    expect(withScope(toks, "invalid")).toEqual([]);
    // Header.
    expect(text.startsWith("--- kernels of jit(step) (examples/mlp.ts:12)")).toBe(true);
    expect(scopesOf(toks, "kernels of")).toContain("keyword.other.kernels.primal-ir");
    expect(scopesOf(toks, "step")).toContain("entity.name.function.primal-ir");
    // Every step line names its kind and kernel.
    const steps = text.split("\n").filter((l) => /^\[\d+\] /.test(l)).length;
    expect(textsWith(toks, "keyword.other.step-kind").length).toBe(steps);
    expect(textsWith(toks, "entity.name.function.kernel").length).toBe(steps);
    expect(scopesOf(toks, "(runs on the host: a note for the test)")).toContain("comment.line.note.primal-ir");
    // The equation lines: primitives as in a jaxpr.
    expect(textsWith(toks, "entity.name.function.primitive")).toContain("reduce_max");
    // Every `| ` line is embedded source, and none of its text escapes the embedded scope.
    const sourceLines = new Set(text.split("\n").flatMap((l, i) => (/^\s*\| /.test(l) ? [i] : [])));
    expect(sourceLines.size).toBeGreaterThan(5);
    for (const t of toks) {
      if (!sourceLines.has(t.line) || !t.text.trim() || t.text.trim() === "|") continue;
      expect(t.scopes, t.text).toContain(`meta.embedded.block.${embedded}`);
    }
    return toks;
  }

  it("CPU program with JavaScript kernels", () => {
    const toks = check(listing(lseJaxpr()), "javascript");
    const forTok = toks.find((t) => t.text === "for" && has(t, "meta.embedded.block.javascript"));
    expect(forTok?.scopes.some((s) => s.startsWith("keyword.control"))).toBe(true);
  });

  it("WebGPU program with WGSL kernels", () => {
    const toks = check(listing(lseJaxpr(), "webgpu", (k) => generateWgsl(k).code), "wgsl");
    expect(scopesOf(toks, "compute")).toContain("entity.other.attribute-name.wgsl");
    expect(toks.find((t) => t.text.includes("on webgpu"))?.scopes).toContain("string.unquoted.location.primal-ir");
  });

  it("CPU program with WebAssembly kernels", () => {
    const toks = check(listing(lseJaxpr(), undefined, (k) => (wasmSupport(k) ? generateJs(k) : generateWasm(k).text)), "wat");
    const instructions = new Set(text(toks).map((l) => l.filter((t) => has(t, "support.function.instruction.wat")).map((t) => t.text).join("")));
    for (const op of ["f32.add", "f32.load", "local.get", "local.set", "i32.lt_s"]) expect(instructions, op).toContain(op);
  });
});

// ---- WGSL ------------------------------------------------------------------------------------

const arr = (shape: number[], dtype = "float32") => np.zeros(shape, { dtype: dtype as "float32" });
const WGSL_PROGRAMS: [string, () => ClosedJaxpr][] = [
  ["tanh(x*2+1)*x", () => makeJaxpr((x: NDArray) => np.tanh(x.mul(2).add(1)).mul(x))(arr([4, 256]))],
  ["logsumexp over axis 1", () => makeJaxpr((x: NDArray) => nn.logsumexp(x, 1))(arr([8, 16]))],
  [
    "int32 and bool",
    () => makeJaxpr((x: NDArray, y: NDArray) => [np.where(np.greater(x, y), x.add(y).mul(3), x.sub(y)), np.logicalAnd(np.greater(x, 0), np.less(y, 5))])(arr([6, 7], "int32"), arr([6, 7], "int32")),
  ],
];

describe("WGSL grammar (source.wgsl)", () => {
  const shaders = (): string[] =>
    WGSL_PROGRAMS.flatMap(([, make]) =>
      kernelsOf(make()).flatMap((k) => [
        generateWgsl(k).code,
        generateWgsl(k, { ...DEFAULT_CAPS, f16: true }).code,
        ...(vec4Why(k) ? [] : [generateWgslVec4(k).code]),
      ]),
    );

  it("every shader tokenizes with no unscoped text", () => {
    const all = shaders();
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const code of all) {
      const toks = tokenize("wgsl", code);
      expect(unscoped(toks, code)).toEqual([]);
      // Every number (digits at a token start, outside comments and names) is a numeric constant.
      for (const t of toks) if (/^\d/.test(t.text) && !has(t, "comment")) expect(t.scopes.join(" "), t.text).toMatch(/constant\.numeric/);
    }
  });

  it("keywords, attributes, types, builtins and suffixed numbers", () => {
    const code = generateWgsl(kernelsOf(WGSL_PROGRAMS[1][1]())[0]).code;
    const toks = tokenize("wgsl", code);
    for (const a of ["group", "binding", "compute", "workgroup_size", "builtin"]) expect(scopesOf(toks, a), a).toContain("entity.other.attribute-name.wgsl");
    expect(scopesOf(toks, "@")).toContain("punctuation.definition.attribute.wgsl");
    expect(scopesOf(toks, "global_invocation_id")).toContain("variable.language.builtin.wgsl");
    expect(scopesOf(toks, "fn")).toContain("storage.type.function.wgsl");
    expect(scopesOf(toks, "main")).toContain("entity.name.function.wgsl");
    expect(scopesOf(toks, "var")).toContain("storage.type.variable.wgsl");
    expect(scopesOf(toks, "let")).toContain("storage.type.variable.wgsl");
    expect(scopesOf(toks, "read_write")).toContain("storage.modifier.wgsl");
    expect(scopesOf(toks, "storage")).toContain("storage.modifier.wgsl");
    expect(scopesOf(toks, "array")).toContain("storage.type.wgsl");
    expect(scopesOf(toks, "vec3")).toContain("storage.type.wgsl");
    expect(scopesOf(toks, "u32")).toContain("storage.type.wgsl");
    expect(scopesOf(toks, "return")).toContain("keyword.control.wgsl");
    expect(scopesOf(toks, "for")).toContain("keyword.control.wgsl");
    expect(scopesOf(toks, "bitcast")).toContain("support.function.builtin.wgsl");
    expect(scopesOf(toks, "->")).toContain("keyword.operator.arrow.wgsl");
    // `64u`: an integer and its suffix; `0x7f800000u`: hex; a comment.
    const i = toks.findIndex((t, j) => t.text === "64" && toks[j + 1]?.text === "u");
    expect(i).toBeGreaterThan(0);
    expect(toks[i].scopes).toContain("constant.numeric.integer.wgsl");
    expect(toks[i + 1].text).toBe("u");
    expect(toks[i + 1].scopes).toContain("keyword.other.unit.suffix.wgsl");
    expect(scopesOf(toks, "0x7f800000")).toContain("constant.numeric.integer.hex.wgsl");
    expect(toks.find((t) => t.text.startsWith("//"))?.scopes.join(" ")).toMatch(/comment\.line\.double-slash\.wgsl/);
  });

  it("hand-written WGSL: floats with suffixes, nested templates, block comments", () => {
    const code = [
      "enable f16;",
      "/* a /* nested */ comment */",
      "struct P { w: array<vec4<f32>, 4>, h: f16 }",
      "@group(0) @binding(0) var<uniform> p: P;",
      "const a = 0.5f + 1e-3 + 2.h + .25 + 0x1p4f + 3f + 7i;",
      "@compute @workgroup_size(8, 8, 1) fn k(@builtin(local_invocation_id) l: vec3<u32>) { loop { if (true) { break; } } }",
    ].join("\n");
    const toks = tokenize("wgsl", code);
    expect(unscoped(toks, code)).toEqual([]);
    expect(scopesOf(toks, "enable")).toContain("keyword.other.directive.wgsl");
    expect(scopesOf(toks, "nested")).toContain("comment.block.wgsl");
    expect(scopesOf(toks, "P")).toContain("entity.name.type.struct.wgsl");
    expect(scopesOf(toks, "vec4")).toContain("storage.type.wgsl");
    expect(scopesOf(toks, "uniform")).toContain("storage.modifier.wgsl");
    for (const n of ["0.5", "1e-3", "2.", ".25", "0x1p4", "3"]) expect(scopesOf(toks, n).join(" "), n).toMatch(/constant\.numeric\.float/);
    expect(scopesOf(toks, "7")).toContain("constant.numeric.integer.wgsl");
    expect(scopesOf(toks, "true")).toContain("constant.language.boolean.wgsl");
    expect(scopesOf(toks, "loop")).toContain("keyword.control.wgsl");
    expect(scopesOf(toks, "local_invocation_id")).toContain("variable.language.builtin.wgsl");
  });
});

// ---- WAT -------------------------------------------------------------------------------------

describe("WAT grammar (source.wat)", () => {
  const listings = (): string[] =>
    [...WGSL_PROGRAMS.map(([, m]) => m()), lseJaxpr()].flatMap((cj) =>
      kernelsOf(cj)
        .filter((k) => !wasmSupport(k))
        .flatMap((k) => [generateWasm(k).text, generateWasm(k, { simd: false }).text]),
    );

  it("every listing of the wasm code generator tokenizes with no unscoped text", () => {
    const all = listings();
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const text of all) {
      const toks = tokenize("wat", text);
      expect(unscoped(toks, text)).toEqual([]);
      // The first word of each instruction line is an instruction or a control keyword.
      const lines = text.split("\n");
      lines.forEach((l, i) => {
        if (/^\s*(\(|\)|;;|$)/.test(l)) return;
        const first = toks.find((t) => t.line === i && t.text.trim());
        expect(first?.scopes.join(" "), l).toMatch(/support\.function\.instruction\.wat|keyword\.control\.wat/);
      });
    }
  });

  it("scopes of a function header, locals, instructions and immediates", () => {
    const text = [
      ";; a comment",
      '(func $kernel (export "kernel") (param $0 i32) (result f32)',
      "  (local $1 f32, $2 v128)",
      "  local.get 0",
      "  f32.load offset=12 align=4",
      "  v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000",
      "  f32x4.replace_lane 1",
      "  f32.const -inf",
      "  loop",
      "    br_if 0",
      "  end",
      "  (; block comment ;)",
      ")",
    ].join("\n");
    const toks = tokenize("wat", text);
    expect(unscoped(toks, text)).toEqual([]);
    expect(scopesOf(toks, ";;")).toContain("punctuation.definition.comment.wat");
    expect(scopesOf(toks, "func")).toContain("storage.type.wat");
    expect(scopesOf(toks, "$kernel")).toContain("variable.other.wat");
    expect(scopesOf(toks, "kernel")).toContain("string.quoted.double.wat");
    expect(scopesOf(toks, "i32")).toContain("entity.name.type.wat");
    expect(scopesOf(toks, "local")).toContain("storage.type.wat");
    expect(scopesOf(toks, ",")).toContain("punctuation.separator.comma.wat");
    expect(toks.filter((t) => t.line === 3 && has(t, "support.function.instruction.wat")).map((t) => t.text).join("")).toBe("local.get");
    expect(scopesOf(toks, "offset")).toContain("variable.parameter.immediate.wat");
    expect(scopesOf(toks, "12")).toContain("constant.numeric.integer.wat");
    expect(scopesOf(toks, "i32x4")).toContain("entity.name.type.wat");
    expect(scopesOf(toks, "0x3f000000")).toContain("constant.numeric.integer.hex.wat");
    expect(scopesOf(toks, "-inf")).toContain("constant.numeric.float.wat");
    expect(scopesOf(toks, "loop")).toContain("keyword.control.wat");
    expect(scopesOf(toks, "br_if")).toContain("keyword.control.wat");
    expect(scopesOf(toks, "block comment")).toContain("comment.block.wat");
  });
});

// ---- the JS kernels and the registration ---------------------------------------------------

describe("CPU JavaScript kernels (VS Code's JavaScript grammar) and package.json", () => {
  it("the generated JS highlights with source.js", () => {
    const code = generateJs(kernelsOf(lseJaxpr())[0]);
    const toks = tokenize("javascript", code);
    expect(scopesOf(toks, "for").join(" ")).toMatch(/keyword\.control/);
    expect(scopesOf(toks, "return").join(" ")).toMatch(/keyword\.control/);
    expect(scopesOf(toks, "Math").join(" ")).toMatch(/support\.constant\.math|support\.class|variable/);
  });

  it("contributes the languages and grammars, pointing at these files", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const langs = pkg.contributes.languages as { id: string; extensions?: string[]; aliases?: string[]; configuration?: string }[];
    const ir = langs.find((l) => l.id === "primal-ir");
    expect(ir?.extensions).toContain(".jaxpr");
    expect(ir?.aliases).toContain("Primal IR");
    expect(langs.find((l) => l.id === "wgsl")?.extensions).toContain(".wgsl");
    for (const l of langs) if (l.configuration) JSON.parse(readFileSync(join(ROOT, l.configuration), "utf8"));
    const grammars = pkg.contributes.grammars as { language?: string; scopeName: string; path: string }[];
    const want: Record<string, string> = { "source.primal-ir": "primal-ir", "source.wgsl": "wgsl", "source.wat": "" };
    for (const [scope, lang] of Object.entries(want)) {
      const g = grammars.find((x) => x.scopeName === scope);
      expect(g, scope).toBeDefined();
      expect(g!.language ?? "").toBe(lang);
      expect(JSON.parse(readFileSync(join(ROOT, g!.path), "utf8")).scopeName).toBe(scope);
    }
  });
});
