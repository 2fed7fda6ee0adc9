/**
 * Builds the stack for assertions: against a stub `functions/` tree (the handlers' content
 * does not matter to the template, and stubs bundle in milliseconds), with esbuild skipped
 * unless a test asks for a real bundle.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readInfraConfig } from '../../infra/config';
import { FUNCTION_SPECS, REPO_ROOT, type FunctionName } from '../../infra/functions';
import { GoogleOfflineAccessStack } from '../../infra/stack';

export const ALL_FUNCTIONS = Object.keys(FUNCTION_SPECS) as FunctionName[];

/** A throwaway project root with `functions/<folder>/index.ts` for the given functions. */
export class StubProject {
  readonly root = mkdtempSync(path.join(tmpdir(), 'infra-stubs-'));
  readonly functionsDir = path.join(this.root, 'functions');

  constructor(handlerSource = 'export const handler = async () => ({});\n') {
    writeFileSync(path.join(this.root, 'package-lock.json'), '{"lockfileVersion": 3}\n');
    // Lets esbuild resolve the repo's packages from the stub handlers.
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(this.root, 'node_modules'), 'dir');
    for (const name of ALL_FUNCTIONS) {
      const folder = path.join(this.functionsDir, FUNCTION_SPECS[name].folder);
      mkdirSync(folder, { recursive: true });
      writeFileSync(path.join(folder, 'index.ts'), handlerSource);
    }
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface BuildOptions {
  /** CDK context (deployment parameters), as `-c` would give them. */
  readonly context?: Record<string, unknown>;
  /** Run esbuild for real. @default false */
  readonly bundle?: boolean;
  /** Where the app writes its cloud assembly. @default a CDK temp dir */
  readonly outdir?: string;
}

export interface Built {
  readonly app: App;
  readonly stack: GoogleOfflineAccessStack;
}

export function buildStack(project: StubProject, options: BuildOptions = {}): Built {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: {
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  const config = readInfraConfig(
    (key) => app.node.tryGetContext(key),
    Object.keys(app.node.getAllContext() as Record<string, unknown>),
  );
  const stack = new GoogleOfflineAccessStack(app, config.stackName, {
    config,
    functionsDir: project.functionsDir,
    projectRoot: project.root,
  });
  return { app, stack };
}

export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown }>;

/** The logical id of a construct's CloudFormation resource. */
export function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
}

/** Every IAM action the policies attached to this role allow, de-duplicated and sorted. */
export function actionsOfRole(template: Template, roleLogicalId: string): string[] {
  return [
    ...new Set(statementsOfRole(template, roleLogicalId).flatMap((statement) => toArray(statement.Action))),
  ].sort();
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
}

/** Statements of every inline or attached policy of the role. */
export function statementsOfRole(template: Template, roleLogicalId: string): Statement[] {
  const resources = template.toJSON().Resources as Resources;
  const role = resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  const statements: Statement[] = [];
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const roles = (resource.Properties?.Roles ?? []) as unknown[];
    if (!roles.some((ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleLogicalId }))) continue;
    statements.push(...(resource.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
  }
  const inline = (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  for (const policy of inline) statements.push(...policy.PolicyDocument.Statement);
  return statements;
}

export function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}
