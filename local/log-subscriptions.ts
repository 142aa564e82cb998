import { randomBytes } from 'node:crypto';
import {
  type AwsLogsBatch,
  encodeAwsLogsBatch,
  type SubscriptionLogEvent,
} from '../lambdas/platform/awslogs';
import { resolveValue } from './resources';
import type { CfnTemplate, LocalPlan } from './template';

// ---------------------------------------------------------------------------------------
// Filter patterns
// ---------------------------------------------------------------------------------------

type Comparison = '=' | '!=' | '<' | '>' | '<=' | '>=';
type Step = string | number;

/** A parsed filter pattern: the empty pattern (every event) or a JSON pattern's expression. */
export type FilterExpr =
  | { readonly kind: 'all' }
  | { readonly kind: 'and' | 'or'; readonly parts: readonly FilterExpr[] }
  | {
      readonly kind: 'number';
      readonly path: readonly Step[];
      readonly op: Comparison;
      readonly value: number;
    }
  | {
      readonly kind: 'string';
      readonly path: readonly Step[];
      readonly op: '=' | '!=';
      readonly match: RegExp;
    }
  | {
      readonly kind: 'is';
      readonly path: readonly Step[];
      readonly what: 'TRUE' | 'FALSE' | 'NULL' | 'EXISTS' | 'NOT EXISTS';
    };

const SUPPORTED =
  'supported locally: the empty pattern, or a JSON pattern { ... } of $.field comparisons (= != < > <= >= against a number; = != against a string, "quoted", with * wildcards, or a %regex%), $.field IS TRUE | IS FALSE | IS NULL | EXISTS | NOT EXISTS, joined with && and || and parentheses';

/** A filter pattern the local runtime cannot evaluate; names the pattern and what to change. */
export class FilterPatternError extends Error {
  constructor(pattern: string, what: string, position: number) {
    super(`filter pattern ${JSON.stringify(pattern)}: ${what} at position ${position} (${SUPPORTED})`);
    this.name = 'FilterPatternError';
  }
}

/**
 * Parses a CloudWatch Logs filter pattern: the empty pattern, or a JSON pattern as
 * CloudWatch documents it and CDK's `FilterPattern` writes it. Term and space-delimited
 * patterns are refused with a {@link FilterPatternError}, so a template the local runtime
 * cannot honour fails at startup rather than delivering the wrong events.
 *
 * @example
 * const expr = parseFilterPattern('{ $.mlops_prediction = 1 && $.status = 200 }');
 * matchesFilter(expr, '{"mlops_prediction":1,"status":200}'); // true
 */
