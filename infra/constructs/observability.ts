import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { PublicApi } from './public-api';
import type { RefreshPipeline } from './refresh-pipeline';

/**
 * When each alarm fires. Nothing pages on a single error: a failure must repeat (or reach
 * a rate) over ten minutes or more. The README's "Alarms" runbook explains each one.
 */
export const ALARM_THRESHOLDS = {
  /** Failed invocations (unhandled errors, timeouts) per 5 minutes... */
  functionErrorsPer5Min: 3,
  /** ...in this many of the last three 5-minute periods. */
  functionErrorsDatapoints: 2,
  /** Throttled invocations per 5 minutes, in 2 of 3 periods. */
  functionThrottlesPer5Min: 5,
  /** 5xx share of a route, in percent, over 5 minutes with at least `routeMinRequests` requests, twice in a row. */
  routeServerErrorPercent: 5,
  routeMinRequests: 5,
  /** Dead-letter queue: any message is worth a look (it already failed every delivery). */
  deadLetterMessages: 1,
  /** Oldest refresh-queue message, 3 periods of 5 minutes in a row: see `queueAgeThreshold`. */
  queueAgeDatapoints: 3,
} as const;

export interface ObservabilityProps {
  /** Functions to alarm on (errors, throttles) and chart, by display name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly api: PublicApi;
  readonly pipeline: RefreshPipeline;
  /** Must run on every tick of `refreshSchedule`. */
  readonly dispatcher: lambda.IFunction;
  /** Where the risc function logs the revocations it performs (counted by a metric filter). */
  readonly riscLogGroup: logs.ILogGroup;
  /** The refresh schedule expression (`rate(...)` or `cron(...)`). */
  readonly refreshSchedule: string;
  /** Namespace the functions' Powertools metrics are published in (one per stack). */
  readonly metricsNamespace: string;
  /** `POWERTOOLS_SERVICE_NAME` of the functions: Powertools' default `service` dimension. */
  readonly serviceName: string;
  /** Users losing their grant in one hour (refresh `invalid_grant` + RISC) above which the surge alarm fires. */
  readonly revokedUsersPerHour: number;
  /** Subscribed to the alarm topic. @default - no subscription (synth warns) */
  readonly alarmEmail?: string;
}

/**
 * What the risc receiver logs (`lib/risc/receiver.ts`) when an event took a stored grant
 * away: `token-revoked` with the users it revoked, `tokens-revoked` and `account-disabled`
 * with `tokenDestroyed: true`. Events that found nothing stored are not counted.
 */
export const RISC_REVOCATIONS = logs.FilterPattern.any(
  logs.FilterPattern.all(
    logs.FilterPattern.stringValue('$.message', '=', 'risc: token-revoked processed'),
    logs.FilterPattern.exists('$.revokedUsers[0]'),
  ),
  ...['risc: tokens-revoked processed', 'risc: account-disabled processed'].map((message) =>
    logs.FilterPattern.all(
      logs.FilterPattern.stringValue('$.message', '=', message),
      logs.FilterPattern.booleanValue('$.tokenDestroyed', true),
    ),
  ),
);

