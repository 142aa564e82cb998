// amazon-cognito-identity-js (through its buffer dependency) reads Node's `global`: browsers
// name it globalThis. Imported before the library so it is set when the library evaluates.
(globalThis as { global?: unknown }).global ??= globalThis;
