// The gradients panel's controller: keeps the latest GradientRecordsResult, the state of each
// record's gradient check and the view state the user chose (open records, leaf sort; saved
// through the bridge so they survive hiding and reloads), and renders the page from them. It is
// a class over a root element and a Bridge so that tests drive it with messages exactly as the
// extension does and look at the DOM it produced.

import type { GradientRecord, GradientRecordsResult, HostToPanel, PanelKernelState } from "../../kernel/protocol";
import type { Bridge } from "../common/bridge";
import { clear, h } from "../common/dom";
import { renderStatus } from "../common/status";
import { CheckState } from "./check-view";
import { GradientsViewState, groupRecords, isExpanded, nextSort, restoreViewState } from "./model";
import { RecordView, recordView } from "./record-view";

/** The empty state's hint: what makes this panel show something. */
export const EMPTY_HINT = "Run a cell that calls grad or valueAndGrad";

/** The gradients panel over `root`, talking through `bridge`. */
export class GradientsPanel {
  private data: GradientRecordsResult | null = null;
  private kernel: PanelKernelState = "idle";
  private emptyReason: string | undefined;
  private state: GradientsViewState;
  private readonly checks = new Map<number, CheckState>();
  private views = new Map<number, RecordView>();

  constructor(
    readonly root: HTMLElement,
    private readonly bridge: Pick<Bridge, "post" | "getState" | "setState">,
  ) {
    this.state = restoreViewState(bridge.getState());
    this.root.classList.add("gradients-panel");
    this.render();
  }

  /** Handles one (already validated) message from the extension. */
  onMessage(m: HostToPanel): void {
    switch (m.type) {
      case "gradientRecords":
        this.data = m.data;
        this.kernel = m.kernel;
        this.emptyReason = undefined;
        // A check whose record is gone cannot be shown; forget it.
        for (const id of [...this.checks.keys()]) if (!m.data.records.some((r) => r.id === id)) this.checks.delete(id);
        this.render();
        return;
      case "empty":
        this.data = null;
        this.kernel = m.kernel;
        this.emptyReason = m.reason;
        this.render();
        return;
      case "checkGradsResult": {
        const prev = this.checks.get(m.result.recordId);
        this.checks.set(m.result.recordId, { status: "done", calls: prev?.calls ?? this.record(m.result.recordId)?.calls ?? 0, result: m.result });
        this.rerenderRecord(m.result.recordId);
        return;
      }
      default:
        // cursor / focus / other panels' data: nothing to do here.
        return;
    }
  }

  /** The rendered view of a record (tests). */
  view(id: number): RecordView | undefined {
    return this.views.get(id);
  }

  /** Takes the page down (virtual lists stop listening). */
  dispose(): void {
    for (const v of this.views.values()) v.dispose();
    this.views.clear();
    clear(this.root);
  }

  private record(id: number): GradientRecord | undefined {
    return this.data?.records.find((r) => r.id === id);
  }

  private save(): void {
    this.bridge.setState(this.state);
  }

  private isCurrent(r: GradientRecord): boolean {
    return this.data?.lastRunId === undefined || r.last.runId === this.data.lastRunId;
  }

  private check(r: GradientRecord): void {
    this.checks.set(r.id, { status: "running", calls: r.calls });
    this.bridge.post({ type: "checkGrads", recordId: r.id });
    this.rerenderRecord(r.id);
  }

  private viewOf(r: GradientRecord): RecordView {
    const current = this.isCurrent(r);
    return recordView(r, {
      post: (m) => this.bridge.post(m),
      expanded: isExpanded(this.state, r.id, current),
      current,
      sort: this.state.sort,
      check: this.checks.get(r.id),
      onToggle: () => {
        this.state.expanded[String(r.id)] = !isExpanded(this.state, r.id, current);
        this.save();
        this.rerenderRecord(r.id);
      },
      onSort: (key) => {
        this.state.sort = nextSort(this.state.sort, key);
        this.save();
        this.render();
      },
      onCheck: () => this.check(r),
    });
  }

  /** Re-renders one record in place (a toggle or a check result must not rebuild every table). */
  private rerenderRecord(id: number): void {
    const r = this.record(id);
    const old = this.views.get(id);
    if (!r || !old) return;
    const scroll = old.table?.list?.getScrollTop();
    const v = this.viewOf(r);
    old.dispose();
    old.el.replaceWith(v.el);
    this.views.set(id, v);
    if (scroll) v.table?.list?.setScrollTop(scroll);
  }

  private render(): void {
    // Keep each open table's scroll position across a live update.
    const scrolls = new Map<number, number>();
    for (const [id, v] of this.views) {
      const top = v.table?.list?.getScrollTop();
      if (top) scrolls.set(id, top);
      v.dispose();
    }
    this.views = new Map();
    // The root scrolls (gradients.css): emptying it resets its offset, which a live update must not.
    const rootScroll = this.root.scrollTop;
    clear(this.root);
    if (!this.data || this.data.records.length === 0) {
      renderStatus(this.root, this.kernel, this.emptyReason ?? EMPTY_HINT);
      return;
    }
    const { current, earlier } = groupRecords(this.data);
    const shown = this.data.records.length;
    const toolbar = h("div", { className: "toolbar" },
      h("span", { className: "toolbar-title", text: "Gradients" }),
      h("span", { className: "muted", text: `${current.length} in the last run${earlier.length ? ` · ${earlier.length} earlier` : ""}${this.data.total > shown ? ` · ${shown} of ${this.data.total} shown` : ""}` }),
      this.kernel === "busy" ? h("span", { className: "badge kernel-busy", text: "running" }) : null,
      h("vscode-button", { className: "refresh-button", text: "Refresh", attrs: { appearance: "secondary", title: "Ask the kernel for the latest records" }, on: { click: () => this.bridge.post({ type: "refresh" }) } }),
    );
    const list = h("div", { className: "records", attrs: { role: "list" } });
    const add = (r: GradientRecord) => {
      const v = this.viewOf(r);
      this.views.set(r.id, v);
      list.append(v.el);
    };
    current.forEach(add);
    if (earlier.length) {
      list.append(h("div", { className: "earlier-divider", attrs: { role: "separator", "aria-label": "earlier runs" } }, h("span", { className: "muted", text: "Earlier runs" }), h("vscode-divider", {})));
      earlier.forEach(add);
    }
    this.root.append(toolbar, list);
    this.root.scrollTop = rootScroll;
    for (const [id, top] of scrolls) this.views.get(id)?.table?.list?.setScrollTop(top);
  }
}
