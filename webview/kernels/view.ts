// The kernels panel's view: owns the records, what is expanded, the virtual list of rows and
// keyboard navigation, and turns clicks into messages to the extension. View state (what is
// expanded, the scroll offset, the focused row) is saved with the bridge on every change, so a
// panel that was hidden or reloaded (WebviewPanelSerializer) comes back where it was.

import { DeviceInfo, HostToPanel, KernelProgramRecord, KernelRecordsResult, KernelStepInfo, PanelKernelState } from "../../kernel/protocol";
import { Bridge } from "../common/bridge";
import { clear, h } from "../common/dom";
import { LazyHighlight } from "../common/highlight";
import { renderStatus } from "../common/status";
import { VirtualList } from "../common/virtual-list";
import { renderHeader } from "./header";
import { RowContext, renderRow } from "./render-rows";
import { Expansion, Row, buildRows, isOpen, lineCount, parentIndex, stepKey, toggleOf } from "./rows";

/** Row height in CSS pixels (panel.css --row-height). */
export const ROW_HEIGHT = 22;
/** Highlighters kept for steps that were opened (each holds its tokens). */
const HIGHLIGHT_CACHE = 64;

/** What the panel saves with `setState`. */
export interface KernelsViewState {
  v: 1;
  programs: number[];
  steps: string[];
  irs: string[];
  scrollTop: number;
  focus: number;
}

/** The kernels panel. */
export class KernelsView {
  private records: KernelProgramRecord[] = [];
  private data: KernelRecordsResult | null = null;
  private devices: DeviceInfo[] = [];
  private kernel: PanelKernelState = "idle";
  private rows: Row[] = [];
  private focus = 0;
  private readonly expansion: Expansion;
  private readonly highlights = new Map<string, { source: string; hl: LazyHighlight; cancel?: () => void }>();
  private readonly header: HTMLElement;
  private readonly body: HTMLElement;
  private readonly status: HTMLElement;
  readonly list: VirtualList<Row>;
  private pendingScroll: number | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly ctx: RowContext;

  constructor(
    root: HTMLElement,
    private readonly bridge: Bridge,
  ) {
    const saved = bridge.getState<KernelsViewState>();
    const ok = saved && saved.v === 1;
    this.expansion = {
      programs: new Set(ok ? saved.programs : []),
      steps: new Set(ok ? saved.steps : []),
      irs: new Set(ok ? saved.irs : []),
    };
    if (ok) {
      this.pendingScroll = saved.scrollTop;
      this.focus = saved.focus;
    }
    clear(root);
    root.classList.add("kernels-panel");
    this.header = h("div", { className: "header-slot" });
    this.status = h("div", { className: "status-slot" });
    this.body = h("div", { className: "kernels-list", attrs: { role: "tree", "aria-label": "Compiled programs and their kernels", tabindex: 0 } });
    root.append(this.header, this.status, this.body);
    this.ctx = {
      expansion: this.expansion,
      highlight: (rec, step) => this.highlighter(rec, step),
      revealSource: (rec) => rec.source && this.bridge.post({ type: "revealSource", source: rec.source }),
      showInIr: (rec, step) => {
        if (rec.irRecordId === undefined) return;
        // A program cut from a pmap body: its step equations index its own optimised jaxpr, which
        // the pmap record does not show, so the program's equations in the body are shown.
        if (rec.irEqns) this.bridge.post({ type: "showInIr", irRecordId: rec.irRecordId, optimized: false, eqns: [...rec.irEqns] });
        else this.bridge.post({ type: "showInIr", irRecordId: rec.irRecordId, optimized: true, eqns: [...step.eqns] });
      },
      openText: (rec, step) =>
        step.source !== null &&
        step.language &&
        this.bridge.post({ type: "openText", title: `${rec.name} · ${step.name}.${extension(step)}`.slice(0, 200), language: step.language, text: step.source }),
    };
    this.list = new VirtualList<Row>(this.body, { rowHeight: ROW_HEIGHT, overscan: 10, render: (row, i) => this.renderRowAt(row, i) });
    this.body.addEventListener("click", (e) => this.onClick(e));
    this.body.addEventListener("keydown", (e) => this.onKey(e));
    this.body.addEventListener("scroll", () => this.saveSoon(), { passive: true });
    this.renderHeader();
    renderStatus(this.status, "idle", "Waiting for the kernel's compiled programs…");
  }

