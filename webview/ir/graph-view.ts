// The IR panel's graph view: a jaxpr's top-level equations as a DAG laid out by elkjs (graph.ts)
// and drawn as SVG through createElementNS (no markup strings, no inline style attributes: the
// CSP forbids them; colours come from ir.css classes on VS Code's theme variables). The view
// scrolls (and drags) to pan; clicking an equation reveals its source line. The layout runs once
// per view, when the graph is first shown, behind a progress ring.

import { JaxprInfo, SourceLine } from "../../kernel/protocol";
import { clear, fmtSource, h } from "../common/dom";
import { Graph, GraphLayout, NODE_METRICS, PlacedNode, buildGraph, layoutGraph } from "./graph";
import { eqnSummary, sameFile } from "./line-model";

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes. */
function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: Node[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** What a graph view needs from its panel. */
export interface GraphViewHost {
  revealSource(source: SourceLine): void;
}

/** The graph of one jaxpr, laid out and drawn on first show. */
export class JaxprGraphView {
  readonly el: HTMLElement;
  readonly graph: Graph;
  private readonly canvas: HTMLElement;
  private layout: GraphLayout | null = null;
  private pending: Promise<GraphLayout | null> | null = null;
  private readonly nodeEls = new Map<string, SVGGElement>();
  private highlighted: { file: string; line: number } | null = null;
  private disposed = false;

  constructor(
    jaxpr: JaxprInfo,
    private readonly host: GraphViewHost,
  ) {
    this.graph = buildGraph(jaxpr);
    const g = this.graph;
    const note = g.truncated
      ? h("div", {
        className: "ir-graph-note",
        attrs: { role: "note" },
        text: `The graph shows the first ${g.shownEqns} of ${g.totalEqns} equations.`,
      })
      : null;
    this.canvas = h("div", { className: "ir-graph-canvas", attrs: { tabindex: 0, role: "img", "aria-label": `Graph of ${g.shownEqns} equations` } });
    this.el = h("div", { className: "ir-graph" }, note, this.canvas);
    enableDragPan(this.canvas);
    this.canvas.addEventListener("click", (e) => this.onClick(e));
  }

  /** Lays the graph out (once) and draws it; resolves with the layout (null if disposed first). */
  show(): Promise<GraphLayout | null> {
    if (this.pending) return this.pending;
    clear(this.canvas);
    this.canvas.append(h("div", { className: "ir-graph-wait" }, h("vscode-progress-ring"), h("span", { text: `Laying out ${this.graph.nodes.length} nodes…` })));
    // Let the ring paint before ELK takes the thread.
    this.pending = new Promise<void>((r) => setTimeout(r, 0))
      .then(() => layoutGraph(this.graph))
      .then(
        (layout) => {
          if (this.disposed) return null;
          this.layout = layout;
          this.draw(layout);
          return layout;
        },
        (err: unknown) => {
          clear(this.canvas);
          this.canvas.append(h("div", { className: "error", text: `Graph layout failed: ${err instanceof Error ? err.message : String(err)}` }));
          return null;
        },
      );
    return this.pending;
  }

  /** The layout, once done. */
  getLayout(): GraphLayout | null {
    return this.layout;
  }

  /** Marks the equations an editor line made (null clears). */
  highlightSource(source: { file: string; line: number } | null): void {
    this.highlighted = source;
    if (this.layout) for (const n of this.layout.nodes) this.nodeEls.get(n.id)?.classList.toggle("highlighted", matches(n, source));
  }

  dispose(): void {
    this.disposed = true;
    this.el.remove();
  }

  private draw(l: GraphLayout): void {
    clear(this.canvas);
    this.nodeEls.clear();
    const marker = svg("marker", { id: "ir-arrow", viewBox: "0 0 8 8", refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L8,4 L0,8 z", class: "ir-arrow" }));
    const edges = svg("g", { class: "ir-edges" });
    for (const e of l.edges) {
      if (e.points.length < 2) continue;
      const p = svg("polyline", { points: e.points.map((q) => `${q.x},${q.y}`).join(" "), class: "ir-edge", "marker-end": "url(#ir-arrow)" });
      p.append(svg("title", {}, document.createTextNode(e.label)));
      edges.append(p);
    }
    const nodes = svg("g", { class: "ir-nodes" });
    for (const n of l.nodes) {
      const g = svg("g", { class: `ir-node ir-node-${n.kind}${n.nested ? " ir-node-nested" : ""}${n.source ? " ir-node-link" : ""}`, transform: `translate(${n.x},${n.y})`, "data-node": n.id });
      g.append(
        svg("rect", { width: n.width, height: n.height, rx: n.kind === "eqn" ? 4 : n.height / 2 }),
        svg("text", { x: n.width / 2, y: NODE_METRICS.padY + NODE_METRICS.lineHeight - 4, class: "ir-node-label" }, document.createTextNode(n.label)),
      );
      if (n.sublabel) g.append(svg("text", { x: n.width / 2, y: NODE_METRICS.padY + 2 * NODE_METRICS.lineHeight - 4, class: "ir-node-sub" }, document.createTextNode(n.sublabel)));
      g.append(svg("title", {}, document.createTextNode(nodeTitle(n))));
      if (this.highlighted && matches(n, this.highlighted)) g.classList.add("highlighted");
      this.nodeEls.set(n.id, g);
      nodes.append(g);
    }
    const root = svg("svg", { class: "ir-graph-svg", width: Math.ceil(l.width), height: Math.ceil(l.height), viewBox: `0 0 ${Math.ceil(l.width)} ${Math.ceil(l.height)}` }, svg("defs", {}, marker), edges, nodes);
    this.canvas.append(root);
  }

  private onClick(e: MouseEvent): void {
    const g = (e.target as Element | null)?.closest?.("[data-node]");
    if (!g || !this.layout) return;
    const n = this.layout.nodes.find((x) => x.id === g.getAttribute("data-node"));
    if (n?.source) this.host.revealSource(n.source);
  }
}

function matches(n: PlacedNode, s: { file: string; line: number } | null): boolean {
  return !!s && n.kind === "eqn" && !!n.source && n.source.line === s.line && sameFile(n.source.file, s.file);
}

function nodeTitle(n: PlacedNode): string {
  const where = n.source ? `\nat ${fmtSource(n.source)}` : "";
  switch (n.kind) {
    case "eqn": return eqnSummary(n.eqn!) + where;
    case "invar": return `input ${n.label}: ${n.sublabel}`;
    case "constvar": return `constant ${n.label}: ${n.sublabel}`;
    case "outvar": return `${n.label}: ${n.sublabel}`;
    case "ref": return `${n.label}: ${n.sublabel}, ${n.eqn ? `defined by ${n.eqn.primitive}` : "an input"} further up (drawn here instead of a long edge)${where}`;
  }
}

/** Dragging with the primary button scrolls the element (scrolling pans too). */
function enableDragPan(el: HTMLElement): void {
  let from: { x: number; y: number; left: number; top: number } | null = null;
  let moved = false;
  el.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    from = { x: e.clientX, y: e.clientY, left: el.scrollLeft, top: el.scrollTop };
    moved = false;
  });
  el.addEventListener("pointermove", (e) => {
    if (!from) return;
    const dx = e.clientX - from.x;
    const dy = e.clientY - from.y;
    if (!moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!moved) el.setPointerCapture?.(e.pointerId);
    moved = true;
    el.classList.add("panning");
    el.scrollLeft = from.left - dx;
    el.scrollTop = from.top - dy;
  });
  const end = () => {
    from = null;
    el.classList.remove("panning");
  };
  el.addEventListener("pointerup", end);
  el.addEventListener("pointercancel", end);
  // A drag is not a click on the node under the pointer when it ends.
  el.addEventListener("click", (e) => {
    if (moved) {
      e.stopImmediatePropagation();
      moved = false;
    }
  }, true);
}
