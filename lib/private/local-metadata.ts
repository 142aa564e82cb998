/**
 * CloudFormation metadata keys that tell the local runtime how to run a synthesized
 * resource on this machine. AWS ignores them; `local/` reads them from the template.
 */
/** The local name of a bucket or table (`features`, `tracking`), instead of a generated one. */
export const LOCAL_NAME_METADATA = 'mlops:local-name';
/** The repository-relative TypeScript module a function's handler lives in. */
export const ENTRY_METADATA = 'mlops:entry';
/** The exported handler name in that module. */
export const HANDLER_METADATA = 'mlops:handler';