  /** Handles a (validated) message from the extension. */
  onMessage(m: HostToPanel): void {
    if (m.type === "kernelRecords") this.setRecords(m.data, m.devices, m.kernel);
    else if (m.type === "empty") {
      this.kernel = m.kernel;
      this.data = null;
      this.records = [];
      this.renderHeader();
      this.rebuild();
      renderStatus(this.status, m.kernel, m.reason);
      this.body.classList.add("hidden");
    }
  }

  /** Shows new records (live update after a cell run): expansion and scroll position are kept. */
  setRecords(data: KernelRecordsResult, devices: DeviceInfo[], kernel: PanelKernelState): void {
    this.data = data;
    this.records = data.records;
    this.devices = devices;
    this.kernel = kernel;
    this.renderHeader();
    if (!this.records.length) {
      renderStatus(this.status, kernel, kernel === "idle" ? "No compiled programs yet. Run a cell that calls a jitted function." : undefined);
      this.body.classList.add("hidden");
    } else {
      clear(this.status);
      this.body.classList.remove("hidden");
    }
    this.forgetStaleHighlights();
    this.rebuild();
    if (this.pendingScroll !== null && this.records.length) {
      this.list.setScrollTop(this.pendingScroll);
      this.pendingScroll = null;
    }
  }

  /** The rows shown now (tests, and keyboard navigation). */
  getRows(): readonly Row[] {
    return this.rows;
  }

  /** Expands or collapses row `i` (a program, a step, a kernel-IR section). */
  toggle(i: number, open?: boolean): void {
    const row = this.rows[i];
    const t = row && toggleOf(row);
    if (!t) return;
    const set = this.expansion[t.set] as Set<number | string>;
    const now = open ?? !set.has(t.key);
    if (now === set.has(t.key)) return;
    if (now) set.add(t.key);
    else set.delete(t.key);
    if (!now && row.kind === "step") this.stopHighlighting(stepKey(row.rec, row.step));
    this.focus = i;
    this.rebuild();
    this.save();
  }

  /** Opens every program (their steps, not the steps' details) or closes everything. */
  expandAll(open: boolean): void {
    if (open) {
      for (const r of this.records) if (r.steps.length) this.expansion.programs.add(r.id);
    } else {
      this.expansion.programs.clear();
      this.expansion.steps.clear();
      this.expansion.irs.clear();
      for (const k of [...this.highlights.keys()]) this.stopHighlighting(k);
    }
    this.rebuild();
    this.save();
  }

  /** Re-renders the rows in view (after the highlighter finished loading). */
  refresh(): void {
    this.list.refresh();
  }

  private renderHeader(): void {
    clear(this.header);
    this.header.append(
      renderHeader(this.devices, this.data, this.kernel, {
        refresh: () => this.bridge.post({ type: "refresh" }),
        expandAll: () => this.expandAll(true),
        collapseAll: () => this.expandAll(false),
      }),
    );
  }

  private rebuild(): void {
    this.rows = buildRows(this.records, this.expansion, (s) => this.sourceLines(s));
    this.focus = Math.max(0, Math.min(this.focus, this.rows.length - 1));
    this.list.setItems(this.rows);
    this.updateActive();
  }

  private renderRowAt(row: Row, i: number): HTMLElement {
    const el = renderRow(row, this.ctx);
    el.id = `krow-${i}`;
    if (i === this.focus) el.classList.add("focused");
    return el;
  }

  /** Lines of a step's source (counted once per source text). */
  private sourceLines(step: KernelStepInfo): number {
    return step.source === null ? 0 : lineCount(step.source);
  }

  /** The step's highlighter, created when its source is first shown; tokenizes the rest in the background. */
  private highlighter(rec: KernelProgramRecord, step: KernelStepInfo): LazyHighlight {
    const key = stepKey(rec, step);
    const src = step.source ?? "";
    let e = this.highlights.get(key);
    if (!e || e.source !== src) {
      e?.cancel?.();
      const text = src.endsWith("\n") ? src.slice(0, -1) : src;
      e = { source: src, hl: new LazyHighlight(text, step.language ?? "javascript") };
      this.highlights.set(key, e);
      if (this.highlights.size > HIGHLIGHT_CACHE) {
        const [oldKey, old] = this.highlights.entries().next().value as [string, { cancel?: () => void }];
        old.cancel?.();
        this.highlights.delete(oldKey);
      }
    }
    const entry = e;
    if (!entry.cancel && entry.hl.tokenized < entry.hl.lineCount)
      entry.cancel = entry.hl.background((upTo) => this.recolour(key, upTo));
    return entry.hl;
  }

