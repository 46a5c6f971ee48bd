// The "Check" action of a gradient record: a toolkit button that asks the host to run
// checkGrads on the record's latest call (inspect/checkGrads), a progress ring while it runs,
// then the verdict: passed / failed / could not run, the step and order used, how long it took,
// and per leaf the worst ratio of |autodiff - numeric| to the tolerance with the two directional
// derivatives behind it, so a failing leaf shows by how much and in which direction it is off.

import type { CheckGradsResult, JsonNumber } from "../../kernel/protocol";
import { fmtMs, fmtNum, h } from "../common/dom";

/** Where a record's check stands. `calls` is the record's call count when the check was asked for. */
export type CheckState = { status: "running"; calls: number } | { status: "done"; calls: number; result: CheckGradsResult };

/** The verdict of a result: the check ran and passed, ran and failed, or could not run (no leaves compared). */
export function verdict(r: CheckGradsResult): "pass" | "fail" | "error" {
  if (r.ok) return "pass";
  return r.leaves && r.leaves.length > 0 ? "fail" : "error";
}

const VERDICT_TEXT = { pass: "✓ Gradients match finite differences", fail: "✗ Gradients disagree with finite differences", error: "Check could not run" };

/** Leaves listed in a check's table; the rest are counted (a model's 1,000 leaves would be 1,000 grid rows). */
export const CHECK_ROWS = 100;

/** The leaves a check's table lists: failing ones first, worst first, at most {@link CHECK_ROWS}. */
export function checkRows(r: CheckGradsResult): { rows: NonNullable<CheckGradsResult["leaves"]>; more: number } {
  const all = [...(r.leaves ?? [])];
  const worst = (x: JsonNumber) => (typeof x === "number" ? x : x === "-Infinity" ? -Infinity : Infinity);
  // Stable: passing leaves keep the kernel's (pytree) order.
  all.sort((a, b) => (a.ok === b.ok ? (a.ok ? 0 : worst(b.worst) - worst(a.worst) || 0) : a.ok ? 1 : -1));
  return { rows: all.slice(0, CHECK_ROWS), more: Math.max(0, all.length - CHECK_ROWS) };
}

function leafTable(r: CheckGradsResult): HTMLElement {
  const grid = h("vscode-data-grid", { className: "check-grid", attrs: { "grid-template-columns": "minmax(110px, 2fr) 100px 120px 120px 48px", "generate-header": "none", "aria-label": "checkGrads per leaf" } });
  const heads: [string, string][] = [
    ["Leaf", "Pytree path of the differentiated leaf"],
    ["Worst ratio", "max |autodiff − numeric| / (atol + rtol·|numeric|) over the leaf's checks: ≤ 1 passes"],
    ["Autodiff", "Directional derivative from autodiff, at the worst check"],
    ["Numeric", "Directional derivative from central finite differences, at the worst check"],
    ["", "Whether the leaf passes"],
  ];
  grid.append(h("vscode-data-grid-row", { attrs: { "row-type": "header" } }, heads.map(([t, help], i) => h("vscode-data-grid-cell", { text: t, title: help, attrs: { "cell-type": "columnheader", "grid-column": String(i + 1) } }))));
  const { rows, more } = checkRows(r);
  for (const l of rows) {
    const cls = l.ok ? "num" : "num bad";
    grid.append(
      h("vscode-data-grid-row", { className: l.ok ? "check-row" : "check-row bad-row" },
        h("vscode-data-grid-cell", { className: "leaf-path", text: l.path, attrs: { "grid-column": "1" } }),
        h("vscode-data-grid-cell", { className: cls, text: fmtNum(l.worst), title: String(l.worst), attrs: { "grid-column": "2" } }),
        h("vscode-data-grid-cell", { className: "num", text: fmtNum(l.autodiff, 6), title: String(l.autodiff), attrs: { "grid-column": "3" } }),
        h("vscode-data-grid-cell", { className: "num", text: fmtNum(l.numeric, 6), title: String(l.numeric), attrs: { "grid-column": "4" } }),
        h("vscode-data-grid-cell", { className: l.ok ? "check-ok" : "check-bad", text: l.ok ? "✓" : "✗", title: l.ok ? "passes" : "fails", attrs: { "grid-column": "5" } }),
      ),
    );
  }
  if (!more) return grid;
  return h("div", {}, grid, h("div", { className: "muted check-more", text: `${more} more leaves not listed (failing leaves come first)` }));
}

/** The check's two parts: the controls (button, progress ring) for the actions row, and the result below it. */
export interface CheckParts {
  controls: HTMLElement;
  result: HTMLElement | null;
}

/**
 * The check's controls and last result. The button is disabled while a check runs;
 * `currentCalls` tells whether the record has been called again since the check ran (the result
 * then describes an older call, and says so).
 */
export function checkView(state: CheckState | undefined, currentCalls: number, traced: boolean, onCheck: () => void): CheckParts {
  const running = state?.status === "running";
  const button = h("vscode-button", {
    className: "check-button",
    text: state?.status === "done" ? "Check again" : "Check gradients",
    title: traced
      ? "Run checkGrads on this call (a traced call has no values to check: the kernel will say so)"
      : "Run checkGrads on the latest call: compare the gradients with finite differences",
    attrs: { appearance: "secondary", disabled: running ? true : null, "aria-disabled": running ? "true" : null },
    on: { click: () => {
      if (!running) onCheck();
    } },
  });
  const controls = h("div", { className: "check-area" }, button);
  if (running) controls.append(h("vscode-progress-ring", { className: "check-ring", attrs: { "aria-label": "checking gradients" } }), h("span", { className: "muted", text: "checking…" }));
  if (state?.status !== "done") return { controls, result: null };
  const r = state.result;
  const v = verdict(r);
  const result = h("div", { className: `check-result check-${v}`, attrs: { role: "status" } },
    h("div", { className: "check-summary" },
      h("span", { className: "check-verdict", text: VERDICT_TEXT[v] }),
      v !== "error" ? h("span", { className: "check-params muted", text: `eps ${fmtNum(r.eps)} · order ${r.order} · ${fmtMs(r.ms)}` }) : null,
      state.calls !== currentCalls ? h("span", { className: "check-stale muted", text: `(checked call ${state.calls}; now ${currentCalls})` }) : null,
    ),
  );
  if (r.message) result.append(h("pre", { className: "check-message", text: r.message }));
  if (r.leaves && r.leaves.length) result.append(leafTable(r));
  return { controls, result };
}
