// One differentiated function in the gradients panel: a header line that says what it is and
// how the latest call went (name, grad/valueAndGrad, calls, loss, global norm, whether it ran
// inside jit, NaN/Inf warnings, where it was called), and, when opened, the loss and norm
// sparklines over the recorded steps, the Check and Backward-jaxpr actions and the leaf table.
// The body is built only when the record is open: a closed record costs one line of DOM.

import type { GradientRecord, JsonNumber, PanelToHost } from "../../kernel/protocol";
import { fmtNum, fmtSource, h, isBad } from "../common/dom";
import { sparkline } from "../common/sparkline";
import { CheckState, checkView } from "./check-view";
import { LeafTable, leafTable } from "./leaf-table";
import { LeafSort, SortKey, badTotals, globalNormSeries, hasPoints, lossSeries, stepRange } from "./model";

/** What a record's view needs from the panel. */
export interface RecordContext {
  post(m: PanelToHost): void;
  expanded: boolean;
  /** The record belongs to the last run (else it is dimmed under "earlier runs"). */
  current: boolean;
  sort: LeafSort;
  check: CheckState | undefined;
  onToggle(): void;
  onSort(key: SortKey): void;
  onCheck(): void;
}

/** A rendered record and how to take it down. */
export interface RecordView {
  el: HTMLElement;
  table: LeafTable | null;
  dispose(): void;
}

const CHART = { width: 160, height: 32 };

function metric(label: string, x: JsonNumber | undefined, help: string): HTMLElement | null {
  if (x === undefined) return null;
  return h("span", { className: isBad(x) ? "metric bad" : "metric", title: `${help}: ${String(x)}` }, h("span", { className: "metric-label", text: label }), h("span", { className: "metric-value", text: fmtNum(x) }));
}

/** A sparkline with its caption: what it is, the range it covers, the last value. */
function chart(label: string, series: (number | null)[], last: JsonNumber | undefined, r: GradientRecord, className: string): HTMLElement {
  const finite = series.filter((v): v is number => v !== null);
  const range = finite.length ? `min ${fmtNum(Math.min(...finite))} · max ${fmtNum(Math.max(...finite))}` : "";
  const fig = h("figure", { className: `record-chart ${className}`, dataset: { points: series.length } });
  if (hasPoints(series)) fig.append(sparkline(series, { ...CHART, className: "chart-line" }));
  else fig.append(h("div", { className: "chart-empty muted", text: "no values" }));
  fig.append(
    h("figcaption", {},
      h("span", { className: "chart-label", text: label }),
      h("span", { className: "muted", text: ` ${stepRange(r)}${last !== undefined ? ` · last ${fmtNum(last)}` : ""}` }),
      range ? h("div", { className: "muted chart-range", text: range }) : null),
  );
  return fig;
}

/** Where the latest call's values came from, when not from a plain eager call. */
function originTag(r: GradientRecord): HTMLElement | null {
  if (r.last.traced || r.last.origin === "traced")
    return h("span", { className: "badge origin-tag traced-tag", text: "traced", title: "The latest call was traced (under vmap, another grad or a nested jit): shapes only, no values" });
  if (r.last.origin === "jit")
    return h("span", { className: "badge origin-tag jit-tag", text: "inside jit", title: "The latest call ran inside a jitted step: the values are the gradients the compiled program computed" });
  return null;
}

