// The kill -9 fault suite at the size `npm run reliability` asks for; the suite itself lives
// with its CI test (test/reliability/faults-suite.ts).
export { type FaultCounts, runFaultSuite } from '../../test/reliability/faults-suite';
