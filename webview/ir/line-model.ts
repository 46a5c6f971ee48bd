// The IR panel's model of one printed jaxpr: the text's lines, and which equation each line
// belongs to, through the `textLines` the kernel attaches to every equation (nested ones too).
// From that come the fold regions of nested jaxprs (jit, cond, scan, while, custom_jvp), the
// lines that stay visible under the current folds, the lines made by an editor line (cursor
// highlight), the equation under a click, and the shapes/dtypes of the variables on a line
// (hover). Everything is built once per view, in time linear in the text. The text is never parsed
// for structure (only a line's identifiers are looked up for the hover): without `textLines`
// (older kernels, cut records) there is simply no line <-> equation mapping.

import { AtomInfo, AvalInfo, EqnInfo, JaxprInfo, VarInfo } from "../../kernel/protocol";
import { fmtSource } from "../common/dom";

/** An equation of the jaxpr or of one nested in it, in print (depth-first) order. */
export interface EqnEntry {
  /** Position in {@link LineModel.eqns}. */
  id: number;
  eqn: EqnInfo;
  /** 0 for the jaxpr's own equations. */
  depth: number;
  /** The top-level equation it is part of (its own index at depth 0). */
  top: number;
  parent: EqnEntry | null;
  /** Whether its parameters hold nested jaxprs. */
  nested: boolean;
}

/** A foldable region: the lines of an equation with nested jaxprs, after its first line. */
export interface Fold {
  /** The equation's first line (shown, with the toggle). */
  start: number;
  /** Its last line (hidden with the rest when folded). */
  end: number;
  /** The equation that prints it. */
  eqn: EqnEntry;
}

/** Regions larger than this many hidden lines start folded. */
export const FOLD_DEFAULT_LINES = 50;

const KEYWORDS = new Set(["lambda", "let", "in"]);

/** Every equation of `j`, nested ones included, in print order. Iterative (deep nesting is fine). */
export function flattenEqns(j: JaxprInfo): EqnEntry[] {
  const out: EqnEntry[] = [];
  const visit = (jaxpr: JaxprInfo, depth: number, parent: EqnEntry | null) => {
    for (const eqn of jaxpr.eqns) {
      const nestedJaxprs: JaxprInfo[] = [];
      for (const p of eqn.params) if (p.kind === "jaxprs") nestedJaxprs.push(...p.jaxprs);
      const e: EqnEntry = { id: out.length, eqn, depth, top: parent ? parent.top : eqn.index, parent, nested: nestedJaxprs.length > 0 };
      out.push(e);
      for (const n of nestedJaxprs) visit(n, depth + 1, e);
    }
  };
  // Recursion depth is the nesting depth of jaxprs (a handful), not the equation count.
  visit(j, 0, null);
  return out;
}

/** Whether two paths name the same file (separators and a Windows drive letter's case aside). */
export function sameFile(a: string, b: string): boolean {
  const norm = (p: string) => p.replace(/\\/g, "/").replace(/^([A-Za-z]):/, (_, d: string) => d.toLowerCase() + ":");
  return norm(a) === norm(b);
}

/** `b:f32[3]`, as the text prints a binder. */
const binderText = (v: VarInfo) => `${v.name}:${v.aval.text}`;

/** The printed start of an equation (`c:f32[3] = mul`, or the primitive alone without outputs). */
export function eqnHead(e: EqnInfo): string {
  return e.outVars.length ? `${e.outVars.map(binderText).join(" ")} = ${e.primitive}` : e.primitive;
}

/** A one-line summary of an equation with its avals: `c: f32[3] = mul(b: f32[3], 3.0: f32[])`. */
export function eqnSummary(e: EqnInfo): string {
  const outs = e.outVars.map((v) => `${v.name}: ${v.aval.text}`).join(", ");
  const ins = e.inputs.map((a) => `${a.kind === "literal" ? a.text : a.name}: ${a.aval.text}`).join(", ");
  const params = e.paramsText ? `[${e.paramsText.length > 80 ? e.paramsText.slice(0, 77) + "..." : e.paramsText}]` : "";
  return `${outs ? outs + " = " : ""}${e.primitive}${params}(${ins})`;
}

/**
 * One printed jaxpr and its line <-> equation maps. `text` is exactly what the record carries
 * (the jaxpr as `makeJaxpr` prints it); `jaxpr` is its structured form.
 */
