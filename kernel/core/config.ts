// Primal's global configuration, with JAX's flag names (`config.update("jax_disable_jit",
// true)`) and camelCase aliases (`config.update("disableJit", true)`). Values are read by the
// transformations (jit, PRNG) at call time.

import { ArgumentError, NotAvailableError, ValueError } from "./errors";
import { describeValue } from "./shape";

/** The flags and their current values. */
export interface ConfigValues {
  /** jit becomes the identity; every primitive runs eagerly. */
  disableJit: boolean;
  /** Threefry "partitionable" mode (JAX's default since 0.5.0); false = classic. */
  threefryPartitionable: boolean;
  /** Accepted for compatibility; 64-bit types are not supported, so only false is allowed. */
  enableX64: boolean;
  /** The default backend: "cpu" or "webgpu" (null = automatic). */
  platformName: string | null;
  /** Accepted and recorded; the CPU backend always computes in full float32. */
  defaultMatmulPrecision: string | null;
  /** Added to every PRNG seed (jax_random_seed_offset). */
  randomSeedOffset: number;
}

const values: ConfigValues = {
  disableJit: false,
  threefryPartitionable: true,
  enableX64: false,
  platformName: null,
  defaultMatmulPrecision: null,
  randomSeedOffset: 0,
};

const KINDS: Record<keyof ConfigValues, "boolean" | "string?" | "integer"> = {
  disableJit: "boolean",
  threefryPartitionable: "boolean",
  enableX64: "boolean",
  platformName: "string?",
  defaultMatmulPrecision: "string?",
  randomSeedOffset: "integer",
};

/** jax_disable_jit -> disableJit. */
function canonicalName(name: string): keyof ConfigValues {
  const camel = name.startsWith("jax_") ? name.slice(4).replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : name;
  if (!(camel in values)) throw new ArgumentError(`config.update: unknown flag, got ${JSON.stringify(name)} (known: ${Object.keys(values).join(", ")}, or their jax_ names)`);
  return camel as keyof ConfigValues;
}

/** JAX's `jax.config`. */
export const config = {
  /** Sets a flag: `config.update("jax_threefry_partitionable", false)`. */
  update(name: string, value: unknown): void {
    const key = canonicalName(name);
    const kind = KINDS[key];
    const ok = kind === "boolean" ? typeof value === "boolean" : kind === "integer" ? Number.isInteger(value) : value === null || typeof value === "string";
    if (!ok) throw new ValueError(`config.update: ${name} expects a ${kind.replace("?", " or null")}, got ${describeValue(value)}`);
    if (key === "enableX64" && value === true) throw new NotAvailableError("config.update: jax_enable_x64 is not supported (Primal's widest types are 32-bit), got true");
    (values as unknown as Record<string, unknown>)[key] = value;
  },
  /** Reads a flag by either name. */
  read<K extends keyof ConfigValues>(name: K | string): ConfigValues[K] {
    return values[canonicalName(name) as K];
  },
  /** The current values (a copy). */
  values(): ConfigValues {
    return { ...values };
  },
  get disableJit(): boolean {
    return values.disableJit;
  },
  get threefryPartitionable(): boolean {
    return values.threefryPartitionable;
  },
};

/** Runs `fn` with a flag set, restoring it afterwards (also when `fn` throws or its promise rejects). */
export function withConfig<T>(name: string, value: unknown, fn: () => T): T {
  const key = canonicalName(name);
  const prev = values[key];
  config.update(name, value);
  let restoreNow = true;
  try {
    const r = fn();
    if (r instanceof Promise) {
      restoreNow = false;
      return r.finally(() => ((values as unknown as Record<string, unknown>)[key] = prev)) as T;
    }
    return r;
  } finally {
    if (restoreNow) (values as unknown as Record<string, unknown>)[key] = prev;
  }
}
