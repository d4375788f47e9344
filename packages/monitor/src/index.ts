export {
  probeSchema,
  componentSchema,
  parseComponents,
  parseComponent,
  formatPath,
  startOrder,
  resolveArtifact,
  previousArtifactVersion,
  ConfigError,
  type ComponentSpec,
  type ComponentInput,
  type ProbeSpec,
  type ProbeInput
} from './config.ts'
export { createLineRing, type LineRing } from './ring.ts'
export { backoffDelayMs, isCrashLoop, type BackoffOptions } from './backoff.ts'
export { Emitter, silentLogger, realScheduler, type Logger, type Scheduler, type Unsubscribe } from './events.ts'
export {
  createSupervisor,
  SUPERVISOR_DEFAULTS,
  SupervisorError,
  type Supervisor,
  type SupervisorOptions,
  type SupervisorEvents,
  type ComponentInfo,
  type ComponentState,
  type ExitInfo,
  type StopOptions,
  type Tail
} from './supervisor.ts'
export type { ProbeResult, ProbeStatus } from './probes/types.ts'
export { httpProbe, statusAccepted, HTTP_BODY_LIMIT_BYTES, type HttpProbeOptions } from './probes/http.ts'
export {
  createHttpConnection, createResponseParser, parseResponseHead, findHeadEnd, bodyFraming, buildRequest,
  HTTP_CLIENT_LIMITS, HTTP_CONNECTION_DEFAULTS, HTTP_ERR,
  type HttpConnection, type HttpConnectionOptions, type HttpConnectionStats, type HttpRequestOptions, type HttpOutcome,
  type HttpResponse, type ResponseHead, type ResponseParser, type ParseStep, type ParserOptions, type BodyFraming, type HttpClientLimits
} from './probes/http-client.ts'
export { tcpProbe } from './probes/tcp.ts'
export { execProbe } from './probes/exec.ts'
export { heartbeatProbe } from './probes/heartbeat.ts'
export { systemdProbe, systemdAvailable, parseSystemctlShow } from './probes/systemd.ts'
export { processProbe, procState } from './probes/process.ts'
export {
  createProbeRunner,
  probeLabel,
  PROBE_DEFAULTS,
  type ProbeRunner,
  type ProbeRunnerOptions,
  type ProbeRunnerEvents,
  type ProbeState,
  type ProbeStatusInfo,
  type HealthVerdict
} from './probes/runner.ts'
export * from './detect/index.ts'
export {
  parseProcStat, cpuUtilPct, parseMeminfo, parseLoadavg, parseNetDev, parseProcPidStat, parseCpuStat,
  pageSizeBytes, readThermal, readFreqRatio, diskUsage, dirSizeBytes, CLOCK_TICKS_PER_S,
  type CpuTimes, type ProcStat, type ThermalZone
} from './metrics/proc.ts'
export {
  createMetricsCollector, mountLabel, METRICS_DEFAULTS,
  type MetricsCollector, type MetricsOptions, type MetricsEvents, type MetricsStats
} from './metrics/collector.ts'
export { theilSen, predictLimit, predictMultiScale, TrendWindow, type Point, type Trend, type Prediction } from './trend.ts'
export type { AnomalyReport } from './incidents.ts'
export {
  createAnomalyWatch, classifyMetric, watchDetection, WATCH_DEFAULTS,
  type AnomalyWatch, type WatchOptions, type WatchEvents, type WatchStats
} from './watch.ts'
export {
  createResourceVerifiers, createResourceMeasures, processCpuSeconds, processRssMb, cpuCores, VERIFY_DEFAULTS,
  type ResourceVerifier, type ResourceMeasure, type VerifyOptions
} from './verify.ts'
export { classifyProbeFailure, classifyExit } from './monitor.ts'
export {
  stopLeftovers, readChildFile, writeChildFile, parseChildFile, leftoversOf, markedGroupMembers, processIdentity, bootId, newRunId,
  ORPHAN_DEFAULTS, RUN_ENV, COMPONENT_ENV,
  type ChildRecord, type ChildFile, type OrphanStopped
} from './orphans.ts'
export { portOwner, listeningInodes, localProbePort, PORTS_DEFAULTS, type PortOwner } from './ports.ts'
export {
  createCpuLimiter, createGroupReader, processGroupPids, nextRunFraction, initialRunFraction, sliceMs, windowRates, trimWindow,
  parseGroupStat, memberDelta, isStoppedState, CpuLimitError, CPU_LIMIT_DEFAULTS,
  type CpuLimiter, type CpuLimiterOptions, type CpuLimiterStats, type CpuLimitTuning, type CpuLimitSignal,
  type GroupReader, type GroupReaderOptions, type GroupSample, type GroupStat, type WindowSample
} from './cpu-limit.ts'
