// Pieces of the string keys that CSE (passes.ts) and the compile cache (structural-key.ts) build:
// object identities and numbers spelled so that different values never share a key.

const ids = new WeakMap<object, number>();
let nextId = 0;

/** A process-wide number for an object (never reused, so a key naming it cannot match another). */
export function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

/** A number as a key: -0 apart from 0 (String(-0) is "0"). */
export const numKey = (v: number): string => (Object.is(v, -0) ? "-0" : String(v));
