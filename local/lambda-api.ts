import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  AwsServiceError,
  type RunningAwsService,
  readRequestBody,
  sendAnswer,
  serveAwsApi,
} from './aws-service-server';
import { FunctionError, type FunctionHost } from './function-host';
import { resolveEnvironment } from './resources';
import type { LocalFunction, LocalPlan, LocalRoute } from './template';

// biome-ignore lint/suspicious/noExplicitAny: request bodies are JSON, checked field by field
type JsonObject = Record<string, any>;

/** An error of Lambda's API: its type goes in `x-amzn-ErrorType`, as the SDK reads it. */
export class LambdaApiError extends AwsServiceError {}

interface VersionState {
  readonly version: string;
  /** The function's environment when it was published (template values or strings). */
  readonly environment: Record<string, unknown>;
  readonly description: string;
  readonly codeSha256: string;
  readonly lastModified: string;
}

interface AliasState {
  version: string;
  weights: Record<string, number>;
  description: string;
  revisionId: string;
}

interface FunctionState {
  /** The alias versions of the template this state grew from: a redeploy with others starts over. */
  readonly origin: string;
  environment: Record<string, unknown>;
  revisionId: string;
  lastVersion: number;
  versions: VersionState[];
  aliases: Record<string, AliasState>;
}

const ARN = /^arn:aws[a-z-]*:lambda:[^:]+:\d+:function:([^:]+)(?::([^:]+))?$/;

/**
 * Lambda's versions and aliases for the template's functions, as Lambda's API keeps them:
 * `$LATEST`'s configuration, published versions (immutable snapshots of the environment,
 * so a version can be pinned to a model version), and aliases with
 * `RoutingConfig.AdditionalVersionWeights`. Starts from the template's `AWS::Lambda::Version`
 * and `AWS::Lambda::Alias` resources; each published version runs as its own function in
 * the host (its own sandbox, its own cold start), named `<function>:<version>` as its ARN is.
 * State persists under `<dataDir>/lambda/` unless in memory.
 *
 * @example
 * const lambda = new LocalLambda(plan, dataDir);
 * const fnId = lambda.target(route); // 'PredictFn:2' for 5% of calls when live has { '2': 0.05 }
 */
export class LocalLambda {
  private readonly state = new Map<string, FunctionState>();
  private readonly stateDir: string | undefined;
  /** Runs Invoke; set once the host exists (the host's environment names this API's URL). */
  host: FunctionHost | undefined;

  constructor(
    private readonly plan: LocalPlan,
    dataDir: string | undefined,
    private readonly random: () => number = Math.random,
  ) {
    this.stateDir = dataDir ? join(dataDir, 'lambda') : undefined;
    for (const fnId of new Set([
      ...plan.versions.map((v) => v.functionId),
      ...plan.aliases.map((a) => a.functionId),
    ])) {
      const fn = plan.functions.get(fnId);
      if (!fn) continue;
      const aliases = plan.aliases.filter((a) => a.functionId === fnId);
      const origin = JSON.stringify(aliases.map((a) => [a.name, a.version, a.weights]));
      const saved = this.load(fnId);
      if (saved && saved.origin === origin) {
        this.state.set(fnId, saved);
      } else {
        const versions = plan.versions.filter((v) => v.functionId === fnId);
        this.state.set(fnId, {
          origin,
          environment: { ...fn.environment },
          revisionId: randomUUID(),
          lastVersion: versions.length,
          versions: versions.map((v) => ({
            version: v.version,
            environment: { ...fn.environment },
            description: `template ${v.logicalId}`,
            codeSha256: codeSha(fn),
            lastModified: new Date().toISOString(),
          })),
          aliases: Object.fromEntries(
            aliases.map((a) => [
              a.name,
              { version: a.version, weights: { ...a.weights }, description: '', revisionId: randomUUID() },
            ]),
          ),
        });
      }
      for (const v of this.state.get(fnId)?.versions ?? []) this.register(fn, v);
    }
  }

