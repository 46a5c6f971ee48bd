// jit: a primitive carrying a closed jaxpr (JAX's jit_p), so every transformation composes
// with it: jvp and vmap transform the body into a new jaxpr, staging records the call as one
// equation, partial evaluation runs through the body. `jit(f)` traces f once per argument
// signature (tree structure, shapes, dtypes, weak types, static arguments) and caches the
// jaxpr. Evaluation runs the jaxpr primitive by primitive on the CPU today; the compiler
// (issue 4) plugs in at `runJitted` to compile it into fused kernels instead.

import { config, withConfig } from "../core/config";
import { ArgumentError, PrimalError } from "../core/errors";
import { NDArray } from "../core/ndarray";
import { definePrimitive } from "../core/primitive";
import { describeValue } from "../core/shape";
import { Tracer, bind } from "../core/trace";
import { PyTreeDef, treeUnflatten } from "../core/tree";
import { evalClosedJaxpr } from "../ir/eval-jaxpr";
import { ClosedJaxpr, Jaxpr } from "../ir/jaxpr";
import { recordTrace } from "../ir/trace-log";
import { moveAxis, zerosLike } from "../primitives/ops";
import { flattenToArrays } from "./args";
import { Tap, deliverTaps, tapOutputCount, tapsWanted } from "./taps";
import { jvpFlat } from "./jvp";
import { traceToJaxpr } from "./stage";
import { vmapFlat } from "./vmap";

export interface JitParams {
  jaxpr: ClosedJaxpr;
  name: string;
}

/** How a jitted program is run on concrete arrays (`name`: the jit's, for records and logs). The compiler replaces this. */
export let runJitted = (jaxpr: ClosedJaxpr, args: NDArray[], _name?: string): NDArray[] => evalClosedJaxpr(jaxpr, args);
/** @internal Installs the compiler's executor. */
export function _setJitRunner(fn: typeof runJitted): void {
  runJitted = fn;
}

const jvpCache = new WeakMap<ClosedJaxpr, Map<string, ClosedJaxpr>>();

export const jitP = definePrimitive<JitParams>({
  name: "jit",
  abstractEval: (_avals, p) => p.jaxpr.outAvals.map((a) => a),
  cpu: () => {
    throw new PrimalError("jit: runs through its impl, not a CPU kernel, got a direct kernel call");
  },
  impl: (args, p) => runJitted(p.jaxpr, args, p.name),
  // The body, transformed by jvp, becomes a new jitted jaxpr over (primals, nonzero tangents).
  jvp: (primals, tangents, p) => {
    const mask = tangents.map((t) => t !== null);
    const key = mask.map((m) => (m ? 1 : 0)).join("");
    let cache = jvpCache.get(p.jaxpr);
    if (!cache) jvpCache.set(p.jaxpr, (cache = new Map()));
    let jj = cache.get(key);
    const given = tangents.filter((t): t is NDArray => t !== null);
    if (!jj) {
      const n = primals.length;
      jj = traceToJaxpr(
        (...xs) => {
          const ps = xs.slice(0, n);
          let k = n;
          const ts = ps.map((x, i) => (mask[i] ? xs[k++] : zerosLike(x)));
          const [outs, touts] = jvpFlat((...a) => evalClosedJaxpr(p.jaxpr, a), ps, ts);
          return [...outs, ...touts];
        },
        [...primals.map((x) => x.aval), ...given.map((t) => t.aval)],
        { dropUnused: false },
      );
      cache.set(key, jj);
    }
    const outs = bind(jitP, [...primals, ...given], { jaxpr: jj, name: p.name });
    const m = outs.length / 2;
    return [outs.slice(0, m), outs.slice(m)];
  },
  // The body is vmapped into a new jitted jaxpr; batch axes go to the front.
  batch: (args, dims, p, size) => {
    const xs = args.map((a, i) => (dims[i] === null ? a : moveAxis(a, dims[i]!, 0)));
    const inDims = dims.map((d) => (d === null ? null : 0));
    const bj = traceToJaxpr((...ys) => vmapFlat((...zs) => evalClosedJaxpr(p.jaxpr, zs), ys, inDims, 0, size), xs.map((x) => x.aval), { dropUnused: false });
    const outs = bind(jitP, xs, { jaxpr: bj, name: p.name });
    return [outs, outs.map(() => 0)];
  },
  // Partial evaluation (grad of a jitted function) runs through the body: the known part is
  // computed now and the linear part is recorded equation by equation.
  inlineForPartialEval: (args, p) => evalClosedJaxpr(p.jaxpr, args),
  printParams: (p) => ({ name: p.name, jaxpr: p.jaxpr }),
  aliasNestedNames: true,
});

export interface JitOptions {
  /** Positions of arguments that are static: hashed into the cache key, not traced. */
  staticArgnums?: number | readonly number[];
  /** Accepted for JAX compatibility; JS has no keyword arguments, so there is nothing to name. */
  staticArgnames?: string | readonly string[];
  /**
   * Accepted; the CPU backend does not reuse argument buffers yet, so the donated arrays stay
   * valid, and the first call warns as JAX does where a backend cannot use a donation.
   */
  donateArgnums?: number | readonly number[];
}

/** A jitted function, with JAX's cache introspection. */
export interface Jitted<F extends (...args: any[]) => any> {
  (...args: Parameters<F>): ReturnType<F>;
  /** How many times the function was traced (a cache hit does not trace). */
  readonly traceCount: number;
  /** Number of cached signatures (JAX's `_cache_size()`). */
  cacheSize(): number;
  /** The jaxpr cached for these arguments (tracing them if needed). */
  lower(...args: Parameters<F>): ClosedJaxpr;
}

