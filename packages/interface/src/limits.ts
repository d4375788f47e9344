// Size limits for everything that arrives from the network or a file. Each is
// a hard cap: input over it is rejected before parsing and counted.

export const LIMITS = {
  /** One gossip envelope as JSON. Health and incident records are a few KiB;
   * 64 KiB leaves room for evidence tails without letting a peer push megabytes. */
  envelopeBytes: 64 * 1024,
  /** A Yjs update or a model contribution can be larger (a 7,850-parameter
   * softmax delta is ~31 KiB as float32); 1 MiB caps a hostile sender. */
  bulkEnvelopeBytes: 1024 * 1024,
  /** Message type names: short, dotted identifiers. */
  typeLength: 64,
  /** Peer ids (base58 libp2p ids are 46-53 chars; simulated ids are shorter). */
  peerIdLength: 128,
  /** Component / target names. */
  nameLength: 128,
  /** Free text such as an explanation or an evidence line. */
  textLength: 4096,
  /** Evidence lines kept per incident step. */
  evidenceItems: 64,
  /** Steps in one incident record. */
  incidentSteps: 256,
  /** A config file. */
  configBytes: 1024 * 1024
} as const
