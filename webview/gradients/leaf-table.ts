// The gradients panel's per-leaf table: one row per parameter leaf of a gradient record (path,
// shape, dtype, norm, min/max/mean, zero fraction, NaN/Inf counts, a histogram and the leaf's
// norm over the recorded steps). Up to VIRTUAL_THRESHOLD leaves it is the toolkit's data grid,
// which looks and navigates like VS Code's own tables; past that it is a virtualised table of
// the same columns (the data grid renders every row, and a model with thousands of parameter
// arrays must not put thousands of rows with two SVGs each into the page).

import type { GradientRecord, JsonNumber } from "../../kernel/protocol";
import { fmtNum, h, isBad } from "../common/dom";
import { histogram, sparkline } from "../common/sparkline";
import { VirtualList } from "../common/virtual-list";
import { LeafRow, LeafSort, SortKey, VIRTUAL_THRESHOLD, hasPoints, leafIsBad, leafNormSeries, shapeText, sortLeaves } from "./model";

/** One column of the table. */
interface Column {
  /** What clicking its header sorts by; null: not sortable. */
  sort: SortKey | null;
  title: string;
  /** Tooltip of the header. */
  help: string;
  /** Its track in the CSS grid. */
  width: string;
  numeric?: boolean;
}

const COLUMNS: Column[] = [
  { sort: "path", title: "Leaf", help: "Pytree path of the parameter, starting with the function's parameter name", width: "minmax(110px, 2fr)" },
  { sort: "size", title: "Shape", help: "Shape of the gradient (sorts by element count)", width: "minmax(60px, 1fr)" },
  { sort: null, title: "dtype", help: "Element type of the gradient", width: "78px" },
  { sort: "norm", title: "L2 norm", help: "Euclidean norm of the gradient, computed in float64", width: "minmax(84px, 1fr)", numeric: true },
  { sort: "min", title: "Min", help: "Smallest element (NaN ignored)", width: "minmax(92px, 1fr)", numeric: true },
  { sort: "max", title: "Max", help: "Largest element (NaN ignored)", width: "minmax(92px, 1fr)", numeric: true },
  { sort: "mean", title: "Mean", help: "Mean of the elements", width: "minmax(92px, 1fr)", numeric: true },
  { sort: "zeros", title: "Zeros", help: "Fraction of elements exactly zero", width: "64px", numeric: true },
  { sort: "nan", title: "NaN", help: "Number of NaN elements", width: "52px", numeric: true },
  { sort: "inf", title: "Inf", help: "Number of infinite elements", width: "52px", numeric: true },
  { sort: null, title: "Histogram", help: "20 bins over [min, max] of the finite elements", width: "96px" },
  { sort: null, title: "Norm trend", help: "This leaf's gradient norm over the recorded steps", width: "100px" },
];

/** The CSS grid tracks of the columns (the data grid's grid-template-columns, the virtual rows' template). */
export const GRID_TEMPLATE = COLUMNS.map((c) => c.width).join(" ");

/** Row height of the virtualised table, in CSS pixels (fixed: the list positions rows by index). */
export const VIRTUAL_ROW_HEIGHT = 28;

const HIST_SIZE = { width: 88, height: 18 };
const SPARK_SIZE = { width: 88, height: 18 };

/** What a cell holds before it is wrapped in a data-grid cell or a virtual-table cell. */
interface CellContent {
  content: (Node | string)[];
  className?: string;
  title?: string;
  /** Columns this cell spans (a leaf without statistics: one muted cell over the statistics' columns). */
  span?: number;
}

function countCell(n: number, what: string): CellContent {
  if (n === 0) return { content: ["0"], className: "num" };
  // A count > 0 is the one thing in the table the user must not miss: error colour and a badge.
  const badge = h("span", { className: "badge bad-badge", text: String(n), title: `${n} ${what} element${n === 1 ? "" : "s"}` });
  return { content: [badge], className: "num bad" };
}

function statCell(x: JsonNumber): CellContent {
  return { content: [fmtNum(x)], className: isBad(x) ? "num bad" : "num", title: String(x) };
}

/** The cells of one leaf's row, in column order. */
function rowCells(r: GradientRecord, row: LeafRow): CellContent[] {
  const { leaf, index } = row;
  const cells: CellContent[] = [
    { content: [leaf.path], className: "leaf-path", title: leaf.path },
    { content: [shapeText(leaf.shape)], className: "mono" },
    { content: [leaf.dtype], className: "mono muted" },
  ];
  const s = leaf.stats;
  if (!s) {
    cells.push({ content: [leaf.missing ?? "no values"], className: "missing", title: `No statistics: ${leaf.missing ?? "no values"}`, span: 7 });
  } else {
    cells.push(statCell(s.l2), statCell(s.min), statCell(s.max), statCell(s.mean));
    cells.push({ content: [`${fmtNum(s.zeroFraction * 100, 3)}%`], className: "num", title: `${s.zeroFraction}` });
    cells.push(countCell(s.nanCount, "NaN"), countCell(s.infCount, "infinite"));
  }
  if (s && s.histogram.counts.length) {
    const { edges, counts } = s.histogram;
    cells.push({
      content: [histogram(edges, counts, { ...HIST_SIZE, className: "leaf-hist" })],
      title: `${counts.reduce((a, b) => a + b, 0)} finite elements in [${fmtNum(edges[0])}, ${fmtNum(edges[edges.length - 1])}]`,
    });
  } else cells.push({ content: [s ? "no finite values" : ""], className: "muted" });
  const series = leafNormSeries(r, index);
  if (hasPoints(series)) cells.push({ content: [sparkline(series, { ...SPARK_SIZE, className: "leaf-spark" })], title: `norm over ${series.length} step${series.length === 1 ? "" : "s"}` });
  else cells.push({ content: [""], className: "muted" });
  return cells;
}

