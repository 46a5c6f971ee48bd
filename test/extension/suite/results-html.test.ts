// The results panel's HTML for outputs the kernel sends: a summarised array shows "…" exactly
// where the preview's indices jump, cell output is escaped (it is untrusted text inside a
// webview), histograms draw one bar per bin with heights proportional to the counts, and
// the page's CSP allows nothing but its own nonce'd style and script.
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import type { ArrayOutput } from "../../../kernel/protocol";
import { renderArray, renderOutput, renderPlot, ticks } from "../../../src/results-html";
import { primal, until } from "./primal-helpers";

suite("results panel HTML", () => {
  test("a summarised 2-D array: edge rows and columns with ⋮ and … where indices jump", () => {
    // A 100×200 arange: value = 200·row + col, so every rendered cell can be checked.
    const rowIndex = [0, 1, 2, 97, 98, 99];
    const colIndex = [0, 1, 2, 197, 198, 199];
    const a: ArrayOutput = {
      kind: "array", shape: [100, 200], dtype: "int32", size: 20000, repr: "Array(...)",
      preview: { rows: 100, cols: 200, rowIndex, colIndex, values: rowIndex.map((r) => colIndex.map((c) => 200 * r + c)), truncated: true },
    };
    const html = renderArray(a);
    assert.ok(html.includes("int32[100, 200]"));
    assert.ok(html.includes("20,000 elements") && html.includes("summarised"));
    const body = html.slice(html.indexOf("<tbody>"));
    const rows = body.split("<tr").slice(1);
    assert.equal(rows.length, 7, "6 preview rows and one ⋮ row");
    assert.ok(rows[3].includes("⋮"));
    for (const [i, r] of [0, 1, 2, 97, 98, 99].entries()) {
      const tr = rows[i < 3 ? i : i + 1];
      const cells = [...tr.matchAll(/<td>(-?\d+)<\/td>/g)].map((m) => Number(m[1]));
      assert.deepEqual(cells, colIndex.map((c) => 200 * r + c));
      assert.equal((tr.match(/class="gap">…/g) ?? []).length, 1);
    }
  });

  test("text and errors are escaped", () => {
    const html = renderOutput({ kind: "text", stream: "stdout", text: "<img src=x onerror=alert(1)>&\n" });
    assert.ok(!html.includes("<img"));
    assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;&amp;"));
    const err = renderOutput({ kind: "error", error: { name: "Error", message: "<b>", location: { file: "/a/\"x\".ts", cell: 0, line: 3, column: 2 } } });
    assert.ok(err.includes("&lt;b&gt;") && err.includes('data-file="/a/&quot;x&quot;.ts"') && err.includes('data-line="3"'));
  });

  test("a histogram: one bar per bin, heights proportional to the counts", () => {
    const svg = renderPlot({ type: "hist", title: "h", bins: { edges: [0, 1, 2, 3], counts: [2, 4, 1] } });
    const heights = [...svg.matchAll(/<rect class="bar"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(heights.length, 3);
    assert.ok(Math.abs(heights[1] / heights[0] - 2) < 0.02 && Math.abs(heights[2] / heights[0] - 0.5) < 0.02, String(heights));
    assert.deepEqual(ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  test("the panel page has a strict CSP: its nonce only, no remote loads", async () => {
    const api = await primal();
    api.panel.show();
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(api.panel.pageHtml)![1];
    assert.match(csp, /default-src 'none'/);
    const nonce = /script-src 'nonce-([A-Za-z0-9]+)'/.exec(csp)![1];
    assert.ok(nonce.length >= 16);
    assert.ok(!/https?:/.test(csp));
    assert.equal((api.panel.pageHtml.match(new RegExp(`nonce="${nonce}"`, "g")) ?? []).length, 2, "style and script carry the nonce");
    await until("the Primal Results tab", () => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.label === "Primal Results")));
  });
});
