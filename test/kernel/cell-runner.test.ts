// Tests of the cell machinery: kernel/server/cell-parser.ts, cell-transform.ts,
// cell-runner.ts, and the `primal run` command (kernel/cli.ts). The runner gets a small fake library instead of Primal itself, so these
// tests do not depend on the numeric code; FakeArray imitates NDArray's printing contract
// (toString = NumPy str, repr = JAX repr, inspect hook = str).
import { describe, it, expect } from "vitest";
import * as path from "node:path";
import * as fs from "node:fs";
import { parseCells, cellAtLine, hasCode } from "../../kernel/server/cell-parser";
import { transformCell, CellSyntaxError } from "../../kernel/server/cell-transform";
import { CellRunner, type CellOutput, type CellResult } from "../../kernel/server/cell-runner";

const fixtures = path.join(__dirname, "fixtures");
const notebook = path.join(fixtures, "notebook.ts"); // virtual: only its folder matters

class FakeArray {
  constructor(readonly values: number[]) {}
  toString(): string {
    return `[${this.values.join(" ")}]`;
  }
  repr(): string {
    return `Array([${this.values.join(", ")}], dtype=int32)`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

const library = {
  add: (a: number, b: number) => a + b,
  arange: (n: number) => new FakeArray(Array.from({ length: n }, (_, i) => i)),
  isArray: (x: unknown) => Array.isArray(x),
};

/** A runner over `text`, collecting outputs; `run(i)` runs cell i. */
function setup(text: string) {
  const outputs: CellOutput[] = [];
  const runner = new CellRunner({ library, filePath: notebook, onOutput: (o) => outputs.push(o) });
  const cells = parseCells(text);
  const run = (i: number): Promise<CellResult> => runner.runCell(cells[i]);
  const stdout = () =>
    outputs
      .filter((o) => o.kind === "text" && o.stream === "stdout")
      .map((o) => o.text)
      .join("");
  return { runner, cells, outputs, run, stdout };
}

async function runAll(text: string) {
  const s = setup(text);
  const results: CellResult[] = [];
  for (let i = 0; i < s.cells.length; i++) results.push(await s.run(i));
  return { ...s, results };
}

function expectError(r: CellResult) {
  if (r.ok) throw new Error(`expected the cell to fail, it returned ${String(r.display)}`);
  return r.error;
}

describe("parseCells", () => {
  it("splits on // %% markers with titles and 1-based start lines", () => {
    const text = "import { np } from 'primal';\n// %% First\nconst a = 1;\n\n  // %%   Second cell  \na + 1\n";
    const cells = parseCells(text);
    expect(cells.map((c) => [c.index, c.title, c.startLine, c.markerLine, c.endLine])).toEqual([
      [0, "", 1, null, 1],
      [1, "First", 3, 2, 4],
      [2, "Second cell", 6, 5, 6],
    ]);
    expect(cells[1].source).toBe("const a = 1;\n");
    expect(cellAtLine(cells, 5)?.index).toBe(2);
    expect(cellAtLine(cells, 2)?.index).toBe(1);
  });

  it("skips a header of comments and blank lines, handles CRLF and empty cells", () => {
    const cells = parseCells("// Title\n/* block\n // %% not a marker? it is: markers are textual */\n");
    // The marker inside the block comment still splits (documented), the header is skipped.
    expect(cells.length).toBe(1);
    const crlf = parseCells("// header\r\n\r\n// %% a\r\nx\r\n// %%\r\n// %% c\r\ny");
    expect(crlf.map((c) => [c.title, c.source, c.startLine])).toEqual([
      ["a", "x", 4],
      ["", "", 6],
      ["c", "y", 7],
    ]);
    expect(hasCode("// a\n/* b */\n\n")).toBe(false);
    expect(hasCode("// a\nx")).toBe(true);
    expect(parseCells("const x = 1;").map((c) => c.source)).toEqual(["const x = 1;"]);
  });
});

describe("transformCell", () => {
  it("turns declarations into scope assignments and reports the names", () => {
    const t = transformCell(
      'import { np, grad as g } from "primal";\nconst { a, b: [c] }: any = o, d: number = 1;\nlet e;\nclass K {}\nfunction f() {}\nf()',
      { sourcefile: "t.ts" },
    );
    expect(t.body).toContain('({ np: np, grad: g } = await __primal_import("primal"));');
    expect(t.body).toContain("({ a, b: [c] } = o), (d = 1);");
    expect(t.body).toContain("(e = undefined);");
    expect(t.body).toContain("K = class K");
    expect(t.body.indexOf("f = function f")).toBeLessThan(t.body.indexOf("({ a,"));
    expect(t.body).toContain("return (f());");
    expect(t.declaredNames.filter((n) => !n.startsWith("__")).sort()).toEqual(["K", "a", "c", "d", "e", "f", "g", "np"]);
    expect(t.hasValue).toBe(true);
  });

  it("puts back the names esbuild gave bindings that shadow top-level ones", async () => {
    const src = [
      "const loss = (params: { w: number }, x: number) => params.w * x;",
      "let params = { w: 3 };",
      "function step(params: { w: number }) { const p = { params }; return loss(p.params, 2); }",
      "enum E { A, B }",
      "namespace N { export const params = 5; }",
      "params = { w: step(params) + E.B + N.params };",
      "[params.w, loss.toString(), step.toString()]",
    ].join("\n");
    const t = transformCell(src, { sourcefile: "t.ts" });
    expect(t.js).toContain("params2"); // esbuild's rename, which the body undoes
    expect(t.body).not.toMatch(/params2|E2|N2/);
    const r = await runAll(src);
    expect(r.results[0].ok).toBe(true);
    const [w, lossSrc, stepSrc] = r.results[0].ok ? (r.results[0].value as [number, string, string]) : [];
    expect(w).toBe(3 * 2 + 1 + 5);
    expect(lossSrc).toMatch(/^\(params, x\) => params\.w \* x$/);
    expect(stepSrc).toMatch(/^function step\(params\)/);
    // A generated name the user also writes is left as esbuild made it.
    const r2 = await runAll("const f = (a: number) => a;\nlet a = 1;\nconst g = (a2: number) => a2 + a;\nf(a) + g(2)");
    expect(r2.results[0].ok && r2.results[0].value).toBe(4);
  });

  it("applies the last-value rule", () => {
    const value = (code: string) => transformCell(code, { sourcefile: "t.ts" }).hasValue;
    expect(value("1 + 2;")).toBe(true);
    expect(value("x = 3;")).toBe(false); // assignments show nothing, as in IPython
    expect(value("x += 3")).toBe(false);
    expect(value("f();\nfunction f() {}")).toBe(true); // declarations after it do not count
    expect(value("const y = 1;")).toBe(false);
    expect(value("if (a) { b }")).toBe(false);
  });

  it("reports syntax errors with their line in the cell", () => {
    try {
      transformCell("const a: number = 1;\nconst b = ;\n", { sourcefile: "t.ts" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CellSyntaxError);
      expect((e as CellSyntaxError).line).toBe(2);
      expect((e as CellSyntaxError).name).toBe("SyntaxError");
    }
  });
});

describe("CellRunner", () => {
  it("keeps bindings across cells and rebinds on re-run", async () => {
    const s = setup("// %%\nconst x: number = 1;\n// %%\nlet y = 10;\n// %%\nx + y\n");
    expect((await s.run(0)).ok).toBe(true);
    expect(await s.run(1)).toEqual({ ok: true });
    expect(await s.run(2)).toMatchObject({ ok: true, value: 11, display: "11" });
    // Re-running a cell that declares `const x` rebinds it instead of failing.
    expect((await s.run(0)).ok).toBe(true);
    const edited = parseCells("// %%\nconst x: number = 5;")[0];
    expect((await s.runner.runCell(edited)).ok).toBe(true);
    expect(await s.run(2)).toMatchObject({ ok: true, value: 15 });
    expect(s.runner.scope.x).toBe(5);
  });

  it("runs functions called before their declaration, and sees later rebinding", async () => {
    const { results } = await runAll(
      "// %%\nconst scale = 2;\nconst r = twice(4);\nfunction twice(n: number): number { return scale * n; }\n// %%\nr\n// %%\nscale = 3; twice(4)",
    );
    expect(results.map((r) => (r.ok ? r.value : r.error.message))).toEqual([undefined, 8, 12]);
  });

  it("supports top-level await and destructuring", async () => {
    const { results } = await runAll(
      "// %%\nconst wait = (ms: number) => new Promise<number>((res) => setTimeout(() => res(ms), ms));\nconst [a, { b }] = [await wait(5), { b: 2 }];\n// %%\na + b",
    );
    expect(results[1]).toMatchObject({ ok: true, value: 7 });
  });

  it("captures console output, print and display with the str/repr forms", async () => {
    const s = await runAll(
      '// %%\nimport { arange } from "primal";\nconst v = arange(3);\nconsole.log("v =", v);\nprint(v);\nconsole.log([v, 1]);\nconsole.error("careful");\ndisplay(v);\nv',
    );
    expect(s.stdout()).toBe("v = [0 1 2]\n[0 1 2]\n[ [0 1 2], 1 ]\n");
    expect(s.outputs).toContainEqual({ kind: "text", stream: "stderr", text: "careful\n" });
    expect(s.outputs).toContainEqual({ kind: "display", text: "Array([0, 1, 2], dtype=int32)" });
    // Output order is preserved between streams and kinds.
    expect(s.outputs.map((o) => o.kind)).toEqual(["text", "text", "text", "text", "display"]);
    expect(s.results[0]).toMatchObject({ ok: true, display: "Array([0, 1, 2], dtype=int32)" });
  });

  it("shows no value for undefined or an assignment, and inspects other values", async () => {
    const { results } = await runAll("// %%\nlet z = 0;\nz = 4\n// %%\nundefined\n// %%\n({ a: [1, 2], s: 'x' })\n// %%\n'str'");
    expect(results[0]).toEqual({ ok: true });
    expect(results[1]).toEqual({ ok: true });
    expect(results[2]).toMatchObject({ ok: true, display: "{ a: [ 1, 2 ], s: 'x' }" });
    expect(results[3]).toMatchObject({ ok: true, display: "'str'" });
  });

  it("maps runtime errors to the line in the user's file", async () => {
    const text = [
      "// %% setup", // 1
      "interface P { w: number }", // 2
      "const p: P = { w: 2 };", // 3
      "function check(q: P): number {", // 4
      "  const limit: number = 1;", // 5
      "  if (q.w > limit) throw new RangeError(`too big: ${q.w}`);", // 6
      "  return q.w;", // 7
      "}", // 8
      "// %% use", // 9
      "type T = Array<number>;", // 10
      "const xs: T = [1, 2];", // 11
      "const y = (xs as any).missing.deep;", // 12
      "// %% call", // 13
      "const ok: number = 1;", // 14
      "check(p);", // 15
    ].join("\n");
    const { results } = await runAll(text);
    const e1 = expectError(results[1]);
    expect(e1).toMatchObject({ name: "TypeError", cell: 1, line: 12 });
    expect(e1.column).toBeGreaterThan(1);
    const e2 = expectError(results[2]);
    expect(e2).toMatchObject({ name: "RangeError", message: "too big: 2", cell: 2, line: 6 });
    const userFrames = e2.frames.filter((f) => f.inCellFile).map((f) => [f.functionName, f.line]);
    expect(userFrames).toEqual([
      ["check", 6],
      [undefined, 15],
    ]);
    expect(e2.stack).toContain(`at check (${notebook}:6:`);
    expect(e2.stack).not.toContain("#cell");
  });

  it("maps errors after an await and inside hoisted functions", async () => {
    const text = "// %%\nconst a: number = 1;\nawait null;\nboom();\nfunction boom(): void {\n  const s: string = 'x';\n  throw new Error(s);\n}";
    const { results } = await runAll(text);
    const e = expectError(results[0]);
    expect(e.line).toBe(7);
    expect(e.frames.filter((f) => f.inCellFile).map((f) => f.line)).toEqual([7, 4]);
  });

  it("reports thrown non-Error values and syntax errors", async () => {
    const { results } = await runAll("// %%\nconst q: number = 1;\nthrow 'oops';\n// %% bad\nconst a: number = 1;\nconst b = ;\n");
    const e1 = expectError(results[0]);
    expect(e1.name).toBe("Error");
    expect(e1.message).toContain("'oops'");
    expect(e1.line).toBe(2); // no stack: the cell's first line
    const e2 = expectError(results[1]);
    expect(e2).toMatchObject({ name: "SyntaxError", cell: 1, line: 6 });
  });

  it("imports from primal, node builtins, sibling .ts and .mjs files", async () => {
    const { results, stdout } = await runAll(
      [
        "// %%",
        'import { add, isArray } from "primal";',
        'import * as primal from "primal";',
        'import * as path from "node:path";',
        'import { readFileSync } from "fs";',
        'import double, { norm1, origin, type Point } from "./helper";',
        'import triple, { kind } from "./esm-only.mjs";',
        "const p: Point = { x: -3, y: 4 };",
        'console.log(add(1, 2), path.basename("/a/b.ts"), typeof readFileSync, primal.add === add);',
        "[norm1(p), norm1(origin), double(5), triple(2), kind, isArray([1])]",
      ].join("\n"),
    );
    expect(results[0]).toMatchObject({ ok: true, value: [7, 0, 10, 6, "esm", true] });
    expect(stdout()).toBe("3 b.ts function true\n");
  });

  it("maps errors thrown inside an imported module to that module's source", async () => {
    const { results } = await runAll('// %%\nimport { fail } from "./helper";\nconst n: number = 1;\nfail("no");');
    const e = expectError(results[0]);
    expect(e.message).toBe("helper: no");
    expect(e.line).toBe(4);
    const helperFrame = e.frames.find((f) => f.file === path.join(fixtures, "helper.ts"));
    expect(helperFrame).toMatchObject({ functionName: "fail", line: 21, isUserCode: true, inCellFile: false });
  });

  it("reports an unresolvable import as an error on the import line", async () => {
    const { results } = await runAll('// %%\nconst a = 1;\nimport { nope } from "./does-not-exist";');
    const e = expectError(results[0]);
    expect(e.message).toContain("does-not-exist");
    expect(e.line).toBe(3);
  });

  it("reports escaped errors (reportUncaught) with mapped stacks", async () => {
    const s = setup("// %%\nconst k: number = 1;\nglobalThis.pending = Promise.reject(new TypeError('nobody awaits'));");
    expect((await s.run(0)).ok).toBe(true);
    const p = s.runner.scope.pending as Promise<unknown>;
    await p.catch((e: unknown) => s.runner.reportUncaught(e));
    const err = s.outputs.find((o) => o.kind === "text" && o.stream === "stderr");
    expect(err && err.kind === "text" ? err.text : "").toMatch(/^Uncaught TypeError: nobody awaits\n\s+at .*notebook\.ts:3:/);
  });

  it("reports errors from timer callbacks on stderr instead of crashing", async () => {
    const s = setup("// %%\nsetTimeout(() => { throw new Error('late'); }, 1);\nawait new Promise((r) => setTimeout(r, 20));");
    expect((await s.run(0)).ok).toBe(true);
    const err = s.outputs.find((o) => o.kind === "text" && o.stream === "stderr");
    expect(err && err.kind === "text" ? err.text : "").toMatch(/^Uncaught Error: late\n\s+at .*notebook\.ts:2:/);
  });
});

// kernel/cli.ts imports the real library (kernel/index.ts) at load time; these tests inject a
// fake one through `io` (and the real one where the feature needs it).

describe("primal run (kernel/cli.ts)", () => {
  // Imported through a variable so the test file type-checks before kernel/index.ts exists.
  const cliModule = "../../kernel/cli";
  type Main = (argv: string[], io: { stdout(t: string): void; stderr(t: string): void; library: object; cwd: string }) => Promise<number>;

  async function cli(...argv: string[]) {
    const { main } = (await import(cliModule)) as { main: Main };
    let stdout = "";
    let stderr = "";
    const code = await main(argv, {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      library,
      cwd: fixtures,
    });
    return { code, stdout, stderr };
  }

  it("prints output and values, and stops at the first error with its line", async () => {
    const r = await cli("run", "cli-demo.ts");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("a = 3\n30\n");
    expect(r.stderr.split("\n")).toEqual([
      "Error in cell 3 (cli-demo.ts:15): RangeError: n too big: 3",
      "    at risky (cli-demo.ts:15:11)",
      "    at cli-demo.ts:19:1",
      "",
    ]);
  });

  it("prints one JSON object per output with --json", async () => {
    const r = await cli("run", "--json", "--backend", "cpu", "--no-jit", "cli-demo.ts");
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.slice(0, 2)).toEqual([
      { type: "text", cell: 1, stream: "stdout", text: "a = 3\n" },
      { type: "value", cell: 1, text: "30" },
    ]);
    expect(lines[2]).toMatchObject({ type: "error", cell: 2, name: "RangeError", file: "cli-demo.ts", line: 15, column: 11 });
    expect(r.stderr).toBe("");
  });

  it("rejects unknown flags, missing files and unknown backends", async () => {
    expect((await cli("run", "--bogus", "cli-demo.ts")).code).toBe(2);
    expect((await cli("run")).code).toBe(2);
    expect((await cli("run", "missing.ts")).stderr).toContain("cannot read missing.ts: no such file");
    expect((await cli("run", "--backend", "tpu", "cli-demo.ts")).code).toBe(2);
  });

  it("--ir prints the jaxpr of each function traced by jit or grad, after its cell", async () => {
    const { main } = (await import(cliModule)) as { main: Main };
    const real = await import("../../kernel/index");
    let stdout = "";
    const code = await main(["run", "--ir", "cli-ir.ts"], { stdout: (t) => void (stdout += t), stderr: () => undefined, library: real, cwd: fixtures });
    expect(code).toBe(0);
    expect(stdout).toBe(
      "--- jaxpr of jit(double) (cli-ir.ts:7) ---\n" +
        "{ lambda ; a:f32[3]. let b:f32[3] = sin a; c:f32[3] = mul b 2.0:f32[] in (c,) }\n" +
        "[ 3 ]\n" +
        // grad's record is the linear (tangent) program that vjp transposes: t -> t*3 + 3*t.
        "--- jaxpr of grad(<lambda>) (cli-ir.ts:10) ---\n" +
        "{ lambda ; a:f32[]. let\n    b:f32[] = mul a 3.0:f32[]\n    c:f32[] = mul 3.0:f32[] a\n    d:f32[] = add b c\n  in (d,) }\n" +
        "Array(6., dtype=float32, weak_type=True)\n",
    );
  });

  it("--kernels prints each compiled program: its fused kernels, their source and times", async () => {
    const { main } = (await import(cliModule)) as { main: Main };
    const real = await import("../../kernel/index");
    let stdout = "";
    const code = await main(["run", "--kernels", "cli-kernels.ts"], { stdout: (t) => void (stdout += t), stderr: () => undefined, library: real, cwd: fixtures });
    expect(code).toBe(0);
    // Printed after the cell's own output and before its value, as --ir does; the line is the call's.
    expect(stdout.endsWith("\n[ 4 ]\n")).toBe(true);
    const rest = stdout;
    expect(rest).toMatch(/^--- kernels of jit\(fused\) \(cli-kernels.ts:7\) ---\n1 fused kernel\(s\), 0 library call\(s\); 4 equations;/);
    // The one kernel computes the four equations, with its source and the time of the cell's call.
    expect(rest).toMatch(/\[0\] kernel k0_mul_add_tanh: launch \[4\] \(4 elements\), [0-9.]+ ms\/call over 1 call\(s\)/);
    for (const eqn of ["mul a 2.0:f32[]", "add b 1.0:f32[]", "tanh c", "mul d a"]) expect(rest).toContain(eqn);
    expect(rest).toContain("function k0_mul_add_tanh(");
  });

  it("prints help and the package version", async () => {
    const help = await cli("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: primal run FILE.ts");
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")) as { version: string };
    expect((await cli("--version")).stdout).toBe(`${pkg.version}\n`);
  });
});