/** What the table needs from its panel. */
export interface LeafTableOptions {
  sort: LeafSort;
  onSort(key: SortKey): void;
}

/** A rendered table and how to take it down (the virtual table listens to scrolling). */
export interface LeafTable {
  el: HTMLElement;
  /** The virtual list when the table is virtualised (tests look at its rendered count). */
  list: VirtualList<LeafRow> | null;
  dispose(): void;
}

function ariaSort(c: Column, sort: LeafSort): string {
  if (c.sort === null || c.sort !== sort.key) return "none";
  return sort.dir === "asc" ? "ascending" : "descending";
}

function headerContent(c: Column, sort: LeafSort): (Node | string)[] {
  const arrow = c.sort !== null && c.sort === sort.key ? (sort.dir === "asc" ? " ▲" : " ▼") : "";
  return [c.title, arrow ? h("span", { className: "sort-arrow", text: arrow, attrs: { "aria-hidden": "true" } }) : ""];
}

function wireSort(el: HTMLElement, c: Column, opts: LeafTableOptions): void {
  if (c.sort === null) return;
  const key = c.sort;
  el.classList.add("sortable");
  el.addEventListener("click", () => opts.onSort(key));
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      opts.onSort(key);
    }
  });
}

/** The toolkit data grid: every row in the DOM, the toolkit's keyboard navigation and styling. */
function dataGrid(r: GradientRecord, rows: LeafRow[], opts: LeafTableOptions): LeafTable {
  const grid = h("vscode-data-grid", {
    className: "leaf-grid",
    attrs: { "grid-template-columns": GRID_TEMPLATE, "generate-header": "none", "aria-label": `Gradient leaves of ${r.name}` },
  });
  const header = h("vscode-data-grid-row", { className: "leaf-header", attrs: { "row-type": "header" } });
  COLUMNS.forEach((c, i) => {
    const cell = h("vscode-data-grid-cell", { title: c.help, attrs: { "cell-type": "columnheader", "grid-column": String(i + 1), "aria-sort": ariaSort(c, opts.sort) } }, ...headerContent(c, opts.sort));
    if (c.numeric) cell.classList.add("num");
    wireSort(cell, c, opts);
    header.append(cell);
  });
  grid.append(header);
  for (const row of rows) {
    const tr = h("vscode-data-grid-row", { className: leafIsBad(row.leaf) ? "leaf-row bad-row" : "leaf-row", dataset: { leaf: row.index } });
    let col = 1;
    for (const c of rowCells(r, row)) {
      const span = c.span ?? 1;
      tr.append(h("vscode-data-grid-cell", { className: c.className, title: c.title, attrs: { "grid-column": span > 1 ? `${col} / span ${span}` : String(col) } }, ...c.content));
      col += span;
    }
    grid.append(tr);
  }
  return { el: grid, list: null, dispose: () => undefined };
}

/** A table of plain rows on a VirtualList: only the rows in view exist. */
function virtualTable(r: GradientRecord, rows: LeafRow[], opts: LeafTableOptions): LeafTable {
  const table = h("div", { className: "leaf-vtable", attrs: { role: "grid", "aria-label": `Gradient leaves of ${r.name}`, "aria-rowcount": rows.length + 1 } });
  const header = h("div", { className: "leaf-vheader", attrs: { role: "row", "aria-rowindex": 1 } });
  header.style.gridTemplateColumns = GRID_TEMPLATE;
  for (const c of COLUMNS) {
    const cell = h("div", { className: c.numeric ? "leaf-vcell num" : "leaf-vcell", title: c.help, attrs: { role: "columnheader", "aria-sort": ariaSort(c, opts.sort), tabindex: c.sort ? 0 : null } }, ...headerContent(c, opts.sort));
    wireSort(cell, c, opts);
    header.append(cell);
  }
  const body = h("div", { className: "leaf-vbody" });
  const list = new VirtualList<LeafRow>(body, {
    rowHeight: VIRTUAL_ROW_HEIGHT,
    render: (row, i) => {
      const tr = h("div", { className: leafIsBad(row.leaf) ? "leaf-vrow bad-row" : "leaf-vrow", attrs: { role: "row", "aria-rowindex": i + 2 }, dataset: { leaf: row.index } });
      tr.style.gridTemplateColumns = GRID_TEMPLATE;
      for (const c of rowCells(r, row)) {
        const cell = h("div", { className: `leaf-vcell ${c.className ?? ""}`.trim(), title: c.title, attrs: { role: "gridcell" } }, ...c.content);
        if (c.span) cell.style.gridColumn = `span ${c.span}`;
        tr.append(cell);
      }
      return tr;
    },
  });
  // The header lives in the list's scroll container, sticky at its top: it then has the rows'
  // width exactly (scrollbar and horizontal scrolling included), so the columns line up.
  body.prepend(header);
  table.append(body);
  list.setItems(rows);
  return { el: table, list, dispose: () => list.dispose() };
}

/** The table of a record's leaves, sorted as the panel says; a data grid or, for many leaves, a virtualised table. */
export function leafTable(r: GradientRecord, opts: LeafTableOptions): LeafTable {
  const rows = sortLeaves(r.last.leaves, opts.sort);
  return rows.length > VIRTUAL_THRESHOLD ? virtualTable(r, rows, opts) : dataGrid(r, rows, opts);
}
