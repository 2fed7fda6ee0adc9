import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FUNCTION_SPECS } from '../../infra/functions';
import { StubProject, buildStack } from '../infra/support';

/**
 * The synthesized template, bundled for real (one esbuild run over stub handlers), linted
 * by cfn-lint the way CloudFormation would judge it. cfn-lint must be on PATH
 * (`pip install cfn-lint`); it is on this project's machines.
 */
let project: StubProject;
let outdir: string;
let templateFile: string;

beforeAll(() => {
  // The stub imports the SDK so that the bundle shows whether the SDK is bundled or external.
  project = new StubProject(
    "import { SQSClient } from '@aws-sdk/client-sqs';\nexport const handler = async () => String(new SQSClient({}).config.apiVersion);\n",
  );
  outdir = mkdtempSync(path.join(tmpdir(), 'infra-cdk-out-'));
  const { app, stack } = buildStack(project, {
    bundle: true,
    outdir,
    context: { alarmEmail: 'oncall@example.com', refreshJobs: 'appdata-summary,drive-changes', drivePush: 'true' },
  });
  app.synth();
  templateFile = path.join(outdir, stack.templateFile);
}, 60_000);
afterAll(() => {
  project.remove();
  rmSync(outdir, { recursive: true, force: true });
});

describe('the synthesized template', () => {
  it('passes cfn-lint without errors', () => {
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', '--', templateFile], { encoding: 'utf8' });
    if (lint.error)
      throw new Error(`cfn-lint could not run (${lint.error.message}); install it with: pip install cfn-lint`);
    const findings = lint.stdout.split('\n').filter(Boolean);
    // Parseable lines: file:line:col:endLine:endCol:RULE:message. Only E-rules are errors.
    // W3005 (a DependsOn also implied by GetAtt) is how CDK orders every function after its role policy.
    const errors = findings.filter((line) => /:E\d{4}:/.test(line));
    expect(errors).toEqual([]);
    expect(findings.filter((line) => /:W\d{4}:/.test(line) && !/:W3005:/.test(line))).toEqual([]);
  });

  it('ships each function as one minified bundle, without a source map, with the AWS SDK inside', () => {
    type Resource = { Type: string; Properties: { Code: { S3Key: string } } };
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, Resource> };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    // Every function the stack knows (drivePush is on here, so drive-notifications too).
    expect(functions).toHaveLength(Object.keys(FUNCTION_SPECS).length);
    for (const fn of functions) {
      // The staged asset folder is named after the hash that is also the S3 key.
      const asset = path.join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
      // No source map: Node would parse it at every cold start (infra/bundling.ts).
      expect(readdirSync(asset).sort()).toEqual(['index.js']);
      const code = readFileSync(path.join(asset, 'index.js'), 'utf8');
      expect(code).not.toContain('require("@aws-sdk/client-sqs")');
      expect(code).toContain('AmazonSQS'); // the SQS client itself, bundled
      // Minified: the code is a few very long lines (license comments trail it).
      expect(Math.max(...code.split('\n').map((line) => line.length))).toBeGreaterThan(10_000);
    }
  });
});
