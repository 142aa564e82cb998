import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AwsLogsBatch,
  AwsLogsEventError,
  decodeAwsLogsEvent,
  encodeAwsLogsBatch,
} from '../../lambdas/platform/awslogs';
import { PlatformFunction } from '../../lib/private/platform-function';
import { matchesFilter, parseFilterPattern, readSubscriptions } from '../../local/log-subscriptions';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { type CfnTemplate, readTemplate } from '../../local/template';

const matches = (pattern: string, line: string) => matchesFilter(parseFilterPattern(pattern), line);

describe('filter patterns', () => {
  const line = JSON.stringify({
    mlops_prediction: 1,
    status: 200,
    latency_ms: 12.5,
    model: 'churn-v2',
    ok: true,
    gone: null,
    user: { id: 'u-17', tags: ['a', 'b'] },
    count: '7',
  });

  it.each([
    ['', true],
    ['{ $.mlops_prediction = 1 && $.status = 200 }', true],
    ['{ $.mlops_prediction = 1 && $.status = 500 }', false],
    ['{ $.status = 500 || $.model = "churn-v2" }', true],
    ['{ $.status != 200 }', false],
    ['{ $.status != 404 }', true],
    ['{ $.latency_ms > 12 }', true],
    ['{ $.latency_ms >= 12.5 }', true],
    ['{ $.latency_ms < 12.5 }', false],
    ['{ $.latency_ms <= 1.25e1 }', true],
    ['{ $.model = churn* }', true],
    ['{ $.model = "churn" }', false],
    ['{ $.model != "*v1" }', true],
    ['{ $.model = %^churn-v\\d$% }', true],
    ['{ $.user.id = "u-17" }', true],
    ['{ $.user.tags[1] = "b" }', true],
    ['{ $.user.tags[2] = "*" }', false],
    // `= "*"` is CDK's FilterPattern.exists: any value, objects included.
    ['{ $.user = "*" }', true],
    ['{ $.ok IS TRUE }', true],
    ['{ $.ok IS FALSE }', false],
    ['{ $.gone IS NULL }', true],
    ['{ $.user EXISTS }', true],
    ['{ $.missing EXISTS }', false],
    ['{ $.missing NOT EXISTS }', true],
    // A comparison on a missing field never matches, != included (as CloudWatch's).
    ['{ $.missing != 1 }', false],
    // A number compares with JSON numbers only: "7" is a string.
    ['{ $.count = 7 }', false],
    ['{ $.count = "7" }', true],
    ['{ ($.status = 500 || $.ok IS TRUE) && ($.user.id = "u-*") }', true],
    ['{ ($.status = 500 || $.ok IS FALSE) && $.user.id = "u-*" }', false],
  ])('%s → %s', (pattern, expected) => {
    expect(matches(pattern, line)).toBe(expected);
  });

  it('matches what CDK FilterPattern writes, as CDK means it', () => {
    const F = logs.FilterPattern;
    const pattern = F.all(
      F.stringValue('$.model', '=', 'churn-v2'),
      F.any(F.booleanValue('$.ok', true), F.numberValue('$.latency_ms', '>', 1000)),
      F.exists('$.user'),
      F.notExists('$.nope'),
    ).logPatternString;
    expect(matches(pattern, line)).toBe(true);
    expect(matches(F.exists('$.nope').logPatternString, line)).toBe(false);
    expect(matches(F.allEvents().logPatternString, 'plain text')).toBe(true);
  });

  it('lets no JSON pattern match a line that is not a JSON object', () => {
    expect(matches('{ $.a NOT EXISTS }', 'START RequestId: 1')).toBe(false);
    expect(matches('{ $.a NOT EXISTS }', '[1, 2]')).toBe(false);
  });

  it.each([
    ['ERROR', 'only JSON patterns'],
    ['[ip, user, status = 404]', 'only JSON patterns'],
    ['{ $.a < "x" }', 'compares numbers'],
    ['{ $.a = 1', "expected '}'"],
    ['{ a = 1 }', "starting with '$'"],
    ['{ $.a IS MAYBE }', 'TRUE, FALSE or NULL'],
  ])('refuses %s, naming the pattern and what runs locally', (pattern, what) => {
    expect(() => parseFilterPattern(pattern)).toThrow(what);
    expect(() => parseFilterPattern(pattern)).toThrow(JSON.stringify(pattern));
    expect(() => parseFilterPattern(pattern)).toThrow('supported locally');
  });
});

