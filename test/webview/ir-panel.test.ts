// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The IR panel (webview/ir/) rendering real records: jitted functions with a cond and a nested
// jit, and a function under grad, traced with inspection recording on, sent to the panel as
// inspect/irRecords answers them (through the bridge, as the extension sends them). Checked:
// the records list, the lines equal the printed jaxpr's lines, folding of nested jaxprs, clicks
// that post revealSource with the equation's line of this file, the cursor highlight (expected
// lines found in the text independently of textLines), focus from the kernels panel, hover
// avals, forward/backward side by side, "Open as text", the graph (one node per equation, the
// edges of the program read by hand, a real ELK layout), a 5,000-equation record with a bounded
// DOM, and a second panel on the saved state coming back as it was left.

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NDArray } from "../../kernel/core/ndarray";
import { grad, jit, lax, np } from "../../kernel/index";
import { makeJaxpr } from "../../kernel/transforms/stage";
import { builtJaxpr, clearInspectRecords, irRecords, setInspectRecording } from "../../kernel/server/inspect-records";
import { HostToPanel, IrRecord, IrRecordsResult, PanelToHost, validateHostMessage, validatePanelMessage } from "../../kernel/protocol";
import { clear } from "../../webview/common/dom";
import { buildGraph, layoutGraph } from "../../webview/ir/graph";
import { FOLD_DEFAULT_LINES, LineModel } from "../../webview/ir/line-model";
import { startIrPanel } from "../../webview/ir/main";
import { JaxprTextView } from "../../webview/ir/text-view";
import { IrView } from "../../webview/ir/view";
import { Harness as FakeHarness, cleanUpPanelsAfterEach, sendToPanel, startInDom } from "./fake-vscode";

/** The line of this file that carries the comment `// @tag`. */
const lineOf = (tag: string) => readFileSync(__filename, "utf8").split("\n").findIndex((l) => l.includes(`// @${tag}`)) + 1;
const f32 = (xs: number[]) => np.array(xs, { dtype: "float32" });

type Harness = FakeHarness<IrView>;
/** Starts a panel in a fresh root with a fake VS Code API (optionally with saved state). */
const start = (saved?: unknown): Promise<Harness> => startInDom(startIrPanel, saved);

const send = sendToPanel;

const click = (el: Element) => el.dispatchEvent(new MouseEvent("click", { bubbles: true }));
const last = <T extends PanelToHost["type"]>(posted: PanelToHost[], type: T) => posted.filter((m) => m.type === type).pop() as Extract<PanelToHost, { type: T }> | undefined;

/** The line rows in the DOM of a text view, by line index. */
function lineRows(v: JaxprTextView): Map<number, HTMLElement> {
  const out = new Map<number, HTMLElement>();
  for (const el of v.el.querySelectorAll<HTMLElement>(".ir-line")) out.set(Number(el.dataset.line), el);
  return out;
}
const codeText = (row: HTMLElement) => row.querySelector(".code-line")!.textContent;

/** The one text view of the tab shown. */
const textView = (h: Harness, i = 0) => h.view.detail()!.textViews()[i];

let harness: Harness | null = null;
cleanUpPanelsAfterEach();

