// npm run bench -- federated [--quick] [--seed N] [--seeds N] [--hidden H] [--samples N] [--split regional|roundrobin] …
// 8 edge agents + a cloud peer train a 784-32-10 MLP (default; --hidden 0 =
// softmax regression) on non-IID MNIST for 40 rounds, a few minibatches per
// round (100 samples: far from converged at round 40), each agent mostly
// holding 3 digit classes (--split regional: agents 1–4, one site, mostly
// digits 0–4); agents 1–4 are cut off from round 10 to round 30 (each alone). Compared in one run, same data, same initial model,
// same local training: homeostat (keeps training offline, merges on return);
// synchronous FedAvg that drops disconnected clients; FedAvg with no
// disconnection; plus homeostat and FedAvg with a poisoner (one agent sends
// sign-flipped ×10 updates throughout).
import { parseArgs } from 'node:util'
import * as Y from 'yjs'
import { createHlc, encode } from '@homeostat/hlc'
import { seededRandom } from '@homeostat/interface'
import {
  loadMnist, splitNonIid, initialParameters, parameterCount, train, evaluate, createFederatedState, createEdgeTrainer,
  createCanary, foldedHas, IMAGE_SIZE, type Dataset, type FederatedSplit, type FederatedState, type MergeOptions
} from '@homeostat/federated'
import { linkDocs } from './link.ts'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    // Independent repetitions (different data split and training streams); figures are means over seeds.
    seeds: { type: 'string' },
    // Merge options as JSON, e.g. '{"stalenessExponent":1}' (see MERGE_DEFAULTS): for experiments.
    merge: { type: 'string', default: '{}' },
    encoding: { type: 'string', default: 'q8' },
    'classes-per-node': { type: 'string', default: '3' },
    // Workload: hidden ReLU units (0 = softmax regression), local samples per round, SGD step, minibatch.
    hidden: { type: 'string', default: '32' },
    samples: { type: 'string' },
    lr: { type: 'string', default: '0.1' },
    batch: { type: 'string', default: '16' },
    // roundrobin: agent i mostly holds classes i·c… mod 10; regional: agents 1–4 (the site that loses its uplink)
    // mostly hold digits 0–4, agents 5–8 digits 5–9.
    split: { type: 'string', default: 'roundrobin' },
    // Comma-separated subset of variants to run: fedFull,fedDrop,fedPoison,fedWithoutPoisoner,homeFull,home,homePoison.
    only: { type: 'string' },
    // Streaming data: each agent's digits arrive in K batches over the run and it keeps only the current one
    // (a camera's recent frames); 1 = every agent holds all its digits all along.
    'data-batches': { type: 'string', default: '1' },
    // The canary's maxAccuracyDrop (1 disables it): for experiments.
    'canary-drop': { type: 'string' }
  }
})
const mergeOptions = JSON.parse(args.merge!) as MergeOptions
const quick = args.quick === true
const firstSeed = Number(args.seed)
let seed = firstSeed
const NODES = 8
const ROUNDS = quick ? 20 : 40
const OFF_FROM = quick ? 5 : 10
const OFF_TO = quick ? 15 : 30
const OFFLINE = [0, 1, 2, 3] // agents 1–4
const SAMPLES = Number(args.samples ?? 100)
const LR = Number(args.lr)
const BATCH = Number(args.batch)
const HIDDEN = Number(args.hidden)
const CLASSES_PER_NODE = Number(args['classes-per-node'])
const DATA_BATCHES = Number(args['data-batches'])
const VARIANTS = new Set((args.only ?? 'fedFull,fedDrop,fedPoison,fedWithoutPoisoner,homeFull,home,homePoison').split(','))
const CLOUD = NODES
const COMPACT_EVERY = quick ? 5 : 10
const RETAIN_ROUNDS = quick ? 2 : 5
const POISONER = NODES - 1
const PARAMS = parameterCount(HIDDEN)
/** Every replica and every variant starts from the same model. */
const initialFor = (s: number): Float32Array => initialParameters(HIDDEN, s)

