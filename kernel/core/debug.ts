// PRIMAL_DEBUG=1..5: prints to stderr what the panels show. 1 traced functions, 2 jaxprs,
// 3 generated kernels, 4 per-primitive eager execution with timings, 5 everything including
// buffer traffic. Read once at load; `setDebugLevel` changes it at run time (tests, config).

let level = parseLevel(process.env.PRIMAL_DEBUG);

function parseLevel(raw: string | undefined): number {
  if (!raw) return 0;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 5) : 1;
}

/** The current debug level (0 = quiet). */
export function debugLevel(): number {
  return level;
}

export function setDebugLevel(n: number): void {
  level = Math.max(0, Math.min(5, Math.floor(n)));
}

let tag = "";
/** Names this thread in every debug line (a CPU device's thread: "cpu:1"). */
export function setDebugTag(t: string): void {
  tag = t ? ` ${t}` : "";
}

/** Writes one line to stderr when the debug level is at least `min`. */
export function debugLog(min: number, what: string, text: string): void {
  if (level >= min) process.stderr.write(`[primal:${what}${tag}] ${text}\n`);
}