/**
 * Alarms (each saying what is wrong and what to do), the SNS topic they notify, and one
 * dashboard with the same signals.
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { api, pipeline } = props;

    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Google offline access alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and metric values only. CloudWatch cannot publish to a topic under the AWS-managed SNS key, and a customer-managed key just for alarms is not worth its cost.',
    });
    if (props.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    } else {
      Annotations.of(this).addWarningV2(
        'google-offline-access:no-alarm-subscriber',
        'NOBODY WILL RECEIVE ALARMS: alarmEmail is not set, so the alarm topic has no subscriber. ' +
          'Deploy with -c alarmEmail=oncall@example.com, or subscribe your pager to the AlarmTopicArn output.',
      );
    }
    const notify = new actions.SnsAction(this.topic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      created.addAlarmAction(notify);
      created.addOkAction(notify);
      this.alarms.push(created);
      return created;
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;

    alarm('DeadLetterQueueDepth', {
      alarmDescription:
        'Refresh or revoke-retry messages failed every delivery and sit in the dead-letter queue. ' +
        'Do: read one (aws sqs receive-message --queue-url <DeadLetterQueueUrl>), find the cause in the RefreshWorker logs, fix it, ' +
        'then redrive (aws sqs start-message-move-task --source-arn <DLQ ARN>). A revoke message there means a grant the user ended is still live at Google.',
      metric: pipeline.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: ALARM_THRESHOLDS.deadLetterMessages,
      comparisonOperator: atLeast,
      evaluationPeriods: 1,
    });

    const maxAge = queueAgeThreshold(props.refreshSchedule, pipeline.redeliveryWindow);
    alarm('RefreshQueueStuck', {
      alarmDescription:
        `The oldest refresh-queue message is older than ${maxAge.toMinutes()} minutes (the refresh cycle, or every redelivery before the dead-letter queue): the worker is not keeping up or not consuming. ` +
        'Do: check RefreshWorker errors and throttles, its event source mapping (enabled?), and whether workerMaxConcurrency × googleQps fits the user count.',
      metric: pipeline.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: maxAge.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: ALARM_THRESHOLDS.queueAgeDatapoints,
    });

    const dispatchWindow = dispatchWatchWindow(props.refreshSchedule);
    alarm('RefreshNotDispatched', {
      alarmDescription:
        `refresh-dispatch did not run in the last ${dispatchWindow.toHours({ integral: false })} hours although the schedule (${props.refreshSchedule}) should have started it: no user is being refreshed. ` +
        'Do: check the EventBridge rule is enabled and its FailedInvocations metric, then start a cycle by hand (aws lambda invoke --function-name <RefreshDispatchFunctionName> /dev/stdout).',
      metric: props.dispatcher.metricInvocations({ period: dispatchWindow, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No invocation means no datapoint at all: that is exactly the failure.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, {
        alarmDescription:
          `${name} keeps failing invocations (unhandled errors or timeouts: at least ${ALARM_THRESHOLDS.functionErrorsPer5Min} in ${ALARM_THRESHOLDS.functionErrorsDatapoints} of the last three 5-minute periods). ` +
          `Do: open the ${name} log group, filter on "level":"ERROR"; a ConfigError names the variable or the client secret to fix; a timeout means Google or AWS is slow.`,
        metric: fn.metricErrors(fiveMinutes),
        threshold: ALARM_THRESHOLDS.functionErrorsPer5Min,
        comparisonOperator: atLeast,
        evaluationPeriods: 3,
        datapointsToAlarm: ALARM_THRESHOLDS.functionErrorsDatapoints,
      });
      alarm(`${name}Throttles`, {
        alarmDescription:
          `${name} invocations are being throttled (at least ${ALARM_THRESHOLDS.functionThrottlesPer5Min} per 5 minutes, twice in 15 minutes): its reserved concurrency or the account's limit is used up. ` +
          "Do: compare with the API requests on the dashboard; if the traffic is real, raise the function's <name>Concurrency context key (or the account limit) and redeploy; if not, lower the route's <name>RateLimit.",
        metric: fn.metricThrottles(fiveMinutes),
        threshold: ALARM_THRESHOLDS.functionThrottlesPer5Min,
        comparisonOperator: atLeast,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      });
    }

    // Every route, also the handled 5xx (503 upstream_unavailable, 500 internal_error) that
    // never count as Lambda errors.
    for (const routeKey of api.routeKeys) {
      const percent = ALARM_THRESHOLDS.routeServerErrorPercent;
      alarm(`ServerErrorRate${routeKey.replace(/[^A-Za-z0-9]/g, '')}`, {
        alarmDescription:
          `More than ${percent}% of ${routeKey} answered 5xx for 10 minutes (with at least ${ALARM_THRESHOLDS.routeMinRequests} requests per 5 minutes). ` +
          'Do: in the function logs, "request failed" lines give the error; upstream_unavailable (503) is Google or AWS down or throttling (see their status pages), ' +
          'internal_error (500) a configuration problem such as an empty or unreadable client secret (README, "Put the client secret in").',
        // Below the minimum a single failure would read as 20-100%: too noisy to page on.
        metric: new cloudwatch.MathExpression({
          label: `${routeKey} 5xx %`,
          expression: `IF(requests >= ${ALARM_THRESHOLDS.routeMinRequests}, 100 * FILL(errors, 0) / requests, 0)`,
          usingMetrics: {
            requests: api.metricRouteRequests(routeKey),
            errors: api.metricRouteServerErrors(routeKey),
          },
          period: Duration.minutes(5),
        }),
        threshold: percent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
      });
    }

    // Users losing their grant: the worker's `invalid_grant` (a Powertools metric) plus the
    // RISC revocations the risc function logs (a metric filter: it publishes no metric).
    new logs.MetricFilter(this, 'RiscRevocations', {
      logGroup: props.riscLogGroup,
      filterPattern: RISC_REVOCATIONS,
      metricNamespace: props.metricsNamespace,
      metricName: 'RiscRevocations',
      metricValue: '1',
    });
    const hourly = { statistic: cloudwatch.Stats.SUM, period: Duration.hours(1) };
    const revokedUsers = new cloudwatch.MathExpression({
      label: 'Users revoked (refresh invalid_grant + RISC)',
      expression: 'FILL(refresh, 0) + FILL(risc, 0)',
      usingMetrics: {
        refresh: new cloudwatch.Metric({
          namespace: props.metricsNamespace,
          metricName: 'RevokedUsers',
          dimensionsMap: { service: props.serviceName },
          ...hourly,
        }),
        risc: new cloudwatch.Metric({ namespace: props.metricsNamespace, metricName: 'RiscRevocations', ...hourly }),
      },
      period: Duration.hours(1),
    });
    alarm('RevokedUsersSurge', {
      alarmDescription:
        `More than ${props.revokedUsersPerHour} users lost their Google grant within an hour (refresh invalid_grant or RISC revocations). ` +
        "Do: check the OAuth client's status in the Google Auth Platform (Audience: publishing status 'In production'? a policy or quota notice?), " +
        'the reasons on the records (npm run ops -- users list --status needs_reconnect), and Google Workspace admin policies.',
      metric: revokedUsers,
      threshold: props.revokedUsersPerHour,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    // The dispatcher found the previous cycle still running and enqueued nobody (lib/refresh/dispatch.ts).
    const cycleOverlaps = new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName: 'RefreshCycleOverlaps',
      dimensionsMap: { service: props.serviceName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.hours(1),
    });
    alarm('RefreshCycleOverlap', {
      alarmDescription:
        'A refresh cycle was still running when the next one was due, so that tick enqueued nobody (no user is ever queued twice). ' +
        'Do: if it happens every tick, a cycle takes longer than the schedule at the Google allowance: raise googleRequestsPerSecond (if Google allows) or lengthen refreshSchedule (README, "Scale and cost"); if once, look for messages retried or in the dead-letter queue.',
      metric: cycleOverlaps,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(24) });
    const functions = Object.entries(props.functions);
    const perFunction = (
      title: string,
      metricOf: (fn: lambda.IFunction) => cloudwatch.Metric,
    ): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({
        title,
        width: 6,
        left: functions.map(([name, fn]) => metricOf(fn).with({ label: name })),
      });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests by route',
        width: 8,
        left: api.routeKeys.map((key) => api.metricRouteRequests(key, { label: key })),
      }),
      new cloudwatch.GraphWidget({
        title: 'API 5xx by route',
        width: 8,
        left: api.routeKeys.map((key) => api.metricRouteServerErrors(key, { label: key })),
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency',
        width: 8,
        left: [api.stage.metricLatency({ statistic: 'p50' }), api.stage.metricLatency({ statistic: 'p99' })],
      }),
    );
    this.dashboard.addWidgets(
      perFunction('Invocations', (fn) => fn.metricInvocations(fiveMinutes)),
      perFunction('Errors', (fn) => fn.metricErrors(fiveMinutes)),
      perFunction('Throttles', (fn) => fn.metricThrottles(fiveMinutes)),
      perFunction('Duration p99', (fn) => fn.metricDuration({ statistic: 'p99' })),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Refresh queue',
        width: 8,
        left: [pipeline.queue.metricApproximateNumberOfMessagesVisible({ label: 'waiting' })],
        right: [pipeline.queue.metricApproximateAgeOfOldestMessage({ label: 'oldest (s)' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue',
        width: 8,
        left: [pipeline.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'messages' })],
      }),
      new cloudwatch.GraphWidget({ title: 'Revoked users per hour', width: 8, left: [revokedUsers] }),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }));
  }
}

/** Seconds between two runs of a `rate(...)` schedule; `undefined` for `cron(...)`. */
export function schedulePeriod(expression: string): Duration | undefined {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (!rate) return undefined;
  const amount = Number(rate[1]);
  return rate[2] === 'minute'
    ? Duration.minutes(amount)
    : rate[2] === 'hour'
      ? Duration.hours(amount)
      : Duration.days(amount);
}

/**
 * The window in which the dispatcher must have run at least once: two schedule periods
 * (one late tick is not an outage), at least 10 minutes, at most a day (CloudWatch's
 * longest alarm period). A cron schedule is assumed to run at least daily.
 */
export function dispatchWatchWindow(schedule: string): Duration {
  const period = schedulePeriod(schedule);
  const seconds = period ? Math.min(Math.max(2 * period.toSeconds(), 600), 86_400) : 86_400;
  return Duration.seconds(Math.ceil(seconds / 60) * 60);
}

/**
 * The oldest refresh-queue message may be as old as one schedule period (a cycle still
 * being worked through) or every delivery before the dead-letter queue (a failing message
 * on its way there), whichever is longer; older, nothing is draining the queue.
 */
export function queueAgeThreshold(schedule: string, redeliveryWindow: Duration): Duration {
  const period = schedulePeriod(schedule) ?? Duration.hours(1);
  return Duration.seconds(Math.max(period.toSeconds(), redeliveryWindow.toSeconds()));
}