const objectIds = new WeakMap<object, number>();
let nextId = 0;
/** A cache key for a static argument: value-based for plain data, identity for objects/functions. */
function staticKey(v: unknown): string {
  if (v === null || v === undefined || typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (Array.isArray(v)) return `[${v.map(staticKey).join(",")}]`;
  if (typeof v === "object" || typeof v === "function") {
    if (v instanceof NDArray) throw new ArgumentError(`jit: static arguments must be hashable, got an array ${v.aval.str()} (pass it as a traced argument instead)`);
    let id = objectIds.get(v as object);
    if (id === undefined) objectIds.set(v as object, (id = nextId++));
    return `#${id}`;
  }
  return describeValue(v);
}

/** jax.jit: traces `f` once per argument signature, caches the jaxpr, and runs it. */
export function jit<F extends (...args: any[]) => any>(f: F, opts: JitOptions = {}): Jitted<F> {
  if (typeof f !== "function") throw new ArgumentError(`jit: expected a function, got ${describeValue(f)}`);
  const staticNums = opts.staticArgnums === undefined ? [] : typeof opts.staticArgnums === "number" ? [opts.staticArgnums] : [...opts.staticArgnums];
  const cache = new Map<string, { jaxpr: ClosedJaxpr; outTree: PyTreeDef; taps: Tap[]; nOut: number }>();
  let traces = 0;
  const name = f.name || "<lambda>";

  const lookup = (args: unknown[]) => {
    const statics = staticNums.map((i) => (i < 0 ? i + args.length : i));
    for (const i of statics)
      if (!Number.isInteger(i) || i < 0 || i >= args.length)
        throw new ArgumentError(`jit: staticArgnums ${describeValue(opts.staticArgnums)} is out of range for a call with ${args.length} arguments`);
    const dynamic = args.filter((_, i) => !statics.includes(i));
    const [leaves, inTree] = flattenToArrays(dynamic, "jit");
    // Taps (taps.ts) only for a top-level call, whose outputs are concrete; a separate cache entry.
    const tapping = tapsWanted() && !leaves.some((l) => l instanceof Tracer);
    const key = `${inTree}|${leaves.map((l) => l.aval.key()).join(",")}|${statics.map((i) => staticKey(args[i])).join(",")}${tapping ? "|taps" : ""}`;
    let entry = cache.get(key);
    if (!entry) {
      let outTree: PyTreeDef | null = null;
      let nOut = 0;
      const taps: Tap[] = [];
      const jaxpr = traceToJaxpr(
        (...xs) => {
          const dyn = treeUnflatten(inTree, xs) as unknown[];
          const full: unknown[] = [];
          let k = 0;
          for (let i = 0; i < args.length; i++) full.push(statics.includes(i) ? args[i] : dyn[k++]);
          const [outs, def] = flattenToArrays(f(...full), "jit");
          outTree = def;
          nOut = outs.length;
          return outs;
        },
        leaves.map((l) => l.aval),
        { dropUnused: false, taps: tapping ? taps : undefined },
      );
      traces++;
      recordTrace("jit", name, jaxpr, { tapOutputs: tapOutputCount(taps) });
      entry = { jaxpr, outTree: outTree!, taps, nOut };
      cache.set(key, entry);
    }
    return { entry, leaves };
  };

  const donated = opts.donateArgnums === undefined ? [] : typeof opts.donateArgnums === "number" ? [opts.donateArgnums] : [...opts.donateArgnums];
  let donationWarned = false;
  const warnDonation = (args: unknown[]): void => {
    donationWarned = true;
    const avals = donated.filter((i) => i < args.length).flatMap((i) => flattenToArrays([args[i]], "jit")[0].map((l) => `ShapedArray(${l.aval.dtype.name}[${l.aval.shape.join(",")}])`));
    if (avals.length === 0) return;
    process.emitWarning(`Some donated buffers were not usable: ${avals.join(", ")}.\nDonation is not implemented for ['cpu'] in Primal yet: the donated arrays stay valid.`, "UserWarning");
  };
  const wrapped = ((...args: unknown[]) => {
    if (donated.length > 0 && !donationWarned) warnDonation(args);
    if (config.disableJit) return f(...args);
    const { entry, leaves } = lookup(args);
    const outs = bind(jitP, leaves, { jaxpr: entry.jaxpr, name });
    if (entry.taps.length === 0) return treeUnflatten(entry.outTree, outs);
    deliverTaps(entry.taps, outs.slice(entry.nOut));
    return treeUnflatten(entry.outTree, outs.slice(0, entry.nOut));
  }) as unknown as Jitted<F>;
  Object.defineProperty(wrapped, "traceCount", { get: () => traces });
  Object.defineProperty(wrapped, "name", { value: name });
  wrapped.cacheSize = () => cache.size;
  // The jaxpr the function stages, without the extra outputs of taps.
  wrapped.lower = (...args: unknown[]) => withoutTaps(lookup(args).entry);
  return wrapped;
}

function withoutTaps(e: { jaxpr: ClosedJaxpr; nOut: number; taps: Tap[] }): ClosedJaxpr {
  if (e.taps.length === 0) return e.jaxpr;
  const j = e.jaxpr.jaxpr;
  return new ClosedJaxpr(new Jaxpr(j.constvars, j.invars, j.eqns, j.outvars.slice(0, e.nOut)), e.jaxpr.consts);
}

/** jax.disable_jit: runs `fn` with jit turned into the identity (every primitive eager). */
export function disableJit<T>(fn: () => T): T {
  return withConfig("jax_disable_jit", true, fn);
}