function header(r: GradientRecord, ctx: RecordContext): HTMLElement {
  const bad = badTotals(r);
  const twisty = h("span", { className: "twisty", text: ctx.expanded ? "▾" : "▸", attrs: { "aria-hidden": "true" } });
  const head = h("div", {
    className: "record-header",
    attrs: { role: "button", tabindex: 0, "aria-expanded": ctx.expanded ? "true" : "false", "aria-label": `${r.name}, ${r.kind}, ${r.calls} calls` },
    on: {
      click: () => ctx.onToggle(),
      keydown: (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          ctx.onToggle();
        }
      },
    },
  },
  twisty,
  h("span", { className: "record-name", text: r.name, title: r.name }),
  h("span", { className: `badge kind-tag kind-${r.kind}`, text: r.kind }),
  h("span", { className: "badge calls-badge", text: `${r.calls}`, title: `${r.calls} call${r.calls === 1 ? "" : "s"} so far` }),
  h("span", { className: "muted calls-label", text: r.calls === 1 ? "call" : "calls" }),
  originTag(r),
  bad.leaves ? h("span", { className: "badge bad-badge", text: `${bad.nan ? `NaN ${bad.nan}` : ""}${bad.nan && bad.inf ? " · " : ""}${bad.inf ? `Inf ${bad.inf}` : ""}`, title: `${bad.leaves} leaf gradient${bad.leaves === 1 ? " has" : "s have"} NaN or infinite elements` }) : null,
  metric(r.kind === "valueAndGrad" ? "loss" : "value", r.last.value, "The function's value at the latest call"),
  metric("‖∇‖", r.last.globalNorm, "L2 norm over every gradient leaf"),
  );
  if (r.source) {
    const src = r.source;
    head.append(
      h("vscode-link", {
        className: "source-link",
        text: `${r.cell !== undefined ? `cell ${r.cell + 1} · ` : ""}${fmtSource(src)}`,
        title: `Reveal ${src.file}:${src.line}`,
        attrs: { href: "#", role: "link", tabindex: 0 },
        on: {
          click: (e) => {
            e.preventDefault();
            e.stopPropagation();
            ctx.post({ type: "revealSource", source: src });
          },
          keydown: (e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              e.stopPropagation();
              ctx.post({ type: "revealSource", source: src });
            }
          },
        },
      }),
    );
  }
  return head;
}

function body(r: GradientRecord, ctx: RecordContext): { el: HTMLElement; table: LeafTable } {
  const charts = h("div", { className: "record-charts" },
    chart(r.kind === "valueAndGrad" ? "loss" : "value", lossSeries(r), r.last.value, r, "loss-chart"),
    chart("gradient norm", globalNormSeries(r), r.last.globalNorm, r, "norm-chart"),
  );
  const check = checkView(ctx.check, r.calls, r.last.traced, ctx.onCheck);
  const actions = h("div", { className: "record-actions" }, check.controls);
  if (r.irRecordId !== undefined) {
    const id = r.irRecordId;
    actions.append(
      h("vscode-link", {
        className: "ir-link",
        text: "Backward jaxpr",
        title: "Show the linearised/transposed program of this gradient in the IR panel",
        attrs: { href: "#" },
        on: { click: (e) => {
          e.preventDefault();
          ctx.post({ type: "showInIr", irRecordId: id, optimized: false, eqns: [] });
        } },
      }),
    );
  }
  const table = leafTable(r, { sort: ctx.sort, onSort: ctx.onSort });
  const missing = r.last.leaves.filter((l) => !l.stats).length;
  const note = r.last.traced && missing === r.last.leaves.length
    ? h("p", { className: "muted leaves-note", text: "Traced call (under vmap, another grad or a nested jit): shapes only, no values." })
    : null;
  const summary = h("div", { className: "muted leaves-summary", text: `${r.last.leaves.length} leaf gradient${r.last.leaves.length === 1 ? "" : "s"} at step ${r.last.step}${missing ? ` · ${missing} without statistics` : ""}` });
  return { el: h("div", { className: "record-body" }, charts, actions, check.result, summary, note, table.el), table };
}

/** Renders one record: its header, and its body when open. */
export function recordView(r: GradientRecord, ctx: RecordContext): RecordView {
  const bad = badTotals(r).leaves > 0 || (r.last.value !== undefined && isBad(r.last.value)) || (r.last.globalNorm !== undefined && isBad(r.last.globalNorm));
  const el = h("section", {
    className: `grad-record ${ctx.current ? "current" : "earlier"}${bad ? " has-bad" : ""}${ctx.expanded ? " open" : ""}`,
    attrs: { role: "listitem" },
    dataset: { recordId: r.id },
  }, header(r, ctx));
  let table: LeafTable | null = null;
  if (ctx.expanded) {
    const b = body(r, ctx);
    el.append(b.el);
    table = b.table;
  }
  return { el, table, dispose: () => table?.dispose() };
}
