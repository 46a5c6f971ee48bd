// Turns the kernels panel's rows (rows.ts) into elements: one fixed-height line each, built node
// by node (the CSP forbids inline styles; colours go through classes and the CSSOM). Clicks on a
// row's links are turned into the panel's intents (reveal the source line, show the equations
// in the IR panel, open the source as a document) through the context the view passes in, so
// this file only knows how a row looks.

import { KernelProgramRecord, KernelStepInfo } from "../../kernel/protocol";
import { fmtBytes, fmtMs, fmtSource, h } from "../common/dom";
import { LazyHighlight, highlightLines, renderLine } from "../common/highlight";
import { treeItemAttrs } from "../common/tree";
import { Row, isOpen, programTime, timingText, toggleOf, Expansion } from "./rows";

/** What the rows need from the view. */
export interface RowContext {
  expansion: Expansion;
  /** The step's source highlighter (created on first use, kept by the view). */
  highlight(rec: KernelProgramRecord, step: KernelStepInfo): LazyHighlight;
  revealSource(rec: KernelProgramRecord): void;
  /** The step's equations in the IR panel: in the optimised jaxpr, or for a program cut from a pmap body, the program's equations in that body. */
  showInIr(rec: KernelProgramRecord, step: KernelStepInfo): void;
  openText(rec: KernelProgramRecord, step: KernelStepInfo): void;
}

/** How far past the tokenized lines a row may be and still be coloured synchronously (~50 ms of JS grammar). */
const SYNC_AHEAD = 150;

const badge = (text: string, cls = "", title?: string) => h("span", { className: `badge ${cls}`.trim(), text, title });

/** A link-styled button (keyboard-focusable) that does not toggle the row it sits in. */
function link(text: string, title: string, onClick: () => void, cls = ""): HTMLElement {
  return h("button", {
    className: `link ${cls}`.trim(),
    text,
    title,
    attrs: { type: "button" },
    on: {
      click: (e) => {
        e.stopPropagation();
        onClick();
      },
    },
  });
}

function twistie(row: Row, ex: Expansion): HTMLElement {
  const t = toggleOf(row);
  return h("span", { className: "twistie", text: t ? (isOpen(row, ex) ? "▾" : "▸") : "", attrs: { "aria-hidden": "true" } });
}

/** The program row: name, platform, device and cache badges, totals, where it was compiled from. */
function programRow(row: Extract<Row, { kind: "program" }>, ctx: RowContext): HTMLElement[] {
  const r = row.rec;
  const c = r.counts;
  const time = programTime(r);
  const counts = [`${c.kernels} kernel${c.kernels === 1 ? "" : "s"}`];
  if (c.library) counts.push(`${c.library} library`);
  if (c.aliases) counts.push(`${c.aliases} alias${c.aliases === 1 ? "" : "es"}`);
  const stats = [
    counts.join(" · "),
    `${r.eqnCount} eqn${r.eqnCount === 1 ? "" : "s"}`,
    time ? `time ${fmtMs(time.totalMs)}${r.calls > 1 ? ` (last call ${fmtMs(time.lastMs)})` : ""}` : "timing off",
    `compile ${fmtMs(r.compileMs)}`,
    `${r.calls} call${r.calls === 1 ? "" : "s"}`,
    `peak temp ${fmtBytes(r.peakTempBytes)}`,
  ];
  return [
    h("span", { className: "prog-name", text: r.name || "(anonymous)" }),
    badge(r.platform, `platform platform-${r.platform}`, r.adapter ? `runs on ${r.adapter}` : `runs on ${r.platform}`),
    r.device ? badge(r.device, "device", `compiled and run by ${r.device}'s own thread: this row's calls and times are that device's`) : null,
    r.cacheHit ? badge(`cached (${r.cacheHit})`, "cache", r.cacheHit === "traced" ? "served from the compile cache: same traced program" : "served from the compile cache: same optimised program") : null,
    r.truncated ? badge("truncated", "truncated", "some steps or source text were cut by the kernel's caps") : null,
    h("span", { className: "prog-stats muted", text: stats.join(" · ") }),
    r.cell !== undefined ? h("span", { className: "muted", text: `cell ${r.cell + 1}`, title: "The cell that traced it (counting from 1)" }) : null,
    r.source ? link(fmtSource(r.source), `reveal ${r.source.file}:${r.source.line}`, () => ctx.revealSource(r), "source-link") : null,
  ].filter((x): x is HTMLElement => !!x);
}

