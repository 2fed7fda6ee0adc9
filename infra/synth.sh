#!/usr/bin/env bash
# Synthesizes the stack into cdk.out offline, with no AWS credentials, then lints the
# template with cfn-lint when it is installed. Extra arguments go to `cdk synth`
# (e.g. `npm run synth -- -c alarmEmail=ops@example.com`).
set -euo pipefail
cd "$(dirname "$0")/.."

# Stay offline: no instance-metadata probing, no telemetry, no notices.
export AWS_EC2_METADATA_DISABLED=true
export CDK_DISABLE_CLI_TELEMETRY=true
# The stack is environment-agnostic; a placeholder account and region keep the CLI from
# looking for credentials to discover them. `cdk deploy` uses the caller's real ones.
export CDK_DEFAULT_ACCOUNT="${CDK_DEFAULT_ACCOUNT:-000000000000}"
export CDK_DEFAULT_REGION="${CDK_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
export AWS_REGION="${AWS_REGION:-$CDK_DEFAULT_REGION}"

npx cdk synth --no-notices --quiet --output cdk.out "$@"

if command -v cfn-lint >/dev/null 2>&1; then
  # Errors fail the script; warnings are printed. W3005 (a DependsOn also implied by a
  # GetAtt) is how CDK orders every function after its role's policy: not ours to fix.
  cfn-lint --non-zero-exit-code error --ignore-checks W3005 -- cdk.out/*.template.json
  echo "cfn-lint: no errors in $(ls cdk.out/*.template.json | xargs -n1 basename | paste -sd' ')"
else
  echo "cfn-lint not found: template lint skipped (pip install cfn-lint)" >&2
fi
