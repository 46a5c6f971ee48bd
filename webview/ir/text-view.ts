// One printed jaxpr in the IR panel, line by line exactly as `makeJaxpr` printed it, highlighted
// with the primal-ir grammar, in a virtualised list (only the lines in view exist in the DOM, so
// a 5,000-equation jaxpr costs what 50 lines do). The line model (line-model.ts) gives the
// equation behind each line: a click reveals its source in the editor, folds hide the inner
// lines of nested jaxprs, the cursor/focus highlights mark equations' lines, and the hover
// title lists the variables' shapes and dtypes. Keyboard: up/down move the selection, left/right
// fold and unfold, Enter reveals the source.

import { JaxprInfo, SourceLine } from "../../kernel/protocol";
import { h } from "../common/dom";
import { LazyHighlight, highlighterReady, renderLine } from "../common/highlight";
import { VirtualList } from "../common/virtual-list";
import { EqnEntry, Fold, LineModel } from "./line-model";

/** Height of a line, in CSS pixels (ir.css `.ir-line`). */
export const LINE_HEIGHT = 20;
/** Lines a render may tokenize synchronously to colour the lines in view; further ones wait for the background pass. */
const SYNC_TOKENIZE = 400;

/** What a text view needs from its panel. */
export interface TextViewHost {
  revealSource(source: SourceLine): void;
  /** The folds or the scroll offset changed (the panel saves its state). */
  changed(): void;
}

/** Saved state of one view: the folds toggled away from their default, and the scroll offset. */
export interface TextViewState {
  toggled?: number[];
  scroll?: number;
}

/** The virtualised, foldable, clickable lines of one jaxpr text. */
export class JaxprTextView {
  readonly el: HTMLElement;
  readonly model: LineModel;
  readonly list: VirtualList<number>;
  /** Folds toggled away from their default state (what is saved). */
  private readonly toggled: Set<number>;
  private folded: Set<number>;
  private visible: number[] = [];
  /** Highlighted lines (cursor/focus), and a prefix count over them to tell folds that hide some. */
  private hits: Uint8Array | null = null;
  private hitPrefix: Int32Array | null = null;
  private selected = -1;
  private readonly hl: LazyHighlight;
  private cancelHl: (() => void) | null = null;
  /** Lowest line rendered without colours (refreshed when the background pass reaches it). */
  private plainFrom = Infinity;
  private savedScroll: number;

  constructor(
    text: string,
    jaxpr: JaxprInfo,
    private readonly host: TextViewHost,
    saved: TextViewState = {},
    label = "jaxpr",
  ) {
    this.model = new LineModel(text, jaxpr);
    this.toggled = new Set((saved.toggled ?? []).filter((s) => this.model.folds.has(s)));
    this.folded = this.model.foldedSet(this.toggled);
    this.hl = new LazyHighlight(text, "primal-ir");
    this.el = h("div", { className: "ir-lines", attrs: { role: "tree", "aria-label": label, tabindex: 0 } });
    this.list = new VirtualList<number>(this.el, { rowHeight: LINE_HEIGHT, overscan: 12, render: (l) => this.renderLine(l) });
    this.el.addEventListener("click", (e) => this.onClick(e));
    this.el.addEventListener("keydown", (e) => this.onKey(e));
    this.el.addEventListener("scroll", () => this.host.changed(), { passive: true });
    this.savedScroll = saved.scroll ?? 0;
    this.relayout();
    this.startHighlight();
  }

  /**
   * Puts the view in the page and restores its saved scroll offset (an element out of the
   * document cannot scroll, so this waits until it is in it).
   */
  mount(parent: HTMLElement): void {
    parent.append(this.el);
    this.list.refresh();
    this.restoreScroll(20);
  }

  /** Applies the saved scroll offset once the view is in the document (tries a few times, a task apart). */
  private restoreScroll(tries: number): void {
    if (!this.savedScroll) return;
    if (this.el.isConnected) {
      this.list.setScrollTop(this.savedScroll);
      this.savedScroll = 0;
    } else if (tries > 0) setTimeout(() => this.restoreScroll(tries - 1), 0);
  }

  /** The saved state of this view. */
  state(): TextViewState {
    const s: TextViewState = {};
    if (this.toggled.size) s.toggled = [...this.toggled];
    const top = this.savedScroll || this.list.getScrollTop();
    if (top) s.scroll = top;
    return s;
  }

  /** The line indices shown now, in order (tests). */
  visibleLines(): readonly number[] {
    return this.visible;
  }

  /** Whether the fold starting at `start` is folded. */
  isFolded(start: number): boolean {
    return this.folded.has(start);
  }