describe("IR panel on real records", () => {
  let data: IrRecordsResult;
  let step: IrRecord;
  let loss: IrRecord;
  let inner: IrRecord;

  beforeAll(() => {
    setInspectRecording(true);
    clearInspectRecords();
    const innerFn = jit(function inner(v: NDArray) {
      return np.sin(v).mul(2); // @inner-sin
    });
    const stepFn = jit(function step(x: NDArray) {
      const c = lax.cond(x.sum().gt(0), (v: NDArray) => innerFn(v), (v: NDArray) => v.sub(1), x); // @cond
      return np.tanh(c).sum(); // @tanh
    });
    stepFn(f32([1, 2, 3])); // @step-call
    const g = grad(function loss(x: NDArray) {
      return np.tanh(x.mul(3)).sum(); // @loss
    });
    g(f32([1, 2, 3])); // @grad-call
    data = irRecords();
    [loss, step] = data.records;
    inner = data.records.find((r) => r.name.startsWith("inner"))!;
  });
  afterAll(() => setInspectRecording(false));

  it("the records are what the panel is about to show (textLines come from the kernel)", () => {
    expect(data.records.map((r) => r.kind)).toEqual(["grad", "jit", "jit"]);
    // (The test runner's transform may rename the functions: `step2`.)
    expect(step.name).toMatch(/^step\d*$/);
    expect(step.text).toContain("cond[");
    expect(step.optimized).toBeDefined();
    expect(loss.backward).toBeDefined();
    // Every top-level equation knows its lines: the panel computes no mapping of its own.
    expect(step.jaxpr.eqns.every((e) => e.textLines)).toBe(true);
  });

  it("lists the records newest first with kind, call site and equation count; the link reveals the call", async () => {
    harness = await start();
    const { view, posted } = harness;
    expect(posted[0]).toEqual({ type: "ready" });
    send({ type: "irRecords", data, kernel: "idle" });
    const rows = view.recordRows();
    expect(rows.map((r) => r.querySelector(".ir-rec-name")!.textContent)).toEqual(data.records.map((r) => r.name));
    expect(rows.map((r) => r.querySelector(".ir-kind")!.textContent)).toEqual(["grad", "jit", "jit"]);
    expect(rows[1].textContent).toContain(`${step.jaxpr.eqnCount} eqns`);
    expect(rows[1].textContent).toContain("(f32[3])");
    // The newest is selected and only its detail exists.
    expect(rows[0].getAttribute("aria-selected")).toBe("true");
    expect(view.detail()!.record.id).toBe(loss.id);
    expect(harness.root.querySelectorAll(".ir-detail")).toHaveLength(1);
    click(rows[1].querySelector(".ir-source")!);
    const reveal = last(posted, "revealSource")!;
    expect(reveal.source.file).toBe(__filename);
    expect(reveal.source.line).toBe(lineOf("step-call"));
    // The link does not select the row it sits in.
    expect(view.detail()!.record.id).toBe(loss.id);
    click(view.recordRows()[1]);
    expect(view.detail()!.record.id).toBe(step.id);
    expect(view.recordRows()[1].getAttribute("aria-selected")).toBe("true");
  });

  it("renders the traced jaxpr line by line exactly as printed, highlighted with the primal-ir grammar", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(step.id);
    const d = harness.view.detail()!;
    expect(d.tabs.map((t) => t.label)).toEqual(["Traced", "Optimized"]);
    expect(d.activeTab()).toBe("traced");
    const v = textView(harness);
    const lines = step.text.split("\n");
    expect(v.visibleLines()).toEqual(lines.map((_, i) => i));
    const rows = lineRows(v);
    expect(rows.size).toBe(lines.length);
    expect([...rows.keys()].sort((a, b) => a - b).map((l) => codeText(rows.get(l)!))).toEqual(lines);
    expect(codeText(rows.get(0)!)).toContain("lambda");
    // Coloured by the grammar: the keyword `lambda` and the primitives get theme colours.
    const spans = [...v.el.querySelectorAll<HTMLElement>(".code-line span")];
    expect(spans.find((s) => s.textContent!.includes("lambda"))?.style.color).toMatch(/^var\(--shiki-/);
    expect(spans.find((s) => s.textContent === "tanh")?.style.color).toMatch(/^var\(--shiki-/);
    // The optimized tab is built when first shown, then shows the compiler's program.
    expect(d.textViews("optimized")).toHaveLength(0);
    click(harness.root.querySelector('vscode-panel-tab[data-tab="optimized"]')!);
    expect(d.activeTab()).toBe("optimized");
    const o = textView(harness);
    expect(o.model.lines).toEqual(step.optimized!.text.split("\n"));
    expect([...lineRows(o).values()].map(codeText)).toEqual(expect.arrayContaining([step.optimized!.text.split("\n")[1]]));
  });

  it("folds and unfolds nested jaxprs (cond, and the jit inside a branch)", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(step.id);
    const v = textView(harness);
    const lines = step.text.split("\n");
    // Found in the text, not through textLines: the cond's first line and its closing `] d a`.
    const condLine = lines.findIndex((l) => / = cond\[$/.test(l));
    const condEnd = lines.findIndex((l, i) => i > condLine && /^ {4}\] /.test(l));
    const jitLine = lines.findIndex((l) => / = jit\[$/.test(l));
    const jitEnd = lines.findIndex((l, i) => i > jitLine && /^ +\] h$/.test(l));
    expect([condLine, jitLine].every((l) => l > 0) && condLine < jitLine && jitEnd < condEnd).toBe(true);
    // Small regions start unfolded.
    expect(v.isFolded(condLine)).toBe(false);
    const twistie = lineRows(v).get(condLine)!.querySelector<HTMLElement>(".ir-fold")!;
    expect(lineRows(v).get(condLine)!.getAttribute("aria-expanded")).toBe("true");
    click(twistie);
    expect(v.isFolded(condLine)).toBe(true);
    const hidden = lines.map((_, i) => i).filter((i) => i > condLine && i <= condEnd);
    expect(v.visibleLines()).toEqual(lines.map((_, i) => i).filter((i) => !hidden.includes(i)));
    const rows = lineRows(v);
    expect(hidden.some((i) => rows.has(i))).toBe(false);
    expect(rows.get(condLine)!.getAttribute("aria-expanded")).toBe("false");
    expect(rows.get(condLine)!.querySelector(".ir-fold-marker")!.textContent).toBe(` ⋯ ${lines[condEnd].trim()}`);
    // Fold the inner jit too, then unfold the cond: the jit stays folded.
    v.setFold(jitLine, true);
    click(lineRows(v).get(condLine)!.querySelector(".ir-fold-marker")!);
    expect(v.isFolded(condLine)).toBe(false);
    expect(v.visibleLines()).toEqual(lines.map((_, i) => i).filter((i) => !(i > jitLine && i <= jitEnd)));
    v.setFold(jitLine, false);
    expect(v.visibleLines()).toHaveLength(lines.length);
  });

  it("starts a nested jaxpr of more than 50 lines folded", () => {
    const long = (x: NDArray) =>
      lax.cond(x.sum().gt(0), (v: NDArray) => {
        let y = v;
        for (let i = 0; i < 40; i++) y = np.sin(y).mul(1.5);
        return y;
      }, (v: NDArray) => v, x);
    const b = builtJaxpr(makeJaxpr(long)(f32([1, 2])));
    const m = new LineModel(b.text, b.jaxpr);
    const folds = [...m.folds.values()];
    expect(folds).toHaveLength(1);
    const lines = b.text.split("\n");
    expect(folds[0].end - folds[0].start).toBeGreaterThan(FOLD_DEFAULT_LINES);
    expect(lines[folds[0].start]).toMatch(/ = cond\[$/);
    const v = new JaxprTextView(b.text, b.jaxpr, { revealSource: () => {}, changed: () => {} });
    expect(v.isFolded(folds[0].start)).toBe(true);
    expect(v.visibleLines().length).toBe(lines.length - (folds[0].end - folds[0].start));
    v.dispose();
  });

  it("a click on an equation's line posts revealSource with that equation's line of this file", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(step.id);
    const { posted } = harness;
    const v = textView(harness);
    const lines = step.text.split("\n");
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    click(lineRows(v).get(at(/= tanh /))!.querySelector(".code-line")!);
    expect(last(posted, "revealSource")!.source).toMatchObject({ file: __filename, line: lineOf("tanh") });
    expect(lineRows(v).get(at(/= tanh /))!.classList.contains("selected")).toBe(true);
    // A nested equation: the sin inside the jit inside the cond's branch.
    click(lineRows(v).get(at(/= sin h$/))!);
    expect(last(posted, "revealSource")!.source).toMatchObject({ file: __filename, line: lineOf("inner-sin") });
    // A line inside the cond that is no equation of its own (`branches=(`) belongs to the cond.
    click(lineRows(v).get(at(/^\s+branches=\($/))!);
    expect(last(posted, "revealSource")!.source.line).toBe(lineOf("cond"));
    // The keyboard: down moves to the next line, Enter reveals it.
    v.el.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    v.el.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(v.selectedLine()).toBe(at(/^\s+branches=\($/) + 1);
    expect(last(posted, "revealSource")!.source.line).toBe(lineOf("cond"));
  });

  it("tells equations apart on a jaxpr printed on one line by the click's column", () => {
    const lines = inner.text.split("\n");
    expect(lines).toHaveLength(1);
    const m = new LineModel(inner.text, inner.jaxpr);
    const sinAt = lines[0].indexOf("= sin");
    const mulAt = lines[0].indexOf("= mul");
    expect(m.eqnAt(0, sinAt)!.eqn.primitive).toBe("sin");
    expect(m.eqnAt(0, mulAt)!.eqn.primitive).toBe("mul");
    expect(m.eqnAt(0, lines[0].length - 1)!.eqn.primitive).toBe("mul");
  });

  it("the cursor message highlights the lines of the equations its line made, and marks the records that have some", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(step.id);
    const v = textView(harness);
    const lines = step.text.split("\n");
    const highlighted = () => lines.map((_, i) => i).filter((i) => v.isHighlighted(i));
    // `np.tanh(c).sum()` makes the tanh and the last reduce_sum (read off the text).
    send({ type: "cursor", source: { file: __filename, line: lineOf("tanh") } });
    const tanhLines = lines.map((l, i) => (/= tanh e$/.test(l) || /^ {4}\S+ = reduce_sum\[.*\] k$/.test(l) ? i : -1)).filter((i) => i >= 0);
    expect(tanhLines).toHaveLength(2);
    expect(highlighted()).toEqual(tanhLines);
    expect(tanhLines.every((i) => lineRows(v).get(i)!.classList.contains("highlighted"))).toBe(true);
    // The sin/mul line of the inner function: the two nested lines in step's text.
    send({ type: "cursor", source: { file: __filename, line: lineOf("inner-sin") } });
    const innerLines = lines.map((l, i) => (/= sin h$/.test(l) || /= mul j 2\.0:f32\[\]$/.test(l) ? i : -1)).filter((i) => i >= 0);
    expect(innerLines).toHaveLength(2);
    expect(highlighted()).toEqual(innerLines);
    // Folded away, they show through the fold's first line.
    const condLine = lines.findIndex((l) => / = cond\[$/.test(l));
    v.setFold(condLine, true);
    expect(lineRows(v).get(condLine)!.classList.contains("highlighted")).toBe(true);
    // The records list marks the records with equations on that line (step, and inner itself).
    const hits = harness.view.recordRows().filter((r) => r.classList.contains("has-hits")).map((r) => r.querySelector(".ir-rec-name")!.textContent);
    expect(hits.sort()).toEqual([inner.name, step.name].sort());
    // null clears.
    send({ type: "cursor", source: null });
    expect(highlighted()).toEqual([]);
    expect(harness.view.recordRows().some((r) => r.classList.contains("has-hits"))).toBe(false);
  });

  it("the focus message opens the record's optimized tab on the given top-level equations", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    expect(harness.view.detail()!.record.id).toBe(loss.id);
    const opt = step.optimized!;
    const k = opt.jaxpr.eqns.findIndex((e) => e.primitive === "tanh");
    send({ type: "focus", irRecordId: step.id, optimized: true, eqns: [k] });
    const d = harness.view.detail()!;
    expect(d.record.id).toBe(step.id);
    expect(d.activeTab()).toBe("optimized");
    const v = textView(harness);
    const lines = opt.text.split("\n");
    expect(lines.map((_, i) => i).filter((i) => v.isHighlighted(i))).toEqual([lines.findIndex((l) => /= tanh /.test(l))]);
  });

  it("a focus message that comes before the records is applied when they arrive", async () => {
    harness = await start();
    send({ type: "focus", irRecordId: step.id, optimized: false, eqns: [0] });
    expect(harness.view.detail()).toBeNull();
    send({ type: "irRecords", data, kernel: "idle" });
    const d = harness.view.detail()!;
    expect([d.record.id, d.activeTab()]).toEqual([step.id, "traced"]);
    const lines = step.text.split("\n");
    expect(lines.map((_, i) => i).filter((i) => textView(harness!).isHighlighted(i))).toEqual([lines.findIndex((l) => /= reduce_sum\[.*\] a$/.test(l))]);
  });

  it("hovering a line gives the shapes and dtypes of its variables and the source line", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(step.id);
    const v = textView(harness);
    const lines = step.text.split("\n");
    const rows = lineRows(v);
    const tanh = rows.get(lines.findIndex((l) => /= tanh e$/.test(l)))!.title;
    expect(tanh).toContain("k: f32[3] = tanh(e: f32[3])");
    expect(tanh).toContain(`ir-panel.test.ts:${lineOf("tanh")}`);
    // The cond's closing line names its inputs: `] d a`.
    const close = rows.get(lines.findIndex((l) => /^ {4}\] d a$/.test(l)))!.title;
    expect(close).toContain("d: i32[]");
    expect(close).toContain("a: f32[3]");
    expect(close).toContain(`cond at ir-panel.test.ts:${lineOf("cond")}`);
    // A binder line of a nested jaxpr.
    const head = rows.get(lines.findIndex((l) => /\{ lambda ; h:f32\[3\]\. let$/.test(l)))!.title;
    expect(head).toContain("h: f32[3]");
  });

  it("shows a grad record's forward and backward side by side, and its linear program", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    const d = harness.view.detail()!;
    expect(d.record.id).toBe(loss.id);
    expect(d.tabs.map((t) => t.label)).toEqual(["Forward | Backward", "Linear"]);
    const [fwd, bwd] = d.textViews();
    expect(fwd.model.lines).toEqual(loss.text.split("\n"));
    expect(bwd.model.lines).toEqual(loss.backward!.text.split("\n"));
    expect(harness.root.querySelector(".ir-panes-2")!.querySelectorAll(".ir-pane")).toHaveLength(2);
    // The forward program is the function as makeJaxpr prints it.
    expect(loss.text).toContain("tanh");
    click(lineRows(fwd).get(loss.text.split("\n").findIndex((l) => /= tanh /.test(l)))!);
    expect(last(harness.posted, "revealSource")!.source.line).toBe(lineOf("loss"));
    d.selectTab("linear");
    expect(textView(harness).model.lines).toEqual(loss.linear!.text.split("\n"));
  });

  it("'Open as text' posts the jaxpr as a primal-ir document", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(step.id);
    click(harness.root.querySelector(".ir-open-text")!);
    const m = last(harness.posted, "openText")!;
    expect([m.language, m.text]).toEqual(["primal-ir", step.text]);
    expect(m.title).toContain("step");
  });

  it("the graph toggle lays the program out with ELK and a node click reveals its source", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(step.id);
    const d = harness.view.detail()!;
    click(harness.root.querySelector(".ir-graph-toggle")!);
    expect(d.graphShown()).toBe(true);
    const g = d.graphViews()[0];
    const layout = (await g.show())!;
    expect(layout).not.toBeNull();
    const nodes = [...g.el.querySelectorAll("[data-node]")];
    expect(nodes).toHaveLength(layout.nodes.length);
    expect(layout.nodes.filter((n) => n.kind === "eqn")).toHaveLength(step.jaxpr.eqns.length);
    const tanh = nodes.find((n) => n.querySelector(".ir-node-label")!.textContent === "tanh")!;
    click(tanh);
    expect(last(harness.posted, "revealSource")!.source.line).toBe(lineOf("tanh"));
    expect(g.el.querySelector(".ir-graph-note")).toBeNull();
    // The other tab's graph is laid out only when that tab is shown.
    expect(d.graphViews("optimized")).toHaveLength(0);
    d.selectTab("optimized");
    expect(d.graphViews("optimized")).toHaveLength(1);
    expect(d.textViews("optimized")).toHaveLength(0);
    d.selectTab("traced");
    // Back to text.
    click(harness.root.querySelector(".ir-graph-toggle")!);
    expect(d.graphShown()).toBe(false);
    expect(d.textViews()[0].el.hidden).toBe(false);
  });

  it("comes back as it was left from the saved state (record, tab, folds)", async () => {
    harness = await start();
    send({ type: "irRecords", data, kernel: "idle" });
    harness.view.select(step.id);
    const lines = step.text.split("\n");
    const condLine = lines.findIndex((l) => / = cond\[$/.test(l));
    textView(harness).setFold(condLine, true);
    harness.view.detail()!.selectTab("optimized");
    const saved = JSON.parse(JSON.stringify(harness.view.state()));
    harness.dispose();
    clear(document.body);
    harness = await start(saved);
    send({ type: "irRecords", data, kernel: "idle" });
    const d = harness.view.detail()!;
    expect(d.record.id).toBe(step.id);
    expect(d.activeTab()).toBe("optimized");
    d.selectTab("traced");
    expect(textView(harness).isFolded(condLine)).toBe(true);
  });

  it("shows the empty state without records or kernel", async () => {
    harness = await start();
    send({ type: "empty", reason: "No kernel is running.", kernel: "stopped" });
    expect(harness.root.querySelector(".empty-state")!.textContent).toContain("No kernel is running.");
    send({ type: "irRecords", data: { records: [], total: 0 }, kernel: "idle" });
    expect(harness.root.querySelector(".empty-state")).not.toBeNull();
    expect(harness.view.detail()).toBeNull();
    send({ type: "irRecords", data, kernel: "idle" });
    expect(harness.root.querySelector(".empty-state")).toBeNull();
    expect(harness.view.recordRows()).toHaveLength(3);
  });
});

