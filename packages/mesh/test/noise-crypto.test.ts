// The Noise X25519 key handling (src/noise-crypto.ts): byte-equal to @chainsafe/libp2p-noise's
// default crypto for generated and seeded keys in both directions, and a private key it did not
// hand out is imported. Real handshakes (no DER import at all): test/mesh-network.test.ts.
import { strict as assert } from 'node:assert'
import crypto from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseCrypto } from '../src/noise-crypto.ts'

const hex = (u: Uint8Array | Uint8ArrayList): string => Buffer.from(u instanceof Uint8Array ? u : u.subarray()).toString('hex')

describe('noise crypto (X25519 without DER parsing)', () => {
  it('agrees with the default crypto on every DH, for generated and seeded keys, both directions', () => {
    const fast = noiseCrypto()
    for (let i = 0; i < 20; i++) {
      const a = fast.generateX25519KeyPair()
      const b = defaultCrypto.generateX25519KeyPair()
      const seed = crypto.randomBytes(32)
      const s1 = fast.generateX25519KeyPairFromSeed(seed)
      const s2 = defaultCrypto.generateX25519KeyPairFromSeed(seed)
      assert.equal(hex(s1.publicKey), hex(s2.publicKey), 'seeded public key')
      assert.equal(hex(s1.privateKey), hex(s2.privateKey), 'seeded private key')
      const ab = fast.generateX25519SharedKey(a.privateKey, b.publicKey)
      assert.equal(hex(ab), hex(defaultCrypto.generateX25519SharedKey(b.privateKey, a.publicKey)), 'fast(a, B) = default(b, A)')
      assert.equal(hex(ab), hex(defaultCrypto.generateX25519SharedKey(a.privateKey, b.publicKey)), 'fast(a, B) = default(a, B)')
      // Keys the fast side never generated (imported on first use), and Uint8ArrayList inputs.
      const ba = fast.generateX25519SharedKey(new Uint8ArrayList(b.privateKey.subarray(0, 7), b.privateKey.subarray(7)), new Uint8ArrayList(a.publicKey))
      assert.equal(hex(ba), hex(ab))
      assert.equal(hex(fast.generateX25519SharedKey(s1.privateKey, a.publicKey)), hex(defaultCrypto.generateX25519SharedKey(a.privateKey, s2.publicKey)))
    }
  })

  it('uses the key object of a key pair it generated; any other private key is imported', () => {
    const fast = noiseCrypto()
    const peer = defaultCrypto.generateX25519KeyPair()
    const k1 = fast.generateX25519KeyPair()
    fast.generateX25519SharedKey(k1.privateKey, peer.publicKey)
    fast.generateX25519SharedKey(k1.privateKey, peer.publicKey)
    assert.deepEqual(fast.stats(), { cachedPrivateKeys: 2, importedPrivateKeys: 0 })
    const copy = new Uint8Array(k1.privateKey) // same bytes, another array: not one we handed out
    assert.equal(hex(fast.generateX25519SharedKey(copy, peer.publicKey)), hex(defaultCrypto.generateX25519SharedKey(k1.privateKey, peer.publicKey)))
    assert.deepEqual(fast.stats(), { cachedPrivateKeys: 2, importedPrivateKeys: 1 })
  })

  it('rejects a malformed public key as the default does', () => {
    const fast = noiseCrypto()
    const a = fast.generateX25519KeyPair()
    assert.throws(() => fast.generateX25519SharedKey(a.privateKey, new Uint8Array(31)))
    assert.throws(() => defaultCrypto.generateX25519SharedKey(a.privateKey, new Uint8Array(31)))
  })
})