  /** Folds or unfolds the region starting at line `start` (`fold` omitted: toggles). */
  setFold(start: number, fold?: boolean): void {
    const f = this.model.folds.get(start);
    if (!f) return;
    const now = fold ?? !this.folded.has(start);
    if (now === this.folded.has(start)) return;
    if (now === LineModel.defaultFolded(f)) this.toggled.delete(start);
    else this.toggled.add(start);
    this.folded = this.model.foldedSet(this.toggled);
    this.relayout();
    this.host.changed();
  }

  /** Folds or unfolds every region. */
  setAllFolds(fold: boolean): void {
    this.toggled.clear();
    for (const f of this.model.folds.values()) if (LineModel.defaultFolded(f) !== fold) this.toggled.add(f.start);
    this.folded = this.model.foldedSet(this.toggled);
    this.relayout();
    this.host.changed();
  }

  /**
   * Highlights the lines of these equations (null or empty clears); with `reveal`, scrolls the
   * first of them into view (a line inside a folded region shows through its fold's first line).
   * Returns how many lines were highlighted.
   */
  highlight(entries: readonly EqnEntry[] | null, reveal = true): number {
    if (!entries || entries.length === 0) {
      this.hits = this.hitPrefix = null;
      this.list.refresh();
      return 0;
    }
    const mask = this.model.linesOf(entries);
    const prefix = new Int32Array(mask.length + 1);
    let count = 0;
    let first = -1;
    for (let l = 0; l < mask.length; l++) {
      if (mask[l]) {
        count++;
        if (first < 0) first = l;
      }
      prefix[l + 1] = count;
    }
    this.hits = count ? mask : null;
    this.hitPrefix = count ? prefix : null;
    this.list.refresh();
    if (reveal && first >= 0) this.list.scrollToIndex(this.rowOf(first), "center");
    return count;
  }

  /** Highlights the equations an editor line made; returns them. */
  highlightSource(source: { file: string; line: number } | null): EqnEntry[] {
    const entries = source ? this.model.eqnsAtSource(source.file, source.line) : [];
    this.highlight(entries);
    return entries;
  }

  /** Whether line `l` is highlighted (tests). */
  isHighlighted(l: number): boolean {
    return !!this.hits?.[l];
  }

  /** Selects line `l` (unfolding what hides it) and scrolls it into view. */
  selectLine(l: number, reveal = true): void {
    if (l < 0 || l >= this.model.lines.length) return;
    const hiding = this.model.foldsAround(l).filter((f) => this.folded.has(f.start));
    if (hiding.length) {
      for (const f of hiding) this.setFoldQuiet(f);
      this.folded = this.model.foldedSet(this.toggled);
      this.relayout();
      this.host.changed();
    }
    this.selected = l;
    this.list.refresh();
    if (reveal) this.list.scrollToIndex(this.rowOf(l), "nearest");
  }

  /** The selected line, or -1. */
  selectedLine(): number {
    return this.selected;
  }

  /** Clicks on line `l` at `column`: selects it and reveals its equation's source. Returns the equation. */
  activateLine(l: number, column = 0): EqnEntry | null {
    this.selectLine(l, false);
    const e = this.model.eqnAt(l, column);
    if (e?.eqn.source) this.host.revealSource(e.eqn.source);
    return e;
  }

  /** Re-renders the lines in view (after the highlighter loaded). */
  refresh(): void {
    this.startHighlight();
    this.list.refresh();
  }

  /** Stops background work and removes the rows. */
  dispose(): void {
    this.cancelHl?.();
    this.list.dispose();
    this.el.remove();
  }

  // ---- internals -----------------------------------------------------------------------------

  private setFoldQuiet(f: Fold): void {
    if (LineModel.defaultFolded(f)) this.toggled.add(f.start);
    else this.toggled.delete(f.start);
  }

  private relayout(): void {
    this.visible = this.model.visibleLines(this.folded);
    this.list.setItems(this.visible);
  }

