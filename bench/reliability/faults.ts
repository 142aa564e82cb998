// The kill -9 fault suite at the size `npm run reliability` asks for: the runtime under tracking
// writes and pipeline executions, and materializations (`cycles` each). The suite itself lives
// with its CI test (test/reliability/faults-suite.ts); results carry per-scenario counts.
export { type FaultCounts, runFaultSuite } from '../../test/reliability/faults-suite';