  /** Re-renders the plain source lines in view that the background tokenizer has now coloured. */
  private recolour(key: string, upTo: number): void {
    const first = Math.max(0, this.list.firstVisibleIndex() - 12);
    for (let i = first; i < Math.min(this.rows.length, first + 120); i++) {
      const row = this.rows[i];
      const el = this.list.rowElement(i);
      if (el?.dataset.plain && row.kind === "source-line" && row.line < upTo && stepKey(row.rec, row.step) === key) this.list.refreshIndex(i);
    }
  }

  /** Stops a closed step's background tokenizing (it resumes if the step is opened again). */
  private stopHighlighting(key: string): void {
    const e = this.highlights.get(key);
    e?.cancel?.();
    if (e) e.cancel = undefined;
  }

  /** Drops highlighters of steps no longer shown with the same source. */
  private forgetStaleHighlights(): void {
    const live = new Map<string, string>();
    for (const r of this.records) for (const s of r.steps) if (s.source !== null) live.set(stepKey(r, s), s.source);
    for (const [k, e] of this.highlights)
      if (live.get(k) !== e.source) {
        e.cancel?.();
        this.highlights.delete(k);
      }
  }

  private onClick(e: MouseEvent): void {
    const el = (e.target as HTMLElement).closest<HTMLElement>(".vlist-row");
    if (!el) return;
    const i = Number(el.dataset.index);
    // Keyboard navigation continues from the clicked row.
    if (document.activeElement !== this.body) this.body.focus({ preventScroll: true });
    this.setFocus(i, false);
    if (toggleOf(this.rows[i])) this.toggle(i);
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.rows.length;
    if (!n) return;
    const i = this.focus;
    const row = this.rows[i];
    switch (e.key) {
      case "ArrowDown":
        this.setFocus(Math.min(n - 1, i + 1));
        break;
      case "ArrowUp":
        this.setFocus(Math.max(0, i - 1));
        break;
      case "Home":
        this.setFocus(0);
        break;
      case "End":
        this.setFocus(n - 1);
        break;
      case "PageDown":
        this.setFocus(Math.min(n - 1, i + 20));
        break;
      case "PageUp":
        this.setFocus(Math.max(0, i - 20));
        break;
      case "ArrowRight":
        if (toggleOf(row) && !isOpen(row, this.expansion)) this.toggle(i, true);
        else if (i + 1 < n && this.rows[i + 1].depth > row.depth) this.setFocus(i + 1);
        break;
      case "ArrowLeft":
        if (toggleOf(row) && isOpen(row, this.expansion)) this.toggle(i, false);
        else if (parentIndex(this.rows, i) >= 0) this.setFocus(parentIndex(this.rows, i));
        break;
      case "Enter":
      case " ":
        if (toggleOf(row)) this.toggle(i);
        else if (row.kind === "eqns") this.ctx.showInIr(row.rec, row.step);
        else if (row.kind === "source") this.ctx.openText(row.rec, row.step);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  private setFocus(i: number, scroll = true): void {
    const old = this.list.rowElement(this.focus);
    old?.classList.remove("focused");
    this.focus = i;
    if (scroll) this.list.scrollToIndex(i, "nearest");
    this.updateActive();
    this.save();
  }

  private updateActive(): void {
    const el = this.list.rowElement(this.focus);
    el?.classList.add("focused");
    if (this.rows.length) this.body.setAttribute("aria-activedescendant", `krow-${this.focus}`);
    else this.body.removeAttribute("aria-activedescendant");
  }

  /** Saves the view state now. */
  save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    const s: KernelsViewState = {
      v: 1,
      programs: [...this.expansion.programs],
      steps: [...this.expansion.steps],
      irs: [...this.expansion.irs],
      scrollTop: this.pendingScroll ?? this.list.getScrollTop(),
      focus: this.focus,
    };
    this.bridge.setState(s);
  }

  /** Saves after scrolling settles (scroll events come many per second). */
  private saveSoon(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), 200);
  }
}

/** A file extension for "Open as text" titles (VS Code picks the language from the message, this is cosmetic). */
function extension(step: KernelStepInfo): string {
  return step.language === "javascript" ? "js" : step.language ?? "txt";
}