  /** The function id to invoke for a route: its function, or for an alias a version picked by weight. */
  target(route: LocalRoute): string {
    return route.alias ? this.pick(route.functionId, route.alias) : route.functionId;
  }

  /** Picks the version an invocation of an alias runs, by the alias's routing weights. */
  pick(functionId: string, aliasName: string): string {
    const alias = this.fn(functionId).aliases[aliasName];
    if (!alias) throw new LambdaApiError(404, 'ResourceNotFoundException', `Alias not found: ${aliasName}`);
    let r = this.random();
    for (const [version, weight] of Object.entries(alias.weights)) {
      if (r < weight) return `${functionId}:${version}`;
      r -= weight;
    }
    return `${functionId}:${alias.version}`;
  }

  /** Function ids of the versions the template's aliases route to (to warm at start). */
  aliasTargets(): string[] {
    const out = new Set<string>();
    for (const [fnId, s] of this.state) {
      for (const a of Object.values(s.aliases)) {
        out.add(`${fnId}:${a.version}`);
        for (const v of Object.keys(a.weights)) out.add(`${fnId}:${v}`);
      }
    }
    return [...out];
  }

  private fn(name: string): FunctionState {
    const s = this.state.get(name);
    if (!s) {
      const known = this.plan.functions.get(name) && !name.includes(':');
      throw new LambdaApiError(
        404,
        'ResourceNotFoundException',
        known
          ? `Function ${name} has no versions or aliases in the template`
          : `Function not found: ${localArn(name)}`,
      );
    }
    return s;
  }

  /** `FunctionName` as Lambda takes it: a name or an ARN, optionally qualified. */
  private parseName(raw: string, qualifier?: string): { name: string; qualifier?: string } {
    const m = ARN.exec(raw);
    const name = m ? (m[1] as string) : (raw.split(':')[0] as string);
    const q = qualifier ?? (m ? m[2] : raw.split(':')[1]);
    return q ? { name, qualifier: q } : { name };
  }

  private versionOf(s: FunctionState, name: string, qualifier: string | undefined): VersionState | undefined {
    if (!qualifier || qualifier === '$LATEST') return undefined;
    const alias = s.aliases[qualifier];
    const v = s.versions.find((x) => x.version === (alias ? alias.version : qualifier));
    if (!v)
      throw new LambdaApiError(
        404,
        'ResourceNotFoundException',
        `Function not found: ${localArn(name, qualifier)}`,
      );
    return v;
  }

  /** GetFunctionConfiguration: `$LATEST`, a version or an alias's version. */
  getConfiguration(functionName: string, qualifier?: string): Record<string, unknown> {
    const { name, qualifier: q } = this.parseName(functionName, qualifier);
    const s = this.fn(name);
    const v = this.versionOf(s, name, q);
    return this.configuration(name, s, v);
  }

  private configuration(
    name: string,
    s: FunctionState,
    v: VersionState | undefined,
  ): Record<string, unknown> {
    const fn = this.plan.functions.get(name) as LocalFunction;
    const environment = v?.environment ?? s.environment;
    return {
      FunctionName: name,
      FunctionArn: localArn(name, v?.version),
      Version: v?.version ?? '$LATEST',
      Runtime: 'nodejs24.x',
      Handler: fn.handler,
      Timeout: fn.timeoutSeconds,
      Description: v?.description ?? '',
      CodeSha256: v?.codeSha256 ?? codeSha(fn),
      LastModified: v?.lastModified ?? new Date().toISOString(),
      Environment: { Variables: resolveEnvironment({ ...fn, environment }, this.plan) },
      RevisionId: v ? createHash('sha256').update(v.version).digest('hex').slice(0, 36) : s.revisionId,
      State: 'Active',
      LastUpdateStatus: 'Successful',
    };
  }