/** The data agent `node` holds in round `r`: batch ⌊r·K/ROUNDS⌋ of its digits (zero-copy views, made once). */
const batchCache = new WeakMap<Dataset, Dataset[]>()
function dataAt (data: Dataset, r: number): Dataset {
  if (DATA_BATCHES <= 1) return data
  let batches = batchCache.get(data)
  if (batches === undefined) {
    const per = Math.floor(data.length / DATA_BATCHES)
    batches = Array.from({ length: DATA_BATCHES }, (_, k) => ({ x: data.x.subarray(k * per * IMAGE_SIZE, (k + 1) * per * IMAGE_SIZE), y: data.y.subarray(k * per, (k + 1) * per), length: per }))
    batchCache.set(data, batches)
  }
  return batches[Math.min(DATA_BATCHES - 1, Math.floor(r * DATA_BATCHES / ROUNDS))]!
}

const log = (s: string): void => { process.stderr.write(s + '\n') }
const isOffline = (node: number, r: number, disconnect: boolean): boolean => disconnect && OFFLINE.includes(node) && r >= OFF_FROM && r < OFF_TO

/** The poisoner's update: the honest delta, sign-flipped and scaled ×10. */
function poisonInPlace (params: Float32Array, base: Float32Array): void {
  for (let i = 0; i < params.length; i++) params[i] = base[i]! - 10 * (params[i]! - base[i]!)
}

interface HomeostatResult {
  accuracy: number
  offlineContributions: number
  lostContributions: number
  replicasBitIdentical: boolean
  bytesPerRoundVsFloat32: number
  rejectedBySender: Record<string, number>
  rollbacks: number
  rebaselines: number
  checkpointVersion: number
  syncBytes: number
  curve: number[]
}

