// Which peers are agents. Pure rules, no I/O: the failure detector feeds them
// what it learns of each peer's protocols and probes the peer accordingly
// (agent probe frames for agents, libp2p ping for the others).
//
// An agent is a peer that speaks the agent probe (`/homeostat/probe/1.0.0`,
// probe.ts). Evidence, in the order it usually arrives:
//   - identify (on every new connection) lists the peer's protocols: with the
//     probe → agent, without → other;
//   - we negotiated a probe stream with it → agent; the negotiation failed with
//     "protocol not supported" → other;
//   - it sent us probe frames (pings or pongs) → agent.
// Publishing valid envelopes is no evidence: any holder of the swarm key can
// sign gossip. `agent` is sticky for as long as the detector knows the peer:
// an agent that stops unregisters the probe before it closes its connections,
// and a late "not supported" from that window must not turn it into an outsider.
import type { PeerKind } from '../types.ts'

/** What was learnt about one peer's protocols. */
export type KindEvidence =
  /** identify listed the agent probe among the peer's protocols */
  | 'identify:probe'
  /** identify completed and did not list the agent probe */
  | 'identify:no-probe'
  /** a probe stream to the peer was negotiated */
  | 'probe:negotiated'
  /** a probe negotiation was refused: the peer does not support the protocol */
  | 'probe:unsupported'
  /** the peer sent probe frames */
  | 'probe:frames'

/** How the detector probes a peer: agent probe frames, libp2p ping, or not at all (the peer answers
 * neither; its liveness follows its connection only). */
export type ProbeMethod = 'probe' | 'ping' | 'none'

const AGENT_EVIDENCE: ReadonlySet<KindEvidence> = new Set(['identify:probe', 'probe:negotiated', 'probe:frames'])

/** The kind after `evidence`, given the kind so far. */
export function nextKind (current: PeerKind, evidence: KindEvidence): PeerKind {
  if (AGENT_EVIDENCE.has(evidence)) return 'agent'
  return current === 'agent' ? 'agent' : 'other'
}

/** How to probe a peer of `kind` (`pingRefused`: it refused libp2p ping once). Unknown peers are
 * probed as agents until their kind is known, as before kinds existed. */
export function probeMethod (kind: PeerKind, pingRefused: boolean): ProbeMethod {
  if (kind !== 'other') return 'probe'
  return pingRefused ? 'none' : 'ping'
}