  /** UpdateFunctionConfiguration (environment only): replaces `$LATEST`'s variables. */
  updateConfiguration(functionName: string, body: JsonObject): Record<string, unknown> {
    const { name, qualifier } = this.parseName(functionName);
    if (qualifier)
      throw new LambdaApiError(400, 'InvalidParameterValueException', 'Only $LATEST can be updated');
    const s = this.fn(name);
    if (body.RevisionId && body.RevisionId !== s.revisionId) {
      throw new LambdaApiError(
        412,
        'PreconditionFailedException',
        'The RevisionId provided does not match the latest RevisionId',
      );
    }
    const vars = body.Environment?.Variables;
    if (vars !== undefined) {
      if (!vars || typeof vars !== 'object' || Object.values(vars).some((x) => typeof x !== 'string')) {
        throw new LambdaApiError(
          400,
          'InvalidParameterValueException',
          'Environment.Variables must map names to strings',
        );
      }
      s.environment = { ...vars };
      s.revisionId = randomUUID();
      this.save(name);
    }
    return this.configuration(name, s, undefined);
  }

  /** PublishVersion: snapshots `$LATEST`; returns the last version when nothing changed, as Lambda does. */
  publishVersion(functionName: string, body: JsonObject): Record<string, unknown> {
    const { name } = this.parseName(functionName);
    const s = this.fn(name);
    if (body.RevisionId && body.RevisionId !== s.revisionId) {
      throw new LambdaApiError(
        412,
        'PreconditionFailedException',
        'The RevisionId provided does not match the latest RevisionId',
      );
    }
    const last = s.versions.at(-1);
    if (last && JSON.stringify(last.environment) === JSON.stringify(s.environment)) {
      return this.configuration(name, s, last);
    }
    const fn = this.plan.functions.get(name) as LocalFunction;
    const v: VersionState = {
      version: String(++s.lastVersion),
      environment: { ...s.environment },
      description: typeof body.Description === 'string' ? body.Description : '',
      codeSha256: codeSha(fn),
      lastModified: new Date().toISOString(),
    };
    s.versions.push(v);
    this.register(fn, v);
    this.save(name);
    return this.configuration(name, s, v);
  }

  listVersions(functionName: string): Record<string, unknown> {
    const { name } = this.parseName(functionName);
    const s = this.fn(name);
    return {
      Versions: [
        this.configuration(name, s, undefined),
        ...s.versions.map((v) => this.configuration(name, s, v)),
      ],
    };
  }

  getAlias(functionName: string, aliasName: string): Record<string, unknown> {
    const { name } = this.parseName(functionName);
    const s = this.fn(name);
    const a = s.aliases[aliasName];
    if (!a)
      throw new LambdaApiError(
        404,
        'ResourceNotFoundException',
        `Alias not found: ${localArn(name, aliasName)}`,
      );
    return aliasConfiguration(name, aliasName, a);
  }

  listAliases(functionName: string): Record<string, unknown> {
    const { name } = this.parseName(functionName);
    const s = this.fn(name);
    return { Aliases: Object.entries(s.aliases).map(([n, a]) => aliasConfiguration(name, n, a)) };
  }

