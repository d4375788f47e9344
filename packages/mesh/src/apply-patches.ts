// Applies the mesh's dependency patches, each after its guard's checks
// (patch-guard.ts): src/frame-decoder-patch.ts and src/yamux-window-patch.ts.
// Imported by node.ts only, so that every node createMeshNode builds runs with
// them; appliedPatches() (index.ts) reports the outcome. Nothing else (tests
// included) may import this module: test/patches-real-node.test.ts proves the
// patches act on a real node's streams and must fail when node.ts stops
// importing it.
import { frameDecoderPatch } from './frame-decoder-patch.ts'
import { yamuxWindowPatch } from './yamux-window-patch.ts'

frameDecoderPatch.apply()
yamuxWindowPatch.apply()

export {}
