// The alarm from a table: scores in, alerts out (threshold, k-of-n
// confirmation, one alert per event, re-arm after quiet values, warm-up).
import assert from 'node:assert/strict'
import { SeriesAlarm, alarmSeries, validateAlarmOptions, AlarmConfigError, ALARM_DEFAULTS } from '../src/index.ts'

const H = 0.9 // above the threshold
const L = 0.1 // below

describe('alarm', () => {
  const cases: Array<[string, Partial<typeof ALARM_DEFAULTS>, number[], number[]]> = [
    ['a lone spike does not confirm 2 of 3', { threshold: 0.5, confirmSamples: 2, confirmWindow: 3, warmupSamples: 0, rearmSamples: 2 }, [L, H, L, L, L], [0, 0, 0, 0, 0]],
    ['2 of 3 confirms on the second hit, once', { threshold: 0.5, confirmSamples: 2, confirmWindow: 3, warmupSamples: 0, rearmSamples: 2 }, [H, L, H, H, H], [0, 0, 1, 0, 0]],
    ['a gap shorter than the re-arm is one event', { threshold: 0.5, confirmSamples: 1, confirmWindow: 1, warmupSamples: 0, rearmSamples: 3 }, [H, L, L, H, L, L, L, H], [1, 0, 0, 0, 0, 0, 0, 1]],
    ['a long event alerts once', { threshold: 0.5, confirmSamples: 1, confirmWindow: 1, warmupSamples: 0, rearmSamples: 2 }, [H, H, H, H, H, H, H, H], [1, 0, 0, 0, 0, 0, 0, 0]],
    ['warm-up values never alert', { threshold: 0.5, confirmSamples: 1, confirmWindow: 1, warmupSamples: 3, rearmSamples: 1 }, [H, H, H, H, L, H], [0, 0, 0, 1, 0, 1]],
    ['the threshold is inclusive', { threshold: 0.9, confirmSamples: 1, confirmWindow: 1, warmupSamples: 0, rearmSamples: 1 }, [0.89, 0.9], [0, 1]],
    ['the newest value must hit', { threshold: 0.5, confirmSamples: 2, confirmWindow: 3, warmupSamples: 0, rearmSamples: 1 }, [H, H, L, L], [0, 1, 0, 0]]
  ]
  for (const [name, opts, scores, want] of cases) {
    it(name, () => assert.deepEqual(alarmSeries(scores, opts), want))
  }

  it('the onset is the first hit of the confirming window', () => {
    const a = new SeriesAlarm({ threshold: 0.5, confirmSamples: 3, confirmWindow: 5, warmupSamples: 0, rearmSamples: 1 })
    const steps = [H, L, H, H].map((s) => a.push(s))
    assert.deepEqual(steps.map((s) => s.alert), [false, false, false, true])
    assert.equal(steps[3]!.onsetAgo, 3, 'the first hit, three values back')
  })

  it('bad options are refused with the field', () => {
    for (const [opts, field] of [[{ threshold: 0 }, 'threshold'], [{ confirmWindow: 31 }, 'confirmWindow'], [{ confirmSamples: 6, confirmWindow: 5 }, 'confirmSamples'], [{ rearmSamples: 0 }, 'rearmSamples'], [{ nope: 1 }, 'nope']] as const) {
      assert.throws(() => validateAlarmOptions(opts as never), (e: unknown) => e instanceof AlarmConfigError && e.code === 'ERR_ALARM_CONFIG' && e.field === field)
    }
  })
})
