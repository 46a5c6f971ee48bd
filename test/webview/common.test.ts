// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The panels' shared front-end modules (webview/common/): the virtual list keeps a bounded
// window of rows and shows the right ones after scrolling to an index; the highlighter colours
// WGSL keywords, jaxpr primitives, JS and WAT with the syntaxes/ grammars, falls back to plain
// text before it is loaded and for unknown languages, and its incremental form gives the same
// tokens as the whole-text one; the bridge drops malformed host messages with a log message;
// the charts produce one SVG element per run/bin with finite coordinates whatever the input;
// the tree flattening and number formats.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../webview/common/bridge";
import { clear, fmtBytes, fmtMs, fmtNum, h, isBad } from "../../webview/common/dom";
import { LazyHighlight, highlightLines, highlighterReady, loadHighlighter, renderLine } from "../../webview/common/highlight";
import { histogram, sparkline } from "../../webview/common/sparkline";
import { renderStatus } from "../../webview/common/status";
import { registerToolkit } from "../../webview/common/toolkit";
import { flattenTree } from "../../webview/common/tree";
import { VirtualList } from "../../webview/common/virtual-list";
import { HostToPanel, PanelToHost, validatePanelMessage } from "../../kernel/protocol";
import { FakeApi, installFakeApi, removeFakeApi } from "./fake-vscode";

/** Installs a test double for acquireVsCodeApi; returns what the page posts. */
const fakeApi = (): FakeApi => installFakeApi();
/** Delivers a message the way VS Code does (a window message event). */
const deliver = (data: unknown) => window.dispatchEvent(new MessageEvent("message", { data }));

afterEach(() => {
  removeFakeApi();
  clear(document.body);
});

describe("VirtualList", () => {
  const make = (n: number, rowHeight = 20) => {
    const box = h("div");
    document.body.append(box);
    const list = new VirtualList<number>(box, { rowHeight, overscan: 5, render: (v, i) => h("div", { className: "r", text: `row ${v} at ${i}` }) });
    list.setItems(Array.from({ length: n }, (_, i) => i * 10));
    return { box, list };
  };
  const shown = (box: HTMLElement) =>
    [...box.querySelectorAll<HTMLElement>(".r")].map((el) => Number(el.dataset.index)).sort((a, b) => a - b);

  it("renders a bounded window of a 100,000-row list, positioned by index", () => {
    const { box, list } = make(100_000);
    // No layout in happy-dom: the list assumes a 600 px viewport, 30 rows of 20 px, plus 5 below.
    expect(list.renderedCount()).toBe(35);
    expect(shown(box)).toEqual(Array.from({ length: 35 }, (_, i) => i));
    const spacer = box.querySelector<HTMLElement>(".vlist-spacer")!;
    expect(spacer.style.height).toBe(`${100_000 * 20}px`);
    const row7 = box.querySelector<HTMLElement>('[data-index="7"]')!;
    expect([row7.textContent, row7.style.top, row7.style.height]).toEqual(["row 70 at 7", "140px", "20px"]);
  });

  it("shows the right rows after scrollToIndex (start and center) and drops the others", () => {
    const { box, list } = make(100_000);
    list.scrollToIndex(50_000, "start");
    expect(box.scrollTop).toBe(50_000 * 20);
    expect(shown(box)).toEqual(Array.from({ length: 40 }, (_, i) => 49_995 + i));
    expect(box.querySelector('[data-index="50000"]')!.textContent).toBe("row 500000 at 50000");
    expect(box.querySelector('[data-index="3"]')).toBeNull();
    list.scrollToIndex(1000, "center");
    // Row 1000 in the middle of the 600 px viewport: the window is rows 985..1014, plus overscan.
    expect(box.scrollTop).toBe(1000 * 20 - 290);
    expect(shown(box)[0]).toBe(980);
    expect(shown(box)).toContain(1000);
    expect(list.renderedCount()).toBeLessThanOrEqual(41);
    // Past the end: clamped to the last row, which is rendered.
    list.scrollToIndex(10 ** 9, "start");
    expect(shown(box)).toContain(99_999);
    expect(list.renderedCount()).toBeLessThanOrEqual(41);
  });

  it("follows scroll events, re-renders on setItems/refresh and disposes", () => {
    const { box, list } = make(1000);
    box.scrollTop = 400;
    box.dispatchEvent(new Event("scroll"));
    expect(shown(box)[0]).toBe(15);
    list.setItems([1, 2, 3]);
    expect(list.renderedCount()).toBe(3);
    expect(box.querySelector('[data-index="2"]')!.textContent).toBe("row 3 at 2");
    list.setItems([]);
    expect(list.renderedCount()).toBe(0);
    list.dispose();
    expect(box.querySelector(".vlist-spacer")).toBeNull();
  });
});