export function parseFilterPattern(pattern: string): FilterExpr {
  const text = pattern.trim();
  if (!text) return { kind: 'all' };
  let i = 0;
  const fail = (what: string): never => {
    throw new FilterPatternError(pattern, what, i);
  };
  const space = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const peek = (s: string) => {
    space();
    return text.startsWith(s, i);
  };
  const keyword = (word: string): boolean => {
    space();
    const m = /^[A-Za-z]+/.exec(text.slice(i));
    if (m?.[0]?.toUpperCase() !== word) return false;
    i += word.length;
    return true;
  };
  if (text[0] !== '{') fail('only JSON patterns ({ ... }) and the empty pattern run locally');

  const selector = (): Step[] => {
    space();
    if (text[i] !== '$') fail("expected a selector starting with '$'");
    i++;
    const path: Step[] = [];
    for (;;) {
      if (text[i] === '.') {
        i++;
        const m = /^[A-Za-z0-9_@-]+/.exec(text.slice(i));
        if (!m) fail('expected a field name after "."');
        path.push((m as RegExpExecArray)[0]);
        i += (m as RegExpExecArray)[0].length;
      } else if (text[i] === '[') {
        const m = /^\[(\d+)\]/.exec(text.slice(i));
        if (!m) fail('expected an array index [n]');
        path.push(Number((m as RegExpExecArray)[1]));
        i += (m as RegExpExecArray)[0].length;
      } else break;
    }
    if (!path.length) fail('expected a field after "$"');
    return path;
  };

  const condition = (): FilterExpr => {
    const path = selector();
    if (keyword('IS')) {
      for (const what of ['TRUE', 'FALSE', 'NULL'] as const)
        if (keyword(what)) return { kind: 'is', path, what };
      return fail('expected TRUE, FALSE or NULL after IS');
    }
    if (keyword('NOT')) {
      if (!keyword('EXISTS')) fail('expected EXISTS after NOT');
      return { kind: 'is', path, what: 'NOT EXISTS' };
    }
    if (keyword('EXISTS')) return { kind: 'is', path, what: 'EXISTS' };
    space();
    const op = /^(!=|<=|>=|=|<|>)/.exec(text.slice(i))?.[0] as Comparison | undefined;
    if (!op) return fail('expected a comparison (= != < > <= >=), IS, EXISTS or NOT EXISTS');
    i += op.length;
    space();
    // A value: "quoted" (with \" escapes), %regex%, or a bare token up to a space or bracket.
    let raw: string;
    let kind: 'quoted' | 'regex' | 'bare';
    if (text[i] === '"') {
      let j = i + 1;
      raw = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        raw += text[j];
        j++;
      }
      if (j >= text.length) fail('unterminated string');
      i = j + 1;
      kind = 'quoted';
    } else if (text[i] === '%') {
      const end = text.indexOf('%', i + 1);
      if (end < 0) fail('unterminated %regex%');
      raw = text.slice(i + 1, end);
      i = end + 1;
      kind = 'regex';
    } else {
      const m = /^[^\s()}&|]+/.exec(text.slice(i));
      if (!m) fail('expected a value');
      raw = (m as RegExpExecArray)[0];
      i += raw.length;
      kind = 'bare';
    }
    if (kind === 'bare' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) {
      return { kind: 'number', path, op, value: Number(raw) };
    }
    if (op !== '=' && op !== '!=') return fail(`${op} compares numbers; ${JSON.stringify(raw)} is not one`);
    let match: RegExp;
    try {
      match = kind === 'regex' ? new RegExp(raw) : wildcard(raw);
    } catch {
      return fail(`invalid regular expression %${raw}%`);
    }
    return { kind: 'string', path, op, match };
  };

  const unary = (): FilterExpr => {
    if (peek('(')) {
      i++;
      const e = or();
      if (!peek(')')) fail("expected ')'");
      i++;
      return e;
    }
    return condition();
  };
  const chain = (op: '&&' | '||', next: () => FilterExpr): FilterExpr => {
    const parts = [next()];
    while (peek(op)) {
      i += 2;
      parts.push(next());
    }
    return parts.length === 1 ? (parts[0] as FilterExpr) : { kind: op === '&&' ? 'and' : 'or', parts };
  };
  const and = () => chain('&&', unary);
  const or = () => chain('||', and);

  i = 1;
  const expr = or();
  if (!peek('}')) fail("expected '}', && or ||");
  i++;
  space();
  if (i < text.length) fail('unexpected text after the pattern');
  return expr;
}