describe("IR graph builder and layout", () => {
  it("gives one node per equation and the program's edges (read off the program by hand)", async () => {
    // a -> reduce_sum -> gt -> convert -> cond(d, a) -> tanh -> reduce_sum -> out
    const step = (x: NDArray) => np.tanh(lax.cond(x.sum().gt(0), (v: NDArray) => np.sin(v), (v: NDArray) => v.sub(1), x)).sum();
    const j = builtJaxpr(makeJaxpr(step)(f32([1, 2, 3]))).jaxpr;
    expect(j.eqns.map((e) => e.primitive)).toEqual(["reduce_sum", "gt", "convert_element_type", "cond", "tanh", "reduce_sum"]);
    const g = buildGraph(j);
    expect(g.nodes.filter((n) => n.kind === "eqn").map((n) => n.label)).toEqual(j.eqns.map((e) => e.primitive));
    expect(g.nodes.map((n) => n.kind)).toEqual(["invar", "eqn", "eqn", "eqn", "eqn", "eqn", "eqn", "outvar"]);
    const edges = g.edges.map((e) => `${e.from}>${e.to}`).sort();
    expect(edges).toEqual(["in:a>eqn:0", "eqn:0>eqn:1", "eqn:1>eqn:2", "eqn:2>eqn:3", "in:a>eqn:3", "eqn:3>eqn:4", "eqn:4>eqn:5", "eqn:5>out:0"].sort());
    // The literal 0.0 of `gt` and 1.0 of the branch draw nothing; labels carry the avals.
    expect(g.nodes.find((n) => n.id === "eqn:3")!.sublabel).toBe("f32[3]");
    expect(g.edges.find((e) => e.to === "eqn:1")!.label).toBe("b: f32[]");

    const l = await layoutGraph(g);
    expect(l.nodes).toHaveLength(g.nodes.length);
    for (const n of l.nodes) {
      expect([n.x, n.y, n.width, n.height].every(Number.isFinite)).toBe(true);
      expect(n.x + n.width).toBeLessThanOrEqual(l.width + 1e-6);
      expect(n.y + n.height).toBeLessThanOrEqual(l.height + 1e-6);
    }
    // Layered top to bottom: every edge goes down, and no two nodes overlap.
    const at = new Map(l.nodes.map((n) => [n.id, n]));
    for (const e of l.edges) {
      expect(at.get(e.from)!.y).toBeLessThan(at.get(e.to)!.y);
      expect(e.points.length).toBeGreaterThanOrEqual(2);
    }
    for (const a of l.nodes)
      for (const b of l.nodes)
        if (a !== b) expect(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y).toBe(true);
  });

  it("draws a far-away use of a variable as a ref node, and caps the nodes with a note", async () => {
    const f = (x: NDArray) => {
      let y = x;
      for (let i = 0; i < 30; i++) y = np.sin(y);
      return y.add(x);
    };
    const j = builtJaxpr(makeJaxpr(f)(f32([1, 2]))).jaxpr;
    expect(j.eqns).toHaveLength(31);
    const g = buildGraph(j);
    expect(g.nodes.filter((n) => n.kind === "eqn")).toHaveLength(31);
    const refs = g.nodes.filter((n) => n.kind === "ref");
    expect(refs.map((r) => r.label)).toEqual(["a"]);
    expect(g.edges.filter((e) => e.from === refs[0].id).map((e) => e.to)).toEqual(["eqn:30"]);
    // Every equation's var inputs still arrive by exactly one edge each.
    for (const e of j.eqns) expect(g.edges.filter((x) => x.to === `eqn:${e.index}`)).toHaveLength(new Set(e.inputs.filter((a) => a.kind === "var").map((a) => a.name)).size);
    const laid = await layoutGraph(g);
    expect(laid.nodes.every((n) => Number.isFinite(n.x) && Number.isFinite(n.y))).toBe(true);
    // The cap: the first equations only, said in the graph.
    const capped = buildGraph(j, { maxNodes: 12 });
    expect(capped.nodes.length).toBeLessThanOrEqual(12);
    expect(capped.truncated).toBe(true);
    expect(capped.shownEqns).toBe(capped.nodes.filter((n) => n.kind === "eqn").length);
    expect(capped.totalEqns).toBe(31);
  });
});