describe("highlighter", () => {
  it("returns plain lines before it is loaded", () => {
    expect(highlighterReady()).toBe(false);
    expect(highlightLines("fn main() {}\n\nlet x = 1;", "wgsl")).toEqual([[{ text: "fn main() {}" }], [], [{ text: "let x = 1;" }]]);
  });

  describe("loaded", () => {
    beforeAll(async () => expect(await loadHighlighter()).toBe(true));
    const colorOf = (lines: { text: string; color?: string }[][], text: string) => lines.flat().find((t) => t.text === text)?.color;

    it("colours WGSL keywords, types and numbers", () => {
      const lines = highlightLines("@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) id: vec3<u32>) {\n  let x: f32 = 1.5;\n}", "wgsl");
      expect(lines).toHaveLength(4);
      expect(colorOf(lines, "fn")).toBe("var(--shiki-token-keyword)");
      expect(colorOf(lines, "let")).toBe("var(--shiki-token-keyword)");
      expect(colorOf(lines, "1.5")).toBe("var(--shiki-token-constant)");
      // The text is preserved exactly, token by token.
      expect(lines.map((l) => l.map((t) => t.text).join(""))).toEqual([
        "@compute @workgroup_size(64)", "fn main(@builtin(global_invocation_id) id: vec3<u32>) {", "  let x: f32 = 1.5;", "}",
      ]);
    });

    it("colours jaxpr primitives, binders, dtypes and keywords", () => {
      const text = "{ lambda ; a:f32[3]. let\n    b:f32[3] = sin a\n    c:f32[] = reduce_sum[axes=(0,)] b\n  in (c,) }";
      const lines = highlightLines(text, "primal-ir");
      expect(colorOf(lines, "sin")).toBe("var(--shiki-token-function)");
      expect(colorOf(lines, "reduce_sum")).toBe("var(--shiki-token-function)");
      expect(colorOf(lines, "lambda")).toBe("var(--shiki-token-keyword)");
      expect(colorOf(lines, "f32")).toBe("var(--shiki-token-type)");
      expect(colorOf(lines, "b")).toBe("var(--shiki-token-variable)");
      expect(lines.map((l) => l.map((t) => t.text).join("")).join("\n")).toBe(text);
    });

    it("colours JavaScript and WAT kernels", () => {
      const js = highlightLines('"use strict";\nfor (let i = 0; i < n; i++) out[i] = Math.tanh(a[i]); // fused', "javascript");
      expect(colorOf(js, "for")).toBe("var(--shiki-token-keyword)");
      expect(colorOf(js, "// fused")).toBe("var(--shiki-token-comment)");
      const wat = highlightLines("(func $kernel (param $0 i32)\n  local.get $0\n  f32.add)", "wat");
      expect(colorOf(wat, "func")).toBe("var(--shiki-token-keyword)");
      expect(colorOf(wat, "f32.add")).toBe("var(--shiki-token-function)");
    });

    it("falls back to plain text for an unknown language instead of throwing", () => {
      expect(highlightLines("a b\nc", "cobol" as never)).toEqual([[{ text: "a b" }], [{ text: "c" }]]);
    });

    it("renders a line as spans coloured through the CSSOM (no style attribute markup)", () => {
      const el = renderLine([{ text: "let", color: "var(--shiki-token-keyword)" }, { text: " x" }]);
      expect(el.className).toBe("code-line");
      expect(el.textContent).toBe("let x");
      const span = el.querySelector("span")!;
      expect(span.style.color).toBe("var(--shiki-token-keyword)");
    });

    it("highlights incrementally with the same tokens as the whole text, across chunk boundaries", async () => {
      // A block comment spanning the 200-line chunk boundary: the grammar state must carry over.
      const src = Array.from({ length: 450 }, (_, i) => (i === 195 ? "/* start" : i === 205 ? "end */" : `  const v${i} = a[${i}] * 2; // c`)).join("\n");
      const whole = highlightLines(src, "javascript");
      const lazy = new LazyHighlight(src, "javascript");
      expect(lazy.line(300)).toEqual([{ text: "  const v300 = a[300] * 2; // c" }]);
      lazy.ensure(250);
      // Synchronous chunks of 50 lines: just past the line asked for.
      expect(lazy.tokenized).toBe(300);
      expect(lazy.line(201)).toEqual(whole[201]);
      expect(lazy.line(201)[0].color).toBe("var(--shiki-token-comment)");
      const done = await new Promise<number>((resolve) => lazy.background((n) => n === 450 && resolve(n)));
      expect(done).toBe(450);
      for (let i = 0; i < 450; i++) expect(lazy.line(i)).toEqual(whole[i]);
    });
  });
});

