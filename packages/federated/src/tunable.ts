/** Options that override a defaults object: every field optional and widened from its literal type. */
export type Tunable<T> = { -readonly [K in keyof T]?: T[K] extends number ? number : T[K] extends string ? string : T[K] }
