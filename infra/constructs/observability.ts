import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { PublicApi } from './public-api';

export interface ObservabilityProps {
  /** Functions to alarm on (errors, throttles) and chart, by display name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly api: PublicApi;
  readonly refreshQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Namespace the functions' Powertools metrics are published in. */
  readonly metricsNamespace: string;
  /** `POWERTOOLS_SERVICE_NAME` of the functions: Powertools' default `service` dimension. */
  readonly serviceName: string;
  /** `RevokedUsers` in one hour above which the surge alarm fires. */
  readonly revokedUsersPerHour: number;
  /** Route whose 5xx rate is alarmed. @default - no 5xx-rate alarm */
  readonly exchangeRouteKey?: string;
  /** 5xx percentage of the exchange route that raises the alarm. @default 5 */
  readonly exchangeErrorRatePercent?: number;
  /** Subscribed to the alarm topic. @default - no subscription; subscribe later */
  readonly alarmEmail?: string;
}

/**
 * Alarms that page (DLQ depth, function errors and throttles, exchange 5xx rate, a surge of
 * revoked users), the SNS topic they notify, and one dashboard with the same signals.
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);

    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Google offline access alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and metric values only. CloudWatch cannot publish to a topic under the AWS-managed SNS key, and a customer-managed key just for alarms is not worth its cost.',
    });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
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

    alarm('DeadLetterQueueDepth', {
      alarmDescription:
        'Refresh messages failed every delivery and sit in the dead-letter queue: inspect, fix, redrive.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, {
        alarmDescription: `${name} failed invocations (unhandled errors or timeouts).`,
        metric: fn.metricErrors(fiveMinutes),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(`${name}Throttles`, {
        alarmDescription: `${name} invocations throttled by Lambda concurrency limits.`,
        metric: fn.metricThrottles(fiveMinutes),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    if (props.exchangeRouteKey) {
      const percent = props.exchangeErrorRatePercent ?? 5;
      alarm('ExchangeServerErrorRate', {
        alarmDescription: `More than ${percent}% of ${props.exchangeRouteKey} answered 5xx (at least 5 requests in 5 minutes): sign-ins are failing.`,
        // Below five requests a single failure would read as 20-100%: too noisy to page on.
        metric: new cloudwatch.MathExpression({
          label: `${props.exchangeRouteKey} 5xx %`,
          expression: 'IF(requests >= 5, 100 * FILL(errors, 0) / requests, 0)',
          usingMetrics: {
            requests: props.api.metricRouteRequests(props.exchangeRouteKey),
            errors: props.api.metricRouteServerErrors(props.exchangeRouteKey),
          },
          period: Duration.minutes(5),
        }),
        threshold: percent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
      });
    }

    const revokedUsers = new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName: 'RevokedUsers',
      dimensionsMap: { service: props.serviceName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.hours(1),
    });
    alarm('RevokedUsersSurge', {
      alarmDescription: `More than ${props.revokedUsersPerHour} users lost their Google grant within an hour (invalid_grant, RISC): check the OAuth client's status in the Google API Console.`,
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
        'A refresh cycle was still running when the next one was due, so that one was skipped: the schedule is shorter than a cycle at the Google allowance (see README, "Scale and cost"), or messages are stuck.',
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
        left: props.api.routeKeys.map((key) => props.api.metricRouteRequests(key, { label: key })),
      }),
      new cloudwatch.GraphWidget({
        title: 'API 5xx by route',
        width: 8,
        left: props.api.routeKeys.map((key) => props.api.metricRouteServerErrors(key, { label: key })),
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency',
        width: 8,
        left: [
          props.api.stage.metricLatency({ statistic: 'p50' }),
          props.api.stage.metricLatency({ statistic: 'p99' }),
        ],
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
        left: [props.refreshQueue.metricApproximateNumberOfMessagesVisible({ label: 'waiting' })],
        right: [props.refreshQueue.metricApproximateAgeOfOldestMessage({ label: 'oldest (s)' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue',
        width: 8,
        left: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'messages' })],
      }),
      new cloudwatch.GraphWidget({ title: 'Revoked users per hour', width: 8, left: [revokedUsers] }),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }));
  }
}
