// One IR record in the panel, built when the record is selected: tabs (the toolkit's panels) for
// its programs, "Traced" and "Optimized" for a jitted function, "Forward | Backward" side by side
// and "Linear" for a function under grad, "Per-device program" for a pmap (with its axis and
// devices beside the kind badge), each pane either the printed text (text-view.ts) or
// the graph of its equations (graph-view.ts), switched by the "Graph" button. A tab's panes are
// built the first time the tab is shown, and a pane's graph the first time the graph is shown,
// so a record with a 5,000-equation backward pass costs nothing until it is looked at.

import { IrRecord, JaxprInfo, PmapInfo, SourceLine } from "../../kernel/protocol";
import { clear, fmtSource, h } from "../common/dom";
import { JaxprGraphView } from "./graph-view";
import { EqnEntry } from "./line-model";
import { JaxprTextView, TextViewState } from "./text-view";

/** The tabs a record can have. */
export type TabId = "traced" | "optimized" | "fwdbwd" | "linear";

/** One program shown in a pane. */
export interface PaneSpec {
  /** Key of the pane's saved state (`traced`, `optimized`, `forward`, `backward`, `linear`). */
  key: string;
  title: string;
  text: string;
  jaxpr: JaxprInfo;
}

/** A tab and its panes. */
export interface TabSpec {
  id: TabId;
  label: string;
  panes: PaneSpec[];
}

/** The tabs of a record, in order. */
export function tabsOf(r: IrRecord): TabSpec[] {
  const tabs: TabSpec[] = [];
  if (r.kind === "grad" && r.backward) {
    tabs.push({
      id: "fwdbwd",
      label: "Forward | Backward",
      panes: [
        { key: "forward", title: "Forward", text: r.text, jaxpr: r.jaxpr },
        { key: "backward", title: "Backward", text: r.backward.text, jaxpr: r.backward.jaxpr },
      ],
    });
  } else if (r.kind === "pmap") {
    // The key stays "traced": saved folds and scroll apply whatever the tab is called.
    tabs.push({ id: "traced", label: "Per-device program", panes: [{ key: "traced", title: "Per-device", text: r.text, jaxpr: r.jaxpr }] });
  } else tabs.push({ id: "traced", label: "Traced", panes: [{ key: "traced", title: "Traced", text: r.text, jaxpr: r.jaxpr }] });
  if (r.optimized) tabs.push({ id: "optimized", label: "Optimized", panes: [{ key: "optimized", title: "Optimized", text: r.optimized.text, jaxpr: r.optimized.jaxpr }] });
  if (r.linear) tabs.push({ id: "linear", label: "Linear", panes: [{ key: "linear", title: "Linear", text: r.linear.text, jaxpr: r.linear.jaxpr }] });
  return tabs;
}

/** What a record view needs from the panel. */
export interface RecordViewHost {
  revealSource(source: SourceLine): void;
  openText(title: string, text: string): void;
  /** Saved state of a pane (`${record id}/${pane key}`). */
  paneState(key: string): TextViewState | undefined;
  /** The view state changed (tab, graph, folds, scroll). */
  changed(): void;
}

/** A pane: its spec, and the views built for it so far. */
interface Pane {
  spec: PaneSpec;
  body: HTMLElement;
  text: JaxprTextView | null;
  graph: JaxprGraphView | null;
}

/** The detail of one IR record. */
export class RecordView {
  readonly el: HTMLElement;
  readonly tabs: TabSpec[];
  private active: TabId;
  private graphOn: boolean;
  private readonly panels: HTMLElement;
  private readonly views = new Map<TabId, HTMLElement>();
  private readonly panes = new Map<TabId, Pane[]>();
  private readonly graphButton: HTMLElement;
  private cursor: { file: string; line: number } | null = null;

