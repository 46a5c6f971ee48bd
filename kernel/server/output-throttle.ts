// Batches, caps and summarises one cell's output before it becomes `cell/output`
// notifications, so that a cell printing 100,000 lines costs the editor a few dozen messages:
//   - text is buffered and sent at most every `batchIntervalMs` (consecutive writes to one
//     stream merge into one output; a display flushes the text before it, keeping order);
//   - after `maxLinesPerCell` lines (or MAX_BYTES of text) further lines only go to a ring of
//     the last `tailLines`; at the end one `... N more lines ...` output (with omittedLines)
//     and the tail are sent, so the latest progress line stays visible;
//   - after `maxDisplaysPerCell` displays the rest are only counted.
// During synchronous cell code the event loop is blocked, so batches are cut by checking the
// clock at each write; they leave the process when the cell yields or ends.

import { CellOutput, OutputLimits } from "../protocol";

type Stream = "stdout" | "stderr";

/** Text kept per cell before the line cap applies anyway (very long lines). */
const MAX_BYTES = 1 << 20;
/** Characters kept of one line. */
const MAX_LINE_CHARS = 10_000;

/** What a throttle dropped from one cell's output. */
export interface OmittedCounts {
  lines: number;
  displays: number;
}

/** One cell's output pipeline. `send` receives the outputs to notify, in order. */
export class OutputThrottle {
  private pending: { stream: Stream; text: string }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = performance.now();
  private lines = 0;
  private bytes = 0;
  private displays = 0;
  private omittedLines = 0;
  private omittedDisplays = 0;
  private tail: { stream: Stream; text: string }[] = [];
  /** Set by finish(): output arriving after the run ended (a late timer) is not this run's. */
  private closed = false;

  constructor(
    private readonly limits: OutputLimits,
    private readonly send: (o: CellOutput) => void,
  ) {}

  /** Printed text (any number of lines, maybe a partial one). */
  text(stream: Stream, text: string): void {
    if (this.closed || text === "") return;
    let start = 0;
    while (start < text.length) {
      const nl = text.indexOf("\n", start);
      const end = nl < 0 ? text.length : nl + 1;
      this.line(stream, text.slice(start, end), nl >= 0);
      start = end;
    }
    this.schedule();
  }

  /** A display output (array, table, plot, repr text). */
  display(o: CellOutput): void {
    if (this.closed) return;
    if (this.displays >= this.limits.maxDisplaysPerCell) {
      this.omittedDisplays++;
      return;
    }
    this.displays++;
    this.flush();
    this.send(o);
  }

  /** Sends whatever text is buffered. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastFlush = performance.now();
    const p = this.pending;
    this.pending = [];
    for (const { stream, text } of p) this.send({ kind: "text", stream, text });
  }

  /** Ends the cell: flushes, then sends the summary of what was cut and the tail. */
  finish(): OmittedCounts {
    if (this.closed) return { lines: this.omittedLines, displays: this.omittedDisplays };
    this.flush();
    this.closed = true;
    if (this.omittedLines > 0) {
      const n = this.omittedLines.toLocaleString("en-US");
      this.send({ kind: "text", stream: "stdout", text: `... ${n} more lines (output is capped at ${this.limits.maxLinesPerCell} lines per cell; the last ${this.tail.length} follow) ...\n`, omittedLines: this.omittedLines });
    }
    for (const t of this.tail) this.append(t.stream, t.text);
    this.tail = [];
    const p = this.pending;
    this.pending = [];
    for (const { stream, text } of p) this.send({ kind: "text", stream, text });
    if (this.omittedDisplays > 0)
      this.send({ kind: "text", stream: "stderr", text: `... ${this.omittedDisplays} more displayed values not shown (at most ${this.limits.maxDisplaysPerCell} per cell)\n` });
    return { lines: this.omittedLines, displays: this.omittedDisplays };
  }

  private line(stream: Stream, piece: string, complete: boolean): void {
    if (piece.length > MAX_LINE_CHARS) piece = `${piece.slice(0, MAX_LINE_CHARS)}... (${(piece.length - MAX_LINE_CHARS).toLocaleString("en-US")} more characters)${complete ? "\n" : ""}`;
    if (this.lines < this.limits.maxLinesPerCell && this.bytes < MAX_BYTES) {
      this.append(stream, piece);
      this.bytes += piece.length;
      if (complete) this.lines++;
      return;
    }
    // Capped: keep the last lines only. A partial line continues the tail's last entry.
    const last = this.tail[this.tail.length - 1];
    if (last && last.stream === stream && !last.text.endsWith("\n")) last.text += piece;
    else this.tail.push({ stream, text: piece });
    if (this.tail.length > this.limits.tailLines) {
      this.tail.shift();
      this.omittedLines++;
    }
  }

  private append(stream: Stream, text: string): void {
    const last = this.pending[this.pending.length - 1];
    if (last && last.stream === stream) last.text += text;
    else this.pending.push({ stream, text });
  }

  private schedule(): void {
    if (this.pending.length === 0) return;
    if (performance.now() - this.lastFlush >= this.limits.batchIntervalMs) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.limits.batchIntervalMs);
  }
}