export class LineModel {
  readonly lines: string[];
  readonly eqns: EqnEntry[];
  /** Fold regions by first line (the outermost when two start on one line). */
  readonly folds = new Map<number, Fold>();
  /** Whether any equation carries `textLines` (otherwise nothing maps). */
  readonly mapped: boolean;
  /** The innermost equation on each line (-1: none, e.g. the `{ lambda` line). */
  private readonly owner: Int32Array;
  /** Equations by their first line (several when a jaxpr prints on one line). */
  private readonly starts = new Map<number, EqnEntry[]>();
  private avals: Map<string, AvalInfo> | null = null;

  constructor(readonly text: string, readonly jaxpr: JaxprInfo) {
    this.lines = text.split("\n");
    this.eqns = flattenEqns(jaxpr);
    this.owner = new Int32Array(this.lines.length).fill(-1);
    const n = this.lines.length;
    let mapped = false;
    // Print order puts a parent before its children, so the innermost owner is written last.
    for (const e of this.eqns) {
      const tl = e.eqn.textLines;
      if (!tl || !(tl[0] >= 0) || tl[0] >= n) continue;
      mapped = true;
      const first = tl[0];
      const last = Math.min(Math.max(tl[1], first), n - 1);
      for (let l = first; l <= last; l++) this.owner[l] = e.id;
      let s = this.starts.get(first);
      if (!s) this.starts.set(first, (s = []));
      s.push(e);
      if (e.nested && last > first) {
        const f = this.folds.get(first);
        if (!f || last > f.end) this.folds.set(first, { start: first, end: last, eqn: e });
      }
    }
    this.mapped = mapped;
  }

  /** The innermost equation on line `l`, if any. */
  ownerOf(l: number): EqnEntry | null {
    const id = l >= 0 && l < this.owner.length ? this.owner[l] : -1;
    return id >= 0 ? this.eqns[id] : null;
  }

  /** The equations that start on line `l` (print order). */
  startingOn(l: number): readonly EqnEntry[] {
    return this.starts.get(l) ?? [];
  }

  /**
   * The equation a click at `column` of line `l` means: of the equations starting on the line,
   * the last one whose printed head starts at or before the column (a jaxpr printed on one
   * line holds several); otherwise the innermost equation the line belongs to.
   */
  eqnAt(l: number, column = 0): EqnEntry | null {
    const s = this.starts.get(l);
    if (!s || s.length === 0) return this.ownerOf(l);
    if (s.length === 1) return s[0];
    const cols = this.headColumns(l);
    let pick = s[0];
    for (let i = 0; i < s.length; i++) if (cols[i] <= column) pick = s[i];
    return pick;
  }

  /** Where each equation starting on line `l` begins in it (found left to right by its printed head). */
  headColumns(l: number): number[] {
    const line = this.lines[l] ?? "";
    let from = 0;
    return (this.starts.get(l) ?? []).map((e) => {
      const at = line.indexOf(eqnHead(e.eqn), from);
      if (at < 0) return from;
      from = at + 1;
      return at;
    });
  }

  /** Whether a fold starts folded: regions over {@link FOLD_DEFAULT_LINES} lines do. */
  static defaultFolded(f: Fold): boolean {
    return f.end - f.start > FOLD_DEFAULT_LINES;
  }

  /** The folds that are folded, given the user's toggles (fold starts whose state differs from the default). */
  foldedSet(toggled: ReadonlySet<number>): Set<number> {
    const out = new Set<number>();
    for (const f of this.folds.values()) if (LineModel.defaultFolded(f) !== toggled.has(f.start)) out.add(f.start);
    return out;
  }

  /** The lines shown under `folded` (fold starts), in order: a folded region shows its first line only. */
  visibleLines(folded: ReadonlySet<number>): number[] {
    const out: number[] = [];
    const n = this.lines.length;
    for (let l = 0; l < n; l++) {
      out.push(l);
      if (folded.has(l)) {
        const f = this.folds.get(l);
        if (f) l = f.end;
      }
    }
    return out;
  }

