import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  type LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { type SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import type { WorkflowStarter } from './api';
import type { DeploymentRecords, LambdaControl } from './workflow';

/**
 * LambdaControl on Lambda's API: a pinned version is `$LATEST`'s configuration with the
 * changed variables, published by the revision that update produced (so a concurrent
 * change to `$LATEST` cannot slip into it).
 *
 * @example
 * const control = new SdkLambdaControl(new LambdaClient({}), 'mlops-prod-predict');
 */
export class SdkLambdaControl implements LambdaControl {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async getAlias(alias: string) {
    const a = await this.client.send(new GetAliasCommand({ FunctionName: this.functionName, Name: alias }));
    return {
      version: a.FunctionVersion as string,
      weights: { ...(a.RoutingConfig?.AdditionalVersionWeights ?? {}) },
      revisionId: a.RevisionId as string,
    };
  }

  async versionEnvironment(version: string) {
    const c = await this.client.send(
      new GetFunctionConfigurationCommand({ FunctionName: this.functionName, Qualifier: version }),
    );
    return { ...(c.Environment?.Variables ?? {}) };
  }

  async publishPinned(changes: Record<string, string>, description: string) {
    const latest = await this.versionEnvironment('$LATEST');
    const updated = await this.client.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: this.functionName,
        Environment: { Variables: { ...latest, ...changes } },
      }),
    );
    await waitUntilFunctionUpdatedV2(
      { client: this.client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 },
      { FunctionName: this.functionName },
    );
    const published = await this.client.send(
      new PublishVersionCommand({
        FunctionName: this.functionName,
        Description: description,
        RevisionId: updated.RevisionId,
      }),
    );
    return published.Version as string;
  }

  async setAlias(
    alias: string,
    version: string,
    additional?: { version: string; weight: number },
    revisionId?: string,
  ) {
    await this.client.send(
      new UpdateAliasCommand({
        FunctionName: this.functionName,
        Name: alias,
        FunctionVersion: version,
        RoutingConfig: {
          AdditionalVersionWeights: additional ? { [additional.version]: additional.weight } : {},
        },
        ...(revisionId ? { RevisionId: revisionId } : {}),
      }),
    );
  }

  async invokeVersion(version: string, event: unknown) {
    const out = await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        Qualifier: version,
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    let payload: unknown = text;
    try {
      payload = text ? JSON.parse(text) : undefined;
    } catch {
      // A payload that is not JSON is reported as its text.
    }
    return { payload, ...(out.FunctionError ? { functionError: out.FunctionError } : {}) };
  }
}

/**
 * Starts and stops the deployment workflow's executions through Step Functions' API; a
 * stopped execution ends `ABORTED` with `stopError` (who stopped it: `ManualRollback`, or
 * the severe alarm's `SevereAlarmRollback`).
 */
export class SfnWorkflowStarter implements WorkflowStarter {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
    private readonly stopError = 'ManualRollback',
  ) {}

  async start(name: string, input: unknown) {
    const out = await this.client.send(
      new StartExecutionCommand({
        stateMachineArn: this.stateMachineArn,
        name,
        input: JSON.stringify(input),
      }),
    );
    return { executionArn: out.executionArn as string };
  }

  async stop(name: string, cause: string) {
    // An execution's ARN is its state machine's with `execution` for `stateMachine` and its name.
    const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    try {
      await this.client.send(new StopExecutionCommand({ executionArn, error: this.stopError, cause }));
    } catch (err) {
      // Gone already (it ended, or its history expired): nothing left to stop.
      if ((err as Error).name !== 'ExecutionDoesNotExist') throw err;
    }
  }
}

/** DeploymentRecords on the registry's table: tags of the model version. */
export class RegistryDeploymentRecords implements DeploymentRecords {
  constructor(private readonly registry: DynamoRegistryStore) {}

  async versionExists(model: string, version: string) {
    return Boolean(await this.registry.getVersion(model, version));
  }

  async tags(model: string, version: string) {
    return { ...((await this.registry.getVersion(model, version))?.tags ?? {}) };
  }

  async versions(model: string) {
    return (await this.registry.listVersions(model)).map((v) => ({
      version: v.version,
      tags: { ...v.tags },
    }));
  }

  async setTags(model: string, version: string, tags: Record<string, string>) {
    await this.registry.updateVersion(model, version, { setTags: tags, last_updated_timestamp: Date.now() });
  }
}
