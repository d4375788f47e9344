export {
  type HlcTimestamp,
  MAX_WALL_MS,
  MAX_LOGICAL,
  MAX_NODE_ID_LENGTH,
  HlcEncodingError,
  isValidNodeId,
  assertTimestamp,
  compare,
  compareClock,
  max,
  encode,
  decode,
  toBytes,
  fromBytes
} from './timestamp.ts'
export {
  type Hlc,
  type HlcOptions,
  type HlcStats,
  HLC_DEFAULTS,
  HlcClockOffsetError,
  HlcLogicalOverflowError,
  HlcPhysicalTimeError,
  createHlc,
  labelledHlc
} from './clock.ts'
