/**
 * Drive push in the stack: off by default (no route, no function, no push address), and
 * when on, the notification route, its function's exact grants, and job state grants that
 * cannot reach the user records.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import type { GoogleOfflineAccessStack } from '../../infra/stack';
import { StubProject, buildStack, logicalIdOf, resourcesOfType, statementsOfRole, templateOf } from './support';

let project: StubProject;
beforeAll(() => (project = new StubProject()));
afterAll(() => project.remove());

const routeKeys = (template: Template) =>
  Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties?.RouteKey);

function roleStatements(
  stack: GoogleOfflineAccessStack,
  template: Template,
  name: 'refreshWorker' | 'disconnect' | 'risc' | 'driveNotifications',
) {
  const fn = stack.functions[name];
  if (!fn) throw new Error(`${name} was not created`);
  return statementsOfRole(template, logicalIdOf(stack, fn.role));
}

describe('Drive push (drivePush context flag)', () => {
  it('is off by default: no route, no function, no push address', () => {
    const { stack } = buildStack(project);
    const template = templateOf(stack);
    expect(stack.functions.driveNotifications).toBeUndefined();
    expect(routeKeys(template)).not.toContain('POST /drive/notifications');
    expect(JSON.stringify(template.toJSON())).not.toContain('DRIVE_PUSH_ADDRESS');
    // Without drive-changes the worker publishes no events.
    const actions = roleStatements(stack, template, 'refreshWorker').flatMap((s) => s.Action);
    expect(actions).not.toContain('events:PutEvents');
  });

  it('needs the drive-changes job', () => {
    expect(() => buildStack(project, { context: { drivePush: 'true' } })).toThrow(
      /drivePush: needs the drive-changes job in refreshJobs/,
    );
    expect(() => buildStack(project, { context: { drivePush: 'maybe' } })).toThrow(/drivePush: expected true or false/);
  });

  describe('when on', () => {
    let stack: GoogleOfflineAccessStack;
    let template: Template;
    beforeAll(() => {
      ({ stack } = buildStack(project, {
        context: { drivePush: true, refreshJobs: 'appdata-summary,drive-changes' },
      }));
      template = templateOf(stack);
    });

    it('routes POST /drive/notifications to its function and tells the worker the public address', () => {
      expect(routeKeys(template)).toContain('POST /drive/notifications');
      const worker = template.toJSON().Resources[logicalIdOf(stack, stack.functions.refreshWorker.function)];
      expect(JSON.stringify(worker.Properties.Environment.Variables.DRIVE_PUSH_ADDRESS)).toMatch(
        /drive\/notifications/,
      );
    });

    it('lets the notification function touch job state items only, and send to the refresh queue', () => {
      const statements = roleStatements(stack, template, 'driveNotifications').filter(
        (s) => !String(s.Action).startsWith('logs:'),
      );
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: expect.anything(),
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOBSTATE#*'] } },
        },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: expect.anything() },
      ]);
    });

    it('scopes the worker, disconnect and risc job state deletes to job state items', () => {
      for (const name of ['refreshWorker', 'disconnect', 'risc'] as const) {
        const jobState = roleStatements(stack, template, name).filter((s) =>
          JSON.stringify(s.Condition ?? {}).includes('JOBSTATE#'),
        );
        expect(jobState).toEqual([
          expect.objectContaining({
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOBSTATE#*'] } },
          }),
        ]);
        expect([jobState[0]!.Action].flat()).toContain('dynamodb:DeleteItem');
      }
    });

    it('lets the worker put events on the default bus only', () => {
      const puts = roleStatements(stack, template, 'refreshWorker').filter((s) => s.Action === 'events:PutEvents');
      expect(puts).toHaveLength(1);
      expect(JSON.stringify(puts[0]!.Resource)).toMatch(/:event-bus\/default"/);
    });
  });
});
