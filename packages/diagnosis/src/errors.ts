import { HomeostatError } from '@homeostat/interface'

/** Input to diagnosis (graph, series, records) is malformed or over a limit. */
export class DiagnosisInputError extends HomeostatError {
  constructor (message: string) {
    super('ERR_DIAGNOSIS_INPUT', message)
    this.name = 'DiagnosisInputError'
  }
}