describe("bridge", () => {
  it("posts ready, validates host messages, logs and ignores malformed ones", () => {
    const { posted } = fakeApi();
    const got: HostToPanel[] = [];
    const bridge = connect("kernels", (m) => got.push(m));
    expect(posted).toEqual([{ type: "ready" }]);
    deliver({ type: "empty", reason: "no kernel", kernel: "stopped" });
    deliver({ type: "kernelRecords", data: { records: "nope", total: 1 }, devices: [], kernel: "idle" });
    deliver({ type: "bogus" });
    deliver(null);
    deliver({ type: "empty", reason: "x", kernel: "sleeping" });
    expect(got).toEqual([{ type: "empty", reason: "no kernel", kernel: "stopped" }]);
    const logs = posted.filter((m) => m.type === "log");
    expect(logs).toHaveLength(4);
    for (const l of logs) expect(l).toMatchObject({ type: "log", level: "warn", message: expect.stringMatching(/^kernels panel ignored a message: host message/) });
    bridge.dispose();
    deliver({ type: "empty", reason: "after", kernel: "idle" });
    expect(got).toHaveLength(1);
  });

  it("reports an exception thrown while handling a message and keeps listening", () => {
    const { posted } = fakeApi();
    let n = 0;
    const bridge = connect("ir", () => {
      n++;
      throw new Error("render bug");
    });
    deliver({ type: "cursor", source: null });
    deliver({ type: "cursor", source: null });
    expect(n).toBe(2);
    expect(posted.filter((m) => m.type === "log").map((m) => (m as { message: string }).message.split("\n")[0])).toEqual([
      "ir panel failed on cursor: render bug", "ir panel failed on cursor: render bug",
    ]);
    bridge.dispose();
  });

  it("keeps state through the API and works without one", () => {
    const { state } = fakeApi();
    const b = connect("gradients", () => undefined);
    b.setState({ open: [1, 2] });
    expect(state.v).toEqual({ open: [1, 2] });
    expect(b.getState<{ open: number[] }>()).toEqual({ open: [1, 2] });
    b.dispose();
    removeFakeApi();
    const bare = connect("gradients", () => undefined);
    expect(bare.getState()).toBeUndefined();
    bare.setState({ a: 1 });
    expect(bare.getState()).toEqual({ a: 1 });
    bare.post({ type: "refresh" });
    bare.dispose();
  });
});

describe("charts", () => {
  /** Every numeric coordinate attribute of the chart's elements. */
  function coords(svg: SVGSVGElement): number[] {
    const out: number[] = [];
    for (const el of svg.querySelectorAll("*"))
      for (const a of ["x", "y", "width", "height", "cx", "cy"]) if (el.hasAttribute(a)) out.push(Number(el.getAttribute(a)));
    for (const p of svg.querySelectorAll("polyline")) for (const n of p.getAttribute("points")!.split(/[ ,]/)) out.push(Number(n));
    return out;
  }
  const tags = (svg: SVGSVGElement) => [...svg.children].map((c) => `${c.tagName.toLowerCase()}.${c.getAttribute("class")}`);

  it("sparkline: a polyline per finite run, a dot for a lone value, a marker on the last value", () => {
    const svg = sparkline([3, 2, NaN, 5, null, 1, 0.5, Infinity], { width: 100, height: 20 });
    expect(svg.namespaceURI).toBe("http://www.w3.org/2000/svg");
    expect(tags(svg)).toEqual(["polyline.spark-line", "circle.spark-point", "polyline.spark-line", "circle.spark-last"]);
    const c = coords(svg);
    expect(c.length).toBeGreaterThan(0);
    for (const v of c) expect(Number.isFinite(v)).toBe(true);
    // y: the max (5) at the top padding, the min (0.5) at the bottom one; x spans the width.
    const lone = svg.querySelector("circle.spark-point")!;
    expect(Number(lone.getAttribute("cy"))).toBe(2);
    const pts = svg.querySelectorAll("polyline")[1].getAttribute("points")!.split(" ");
    expect(pts[1]).toBe(`${Number((2 + (6 * 96) / 7).toFixed(2))},18`);
    expect(svg.hasAttribute("style")).toBe(false);
  });

  it("sparkline: empty, all-NaN, single and constant inputs stay finite", () => {
    expect(tags(sparkline([]))).toEqual([]);
    expect(tags(sparkline([NaN, null, -Infinity]))).toEqual([]);
    const one = sparkline([4]);
    expect(tags(one)).toEqual(["circle.spark-point", "circle.spark-last"]);
    const flat = sparkline([1, 1, 1], { height: 30 });
    expect(flat.querySelector("polyline")!.getAttribute("points")!.split(" ").map((p) => p.split(",")[1])).toEqual(["15", "15", "15"]);
    for (const s of [one, flat]) for (const v of coords(s)) expect(Number.isFinite(v)).toBe(true);
  });

  it("histogram: one bar per bin, placed by the edges, heights relative to the largest count", () => {
    const svg = histogram([0, 1, 2, 4], [2, 0, 4], { width: 80, height: 33 });
    const bars = [...svg.querySelectorAll("rect")];
    expect(bars).toHaveLength(3);
    expect(bars.map((b) => Number(b.getAttribute("x")))).toEqual([0, 20, 40]);
    expect(bars.map((b) => Number(b.getAttribute("height")))).toEqual([16, 0, 32]);
    // 40 px wide less the half-pixel gap between neighbouring bars.
    expect(Number(bars[2].getAttribute("width"))).toBe(39.5);
    expect(bars[2].querySelector("title")!.textContent).toBe("[2, 4]: 4");
    for (const v of coords(svg)) expect(Number.isFinite(v)).toBe(true);
  });

  it("histogram: mismatched, empty and non-finite inputs give empty or evenly spaced finite bars", () => {
    expect(histogram([], []).querySelectorAll("rect")).toHaveLength(0);
    expect(histogram([0, 1], [1, 2]).querySelectorAll("rect")).toHaveLength(0);
    const odd = histogram([NaN, 1, Infinity], [NaN, 3], { width: 10 });
    expect(odd.querySelectorAll("rect")).toHaveLength(2);
    expect([...odd.querySelectorAll("rect")].map((r) => Number(r.getAttribute("x")))).toEqual([0, 5]);
    for (const v of coords(odd)) expect(Number.isFinite(v)).toBe(true);
    const zeros = histogram([0, 1, 2], [0, 0]);
    for (const v of coords(zeros)) expect(Number.isFinite(v)).toBe(true);
  });
});

