import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONNECTIONS_LOST_METRIC } from '../../lib/connection-events';
import { TOKEN_TABLE } from '../../lib/store/table-definition';

export interface ConnectionEventsProps {
  /** The token table, with its stream (`NEW_AND_OLD_IMAGES`). */
  readonly table: dynamodb.ITable;
  /** `functions/connection-events`. */
  readonly publisher: lambda.Function;
  /** Bus name; the events go there. @default - the account's default bus */
  readonly eventBusName?: string;
  /** Namespace of the Powertools metrics. */
  readonly metricsNamespace: string;
  /** `POWERTOOLS_SERVICE_NAME`: the metrics' `service` dimension. */
  readonly serviceName: string;
  /** Where the alarms notify. */
  readonly alarmTopic: sns.ITopic;
  /** Stream records per invocation. @default 100 */
  readonly batchSize?: number;
  /** Retries of a failing batch (halved each time it throws) before it goes to the on-failure queue. @default 10 */
  readonly retryAttempts?: number;
}

/**
 * Connection events: the token table's stream feeds the connection-events function, which
 * publishes one `Connection Status Changed` event per change of a user's status or reason to
 * EventBridge. Records the function cannot publish are retried from the first failure
 * (partial batch responses), a throwing batch is bisected, and what still fails after the
 * bounded retries lands in an encrypted on-failure queue (alarmed). Also the alarm that
 * turns a Testing-mode expiry — a deployment mistake, not a user's choice — into a page.
 */
export class ConnectionEvents extends Construct {
  readonly onFailureQueue: sqs.Queue;
  readonly busArn: string;
  readonly testingModeExpiryAlarm: cloudwatch.Alarm;
  readonly onFailureAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ConnectionEventsProps) {
    super(scope, id);
    const { publisher } = props;
    const stack = Stack.of(this);

    this.onFailureQueue = new sqs.Queue(this, 'OnFailureQueue', {
      // Holds stream-record metadata (shard, sequence numbers), never tokens: SQS-managed keys suffice.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.onFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the last stop itself: the on-failure destination of the stream event source mapping, which cdk-nag does not recognise as a dead-letter queue. It is alarmed; a queue behind it would add nothing.',
    });

    // The mapping by hand rather than DynamoEventSource: that one grants dynamodb:ListStreams
    // on "*"; here every stream action names the table's stream.
    props.table.grantStream(
      publisher,
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
    );
    publisher.addEventSourceMapping('TableStream', {
      eventSourceArn: props.table.tableStreamArn!,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      maxBatchingWindow: Duration.seconds(1),
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 10,
      // The stream keeps records 24 hours: past that they are gone anyway.
      maxRecordAge: Duration.hours(24),
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.onFailureQueue),
      // Only user records carry a connection status; the ledgers' writes never invoke the function.
      filters: [
        lambda.FilterCriteria.filter({
          dynamodb: { Keys: { [TOKEN_TABLE.partitionKey]: { S: lambda.FilterRule.beginsWith('USER#') } } },
        }),
      ],
    });

    this.busArn = stack.formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: props.eventBusName ?? 'default',
    });
    if (props.eventBusName) publisher.addEnvironment('EVENT_BUS_NAME', props.eventBusName);
    publisher.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.busArn] }));

    const notify = new actions.SnsAction(props.alarmTopic);
    this.testingModeExpiryAlarm = new cloudwatch.Alarm(this, 'TestingModeExpiry', {
      alarmDescription:
        'Google expired 7-day refresh tokens: the OAuth consent screen is still in "Testing". Do: publish the OAuth consent screen (Google Auth Platform > Audience > Publish app, status "In production"); affected users must sign in again.',
      metric: new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: CONNECTIONS_LOST_METRIC,
        dimensionsMap: { service: props.serviceName, reason: 'testing_mode_expiry' },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.hours(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.onFailureAlarm = new cloudwatch.Alarm(this, 'OnFailureQueueDepth', {
      alarmDescription:
        'Connection status changes could not be published to EventBridge after every retry: their stream records are in the on-failure queue. Do: read the connection-events log (WARN lines), check the bus exists (eventBusName) and EventBridge throttling.',
      metric: this.onFailureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.testingModeExpiryAlarm, this.onFailureAlarm]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
  }
}
