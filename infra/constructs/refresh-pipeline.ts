import { Duration, RemovalPolicy } from 'aws-cdk-lib';
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
  /** Enumerates active users into the queue on each tick. */
  readonly dispatcher: lambda.IFunction;
  /** Consumes the queue. */
  readonly worker: lambda.Function;
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
  readonly maxReceiveCount: number;
  private readonly visibilityTimeoutSeconds: number;

  constructor(scope: Construct, id: string, props: RefreshPipelineProps) {
    super(scope, id);
    const workerTimeout = props.worker.timeout ?? Duration.seconds(3); // Lambda's own default
    this.maxReceiveCount = props.maxReceiveCount ?? RefreshPipeline.MAX_RECEIVE_COUNT;
    this.visibilityTimeoutSeconds = workerTimeout.toSeconds() * RefreshPipeline.VISIBILITY_TIMEOUT_FACTOR;

    // SQS-managed encryption: a CMK here would force KMS permissions onto every producer and
    // consumer. Messages carry user IDs, and revoke retries from disconnect also carry the
    // refresh token's envelope ciphertext (useless without the retained KMS key).
    //
    // Both queues are retained by `cdk destroy` and keep messages 14 days: revoke retries are
    // obligations (a grant the user asked us to end), and the dead-letter queue holds what
    // still needs a person. Refresh messages left behind are harmless.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(this.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Starts one refresh cycle over every active user',
      schedule: props.schedule,
    });
    this.rule.addTarget(
      new targets.LambdaFunction(props.dispatcher, { retryAttempts: 2, maxEventAge: Duration.hours(1) }),
    );

    props.worker.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 5,
        // Only the failed users' messages come back; the rest of the batch is deleted.
        reportBatchItemFailures: true,
        maxConcurrency: props.workerMaxConcurrency,
      }),
    );
  }

  /**
   * How long a message can legitimately stay on the queue: every delivery until the
   * dead-letter queue takes it. Older than that, nothing is consuming the queue.
   */
  get redeliveryWindow(): Duration {
    return Duration.seconds(this.maxReceiveCount * this.visibilityTimeoutSeconds);
  }

  /** Lets a function send to the refresh queue (`sqs:SendMessage` only) and tells it the URL. */
  addProducer(producer: lambda.Function): void {
    producer.addEnvironment('REFRESH_QUEUE_URL', this.queue.queueUrl);
    producer.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
  }
}