  /**
   * UpdateAlias with Lambda's rules: versions must be published, at most one additional
   * version, weights in [0, 1], and not the alias's own version.
   */
  updateAlias(functionName: string, aliasName: string, body: JsonObject): Record<string, unknown> {
    const { name } = this.parseName(functionName);
    const s = this.fn(name);
    const a = s.aliases[aliasName];
    if (!a)
      throw new LambdaApiError(
        404,
        'ResourceNotFoundException',
        `Alias not found: ${localArn(name, aliasName)}`,
      );
    if (body.RevisionId && body.RevisionId !== a.revisionId) {
      throw new LambdaApiError(
        412,
        'PreconditionFailedException',
        'The RevisionId provided does not match the latest RevisionId',
      );
    }
    const published = (v: string) => s.versions.some((x) => x.version === v);
    const version = body.FunctionVersion === undefined ? a.version : String(body.FunctionVersion);
    if (!published(version)) {
      throw new LambdaApiError(
        404,
        'ResourceNotFoundException',
        `Function not found: ${localArn(name, version)}`,
      );
    }
    let weights = a.weights;
    if (body.RoutingConfig !== undefined) {
      const w = body.RoutingConfig?.AdditionalVersionWeights ?? {};
      const entries = Object.entries(w as Record<string, unknown>);
      if (entries.length > 1) {
        throw new LambdaApiError(
          400,
          'InvalidParameterValueException',
          'An alias routes to at most one additional version',
        );
      }
      for (const [v, weight] of entries) {
        if (!published(v))
          throw new LambdaApiError(400, 'InvalidParameterValueException', `Version ${v} is not published`);
        if (v === version) {
          throw new LambdaApiError(
            400,
            'InvalidParameterValueException',
            'The additional version must differ from the alias version',
          );
        }
        if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) {
          throw new LambdaApiError(
            400,
            'InvalidParameterValueException',
            `Weight of version ${v} must be in [0.0, 1.0]`,
          );
        }
      }
      weights = Object.fromEntries(entries) as Record<string, number>;
    }
    a.version = version;
    a.weights = weights;
    if (typeof body.Description === 'string') a.description = body.Description;
    a.revisionId = randomUUID();
    this.save(name);
    return aliasConfiguration(name, aliasName, a);
  }

  /** Invoke (RequestResponse): a version, an alias (weighted) or `$LATEST`. */
  async invoke(functionName: string, qualifier: string | undefined, payload: unknown) {
    const { name, qualifier: q } = this.parseName(functionName, qualifier);
    if (!this.host) throw new LambdaApiError(500, 'ServiceException', 'no function host');
    if (!this.plan.functions.has(name)) {
      throw new LambdaApiError(404, 'ResourceNotFoundException', `Function not found: ${localArn(name)}`);
    }
    let id = name;
    if (q && q !== '$LATEST') {
      const s = this.fn(name);
      id = s.aliases[q] ? this.pick(name, q) : `${name}:${this.versionOf(s, name, q)?.version}`;
    }
    return { executedVersion: id.split(':')[1] ?? '$LATEST', result: await this.host.invoke(id, payload) };
  }

  /** Adds a published version to the host's functions: its own sandbox with its snapshot. */
  private register(fn: LocalFunction, v: VersionState): void {
    const id = `${fn.logicalId}:${v.version}`;
    if (this.plan.functions.has(id)) return;
    this.plan.functions.set(id, {
      ...fn,
      logicalId: id,
      environment: { ...v.environment, AWS_LAMBDA_FUNCTION_VERSION: v.version },
    });
  }

  private load(fnId: string): FunctionState | undefined {
    const p = this.stateDir && join(this.stateDir, `${fnId}.json`);
    return p && existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as FunctionState) : undefined;
  }

  private save(fnId: string): void {
    if (!this.stateDir) return;
    mkdirSync(this.stateDir, { recursive: true });
    const p = join(this.stateDir, `${fnId}.json`);
    // Write then rename: a crash never leaves a half-written state file.
    writeFileSync(`${p}.tmp`, JSON.stringify(this.state.get(fnId), null, 2));
    renameSync(`${p}.tmp`, p);
  }
}

function localArn(name: string, qualifier?: string): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:${name}${qualifier ? `:${qualifier}` : ''}`;
}

function codeSha(fn: LocalFunction): string {
  return createHash('sha256').update(`${fn.entry}#${fn.handler}`).digest('base64');
}

function aliasConfiguration(fnName: string, name: string, a: AliasState): Record<string, unknown> {
  return {
    AliasArn: localArn(fnName, name),
    Name: name,
    FunctionVersion: a.version,
    Description: a.description,
    RevisionId: a.revisionId,
    ...(Object.keys(a.weights).length ? { RoutingConfig: { AdditionalVersionWeights: a.weights } } : {}),
  };
}

