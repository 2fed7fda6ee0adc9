/**
 * The names of the offline jobs the worker knows. Its own module, free of Google code, so
 * that the CDK app can refuse an unknown `refreshJobs` name at `cdk synth` (the worker's
 * registry must hold exactly these: tsc checks it there).
 */
export const JOB_NAMES = ['appdata-summary', 'drive-changes'] as const;

export type JobName = (typeof JOB_NAMES)[number];
