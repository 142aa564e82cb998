import { ENTRY_METADATA, HANDLER_METADATA, LOCAL_NAME_METADATA } from '../lib/private/local-metadata';

/** A CloudFormation template as JSON (only the parts the local runtime reads are typed). */
export interface CfnTemplate {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any> }
  >;
}

export interface LocalFunction {
  readonly logicalId: string;
  /** Repository-relative module path. */
  readonly entry: string;
  readonly handler: string;
  /** Environment variables as written in the template (values may be Ref/GetAtt objects). */
  readonly environment: Record<string, unknown>;
  readonly timeoutSeconds: number;
}

export interface LocalRoute {
  readonly method: string;
  /** Resource path as API Gateway knows it: `/runs/{id}`, `/files/{proxy+}`. */
  readonly path: string;
  readonly functionId: string;
  /**
   * The RestApi's `BinaryMediaTypes` (CloudFormation's `~1` decoded to `/`): request bodies
   * of these types reach the function base64-encoded, as API Gateway passes them.
   */
  readonly binaryMediaTypes: readonly string[];
  /** Set when the integration invokes an alias (`Ref` to an `AWS::Lambda::Alias`): its name. */
  readonly alias?: string;
}

/** An `AWS::Lambda::Version` of the template; numbered per function in template order, from 1. */
export interface LocalVersion {
  readonly logicalId: string;
  readonly functionId: string;
  readonly version: string;
}

/** An `AWS::Lambda::Alias` of the template, its versions resolved to numbers. */
export interface LocalAlias {
  readonly logicalId: string;
  readonly functionId: string;
  readonly name: string;
  readonly version: string;
  /** `RoutingConfig.AdditionalVersionWeights`: version → weight in [0, 1]. */
  readonly weights: Readonly<Record<string, number>>;
}

export interface LocalTable {
  readonly logicalId: string;
  readonly localName: string;
  readonly properties: Record<string, any>;
}

export interface LocalBucket {
  readonly logicalId: string;
  readonly localName: string;
}

/** What the local runtime runs: read from the synthesized template, never kept by hand. */
export interface LocalPlan {
  readonly functions: Map<string, LocalFunction>;
  readonly routes: LocalRoute[];
  readonly tables: LocalTable[];
  readonly buckets: LocalBucket[];
  /** Lambda versions and aliases (the local Lambda API starts from them). */
  readonly versions: LocalVersion[];
  readonly aliases: LocalAlias[];
  readonly template: CfnTemplate;
}

/**
 * Reads the synthesized template: functions (by their `mlops:entry` metadata), API
 * Gateway methods with their full resource paths, DynamoDB tables and S3 buckets.
 *
 * @example
 * const plan = readTemplate(stackArtifact.template);
 * plan.routes // [{ method: 'GET', path: '/health', functionId: 'PlatformHealthFunction...' }]
 */
export function readTemplate(template: CfnTemplate): LocalPlan {
  const resources = template.Resources ?? {};
  const functions = new Map<string, LocalFunction>();
  const tables: LocalTable[] = [];
  const buckets: LocalBucket[] = [];
  const routes: LocalRoute[] = [];

  for (const [id, r] of Object.entries(resources)) {
    const props = r.Properties ?? {};
    if (r.Type === 'AWS::Lambda::Function' && r.Metadata?.[ENTRY_METADATA]) {
      functions.set(id, {
        logicalId: id,
        entry: r.Metadata[ENTRY_METADATA],
        handler: r.Metadata[HANDLER_METADATA] ?? 'handler',
        environment: props.Environment?.Variables ?? {},
        timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : 3,
      });
    } else if (r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::DynamoDB::GlobalTable') {
      tables.push({ logicalId: id, localName: r.Metadata?.[LOCAL_NAME_METADATA] ?? id, properties: props });
    } else if (r.Type === 'AWS::S3::Bucket') {
      buckets.push({ logicalId: id, localName: r.Metadata?.[LOCAL_NAME_METADATA] ?? id });
    }
  }

  const pathOf = (resourceRef: unknown, seen = 0): string => {
    // The root resource is referenced as GetAtt(RestApi, RootResourceId).
    if (isGetAtt(resourceRef, 'RootResourceId')) return '';
    const refId = refOf(resourceRef);
    const res = refId ? resources[refId] : undefined;
    if (!res || res.Type !== 'AWS::ApiGateway::Resource' || seen > 64) {
      throw new Error(`template: cannot resolve API resource ${JSON.stringify(resourceRef)}`);
    }
    return `${pathOf(res.Properties?.ParentId, seen + 1)}/${res.Properties?.PathPart}`;
  };

  const { versions, aliases } = readVersionsAndAliases(resources);

  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::ApiGateway::Method') continue;
    const props = r.Properties ?? {};
    if (props.Integration?.Type !== 'AWS_PROXY') continue;
    const functionId = functionIdInUri(props.Integration.Uri, resources);
    if (!functionId || !functions.has(functionId)) continue;
    // An integration on an alias: each invocation picks a version by the alias's weights.
    const alias = aliases.find((x) => x.logicalId === aliasIdInUri(props.Integration.Uri, resources));
    routes.push({
      method: props.HttpMethod,
      path: pathOf(props.ResourceId) || '/',
      functionId,
      binaryMediaTypes: binaryMediaTypesOf(resources[refOf(props.RestApiId) ?? '']),
      ...(alias ? { alias: alias.name } : {}),
    });
  }
  return { functions, routes, tables, buckets, versions, aliases, template };
}

