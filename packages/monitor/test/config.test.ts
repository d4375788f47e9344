import { strict as assert } from 'node:assert'
import { parseComponents, startOrder, resolveArtifact, previousArtifactVersion, formatPath, type ComponentSpec } from '../src/index.ts'

const ok = { name: 'llm', command: 'node', args: ['serve.js'] }
/** [why, components, the issue that must be reported] */
const bad: Array<[string, unknown, RegExp]> = [
  ['not a list', { a: 1 }, /^components: expected a list of components/],
  ['missing name', [{ command: 'x' }], /^components\[0\]\.name: expected a component name/],
  ['bad name chars', [{ name: 'a b', command: 'x' }], /^components\[0\]\.name: expected letters/],
  ['empty command', [ok, { name: 'b', command: '' }], /^components\[1\]\.command: expected a command/],
  ['args not strings', [{ ...ok, args: [1] }], /^components\[0\]\.args\[0\]: expected a string argument/],
  ['env value not a string', [{ ...ok, env: { A: 1 } }], /^components\[0\]\.env\.A: expected a string value/],
  ['bad restart policy', [{ ...ok, restart: 'sometimes' }], /^components\[0\]\.restart: expected "always", "on-failure" or "never"/],
  ['unknown field', [{ ...ok, colour: 'red' }], /^components\[0\]: .*colour/],
  ['negative probe timeout', [ok, ok, { ...ok, name: 'c', probes: [{ kind: 'http', url: 'http://x/', timeoutMs: -5 }] }], /^components\[2\]\.probes\[0\]\.timeoutMs: expected a positive number/],
  ['probe timeout not a number', [{ ...ok, probes: [{ kind: 'tcp', port: 80, timeoutMs: 'soon' }] }], /^components\[0\]\.probes\[0\]\.timeoutMs: expected a positive number/],
  ['probe kind unknown', [{ ...ok, probes: [{ kind: 'ping' }] }], /^components\[0\]\.probes\[0\]\.kind: expected a probe kind/],
  ['failureThreshold not integer', [{ ...ok, probes: [{ kind: 'process', failureThreshold: 1.5 }] }], /^components\[0\]\.probes\[0\]\.failureThreshold: expected a positive integer/],
  ['tcp port out of range', [{ ...ok, probes: [{ kind: 'tcp', port: 70000 }] }], /^components\[0\]\.probes\[0\]\.port: expected a port number/],
  ['http url not http', [{ ...ok, probes: [{ kind: 'http', url: 'ftp://x' }] }], /^components\[0\]\.probes\[0\]\.url: expected an http\(s\) URL/],
  ['bad body regex', [{ ...ok, probes: [{ kind: 'http', url: 'http://x/', bodyMatch: '(' }] }], /^components\[0\]\.probes\[0\]\.bodyMatch: expected a valid regular expression/],
  ['heartbeat without maxAgeMs', [{ ...ok, probes: [{ kind: 'heartbeat', path: '/tmp/hb' }] }], /^components\[0\]\.probes\[0\]\.maxAgeMs: expected a positive number/],
  ['memory limit zero', [{ ...ok, limits: { memoryMb: 0 } }], /^components\[0\]\.limits\.memoryMb: expected a positive number/],
  ['cpu limit negative', [{ ...ok, limits: { cpu: -1 } }], /^components\[0\]\.limits\.cpu: expected a positive number of cores/],
  ['disk limit without path', [{ ...ok, limits: { disk: { limitMb: 10 } } }], /^components\[0\]\.limits\.disk\.path: expected a directory/],
  ['artifact version not listed', [{ ...ok, artifact: { path: '/m/{version}', versions: ['v1'], version: 'v9' } }], /^components\[0\]\.artifact\.version: expected version to be one of versions/],
  ['artifact without versions', [{ ...ok, artifact: { path: '/m', versions: [] } }], /^components\[0\]\.artifact\.versions: expected at least one version/],
  ['relocatable not boolean', [{ ...ok, relocatable: 'yes' }], /^components\[0\]\.relocatable: expected true or false/],
  ['duplicate names', [ok, ok], /^components\[1\]\.name: duplicate name "llm"/],
  ['unknown dependency', [{ ...ok, dependsOn: ['db'] }], /^components\[0\]\.dependsOn\[0\]: unknown component "db"/],
  ['self dependency', [{ ...ok, dependsOn: ['llm'] }], /^components\[0\]\.dependsOn\[0\]: a component cannot depend on itself/],
  ['dependency cycle', [{ ...ok, name: 'a', dependsOn: ['b'] }, { ...ok, name: 'b', dependsOn: ['a'] }], /dependsOn: dependency cycle a → b → a/]
]

describe('monitor: component config validation', () => {
  for (const [why, value, want] of bad) {
    it(`rejects ${why}, naming the field`, () => {
      assert.throws(() => parseComponents(value), (err: Error & { code?: string, issues?: string[] }) => {
        assert.equal(err.code, 'ERR_CONFIG')
        assert.ok(err.issues!.some((i) => want.test(i)), `issues ${JSON.stringify(err.issues)} do not match ${String(want)}`)
        return true
      })
    })
  }
  it('reports every bad entry at once', () => {
    assert.throws(() => parseComponents([{ name: '' }, { ...ok, restart: 'x' }]), (err: Error & { issues?: string[] }) => {
      assert.ok(err.issues!.some((i) => i.startsWith('components[0].')))
      assert.ok(err.issues!.some((i) => i.startsWith('components[1].restart')))
      return true
    })
  })
  it('fills defaults', () => {
    const [s] = parseComponents([ok]) as [ComponentSpec]
    assert.equal(s.restart, 'on-failure')
    assert.deepEqual(s.env, {})
    assert.deepEqual(s.limits, {})
    assert.equal(s.relocatable, false)
    const [t] = parseComponents([{ ...ok, probes: [{ kind: 'http', url: 'http://127.0.0.1:1/' }] }]) as [ComponentSpec]
    const p = t.probes[0]!
    assert.equal(p.periodMs, 1000)
    assert.equal(p.timeoutMs, 1000)
    assert.equal(p.failureThreshold, 3)
    assert.equal(p.successThreshold, 1)
  })
  it('orders starts by dependency and resolves artifacts', () => {
    const specs = parseComponents([{ ...ok, name: 'app', dependsOn: ['cache', 'db'] }, { ...ok, name: 'cache', dependsOn: ['db'] }, { ...ok, name: 'db' }])
    assert.deepEqual(startOrder(specs), ['db', 'cache', 'app'])
    const [a] = parseComponents([{ ...ok, artifact: { path: '/models/{version}.onnx', versions: ['v1', 'v2', 'v3'], version: 'v2' } }]) as [ComponentSpec]
    assert.deepEqual(resolveArtifact(a), { path: '/models/v2.onnx', version: 'v2' })
    assert.equal(previousArtifactVersion(a), 'v1')
    assert.equal(formatPath(['components', 2, 'probes', 0, 'timeoutMs']), 'components[2].probes[0].timeoutMs')
  })
})
