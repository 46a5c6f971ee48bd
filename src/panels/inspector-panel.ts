// One inspector panel (IR, gradients or kernels): owns its WebviewPanel, sets the page, fetches
// the panel's records from the kernel and posts them, and hands every message the page sends
// — once validated with the protocol's validatePanelMessage — to the InspectorPanels that
// acts on it. A malformed message is logged to the "Primal" output channel and ignored: the
// page is untrusted input.
//
// Why it is shaped this way:
// - retainContextWhenHidden is off: a panel with a 5,000-equation jaxpr keeps a large DOM,
//   and hidden panels would hold it for nothing. A hidden panel's page is unloaded; when it is
//   shown again the page reloads, restores its UI state from the webview state it saved
//   (setState), and posts "ready", and this host answers with fresh data. Live updates for a
//   hidden panel only mark it stale; it fetches when it becomes visible.
// - Every fetch has a sequence number: a slow answer that comes after a newer one (a kernel
//   busy with a cell answers late) is dropped instead of overwriting fresher data.
// - What was posted is kept (the last messages, the page HTML, the rejected messages) so the
//   extension-host tests can check what the page was given without scraping the webview.

import * as vscode from "vscode";
import { KernelManager } from "../kernel-manager";
import { HostToPanel, InspectRecordsParams, PanelToHost, validatePanelMessage } from "../../kernel/protocol";
import { PanelSpec, RECORD_LIMIT, pageHtml, panelKernelState, webviewOptions } from "./panel-kinds";

/** Messages kept for the tests (newest last). */
const KEEP_POSTED = 40;
/** Coalesces refresh requests that arrive together (kernel state events, "ready", becoming visible). */
const REFRESH_DELAY_MS = 30;

/** What a panel host needs from the rest of the extension. */
export interface PanelContext {
  kernel: KernelManager;
  extensionUri: vscode.Uri;
  log: vscode.OutputChannel;
  /** The cell file the records are filtered to (undefined: all records). */
  recordFile(): string | undefined;
  /** Acts on a valid message from the page (reveal source, show in IR, check grads, ...). */
  onMessage(panel: InspectorPanel, m: PanelToHost): void;
  /** Messages a freshly loaded page needs after its data (the IR panel: the editor's cursor). */
  pageState(panel: InspectorPanel): HostToPanel[];
}

export class InspectorPanel implements vscode.Disposable {
  /** The last messages posted to the page, newest last (a test hook). */
  readonly posted: HostToPanel[] = [];
  /** Why each rejected message was rejected (a test hook). */
  readonly rejected: string[] = [];
  /** The page's HTML (a test hook for the CSP). */
  pageHtml = "";
  /** Fetches started (a test hook: live updates and visibility refreshes). */
  fetchCount = 0;
  /** Data changed while the panel was hidden: fetch when it is shown. */
  private stale = false;
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Messages to post after the next data message (e.g. a "focus" for a page still loading). */
  private afterData: HostToPanel[] = [];
  /** The page (re)loaded since the last data message: it needs pageState() too. */
  private pageFresh = true;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  /** Fires once when the panel closes. */
  readonly onDidDispose = this.disposeEmitter.event;
  private disposed = false;

