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
// private KeyObject is remembered by its raw bytes (the static key and each
// handshake's ephemeral key are used for several DHs), and public keys are
// imported from JWK (0.02 ms): ~0.45 ms per side. Hashing and the AEAD are
// the package's own (`defaultCrypto`), unchanged. The results are byte-equal
// to the default implementation (test/noise-crypto.test.ts).
//
// The cache of private KeyObjects is bounded (`maxCachedKeys`, oldest out): a
// private key that fell out (more handshakes in flight than the bound) is
// imported from DER as upstream does — slower, never wrong.
import crypto from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { Uint8ArrayList } from 'uint8arraylist'

export const NOISE_CRYPTO_DEFAULTS = {
  /** Private KeyObjects remembered: the static key plus one ephemeral per handshake in flight.
   * 64 covers a whole fleet reconnecting at once; ephemeral keys leave as newer ones arrive. */
  maxCachedKeys: 64
} as const

const PKCS8_PREFIX = Buffer.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])

const bytes = (u: Uint8Array | Uint8ArrayList): Uint8Array => u instanceof Uint8Array ? u : u.subarray()
const b64u = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64url')

export interface NoiseCryptoStats {
  /** DHs whose private key came from the cache (no import). */
  cachedPrivateKeys: number
  /** DHs that had to import the private key from DER (it was not generated here or fell out of the cache). */
  importedPrivateKeys: number
}

export interface NoiseCrypto extends ICryptoInterface {
  stats: () => NoiseCryptoStats
}

/** Noise crypto for `noise({ crypto })`: `defaultCrypto` with fast X25519 key handling. */
export function noiseCrypto (init: { maxCachedKeys?: number } = {}): NoiseCrypto {
  const maxCachedKeys = init.maxCachedKeys ?? NOISE_CRYPTO_DEFAULTS.maxCachedKeys
  if (!Number.isInteger(maxCachedKeys) || maxCachedKeys < 1) throw new RangeError('maxCachedKeys must be an integer >= 1')
  /** Raw private key (base64url) → KeyObject, oldest first. */
  const privates = new Map<string, crypto.KeyObject>()
  const stats: NoiseCryptoStats = { cachedPrivateKeys: 0, importedPrivateKeys: 0 }

  const remember = (raw: string, key: crypto.KeyObject): void => {
    privates.delete(raw)
    privates.set(raw, key)
    while (privates.size > maxCachedKeys) privates.delete(privates.keys().next().value as string)
  }

  const fromKeyObject = (privateKey: crypto.KeyObject): { publicKey: Uint8Array, privateKey: Uint8Array } => {
    const jwk = privateKey.export({ format: 'jwk' })
    const d = Buffer.from(jwk.d as string, 'base64url')
    remember(jwk.d as string, privateKey)
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
      const raw = b64u(bytes(privateKey))
      let priv = privates.get(raw)
      if (priv != null) {
        stats.cachedPrivateKeys++
      } else {
        stats.importedPrivateKeys++
        priv = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, bytes(privateKey)]), type: 'pkcs8', format: 'der' })
        remember(raw, priv)
      }
      const pub = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(bytes(publicKey)) }, format: 'jwk' })
      return crypto.diffieHellman({ publicKey: pub, privateKey: priv })
    },
    stats: () => ({ ...stats })
  }
}
