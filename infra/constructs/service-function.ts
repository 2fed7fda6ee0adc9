import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_BUNDLING } from '../bundling';

export interface ServiceFunctionProps {
  /** Absolute path of the handler module (exports `handler`). */
  readonly entry: string;
  /** Folder esbuild runs from; holds `package-lock.json` and `tsconfig.json`. */
  readonly projectRoot: string;
  readonly description: string;
  /** @default Duration.seconds(15) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Executions reserved for (and the most allowed to) this function.
   * @default - none: it shares the account's unreserved pool
   */
  readonly reservedConcurrency?: number;
}

/**
 * One Lambda function with the project's defaults: Node.js 22 on ARM64, bundled by the
 * local esbuild (no Docker) as `infra/bundling.ts` says, its own log group with a finite
 * retention, and its own role that starts with nothing but writing to that log group —
 * every other permission is granted explicitly by the stack.
 */
export class ServiceFunction extends Construct {
  /** Node.js 22: the runtime the code is built and tested for; google-auth-library 11, gaxios 8 and @googleapis/drive 26 declare Node >= 22. */
  static readonly RUNTIME = lambda.Runtime.NODEJS_22_X;

  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // Retained by `cdk destroy`: the logs are the audit trail (sign-ins, disconnects, RISC
      // actions, revoke retries given up) and what explains a failure after a teardown; the
      // retention deletes them in due course.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Our own role instead of the default one, which carries the AWSLambdaBasicExecutionRole
    // managed policy (logs:* on every log group in the account).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${id}: ${props.description}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Resource', {
      entry: props.entry,
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}/package-lock.json`,
      description: props.description,
      runtime: ServiceFunction.RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(15),
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...props.environment },
      bundling: {
        format: OutputFormat.CJS,
        target: FUNCTION_BUNDLING.target,
        minify: FUNCTION_BUNDLING.minify,
        sourceMap: FUNCTION_BUNDLING.sourceMap,
        mainFields: [...FUNCTION_BUNDLING.mainFields],
        // Bundle the AWS SDK v3 too: the versions we tested are the versions we run,
        // independent of what the Lambda runtime happens to ship this month. Left out: only
        // what Lambda never runs (see infra/bundling.ts), for a faster cold start.
        externalModules: [...FUNCTION_BUNDLING.externalModules],
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the runtime the code is built and tested for; moving to a newer runtime is a tested change, not a drift.',
    });
  }
}