  constructor(
    readonly spec: PanelSpec,
    readonly panel: vscode.WebviewPanel,
    private readonly ctx: PanelContext,
  ) {
    // Set again for a panel VS Code restored: its saved options may come from an older version.
    panel.webview.options = webviewOptions(ctx.extensionUri);
    this.pageHtml = pageHtml(spec, panel.webview, ctx.extensionUri);
    panel.webview.html = this.pageHtml;
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidChangeViewState(() => {
        if (panel.visible && this.stale) this.refresh();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    // Data goes out at once too, not only on "ready": VS Code queues messages until the page
    // has loaded, and a page that never says "ready" still gets its data.
    this.refresh();
  }

  get kind(): PanelSpec["kind"] {
    return this.spec.kind;
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  /** The last posted message of a type (a test hook). */
  last<T extends HostToPanel["type"]>(type: T): Extract<HostToPanel, { type: T }> | undefined {
    for (let i = this.posted.length - 1; i >= 0; i--) if (this.posted[i].type === type) return this.posted[i] as Extract<HostToPanel, { type: T }>;
    return undefined;
  }

  /** Handles a message from the page (the tests call this to inject messages as the page would). */
  receive(m: unknown): void {
    const v = validatePanelMessage(m);
    if (typeof v === "string") {
      this.rejected.push(v);
      if (this.rejected.length > KEEP_POSTED) this.rejected.shift();
      this.ctx.log.appendLine(`[panel ${this.kind}] ignored a malformed message: ${v}`);
      return;
    }
    if (v.type === "ready") this.pageFresh = true;
    if (v.type === "ready" || v.type === "refresh") this.refresh();
    else this.ctx.onMessage(this, v);
  }

  /** Posts a message to the page (recorded for the tests even if the page is not there). */
  post(m: HostToPanel): void {
    if (this.disposed) return;
    this.posted.push(m);
    if (this.posted.length > KEEP_POSTED) this.posted.shift();
    void this.panel.webview.postMessage(m).then(undefined, (e: Error) => this.ctx.log.appendLine(`[panel ${this.kind}] postMessage failed: ${e.message}`));
  }

  /** Posts `m` after the next data message (or now, if the page already has its data and is visible). */
  postAfterData(m: HostToPanel): void {
    this.afterData.push(m);
    this.refresh();
  }

  /** A live update: fetch now if visible, else when the panel is shown. */
  invalidate(): void {
    if (this.visible) this.refresh();
    else this.stale = true;
  }

  /** Fetches the panel's records soon (calls that arrive together make one fetch). */
  refresh(): void {
    if (this.disposed) return;
    this.stale = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.fetch();
    }, REFRESH_DELAY_MS);
  }

  /** Fetches and posts the records now; resolves when posted (or dropped as stale). */
  async fetch(): Promise<void> {
    const my = ++this.seq;
    this.fetchCount++;
    const kernel = this.ctx.kernel;
    const state = panelKernelState(kernel.state);
    let msg: HostToPanel;
    if (state === "stopped" || state === "dead") {
      const reason =
        state === "dead"
          ? `The kernel died${kernel.death ? ` (${kernel.death.message})` : ""}. Run a cell to start a new one.`
          : "No kernel is running. Run a cell to see what it traced and compiled.";
      msg = { type: "empty", reason, kernel: state };
    } else if (kernel.state === "starting") {
      msg = { type: "empty", reason: "The kernel is starting.", kernel: state };
    } else {
      msg = await this.request();
    }
    if (my !== this.seq || this.disposed) return;
    this.post(msg);
    if (this.pageFresh) for (const m of this.ctx.pageState(this)) this.post(m);
    this.pageFresh = false;
    for (const m of this.afterData.splice(0)) this.post(m);
  }

  private async request(): Promise<HostToPanel> {
    const kernel = this.ctx.kernel;
    const file = this.ctx.recordFile();
    try {
      let data = await kernel.query<{ records: unknown[]; total: number }>(this.spec.method, { file, limit: RECORD_LIMIT } satisfies InspectRecordsParams);
      // Records of the session exist but none from this file (e.g. the cells ran from another
      // file, or imported code traced): show them all rather than an empty panel.
      if (file && data.records.length === 0 && data.total > 0)
        data = await kernel.query(this.spec.method, { limit: RECORD_LIMIT } satisfies InspectRecordsParams);
      const k = panelKernelState(kernel.state);
      switch (this.spec.messageType) {
        case "irRecords":
          return { type: "irRecords", data: data as never, kernel: k };
        case "gradientRecords":
          return { type: "gradientRecords", data: data as never, kernel: k };
        case "kernelRecords":
          return { type: "kernelRecords", data: data as never, devices: kernel.info?.devices ?? [], kernel: k };
      }
    } catch (e) {
      const why = (e as Error).message;
      this.ctx.log.appendLine(`[panel ${this.kind}] ${this.spec.method} failed: ${why}`);
      return { type: "empty", reason: `The kernel did not answer ${this.spec.method}: ${why}`, kernel: panelKernelState(kernel.state) };
    }
  }

  /** Brings the panel to the front (without taking focus from the editor unless asked). */
  reveal(preserveFocus = true): void {
    if (!this.disposed) this.panel.reveal(this.panel.viewColumn, preserveFocus);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}
