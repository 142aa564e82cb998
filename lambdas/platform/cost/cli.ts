import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { cliAction } from '../cli-action';
import { InvalidParameterError } from '../errors';
import {
  type CostEstimate,
  type CostLine,
  estimateMonthlyCost,
  IDLE,
  type TemplateLike,
  type UsageProfile,
} from './estimate';

interface CostOptions {
  predictionsPerDay: string;
  consoleUsers: string;
  config?: string;
  format: string;
}

/** The configuration `cdk deploy` would use: `--config` JSON, else cdk.json's `context.mlops`. */
function deployConfig(config: string | undefined): unknown {
  if (config) {
    try {
      return JSON.parse(config);
    } catch {
      throw new InvalidParameterError(`--config must be a JSON object, got: ${config}`);
    }
  }
  const file = resolve('cdk.json');
  if (!existsSync(file)) return { stage: 'dev' };
  return JSON.parse(readFileSync(file, 'utf8')).context?.mlops ?? { stage: 'dev' };
}

const usd = (v: number) => `$${v < 10 ? v.toFixed(2) : v.toFixed(0)}`;

/** The estimate as a Markdown table, as docs/cost.md shows it. */
export function costMarkdown(
  idle: CostEstimate,
  low: CostEstimate,
  perDay: number,
  consoleUsers = 0,
): string {
  const rows = new Map<string, { service: string; item: string; idle?: string; low?: string }>();
  const key = (l: { service: string; item: string }) => `${l.service}|${l.item}`;
  const item = (l: CostLine) => (l.note ? `${l.item} (${l.note})` : l.item);
  for (const l of idle.lines)
    rows.set(key(l), {
      service: l.service,
      item: item(l),
      idle: `${usd(l.usd)} (${fmt(l.quantity)} ${l.unit})`,
    });
  for (const l of low.lines) {
    const r = rows.get(key(l)) ?? { service: l.service, item: item(l) };
    r.low = `${usd(l.usd)} (${fmt(l.quantity)} ${l.unit})`;
    rows.set(key(l), r);
  }
  const out = [
    `| Service | Item | Idle | ${perDay.toLocaleString('en-US')} predictions/day${consoleUsers ? `, ${consoleUsers.toLocaleString('en-US')} console users` : ''} |`,
    '|---|---|---|---|',
    ...[...rows.values()].map((r) => `| ${r.service} | ${r.item} | ${r.idle ?? '-'} | ${r.low ?? '-'} |`),
    `| **Total** | | **${usd(idle.totalUsd)}** | **${usd(low.totalUsd)}** |`,
  ];
  return `${out.join('\n')}\n`;
}

function fmt(q: number): string {
  if (q >= 1e6) return `${(q / 1e6).toFixed(1)}M`;
  if (q >= 1e3) return `${(q / 1e3).toFixed(1)}k`;
  return Number.isInteger(q) ? String(q) : q.toFixed(2);
}

/** `mlops cost`: the monthly cost of the platform the configuration deploys, idle and under traffic. */
export function registerCostCommands(program: Command): void {
  program
    .command('cost')
    .description('estimate the monthly AWS cost of the deployed platform, idle and at a stated traffic')
    .option('--predictions-per-day <n>', 'traffic for the second column', '10000')
    .option('--console-users <n>', "the web console's monthly active users, in the second column", '10')
    .option('--config <json>', "platform configuration (default: cdk.json's context.mlops)")
    .option('--format <format>', 'markdown or json', 'markdown')
    .action(
      cliAction(async (o: CostOptions) => {
        const perDay = Number(o.predictionsPerDay);
        if (!Number.isFinite(perDay) || perDay < 0) {
          throw new InvalidParameterError(
            `--predictions-per-day must be a number >= 0, got '${o.predictionsPerDay}'`,
          );
        }
        const consoleUsers = Number(o.consoleUsers);
        if (!Number.isInteger(consoleUsers) || consoleUsers < 0) {
          throw new InvalidParameterError(
            `--console-users must be a whole number >= 0, got '${o.consoleUsers}'`,
          );
        }
        if (o.format !== 'markdown' && o.format !== 'json') {
          throw new InvalidParameterError(`--format must be markdown or json, got '${o.format}'`);
        }
        // Loaded on use: synthesizing pulls in aws-cdk-lib, which other commands do not need.
        const { synthTemplate } = await import('../../../local/synth');
        const template = synthTemplate(deployConfig(o.config)) as unknown as TemplateLike;
        const low: UsageProfile = { ...IDLE, predictionsPerDay: perDay, consoleUsers };
        const idle = estimateMonthlyCost(template, IDLE);
        const traffic = estimateMonthlyCost(template, low);
        if (o.format === 'json') {
          process.stdout.write(`${JSON.stringify({ idle, traffic, profile: low }, null, 2)}\n`);
          return;
        }
        process.stdout.write(costMarkdown(idle, traffic, perDay, consoleUsers));
        process.stdout.write(
          `\nUS East prices, free tiers not subtracted (lambdas/platform/cost/prices.ts); template counted: ${JSON.stringify(idle.counted)}\n`,
        );
      }),
    );
}
