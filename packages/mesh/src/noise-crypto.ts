// X25519 for the Noise handshake without OpenSSL's DER decoders.
//
// @chainsafe/libp2p-noise's Node crypto turns every raw key into a KeyObject by
// parsing DER (PKCS#8 / SPKI) for every Diffie-Hellman. On this Node/OpenSSL 3
// that parse is the slow part of a handshake: measured on the 2-core dev host,
// one DH costs ~1.9 ms (PKCS#8 import 1.35 ms, SPKI 0.27 ms, the DH itself
// 0.09 ms), and each side of an XX handshake does three of them plus a DER key
// generation (0.47 ms) — ~6 ms of CPU per side per connection, which after a
// partition heals is multiplied by every reconnecting pair at once.
//
// Here key pairs are generated as KeyObjects and exported as JWK (0.1 ms), the
// private KeyObject is remembered for the private-key array we hand out (Noise
// passes that same array to every DH of the key: the static key and each
// handshake's ephemeral key), and public keys are imported from JWK (0.02 ms):
// ~0.45 ms per side. Hashing and the AEAD are the package's own
// (`defaultCrypto`), unchanged. The results are byte-equal to the default
// implementation (test/noise-crypto.test.ts).
//
// The KeyObjects live in a WeakMap keyed by those arrays, so an ephemeral key
// is gone with its handshake (no cache to bound, nothing kept longer than
// Noise keeps it). A private key we did not hand out (a copy, or a caller's
// own key) is imported from DER as upstream does — slower, never wrong.
import crypto from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { Uint8ArrayList } from 'uint8arraylist'

const PKCS8_PREFIX = Buffer.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])

const bytes = (u: Uint8Array | Uint8ArrayList): Uint8Array => u instanceof Uint8Array ? u : u.subarray()
const b64u = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64url')

export interface NoiseCryptoStats {
  /** DHs whose private key was one we generated (no import). */
  cachedPrivateKeys: number
  /** DHs that had to import the private key from DER (not an array we handed out). */
  importedPrivateKeys: number
}

export interface NoiseCrypto extends ICryptoInterface {
  stats: () => NoiseCryptoStats
}

/** Noise crypto for `noise({ crypto })`: `defaultCrypto` with fast X25519 key handling. */
export function noiseCrypto (): NoiseCrypto {
  /** Private-key array we handed out → its KeyObject. */
  const privates = new WeakMap<Uint8Array, crypto.KeyObject>()
  const stats: NoiseCryptoStats = { cachedPrivateKeys: 0, importedPrivateKeys: 0 }

  const fromKeyObject = (privateKey: crypto.KeyObject): { publicKey: Uint8Array, privateKey: Uint8Array } => {
    const jwk = privateKey.export({ format: 'jwk' })
    const d = new Uint8Array(Buffer.from(jwk.d as string, 'base64url'))
    privates.set(d, privateKey)
    return { publicKey: Buffer.from(jwk.x as string, 'base64url'), privateKey: d }
  }

  return {
    ...defaultCrypto,
    generateX25519KeyPair () {
      return fromKeyObject(crypto.generateKeyPairSync('x25519').privateKey)
    },
    generateX25519KeyPairFromSeed (seed) {
      const key = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), type: 'pkcs8', format: 'der' })
      return fromKeyObject(key)
    },
    generateX25519SharedKey (privateKey, publicKey) {
      let priv = privateKey instanceof Uint8Array ? privates.get(privateKey) : undefined
      if (priv != null) {
        stats.cachedPrivateKeys++
      } else {
        stats.importedPrivateKeys++
        priv = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, bytes(privateKey)]), type: 'pkcs8', format: 'der' })
      }
      const pub = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(bytes(publicKey)) }, format: 'jwk' })
      return crypto.diffieHellman({ publicKey: pub, privateKey: priv })
    },
    stats: () => ({ ...stats })
  }
}
