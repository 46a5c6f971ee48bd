// The inspector panels from the extension's side (src/panels/): after the cells of
// fixtures/ws/panels.ts run (a small MLP: valueAndGrad inside a jitted SGD step, then one eager
// valueAndGrad), Show IR / Show Gradients / Show Kernels open webview panels and post them the
// kernel's records; the pages get a strict CSP; messages from a page are validated (a malformed
// one is logged and ignored) and acted on (reveal a source line, show equations in the IR panel,
// check gradients, open text); the panels follow the kernel (run, restart, stop) and the editor's
// cursor; and a panel comes back through its registered WebviewPanelSerializer.
//
// The pages' own rendering is tested in test/webview/; here the checks read what the extension
// posted (InspectorPanel.posted) and feed messages in as a page would (InspectorPanel.receive).
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import type { GradientRecord, HostToPanel, IrRecord, KernelProgramRecord, PanelKind } from "../../../kernel/protocol";
import type { InspectorPanel } from "../../../src/panels/inspector-panel";
import { EXTENSION_ID, assertOk, lineOf, openAt, primal, runCommand, until, wsRoot } from "./primal-helpers";

type Msg<T extends HostToPanel["type"]> = Extract<HostToPanel, { type: T }>;

/** The last message of a type posted to a panel after `from` messages (0: any). */
function lastAfter<T extends HostToPanel["type"]>(p: InspectorPanel, type: T, from = 0): Msg<T> | undefined {
  const m = p.posted.slice(from).filter((x) => x.type === type).at(-1);
  return m as Msg<T> | undefined;
}

/** Opens a panel through its command and waits for its first data message. */
async function showPanel(kind: PanelKind): Promise<InspectorPanel> {
  const id = { ir: "primal.showIr", gradients: "primal.showGradients", kernels: "primal.showKernels" }[kind];
  const p = await vscode.commands.executeCommand<InspectorPanel>(id);
  assert.ok(p, `${id} returned no panel`);
  assert.equal(p.kind, kind);
  return p;
}

const PARAM_SHAPES: Record<string, number[]> = { w1: [12, 8], b1: [8], w2: [8, 3], b2: [3] };