describe('the awslogs codec', () => {
  const batch: AwsLogsBatch = {
    messageType: 'DATA_MESSAGE',
    owner: '000000000000',
    logGroup: 'g',
    logStream: 's',
    subscriptionFilters: ['f'],
    logEvents: [{ id: '1', timestamp: 5, message: '{"a":1}' }],
  };

  it('decodes what it encodes: base64 of gzipped JSON under awslogs.data', () => {
    const event = encodeAwsLogsBatch(batch);
    expect(Buffer.from(event.awslogs.data, 'base64').subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(decodeAwsLogsEvent(event)).toEqual(batch);
  });

  it('gives a control message no events and refuses an event that is not a delivery', () => {
    const control = encodeAwsLogsBatch({
      ...batch,
      messageType: 'CONTROL_MESSAGE',
      logEvents: [{ id: '', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination' }],
    });
    expect(decodeAwsLogsEvent(control).logEvents).toEqual([]);
    expect(() => decodeAwsLogsEvent({})).toThrow(AwsLogsEventError);
    expect(() => decodeAwsLogsEvent({ awslogs: { data: 'bm90IGd6aXA=' } })).toThrow('gzipped JSON');
  });
});

/** A stack with a writer function, an unsubscribed twin sharing its module, and a sink. */
function fixtureTemplate(): CfnTemplate {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'LogSubscriptions');
  const defaults = {
    serviceName: 'writer',
    stage: 'test',
    logRetentionDays: logs.RetentionDays.ONE_DAY,
    entry: 'test/platform/fixtures/log-writer-handler.ts',
  };
  const writer = new PlatformFunction(stack, 'Writer', defaults);
  // Same module and environment as the writer: locally it would share its sandbox.
  new PlatformFunction(stack, 'Twin', defaults);
  const sink = new PlatformFunction(stack, 'Sink', {
    ...defaults,
    serviceName: 'sink',
    entry: 'test/platform/fixtures/log-sink-handler.ts',
  });
  const F = logs.FilterPattern;
  new logs.SubscriptionFilter(stack, 'Keep', {
    logGroup: writer.fn.logGroup,
    destination: new LambdaDestination(sink.fn),
    filterName: 'keep',
    filterPattern: F.all(F.stringValue('$.kind', '=', 'keep'), F.numberValue('$.n', '>=', 0)),
  });
  new logs.SubscriptionFilter(stack, 'Other', {
    logGroup: writer.fn.logGroup,
    destination: new LambdaDestination(sink.fn),
    filterName: 'other',
    filterPattern: F.stringValue('$.kind', '=', 'other'),
  });
  return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}

const idOf = (template: CfnTemplate, prefix: string) =>
  Object.keys(template.Resources).find(
    (id) => id.startsWith(prefix) && template.Resources[id]?.Type === 'AWS::Lambda::Function',
  ) as string;

describe('subscription filters of the template, run locally', () => {
  let template: CfnTemplate;
  let runtime: LocalRuntime;
  let dataDir: string;
  let writer: string;
  let twin: string;
  const received = (): AwsLogsBatch[] => {
    const file = join(dataDir, 'received.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  };
  const write = (functionId: string, lines: unknown[]) =>
    runtime.host.invoke(functionId, {
      lines: lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))),
    });

  beforeAll(async () => {
    template = fixtureTemplate();
    writer = idOf(template, 'Writer');
    twin = idOf(template, 'Twin');
    dataDir = mkdtempSync(join(tmpdir(), 'mlops-logsubs-'));
    runtime = await startLocalRuntime({ port: 0, dataDir, template, inMemory: true });
  });

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('resolves each filter to the function whose log group it names and to its destination', () => {
    const subs = readSubscriptions(readTemplate(template));
    const sink = idOf(template, 'Sink');
    expect(subs.map((s) => [s.filterName, s.sourceFunctionId, s.destinationFunctionId])).toEqual([
      ['keep', writer, sink],
      ['other', writer, sink],
    ]);
    const logGroup = template.Resources[writer]?.Properties?.LoggingConfig?.LogGroup?.Ref;
    expect(subs[0]?.logGroup).toBe(logGroup);
  });

  it('delivers the matching lines in order, batched, in the awslogs format, and only those', async () => {
    const lines = [
      { kind: 'keep', n: 1 },
      { kind: 'drop', n: 2 },
      'not json',
      { kind: 'other', n: 3 },
      { kind: 'keep', n: -1 },
      { kind: 'keep', n: 4 },
    ];
    await write(writer, lines);
    // The twin runs the same module but writes to its own log group, which no filter reads.
    await write(twin, [{ kind: 'keep', n: 99 }]);
    await runtime.logSubscriptions.flush();
    const batches = received();
    const byFilter = (name: string) =>
      batches
        .filter((b) => b.subscriptionFilters[0] === name)
        .flatMap((b) => b.logEvents.map((e) => JSON.parse(e.message).n));
    expect(byFilter('keep')).toEqual([1, 4]);
    expect(byFilter('other')).toEqual([3]);
    for (const b of batches) {
      expect(b).toMatchObject({ messageType: 'DATA_MESSAGE', owner: '000000000000' });
      expect(b.logGroup).toBe(template.Resources[writer]?.Properties?.LoggingConfig?.LogGroup?.Ref);
      expect(b.logStream).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
      for (const e of b.logEvents) {
        expect(e.id).toMatch(/^\d{56}$/);
        expect(e.timestamp).toBeGreaterThan(0);
      }
    }
    const ids = batches.flatMap((b) => b.logEvents.map((e) => e.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('cuts a batch at 1,000 events and delivers every line once, in order', async () => {
    const before = received().length;
    await write(
      writer,
      Array.from({ length: 2500 }, (_, n) => ({ kind: 'keep', n, pad: 'x'.repeat(20) })),
    );
    await runtime.logSubscriptions.flush();
    const fresh = received().slice(before);
    expect(fresh.map((b) => b.logEvents.length)).toEqual([1000, 1000, 500]);
    expect(fresh.flatMap((b) => b.logEvents.map((e) => JSON.parse(e.message).n))).toEqual(
      Array.from({ length: 2500 }, (_, n) => n),
    );
  });

  it('delivers a batch on its own after the flush interval, without being asked', async () => {
    const before = received().length;
    await write(writer, [{ kind: 'other', n: 'timer' }]);
    for (let i = 0; i < 200 && received().length === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(
      received()
        .slice(before)
        .flatMap((b) => b.logEvents.map((e) => JSON.parse(e.message).n)),
    ).toEqual(['timer']);
  });

  it('retries a delivery the destination failed, so the batch arrives (at least once)', async () => {
    const before = received().length;
    await write(writer, [{ kind: 'keep', n: 7, note: 'fail-once' }]);
    await runtime.logSubscriptions.flush();
    expect(existsSync(join(dataDir, 'failed-once'))).toBe(true);
    expect(
      received()
        .slice(before)
        .flatMap((b) => b.logEvents.map((e) => JSON.parse(e.message).n)),
    ).toEqual([7]);
  });

  it('refuses at startup a filter it cannot honour, naming it', () => {
    const broken = structuredClone(template);
    const keep = Object.keys(broken.Resources).find(
      (id) => broken.Resources[id]?.Type === 'AWS::Logs::SubscriptionFilter',
    ) as string;
    (broken.Resources[keep]?.Properties as Record<string, unknown>).FilterPattern = 'ERROR';
    expect(() => readSubscriptions(readTemplate(broken))).toThrow(`subscription filter ${keep}`);
    const kinesis = structuredClone(template);
    (kinesis.Resources[keep]?.Properties as Record<string, unknown>).DestinationArn =
      'arn:aws:kinesis:us-east-1:000000000000:stream/s';
    expect(() => readSubscriptions(readTemplate(kinesis))).toThrow('only Lambda functions');
  });
});