describe("IR panel with a 5,000-equation program", () => {
  it("renders a bounded number of lines, scrolls, keeps its offset, highlights, and builds details only when selected", async () => {
    const f = (x: NDArray) => {
      let y = x;
      for (let i = 0; i < 5000; i++) y = i % 2 ? np.sin(y) : y.mul(1.0001); // @big-loop
      return y;
    };
    const cj = makeJaxpr(f)(f32([1, 2, 3]));
    const b = builtJaxpr(cj);
    expect(b.jaxpr.eqns).toHaveLength(5000);
    const big: IrRecord = { id: 900, kind: "jit", name: "big", source: null, inAvals: [{ shape: [3], dtype: "float32", text: "f32[3]" }], text: b.text, jaxpr: b.jaxpr };
    const small: IrRecord = { ...big, id: 901, name: "small", text: "{ lambda ; a:f32[3]. let  in (a,) }", jaxpr: { constvars: [], invars: [], eqns: [], outvars: [], eqnCount: 0 } };
    harness = await start();
    send({ type: "irRecords", data: { records: [small, big], total: 2 }, kernel: "idle" });
    // Only the selected (newest) record's detail exists: none of big's lines are built.
    expect(harness.view.detail()!.record.id).toBe(901);
    expect(harness.root.querySelectorAll(".ir-line")).toHaveLength(1);
    harness.view.select(900);
    const v = textView(harness);
    expect(v.visibleLines()).toHaveLength(b.text.split("\n").length);
    expect(v.visibleLines().length).toBeGreaterThan(5000);
    const bound = 100;
    expect(v.list.renderedCount()).toBeLessThan(bound);
    expect(harness.root.querySelectorAll(".ir-line").length).toBeLessThan(bound);
    // Scrolled to the end: still bounded, and the last line is there, exactly as printed.
    v.list.scrollToIndex(v.visibleLines().length - 1, "start");
    const rows = lineRows(v);
    expect(rows.size).toBeLessThan(bound);
    const lines = b.text.split("\n");
    expect(codeText(rows.get(lines.length - 1)!)).toBe(lines[lines.length - 1]);
    // A click deep down maps to its equation: the loop's line of this file.
    const eqn4999 = b.jaxpr.eqns[4999];
    const row = rows.get(eqn4999.textLines![0])!;
    expect(codeText(row)).toContain(`= ${eqn4999.primitive} `);
    click(row);
    expect(last(harness.posted, "revealSource")!.source).toMatchObject({ file: __filename, line: lineOf("big-loop") });
    // The scroll offset is saved and restored by a new panel on the saved state.
    const top = v.list.getScrollTop();
    expect(top).toBeGreaterThan(50_000);
    const saved = JSON.parse(JSON.stringify(harness.view.state()));
    harness.dispose();
    clear(document.body);
    harness = await start(saved);
    send({ type: "irRecords", data: { records: [small, big], total: 2 }, kernel: "idle" });
    expect(harness.view.detail()!.record.id).toBe(900);
    await new Promise((r) => setTimeout(r, 0));
    const w = textView(harness);
    expect(w.list.getScrollTop()).toBe(top);
    expect(lineRows(w).has(lines.length - 1)).toBe(true);
    // The cursor on the loop's line highlights thousands of lines, scrolls to the first, and still renders a bounded window.
    send({ type: "cursor", source: { file: __filename, line: lineOf("big-loop") } });
    expect(lines.filter((_, i) => w.isHighlighted(i)).length).toBe(5000);
    expect(lineRows(w).get(b.jaxpr.eqns[0].textLines![0])!.classList.contains("highlighted")).toBe(true);
    expect(w.list.renderedCount()).toBeLessThan(bound);
    // The graph of it shows the first equations, and says so.
    const g = buildGraph(b.jaxpr);
    expect(g.nodes.length).toBeLessThanOrEqual(1500);
    expect(g.truncated).toBe(true);
  });
});
