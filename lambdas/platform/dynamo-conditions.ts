/** True for a DynamoDB write whose ConditionExpression failed (the expected outcome of a lost race). */
export function isConditionFailed(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}
