import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** API Gateway's token bucket for one route. */
export interface RouteThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Bucket size: requests accepted at once. */
  readonly burstLimit: number;
}

export interface ApiRoute {
  /** @default 'POST' */
  readonly method?: 'GET' | 'POST';
  /** Path, e.g. `/authcode`. */
  readonly path: `/${string}`;
  readonly handler: lambda.IFunction;
  /** This route's own throttle: one route's flood cannot use up another's allowance. */
  readonly throttle: RouteThrottle;
  /**
   * Why the route has no API Gateway authorizer: each of ours authenticates its caller in
   * the function (auth code, Google ID token, signed security event).
   */
  readonly authenticatedBy: string;
}

export interface PublicApiProps {
  readonly routes: readonly ApiRoute[];
  /** Namespace of the per-route metrics derived from the access log. */
  readonly metricsNamespace: string;
  /** @default - no CORS: native apps and Google's RISC sender need none */
  readonly corsOrigins?: readonly string[];
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: logs.RetentionDays;
}

/**
 * Access log fields. Deliberately absent: bodies, query strings and request headers (the
 * `Authorization` header carries an ID token). `status` is a bare number so that metric
 * filters can compare it.
 */
const ACCESS_LOG_FORMAT =
  '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent",' +
  '"requestTime":"$context.requestTime","routeKey":"$context.routeKey","protocol":"$context.protocol",' +
  '"status":$context.status,"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency",' +
  '"integrationStatus":"$context.integrationStatus","integrationLatency":"$context.integrationLatency",' +
  '"integrationError":"$context.integrationErrorMessage","error":"$context.error.message"}';

/**
 * The public HTTP API (payload format 2.0): one route per function, each with its own
 * throttle (`RouteSettings`), and JSON access logs from which per-route request and 5xx
 * counts are derived (metric filters, so no paid detailed metrics are needed).
 *
 * No AWS WAF: a web ACL cannot be associated with an HTTP API (only REST APIs, CloudFront,
 * ALB, ...). Per-IP rate limits need CloudFront + WAF in front (README, "Rate limits").
 */
export class PublicApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** Route keys as they appear in metrics and logs, e.g. `POST /authcode`. */
  readonly routeKeys: readonly string[];
  private readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: PublicApiProps) {
    super(scope, id);
    this.metricsNamespace = props.metricsNamespace;

    const corsOrigins = props.corsOrigins ?? [];
    this.api = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Google offline access: sign-in code exchange, disconnect, RISC receiver',
      createDefaultStage: false,
      ...(corsOrigins.length
        ? {
            corsPreflight: {
              allowOrigins: [...corsOrigins],
              allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST],
              allowHeaders: ['content-type', 'x-requested-with', 'authorization'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });

    // Retained by `cdk destroy`: who called what and when is the audit trail of sign-ins,
    // disconnects and RISC deliveries; the retention still bounds it.
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Routes without their own settings (none today) get the smallest route's allowance.
    const smallest = [...props.routes].sort((a, b) => a.throttle.rateLimit - b.throttle.rateLimit)[0];
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: smallest?.throttle ?? { rateLimit: 1, burstLimit: 1 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });

    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    const keys: string[] = [];
    for (const route of props.routes) {
      const method = route.method ?? 'POST';
      const routeKey = `${method} ${route.path}`;
      keys.push(routeKey);
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[method]],
        integration: new HttpLambdaIntegration(`${route.path.slice(1)}Integration`, route.handler),
      });
      if (!created) throw new Error(`PublicApi: no route created for ${routeKey}`);
      Validations.of(created).acknowledge({ id: 'AwsSolutions-APIG4', reason: route.authenticatedBy });
      routeSettings[routeKey] = {
        ThrottlingRateLimit: route.throttle.rateLimit,
        ThrottlingBurstLimit: route.throttle.burstLimit,
      };
      // The stage's RouteSettings may only name routes that already exist.
      this.stage.node.addDependency(created);
    }
    this.routeKeys = keys;
    // The L2 stage has no per-route settings; the CloudFormation property does.
    (this.stage.node.defaultChild as apigw.CfnStage).routeSettings = routeSettings;

    // One filter per measure, dimensioned by route: every route gets its metrics.
    new logs.MetricFilter(this, 'RequestsByRoute', {
      logGroup: this.accessLogs,
      filterPattern: logs.FilterPattern.exists('$.routeKey'),
      metricNamespace: this.metricsNamespace,
      metricName: 'ApiRequests',
      metricValue: '1',
      dimensions: { Route: '$.routeKey' },
    });
    new logs.MetricFilter(this, 'ServerErrorsByRoute', {
      logGroup: this.accessLogs,
      filterPattern: logs.FilterPattern.numberValue('$.status', '>=', 500),
      metricNamespace: this.metricsNamespace,
      metricName: 'ApiServerErrors',
      metricValue: '1',
      dimensions: { Route: '$.routeKey' },
    });
  }

  /** The invoke URL of the `$default` stage. */
  get url(): string {
    return this.stage.url;
  }

  /** Requests to one route (`POST /authcode`), from the access log. */
  metricRouteRequests(routeKey: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.routeMetric('ApiRequests', routeKey, props);
  }

  /** 5xx answers of one route, from the access log. */
  metricRouteServerErrors(routeKey: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.routeMetric('ApiServerErrors', routeKey, props);
  }

  private routeMetric(metricName: string, routeKey: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      dimensionsMap: { Route: routeKey },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }
}
