/**
 * The event publisher port: domain code announces what happened (a model version moved
 * to Production) and deployment, monitoring or people react. On AWS the EventBridge
 * adapter sends it to a bus; locally the file adapter appends JSON lines under the data
 * dir, where tests and `tail -f` can read them.
 *
 * @example
 * await publisher.publish('ModelVersionStageChanged', { name: 'churn', version: '3', to: 'Production' });
 */
export interface EventPublisher {
  publish(detailType: string, detail: Readonly<Record<string, unknown>>): Promise<void>;
}

/** One published event as the local adapter writes it (one JSON object per line). */
export interface PublishedEvent {
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
  readonly time: string;
}

/**
 * The publisher for this environment: the local file adapter when the local runtime set
 * `MLOPS_LOCAL_DATA_DIR`, EventBridge otherwise (bus from `EVENT_BUS_NAME`, else default).
 */
export async function eventPublisher(
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EventPublisher> {
  if (env.MLOPS_LOCAL_DATA_DIR) {
    const { FileEventPublisher } = await import('./file-events');
    return new FileEventPublisher(env.MLOPS_LOCAL_DATA_DIR, source);
  }
  const [{ EventBridgePublisher }, { awsClients }] = await Promise.all([
    import('./eventbridge-events'),
    import('./aws-clients'),
  ]);
  return new EventBridgePublisher(awsClients(env).eventBridge, source, env.EVENT_BUS_NAME || 'default');
}
