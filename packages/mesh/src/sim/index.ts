export {
  createSimulatedNetwork,
  SIM_DEFAULTS,
  SimMeshError,
  type SimFaults,
  type SimMesh,
  type SimNetworkOptions,
  type SimNetworkStats,
  type SimNode,
  type SimNodeOptions,
  type SimTimers,
  type SimulatedNetwork
} from './network.ts'
export { createScheduler, SchedulerLivelockError, SCHEDULER_DEFAULTS, type Scheduler } from './scheduler.ts'