  /** The folds that enclose line `l` (it is hidden while any of them is folded), outermost first. */
  foldsAround(l: number): Fold[] {
    const out: Fold[] = [];
    for (let e = this.ownerOf(l); e; e = e.parent) {
      const tl = e.eqn.textLines;
      if (!tl || tl[0] === l) continue;
      const f = this.folds.get(tl[0]);
      if (f && f.start < l && l <= f.end) out.push(f);
    }
    // Owners on a line inside a fold but not descending from its equation cannot occur: folds
    // are equations' own lines. Deduplicate (two equations may share a first line).
    return [...new Map(out.map((f) => [f.start, f])).values()].sort((a, b) => a.start - b.start);
  }

  /** The equations made by an editor line. */
  eqnsAtSource(file: string, line: number): EqnEntry[] {
    return this.eqns.filter((e) => e.eqn.source !== null && e.eqn.source.line === line && sameFile(e.eqn.source.file, file));
  }

  /** The top-level equations with these indices. */
  topEqns(indices: Iterable<number>): EqnEntry[] {
    const want = new Set(indices);
    return this.eqns.filter((e) => e.depth === 0 && want.has(e.eqn.index));
  }

  /** The lines that equations occupy (their whole textLines ranges), as a mask over the lines. */
  linesOf(entries: readonly EqnEntry[]): Uint8Array {
    const mask = new Uint8Array(this.lines.length);
    for (const e of entries) {
      const tl = e.eqn.textLines;
      if (!tl) continue;
      const last = Math.min(tl[1], this.lines.length - 1);
      for (let l = Math.max(0, tl[0]); l <= last; l++) mask[l] = 1;
    }
    return mask;
  }

  /** Every variable name of the jaxpr (nested ones included) and its aval; built on first use. */
  varAvals(): Map<string, AvalInfo> {
    if (this.avals) return this.avals;
    const m = new Map<string, AvalInfo>();
    const add = (a: VarInfo | AtomInfo) => {
      if ("kind" in a && a.kind === "literal") return;
      if (a.name !== "_" && !m.has(a.name)) m.set(a.name, a.aval);
    };
    const visit = (j: JaxprInfo) => {
      j.constvars.forEach(add);
      j.invars.forEach(add);
      for (const e of j.eqns) {
        e.outVars.forEach(add);
        e.inputs.forEach(add);
        for (const p of e.params) if (p.kind === "jaxprs") p.jaxprs.forEach(visit);
      }
      j.outvars.forEach(add);
    };
    visit(this.jaxpr);
    return (this.avals = m);
  }

  /**
   * The variables named on line `l` with their avals, in order of appearance, without repeats.
   * Identifiers right after `=` (parameter values, the primitive) or before `=`/`[` (parameter
   * names, a primitive with parameters) are not variables; nor are the keywords.
   */
  varsOnLine(l: number): { name: string; aval: AvalInfo }[] {
    const line = this.lines[l] ?? "";
    const avals = this.varAvals();
    const out: { name: string; aval: AvalInfo }[] = [];
    const seen = new Set<string>();
    const re = /(^|[^\w.])([a-z]+)(?![\w.])/g;
    for (let m = re.exec(line); m; m = re.exec(line)) {
      const name = m[2];
      const at = m.index + m[1].length;
      const after = line[at + name.length];
      if (KEYWORDS.has(name) || seen.has(name) || after === "=" || after === "[") continue;
      // `k=v` is a parameter's value, `x = mul a b` names the primitive right after ` = `.
      if (/=\s?$/.test(line.slice(Math.max(0, at - 2), at))) continue;
      const aval = avals.get(name);
      if (!aval) continue;
      seen.add(name);
      out.push({ name, aval });
    }
    return out;
  }

  /** The hover text of line `l`: its equations with their avals and sources, or the variables on it. */
  hoverText(l: number): string {
    const parts: string[] = [];
    const starting = this.starts.get(l) ?? [];
    for (const e of starting) parts.push(eqnSummary(e.eqn) + (e.eqn.source ? `\n  at ${fmtSource(e.eqn.source)}` : ""));
    if (starting.length === 0) {
      const vars = this.varsOnLine(l);
      if (vars.length) parts.push(vars.map((v) => `${v.name}: ${v.aval.text}`).join("\n"));
      const o = this.ownerOf(l);
      if (o) parts.push(`part of ${o.eqn.primitive}${o.eqn.source ? ` at ${fmtSource(o.eqn.source)}` : ""}`);
    }
    return parts.join("\n");
  }
}