async function runHomeostat (split: FederatedSplit, opts: { disconnect: boolean, poison: boolean }): Promise<HomeostatResult> {
  const names = Array.from({ length: NODES + 1 }, (_, i) => (i === CLOUD ? 'cloud' : `edge${i + 1}`))
  const docs = names.map(() => new Y.Doc())
  let simMs = 1_700_000_000_000
  const states: FederatedState[] = docs.map((doc, i) => createFederatedState({ doc, self: names[i]!, parameterCount: PARAMS, initial: initialFor(seed), merge: mergeOptions }))
  const link = linkDocs(docs)
  const trainers = Array.from({ length: NODES }, (_, i) => {
    const hlc = createHlc({ nodeId: names[i]!, now: () => simMs + i })
    return createEdgeTrainer({
      node: names[i]!,
      state: states[i]!,
      data: (r: number) => dataAt(split.nodes[i]!, r),
      stamp: () => encode(hlc.now()),
      seed: seed * 100 + i,
      learningRate: LR,
      batchSize: BATCH,
      samplesPerRound: SAMPLES,
      encoding: args.encoding === 'f32' ? 'f32' : 'q8',
      // The poisoner's own health check would catch a ×10 update; an attacker skips it, so poison after training.
      ...(opts.poison && i === POISONER ? { perturb: (_r: number, p: Float32Array) => { poisonInPlace(p, states[i]!.model().params) }, health: { explodingNormFactor: Infinity, divergenceFactor: Infinity } } : {})
    })
  })
  const cloudHlc = createHlc({ nodeId: 'cloud', now: () => simMs })
  const canary = createCanary({ state: states[CLOUD]!, reference: split.reference, ...(args['canary-drop'] !== undefined ? { maxAccuracyDrop: Number(args['canary-drop']) } : {}) })
  const offlineIds: string[] = []
  let rollbacks = 0
  let rebaselines = 0
  const curve: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    simMs += 60_000
    for (let i = 0; i < NODES; i++) {
      if (isOffline(i, r, opts.disconnect)) link.disconnect(i)
      else link.connect(i)
    }
    // Every agent trains its round from the model it holds at the round's start; gossip arrives after (as in
    // synchronous FedAvg, so the comparison is like for like).
    link.hold()
    for (let i = 0; i < NODES; i++) {
      const report = await trainers[i]!.runRound()
      states[i]!.collectGarbage()
      if (isOffline(i, r, opts.disconnect) && report.contributionId !== undefined) offlineIds.push(report.contributionId)
    }
    link.release()
    // The cloud validates the merged version before adopting it, and compacts old history.
    const decision = canary.check()
    if (decision.verdict === 'rolled_back') { rollbacks++; log(`  round ${r}: canary rolled back (${decision.accuracy.toFixed(3)} < ${decision.adoptedAccuracy.toFixed(3)}), quarantined ${decision.quarantined.length}${decision.culprits.length > 0 ? ` from ${decision.culprits.join(',')}` : ''}`) }
    if (decision.verdict === 'rebaselined') { rebaselines++; log(`  round ${r}: canary re-baselined at ${decision.accuracy.toFixed(3)} after unattributable drops`) }
    if ((r + 1) % COMPACT_EVERY === 0 && r - RETAIN_ROUNDS >= 0) states[CLOUD]!.compact(r - RETAIN_ROUNDS, encode(cloudHlc.now()), decision.accuracy)
    curve.push(evaluate(states[CLOUD]!.model().params, split.test).accuracy)
  }
  for (let i = 0; i < NODES; i++) link.connect(i)
  const cloud = states[CLOUD]!
  const final = cloud.model()
  const folded = cloud.latestCheckpoint().folded
  const applied = { has: (id: string): boolean => final.applied.includes(id) || foldedHas(folded, id) }
  const quarantined = offlineIds.filter((id) => cloud.isQuarantined(id))
  const lost = offlineIds.filter((id) => !applied.has(id) || cloud.isQuarantined(id)).length
  const hashes = states.map((s) => Buffer.from(s.model().params.buffer).toString('base64'))
  const bytes = cloud.contributions().map((c) => c.bytes)
  void quarantined
  return {
    accuracy: evaluate(final.params, split.test).accuracy,
    offlineContributions: offlineIds.length,
    lostContributions: lost,
    replicasBitIdentical: hashes.every((h) => h === hashes[0]),
    bytesPerRoundVsFloat32: bytes.reduce((a, b) => a + b, 0) / Math.max(1, bytes.length) / (PARAMS * 4),
    rejectedBySender: cloud.stats().rejectedBySender,
    rollbacks,
    rebaselines,
    checkpointVersion: cloud.latestCheckpoint().version,
    syncBytes: link.bytes(),
    curve
  }
}

/** Synchronous FedAvg: each round the connected clients train from the global model; the average replaces it. */
function runFedAvg (split: FederatedSplit, opts: { disconnect: boolean, poison: boolean, withoutPoisoner?: boolean }): { accuracy: number, discardedRounds: number, curve: number[] } {
  let global = initialFor(seed)
  const randoms = Array.from({ length: NODES }, (_, i) => seededRandom(seed * 100 + i))
  let discarded = 0
  const curve: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const sum = new Float64Array(PARAMS)
    let total = 0
    for (let i = 0; i < NODES; i++) {
      const local = global.slice()
      const res = train(local, dataAt(split.nodes[i]!, r), { learningRate: LR, batchSize: BATCH, samples: SAMPLES, random: randoms[i]! })
      if (opts.poison && i === POISONER) poisonInPlace(local, global)
      if (isOffline(i, r, opts.disconnect)) { discarded++; continue } // the round's work is dropped with the client
      if (opts.withoutPoisoner === true && i === POISONER) continue // the best any defence can do: that agent's data never counts
      for (let k = 0; k < PARAMS; k++) sum[k] = sum[k]! + res.samples * local[k]!
      total += res.samples
    }
    global = Float32Array.from(sum, (v) => v / total)
    curve.push(evaluate(global, split.test).accuracy)
  }
  return { accuracy: evaluate(global, split.test).accuracy, discardedRounds: discarded, curve }
}

