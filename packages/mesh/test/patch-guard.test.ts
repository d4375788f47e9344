// The guards of the dependency patches (src/patch-guard.ts) on fakes: an unknown version, a changed
// shape or a second copy of the patched package skips the patch with a coded status and one warning,
// and leaves its target as upstream made it. The real specs are checked against fake targets, so this
// file installs nothing on the real classes (only node.ts does; see patches-real-node.test.ts).
import { strict as assert } from 'node:assert'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { createGuardedPatch, createPatchRegistry, locatePackage, locatePackageFrom, packageName, reportSkippedPatches, type PackageCopy } from '../src/patch-guard.ts'
import { frameDecoderPatchSpec, originalDecode, patchedDecode, FRAME_DECODER_VERSIONS, type DecoderClass } from '../src/frame-decoder-patch.ts'
import { yamuxWindowPatchSpec, originalSendWindowUpdate, patchedSendWindowUpdate, YAMUX_WINDOW_VERSIONS, type YamuxTarget } from '../src/yamux-window-patch.ts'

/** A class shaped like upstream's LengthPrefixedDecoder, with upstream's own decode, that is not it. */
function fakeDecoderClass (decode: unknown = originalDecode): DecoderClass {
  const Fake = function (this: object) { Object.assign(this, new LengthPrefixedDecoder()) } as unknown as DecoderClass
  Object.defineProperty(Fake.prototype, 'decode', { value: decode, writable: true, configurable: true })
  return Fake
}

/** A stand-in for YamuxStream with upstream's methods and class text. */
function fakeYamux (): YamuxTarget {
  const upstream = YamuxStream.prototype as unknown as { handleData: unknown }
  return {
    stream: { prototype: { sendWindowUpdate: originalSendWindowUpdate, handleData: upstream.handleData }, toString: () => String(YamuxStream) },
    states: { Established: 3, Paused: 5 }
  }
}

/** A fake installation: `version` of the package, at one place, used from there by every consumer. */
const at = (version: string | undefined): { locate: (specifier: string) => PackageCopy, locateFrom: (consumer: string, pkg: string) => string } => ({
  locate: (specifier) => ({ name: packageName(specifier), version, dir: '/fake/node_modules/' + packageName(specifier) }),
  locateFrom: (_consumer, pkg) => '/fake/node_modules/' + pkg
})

function warnings (): { logger: { warn: (obj: object, msg?: string) => void }, lines: Array<{ obj: Record<string, unknown>, msg?: string }> } {
  const lines: Array<{ obj: Record<string, unknown>, msg?: string }> = []
  return { lines, logger: { warn: (obj, msg) => { lines.push({ obj: obj as Record<string, unknown>, msg }) } } }
}

