/** Every offline job the product knows, by name; `REFRESH_JOBS` picks which ones run. */
import { ConfigError } from '../errors';
import { appDataSummaryJob } from './appdata-summary';
import { driveChangesJob, type DriveChangesDependencies } from './drive-changes';
import { JOB_NAMES, type JobName } from './names';
import type { OfflineJob } from './types';

/** What jobs with dependencies are built from; resolved when such a job first runs. */
export interface JobWiring {
  driveChanges: () => DriveChangesDependencies;
}

const UNWIRED: JobWiring = {
  driveChanges: () => {
    throw new ConfigError('The drive-changes job was selected without its wiring (lib/runtime/refresh-worker.ts)');
  },
};

/** One job per name in `names.ts` (what `cdk synth` accepts in `refreshJobs`): tsc fails when they differ. */
export function knownJobs(wiring: JobWiring = UNWIRED): OfflineJob[] {
  const jobsByName: { readonly [N in JobName]: OfflineJob } = {
    'appdata-summary': appDataSummaryJob,
    'drive-changes': driveChangesJob(wiring.driveChanges),
  };
  return JOB_NAMES.map((name) => jobsByName[name]);
}

/**
 * The jobs named in `REFRESH_JOBS`, in that order.
 * @throws ConfigError naming REFRESH_JOBS for an unknown or repeated name.
 */
export function selectJobs(names: readonly string[], known: readonly OfflineJob[] = knownJobs()): OfflineJob[] {
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
