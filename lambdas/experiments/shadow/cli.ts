import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { cliAction } from '../../platform/cli-action';
import { createMlflowClient } from '../../tracking/client/mlflow-client';
import { renderShadowHtml } from './html';
import type { ShadowReportAnswer } from './service';

interface ReportOpts {
  since?: string;
  version?: string;
  html?: string;
  format: string;
  apiUrl?: string;
}

/** The report as text: the figures and the verdict, one per line. */
export function shadowReportText(r: ShadowReportAnswer): string {
  const f = (v: number | null, digits = 4) => (v === null ? '-' : v.toFixed(digits));
  return [
    `shadow report: ${r.model}, shadow version ${r.shadow_version} against live ${r.live_versions.join(', ') || '-'}${r.since ? ` since ${r.since}` : ''}`,
    `rows ${r.rows}, scored ${r.scored}, shadow failures ${r.shadow_errors}`,
    `agreement (${r.agreement_rule}): ${f(r.agreement_rate)}`,
    `mean |diff| ${f(r.mean_abs_diff, 6)}, max |diff| ${f(r.max_abs_diff, 6)}`,
    `${r.divergence.divergent ? 'DIVERGENT' : 'ok'}: ${r.divergence.reason}`,
  ].join('\n');
}

/**
 * Adds `mlops shadow report <model> [--since yyyy-mm-dd] [--version v] [--html out.html]`,
 * which reads `GET /v1/models/{name}/shadow/report`.
 *
 * @example
 * registerShadowCommands(new Command('mlops'));
 */
export function registerShadowCommands(program: Command): void {
  const shadow = program
    .command('shadow')
    .description('shadow mode: a version scoring a copy of live requests');
  shadow
    .command('report <model>')
    .description('agreement, differences and prediction distributions of the shadow against live')
    .option('--since <day>', 'first UTC day included, yyyy-mm-dd')
    .option('--version <v>', 'shadow version to report on (default: the configured shadow)')
    .option('--html <file>', 'also write an HTML report with the distributions plotted')
    .option('--format <format>', 'text or json', 'text')
    .option('--api-url <url>', 'the platform API (default: MLOPS_API_URL, else the local gateway)')
    .action(
      cliAction(async (model: string, o: ReportOpts) => {
        const { call } = createMlflowClient(o.apiUrl ? { apiUrl: o.apiUrl } : {});
        const report = (await call('GET', `/v1/models/${encodeURIComponent(model)}/shadow/report`, {
          ...(o.since ? { since: o.since } : {}),
          ...(o.version ? { version: o.version } : {}),
        })) as ShadowReportAnswer;
        if (o.html) await writeFile(o.html, renderShadowHtml(report));
        console.log(o.format === 'json' ? JSON.stringify(report, null, 2) : shadowReportText(report));
      }),
    );
}