interface SeedResult {
  seed: number
  fedFull: number
  fedDrop: number
  fedPoison: number
  fedWithoutPoisoner: number
  homeFull: number
  home: HomeostatResult
  homePoison: HomeostatResult
  fedDropCurve: number[]
  fedFullCurve: number[]
}

/** Dominant classes per agent: round-robin over all digits, or regional (agents 1–4 mostly 0–4, agents 5–8 mostly 5–9). */
function nodeClassesFor (split: string): number[][] | undefined {
  if (split === 'roundrobin') return undefined
  if (split !== 'regional') throw new Error(`--split must be roundrobin or regional, got ${split}`)
  return Array.from({ length: NODES }, (_, i) => {
    const offset = OFFLINE.includes(i) ? 0 : 5
    const k = OFFLINE.includes(i) ? OFFLINE.indexOf(i) : i - OFFLINE.length
    return Array.from({ length: CLASSES_PER_NODE }, (_, j) => offset + ((k * CLASSES_PER_NODE + j) % 5))
  })
}

async function runSeed (s: number, t: () => string): Promise<SeedResult> {
  const split = splitNonIid(loadMnist(), { nodes: NODES, seed: s, classesPerNode: CLASSES_PER_NODE, ...(quick ? { referenceSize: 500, testSize: 1000 } : {}), ...(nodeClassesFor(args.split!) !== undefined ? { nodeClasses: nodeClassesFor(args.split!)! } : {}) })
  log(`seed ${s}: ${split.nodes.map((d) => d.length).join('/')} samples per agent (mostly classes ${split.nodeClasses.map((c) => c.join('')).join(' ')}), reference ${split.reference.length}, test ${split.test.length}`)
  seed = s
  const skipped = { accuracy: NaN, curve: [] as number[] }
  const fedFull = VARIANTS.has('fedFull') ? runFedAvg(split, { disconnect: false, poison: false }) : skipped; log(`  fedavg, no disconnection … ${t()}`)
  const fedDrop = VARIANTS.has('fedDrop') ? runFedAvg(split, { disconnect: true, poison: false }) : skipped; log(`  fedavg, drops disconnected clients … ${t()}`)
  const fedPoison = VARIANTS.has('fedPoison') ? runFedAvg(split, { disconnect: false, poison: true }) : skipped; log(`  fedavg with a poisoner … ${t()}`)
  const fedWithoutPoisoner = VARIANTS.has('fedWithoutPoisoner') ? runFedAvg(split, { disconnect: false, poison: false, withoutPoisoner: true }) : skipped; log(`  fedavg without the poisoner's agent … ${t()}`)
  const none = { accuracy: NaN, offlineContributions: 0, lostContributions: 0, replicasBitIdentical: true, bytesPerRoundVsFloat32: NaN, rejectedBySender: {}, rollbacks: 0, rebaselines: 0, checkpointVersion: -1, syncBytes: 0, curve: [] }
  const homeFull = VARIANTS.has('homeFull') ? await runHomeostat(split, { disconnect: false, poison: false }) : none; log(`  homeostat, no disconnection … ${t()}`)
  const home = VARIANTS.has('home') ? await runHomeostat(split, { disconnect: true, poison: false }) : none; log(`  homeostat, agents 1–4 offline … ${t()}`)
  const homePoison = VARIANTS.has('homePoison') ? await runHomeostat(split, { disconnect: false, poison: true }) : none; log(`  homeostat with a poisoner … ${t()} (rejected by sender ${JSON.stringify(homePoison.rejectedBySender)}, canary rollbacks ${homePoison.rollbacks})`)
  return { seed: s, fedFull: fedFull.accuracy, fedDrop: fedDrop.accuracy, fedPoison: fedPoison.accuracy, fedWithoutPoisoner: fedWithoutPoisoner.accuracy, homeFull: homeFull.accuracy, home, homePoison, fedDropCurve: fedDrop.curve, fedFullCurve: fedFull.curve }
}

