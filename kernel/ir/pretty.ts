// A small Wadler-style pretty printer, the model of JAX's jax._src.pretty_printer: documents
// are text, breaks, nesting and groups; a group is printed flat (its breaks become their
// separator text) when it fits in the remaining width, otherwise its own breaks become
// newlines. The jaxpr printer builds documents with it so that layouts match JAX's.

/** A document. */
export type Doc =
  | { kind: "text"; text: string }
  | { kind: "brk"; sep: string }
  | { kind: "nest"; n: number; doc: Doc }
  | { kind: "group"; doc: Doc }
  | { kind: "concat"; docs: Doc[] }
  /** Transparent: records the lines its document is printed on (the IR panel maps lines to equations). */
  | { kind: "mark"; key: object; doc: Doc };

export const text = (t: string): Doc => ({ kind: "text", text: t });
/** A break: `sep` when its group is flat, a newline and the current indent otherwise. */
export const brk = (sep = " "): Doc => ({ kind: "brk", sep });
export const nest = (n: number, doc: Doc): Doc => ({ kind: "nest", n, doc });
export const group = (doc: Doc): Doc => ({ kind: "group", doc });
export const concat = (...docs: Doc[]): Doc => ({ kind: "concat", docs });
export const nil: Doc = { kind: "concat", docs: [] };
export const mark = (key: object, doc: Doc): Doc => ({ kind: "mark", key, doc });

/** Where marked documents were printed: per key, each occurrence's first and last line (0-based), in print order. */
export type LineMarks = Map<object, [number, number][]>;

/** Joins documents with a separator document. */
export function join(sep: Doc, docs: Doc[]): Doc {
  const out: Doc[] = [];
  docs.forEach((d, i) => {
    if (i > 0) out.push(sep);
    out.push(d);
  });
  return concat(...out);
}

/** Width of a document printed flat. */
function flatWidth(doc: Doc): number {
  switch (doc.kind) {
    case "text": return doc.text.length;
    case "brk": return doc.sep.length;
    case "nest":
    case "group":
    case "mark": return flatWidth(doc.doc);
    case "concat": return doc.docs.reduce((a, d) => a + flatWidth(d), 0);
  }
}

function hasNewline(doc: Doc): boolean {
  switch (doc.kind) {
    case "text": return doc.text.includes("\n");
    case "brk": return false;
    case "nest":
    case "group":
    case "mark": return hasNewline(doc.doc);
    case "concat": return doc.docs.some(hasNewline);
  }
}

/**
 * Lays a document out in `width` columns. A group goes flat when everything up to the end of
 * the group fits on the current line (JAX's rule: it measures the group itself, not what
 * follows it).
 */
export function format(doc: Doc, width = 80, marks?: LineMarks): string {
  const out: string[] = [];
  let col = 0;
  let line = 0;
  // Stack of [indent, flat, doc], processed left to right; a range is the end of a mark.
  const stack: [number, boolean, Doc | [number, number]][] = [[0, false, doc]];
  while (stack.length) {
    const [indent, flat, d] = stack.pop()!;
    if (Array.isArray(d)) {
      d[1] = line;
      continue;
    }
    switch (d.kind) {
      case "text":
        out.push(d.text);
        if (d.text.includes("\n")) {
          col = d.text.length - d.text.lastIndexOf("\n") - 1;
          line += d.text.split("\n").length - 1;
        } else col += d.text.length;
        break;
      case "brk":
        if (flat) {
          out.push(d.sep);
          col += d.sep.length;
        } else {
          out.push("\n" + " ".repeat(indent));
          col = indent;
          line++;
        }
        break;
      case "mark": {
        const range: [number, number] = [line, line];
        if (marks) {
          let list = marks.get(d.key);
          if (!list) marks.set(d.key, (list = []));
          list.push(range);
        }
        stack.push([indent, flat, range], [indent, flat, d.doc]);
        break;
      }
      case "nest":
        stack.push([indent + d.n, flat, d.doc]);
        break;
      case "group": {
        const fits = flat || (!hasNewline(d.doc) && col + flatWidth(d.doc) <= width);
        stack.push([indent, fits, d.doc]);
        break;
      }
      case "concat":
        for (let i = d.docs.length - 1; i >= 0; i--) stack.push([indent, flat, d.docs[i]]);
        break;
    }
  }
  return out.join("");
}
