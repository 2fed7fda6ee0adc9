/**
 * The local Lambda Invoke endpoint, driven by the real `@aws-sdk/client-lambda` over HTTP:
 * what the client sees must be what Lambda would answer.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { LocalService } from '../../local/aws/local-service';
import { functionNameOf, startLambdaInvoke } from '../../local/lambda-invoke';

let service: LocalService;
let lambda: LambdaClient;
const events: unknown[] = [];

beforeAll(async () => {
  service = await startLambdaInvoke({
    echo: (event, context) => Promise.resolve({ event, requestId: context.awsRequestId }),
    crash: () => Promise.reject(new TypeError('boom')),
    record: (event) => {
      events.push(event);
      return Promise.resolve(null);
    },
  });
  lambda = new LambdaClient({
    endpoint: service.url,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  lambda.destroy();
  await service.close();
});

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decoded = (bytes: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(bytes)) as unknown;

describe('local Lambda Invoke', () => {
  it('answers a RequestResponse invocation with the handler result, by name or ARN', async () => {
    for (const name of ['echo', 'echo:live', 'arn:aws:lambda:eu-west-1:123456789012:function:echo']) {
      const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: payload({ a: 1 }) }));
      expect(out.StatusCode).toBe(200);
      expect(out.FunctionError).toBeUndefined();
      expect(decoded(out.Payload)).toEqual({ event: { a: 1 }, requestId: expect.any(String) });
    }
  });

  it('reports a thrown error as a function error without its stack', async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'crash', Payload: payload({}) }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(decoded(out.Payload)).toEqual({ errorType: 'TypeError', errorMessage: 'boom' });
  });

  it('answers 404 ResourceNotFoundException for an unknown function', async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('runs an Event invocation in the background and answers 202', async () => {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: 'record', InvocationType: 'Event', Payload: payload({ n: 7 }) }),
    );
    expect(out.StatusCode).toBe(202);
    // It finishes after the 202: wait for it (bounded by the test's timeout, not a guessed delay).
    while (!events.length) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(events).toContainEqual({ n: 7 });
  });

  it('finds the function name in every identifier form', () => {
    expect(functionNameOf('fn')).toBe('fn');
    expect(functionNameOf('123456789012:function:fn')).toBe('fn');
    expect(functionNameOf('arn:aws:lambda:us-east-1:123456789012:function:fn:3')).toBe('fn');
  });
});
