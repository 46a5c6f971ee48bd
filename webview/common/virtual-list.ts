// A virtualised list of fixed-height rows: the panels show up to hundreds of thousands of rows (a
// 5,000-equation jaxpr, 200 programs of 50 kernels, kernel sources of thousands of lines), and
// only the rows in view plus a margin exist in the DOM. Rows are absolutely positioned inside a
// spacer as tall as the whole list (positions set through the CSSOM: the pages' CSP forbids
// inline style attributes). Fixed heights keep scroll positions exact without measuring.

/** Options of a {@link VirtualList}. */
export interface VirtualListOptions<T> {
  /** Height of every row, in CSS pixels. */
  rowHeight: number;
  /** Builds a row's element (called again when the row comes back into view or on refresh). */
  render(item: T, index: number): HTMLElement;
  /** Rows rendered above and below the visible window (default 8). */
  overscan?: number;
}

/** Viewport height assumed when the container has no layout yet (hidden panel, happy-dom). */
const FALLBACK_HEIGHT = 600;

/** A scrolling list that keeps only the visible rows (plus overscan) in the DOM. */
export class VirtualList<T> {
  private items: T[] = [];
  private readonly spacer: HTMLElement;
  private readonly rows = new Map<number, HTMLElement>();
  private readonly overscan: number;
  private readonly onScroll = () => this.update();
  private readonly resize: ResizeObserver | null = null;

  constructor(
    readonly container: HTMLElement,
    private readonly opts: VirtualListOptions<T>,
  ) {
    this.overscan = opts.overscan ?? 8;
    container.classList.add("vlist");
    this.spacer = document.createElement("div");
    this.spacer.className = "vlist-spacer";
    container.append(this.spacer);
    container.addEventListener("scroll", this.onScroll, { passive: true });
    if (typeof ResizeObserver === "function") {
      this.resize = new ResizeObserver(() => this.update());
      this.resize.observe(container);
    }
  }

  /** Replaces the items and re-renders the rows in view (the scroll position is kept, clamped). */
  setItems(items: T[]): void {
    this.items = items;
    this.spacer.style.height = `${items.length * this.opts.rowHeight}px`;
    // A browser clamps the offset when the spacer shrinks; do it here too, before rendering.
    const max = Math.max(0, items.length * this.opts.rowHeight - this.viewportHeight());
    if (this.container.scrollTop > max) this.container.scrollTop = max;
    this.dropAll();
    this.update();
  }

  /** The current items. */
  getItems(): readonly T[] {
    return this.items;
  }

  /** Re-renders the rows in view (after their items changed in place). */
  refresh(): void {
    this.dropAll();
    this.update();
  }

  /** Re-renders one row if it is in the DOM. */
  refreshIndex(i: number): void {
    const old = this.rows.get(i);
    if (!old) return;
    const el = this.build(i);
    old.replaceWith(el);
    this.rows.set(i, el);
  }

  /**
   * Scrolls so that row `i` is visible: "start" puts it at the top, "center" (default) in the
   * middle; a row already fully in view does not move the list when `align` is "nearest".
   */
  scrollToIndex(i: number, align: "center" | "start" | "nearest" = "center"): void {
    if (!this.items.length) return;
    i = Math.max(0, Math.min(this.items.length - 1, i));
    const rh = this.opts.rowHeight;
    const vh = this.viewportHeight();
    let top: number;
    if (align === "start") top = i * rh;
    else if (align === "nearest") {
      const cur = this.container.scrollTop;
      if (i * rh >= cur && (i + 1) * rh <= cur + vh) return;
      top = i * rh < cur ? i * rh : (i + 1) * rh - vh;
    } else top = i * rh - (vh - rh) / 2;
    this.setScrollTop(top);
  }

  /** Sets the scroll offset (clamped) and renders the rows now in view. */
  setScrollTop(top: number): void {
    const max = Math.max(0, this.items.length * this.opts.rowHeight - this.viewportHeight());
    this.container.scrollTop = Math.max(0, Math.min(max, Math.round(top)));
    // Render now rather than on the scroll event: callers (and tests) look at the rows next.
    this.update();
  }

  /** The scroll offset. */
  getScrollTop(): number {
    return this.container.scrollTop;
  }

  /** Number of rows in the DOM now (a bounded number however long the list is). */
  renderedCount(): number {
    return this.rows.size;
  }

  /** The element of row `i` if it is rendered. */
  rowElement(i: number): HTMLElement | undefined {
    return this.rows.get(i);
  }

  /** Index of the first row at least partly in view. */
  firstVisibleIndex(): number {
    return Math.min(this.items.length - 1, Math.floor(this.container.scrollTop / this.opts.rowHeight));
  }

  /** Removes the list's elements and listeners. */
  dispose(): void {
    this.container.removeEventListener("scroll", this.onScroll);
    this.resize?.disconnect();
    this.dropAll();
    this.spacer.remove();
  }

  private viewportHeight(): number {
    return this.container.clientHeight || FALLBACK_HEIGHT;
  }

  private dropAll(): void {
    for (const el of this.rows.values()) el.remove();
    this.rows.clear();
  }

  private build(i: number): HTMLElement {
    const el = this.opts.render(this.items[i], i);
    el.classList.add("vlist-row");
    el.style.top = `${i * this.opts.rowHeight}px`;
    el.style.height = `${this.opts.rowHeight}px`;
    el.dataset.index = String(i);
    return el;
  }

  /** Renders the window [first - overscan, last + overscan] and drops the rows outside it. */
  private update(): void {
    const n = this.items.length;
    const rh = this.opts.rowHeight;
    const top = this.container.scrollTop;
    const start = Math.max(0, Math.floor(top / rh) - this.overscan);
    const end = Math.min(n, Math.ceil((top + this.viewportHeight()) / rh) + this.overscan);
    for (const [i, el] of this.rows)
      if (i < start || i >= end) {
        el.remove();
        this.rows.delete(i);
      }
    for (let i = start; i < end; i++) {
      if (this.rows.has(i)) continue;
      const el = this.build(i);
      this.rows.set(i, el);
      this.spacer.append(el);
    }
  }
}
