// Every timing and bound recovery uses, with the reason for each value.
import type { ActionKind } from '@homeostat/interface'
import type { BackoffOptions } from './backoff.ts'

export interface RecoveryDefaults {
  backoff: BackoffOptions
  /** Restarts older than this no longer raise the backoff, ms. */
  backoffWindowMs: number
  /** SIGTERM → SIGKILL grace for an ordinary restart, ms. */
  restartGraceMs: number
  /** SIGTERM → SIGKILL grace when killing a hung component, ms. */
  hangGraceMs: number
  /** Upper bound on the action itself (not its verification), per kind, ms. */
  actionTimeoutMs: Partial<Record<ActionKind, number>> & { default: number }
  /** Health must be back within this long after the action, per kind, ms. */
  verifyTimeoutMs: Partial<Record<ActionKind, number>> & { default: number }
  /** Pause between verification checks, ms. */
  verifyIntervalMs: number
  /** Consecutive healthy checks needed to call it verified. */
  verifyStableChecks: number
  /** Throttled CPU share when neither the component's config nor its spec's limits.cpu says, cores. */
  throttleCpuFraction: number
  /** Period of cgroup v2 cpu.max and cgroup v1 cpu.cfs_period_us, µs. */
  cgroupPeriodUs: number
  /** The cgroup v2 directory throttle makes its per-component groups under, unless `throttle.cgroupRoot` says. */
  cgroupV2Root: string
  /** cgroup v1 cpu hierarchies to try, in order, when cgroup v2 is not usable (the first with cpu.cfs_quota_us is used). */
  cgroupV1CpuRoots: readonly string[]
  /** free_disk stops after freeing this much, MB. */
  freeDiskTargetMb: number
  /** free_disk deletes at most this many files per action. */
  freeDiskMaxFiles: number
  /** free_disk visits at most this many directory entries (bounded walk). */
  freeDiskMaxEntries: number
  /** free_disk keeps files modified this recently (still being written), ms. */
  freeDiskKeepRecentMs: number
  /** Evidence lines kept per step. */
  evidenceLines: number
}

export const RECOVERY_DEFAULTS: RecoveryDefaults = {
  backoff: {
    /** 250 ms: a second crash within the window waits a quarter second, enough for a dependency to settle. */
    baseMs: 250,
    /** Doubling, as systemd/Kubernetes crash-loop backoff. */
    factor: 2,
    /** 30 s cap: a crash loop keeps being retried at a bounded rate until it is quarantined. */
    maxMs: 30_000,
    /** ±50% spread de-synchronises restarts after a shared fault. */
    jitter: 0.5
  },
  /** 5 min, as Kubernetes resets CrashLoopBackOff after 10 min of stability; half of that suits small devices. */
  backoffWindowMs: 5 * 60_000,
  /** 3 s: a healthy Node/Python service flushes and exits well within this. */
  restartGraceMs: 3_000,
  /**
   * 500 ms: the process has already failed its probes for longer than this;
   * a hung process rarely honours SIGTERM, and one that does exits in well
   * under half a second. Waiting longer only adds to the outage.
   */
  hangGraceMs: 500,
  actionTimeoutMs: {
    /** Stop (grace) + start + a margin. */
    default: 15_000,
    /** Backoff can be up to maxMs, plus grace and start. */
    restart: 45_000,
    /** Walking and deleting files is bounded by freeDiskMaxEntries; 10 s covers a slow SD card. */
    free_disk: 10_000
  },
  verifyTimeoutMs: {
    /** 5 s: a workload that starts in < 1 s shows health well within this. */
    default: 5_000,
    /** A model swap may reload weights. */
    rollback: 15_000,
    degrade: 15_000,
    /** Throttling only helps if the CPU figure drops within a few samples. */
    throttle: 4_000
  },
  /** 100 ms: fast enough that verification adds little to MTTR, slow enough to cost nothing. */
  verifyIntervalMs: 100,
  /** 2 consecutive successes, so a process that dies right after its first answer is not "recovered". */
  verifyStableChecks: 2,
  /** A quarter of a core keeps a runaway job alive but leaves the node usable. */
  throttleCpuFraction: 0.25,
  /** 100 ms, the kernel's default CFS period (and the duty cycle's period, CPU_LIMIT_DEFAULTS.periodMs). */
  cgroupPeriodUs: 100_000,
  /** Where systemd's unified (v2-only) layout mounts cgroup2 (e.g. Ubuntu 22.04 and later, on which JetPack 6 is based). */
  cgroupV2Root: '/sys/fs/cgroup',
  /**
   * Where cgroup v1 puts the cpu controller: `cpu` (its own hierarchy, or a
   * symlink to `cpu,cpuacct`, as systemd, Docker and JetPack 4/5 make it),
   * then `cpu,cpuacct` itself.
   */
  cgroupV1CpuRoots: ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'],
  /** 512 MB: enough headroom on a Pi's SD card to let logging continue. */
  freeDiskTargetMb: 512,
  /** Bounded so a wrong path can never wipe a whole tree in one go. */
  freeDiskMaxFiles: 1_000,
  freeDiskMaxEntries: 20_000,
  /** 10 s: the file being written now is probably the live log. */
  freeDiskKeepRecentMs: 10_000,
  /** As LIMITS.evidenceItems allows 64; 16 keeps records small. */
  evidenceLines: 16
}

export function actionTimeoutMs (d: RecoveryDefaults, action: ActionKind): number {
  return d.actionTimeoutMs[action] ?? d.actionTimeoutMs.default
}

export function verifyTimeoutMs (d: RecoveryDefaults, action: ActionKind): number {
  return d.verifyTimeoutMs[action] ?? d.verifyTimeoutMs.default
}
