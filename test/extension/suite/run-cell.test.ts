// Running cells through the commands, as a user does from the keyboard or a CodeLens, and
// checking what the user sees: the inline result after the cell, the "Primal Results" panel
// (arrays as tables, plots as SVG, errors with a location), diagnostics on the error line,
// the status bar (kernel state, device, JIT), and JIT toggling without a restart.
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { assertOk, lineOf, openAt, primal, runCommand, setSetting, until, writeCells } from "./primal-helpers";

const CELLS = `import { np, jit, config, display, print } from "primal";

// %% make x
const x = np.arange(6).reshape([2, 3]);
print("x has", x.size, "elements");
x.sum()

// %% double it
x.mul(2)

// %% count traces
let calls = 0;
const f = jit((a: any) => { calls++; return a.mul(2); });
f(np.ones([3]));
f(np.ones([3]));
[calls, config.read("jax_disable_jit")]

// %% a shape error
const bad = np.ones([2, 3]);
const worse = bad.add(np.ones([4]));
`;

suite("run cells", () => {
  let file: string;
  suiteSetup(async () => {
    await setSetting("jit.enabled", undefined);
    await setSetting("backend", undefined);
    file = writeCells("run.ts", CELLS);
  });

  test("Run Cell at the cursor: value inline, output in the panel, status bar idle", async () => {
    const api = await primal();
    const ed = await openAt(file, lineOf(CELLS, "x.sum()"));
    // The import header (cell 0) first, with the CodeLens's arguments.
    assertOk((await runCommand("primal.runCell", 1, ed.document.uri, 0))[0]);
    const [rec] = await runCommand("primal.runCell", 1);
    assertOk(rec);
    assert.equal(rec.cell, 1);
    // 0+1+2+3+4+5 = 15, an int32 scalar in JAX's repr.
    assert.equal(rec.result?.value, "Array(15, dtype=int32)");
    assert.ok(rec.outputs.some((o) => o.kind === "text" && o.text.includes("x has 6 elements")), JSON.stringify(rec.outputs));
    const inline = api.results.inlineText.get(ed.document.uri.toString())?.get(1);
    assert.ok(inline, "no inline result for cell 1");
    assert.match(inline.text, /^⇒ Array\(15, dtype=int32\)/);
    assert.equal(inline.error, false);
    assert.equal(inline.line, lineOf(CELLS, "x.sum()"), "the inline result sits on the cell's last code line");
    assert.ok(api.panel.isOpen, "the results panel opened");
    const html = api.panel.sent.get(rec.runId)!;
    assert.ok(html.includes("x has 6 elements") && html.includes("Array(15, dtype=int32)"), html);
    assert.ok(html.includes("int32[]"), "a scalar array still has its dtype/shape header");
    const sb = api.statusBar.texts();
    assert.match(sb.kernel, /Primal: idle/);
    assert.match(sb.device, /CPU|WebGPU/);
    assert.equal(sb.jit, "JIT: on");
  });

  test("cells share one scope; an array value is a table with its shape and dtype", async () => {
    const api = await primal();
    const ed = await openAt(file, lineOf(CELLS, "x.mul(2)"));
    const [rec] = await runCommand("primal.runCell", 1);
    assertOk(rec);
    assert.match(rec.result!.value!.replace(/\s+/g, " "), /\[\[ ?0, +2, +4\], \[ ?6, +8, +10\]\], dtype=int32/);
    const html = api.panel.sent.get(rec.runId)!;
    if (rec.result?.valueOutput?.kind === "array") {
      assert.ok(html.includes("int32[2, 3]"), "array header with dtype and shape");
      for (const v of [0, 2, 4, 6, 8, 10]) assert.ok(html.includes(`<td>${v}</td>`), `table cell ${v}`);
    } else {
      assert.fail(`the kernel sent no structured array for the value: ${JSON.stringify(rec.result)}`);
    }
    assert.match(api.results.inlineText.get(ed.document.uri.toString())!.get(2)!.text, /^⇒ Array\(\[\[ ?0, +2, +4\]/);
  });

  test("an error: red inline text, a diagnostic on the failing line, a clickable location in the panel", async () => {
    const api = await primal();
    const ed = await openAt(file, lineOf(CELLS, "const worse"));
    const [rec] = await runCommand("primal.runCell", 1);
    assert.equal(rec.status, "error");
    const errLine = lineOf(CELLS, "const worse");
    assert.equal(rec.error?.location?.line, errLine);
    const inline = api.results.inlineText.get(ed.document.uri.toString())!.get(4)!;
    assert.equal(inline.error, true);
    assert.match(inline.text, /^✖ /);
    const diags = vscode.languages.getDiagnostics(ed.document.uri).filter((d) => d.source === "Primal");
    assert.equal(diags.length, 1);
    assert.equal(diags[0].range.start.line, errLine - 1);
    assert.equal(diags[0].severity, vscode.DiagnosticSeverity.Error);
    assert.match(diags[0].message, /\(2, ?3\)|\[2, ?3\]/, "the message names the shapes");
    const html = api.panel.sent.get(rec.runId)!;
    assert.match(html, new RegExp(`class="loc"[^>]*data-line="${errLine}"`));
    // Fix the cell and run it again: the diagnostic goes away.
    await ed.edit((b) => b.replace(new vscode.Range(errLine - 1, 0, errLine - 1, 200), "const worse = bad.add(np.ones([3]));"));
    const [again] = await runCommand("primal.runCell", 1);
    assertOk(again);
    assert.equal(vscode.languages.getDiagnostics(ed.document.uri).filter((d) => d.source === "Primal").length, 0);
    await vscode.commands.executeCommand("workbench.action.files.revert");
  });

  test("Toggle JIT: status bar and setting change, the next run is eager, the kernel is not restarted", async () => {
    const api = await primal();
    await openAt(file, lineOf(CELLS, "let calls"));
    const [on] = await runCommand("primal.runCell", 1);
    assertOk(on);
    // jit traces once and reuses the compiled program: the Python-side counter moves once.
    assert.equal(on.result?.value, "[ 1, false ]");
    const pid = api.kernel.pid;
    const next = await vscode.commands.executeCommand<boolean>("primal.toggleJit");
    assert.equal(next, false);
    assert.equal(vscode.workspace.getConfiguration("primal").get("jit.enabled"), false);
    await until("JIT: off in the status bar", () => api.statusBar.texts().jit === "JIT: off");
    const [off] = await runCommand("primal.runCell", 1);
    assertOk(off);
    // Eager: the function body runs on every call.
    assert.equal(off.result?.value, "[ 2, true ]");
    assert.equal(off.jit, false);
    assert.equal(api.kernel.pid, pid, "toggling JIT must not restart the kernel");
    await vscode.commands.executeCommand("primal.toggleJit");
    await until("JIT: on again", () => api.statusBar.texts().jit === "JIT: on");
  });

  test("Select Backend with an argument sets primal.backend and the device shows it", async () => {
    const api = await primal();
    const chosen = await vscode.commands.executeCommand<string>("primal.selectBackend", "cpu");
    assert.equal(chosen, "cpu");
    assert.equal(vscode.workspace.getConfiguration("primal").get("backend"), "cpu");
    await openAt(file, lineOf(CELLS, "x.mul(2)"));
    assertOk((await runCommand("primal.runCell", 1))[0]);
    const threads = api.kernel.info!.devices.find((d) => d.id === "cpu:0")?.threads;
    assert.equal(api.statusBar.texts().device, `$(chip) CPU${threads ? ` · ${threads} thread${threads === 1 ? "" : "s"}` : ""}`);
    await setSetting("backend", undefined);
  });

  test("Run Above, Run File and Run Cell and Advance", async () => {
    const api = await primal();
    const ed = await openAt(file, lineOf(CELLS, "let calls"));
    const above = await runCommand("primal.runAbove", 3);
    assert.deepEqual(above.map((r) => [r.cell, r.status]), [[0, "ok"], [1, "ok"], [2, "ok"]]);
    // Run File stops at the failing last cell.
    const all = await runCommand("primal.runFile", 5);
    assert.deepEqual(all.map((r) => r.status), ["ok", "ok", "ok", "ok", "error"]);
    // Advance: the cursor moves to the next cell's first line.
    ed.selection = new vscode.Selection(lineOf(CELLS, "x.sum()") - 1, 0, lineOf(CELLS, "x.sum()") - 1, 0);
    const [adv] = await runCommand("primal.runCellAndAdvance", 1);
    assertOk(adv);
    assert.equal(adv.cell, 1);
    assert.equal(vscode.window.activeTextEditor?.document, ed.document);
    // The cursor reaches the next cell's first line. (Once in CI it was seen back on the line the
    // test opened the file at, after the move: polled, and noted as a possible race with the
    // editor's reveal of that earlier open.)
    const want = lineOf(CELLS, "x.mul(2)") - 1;
    const t0 = Date.now();
    while (vscode.window.activeTextEditor!.selection.active.line !== want && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 50));
    assert.equal(vscode.window.activeTextEditor!.selection.active.line, want);
    assert.ok(api.results.records.length >= 9);
  });

  test("a cell printing 100,000 lines finishes promptly with a summarised output", async () => {
    const api = await primal();
    const f = writeCells("chatty.ts", "// %% chatty\nfor (let i = 0; i < 100000; i++) console.log('line', i);\n'done'\n");
    await openAt(f, 2);
    const t0 = Date.now();
    const [rec] = await runCommand("primal.runCell", 1);
    const ms = Date.now() - t0;
    assertOk(rec);
    assert.ok(ms < 20000, `took ${ms} ms`);
    const html = api.panel.sent.get(rec.runId)!;
    assert.ok(html.length < 300_000, `panel HTML for the run is ${html.length} chars`);
    assert.ok(html.includes("line 0") && html.includes("line 99999"), "the first and the last lines are kept");
    assert.match(html, /more lines|omitted/);
    console.log(`      (100,000 printed lines: ${ms} ms, ${rec.outputs.length} outputs, ${html.length} chars of HTML)`);
  });

  test("Show IR / Gradients / Kernels open the inspector panels; Open IR as Text a read-only primal-ir view", async () => {
    const api = await primal();
    for (const [id, kind] of [["primal.showIr", "ir"], ["primal.showGradients", "gradients"], ["primal.showKernels", "kernels"]] as const) {
      await vscode.commands.executeCommand(id);
      await until(`${id} shows the ${kind} panel`, () => api.inspectors.get(kind)?.visible);
    }
    const doc = await vscode.commands.executeCommand<vscode.TextDocument>("primal.openIrAsText");
    assert.equal(doc.uri.scheme, "primal-inspect");
    assert.equal(doc.languageId, "primal-ir");
    assert.ok(doc.getText().length > 0, "Open IR as Text shows something");
  });
});
