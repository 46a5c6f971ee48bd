// The IR panel's view: the list of traced functions (newest first, by cell and name, with a kind
// badge, a pmap's axis, and a link to the call site) and the detail of the selected one
// (record-view.ts), built only when it is selected. It handles the extension's messages (records after each run, the
// editor's cursor, a focus request from the kernels panel) and saves what the user set up
// (selected record, tab, graph or text, folds, scroll offsets) with the bridge, so a hidden or
// reloaded panel comes back as it was.

import { HostToPanel, IrRecord, IrRecordsResult, JaxprInfo, PanelKernelState, SourceLine } from "../../kernel/protocol";
import { Bridge } from "../common/bridge";
import { clear, h } from "../common/dom";
import { kernelStateBadge, renderStatus } from "../common/status";
import { sameFile } from "./line-model";
import { RecordView, pmapAxisText, sourceLink } from "./record-view";
import { TextViewState } from "./text-view";

/** What the panel saves with `setState`. */
export interface IrViewState {
  v: 1;
  selected?: { id: number; name: string };
  tab?: string;
  graph?: boolean;
  /** Per pane (`${record id}/${pane key}`): folds toggled and scroll offset. */
  panes?: Record<string, TextViewState>;
}

/** Panes whose state is kept (the most recently saved). */
const KEPT_PANES = 40;

/** The IR panel. */
export class IrView {
  private records: IrRecord[] = [];
  private total = 0;
  private kernel: PanelKernelState = "idle";
  private selected: { id: number; name: string } | null = null;
  private tab: string | undefined;
  private graph = false;
  private panes = new Map<string, TextViewState>();
  private detailView: RecordView | null = null;
  private cursor: { file: string; line: number } | null = null;
  private readonly header: HTMLElement;
  private readonly status: HTMLElement;
  private readonly list: HTMLElement;
  private readonly detailSlot: HTMLElement;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** A focus request for a record not received yet (the kernels panel can open this panel with one). */
  private pendingFocus: { id: number; optimized: boolean; eqns: number[] } | null = null;
  /** Per record: how many of its equations each source line made (`file\0line`), built on the first cursor message. */
  private readonly bySource = new WeakMap<IrRecord, Map<string, number>>();

  constructor(
    root: HTMLElement,
    private readonly bridge: Bridge,
  ) {
    const saved = bridge.getState<IrViewState>();
    if (saved && saved.v === 1) {
      this.selected = saved.selected ?? null;
      this.tab = saved.tab;
      this.graph = !!saved.graph;
      this.panes = new Map(Object.entries(saved.panes ?? {}));
    }
    clear(root);
    root.classList.add("ir-panel");
    this.header = h("div", { className: "panel-header" });
    this.status = h("div", { className: "status-slot" });
    this.list = h("div", { className: "ir-records", attrs: { role: "listbox", "aria-label": "Traced functions, newest first", tabindex: 0 } });
    this.detailSlot = h("div", { className: "ir-detail-slot" });
    root.append(this.header, this.status, this.list, this.detailSlot);
    this.list.addEventListener("click", (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>("[data-record]");
      if (row) this.select(Number(row.dataset.record));
    });
    this.list.addEventListener("keydown", (e) => this.onListKey(e));
    this.renderHeader();
    renderStatus(this.status, "idle", "Waiting for the kernel's traced functions…");
    this.list.hidden = true;
  }

  /** Handles a (validated) message from the extension. */
  onMessage(m: HostToPanel): void {
    switch (m.type) {
      case "irRecords":
        this.setRecords(m.data, m.kernel);
        break;
      case "empty":
        this.kernel = m.kernel;
        this.records = [];
        this.total = 0;
        this.renderHeader();
        this.dropDetail();
        clear(this.list);
        this.list.hidden = true;
        renderStatus(this.status, m.kernel, m.reason);
        break;
      case "cursor":
        this.setCursor(m.source);
        break;
      case "focus":
        this.focus(m.irRecordId, m.optimized, m.eqns);
        break;
      default:
        break;
    }
  }

