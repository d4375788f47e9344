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
   * Probe failures of a component that has not passed a probe since it
   * started are "still starting" for this long (Kubernetes' startupProbe
   * idea): a slow start on a loaded Pi is not a failure. Past it, the
   * component is reported unhealthy. Exits are never deferred.
   */
  startupGraceMs: 10_000,
  /** Evidence lines copied from the supervisor's stdout/stderr tail. */
  tailEvidenceLines: 8
} as const