describe('mesh dependency patch guards', () => {
  it('the installed versions are on the allow-lists (a dependency upgrade fails here first)', () => {
    assert.ok(FRAME_DECODER_VERSIONS.includes(locatePackage('@libp2p/utils')?.version ?? ''), `@libp2p/utils ${locatePackage('@libp2p/utils')?.version}`)
    assert.ok(YAMUX_WINDOW_VERSIONS.includes(locatePackage('@chainsafe/libp2p-yamux/stream')?.version ?? ''))
    // Noise loads the copy of @libp2p/utils the patch reaches.
    assert.equal(locatePackageFrom('@chainsafe/libp2p-noise', '@libp2p/utils'), locatePackage('@libp2p/utils')?.dir)
  })

  it('frame decoder: applies to a target of the expected shape at an allowed version', () => {
    const registry = createPatchRegistry()
    const Fake = fakeDecoderClass()
    const status = createGuardedPatch(frameDecoderPatchSpec, { target: Fake, registry, ...at(FRAME_DECODER_VERSIONS[0]) }).apply()
    assert.deepEqual(status, { name: 'frame-decoder', package: '@libp2p/utils', version: FRAME_DECODER_VERSIONS[0], applied: true })
    assert.equal((Fake.prototype as { decode: unknown }).decode, patchedDecode)
    assert.deepEqual(registry.list(), [status])
    assert.deepEqual(registry.takeUnreported(), [])
  })

  it('frame decoder: an unknown version is skipped with one warning, upstream behaviour kept', () => {
    const registry = createPatchRegistry()
    const Fake = fakeDecoderClass()
    const guard = createGuardedPatch(frameDecoderPatchSpec, { target: Fake, registry, ...at('7.5.0') })
    const status = guard.apply()
    assert.equal(status.applied, false)
    assert.equal(status.code, 'ERR_MESH_PATCH_VERSION')
    assert.equal(status.version, '7.5.0')
    assert.match(status.reason ?? '', /7\.5\.0.*7\.4\.1/)
    assert.equal((Fake.prototype as { decode: unknown }).decode, originalDecode, 'target untouched')
    assert.deepEqual(guard.apply(), status, 'a second apply returns the first outcome')
    const w = warnings()
    reportSkippedPatches(w.logger, registry)
    reportSkippedPatches(w.logger, registry)
    assert.equal(w.lines.length, 1, 'one warning per skipped patch')
    assert.deepEqual(w.lines[0]!.obj, { patch: 'frame-decoder', package: '@libp2p/utils', version: '7.5.0', code: 'ERR_MESH_PATCH_VERSION' })
    // An unreadable version is unknown too.
    assert.equal(createGuardedPatch(frameDecoderPatchSpec, { target: fakeDecoderClass(), registry: createPatchRegistry(), locate: () => undefined }).apply().code, 'ERR_MESH_PATCH_VERSION')
  })

  it('frame decoder: a changed shape is skipped (method gone, fields renamed, the fixed throw gone)', () => {
    const cases: Array<[string, DecoderClass]> = [
      ['no decode', fakeDecoderClass(null)],
      ['not a generator', fakeDecoderClass(function () {})],
      ['upstream fixed the throw', fakeDecoderClass(function * (this: { buffer: unknown, lengthDecoder: unknown, encodingLength: unknown }) { yield [this.buffer, this.lengthDecoder, this.encodingLength] })]
    ]
    const renamed = function (this: Record<string, unknown>) { Object.assign(this, new LengthPrefixedDecoder()); this.chunks = this.buffer; delete this.buffer } as unknown as DecoderClass
    Object.defineProperty(renamed.prototype, 'decode', { value: originalDecode })
    cases.push(['buffer field renamed', renamed])
    for (const [what, Fake] of cases) {
      const before = (Fake.prototype as { decode?: unknown }).decode
      const status = createGuardedPatch(frameDecoderPatchSpec, { target: Fake, registry: createPatchRegistry(), ...at(FRAME_DECODER_VERSIONS[0]) }).apply()
      assert.equal(status.code, 'ERR_MESH_PATCH_SHAPE', what)
      assert.equal(status.applied, false, what)
      assert.equal((Fake.prototype as { decode?: unknown }).decode, before, `${what}: target untouched`)
    }
  })

  it('frame decoder: Noise loading a second copy of @libp2p/utils is skipped', () => {
    const Fake = fakeDecoderClass()
    const status = createGuardedPatch(frameDecoderPatchSpec, {
      target: Fake,
      registry: createPatchRegistry(),
      ...at(FRAME_DECODER_VERSIONS[0]),
      locateFrom: (consumer: string, pkg: string) => `/fake/node_modules/${consumer}/node_modules/${pkg}`
    }).apply()
    assert.equal(status.code, 'ERR_MESH_PATCH_COPY')
    assert.match(status.reason ?? '', /@chainsafe\/libp2p-noise loads @libp2p\/utils/)
    assert.equal((Fake.prototype as { decode: unknown }).decode, originalDecode)
  })

  it('yamux window: applies at an allowed version; an unknown version or a changed shape is skipped', () => {
    const ok = fakeYamux()
    assert.equal(createGuardedPatch(yamuxWindowPatchSpec, { target: ok, registry: createPatchRegistry(), ...at(YAMUX_WINDOW_VERSIONS[0]) }).apply().applied, true)
    assert.equal((ok.stream.prototype as { sendWindowUpdate: unknown }).sendWindowUpdate, patchedSendWindowUpdate)

    const registry = createPatchRegistry()
    const newer = fakeYamux()
    const status = createGuardedPatch(yamuxWindowPatchSpec, { target: newer, registry, ...at('8.1.0') }).apply()
    assert.equal(status.code, 'ERR_MESH_PATCH_VERSION')
    assert.equal((newer.stream.prototype as { sendWindowUpdate: unknown }).sendWindowUpdate, originalSendWindowUpdate)
    const w = warnings()
    reportSkippedPatches(w.logger, registry)
    assert.equal(w.lines.length, 1)
    assert.equal(w.lines[0]!.obj.package, '@chainsafe/libp2p-yamux')

    const shapes: Array<[string, (t: YamuxTarget) => void]> = [
      ['method renamed', (t) => { const p = t.stream.prototype as Record<string, unknown>; p.sendUpdate = p.sendWindowUpdate; delete p.sendWindowUpdate }],
      ['enum changed', (t) => { t.states = { Open: 3 } }],
      ['fields renamed', (t) => { t.stream.toString = () => String(YamuxStream).replaceAll('recvWindowCapacity', 'recvCredit') }],
      ['no update per frame', (t) => { (t.stream.prototype as Record<string, unknown>).handleData = function handleData () {} }]
    ]
    for (const [what, change] of shapes) {
      const t = fakeYamux()
      change(t)
      const s = createGuardedPatch(yamuxWindowPatchSpec, { target: t, registry: createPatchRegistry(), ...at(YAMUX_WINDOW_VERSIONS[0]) }).apply()
      assert.equal(s.code, 'ERR_MESH_PATCH_SHAPE', what)
      assert.notEqual((t.stream.prototype as { sendWindowUpdate?: unknown }).sendWindowUpdate, patchedSendWindowUpdate, what)
    }
  })

  it('without a logger the warning goes to console.warn, once', () => {
    const registry = createPatchRegistry()
    createGuardedPatch(yamuxWindowPatchSpec, { target: fakeYamux(), registry, ...at('9.0.0') }).apply()
    const lines: string[] = []
    const warn = console.warn
    console.warn = (...args: unknown[]) => { lines.push(args.map(String).join(' ')) }
    try {
      reportSkippedPatches(undefined, registry)
      reportSkippedPatches(undefined, registry)
    } finally { console.warn = warn }
    assert.equal(lines.length, 1)
    assert.match(lines[0]!, /ERR_MESH_PATCH_VERSION/)
  })
})