const meanFrom = (curve: number[], from: number): number => curve.length <= from ? NaN : curve.slice(from).reduce((a, b) => a + b, 0) / (curve.length - from)

async function main (): Promise<void> {
  const started = Date.now()
  const seeds = Array.from({ length: Number(args.seeds ?? (quick ? 1 : 5)) }, (_, k) => firstSeed + k)
  log(`federated bench: ${NODES} edge agents + cloud, ${ROUNDS} rounds, agents 1–4 offline rounds ${OFF_FROM}–${OFF_TO - 1}${quick ? ' (quick)' : ''}, seeds ${seeds.join(',')}`)
  const t = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`
  const results: SeedResult[] = []
  for (const s of seeds) results.push(await runSeed(s, t))
  const mean = (f: (r: SeedResult) => number): number => results.reduce((a, r) => a + f(r), 0) / results.length
  const each = (f: (r: SeedResult) => number): string => results.map((r) => (100 * f(r)).toFixed(2)).join(' / ')
  const pct = (x: number): string => (100 * x).toFixed(2).padStart(6)
  const rows: Array<[string, (r: SeedResult) => number, string]> = [
    ['fedavg, no disconnection', (r) => r.fedFull, ''],
    ['fedavg, drops disconnected', (r) => r.fedDrop, `${OFFLINE.length * (OFF_TO - OFF_FROM)} client-rounds discarded per seed`],
    ['fedavg, poisoner', (r) => r.fedPoison, ''],
    ['fedavg, poisoner\'s agent absent', (r) => r.fedWithoutPoisoner, 'its data lost, no attack: the floor for any defence'],
    ['homeostat, no disconnection', (r) => r.homeFull, ''],
    ['homeostat, agents 1–4 offline', (r) => r.home.accuracy, `${results.map((r) => `${r.home.offlineContributions} offline rounds, ${r.home.lostContributions} lost`).join('; ')}`],
    ['homeostat, poisoner', (r) => r.homePoison.accuracy, `poisoner rejected ${results.map((r) => r.homePoison.rejectedBySender[`edge${POISONER + 1}`] ?? 0).join('/')} times`]
  ]
  console.log(`\nvariant                          mean test accuracy %   per seed                 notes`)
  for (const [name, f, note] of rows) console.log(`${name.padEnd(32)} ${pct(mean(f))}                 ${each(f).padEnd(24)} ${note}`)
  const last = results[results.length - 1]!
  console.log(`\nreplicas bit-identical after reconnection: ${results.every((r) => r.home.replicasBitIdentical)}; bytes per contribution vs float32: ${last.home.bytesPerRoundVsFloat32.toFixed(3)}; canary rollbacks: ${results.map((r) => r.home.rollbacks).join('/')} (re-baselined ${results.map((r) => r.home.rebaselines).join('/')}); checkpoint version at the end: ${last.home.checkpointVersion}`)
  console.log(`accuracy in the first round after reconnection (round ${OFF_TO}): homeostat ${pct(mean((r) => r.home.curve[OFF_TO] ?? NaN))}, fedavg drop ${pct(mean((r) => r.fedDropCurve[OFF_TO] ?? NaN))}, fedavg no disconnection ${pct(mean((r) => r.fedFullCurve[OFF_TO] ?? NaN))}`)
  console.log(`accuracy by round, seed ${seeds[seeds.length - 1]} (homeostat offline run): ${last.home.curve.map((a) => (100 * a).toFixed(1)).join(' ')}`)
  console.log(`accuracy by round, seed ${seeds[seeds.length - 1]} (fedavg drop run):       ${last.fedDropCurve.map((a) => (100 * a).toFixed(1)).join(' ')}`)
  const round4 = (x: number): number => Math.round(x * 10000) / 10000
  console.log(JSON.stringify({
    nodes: NODES,
    rounds: ROUNDS,
    seeds: seeds.length,
    finalAccuracy: { homeostat: round4(mean((r) => r.home.accuracy)), fedavgDropClients: round4(mean((r) => r.fedDrop)), fedavgNoDisconnect: round4(mean((r) => r.fedFull)), homeostatNoDisconnect: round4(mean((r) => r.homeFull)) },
    accuracyGapVsNoDisconnectPts: round4(100 * mean((r) => r.fedFull - r.home.accuracy)),
    accuracyGainVsDropClientsPts: round4(100 * mean((r) => r.home.accuracy - r.fedDrop)),
    lostContributions: results.reduce((a, r) => a + r.home.lostContributions, 0),
    offlineContributions: results.reduce((a, r) => a + r.home.offlineContributions, 0),
    replicasBitIdentical: results.every((r) => r.home.replicasBitIdentical),
    bytesPerRoundVsFloat32: round4(mean((r) => r.home.bytesPerRoundVsFloat32)),
    accuracyDropWithPoisoner: round4(100 * mean((r) => r.homeFull - r.homePoison.accuracy)),
    fedavgAccuracyDropWithPoisoner: round4(100 * mean((r) => r.fedFull - r.fedPoison)),
    // Of accuracyDropWithPoisoner, what losing that agent's data alone costs (FedAvg with the agent absent).
    poisonerDataLossPts: round4(100 * mean((r) => r.fedFull - r.fedWithoutPoisoner)),
    poisonerRejected: results.reduce((a, r) => a + (r.homePoison.rejectedBySender[`edge${POISONER + 1}`] ?? 0), 0),
    canaryRollbacks: results.reduce((a, r) => a + r.home.rollbacks, 0),
    canaryRebaselines: results.reduce((a, r) => a + r.home.rebaselines, 0),
    // Test accuracy in the first round after agents 1–4 reconnect, and averaged over the rounds from then on.
    accuracyAtReconnect: { homeostat: round4(mean((r) => r.home.curve[OFF_TO] ?? NaN)), fedavgDropClients: round4(mean((r) => r.fedDropCurve[OFF_TO] ?? NaN)), fedavgNoDisconnect: round4(mean((r) => r.fedFullCurve[OFF_TO] ?? NaN)) },
    meanAccuracyAfterReconnect: { homeostat: round4(mean((r) => meanFrom(r.home.curve, OFF_TO))), fedavgDropClients: round4(mean((r) => meanFrom(r.fedDropCurve, OFF_TO))), fedavgNoDisconnect: round4(mean((r) => meanFrom(r.fedFullCurve, OFF_TO))) },
    workload: { model: HIDDEN === 0 ? 'softmax' : `mlp-784-${HIDDEN}-10`, samplesPerRound: SAMPLES, learningRate: LR, batchSize: BATCH, split: args.split, classesPerNode: CLASSES_PER_NODE, dataBatches: DATA_BATCHES },
    perSeed: results.map((r) => ({ seed: r.seed, homeostat: round4(r.home.accuracy), fedavgDropClients: round4(r.fedDrop), fedavgNoDisconnect: round4(r.fedFull), homeostatNoDisconnect: round4(r.homeFull), homeostatPoisoner: round4(r.homePoison.accuracy), fedavgPoisoner: round4(r.fedPoison), fedavgWithoutPoisoner: round4(r.fedWithoutPoisoner), lostContributions: r.home.lostContributions, canaryRollbacks: r.home.rollbacks })),
    seconds: Math.round((Date.now() - started) / 100) / 10
  }))
}

main().catch((err) => { console.error(err); process.exit(1) })
