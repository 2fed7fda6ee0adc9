/** Every offline job the product knows, by name; `REFRESH_JOBS` picks which ones run. */
import { ConfigError } from '../errors';
import { appDataSummaryJob } from './appdata-summary';
import { JOB_NAMES, type JobName } from './names';
import type { OfflineJob } from './types';

/** One job per name in `names.ts` (what `cdk synth` accepts in `refreshJobs`): tsc fails when they differ. */
const JOBS_BY_NAME: { readonly [N in JobName]: OfflineJob } = {
  'appdata-summary': appDataSummaryJob,
};
const KNOWN_JOBS: readonly OfflineJob[] = JOB_NAMES.map((name) => JOBS_BY_NAME[name]);

/**
 * The jobs named in `REFRESH_JOBS`, in that order.
 * @throws ConfigError naming REFRESH_JOBS for an unknown or repeated name.
 */
export function selectJobs(names: readonly string[], known: readonly OfflineJob[] = KNOWN_JOBS): OfflineJob[] {
  const selected = names.map((name) => {
    const job = known.find((candidate) => candidate.name === name);
    if (!job)
      throw new ConfigError(
        `REFRESH_JOBS names an unknown job "${name}"; known jobs: ${known.map((j) => j.name).join(', ')}`,
      );
    return job;
  });
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw new ConfigError(`REFRESH_JOBS names the job "${repeated}" twice`);
  return selected;
}