  constructor(
    readonly record: IrRecord,
    private readonly host: RecordViewHost,
    opts: { tab?: string; graph?: boolean } = {},
  ) {
    this.tabs = tabsOf(record);
    this.active = this.tabs.some((t) => t.id === opts.tab) ? (opts.tab as TabId) : this.tabs[0].id;
    this.graphOn = !!opts.graph;
    this.graphButton = h("vscode-button", {
      className: "ir-graph-toggle",
      attrs: { appearance: "secondary", "aria-pressed": String(this.graphOn), title: "Switch between the text layout and a graph of the equations" },
      text: this.graphOn ? "Text" : "Graph",
      on: { click: () => this.setGraph(!this.graphOn) },
    });
    const r = record;
    const toolbar = h(
      "div",
      { className: "ir-toolbar" },
      h("span", { className: "ir-rec-title", text: r.name }),
      h("span", { className: `badge ir-kind ir-kind-${r.kind}`, text: r.kind }),
      r.pmap ? pmapInfo(r.pmap) : null,
      r.cell !== undefined ? h("span", { className: "muted", text: `cell ${r.cell + 1}`, title: "The cell that traced it (counting from 1)" }) : null,
      r.inAvals.length ? h("span", { className: "muted ir-avals", text: `(${r.inAvals.map((a) => a.text).join(", ")})` }) : null,
      r.source ? sourceLink(r.source, (s) => this.host.revealSource(s)) : null,
      h("span", { className: "spacer" }),
      this.graphButton,
    );
    this.panels = h("vscode-panels", { className: "ir-tabs", attrs: { activeid: tabDomId(this.active), "aria-label": "Programs of this record" } });
    for (const t of this.tabs) {
      this.panels.append(h("vscode-panel-tab", { attrs: { id: tabDomId(t.id) }, dataset: { tab: t.id }, text: t.label }));
    }
    for (const t of this.tabs) {
      const view = h("vscode-panel-view", { className: "ir-tab-view", attrs: { id: `${tabDomId(t.id)}-view` }, dataset: { tab: t.id } });
      this.views.set(t.id, view);
      this.panels.append(view);
    }
    // The toolkit's tabs emit `change` on a click or arrow key; without the toolkit (tests) a
    // click on a tab does the same here.
    this.panels.addEventListener("change", (e) => {
      if (e.target !== this.panels) return;
      const id = (this.panels as HTMLElement & { activeid?: string }).activeid ?? this.panels.getAttribute("activeid");
      const t = this.tabs.find((x) => tabDomId(x.id) === id);
      if (t) this.selectTab(t.id);
    });
    this.panels.addEventListener("click", (e) => {
      const tab = (e.target as HTMLElement).closest<HTMLElement>("vscode-panel-tab");
      if (tab?.dataset.tab) this.selectTab(tab.dataset.tab as TabId);
    });
    this.el = h("div", { className: "ir-detail" }, toolbar, this.panels);
    this.selectTab(this.active, true);
  }

  /** The tab shown. */
  activeTab(): TabId {
    return this.active;
  }

  /** Whether the graph is shown instead of the text. */
  graphShown(): boolean {
    return this.graphOn;
  }

  /** Shows a tab (building its panes on first show). */
  selectTab(id: TabId, force = false): void {
    if (!this.tabs.some((t) => t.id === id)) return;
    if (id === this.active && !force && this.panes.has(id)) return;
    this.active = id;
    if (this.panels.getAttribute("activeid") !== tabDomId(id)) this.panels.setAttribute("activeid", tabDomId(id));
    for (const [t, view] of this.views) {
      const on = t === id;
      view.hidden = !on;
      view.classList.toggle("active", on);
    }
    this.ensurePanes(id);
    // The text/graph switch may have changed while the tab was hidden.
    for (const p of this.panes.get(id)!) this.showPane(p);
    this.host.changed();
  }

  /** Switches every pane between text and graph. */
  setGraph(on: boolean): void {
    if (on === this.graphOn) return;
    this.graphOn = on;
    this.graphButton.textContent = on ? "Text" : "Graph";
    this.graphButton.setAttribute("aria-pressed", String(on));
    // Only the tab in view: a hidden tab's graphs are laid out when it is shown.
    for (const p of this.panes.get(this.active) ?? []) this.showPane(p);
    this.host.changed();
  }

  /** The text views of the tab shown (built on demand). */
  textViews(tab: TabId = this.active): JaxprTextView[] {
    return (this.panes.get(tab) ?? []).map((p) => p.text).filter((v): v is JaxprTextView => v !== null);
  }

  /** The graph views of the tab shown (built once the graph is shown). */
  graphViews(tab: TabId = this.active): JaxprGraphView[] {
    return (this.panes.get(tab) ?? []).map((p) => p.graph).filter((v): v is JaxprGraphView => v !== null);
  }

  /** Highlights the equations an editor line made, in every pane of every built tab. */
  setCursor(source: { file: string; line: number } | null): EqnEntry[] {
    this.cursor = source;
    const found: EqnEntry[] = [];
    for (const [tab, panes] of this.panes)
      for (const p of panes) {
        const hits = p.text?.highlightSource(source) ?? [];
        if (tab === this.active) found.push(...hits);
        p.graph?.highlightSource(source);
      }
    return found;
  }

  /** Opens a tab on these top-level equations: highlighted and scrolled into view (text layout). */
  focus(optimized: boolean, eqns: number[]): void {
    const tab: TabId = optimized && this.tabs.some((t) => t.id === "optimized") ? "optimized" : this.tabs[0].id;
    this.selectTab(tab);
    this.setGraph(false);
    this.cursor = null;
    const text = this.textViews(tab)[0];
    text?.highlight(text.model.topEqns(eqns));
  }

