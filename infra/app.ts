/**
 * The CDK app (`cdk.json` runs it with tsx). Parameters come from context: see
 * `infra/config.ts` for every key, its default and its validation.
 *
 * The stack is environment-agnostic: `cdk deploy` targets the account and region of the
 * caller's credentials, and `npm run synth` needs none.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InfraConfigError, readInfraConfig, type InfraConfig } from './config';
import { GoogleOfflineAccessStack } from './stack';

/** The validated parameters, or a list of what is wrong (without a stack trace) and exit 1. */
function loadConfig(app: App): InfraConfig {
  try {
    return readInfraConfig(
      (key) => app.node.tryGetContext(key),
      // Every key given, so that a typo (`alarmEmial`) fails here instead of being ignored.
      Object.keys(app.node.getAllContext() as Record<string, unknown>),
    );
  } catch (error) {
    if (!(error instanceof InfraConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

const app = new App();
const config = loadConfig(app);

new GoogleOfflineAccessStack(app, config.stackName, {
  config,
  description: 'Google offline access: auth-code exchange, KMS-encrypted refresh tokens, scheduled refresh, RISC',
});

// cdk-nag AwsSolutions: an unacknowledged finding fails synth and deploy, not just the tests.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

app.synth();
