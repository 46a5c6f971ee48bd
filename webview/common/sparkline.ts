// Tiny SVG charts for the gradients panel (loss and gradient-norm sparklines over steps, a
// histogram per gradient leaf). Built with createElementNS and classes only (the CSP forbids
// inline style attributes; colours come from panel.css via --vscode-charts-*). Non-finite values
// never reach a coordinate: NaN/Inf/null break a sparkline into separate runs, and an empty or
// inconsistent input gives an empty chart rather than an exception.

const SVG = "http://www.w3.org/2000/svg";

/** Size and class of a chart. */
export interface ChartOptions {
  width?: number;
  height?: number;
  className?: string;
  /** Accessible description (aria-label); a summary is generated when absent. */
  label?: string;
}

function svgRoot(kind: string, opts: ChartOptions, w: number, h: number): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", `chart ${kind}${opts.className ? ` ${opts.className}` : ""}`);
  svg.setAttribute("width", String(w));
  svg.setAttribute("height", String(h));
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("role", "img");
  return svg;
}

const r2 = (x: number) => String(Math.round(x * 100) / 100);

/**
 * A sparkline of `values` over their index: one `<polyline>` per run of at least two finite
 * values and a `<circle>` for a finite value alone between gaps (null, NaN, ±Inf break a run),
 * plus a `<circle class="spark-last">` on the last finite value. The y range is the finite
 * values' [min, max] (a flat line in the middle when they are equal).
 */
export function sparkline(values: (number | null)[], opts: ChartOptions = {}): SVGSVGElement {
  const w = opts.width ?? 120;
  const h = opts.height ?? 24;
  const svg = svgRoot("sparkline", opts, w, h);
  const finite = (v: number | null): v is number => typeof v === "number" && Number.isFinite(v);
  let lo = Infinity;
  let hi = -Infinity;
  let lastIndex = -1;
  values.forEach((v, i) => {
    if (!finite(v)) return;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    lastIndex = i;
  });
  const bad = values.length - values.filter(finite).length;
  svg.setAttribute("aria-label", opts.label ?? (lastIndex < 0 ? "no finite values" : `${values.length} values from ${lo} to ${hi}${bad ? `, ${bad} missing or not finite` : ""}`));
  if (lastIndex < 0) return svg;
  const pad = 2;
  const n = values.length;
  const x = (i: number) => (n === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (n - 1));
  const y = (v: number) => (hi === lo ? h / 2 : h - pad - ((v - lo) * (h - 2 * pad)) / (hi - lo));
  let run: number[] = [];
  const flush = () => {
    if (run.length === 1) svg.append(dot(x(run[0]), y(values[run[0]] as number), "spark-point"));
    else if (run.length > 1) {
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("class", "spark-line");
      line.setAttribute("points", run.map((i) => `${r2(x(i))},${r2(y(values[i] as number))}`).join(" "));
      svg.append(line);
    }
    run = [];
  };
  values.forEach((v, i) => (finite(v) ? run.push(i) : flush()));
  flush();
  svg.append(dot(x(lastIndex), y(values[lastIndex] as number), "spark-last"));
  return svg;
}

function dot(cx: number, cy: number, cls: string): SVGCircleElement {
  const c = document.createElementNS(SVG, "circle");
  c.setAttribute("class", cls);
  c.setAttribute("cx", r2(cx));
  c.setAttribute("cy", r2(cy));
  c.setAttribute("r", "1.5");
  return c;
}

/**
 * A histogram: one `<rect class="hist-bar">` per bin, placed by its edges (uneven bins keep their
 * widths), heights relative to the largest count, each with a `<title>` giving its range and
 * count for hovering. Empty when `edges.length !== counts.length + 1` or there are no bins; bins
 * are laid out evenly when the edges are not finite and increasing.
 */
export function histogram(edges: number[], counts: number[], opts: ChartOptions = {}): SVGSVGElement {
  const w = opts.width ?? 120;
  const h = opts.height ?? 32;
  const svg = svgRoot("histogram", opts, w, h);
  const nb = counts.length;
  if (!nb || edges.length !== nb + 1) {
    svg.setAttribute("aria-label", opts.label ?? "no histogram");
    return svg;
  }
  const total = counts.reduce((a, c) => a + (Number.isFinite(c) ? c : 0), 0);
  svg.setAttribute("aria-label", opts.label ?? `${nb} bins over [${edges[0]}, ${edges[nb]}], ${total} values`);
  const e0 = edges[0];
  const span = edges[nb] - e0;
  const even = !(Number.isFinite(span) && span > 0 && edges.every((e, i) => Number.isFinite(e) && (i === 0 || e >= edges[i - 1])));
  const xAt = (i: number) => (even ? (i * w) / nb : ((edges[i] - e0) * w) / span);
  const max = Math.max(0, ...counts.filter(Number.isFinite));
  for (let i = 0; i < nb; i++) {
    const c = Number.isFinite(counts[i]) ? Math.max(0, counts[i]) : 0;
    const bh = max > 0 ? (c * (h - 1)) / max : 0;
    const x0 = xAt(i);
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("class", "hist-bar");
    rect.setAttribute("x", r2(x0));
    rect.setAttribute("y", r2(h - bh));
    // A hairline gap between bars so neighbouring bins stay distinguishable.
    rect.setAttribute("width", r2(Math.max(0, xAt(i + 1) - x0 - (nb > 1 ? 0.5 : 0))));
    rect.setAttribute("height", r2(bh));
    const title = document.createElementNS(SVG, "title");
    title.textContent = `[${fmt(edges[i])}, ${fmt(edges[i + 1])}${i === nb - 1 ? "]" : ")"}: ${c}`;
    rect.append(title);
    svg.append(rect);
  }
  return svg;
}

const fmt = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v));