  /** Saved state of the panes built so far, by pane key. */
  paneStates(): Map<string, TextViewState> {
    const out = new Map<string, TextViewState>();
    for (const panes of this.panes.values()) for (const p of panes) if (p.text) out.set(p.spec.key, p.text.state());
    return out;
  }

  /** Re-renders the lines in view (after the highlighter loaded). */
  refresh(): void {
    for (const panes of this.panes.values()) for (const p of panes) p.text?.refresh();
  }

  dispose(): void {
    for (const panes of this.panes.values())
      for (const p of panes) {
        p.text?.dispose();
        p.graph?.dispose();
      }
    this.el.remove();
  }

  private ensurePanes(id: TabId): void {
    if (this.panes.has(id)) return;
    const tab = this.tabs.find((t) => t.id === id)!;
    const view = this.views.get(id)!;
    const panes: Pane[] = tab.panes.map((spec) => ({ spec, body: h("div", { className: "ir-pane-body" }), text: null, graph: null }));
    this.panes.set(id, panes);
    const row = h("div", { className: `ir-panes ir-panes-${panes.length}` });
    for (const p of panes) {
      const j = p.spec.jaxpr;
      const count = j.eqns.length < j.eqnCount || j.truncated ? `${j.eqnCount} equations (record cut)` : `${j.eqnCount} equation${j.eqnCount === 1 ? "" : "s"}`;
      const header = h(
        "div",
        { className: "ir-pane-header" },
        h("span", { className: "ir-pane-title", text: p.spec.title }),
        h("span", { className: "muted", text: count }),
        h("span", { className: "spacer" }),
        h("vscode-button", {
          className: "ir-open-text",
          attrs: { appearance: "icon", title: `Open the ${p.spec.title.toLowerCase()} jaxpr in an editor tab`, "aria-label": `Open ${p.spec.title} as text` },
          text: "Open as text",
          on: { click: () => this.host.openText(`${this.record.name} · ${p.spec.title.toLowerCase()}.jaxpr`, p.spec.text) },
        }),
      );
      row.append(h("div", { className: "ir-pane", dataset: { pane: p.spec.key } }, header, p.body));
    }
    clear(view);
    view.append(row);
  }

  private showPane(p: Pane): void {
    if (this.graphOn) {
      if (!p.graph) {
        p.graph = new JaxprGraphView(p.spec.jaxpr, { revealSource: (s) => this.host.revealSource(s) });
        p.body.append(p.graph.el);
        void p.graph.show().then(() => {
          if (this.cursor) p.graph?.highlightSource(this.cursor);
        });
      }
      p.graph.el.hidden = false;
      if (p.text) p.text.el.hidden = true;
      return;
    }
    if (!p.text) {
      p.text = new JaxprTextView(p.spec.text, p.spec.jaxpr, { revealSource: (s) => this.host.revealSource(s), changed: () => this.host.changed() }, this.host.paneState(p.spec.key), `${p.spec.title} jaxpr`);
      p.text.mount(p.body);
      if (this.cursor) p.text.highlightSource(this.cursor);
    }
    p.text.el.hidden = false;
    if (p.graph) p.graph.el.hidden = true;
  }
}

/** The DOM id of a tab (one record view is in the page at a time). */
const tabDomId = (t: TabId) => `ir-tab-${t}`;

/** A pmap's axis in short: `axis i × 2`, or `unnamed axis × 2`. */
export function pmapAxisText(p: PmapInfo): string {
  return `${p.axisName === null ? "unnamed axis" : `axis ${p.axisName}`} × ${p.axisSize}`;
}

/**
 * A pmap record's axis and devices beside its kind badge: the axis name and size, then
 * "per-device program, runs on" and a tag per device (shard i runs on the i-th).
 */
export function pmapInfo(p: PmapInfo): HTMLElement {
  const axisTitle = p.axisName === null ? "The mapped axis (pmap was given no axisName) and its size" : "The mapped axis (the name collectives use) and its size";
  return h(
    "span",
    { className: "ir-pmap", title: `The program below runs once per shard: shard i on device i (${p.devices.join(", ")})` },
    h("span", { className: "ir-pmap-axis", text: pmapAxisText(p), title: axisTitle }),
    h("span", { className: "muted", text: "per-device program, runs on" }),
    ...p.devices.map((d, i) => h("span", { className: "ir-device", text: d, title: `shard ${i}` })),
  );
}

/** A link to a source line (`file.ts:12`) that reveals it in the editor. */
export function sourceLink(s: SourceLine, reveal: (s: SourceLine) => void): HTMLElement {
  return h("a", {
    className: "link ir-source",
    text: fmtSource(s),
    title: `${s.file}:${s.line}:${s.column}`,
    attrs: { href: "#", role: "link" },
    on: {
      click: (e) => {
        e.preventDefault();
        e.stopPropagation();
        reveal(s);
      },
    },
  });
}
