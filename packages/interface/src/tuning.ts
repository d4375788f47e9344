// Numeric tunables: every package keeps its defaults in a `const X_DEFAULTS = {...} as const`
// object with a comment on each value; callers override any of them with plain numbers.

/** The numeric fields of a defaults object, widened from their literal types (`as const`) to `number`. */
export type Tuning<T> = { -readonly [K in keyof T]: number }

/** Any subset of a defaults object's numeric fields, as callers pass them. */
export type TuningOverrides<T> = Partial<Tuning<T>>
