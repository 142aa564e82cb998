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

  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::ApiGateway::Method') continue;
    const props = r.Properties ?? {};
    if (props.Integration?.Type !== 'AWS_PROXY') continue;
    const functionId = functionIdInUri(props.Integration.Uri);
    if (!functionId || !functions.has(functionId)) continue;
    routes.push({
      method: props.HttpMethod,
      path: pathOf(props.ResourceId) || '/',
      functionId,
      binaryMediaTypes: binaryMediaTypesOf(resources[refOf(props.RestApiId) ?? '']),
    });
  }
  return { functions, routes, tables, buckets, template };
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

/** Finds the function whose ARN a Lambda integration URI (an Fn::Join) embeds. */
function functionIdInUri(uri: unknown): string | undefined {
  let found: string | undefined;
  const walk = (v: unknown): void => {
    if (found || !v || typeof v !== 'object') return;
    const g = (v as Record<string, unknown>)['Fn::GetAtt'];
    if (Array.isArray(g) && g[1] === 'Arn') {
      found = String(g[0]);
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
