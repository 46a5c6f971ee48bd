// Where printed output goes. `print`/`display` (kernel/api/output.ts) and `debug.print`
// (kernel/transforms/debug.ts) both write through this one sink, so that the cell runner can
// redirect all of them to the cell's output with setOutputSink. It lives in core because the
// transformations layer (debug.print) may not import the api layer.

/** Where print/display write: one call per line group. */
export type OutputSink = (kind: "print" | "display", text: string) => void;

let sink: OutputSink = (_kind, text) => process.stdout.write(text + "\n");

/** Redirects print/display/debug.print (the cell runner does this); returns the previous sink. */
export function setOutputSink(s: OutputSink): OutputSink {
  const prev = sink;
  sink = s;
  return prev;
}

/** Writes one group of lines (without the final newline) to the current sink. */
export function writeOutput(kind: "print" | "display", text: string): void {
  sink(kind, text);
}
