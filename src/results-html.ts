// Renders one run's outputs as an HTML fragment for the "Primal Results" panel: text as
// preformatted blocks, arrays as tables with a shape/dtype header (edges only when the kernel
// summarised them, with "…" rows and columns where indices jump), records as tables, plots as
// inline SVG, errors with a clickable location. Pure string functions with no `vscode` import,
// so they can run anywhere; every interpolated value goes through `esc`, since cell output is
// untrusted text shown inside a webview.

import type { ArrayOutput, CellErrorInfo, CellOutput, JsonNumber, PlotSpec, TableOutput } from "../kernel/protocol";

/** What the renderer needs to know of a run (a subset of RunRecord). */
export interface RunView {
  runId: string;
  file: string;
  cell: number;
  title: string;
  status: string;
  outputs: readonly CellOutput[];
  value?: string;
  valueOutput?: CellOutput;
  error?: CellErrorInfo;
  crash?: string;
  durationMs?: number;
  jit: boolean;
  omitted?: { lines: number; displays: number };
}

/** HTML-escapes text for element content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** The whole fragment for one run: a header line, then each output. */
export function renderRun(run: RunView): string {
  const name = run.file.split(/[\\/]/).pop() ?? run.file;
  const head =
    `<div class="run-head"><span class="status status-${esc(run.status)}">${esc(statusLabel(run.status))}</span> ` +
    `<span class="cell-name">${esc(name)} · cell ${run.cell + 1}${run.title ? ` · ${esc(run.title)}` : ""}</span>` +
    `<span class="meta">${run.durationMs !== undefined ? esc(formatDuration(run.durationMs)) + " · " : ""}JIT ${run.jit ? "on" : "off"}</span></div>`;
  const body: string[] = run.outputs.map(renderOutput);
  if (run.omitted && (run.omitted.lines || run.omitted.displays))
    body.push(`<div class="note">${run.omitted.lines ? `${run.omitted.lines.toLocaleString("en-US")} lines ` : ""}${run.omitted.displays ? `${run.omitted.displays} displays ` : ""}omitted</div>`);
  if (run.valueOutput) body.push(`<div class="value">${renderOutput(run.valueOutput)}</div>`);
  else if (run.value !== undefined) body.push(`<pre class="value">${esc(run.value)}</pre>`);
  if (run.error) body.push(renderError(run.error));
  if (run.crash) body.push(`<div class="error"><span class="error-name">Kernel died</span> ${esc(run.crash)}<div class="note">The next run starts a new kernel.</div></div>`);
  return `<section class="run" id="run-${esc(run.runId)}" data-status="${esc(run.status)}">${head}${body.join("")}</section>`;
}

function statusLabel(s: string): string {
  return { running: "⋯ running", ok: "✓", error: "✖ error", interrupted: "■ interrupted", crashed: "✖ kernel died" }[s] ?? s;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** One output. */
export function renderOutput(o: CellOutput): string {
  switch (o.kind) {
    case "text":
      return `<pre class="text ${o.stream}">${esc(o.text.replace(/\n$/, ""))}</pre>${o.omittedLines ? `<div class="note">… ${o.omittedLines.toLocaleString("en-US")} more lines …</div>` : ""}`;
    case "display":
      return `<pre class="display">${esc(o.text)}</pre>`;
    case "array":
      return renderArray(o);
    case "table":
      return renderTable(o);
    case "plot":
      return renderPlot(o.plot);
    case "error":
      return renderError(o.error);
  }
}

function num(v: JsonNumber | boolean | string | null): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : formatFloat(v);
  return v === null ? "" : String(v);
}