function stepRow(row: Extract<Row, { kind: "step" }>): HTMLElement[] {
  const s = row.step;
  const shape = s.launchShape.length ? `[${s.launchShape.join(",")}]` : "scalar";
  return [
    h("span", { className: "step-index muted", text: `#${s.index}` }),
    h("span", { className: "step-name code", text: s.name }),
    badge(s.kind, `kind-${s.kind}`),
    s.language ? badge(s.language, "lang") : null,
    h("span", { className: "muted", text: shape }),
    s.workgroupSize ? h("span", { className: "muted", text: `wg [${s.workgroupSize.join(",")}]` }) : null,
    s.dispatch ? h("span", { className: "muted", text: `dispatch [${s.dispatch.join(",")}]` }) : null,
    h("span", { className: row.rec.timingOn ? "step-time" : "step-time muted", text: row.rec.timingOn ? fmtMs(s.timing.totalMs) : "timing off", title: timingText(row.rec, s) }),
    s.note ? h("span", { className: "step-note warn", text: s.note, title: s.note }) : null,
  ].filter((x): x is HTMLElement => !!x);
}

function bindingRow(row: Extract<Row, { kind: "binding" }>): HTMLElement[] {
  const b = row.step.bindings![row.at];
  return [
    h("span", { className: "code binding-slot", text: `@binding(${b.binding})` }),
    h("span", { className: "code binding-name", text: b.name }),
    badge(b.access, `access access-${b.access}`),
    b.aval ? h("span", { className: "code", text: b.aval }) : null,
    b.bytes !== undefined ? h("span", { className: "muted", text: fmtBytes(b.bytes) }) : null,
  ].filter((x): x is HTMLElement => !!x);
}

/** Renders one row of the kernels panel. `index`/`count` feed the tree's ARIA attributes. */
export function renderRow(row: Row, ctx: RowContext): HTMLElement {
  const ex = ctx.expansion;
  const open = isOpen(row, ex);
  const expandable = !!toggleOf(row);
  const el = h("div", { className: `krow krow-${row.kind} indent-${row.depth}`, attrs: treeItemAttrs({ depth: row.depth, expandable }, open) });
  el.append(twistie(row, ex));
  switch (row.kind) {
    case "program":
      el.append(...programRow(row, ctx));
      break;
    case "step":
      el.append(...stepRow(row));
      break;
    case "detail":
      el.append(h("span", { className: "detail-label", text: `${row.label}:` }), h("span", { className: row.tone ?? "", text: row.text, title: row.text }));
      break;
    case "bindings":
      el.append(h("span", { className: "detail-label", text: `bindings (${row.step.bindings!.length})` }));
      break;
    case "binding":
      el.append(...bindingRow(row));
      break;
    case "eqns":
      el.append(h("span", { className: "detail-label", text: `fused equations (${row.step.eqnText.length})` }));
      if (row.rec.irRecordId !== undefined && row.rec.irEqns?.length)
        el.append(link("show in IR", "show this program's equations in the per-device program it was cut from (IR panel)", () => ctx.showInIr(row.rec, row.step), "show-in-ir"));
      else if (row.rec.irRecordId !== undefined && row.step.eqns.length)
        el.append(link("show in IR", "show these equations in the optimised jaxpr (IR panel)", () => ctx.showInIr(row.rec, row.step), "show-in-ir"));
      break;
    case "eqn":
      el.append(h("span", { className: "line-number", text: row.step.eqns[row.at] !== undefined ? String(row.step.eqns[row.at]) : "" }), renderLine(highlightLines(row.step.eqnText[row.at], "primal-ir")[0] ?? []));
      break;
    case "ir":
      el.append(h("span", { className: "detail-label", text: `scalar kernel IR (${row.lines} line${row.lines === 1 ? "" : "s"})` }));
      break;
    case "ir-line":
      el.append(h("span", { className: "line-number", text: String(row.line + 1) }), h("span", { className: "code-line", text: row.text }));
      break;
    case "source":
      el.append(
        h("span", { className: "detail-label", text: `source (${row.step.language}, ${row.lines} line${row.lines === 1 ? "" : "s"})` }),
        h("vscode-button", { className: "open-text", text: "Open as text", attrs: { appearance: "secondary", title: "open the source in a read-only editor" }, on: { click: (e) => (e.stopPropagation(), ctx.openText(row.rec, row.step)) } }),
      );
      break;
    case "source-line": {
      const hl = ctx.highlight(row.rec, row.step);
      // Colour the line now when that costs at most a chunk; else show it plain until the
      // background tokenizer reaches it (the view re-renders it then).
      if (row.line < hl.tokenized + SYNC_AHEAD) hl.ensure(row.line);
      if (row.line >= hl.tokenized) el.dataset.plain = "1";
      el.append(h("span", { className: "line-number", text: String(row.line + 1) }), renderLine(hl.line(row.line)));
      break;
    }
    case "note":
      el.append(h("span", { className: "muted", text: row.text }));
      break;
  }
  return el;
}