/**
 * The template's Lambda versions (numbered per function in template order, as CloudFormation
 * publishes them on a first deploy) and aliases with their routing weights.
 */
function readVersionsAndAliases(resources: CfnTemplate['Resources']): {
  versions: LocalVersion[];
  aliases: LocalAlias[];
} {
  const versions: LocalVersion[] = [];
  const count = new Map<string, number>();
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Version') continue;
    const functionId = refOf(r.Properties?.FunctionName);
    if (!functionId) continue;
    const n = (count.get(functionId) ?? 0) + 1;
    count.set(functionId, n);
    versions.push({ logicalId: id, functionId, version: String(n) });
  }
  const versionOf = (v: unknown): string | undefined => {
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    const g = v && typeof v === 'object' ? (v as Record<string, unknown>)['Fn::GetAtt'] : undefined;
    return Array.isArray(g) ? versions.find((x) => x.logicalId === g[0])?.version : undefined;
  };
  const aliases: LocalAlias[] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Alias') continue;
    const props = r.Properties ?? {};
    const functionId = refOf(props.FunctionName);
    const version = versionOf(props.FunctionVersion);
    if (!functionId || !version) throw new Error(`template: cannot resolve alias ${id} locally`);
    const weights: Record<string, number> = {};
    for (const w of props.RoutingConfig?.AdditionalVersionWeights ?? []) {
      const v = versionOf(w.FunctionVersion);
      if (v) weights[v] = Number(w.FunctionWeight);
    }
    aliases.push({ logicalId: id, functionId, name: String(props.Name), version, weights });
  }
  return { versions, aliases };
}

/** The alias a Lambda integration URI references (`Ref` to an `AWS::Lambda::Alias`). */
function aliasIdInUri(uri: unknown, resources: CfnTemplate['Resources']): string | undefined {
  let found: string | undefined;
  const walk = (v: unknown): void => {
    if (found || !v || typeof v !== 'object') return;
    const ref = refOf(v);
    if (ref && resources[ref]?.Type === 'AWS::Lambda::Alias') {
      found = ref;
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
  };
  walk(uri);
  return found;
}

/** A RestApi's binary media types; CloudFormation escapes `/` as `~1` (and `~` as `~0`). */
function binaryMediaTypesOf(api: CfnTemplate['Resources'][string] | undefined): string[] {
  const types = api?.Type === 'AWS::ApiGateway::RestApi' ? api.Properties?.BinaryMediaTypes : undefined;
  if (!Array.isArray(types)) return [];
  return types.map((t) => String(t).replaceAll('~1', '/').replaceAll('~0', '~'));
}

function refOf(v: unknown): string | undefined {
  return v && typeof v === 'object' && 'Ref' in v ? String((v as { Ref: unknown }).Ref) : undefined;
}

function isGetAtt(v: unknown, attr: string): boolean {
  const g = v && typeof v === 'object' ? (v as Record<string, unknown>)['Fn::GetAtt'] : undefined;
  return Array.isArray(g) && g[1] === attr;
}

/** Finds the function whose ARN (or alias's ARN) a Lambda integration URI (an Fn::Join) embeds. */
function functionIdInUri(uri: unknown, resources: CfnTemplate['Resources']): string | undefined {
  let found: string | undefined;
  const walk = (v: unknown): void => {
    if (found || !v || typeof v !== 'object') return;
    const g = (v as Record<string, unknown>)['Fn::GetAtt'];
    if (Array.isArray(g) && g[1] === 'Arn') {
      found = String(g[0]);
      return;
    }
    // An alias (`Ref` is its ARN) runs its function; version weights are the canary's to add.
    const alias = resources[refOf(v) ?? ''];
    if (alias?.Type === 'AWS::Lambda::Alias') {
      found = refOf(alias.Properties?.FunctionName);
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
  };
  walk(uri);
  return found;
}

/** An enabled EventBridge rule's target that is a state machine of the template. */
type RuleProperties = NonNullable<CfnTemplate['Resources'][string]['Properties']>;

export interface StateMachineTarget {
  readonly rule: string;
  readonly properties: RuleProperties;
  readonly target: RuleProperties[string];
  readonly stateMachine: string;
}

/** Every state machine target of the template's enabled EventBridge rules (schedules and patterns). */
export function stateMachineTargets(plan: LocalPlan): StateMachineTarget[] {
  const out: StateMachineTarget[] = [];
  for (const [id, r] of Object.entries(plan.template.Resources)) {
    if (r.Type !== 'AWS::Events::Rule' || !r.Properties || r.Properties.State === 'DISABLED') continue;
    for (const t of r.Properties.Targets ?? []) {
      const ref = t.Arn?.Ref as string | undefined;
      if (!ref || plan.template.Resources[ref]?.Type !== 'AWS::StepFunctions::StateMachine') continue;
      out.push({ rule: id, properties: r.Properties, target: t, stateMachine: ref });
    }
  }
  return out;
}
