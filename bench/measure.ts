/** Small measuring tools the benchmark sections share. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');

export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

/** User + system CPU of this process since `since` (a `process.cpuUsage()`), in ms. */
export function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/**
 * Runs one benchmark section (`bench/sections.ts <name>`) in a fresh Node process, as a fresh
 * execution environment would: module singletons (clients, data-key caches) start empty, and
 * its CPU time is its own. Answers what the section wrote to its result file.
 */
export async function runSection<T>(name: string, env: Record<string, string>, args: string[] = []): Promise<T> {
  const out = resolve(ROOT, 'bench', `.section-${name}-${process.pid}.json`);
  // BENCH_CPU_PROF=<dir>: each section writes a V8 CPU profile there (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_CPU_PROF)}`]
    : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', resolve(ROOT, 'bench/sections.ts'), name, out, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, NODE_OPTIONS: '' },
      // Logs and metrics lines of the code under test are not the benchmark's output.
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`bench section ${name} exited with ${code}`);
  const result = JSON.parse(readFileSync(out, 'utf8')) as T;
  const { rmSync } = await import('node:fs');
  rmSync(out, { force: true });
  return result;
}
