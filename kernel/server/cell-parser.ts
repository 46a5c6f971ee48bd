// Splits a Primal cell file (an ordinary `.ts` file) into cells.
//
// A cell starts at a line matching `^\s*// %%`; the rest of that line, trimmed, is the cell's
// title (`// %% Training loop` → "Training loop"). Code before the first marker is a cell
// too, unless it holds nothing but blank lines and comments (a file header), in which case
// it is skipped. This is the convention of VS Code's Python/Jupyter "percent" format, so the
// same markers work for users coming from `# %%` in Python.
//
// The parser is purely textual: it does not know about strings or template literals, so a
// line `// %%` inside a multi-line template literal starts a new cell. That is the same
// trade-off the Jupyter extension makes, and it keeps the parser usable on files that do
// not even parse yet (the editor calls it on every keystroke for the CodeLenses).

/** One cell of a cell file. */
export interface Cell {
  /** 0-based position of the cell among the cells of the file (skipped header not counted). */
  index: number;
  /** Text after `// %%` on the marker line, trimmed; "" for the code before the first marker. */
  title: string;
  /**
   * 1-based line in the file of the cell's first code line, i.e. of line 1 of `source`
   * (the line after the marker, or line 1 of the file for code before the first marker).
   * Line L of `source` is line `startLine + L - 1` of the file.
   */
  startLine: number;
  /** 1-based line of the `// %%` marker, or null for code before the first marker. */
  markerLine: number | null;
  /** 1-based line of the cell's last line (the line before the next marker, or the file's last line). */
  endLine: number;
  /** The cell's code: the lines from `startLine` to `endLine`, joined with "\n". */
  source: string;
}

/** Matches a cell marker line; group 1 is the title text. */
const MARKER = /^\s*\/\/ %%(.*)$/;

/** True if `line` is a cell marker (`// %%`, optionally indented, optionally followed by a title). */
export function isCellMarker(line: string): boolean {
  return MARKER.test(line);
}

/**
 * Splits the text of a cell file into cells, in file order.
 *
 * Line endings may be `\n` or `\r\n`; cell sources always use `\n`. A file without any
 * marker is one cell (if it has code). Empty cells (a marker followed directly by another
 * marker) are kept, so cell indices match what the editor shows.
 */
export function parseCells(text: string): Cell[] {
  const lines = text.split(/\r?\n/);
  // A trailing newline produces one empty last element; it is not a line of the file.
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();

  const cells: Cell[] = [];
  // The cell being collected: where its marker was, its title and the first source line.
  let markerLine: number | null = null;
  let title = "";
  let start = 0; // 0-based index into `lines` of the current cell's first source line

  const flush = (end: number /* exclusive, 0-based */): void => {
    const body = lines.slice(start, end);
    // The code before the first marker is only a cell if it contains code.
    if (markerLine === null && !hasCode(body.join("\n"))) return;
    cells.push({
      index: cells.length,
      title,
      startLine: start + 1,
      markerLine,
      // An empty cell at the end of the file still "ends" on its marker line.
      endLine: Math.max(end, start),
      source: body.join("\n"),
    });
  };

  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]);
    if (!m) continue;
    flush(i);
    markerLine = i + 1;
    title = m[1].trim();
    start = i + 1;
  }
  flush(lines.length);
  return cells;
}

/**
 * The cell that contains a 1-based file line (the marker line belongs to the cell it opens),
 * or undefined when the line is in a skipped header. Used by "Run Cell" at the cursor.
 */
export function cellAtLine(cells: readonly Cell[], line: number): Cell | undefined {
  for (const c of cells) {
    const first = c.markerLine ?? c.startLine;
    if (line >= first && line <= c.endLine) return c;
  }
  return undefined;
}

/**
 * True if the text has anything other than whitespace and comments. A small scanner rather
 * than a regex so that `/* ... *\/` spanning lines and `//` inside block comments are right;
 * strings are not special because a string is code anyway.
 */
export function hasCode(text: string): boolean {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\uFEFF") {
      i++;
    } else if (ch === "/" && text[i + 1] === "/") {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? n : nl + 1;
    } else if (ch === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      // An unterminated comment is still only a comment (and a syntax error esbuild will report
      // if the cell is run); the header-skipping rule does not need to decide that.
      i = close < 0 ? n : close + 2;
    } else if (ch === "#" && text[i + 1] === "!" && i === 0) {
      // A shebang line at the very top of the file is not code of a cell.
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? n : nl + 1;
    } else {
      return true;
    }
  }
  return false;
}