  /** Shows new records (after a run): the selection follows the newest record if it was on the newest. */
  setRecords(data: IrRecordsResult, kernel: PanelKernelState): void {
    const prevNewest = this.records[0]?.id;
    this.records = data.records;
    this.total = data.total;
    this.kernel = kernel;
    this.renderHeader();
    if (!this.records.length) {
      this.dropDetail();
      clear(this.list);
      this.list.hidden = true;
      renderStatus(this.status, kernel, kernel === "idle" ? "No traced functions yet. Run a cell that calls a jitted function, grad or pmap." : undefined);
      return;
    }
    clear(this.status);
    this.list.hidden = false;
    const sel = this.selected;
    const kept = sel ? this.records.find((r) => r.id === sel.id && r.name === sel.name) : undefined;
    const onNewest = prevNewest !== undefined && sel?.id === prevNewest;
    const pick = kept && !onNewest ? kept : this.records[0];
    this.showRecord(pick);
    this.renderList();
    const f = this.pendingFocus;
    if (f && this.records.some((r) => r.id === f.id)) {
      this.pendingFocus = null;
      this.focus(f.id, f.optimized, f.eqns);
    }
  }

  /** Selects a record by id (builds its detail). */
  select(id: number): void {
    const r = this.records.find((x) => x.id === id);
    if (!r) return;
    this.showRecord(r);
    this.renderList();
  }

  /** The detail shown, if any (tests). */
  detail(): RecordView | null {
    return this.detailView;
  }

  /** The records' rows (tests). */
  recordRows(): HTMLElement[] {
    return [...this.list.querySelectorAll<HTMLElement>("[data-record]")];
  }

  /** Re-renders the lines in view (after the highlighter loaded). */
  refresh(): void {
    this.detailView?.refresh();
  }

  /** The state saved now (also what is given to the bridge). */
  state(): IrViewState {
    if (this.detailView) for (const [k, s] of this.detailView.paneStates()) this.rememberPane(`${this.detailView.record.id}/${k}`, s);
    const s: IrViewState = { v: 1, graph: this.graph };
    if (this.selected) s.selected = this.selected;
    if (this.tab) s.tab = this.tab;
    if (this.panes.size) s.panes = Object.fromEntries(this.panes);
    return s;
  }

  // ---- internals -----------------------------------------------------------------------------

  private showRecord(r: IrRecord): void {
    const cur = this.detailView;
    this.selected = { id: r.id, name: r.name };
    if (cur && cur.record.id === r.id && sameContent(cur.record, r)) return;
    this.dropDetail();
    // `changed` runs from the constructor too (the first tab is shown), before `view` is set.
    let view: RecordView | null = null;
    view = new RecordView(r, {
      revealSource: (s) => this.revealSource(s),
      openText: (title, text) => this.bridge.post({ type: "openText", language: "primal-ir", title: title.slice(0, 200), text }),
      paneState: (key) => this.panes.get(`${r.id}/${key}`),
      changed: () => {
        if (view && this.detailView === view) {
          this.tab = view.activeTab();
          this.graph = view.graphShown();
        }
        this.saveSoon();
      },
    }, { tab: this.tab, graph: this.graph });
    this.detailView = view;
    this.detailSlot.append(view.el);
    if (this.cursor) view.setCursor(this.cursor);
    this.save();
  }

  private dropDetail(): void {
    if (!this.detailView) return;
    for (const [k, s] of this.detailView.paneStates()) this.rememberPane(`${this.detailView.record.id}/${k}`, s);
    this.detailView.dispose();
    this.detailView = null;
  }

  private rememberPane(key: string, s: TextViewState): void {
    this.panes.delete(key);
    if (!s.toggled && !s.scroll) return;
    this.panes.set(key, s);
    while (this.panes.size > KEPT_PANES) this.panes.delete(this.panes.keys().next().value as string);
  }

  private revealSource(s: SourceLine): void {
    this.bridge.post({ type: "revealSource", source: { file: s.file, line: s.line, column: s.column } });
  }

  private setCursor(source: { file: string; line: number } | null): void {
    this.cursor = source;
    this.detailView?.setCursor(source);
    this.markRows();
  }

  /** Marks the records that have equations made by the cursor's line. */
  private markRows(): void {
    const source = this.cursor;
    for (const row of this.recordRows()) {
      const r = this.records.find((x) => x.id === Number(row.dataset.record));
      const n = r && source ? this.countAt(r, source) : 0;
      row.classList.toggle("has-hits", n > 0);
      const badge = row.querySelector(".ir-hits");
      if (badge) badge.textContent = n > 0 ? `${n} eqn${n === 1 ? "" : "s"} at cursor` : "";
    }
  }