  /** The row showing line `l`: its own, or the first line of the outermost fold hiding it. */
  private rowOf(l: number): number {
    const v = this.visible;
    let lo = 0;
    let hi = v.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (v[mid] <= l) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private startHighlight(): void {
    if (!highlighterReady() || this.cancelHl) return;
    this.cancelHl = this.hl.background((upTo) => {
      if (upTo > this.plainFrom) {
        this.plainFrom = Infinity;
        this.list.refresh();
      }
    });
  }

  private tokens(l: number) {
    if (l >= this.hl.tokenized && highlighterReady() && l - this.hl.tokenized < SYNC_TOKENIZE) this.hl.ensure(l);
    if (l >= this.hl.tokenized && highlighterReady()) this.plainFrom = Math.min(this.plainFrom, l);
    return this.hl.line(l);
  }

  private renderLine(l: number): HTMLElement {
    const m = this.model;
    const fold = m.folds.get(l);
    const folded = !!fold && this.folded.has(l);
    const owner = m.ownerOf(l);
    const cls = ["ir-line"];
    if (owner) cls.push("ir-eqn");
    if (l === this.selected) cls.push("selected");
    if (this.hits && (this.hits[l] || (folded && fold && this.hitPrefix![fold.end + 1] - this.hitPrefix![l + 1] > 0))) cls.push("highlighted");
    const twistie = fold
      ? h("span", { className: "twistie ir-fold", text: folded ? "▸" : "▾", title: folded ? `Unfold ${fold.end - fold.start} lines` : "Fold", dataset: { fold: l } })
      : h("span", { className: "twistie" });
    const row = h(
      "div",
      {
        className: cls.join(" "),
        title: m.hoverText(l),
        dataset: { line: l },
        attrs: {
          role: "treeitem",
          "aria-level": (owner?.depth ?? 0) + 1,
          "aria-expanded": fold ? String(!folded) : null,
          "aria-selected": l === this.selected ? "true" : null,
        },
      },
      twistie,
      h("span", { className: "line-number", text: String(l + 1) }),
      renderLine(this.tokens(l)),
      folded && fold ? h("span", { className: "ir-fold-marker", text: foldMarker(m, fold), title: `${fold.end - fold.start} lines folded`, dataset: { fold: l } }) : null,
    );
    return row;
  }

  private onClick(e: MouseEvent): void {
    const target = e.target as HTMLElement | null;
    const foldEl = target?.closest<HTMLElement>("[data-fold]");
    if (foldEl && this.el.contains(foldEl)) {
      this.setFold(Number(foldEl.dataset.fold));
      return;
    }
    const row = target?.closest<HTMLElement>(".ir-line");
    if (!row || !this.el.contains(row)) return;
    this.el.focus({ preventScroll: true });
    this.activateLine(Number(row.dataset.line), clickColumn(e, row));
  }

  private onKey(e: KeyboardEvent): void {
    const v = this.visible;
    if (!v.length) return;
    const at = this.selected >= 0 ? this.rowOf(this.selected) : -1;
    const go = (row: number) => {
      row = Math.max(0, Math.min(v.length - 1, row));
      this.selected = v[row];
      this.list.refresh();
      this.list.scrollToIndex(row, "nearest");
    };
    switch (e.key) {
      case "ArrowDown": go(at + 1); break;
      case "ArrowUp": go(at < 0 ? 0 : at - 1); break;
      case "PageDown": go(at + 20); break;
      case "PageUp": go(at - 20); break;
      case "Home": go(0); break;
      case "End": go(v.length - 1); break;
      case "ArrowRight":
        if (this.selected >= 0 && this.folded.has(this.selected)) this.setFold(this.selected, false);
        else go(at + 1);
        break;
      case "ArrowLeft": {
        if (this.selected < 0) return;
        const f = this.model.folds.get(this.selected);
        if (f && !this.folded.has(this.selected)) this.setFold(this.selected, true);
        else {
          // To the first line of the enclosing equation.
          const around = this.model.foldsAround(this.selected);
          if (around.length) go(this.rowOf(around[around.length - 1].start));
        }
        break;
      }
      case "Enter":
      case " ":
        if (this.selected >= 0) this.activateLine(this.selected);
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}

/** What a folded region's first line ends with: `⋯ ] d a` (its last line, which names the inputs). */
function foldMarker(m: LineModel, f: Fold): string {
  const last = (m.lines[f.end] ?? "").trim();
  return last.length <= 60 ? ` ⋯ ${last}` : " ⋯";
}

/** The column of the line text a click landed on (0 when it cannot be told). */
function clickColumn(e: MouseEvent, row: HTMLElement): number {
  const code = row.querySelector(".code-line");
  if (!code) return 0;
  const doc = row.ownerDocument as Document & { caretPositionFromPoint?: (x: number, y: number) => { offsetNode: Node; offset: number } | null };
  // Where the browser can say which character is under the pointer, count the text before it.
  const caret = typeof doc.caretPositionFromPoint === "function" ? doc.caretPositionFromPoint(e.clientX, e.clientY) : null;
  if (caret && code.contains(caret.offsetNode)) return textBefore(code, caret.offsetNode) + caret.offset;
  const target = e.target as Node | null;
  if (target && target !== code && code.contains(target)) return textBefore(code, target);
  return 0;
}

/** Characters of `root`'s text that come before `node`. */
function textBefore(root: Node, node: Node): number {
  let n = 0;
  const walk = (cur: Node): boolean => {
    if (cur === node) return true;
    if (cur.nodeType === 3) {
      n += (cur.textContent ?? "").length;
      return false;
    }
    for (let c = cur.firstChild; c; c = c.nextSibling) if (walk(c)) return true;
    return false;
  };
  walk(root);
  return n;
}
