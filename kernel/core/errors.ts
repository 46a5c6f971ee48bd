// The error classes of Primal. Every error a user can meet is a PrimalError subclass whose
// message names the operation and what was wrong: `${op}: ${what is wrong}, got ${actual}`.

/** Base class of every error Primal throws on purpose. */
export class PrimalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the operation (broadcasting, reshape sizes, contraction dims). */
export class ShapeError extends PrimalError {}

/** A dtype the operation does not accept, or an unknown dtype name. */
export class DTypeError extends PrimalError {}

/** An axis outside the array's rank (NumPy's AxisError). */
export class AxisError extends PrimalError {}

/** An index the indexing machinery cannot interpret (bad slice string, too many indices). */
export class IndexError extends PrimalError {}

/** An argument with a bad value (not a shape or dtype problem): negative sizes, bad options. */
export class ValueError extends PrimalError {}

/** A traced (abstract) value was used where a concrete one is required. */
export class ConcretizationError extends PrimalError {}

/** A value of a kind Primal cannot turn into an array (a string, an object, a ragged list). */
export class ArgumentError extends PrimalError {}

/** The array was used after `dispose()`. */
export class DisposedError extends PrimalError {}

/** A collective named an axis that no enclosing vmap/pmap binds (JAX's NameError). */
export class NameError extends PrimalError {
  constructor(readonly axisName: string, message: string) {
    super(message);
  }
}

/** A feature that belongs to a later part of Primal (named in the message). */
export class NotAvailableError extends PrimalError {}

/** Formats a shape the way error messages show it: `[3, 4]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** A device failed: lost (its arrays are gone), out of memory, or an error reported by the driver. */
export class DeviceError extends PrimalError {}
