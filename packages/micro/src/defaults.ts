// Every timing and bound the micro loop uses, with the reason for each value.

export const MICRO_DEFAULTS = {
  /** Plan → act rounds per incident before giving up to an operator (playbook rows are ≤ 4 long; the planner may try more). */
  maxRoundsPerIncident: 6,
  /** Incidents kept in memory (open ones are never dropped). The agent persists them; this bounds RAM on a Pi. */
  maxIncidents: 500,
  /** Outcomes kept for learning/export. */
  maxOutcomes: 1000,
  /** Anomalies attached to one incident (as LIMITS.incidentSteps). */
  maxAnomaliesPerIncident: 64,
  /** Recent anomalies kept as diagnosis context (the HLC-ordered timeline). */
  timelineSize: 256,
  /**
   * The diagnosis may redirect an action to another component only if that one failed on its own
   * signal within this long before the incident opened (a dependency's failure precedes its
   * dependents' by at most a few probe periods; a minute is generous).
   */
  ownFailureWindowMs: 60_000,
  /**
   * Probe failures of a component that has not passed a probe since it
   * started are "still starting" for this long (Kubernetes' startupProbe
   * idea): a slow start on a loaded Pi is not a failure. Past it, the
   * component is reported unhealthy. Exits are never deferred.
   */
  startupGraceMs: 10_000,
  /** Evidence lines copied from the supervisor's stdout/stderr tail. */
  tailEvidenceLines: 8,
  /**
   * A component that has run healthy this long since its last start or failure is stable: the next failure
   * is a new fault, not the last one surviving a restart, so restart back-off and the crash-loop count
   * start over (as Kubernetes resets CrashLoopBackOff after a healthy run; 10 min there is too long for an
   * edge service whose faults may come a minute apart). 30 s is three start-up graces: a start-up problem
   * (a bad config, a missing dependency, a port in use) shows well within it.
   */
  stableAfterMs: 30_000,
  /**
   * The watchdog looks at every supervised component this often: an exit or failing probe that no
   * incident handles (its event was attributed to an incident that then closed) is reported again.
   * Bounds how long a supervision gap can last; costs one pass over the components (no I/O).
   */
  watchdogIntervalMs: 1_000,
  /** An action that made its failure's own measure worse is not tried again on that component for that class for this long. */
  harmfulForgetMs: 3_600_000,
  /** A measure counts as worse when it grew by more than this fraction of its value before (and more than its noise). */
  worseFraction: 0.05,
  /** A component whose own directory holds this fraction of its disk limit is not (re)started: it would write more (the watch's disk_fill high-water mark). */
  diskStartHighWater: 0.9,
  /** …and is retried once usage is back under this fraction (the disk_fill verifier's clear level). */
  diskStartClearFraction: 0.8,
  /** Observations (signals that alone never act: metric anomalies, node-wide readings) kept for the API. */
  maxObservations: 200
} as const
