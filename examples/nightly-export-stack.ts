/**
 * Example: a job in another stack of the same CDK app (same account) that gets users' access
 * tokens. `grantTokenAccess` gives its role exactly `lambda:InvokeFunction` on the token
 * function, nothing else; the function's ARN travels as a cross-stack reference.
 */
import * as path from 'node:path';
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import type { GoogleOfflineAccessStack } from '../infra/stack';

export interface NightlyExportStackProps extends StackProps {
  readonly offlineAccess: GoogleOfflineAccessStack;
}

export class NightlyExportStack extends Stack {
  readonly job: NodejsFunction;

  constructor(scope: Construct, id: string, props: NightlyExportStackProps) {
    super(scope, id, props);
    const token = props.offlineAccess.functions.token;
    this.job = new NodejsFunction(this, 'ListAppData', {
      entry: path.join(__dirname, 'drive-appdata-job.ts'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(30),
      environment: { ACCESS_TOKEN_FUNCTION: token.function.functionArn },
    });
    props.offlineAccess.grantTokenAccess(this.job);
  }
}