/** A string value with `*` wildcards as an anchored regular expression. */
function wildcard(value: string): RegExp {
  return new RegExp(`^${value.split('*').map(escapeRegExp).join('.*')}$`, 's');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const MISSING = Symbol('missing');

function select(doc: unknown, path: readonly Step[]): unknown {
  let v: unknown = doc;
  for (const step of path) {
    if (v === null || typeof v !== 'object') return MISSING;
    const next = (v as Record<string | number, unknown>)[step];
    if (next === undefined || !Object.hasOwn(v, step)) return MISSING;
    v = next;
  }
  return v;
}

function evaluate(expr: FilterExpr, doc: unknown): boolean {
  switch (expr.kind) {
    case 'all':
      return true;
    case 'and':
      return expr.parts.every((p) => evaluate(p, doc));
    case 'or':
      return expr.parts.some((p) => evaluate(p, doc));
    case 'is': {
      const v = select(doc, expr.path);
      if (expr.what === 'NOT EXISTS') return v === MISSING;
      if (expr.what === 'EXISTS') return v !== MISSING;
      return v === (expr.what === 'TRUE' ? true : expr.what === 'FALSE' ? false : null);
    }
    case 'number': {
      const v = select(doc, expr.path);
      if (typeof v !== 'number') return false;
      const x = expr.value;
      switch (expr.op) {
        case '=':
          return v === x;
        case '!=':
          return v !== x;
        case '<':
          return v < x;
        case '>':
          return v > x;
        case '<=':
          return v <= x;
        case '>=':
          return v >= x;
      }
      return false;
    }
    case 'string': {
      const v = select(doc, expr.path);
      // `= "*"` is how CDK writes EXISTS: any value matches, objects included.
      if (expr.match.source === '^.*$') return v !== MISSING && expr.op === '=';
      // A comparison needs a scalar field: a missing field, null, an object or an array never matches.
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return false;
      return expr.match.test(String(v)) === (expr.op === '=');
    }
  }
}

/**
 * Whether a log line matches a parsed pattern; a JSON pattern matches only lines that are
 * JSON objects.
 */
export function matchesFilter(expr: FilterExpr, message: string, parsed?: { doc?: unknown }): boolean {
  if (expr.kind === 'all') return true;
  const cache = parsed ?? {};
  if (!('doc' in cache)) cache.doc = parseObject(message);
  return cache.doc !== undefined && evaluate(expr, cache.doc);
}

function parseObject(line: string): unknown {
  if (!line.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(line);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Subscriptions of the template
// ---------------------------------------------------------------------------------------

/** An `AWS::Logs::SubscriptionFilter` of the template, resolved to local functions. */
export interface LocalSubscription {
  readonly logicalId: string;
  /** `FilterName`, or the logical id (what CloudWatch names the filter in deliveries). */
  readonly filterName: string;
  /** The log group's local name (its `LogGroupName`, or its logical id). */
  readonly logGroup: string;
  /** The function whose log group it is. */
  readonly sourceFunctionId: string;
  /** The Lambda function the events are delivered to. */
  readonly destinationFunctionId: string;
  readonly pattern: string;
  readonly expr: FilterExpr;
}

type Resources = CfnTemplate['Resources'];

function refOf(v: unknown): string | undefined {
  return v && typeof v === 'object' && 'Ref' in v ? String((v as { Ref: unknown }).Ref) : undefined;
}

function getAttOf(v: unknown): [string, string] | undefined {
  const g = v && typeof v === 'object' ? (v as Record<string, unknown>)['Fn::GetAtt'] : undefined;
  return Array.isArray(g) ? [String(g[0]), String(g[1])] : undefined;
}

/** The function writing to a log group: by `LoggingConfig.LogGroup`, else by `/aws/lambda/<name>`. */
function functionOfLogGroup(logGroupName: unknown, plan: LocalPlan): { functionId: string; name: string } {
  const resources: Resources = plan.template.Resources;
  const groupId = refOf(logGroupName);
  if (groupId) {
    const group = resources[groupId];
    if (group?.Type !== 'AWS::Logs::LogGroup') throw new Error(`${groupId} is not an AWS::Logs::LogGroup`);
    for (const id of plan.functions.keys()) {
      if (refOf(resources[id]?.Properties?.LoggingConfig?.LogGroup) === groupId) {
        const name = group.Properties?.LogGroupName;
        return { functionId: id, name: typeof name === 'string' ? name : groupId };
      }
    }
    throw new Error(`no function of the template logs to ${groupId} (LoggingConfig.LogGroup)`);
  }
  const name = resolveValue(logGroupName, plan);
  const fnName = name?.startsWith('/aws/lambda/') ? name.slice('/aws/lambda/'.length) : undefined;
  for (const id of plan.functions.keys()) {
    const declared = resources[id]?.Properties?.FunctionName;
    if (fnName && (fnName === id || (typeof declared === 'string' && declared === fnName))) {
      return { functionId: id, name: name as string };
    }
  }
  throw new Error(`log group ${JSON.stringify(logGroupName)} is no function's log group in the template`);
}

/** The function a `DestinationArn` names: a function's `Arn`, or an alias of one. */
function destinationFunction(arn: unknown, plan: LocalPlan): string {
  const att = getAttOf(arn);
  if (att && att[1] === 'Arn' && plan.functions.has(att[0])) return att[0];
  const alias = plan.template.Resources[refOf(arn) ?? ''];
  if (alias?.Type === 'AWS::Lambda::Alias') {
    const fn = refOf(alias.Properties?.FunctionName);
    if (fn && plan.functions.has(fn)) return fn;
  }
  throw new Error(
    `DestinationArn ${JSON.stringify(arn)}: only Lambda functions of the template run as destinations locally`,
  );
}

/**
 * Reads the template's subscription filters. Throws, naming the filter, when one cannot be
 * honoured locally (an unsupported pattern, a destination other than a Lambda function).
 */
export function readSubscriptions(plan: LocalPlan): LocalSubscription[] {
  const out: LocalSubscription[] = [];
  for (const [id, r] of Object.entries(plan.template.Resources)) {
    if (r.Type !== 'AWS::Logs::SubscriptionFilter') continue;
    const p = r.Properties ?? {};
    try {
      const pattern = typeof p.FilterPattern === 'string' ? p.FilterPattern : '';
      const source = functionOfLogGroup(p.LogGroupName, plan);
      out.push({
        logicalId: id,
        filterName: typeof p.FilterName === 'string' ? p.FilterName : id,
        logGroup: source.name,
        sourceFunctionId: source.functionId,
        destinationFunctionId: destinationFunction(p.DestinationArn, plan),
        pattern,
        expr: parseFilterPattern(pattern),
      });
    } catch (err) {
      throw new Error(`subscription filter ${id}: ${(err as Error).message}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------

export interface LogSubscriptionOptions {
  /** Invokes a destination function with an event (the function host). */
  readonly invoke: (functionId: string, event: unknown) => Promise<unknown>;
  /** A batch is delivered this long after its first event. @default 1000 */
  readonly flushMs?: number;
  /** ... or once it holds this many events. @default 1000 */
  readonly maxEvents?: number;
  /** ... or this many bytes of messages (a Lambda event stays under its 6 MB). @default 1 MiB */
  readonly maxBytes?: number;
  /**
   * Waits before each retry of a failed delivery. CloudWatch invokes the destination
   * asynchronously and Lambda retries a failed event twice (after about 1 and 2 minutes);
   * locally the same two retries come sooner. @default [1000, 2000]
   */
  readonly retryDelaysMs?: readonly number[];
  readonly log?: (message: string) => void;
}

interface Pending {
  events: SubscriptionLogEvent[];
  bytes: number;
  timer?: NodeJS.Timeout;
}

/**
 * The template's log subscriptions, run locally: each line a source function writes to
 * stdout that matches a filter's pattern is batched (sent after `flushMs` or `maxEvents`)
 * and delivered to the destination function as CloudWatch Logs delivers it,
 * `{"awslogs": {"data": base64(gzip(JSON))}}` (decode with lambdas/platform/awslogs.ts).
 * A failed delivery is retried (at least once delivery: consumers are idempotent); batches
 * of one filter are delivered one at a time, in order.
 *
 * @example
 * const subs = new LocalLogSubscriptions(plan, { invoke: (id, e) => host.invoke(id, e) });
 * subs.offer(['PredictFn'], line);
 * await subs.flush();
 */
export class LocalLogSubscriptions {
  readonly subscriptions: readonly LocalSubscription[];
  /** Functions whose log lines some filter reads. */
  readonly sources: ReadonlySet<string>;
  private readonly bySource = new Map<string, LocalSubscription[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly streams = new Map<string, string>();
  private readonly flushMs: number;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly retryDelays: readonly number[];
  private sequence = 0n;
  private stopping = false;
  private readonly sleeps = new Set<() => void>();

  constructor(
    plan: LocalPlan,
    private readonly options: LogSubscriptionOptions,
  ) {
    this.subscriptions = readSubscriptions(plan);
    for (const s of this.subscriptions) {
      const list = this.bySource.get(s.sourceFunctionId) ?? [];
      list.push(s);
      this.bySource.set(s.sourceFunctionId, list);
    }
    this.sources = new Set(this.bySource.keys());
    this.flushMs = options.flushMs ?? 1000;
    this.maxEvents = options.maxEvents ?? 1000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.retryDelays = options.retryDelaysMs ?? [1000, 2000];
  }

  /**
   * Takes a line a function wrote (`functionIds`: the functions of the sandbox that wrote
   * it); returns whether any filter matched. The line stays the caller's to print or store.
   */
  offer(functionIds: readonly string[], line: string, timestamp = Date.now()): boolean {
    let matched = false;
    const parsed: { doc?: unknown } = {};
    // A published version (`<function>:<n>`) logs to its function's log group, as on AWS.
    const groups = new Set(functionIds.map((id) => id.split(':')[0] as string));
    for (const functionId of groups) {
      for (const s of this.bySource.get(functionId) ?? []) {
        if (!matchesFilter(s.expr, line, parsed)) continue;
        matched = true;
        this.add(s, { id: this.nextId(timestamp), timestamp, message: line });
      }
    }
    return matched;
  }

  private nextId(timestamp: number): string {
    // CloudWatch's ids are 56-digit strings, unique within a log group.
    this.sequence++;
    return `${String(timestamp).padStart(20, '0')}${this.sequence.toString().padStart(36, '0')}`;
  }

  private add(s: LocalSubscription, event: SubscriptionLogEvent): void {
    let p = this.pending.get(s.logicalId);
    if (!p) {
      p = { events: [], bytes: 0 };
      this.pending.set(s.logicalId, p);
    }
    p.events.push(event);
    p.bytes += Buffer.byteLength(event.message) + 26;
    if (p.events.length >= this.maxEvents || p.bytes >= this.maxBytes) this.send(s);
    else if (!p.timer) {
      p.timer = setTimeout(() => this.send(s), this.flushMs);
      p.timer.unref();
    }
  }

  /** Moves a filter's pending events into one batch on its delivery queue. */
  private send(s: LocalSubscription): void {
    const p = this.pending.get(s.logicalId);
    if (!p?.events.length) return;
    this.pending.delete(s.logicalId);
    if (p.timer) clearTimeout(p.timer);
    const batch: AwsLogsBatch = {
      messageType: 'DATA_MESSAGE',
      owner: '000000000000',
      logGroup: s.logGroup,
      logStream: this.streamOf(s.sourceFunctionId),
      subscriptionFilters: [s.filterName],
      logEvents: p.events,
    };
    const previous = this.queues.get(s.logicalId) ?? Promise.resolve();
    const next = previous
      .then(() => this.deliver(s, batch))
      .catch((err) => this.options.log?.(`subscription ${s.filterName}: ${(err as Error).message}`));
    this.queues.set(s.logicalId, next);
    void next.finally(() => {
      if (this.queues.get(s.logicalId) === next) this.queues.delete(s.logicalId);
    });
  }

  /** One log stream per function for the runtime's life, named as Lambda names them. */
  private streamOf(functionId: string): string {
    let stream = this.streams.get(functionId);
    if (!stream) {
      const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
      stream = `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
      this.streams.set(functionId, stream);
    }
    return stream;
  }

  private async deliver(s: LocalSubscription, batch: AwsLogsBatch): Promise<void> {
    const event = encodeAwsLogsBatch(batch);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.invoke(s.destinationFunctionId, event);
        return;
      } catch (err) {
        const delay = this.retryDelays[attempt];
        const what = `subscription ${s.filterName}: delivering ${batch.logEvents.length} event(s) to ${s.destinationFunctionId} failed: ${(err as Error).message}`;
        if (delay === undefined || this.stopping) {
          this.options.log?.(`${what}; dropped after ${attempt + 1} attempt(s)`);
          return;
        }
        this.options.log?.(`${what}; retrying in ${delay} ms`);
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleeps.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.sleeps.add(done);
    });
  }

  /** Delivers every pending batch now and waits for all deliveries (retries included). */
  async flush(): Promise<void> {
    for (const s of this.subscriptions) this.send(s);
    while (this.queues.size) await Promise.all([...this.queues.values()]);
  }

  /** Delivers what is pending, once, without waiting out retry delays. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.sleeps]) wake();
    await this.flush();
  }
}
