// Errors that cross a package boundary carry a stable `code`; tests assert on
// `code`/`name`, never on message text.

export class HomeostatError extends Error {
  readonly code: string
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'HomeostatError'
  }
}

/** Input from the network or a file failed its schema or size limit. */
export class ValidationError extends HomeostatError {
  constructor (message: string, readonly issues: readonly string[] = []) {
    super('ERR_VALIDATION', message)
    this.name = 'ValidationError'
  }
}

/** Input exceeded a size limit before it was even parsed. */
export class TooLargeError extends HomeostatError {
  constructor (readonly what: string, readonly bytes: number, readonly limitBytes: number) {
    super('ERR_TOO_LARGE', `${what} is ${bytes} bytes, over the ${limitBytes}-byte limit`)
    this.name = 'TooLargeError'
  }
}
