/** The CLI's exit codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, config: 4, notFound: 5 } as const
