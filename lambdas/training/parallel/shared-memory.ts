/**
 * Arrays worker threads can read without a copy. The trial builds its design matrix here
 * (`takeRows`, `rawInputs`, `expandEncodings`), so a trainer's threads read the caller's
 * columns in place; a column in ordinary memory is copied once by the trainer that needs it.
 */

/** A Float64Array over shared memory (zero-filled). */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * length));
}

/** True when worker threads can read `a` in place. */
export function inSharedMemory(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** `a` itself when worker threads can read it in place, else a copy in shared memory. */
export function shareFloat64(a: Float64Array): Float64Array {
  if (inSharedMemory(a)) return a;
  const c = sharedFloat64(a.length);
  c.set(a);
  return c;
}