suite("inspector panels", () => {
  let file: string;
  let text: string;

  suiteSetup(async function () {
    this.timeout(120_000);
    const api = await primal();
    file = join(wsRoot(), "panels.ts");
    text = readFileSync(file, "utf8");
    // A fresh kernel: its records are this file's only, and earlier suites' cells are gone.
    assert.equal(await vscode.commands.executeCommand("primal.restartKernel"), true);
    const ed = await openAt(file, 1);
    const recs = await runCommand("primal.runFile", 4, ed.document.uri);
    recs.forEach(assertOk);
    assert.equal(api.kernel.state, "idle");
  });

  test("Show IR: a webview panel beside the editor with the traced programs", async () => {
    const api = await primal();
    const ir = await showPanel("ir");
    await until("the Primal IR tab", () => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.label === "Primal IR" && t.input instanceof vscode.TabInputWebview)));
    assert.equal(ir.panel.viewType, "primal.irPanel");
    assert.equal(ir.panel.title, "Primal IR");
    const msg = await until("irRecords with the jitted step", () => {
      const m = ir.last("irRecords");
      return m?.data.records.some((r) => r.kind === "jit") && m;
    });
    assert.equal(msg.kernel, "idle");
    const jitRec = msg.data.records.find((r: IrRecord) => r.kind === "jit")!;
    assert.match(jitRec.text, /lambda/, "the jaxpr as makeJaxpr prints it");
    assert.ok(jitRec.jaxpr.eqns.length > 0 && jitRec.jaxpr.eqnCount >= jitRec.jaxpr.eqns.length);
    assert.ok(jitRec.optimized && /lambda/.test(jitRec.optimized.text), "a compiled function carries its optimised jaxpr");
    assert.equal(jitRec.source?.file, file, "the record points at the cell file");
    assert.equal(jitRec.source?.line, lineOf(text, "const [next, l] = step("), "…at the line that called the jitted step");
    const grads = msg.data.records.filter((r: IrRecord) => r.kind === "grad");
    assert.ok(grads.length >= 1, "the eager valueAndGrad call's linear program is recorded");
    // Calling Show IR again reveals the same panel rather than opening another.
    assert.equal(await showPanel("ir"), ir);
    assert.equal(api.inspectors.get("ir"), ir);
  });

  test("Show Gradients: one leaf per parameter, with shapes and finite statistics", async () => {
    const g = await showPanel("gradients");
    assert.equal(g.panel.viewType, "primal.gradientsPanel");
    const msg = await until("gradientRecords", () => {
      const m = g.last("gradientRecords");
      return m && m.data.records.length > 0 && m;
    });
    const rec = msg.data.records.find((r: GradientRecord) => r.name === "loss")!;
    assert.ok(rec, JSON.stringify(msg.data.records.map((r) => r.name)));
    assert.equal(rec.kind, "valueAndGrad");
    // Five calls inside the jitted step and one eager call.
    assert.equal(rec.calls, 6);
    const leaves = rec.last.leaves;
    assert.deepEqual(leaves.map((l) => l.path.split(".").at(-1)).sort(), Object.keys(PARAM_SHAPES).sort(), JSON.stringify(leaves.map((l) => l.path)));
    for (const l of leaves) {
      assert.deepEqual(l.shape, PARAM_SHAPES[l.path.split(".").at(-1)!], l.path);
      assert.equal(l.dtype, "float32");
      // The last call is the eager one: its values were read.
      assert.ok(l.stats, `${l.path}: ${l.missing}`);
      const l2 = Number(l.stats.l2);
      assert.ok(Number.isFinite(l2) && l2 >= 0, `${l.path} l2 ${l.stats.l2}`);
      assert.ok(Number(l.stats.min) <= Number(l.stats.mean) && Number(l.stats.mean) <= Number(l.stats.max));
      assert.equal(l.stats.nanCount + l.stats.infCount, 0);
    }
    assert.ok(Number.isFinite(Number(rec.last.value)), "the loss value of the eager call");
  });

  test("Show Kernels: a compiled program whose kernels have source, and the devices", async () => {
    const api = await primal();
    const k = await showPanel("kernels");
    assert.equal(k.panel.viewType, "primal.kernelsPanel");
    const msg = await until("kernelRecords", () => {
      const m = k.last("kernelRecords");
      return m && m.data.records.length > 0 && m;
    });
    const prog = msg.data.records[0] as KernelProgramRecord;
    assert.ok(prog.steps.length > 0);
    const withSource = prog.steps.filter((s) => s.kind === "kernel" && typeof s.source === "string" && s.source.length > 0);
    assert.ok(withSource.length > 0, "at least one kernel with generated source");
    assert.ok(withSource.every((s) => s.language !== null));
    assert.ok(msg.devices.length > 0, "the devices from kernel/initialize");
    assert.deepEqual(msg.devices, api.kernel.info?.devices);
  });

  test("each page has a strict CSP with a fresh nonce and loads only from dist/webview", async () => {
    const api = await primal();
    const nonces = new Set<string>();
    for (const kind of ["ir", "gradients", "kernels"] as const) {
      const p = api.inspectors.get(kind)!;
      const html = p.pageHtml;
      const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
      assert.ok(csp, `${kind}: no CSP meta`);
      assert.match(csp, /default-src 'none'/);
      assert.ok(!csp.includes("unsafe-eval") && !csp.includes("unsafe-inline"), csp);
      const nonce = /script-src 'nonce-([A-Za-z0-9]+)'(;|$)/.exec(csp)?.[1];
      assert.ok(nonce && nonce.length >= 16, csp);
      nonces.add(nonce);
      const directives = new Map(csp.split(";").map((d) => d.trim()).filter(Boolean).map((d) => [d.split(/\s+/)[0], d.split(/\s+/).slice(1)]));
      assert.deepEqual(directives.get("script-src"), [`'nonce-${nonce}'`], "scripts: the nonce only");
      assert.ok(directives.get("style-src")!.includes(`'nonce-${nonce}'`), csp);
      assert.ok(p.pageHtml.includes(p.panel.webview.cspSource), "resources from the webview's own source");
      const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
      assert.equal(scripts.length, 1);
      assert.ok(scripts[0].includes(`nonce="${nonce}"`));
      const src = /src="([^"]+)"/.exec(scripts[0])![1];
      assert.ok(src.endsWith(`/dist/webview/${kind}-panel.js`), src);
      assert.equal(src, p.panel.webview.asWebviewUri(vscode.Uri.joinPath(vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri, "dist", "webview", `${kind}-panel.js`)).toString());
      assert.ok(html.includes(`<body data-panel="${kind}"><div id="root"></div>`));
      assert.ok(!/ style="/.test(html), "no inline style attributes");
      const opts = p.panel.webview.options;
      assert.equal(opts.enableScripts, true);
      const roots = (opts.localResourceRoots ?? []).map((u) => u.path);
      assert.deepEqual(roots, [vscode.Uri.joinPath(vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri, "dist", "webview").path]);
    }
    assert.equal(nonces.size, 3, "a fresh nonce per page");
  });

  test("a malformed message from a page is logged and ignored", async () => {
    const api = await primal();
    const ir = api.inspectors.get("ir")!;
    const before = ir.rejected.length;
    const sel = vscode.window.activeTextEditor?.selection.active.line;
    ir.receive(null);
    ir.receive({ type: "revealSource", source: { file: file, line: 0, column: 1 } });
    ir.receive({ type: "revealSource", source: "nope" });
    ir.receive({ type: "runArbitraryCode", code: "process.exit()" });
    ir.receive({ type: "checkGrads", recordId: "1" });
    assert.equal(ir.rejected.length, before + 5, ir.rejected.join("\n"));
    assert.match(ir.rejected.at(-2)!, /unknown type/);
    await until("the rejections in the Primal log", () => (api.logText().match(/\[panel ir\] ignored a malformed message/g) ?? []).length >= before + 5);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(vscode.window.activeTextEditor?.selection.active.line, sel, "nothing was revealed");
    assert.equal(api.inspectors.get("gradients")!.last("checkGradsResult"), undefined);
  });

  test("revealSource selects and centres the equation's line; the cursor then highlights it in the IR panel", async () => {
    const api = await primal();
    const ir = api.inspectors.get("ir")!;
    ir.reveal();
    await until("the IR panel is visible", () => ir.visible);
    const rec = ir.last("irRecords")!.data.records.find((r) => r.kind === "jit")!;
    // An equation the user's code made (the loss's subtraction, inside the step).
    const eqn = rec.jaxpr.eqns.find((e) => e.source?.file === file && e.source.line !== rec.source?.line) ?? rec.jaxpr.eqns.find((e) => e.source?.file === file);
    assert.ok(eqn?.source, "an equation with a source line in the cell file");
    const target = eqn.source;
    assert.ok(text.split("\n")[target.line - 1].trim().length > 0, "the source line is code");
    await openAt(file, 1);
    ir.receive({ type: "revealSource", source: target });
    const ed = await until("the editor's selection on the equation's line", () => {
      const e = vscode.window.visibleTextEditors.find((x) => x.document.uri.fsPath === file);
      return e && e.selection.active.line === target.line - 1 && e;
    });
    assert.equal(ed.selection.active.character, Math.min(target.column - 1, ed.document.lineAt(target.line - 1).text.length));
    assert.deepEqual(api.inspectors.flashed.at(-1), { file, line: target.line });
    assert.ok(ed.visibleRanges.some((r) => r.contains(new vscode.Position(target.line - 1, 0))), "the line is in view");
    // The selection moved in a cell file: the IR panel is told (debounced).
    await until("a cursor message for that line", () => ir.last("cursor")?.source?.line === target.line);
    assert.equal(ir.last("cursor")!.source!.file, file);
  });

  test("moving the cursor in the cell file posts one debounced cursor message to the IR panel", async () => {
    const api = await primal();
    const ir = api.inspectors.get("ir")!;
    ir.reveal();
    await until("the IR panel is visible", () => ir.visible);
    const ed = await openAt(file, lineOf(text, "const predict"));
    const from = ir.posted.length;
    for (const needle of ["const loss", "const step", "tree.map"]) {
      const p = new vscode.Position(lineOf(text, needle) - 1, 2);
      ed.selection = new vscode.Selection(p, p);
    }
    const want = lineOf(text, "tree.map");
    await until("the cursor message", () => lastAfter(ir, "cursor", from)?.source?.line === want);
    await new Promise((r) => setTimeout(r, 250));
    const cursors = ir.posted.slice(from).filter((m) => m.type === "cursor");
    assert.equal(cursors.length, 1, `three quick moves make one message: ${JSON.stringify(cursors)}`);
    assert.equal(api.inspectors.get("ir"), ir);
  });

  test("showInIr from the kernels panel reveals the IR panel and focuses the equations", async () => {
    const api = await primal();
    const k = api.inspectors.get("kernels")!;
    const ir = api.inspectors.get("ir")!;
    const prog = k.last("kernelRecords")!.data.records[0];
    assert.ok(prog.irRecordId !== undefined, "the program knows its IR record");
    const step = prog.steps.find((s) => s.eqns.length > 0)!;
    k.receive({ type: "showInIr", irRecordId: prog.irRecordId, optimized: true, eqns: step.eqns });
    const focus = await until("a focus message", () => ir.last("focus"));
    assert.deepEqual(focus, { type: "focus", irRecordId: prog.irRecordId, optimized: true, eqns: step.eqns });
    await until("the IR panel is visible", () => ir.visible);
  });

  test("checkGrads answers with the kernel's check: the MLP's gradients agree with finite differences, leaf by leaf", async () => {
    const api = await primal();
    const g = api.inspectors.get("gradients")!;
    const rec = g.last("gradientRecords")!.data.records.find((r) => r.name === "loss")!;
    g.receive({ type: "checkGrads", recordId: rec.id });
    const res = await until("checkGradsResult", () => g.last("checkGradsResult"), 60_000);
    assert.equal(res.result.recordId, rec.id);
    assert.equal(res.result.ok, true, res.result.message);
    assert.deepEqual((res.result.leaves ?? []).map((l) => l.path), rec.last.leaves.map((l) => l.path), "one check per parameter leaf");
    // An unknown record gets an answer that says why, not silence.
    g.receive({ type: "checkGrads", recordId: 987654 });
    const bad = await until("the unknown record's answer", () => (g.last("checkGradsResult")?.result.recordId === 987654 ? g.last("checkGradsResult") : undefined), 30_000);
    assert.equal(bad.result.ok, false);
    assert.match(bad.result.message ?? "", /no gradient record/);
  });

  test("openText and Open IR as Text give read-only documents in the requested language", async () => {
    const api = await primal();
    const ir = api.inspectors.get("ir")!;
    const rec = ir.last("irRecords")!.data.records.find((r) => r.kind === "jit")!;
    ir.receive({ type: "openText", title: `${rec.name} jaxpr`, language: "primal-ir", text: rec.text });
    const doc = await until("the jaxpr document", () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === "primal-inspect" && d.getText() === rec.text && d.languageId === "primal-ir"),
    );
    assert.match(doc.getText(), /lambda/);
    const k = api.inspectors.get("kernels")!;
    const s = k.last("kernelRecords")!.data.records[0].steps.find((x) => x.source)!;
    k.receive({ type: "openText", title: s.name, language: s.language!, text: s.source! });
    await until("the kernel source document", () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === "primal-inspect" && d.getText() === s.source && (s.language === "wat" || d.languageId === s.language)),
    );
    const asText = await vscode.commands.executeCommand<vscode.TextDocument>("primal.openIrAsText");
    assert.equal(asText.uri.scheme, "primal-inspect");
    assert.equal(asText.languageId, "primal-ir");
    assert.match(asText.getText(), /lambda/);
    ir.receive({ type: "log", level: "warn", message: "page-side note 12345" });
    await until("the page's log line", () => api.logText().includes("[panel ir] warn: page-side note 12345"));
  });

  test("a hidden panel is refreshed when it is shown again, not while hidden", async () => {
    const api = await primal();
    const ir = api.inspectors.get("ir")!;
    const k = api.inspectors.get("kernels")!;
    // Both sit in the editor group beside the code: showing one hides the other.
    assert.equal(ir.panel.viewColumn, k.panel.viewColumn, "the panels share a group");
    k.reveal();
    await until("the IR panel is hidden", () => !ir.visible && k.visible);
    const fetches = ir.fetchCount;
    const kFetches = k.fetchCount;
    const callsBefore = api.inspectors.get("gradients")!.last("gradientRecords")!.data.records.find((r) => r.name === "loss")!.calls;
    const ed = await openAt(file, lineOf(text, "const [l0, g0]"));
    assertOk((await runCommand("primal.runCell", 1, ed.document.uri, 3))[0]);
    // The run's end refreshed the visible kernels panel (unless the results panel hid it too).
    k.reveal();
    await until("the kernels panel refetched", () => k.fetchCount > kFetches);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ir.fetchCount, fetches, "no fetch for a hidden panel");
    const from = ir.posted.length;
    ir.reveal();
    await until("the IR panel refetched when shown", () => ir.fetchCount > fetches && lastAfter(ir, "irRecords", from));
    // The run called the function again: the gradients panel shows more calls than before.
    const g = await showPanel("gradients");
    await until("more recorded calls", () => (g.last("gradientRecords")?.data.records.find((r) => r.name === "loss")?.calls ?? 0) > callsBefore);
  });

  test("a panel restored through its registered serializer is a working panel", async () => {
    const api = await primal();
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { activationEvents: string[] };
    for (const vt of ["primal.irPanel", "primal.gradientsPanel", "primal.kernelsPanel"]) {
      assert.ok(api.inspectors.serializers.has(vt), `no serializer for ${vt}`);
      assert.ok(pkg.activationEvents.includes(`onWebviewPanel:${vt}`), `no activation event for ${vt}`);
    }
    // What VS Code does after a reload: a panel of the view type (with no page) handed to the serializer.
    api.inspectors.get("gradients")!.panel.dispose();
    await until("the gradients panel closed", () => !api.inspectors.get("gradients"));
    const restored = vscode.window.createWebviewPanel("primal.gradientsPanel", "Primal Gradients", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {});
    await api.inspectors.serializers.get("primal.gradientsPanel")!.deserializeWebviewPanel(restored, { scrollTop: 120 });
    const host = api.inspectors.get("gradients")!;
    assert.equal(host.panel, restored);
    assert.equal(restored.webview.options.enableScripts, true);
    assert.match(host.pageHtml, /<body data-panel="gradients">/);
    assert.equal(restored.webview.html, host.pageHtml);
    const msg = await until("data for the restored panel", () => host.last("gradientRecords"));
    assert.ok(msg.data.records.some((r) => r.name === "loss"));
    // It answers messages too.
    host.receive({ type: "checkGrads", recordId: msg.data.records[0].id });
    await until("checkGradsResult from the restored panel", () => host.last("checkGradsResult"), 60_000);
    // Show Gradients now reveals that panel.
    assert.equal(await showPanel("gradients"), host);
  });

  test("a kernel restart posts fresh data; a stopped kernel posts an empty state", async () => {
    const api = await primal();
    const ir = api.inspectors.get("ir")!;
    ir.reveal();
    await until("the IR panel is visible", () => ir.visible);
    assert.ok(ir.last("irRecords")!.data.total > 0);
    const from = ir.posted.length;
    assert.equal(await vscode.commands.executeCommand("primal.restartKernel"), true);
    const fresh = await until("records of the new kernel", () => {
      const m = lastAfter(ir, "irRecords", from);
      return m && m.kernel === "idle" && m;
    });
    assert.equal(fresh.data.total, 0, "the new kernel has traced nothing");
    assert.equal(fresh.data.records.length, 0);
    const stoppedAt = ir.posted.length;
    await api.kernel.stop();
    const empty = await until("an empty state", () => lastAfter(ir, "empty", stoppedAt));
    assert.equal(empty.kernel, "stopped");
    assert.match(empty.reason, /No kernel is running/);
    // A panel opened with no kernel gets the empty state too, and starts none.
    api.inspectors.get("kernels")!.panel.dispose();
    const k = await showPanel("kernels");
    const e2 = await until("the kernels panel's empty state", () => k.last("empty"));
    assert.equal(e2.kernel, "stopped");
    assert.equal(api.kernel.state, "stopped", "opening a panel does not start a kernel");
  });
});