function formatFloat(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

/** An array as a table: header with dtype[shape], device and stats; "…" where the preview skips. */
export function renderArray(a: ArrayOutput): string {
  const p = a.preview;
  const stats = a.stats ? ` · min ${num(a.stats.min)} · max ${num(a.stats.max)} · mean ${num(a.stats.mean)}${a.stats.nanCount ? ` · ${a.stats.nanCount} NaN` : ""}` : "";
  const head =
    `<div class="array-head"><span class="dtype">${esc(a.dtype)}[${a.shape.join(", ")}]</span>` +
    `<span class="meta">${a.size.toLocaleString("en-US")} element${a.size === 1 ? "" : "s"}${a.device ? ` · ${esc(a.device)}` : ""}${esc(stats)}${p.truncated ? " · summarised" : ""}</span></div>`;
  // A scalar reads best as its repr; a table of one cell says nothing more.
  if (a.shape.length === 0) return `<div class="array">${head}<pre class="value">${esc(a.repr)}</pre></div>`;
  // Column headers: original column indices, "…" where they jump.
  const colCells: string[] = [];
  p.colIndex.forEach((c, j) => {
    if (j > 0 && c !== p.colIndex[j - 1] + 1) colCells.push(`<th class="gap">…</th>`);
    colCells.push(`<th>${c}</th>`);
  });
  const rows: string[] = [];
  p.values.forEach((row, i) => {
    if (i > 0 && p.rowIndex[i] !== p.rowIndex[i - 1] + 1) rows.push(`<tr class="gap"><th>⋮</th>${colCells.map(() => "<td>⋮</td>").join("")}</tr>`);
    const cells: string[] = [];
    row.forEach((v, j) => {
      if (j > 0 && p.colIndex[j] !== p.colIndex[j - 1] + 1) cells.push(`<td class="gap">…</td>`);
      cells.push(`<td>${esc(num(v))}</td>`);
    });
    rows.push(`<tr><th>${esc(rowLabel(p.rowIndex[i], a.shape))}</th>${cells.join("")}</tr>`);
  });
  return `<div class="array">${head}<table class="grid"><thead><tr><th></th>${colCells.join("")}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

/** A flat row index as the leading axes' indices: row 7 of shape [2,4,3] is "1,3". */
function rowLabel(row: number, shape: number[]): string {
  if (shape.length <= 2) return String(row);
  const lead = shape.slice(0, -1);
  const idx: number[] = [];
  for (let k = lead.length - 1; k >= 0; k--) {
    idx.unshift(row % lead[k]);
    row = Math.floor(row / lead[k]);
  }
  return idx.join(",");
}

function renderTable(t: TableOutput): string {
  const head = `<tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const rows = t.rows.map((r) => `<tr>${r.map((v) => `<td>${esc(num(v))}</td>`).join("")}</tr>`).join("");
  const more = t.totalRows > t.rows.length ? `<div class="note">${t.rows.length} of ${t.totalRows.toLocaleString("en-US")} rows</div>` : "";
  return `<div class="table">${t.title ? `<div class="array-head">${esc(t.title)}</div>` : ""}<table class="grid"><thead>${head}</thead><tbody>${rows}</tbody></table>${more}</div>`;
}

/** An error: name and message, a clickable location, the mapped stack folded away. */
export function renderError(e: CellErrorInfo): string {
  const loc = e.location;
  const link = loc
    ? ` <a href="#" class="loc" data-file="${esc(loc.file)}" data-line="${loc.line}" data-column="${loc.column}">${esc(loc.file.split(/[\\/]/).pop())}:${loc.line}:${loc.column}</a>`
    : "";
  const stack = e.stack ? `<details><summary>stack</summary><pre>${esc(e.stack)}</pre></details>` : "";
  return `<div class="error"><span class="error-name">${esc(e.name)}</span>: ${esc(e.message)}${link}${stack}</div>`;
}

// ---- plots ---------------------------------------------------------------------------------

const W = 480;
const H = 260;
const M = { l: 52, r: 12, t: 24, b: 34 };

function finite(v: JsonNumber): number {
  return typeof v === "number" ? v : NaN;
}

/** Round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** A plot spec as a standalone SVG (line, scatter, histogram), coloured with theme variables. */
export function renderPlot(p: PlotSpec): string {
  let xs: number[] = [];
  let ys: number[] = [];
  if (p.type === "hist" && p.bins) {
    xs = p.bins.edges;
    ys = [0, ...p.bins.counts];
  } else for (const s of p.series ?? []) {
    xs.push(...s.x.map(finite));
    ys.push(...s.y.map(finite));
  }
  const fx = xs.filter(Number.isFinite);
  const fy = ys.filter(Number.isFinite);
  let [x0, x1] = fx.length ? [Math.min(...fx), Math.max(...fx)] : [0, 1];
  let [y0, y1] = fy.length ? [Math.min(...fy), Math.max(...fy)] : [0, 1];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  if (p.type === "hist") y0 = 0;
  const sx = (x: number): number => M.l + ((x - x0) / (x1 - x0)) * (W - M.l - M.r);
  const sy = (y: number): number => H - M.b - ((y - y0) / (y1 - y0)) * (H - M.t - M.b);
  const parts: string[] = [];
  // Axes and ticks.
  for (const t of ticks(y0, y1)) parts.push(`<line class="gridline" x1="${M.l}" x2="${W - M.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"/><text class="tick" x="${M.l - 4}" y="${(sy(t) + 3).toFixed(1)}" text-anchor="end">${esc(formatTick(t))}</text>`);
  for (const t of ticks(x0, x1)) parts.push(`<text class="tick" x="${sx(t).toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle">${esc(formatTick(t))}</text>`);
  parts.push(`<line class="axis" x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${H - M.b}"/><line class="axis" x1="${M.l}" x2="${W - M.r}" y1="${H - M.b}" y2="${H - M.b}"/>`);
  if (p.type === "hist" && p.bins) {
    const { edges, counts } = p.bins;
    counts.forEach((c, i) => {
      const x = sx(edges[i]);
      const w = Math.max(0.5, sx(edges[i + 1]) - x - 1);
      parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${sy(c).toFixed(1)}" width="${w.toFixed(1)}" height="${(sy(0) - sy(c)).toFixed(1)}"><title>[${esc(formatTick(edges[i]))}, ${esc(formatTick(edges[i + 1]))}): ${c}</title></rect>`);
    });
  } else {
    (p.series ?? []).forEach((s, k) => {
      const pts = s.x.map((x, i) => [finite(x), finite(s.y[i])]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      if (p.type === "scatter") for (const [x, y] of pts) parts.push(`<circle class="series s${k % 6}" cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2"/>`);
      else parts.push(`<polyline class="series s${k % 6}" fill="none" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ")}"/>`);
    });
  }
  if (p.title) parts.push(`<text class="title" x="${W / 2}" y="15" text-anchor="middle">${esc(p.title)}</text>`);
  if (p.xLabel) parts.push(`<text class="label" x="${(M.l + W - M.r) / 2}" y="${H - 4}" text-anchor="middle">${esc(p.xLabel)}</text>`);
  if (p.yLabel) parts.push(`<text class="label" x="12" y="${(M.t + H - M.b) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(M.t + H - M.b) / 2})">${esc(p.yLabel)}</text>`);
  const legend = (p.series ?? []).filter((s) => s.name).length > 1
    ? `<div class="legend">${(p.series ?? []).map((s, k) => `<span class="key s${k % 6}">■</span> ${esc(s.name ?? "")}`).join(" ")}</div>`
    : "";
  const note = p.downsampledFrom ? `<div class="note">downsampled from ${p.downsampledFrom.toLocaleString("en-US")} points</div>` : "";
  return `<div class="plot"><svg class="plot-svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(p.title ?? p.type)}">${parts.join("")}</svg>${legend}${note}</div>`;
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}
