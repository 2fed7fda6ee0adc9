/**
 * `npm run simulate -- --users N [--google-qps Q] [--schedule EXPR] [--chart FILE] [...]`:
 * one refresh cycle of N users through the real dispatcher and worker in virtual time (see
 * bench/sim/simulation.ts). Prints a summary and writes bench/simulation.json; with
 * `--chart`, the SVG chart too (the README's is docs/refresh-cycle.svg).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_GOOGLE_REQUESTS_PER_USER } from '../lib/refresh/sizing';
import { cycleChartSvg, formatDuration } from './sim/chart';
import { runSimulation, type SimulationOptions } from './sim/simulation';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The functions' own log level: what a deployed stack would ingest.
process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    'google-qps': { type: 'string', default: '100' },
    schedule: { type: 'string', default: 'rate(1 day)' },
    'users-per-message': { type: 'string' },
    'worker-memory': { type: 'string' },
    'change-rate': { type: 'string' },
    'users-per-data-key': { type: 'string' },
    'failure-rate': { type: 'string' },
    'crash-rate': { type: 'string' },
    'rotation-rate': { type: 'string' },
    'record-interval-hours': { type: 'string' },
    output: { type: 'string', default: 'bench/simulation.json' },
    chart: { type: 'string' },
  },
});

const number = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new Error(`--${name} must be a non-negative number, got "${value}"`);
  return parsed;
};

async function main(): Promise<void> {
  const options: SimulationOptions = {
    users: number('users', values.users)!,
    googleQps: number('google-qps', values['google-qps'])!,
    schedule: values.schedule,
    progress: process.stderr,
  };
  const optional: [keyof SimulationOptions, string, string | undefined][] = [
    ['usersPerMessage', 'users-per-message', values['users-per-message']],
    ['workerMemoryMb', 'worker-memory', values['worker-memory']],
    ['changeRate', 'change-rate', values['change-rate']],
    ['usersPerDataKey', 'users-per-data-key', values['users-per-data-key']],
    ['googleFailureRate', 'failure-rate', values['failure-rate']],
    ['crashRate', 'crash-rate', values['crash-rate']],
    ['rotationRate', 'rotation-rate', values['rotation-rate']],
    ['recordIntervalHours', 'record-interval-hours', values['record-interval-hours']],
  ];
  for (const [key, name, value] of optional) {
    const parsed = number(name, value);
    if (parsed !== undefined) (options as unknown as Record<string, number>)[key] = parsed;
  }
  process.stderr.write(
    `Simulating one refresh cycle: ${options.users.toLocaleString('en-US')} users, ${options.googleQps} Google requests/s, ${options.schedule}\n`,
  );
  const result = await runSimulation(options);
  const output = resolve(values.output);
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, `${JSON.stringify(result, null, 2)}\n`);
  if (values.chart) {
    const chart = resolve(values.chart);
    mkdirSync(dirname(chart), { recursive: true });
    writeFileSync(chart, cycleChartSvg(result, DEFAULT_GOOGLE_REQUESTS_PER_USER));
  }
  const usd = (v: number) => `$${v.toFixed(v < 1 ? 4 : 2)}`;
  const rows: [string, string][] = [
    ['users', result.users.toLocaleString('en-US')],
    [
      'Google allowance',
      `${result.googleQps} requests/s (${result.settings.workerMaxConcurrency as number} environments × ${(result.settings.perEnvironmentQps as number).toFixed(1)}/s)`,
    ],
    ['quota floor', formatDuration(result.floorSeconds)],
    [
      'cycle',
      `${formatDuration(result.cycleSeconds)} (${((result.cycleVsFloor - 1) * 100).toFixed(1)}% over the floor)`,
    ],
    [
      'refreshed / twice / lost',
      `${result.usersRefreshed.toLocaleString('en-US')} / ${result.usersRefreshedTwice} / ${result.usersLost}`,
    ],
    ['revoked (dead grants)', String(result.usersRevoked)],
    ['Google requests / 429s', `${result.googleRequests.toLocaleString('en-US')} / ${result.google429s}`],
    ['concurrency peak / mean', `${result.peakConcurrency} / ${result.meanConcurrency}`],
    [
      'DynamoDB WRU per user (user items)',
      `${result.dynamoWriteUnitsPerUser} (${result.dynamoUserItemWriteUnitsPerUser})`,
    ],
    ['DynamoDB RRU per user', String(result.dynamoReadUnitsPerUser)],
    ['cost per cycle', usd(result.costPerCycleUsd)],
    ...Object.entries(result.costBreakdownUsd).map(([service, cost]): [string, string] => [`  ${service}`, usd(cost)]),
    [`cost per month (${result.cyclesPerMonth} cycles + fixed)`, usd(result.costPerMonthUsd)],
    ...Object.entries(result.fixedMonthlyUsd).map(([item, cost]): [string, string] => [`  fixed: ${item}`, usd(cost)]),
    ['schedule overlaps skipped', String(result.cycleOverlaps)],
    ['simulated in', `${result.wallSeconds} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\nwrote ${output}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