  private countAt(r: IrRecord, s: { file: string; line: number }): number {
    let m = this.bySource.get(r);
    if (!m) {
      m = new Map();
      const add = (j: JaxprInfo) => {
        for (const e of j.eqns) {
          if (e.source) {
            const k = `${e.source.file.replace(/\\/g, "/")}\u0000${e.source.line}`;
            m!.set(k, (m!.get(k) ?? 0) + 1);
          }
          for (const p of e.params) if (p.kind === "jaxprs") p.jaxprs.forEach(add);
        }
      };
      add(r.jaxpr);
      this.bySource.set(r, m);
    }
    const direct = m.get(`${s.file.replace(/\\/g, "/")}\u0000${s.line}`);
    if (direct !== undefined) return direct;
    // Paths that differ only in a drive letter's case.
    let n = 0;
    for (const [k, c] of m) {
      const [file, line] = k.split("\u0000");
      if (Number(line) === s.line && sameFile(file, s.file)) n += c;
    }
    return n;
  }

  private focus(id: number, optimized: boolean, eqns: number[]): void {
    const r = this.records.find((x) => x.id === id);
    if (!r) {
      // Shown when the records arrive (a panel opened by "show in IR" gets the focus first).
      this.pendingFocus = { id, optimized, eqns };
      return;
    }
    this.select(id);
    this.detailView?.focus(optimized, eqns);
    this.recordRows().find((row) => Number(row.dataset.record) === id)?.scrollIntoView?.({ block: "nearest" });
  }

  private renderHeader(): void {
    clear(this.header);
    const shown = this.records.length;
    this.header.append(
      h("span", { className: "panel-title", text: "Traced functions" }),
      h("span", { className: "muted", text: shown ? (this.total > shown ? `${shown} newest of ${this.total}` : `${shown}`) : "" }),
      kernelStateBadge(this.kernel),
      h("span", { className: "spacer" }),
      h("vscode-button", { attrs: { appearance: "secondary", title: "Ask the kernel for its records again" }, text: "Refresh", on: { click: () => this.bridge.post({ type: "refresh" }) } }),
    );
  }

  private renderList(): void {
    clear(this.list);
    const sel = this.selected?.id;
    for (const r of this.records) {
      const on = r.id === sel;
      const row = h(
        "div",
        { className: `ir-rec-row${on ? " selected" : ""}`, dataset: { record: r.id }, attrs: { role: "option", "aria-selected": String(on), id: `ir-rec-${r.id}` } },
        h("span", { className: "ir-rec-name", text: r.name }),
        h("span", { className: `badge ir-kind ir-kind-${r.kind}`, text: r.kind }),
        r.pmap ? h("span", { className: "muted ir-pmap-axis", text: pmapAxisText(r.pmap), title: `Per-device program, runs on ${r.pmap.devices.join(", ")}` }) : null,
        r.optimized ? h("span", { className: "badge ir-opt", text: "compiled", title: "Has the optimized program the compiler lowered" }) : null,
        r.cell !== undefined ? h("span", { className: "muted", text: `cell ${r.cell + 1}`, title: "The cell that traced it (counting from 1)" }) : null,
        h("span", { className: "muted ir-avals", text: `(${r.inAvals.map((a) => a.text).join(", ")})` }),
        h("span", { className: "muted", text: `${r.jaxpr.eqnCount} eqns` }),
        h("span", { className: "ir-hits" }),
        h("span", { className: "spacer" }),
        r.source ? sourceLink(r.source, (s) => this.revealSource(s)) : null,
      );
      this.list.append(row);
    }
    if (sel !== undefined) this.list.setAttribute("aria-activedescendant", `ir-rec-${sel}`);
    // Not setCursor: a new run must not scroll the detail back to the cursor's lines.
    if (this.cursor) this.markRows();
  }

  private onListKey(e: KeyboardEvent): void {
    if (!this.records.length) return;
    const at = this.records.findIndex((r) => r.id === this.selected?.id);
    let next = at;
    if (e.key === "ArrowDown") next = Math.min(this.records.length - 1, at + 1);
    else if (e.key === "ArrowUp") next = Math.max(0, at - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = this.records.length - 1;
    else return;
    e.preventDefault();
    if (next !== at) {
      this.select(this.records[next].id);
      this.recordRows()[next]?.scrollIntoView?.({ block: "nearest" });
    }
  }

  private saveSoon(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.save();
    }, 200);
  }

  private save(): void {
    this.bridge.setState(this.state());
  }
}

/** Whether two records with one id carry the same programs (a record gains its optimized program when compiled). */
function sameContent(a: IrRecord, b: IrRecord): boolean {
  return a.text === b.text && a.optimized?.text === b.optimized?.text && a.backward?.text === b.backward?.text && a.linear?.text === b.linear?.text;
}
