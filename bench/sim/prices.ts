/**
 * Every price the simulation charges, in one table. Region us-east-1, on-demand, arm64
 * Lambda, as published by AWS late 2025 (the figures in /work/shared/FACTS.md, from the
 * services' pricing pages: aws.amazon.com/{dynamodb,lambda,sqs,kms,eventbridge,cloudwatch}/pricing).
 * Free tiers are ignored: the bill of a stack that is not alone in its account.
 */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2025-11',
  source: 'AWS pricing pages (aws.amazon.com/<service>/pricing), as recorded in FACTS.md',
  dynamoWriteRequestUnit: 0.625 / 1e6,
  dynamoReadRequestUnit: 0.125 / 1e6,
  lambdaGbSecondArm: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  sqsRequest: 0.4 / 1e6,
  kmsRequest: 0.03 / 1e4,
  kmsKeyMonth: 1,
  eventBridgeCustomEvent: 1 / 1e6,
  cloudWatchLogsIngestedGb: 0.5,
  cloudWatchCustomMetricMonth: 0.3,
} as const;

/** Days in a billing month, for turning per-cycle costs into monthly ones. */
export const DAYS_PER_MONTH = 30;
