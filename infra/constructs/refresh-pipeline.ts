import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface RefreshPipelineProps {
  /** When the refresh cycle starts. */
  readonly schedule: events.Schedule;
  /** Upper bound of concurrent worker invocations (2–1000). */
  readonly workerMaxConcurrency: number;
  /** Enumerates active users into the queue on each tick. @default - no dispatcher wired yet */
  readonly dispatcher?: lambda.IFunction;
  /** Consumes the queue. @default - no worker wired yet */
  readonly worker?: lambda.Function;
  /**
   * The worker's timeout, when no worker is given, so the queue is shaped the same.
   * @default Duration.minutes(3)
   */
  readonly workerTimeout?: Duration;
  /** Messages per worker invocation. @default 5 */
  readonly batchSize?: number;
  /** Deliveries before a message moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

/**
 * The offline refresh engine: an EventBridge schedule triggers the dispatcher, which fills an
 * SQS queue (users in batches; also revoke retries from disconnect); the worker drains it
 * with partial batch failures, bounded concurrency and a dead-letter queue for poison messages.
 */
export class RefreshPipeline extends Construct {
  /** AWS's guidance for SQS event sources: visibility at least six times the function timeout. */
  static readonly VISIBILITY_TIMEOUT_FACTOR = 6;
  /** Deliveries before a message moves to the dead-letter queue (the worker is told, see REFRESH_MAX_RECEIVES). */
  static readonly MAX_RECEIVE_COUNT = 5;

  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RefreshPipelineProps) {
    super(scope, id);
    const workerTimeout = props.worker?.timeout ?? props.workerTimeout ?? Duration.minutes(3);

    // SQS-managed encryption: a CMK here would force KMS permissions onto every producer and
    // consumer, and the messages carry user IDs only, never tokens.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * RefreshPipeline.VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: props.maxReceiveCount ?? RefreshPipeline.MAX_RECEIVE_COUNT,
      },
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Starts one refresh cycle over every active user',
      schedule: props.schedule,
    });
    if (props.dispatcher) {
      this.rule.addTarget(
        new targets.LambdaFunction(props.dispatcher, { retryAttempts: 2, maxEventAge: Duration.hours(1) }),
      );
    }

    if (props.worker) {
      props.worker.addEventSource(
        new SqsEventSource(this.queue, {
          batchSize: props.batchSize ?? 5,
          // Only the failed users' messages come back; the rest of the batch is deleted.
          reportBatchItemFailures: true,
          maxConcurrency: props.workerMaxConcurrency,
        }),
      );
    }
  }

  /** Lets a function send to the refresh queue (`sqs:SendMessage` only) and tells it the URL. */
  addProducer(producer: lambda.Function): void {
    producer.addEnvironment('REFRESH_QUEUE_URL', this.queue.queueUrl);
    producer.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
  }
}
