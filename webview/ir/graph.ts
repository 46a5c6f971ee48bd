// The IR panel's graph view, as data: a jaxpr's top-level equations as a DAG (inputs, one node
// per equation labelled with its primitive and output avals, outputs; an edge wherever a
// variable flows from the node that defines it to one that uses it; literals are not drawn),
// and its layout by elkjs's layered algorithm, top to bottom. Pure functions (no DOM), so the
// tests check the graph against the jaxpr and run the real layout. elk.bundled.js runs ELK in
// the page's thread through its own in-process "fake worker" (setTimeout, no Worker, no eval),
// which is what the webview's CSP allows.

import ELK from "elkjs/lib/elk.bundled.js";
import type { ElkExtendedEdge, ElkNode, ElkPoint } from "elkjs/lib/elk-api";
import { AtomInfo, AvalInfo, EqnInfo, JaxprInfo, SourceLine } from "../../kernel/protocol";

/** Nodes drawn at most (inputs, equations and outputs); a larger jaxpr shows its first equations. */
export const GRAPH_MAX_NODES = 1500;

/** A node of the graph. */
export interface GraphNode {
  id: string;
  /** "ref": a copy of a variable drawn beside a far-away use (see {@link buildGraph}). */
  kind: "invar" | "constvar" | "eqn" | "outvar" | "ref";
  /** First line: the primitive, or the variable's name. */
  label: string;
  /** Second line: output avals (`f32[3] f32[]`), or the variable's aval. */
  sublabel: string;
  /** The equation (kind "eqn"; for "ref", the equation that defines the variable, if any). */
  eqn?: EqnInfo;
  /** Whether the equation holds nested jaxprs (drawn distinctly). */
  nested?: boolean;
  source: SourceLine | null;
}

/** A variable flowing from the node defining it to a node using it. */
export interface GraphEdge {
  id: string;
  from: string;
  to: string;
  /** The variable's name and aval. */
  label: string;
}

/** A jaxpr as a graph. */
export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Equations drawn / equations the jaxpr has (the structured record may hold fewer than it has). */
  shownEqns: number;
  totalEqns: number;
  /** Whether equations were left out (the node cap, or a cut record). */
  truncated: boolean;
}

/** Options of {@link buildGraph}. */
export interface GraphOptions {
  /** Nodes drawn at most (default {@link GRAPH_MAX_NODES}). */
  maxNodes?: number;
  /**
   * A use more than this many equations after its variable's definition gets a "ref" node (a
   * copy of the variable beside the use) instead of an edge: a layered layout turns a long edge
   * into one dummy node per layer it crosses, and weights used all along a program made ELK
   * take minutes. Default {@link LONG_EDGE}; Infinity draws every edge.
   */
  longEdge?: number;
}

/** Default of {@link GraphOptions.longEdge}. */
export const LONG_EDGE = 8;

const avalsText = (avals: AvalInfo[]) => avals.map((a) => a.text).join(" ");

/**
 * The graph of `j`'s top-level equations: inputs, then as many equations as fit in the node cap
 * (with their refs, keeping room for the outputs), then the outputs whose values were drawn.
 * An edge per (variable, defining node, using node): a variable used twice by one equation
 * gets one edge; literals get none.
 */