describe("tree, formats, status, toolkit", () => {
  interface N {
    id: string;
    kids?: N[];
  }
  const tree: N[] = [{ id: "a", kids: [{ id: "a1" }, { id: "a2", kids: [{ id: "a2x" }] }] }, { id: "b", kids: [] }, { id: "c", kids: [{ id: "c1" }] }];

  it("flattens only expanded nodes, in pre-order, with depths", () => {
    const open = new Set(["a", "a2"]);
    const rows = flattenTree(tree, (n) => n.kids ?? null, (n) => open.has(n.id));
    expect(rows.map((r) => `${r.node.id}:${r.depth}:${r.expandable ? "+" : "-"}`)).toEqual(["a:0:+", "a1:1:-", "a2:1:+", "a2x:2:-", "b:0:-", "c:0:+"]);
    // 100,000 levels deep: no recursion.
    let deep: N = { id: "leaf" };
    for (let i = 0; i < 100_000; i++) deep = { id: `n${i}`, kids: [deep] };
    expect(flattenTree([deep], (n) => n.kids ?? null, () => true)).toHaveLength(100_001);
  });

  it("formats numbers, bytes and times", () => {
    expect([fmtNum(0), fmtNum(12), fmtNum(0.123456), fmtNum(1.5e-7), fmtNum(2.5e9), fmtNum("NaN"), fmtNum("-Infinity")]).toEqual(["0", "12", "0.1235", "1.5e-7", "2.5e+9", "NaN", "-Inf"]);
    expect([isBad("NaN"), isBad("Infinity"), isBad(1), isBad(NaN)]).toEqual([true, true, false, true]);
    expect([fmtBytes(512), fmtBytes(1536), fmtBytes(12 * 1024 * 1024)]).toEqual(["512 B", "1.50 KiB", "12.0 MiB"]);
    expect([fmtMs(0), fmtMs(0.0123), fmtMs(3.456), fmtMs(45.6), fmtMs(1250)]).toEqual(["0 ms", "0.012 ms", "3.46 ms", "45.6 ms", "1.25 s"]);
  });

  it("renders the empty states with the extension's reason", () => {
    const root = h("div");
    renderStatus(root, "stopped");
    expect(root.textContent).toMatch(/No kernel is running/);
    renderStatus(root, "idle", "The kernel did not answer: timeout");
    expect(root.querySelector(".empty-title")!.textContent).toBe("The kernel did not answer: timeout");
    expect(root.querySelectorAll(".empty-state")).toHaveLength(1);
  });

  it("registers the toolkit once", () => {
    const first = registerToolkit();
    expect(registerToolkit()).toBe(first);
    if (first) expect(customElements.get("vscode-button")).toBeDefined();
  });
});