/** What `AWS_ENDPOINT_URL_LAMBDA` is set to. */
export type RunningLambdaApi = RunningAwsService;

const PREFIX = '/2015-03-31/functions/';

/**
 * Serves the local Lambda state over Lambda's REST API (the paths and error types of
 * `@aws-sdk/client-lambda`): Get/UpdateFunctionConfiguration, GetFunction, PublishVersion,
 * ListVersionsByFunction, Get/Update/ListAliases and Invoke.
 *
 * @example
 * const api = await startLambdaApi(lambda);
 * new LambdaClient({ endpoint: api.url }).send(new GetAliasCommand({ FunctionName: 'Fn', Name: 'live' }));
 */
export async function startLambdaApi(lambda: LocalLambda, port = 0): Promise<RunningLambdaApi> {
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    sendAnswer(res, status, body, { 'content-type': 'application/json', ...headers });
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const raw = (await readRequestBody(req)).toString('utf8');
    if (!url.pathname.startsWith(PREFIX)) {
      throw new LambdaApiError(
        404,
        'UnknownOperationException',
        `No operation ${req.method} ${url.pathname}`,
      );
    }
    const [fnPart, sub, aliasPart] = url.pathname.slice(PREFIX.length).split('/');
    const fn = decodeURIComponent(fnPart ?? '');
    const qualifier = url.searchParams.get('Qualifier') ?? undefined;
    const body = (): JsonObject => {
      try {
        return raw ? (JSON.parse(raw) as JsonObject) : {};
      } catch {
        throw new LambdaApiError(
          400,
          'InvalidRequestContentException',
          'Could not parse request body into json',
        );
      }
    };
    const m = req.method;
    if (m === 'GET' && sub === undefined)
      return send(res, 200, { Configuration: lambda.getConfiguration(fn, qualifier) });
    if (m === 'GET' && sub === 'configuration') return send(res, 200, lambda.getConfiguration(fn, qualifier));
    if (m === 'PUT' && sub === 'configuration') return send(res, 200, lambda.updateConfiguration(fn, body()));
    if (m === 'POST' && sub === 'versions') return send(res, 201, lambda.publishVersion(fn, body()));
    if (m === 'GET' && sub === 'versions') return send(res, 200, lambda.listVersions(fn));
    if (m === 'GET' && sub === 'aliases' && aliasPart === undefined)
      return send(res, 200, lambda.listAliases(fn));
    if (m === 'GET' && sub === 'aliases')
      return send(res, 200, lambda.getAlias(fn, decodeURIComponent(aliasPart ?? '')));
    if (m === 'PUT' && sub === 'aliases') {
      return send(res, 200, lambda.updateAlias(fn, decodeURIComponent(aliasPart ?? ''), body()));
    }
    if (m === 'POST' && sub === 'invocations') {
      let payload: unknown = {};
      try {
        payload = raw ? JSON.parse(raw) : {};
      } catch {
        throw new LambdaApiError(
          400,
          'InvalidRequestContentException',
          'Could not parse request body into json',
        );
      }
      try {
        const { executedVersion, result } = await lambda.invoke(fn, qualifier, payload);
        return send(res, 200, result ?? null, { 'x-amz-executed-version': executedVersion });
      } catch (err) {
        if (!(err instanceof FunctionError)) throw err;
        // A function error is a 200 with X-Amz-Function-Error, as Lambda answers it.
        return send(
          res,
          200,
          { errorType: err.errorType, errorMessage: err.message },
          {
            'x-amz-function-error': 'Unhandled',
          },
        );
      }
    }
    throw new LambdaApiError(404, 'UnknownOperationException', `No operation ${m} ${url.pathname}`);
  };
  return serveAwsApi(
    route,
    (res, e) =>
      send(
        res,
        e.status,
        { Type: e.status < 500 ? 'User' : 'Service', message: e.message },
        { 'x-amzn-errortype': e.type },
      ),
    { port, fault: 'ServiceException' },
  );
}