export function buildGraph(j: JaxprInfo, opts: GraphOptions = {}): Graph {
  const maxNodes = opts.maxNodes ?? GRAPH_MAX_NODES;
  const longEdge = opts.longEdge ?? LONG_EDGE;
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  /** The node defining each variable name, and the position (equation index; -1 for inputs) it is at. */
  const producer = new Map<string, { id: string; at: number; eqn?: EqnInfo }>();
  const seen = new Set<string>();
  const edge = (from: string, to: string, a: AtomInfo & { kind: "var" }) => {
    const id = `${from}>${to}:${a.name}`;
    if (seen.has(id)) return;
    seen.add(id);
    edges.push({ id, from, to, label: `${a.name}: ${a.aval.text}` });
  };
  /** The refs a use at position `at` would add (to size the next step against the cap). */
  const refsFor = (atoms: AtomInfo[], at: number) => {
    const names = new Set<string>();
    for (const a of atoms) if (a.kind === "var" && producer.has(a.name) && at - producer.get(a.name)!.at > longEdge) names.add(a.name);
    return names.size;
  };
  const connect = (a: AtomInfo, to: string, at: number) => {
    if (a.kind !== "var") return;
    const p = producer.get(a.name);
    if (!p) return;
    if (at - p.at <= longEdge) return edge(p.id, to, a);
    const ref = `ref:${a.name}>${to}`;
    if (!seen.has(ref)) {
      seen.add(ref);
      nodes.push({ id: ref, kind: "ref", label: a.name, sublabel: a.aval.text, eqn: p.eqn, source: p.eqn?.source ?? null });
    }
    edge(ref, to, a);
  };
  for (const v of j.constvars) {
    const id = `const:${v.name}`;
    nodes.push({ id, kind: "constvar", label: v.name, sublabel: v.aval.text, source: null });
    producer.set(v.name, { id, at: -1 });
  }
  for (const v of j.invars) {
    const id = `in:${v.name}`;
    nodes.push({ id, kind: "invar", label: v.name, sublabel: v.aval.text, source: null });
    producer.set(v.name, { id, at: -1 });
  }
  const budget = Math.max(0, maxNodes - 2 * j.outvars.length);
  let shown = 0;
  for (const e of j.eqns) {
    if (nodes.length + 1 + refsFor(e.inputs, e.index) > budget) break;
    const id = `eqn:${e.index}`;
    const nested = e.params.some((p) => p.kind === "jaxprs");
    nodes.push({ id, kind: "eqn", label: e.primitive, sublabel: avalsText(e.outVars.map((v) => v.aval)), eqn: e, nested, source: e.source });
    for (const a of e.inputs) connect(a, id, e.index);
    // After the inputs: an equation never consumes its own outputs.
    for (const v of e.outVars) if (v.name !== "_") producer.set(v.name, { id, at: e.index, eqn: e });
    shown++;
  }
  const end = shown < j.eqns.length ? j.eqns[shown].index : j.eqns.length ? j.eqns[j.eqns.length - 1].index + 1 : 0;
  j.outvars.forEach((a, k) => {
    // An output whose value was not drawn (cut graph) has nothing to hang from: leave it out.
    if (a.kind === "var" && !producer.has(a.name)) return;
    const id = `out:${k}`;
    nodes.push({ id, kind: "outvar", label: a.kind === "var" ? `out ${a.name}` : `out ${a.text}`, sublabel: a.aval.text, source: null });
    connect(a, id, end);
  });
  const totalEqns = Math.max(j.eqnCount, j.eqns.length);
  return { nodes, edges, shownEqns: shown, totalEqns, truncated: shown < totalEqns };
}

/** Text metrics the layout sizes nodes with (the renderer draws with the same). */
export const NODE_METRICS = { charWidth: 7.2, lineHeight: 15, padX: 10, padY: 6, minWidth: 48 } as const;

/** A node's size for its two label lines. */
export function nodeSize(n: GraphNode): { width: number; height: number } {
  const chars = Math.max(n.label.length, n.sublabel.length);
  const width = Math.max(NODE_METRICS.minWidth, Math.ceil(chars * NODE_METRICS.charWidth) + 2 * NODE_METRICS.padX);
  const height = (n.sublabel ? 2 : 1) * NODE_METRICS.lineHeight + 2 * NODE_METRICS.padY;
  return { width, height };
}

/** A node with its place. */
export interface PlacedNode extends GraphNode {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** An edge's route: a polyline. */
export interface PlacedEdge extends GraphEdge {
  points: ElkPoint[];
}

/** A laid-out graph. */
export interface GraphLayout {
  graph: Graph;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

/** ELK's layered algorithm, top to bottom, with edges routed orthogonally. */
export const ELK_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.layered.spacing.nodeNodeBetweenLayers": "28",
  "elk.spacing.nodeNode": "18",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.padding": "[top=12,left=12,bottom=12,right=12]",
};

type ElkInstance = InstanceType<typeof ELK>;
let elk: ElkInstance | null = null;

/** The one ELK instance (its constructor sets up the in-thread worker once). */
function elkInstance(): ElkInstance {
  return (elk ??= new ELK());
}

/** Lays `graph` out with ELK (asynchronous: ELK answers through its fake worker's message loop). */
export async function layoutGraph(graph: Graph): Promise<GraphLayout> {
  const children: ElkNode[] = graph.nodes.map((n) => ({ id: n.id, ...nodeSize(n) }));
  const elkEdges: ElkExtendedEdge[] = graph.edges.map((e) => ({ id: e.id, sources: [e.from], targets: [e.to] }));
  const input: ElkNode = { id: "root", layoutOptions: ELK_OPTIONS, children, edges: elkEdges };
  const out: ElkNode = await elkInstance().layout(input);
  const pos = new Map<string, ElkNode>();
  for (const c of out.children ?? []) pos.set(c.id, c);
  const nodes: PlacedNode[] = graph.nodes.map((n) => {
    const p = pos.get(n.id);
    const size = nodeSize(n);
    return { ...n, x: p?.x ?? NaN, y: p?.y ?? NaN, width: p?.width ?? size.width, height: p?.height ?? size.height };
  });
  const routes = new Map<string, ElkPoint[]>();
  for (const e of (out.edges ?? []) as ElkExtendedEdge[]) {
    const s = e.sections?.[0];
    if (s) routes.set(e.id, [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
  }
  const edges: PlacedEdge[] = graph.edges.map((e) => ({ ...e, points: routes.get(e.id) ?? [] }));
  return { graph, nodes, edges, width: out.width ?? 0, height: out.height ?? 0 };
}
