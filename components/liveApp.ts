import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LIVE_CHANNEL, LIVE_NAMESPACE, type LiveConfig, type LiveModel, SNAPSHOT_PATH } from "../catalog/live";
import type { Granularity } from "../catalog/schema";
import { SNAPSHOT_STATE_KEYS } from "../catalog/state";
import { PUBLISHER_DEFAULTS, PUBLISHER_ENV } from "../functions/publisher/settings";
import { SNAPSHOT_ENV } from "../functions/snapshot/settings";
import type { SiteFile } from "../web/build";
import { contentSecurityPolicy, securityHeaders } from "../web/headers";
import { declareBucketPolicy, declarePrivateBucket } from "./privateBucket";
import { declareFunction, type PolicyStatement, StreamFunction } from "./streamFunction";

/** One file of the page, as the bucket serves it. */
export type LiveAppFile = SiteFile;

/** How the publisher reads the counter table's stream. */
export interface PublisherSettings {
  /** @default 100 */
  readonly batchSize?: number;
  /** Seconds the mapping may wait to fill a batch: every second of it is a second the page lags. @default 1 */
  readonly batchingWindowSeconds?: number;
  /** A push that failed twice is stale by the time a third try lands; the page refetches the snapshot anyway. @default 2 */
  readonly maximumRetryAttempts?: number;
  /** Changes older than this are dropped to the dead-letter queue, not pushed (60, Lambda's least, to 3600). @default 60 */
  readonly maximumRecordAgeSeconds?: number;
  /** @default 256 */
  readonly memoryMb?: number;
  /** @default 30 */
  readonly timeoutSeconds?: number;
}

export interface LiveAppArgs {
  /** The stack and pipeline: they name the app's resources and the alarms whose state the snapshot reads. */
  readonly stack: string;
  readonly pipeline: string;
  /** The region everything is deployed in: it names the sign-in origin, the JWT issuer and the alarms' ARNs. */
  readonly region: string;
  readonly granularity: Granularity;
  /** The page model (`liveModel`): which counters the snapshot may read, which alarms it may describe. */
  readonly model: LiveModel;
  /** The stack's catalog threshold overrides, as the model was built with; passed on to the snapshot function. @default {} */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** The page's files; `index.html` among them, `config.json` not (the component writes it from the deployed endpoints). */
  readonly files: readonly LiveAppFile[];
  /** The counter table: the snapshot queries it, the publisher reads its stream. */
  readonly tableArn: pulumi.Input<string>;
  readonly tableName: pulumi.Input<string>;
  readonly tableStreamArn: pulumi.Input<string>;
  /** The state table, where capped dimensions' kept values are. */
  readonly stateTableArn: pulumi.Input<string>;
  readonly stateTableName: pulumi.Input<string>;
  /** The publisher's code (`functionArchive("publisher", catalog)`). */
  readonly publisherCode: pulumi.asset.Archive;
  /** The snapshot function's code (`functionArchive("snapshot", catalog)`). */
  readonly snapshotCode: pulumi.asset.Archive;
  /** Email addresses that get a Cognito user (and an invite) each. @default [] */
  readonly viewers?: readonly string[];
  /** @default the defaults of PublisherSettings */
  readonly publisher?: PublisherSettings;
  /** @default 256 */
  readonly snapshotMemoryMb?: number;
  /** At most 30: an HTTP API waits no longer for its integration. @default 10 */
  readonly snapshotTimeoutSeconds?: number;
  /** Snapshot requests per second the HTTP API lets through, and the burst above it. @default { rateLimit: 10, burstLimit: 20 } */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Log every snapshot request to a log group of its own. @default false */
  readonly accessLogs?: boolean;
  /** The hosted UI's domain prefix. @default `<stack>-<pipeline>-live-<account id>` */
  readonly domainPrefix?: string;
  /** Deletion protection on the user pool, and the site bucket kept when it holds objects. @default false */
  readonly protectData?: boolean;
  /** @default 14 */
  readonly logRetentionDays?: number;
}

/** Managed CloudFront policies, by their documented IDs. */
const CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Cognito refuses a domain prefix with these in it (they are reserved for AWS). */
const RESERVED_IN_PREFIX = ["aws", "amazon", "cognito"];
const SITE_ORIGIN = "site";
const API_ORIGIN = "api";
/** `/api/snapshot` → `GET /api/snapshot`, the one route; CloudFront sends `/api/*` to the HTTP API. */
const SNAPSHOT_ROUTE = `GET ${SNAPSHOT_PATH}`;
const COGNITO = "AMAZON_COGNITO_USER_POOLS";

/** What a name part may hold in a hosted UI prefix: lowercase letters, digits, hyphens. */
const prefixPart = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]+/g, "-");

/**
 * One pipeline's live web app: a page on CloudFront that shows the counters as they change,
 * behind Cognito sign-in.
 *
 * - **Site**: a private S3 bucket only this distribution may read (origin access control), the
 *   page's files and a `config.json` written from the deployed endpoints; every response carries
 *   the security headers of `web/headers.ts`.
 * - **Sign-in**: a user pool per app, users created by the stack only (one per viewer in config,
 *   invited by email), the hosted UI, a public client doing the authorization code flow.
 * - **Snapshot**: `GET /api/snapshot` on an HTTP API behind the same distribution, a JWT
 *   authorizer on the pool, a function that reads the counters, kept values and alarm states.
 * - **Push**: an AppSync Events API; signed-in pages subscribe to `/live/counters`, and only the
 *   publisher's role may publish, over IAM.
 *
 * **Why a publisher of its own** rather than publishing from the forwarder: separate failure
 * domains (a throttled or failing AppSync never holds back, retries or dead-letters a batch of
 * CloudWatch increments, so alarms are never late because of the live channel, and a CloudWatch
 * outage never stops the page), and different settings (the forwarder retries long and keeps
 * hours-old changes, because a lost increment is a wrong metric; the publisher retries little
 * and drops anything older than a minute, because the page refetches the snapshot on reconnect
 * and every few minutes, so a stale push is worth nothing). The cost is one more reader of the
 * table's stream: DynamoDB Streams serve two readers a shard without throttling, and the
 * forwarder and the publisher are those two, so **a third consumer must not be added** (fan it
 * out from one of them instead).
 */
export class LiveApp extends pulumi.ComponentResource {
  /** `https://<distribution domain>/`. */
  public readonly url: pulumi.Output<string>;
  public readonly distributionId: pulumi.Output<string>;
  public readonly distributionDomain: pulumi.Output<string>;
  public readonly siteBucket: pulumi.Output<string>;
  public readonly userPoolId: pulumi.Output<string>;
  public readonly userPoolClientId: pulumi.Output<string>;
  /** The hosted UI's origin, `https://<prefix>.auth.<region>.amazoncognito.com`. */
  public readonly signInDomain: pulumi.Output<string>;
  public readonly eventsApiId: pulumi.Output<string>;
  public readonly eventsHttpHost: pulumi.Output<string>;
  public readonly eventsRealtimeHost: pulumi.Output<string>;
  public readonly channelNamespaceArn: pulumi.Output<string>;
  public readonly snapshotApiEndpoint: pulumi.Output<string>;
  public readonly publisherFunctionName: pulumi.Output<string>;
  public readonly publisherDlqName: pulumi.Output<string>;
  public readonly snapshotFunctionName: pulumi.Output<string>;

  constructor(name: string, args: LiveAppArgs, opts?: pulumi.ComponentResourceOptions) {
    super("analytics:pipeline:LiveApp", name, {}, opts);
    const viewers = args.viewers ?? [];
    const protectData = args.protectData ?? false;
    const logRetentionDays = args.logRetentionDays ?? 14;
    const throttle = args.throttle ?? { rateLimit: 10, burstLimit: 20 };
    const snapshotTimeoutSeconds = args.snapshotTimeoutSeconds ?? 10;
    const p = args.publisher ?? {};
    const publisher = {
      batchSize: p.batchSize ?? PUBLISHER_DEFAULTS.batchSize,
      batchingWindowSeconds: p.batchingWindowSeconds ?? PUBLISHER_DEFAULTS.batchingWindowSeconds,
      maximumRetryAttempts: p.maximumRetryAttempts ?? PUBLISHER_DEFAULTS.maximumRetryAttempts,
      maximumRecordAgeSeconds: p.maximumRecordAgeSeconds ?? PUBLISHER_DEFAULTS.maximumRecordAgeSeconds,
      memoryMb: p.memoryMb ?? PUBLISHER_DEFAULTS.memoryMb,
      timeoutSeconds: p.timeoutSeconds ?? PUBLISHER_DEFAULTS.timeoutSeconds,
    };

    const problems: string[] = [];
    const staticPrefix = args.domainPrefix ?? `${prefixPart(args.stack)}-${prefixPart(args.pipeline)}-live-`;
    // The account id (12 digits) ends the default prefix: Cognito prefixes are unique per region across every account.
    const prefixLength = staticPrefix.length + (args.domainPrefix === undefined ? 12 : 0);
    const reserved = RESERVED_IN_PREFIX.filter((w) => staticPrefix.includes(w));
    if (reserved.length > 0) problems.push(`the hosted UI's domain prefix "${staticPrefix}…" contains "${reserved.join('", "')}", which Cognito reserves; pass domainPrefix without it`);
    const prefixShape = args.domainPrefix === undefined ? /^[a-z0-9][a-z0-9-]*-$/ : /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
    if (!prefixShape.test(staticPrefix) || prefixLength > 63) {
      problems.push(`the hosted UI's domain prefix "${staticPrefix}" must be lowercase letters, digits and hyphens, neither starting nor ending with a hyphen, at most 63 characters (with the account id when it is the default); pass a domainPrefix that is`);
    }
    const paths = args.files.map((f) => f.path);
    const index = args.files.find((f) => f.path === "index.html");
    if (index === undefined) problems.push(`files lack index.html (the distribution's root object); pass the built page`);
    else if (!/<head>/i.test(index.content)) problems.push("files: index.html has no <head>, where the component pins the push channel's origins; pass a complete page");
    if (paths.includes("config.json")) problems.push(`files include config.json, which the component writes from the deployed endpoints; leave it out`);
    for (const f of args.files) {
      if (f.path === "" || f.path.startsWith("/") || f.path.split("/").some((s) => s === ".." || s === "." || s === "")) problems.push(`files: "${f.path}" must be a relative path without empty, "." or ".." segments`);
      if (f.contentType === "") problems.push(`files: "${f.path}" has no contentType; browsers refuse scripts and styles without the right one`);
    }
    if (new Set(paths).size !== paths.length) problems.push("files list a path twice; give each file its own");
    viewers.forEach((email, i) => {
      if (!EMAIL.test(email)) problems.push(`viewers[${i}] "${email}" is not an email address; fix or remove it`);
    });
    if (new Set(viewers.map((e) => e.toLowerCase())).size !== viewers.length) problems.push("viewers list an address twice; remove the duplicate");
    const wholeIn = (key: string, v: number, min: number, max: number) => {
      if (!Number.isInteger(v) || v < min || v > max) problems.push(`${key} is ${v}, must be a whole number from ${min} to ${max}`);
    };
    wholeIn("publisher.batchSize", publisher.batchSize, 1, 10_000);
    wholeIn("publisher.batchingWindowSeconds", publisher.batchingWindowSeconds, 0, 300);
    wholeIn("publisher.maximumRetryAttempts", publisher.maximumRetryAttempts, 0, 10);
    // A push older than an hour is long superseded by a snapshot the page has refetched.
    wholeIn("publisher.maximumRecordAgeSeconds", publisher.maximumRecordAgeSeconds, 60, 3600);
    wholeIn("snapshotTimeoutSeconds", snapshotTimeoutSeconds, 1, 30);
    wholeIn("throttle.rateLimit", throttle.rateLimit, 1, 10_000);
    wholeIn("throttle.burstLimit", throttle.burstLimit, 1, 5_000);
    if (problems.length > 0) throw new Error(`LiveApp ${name}: ${problems.join("; ")}`);

    // Names AWS holds per account and region: the stack and pipeline keep them apart.
    const baseName = `${args.stack}-${args.pipeline}-live`.replace(/[^A-Za-z0-9_-]+/g, "-");
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const domainPrefix = args.domainPrefix === undefined ? pulumi.interpolate`${staticPrefix}${account}` : pulumi.output(args.domainPrefix);
    const signInDomain = pulumi.interpolate`https://${domainPrefix}.auth.${args.region}.amazoncognito.com`;

    // --- Snapshot endpoint: nothing here depends on the distribution, which routes /api/* to it.
    const counterKeys = [
      ...args.model.metrics.flatMap((m) => [m.id, `${m.id}#*`]),
      args.model.health.counted,
      args.model.health.rejected,
      `${args.model.health.rejected}#*`,
    ];
    const alarmArns = args.model.metrics.flatMap((m) => m.alarms.map((a) => pulumi.interpolate`arn:aws:cloudwatch:${args.region}:${account}:alarm:${a.name}`));
    const snapshot = declareFunction(
      `${name}-snapshot`,
      {
        code: args.snapshotCode,
        memoryMb: args.snapshotMemoryMb ?? 256,
        timeoutSeconds: snapshotTimeoutSeconds,
        logRetentionDays,
        environment: {
          [SNAPSHOT_ENV.tableName]: args.tableName,
          [SNAPSHOT_ENV.stateTable]: args.stateTableName,
          [SNAPSHOT_ENV.granularity]: args.granularity,
          [SNAPSHOT_ENV.stack]: args.stack,
          [SNAPSHOT_ENV.pipeline]: args.pipeline,
          [SNAPSHOT_ENV.thresholds]: JSON.stringify(args.thresholds ?? {}),
        },
        statements: (writeLogs): PolicyStatement[] => [
          writeLogs,
          {
            Sid: "ReadCounters",
            Effect: "Allow",
            Action: ["dynamodb:Query"],
            Resource: args.tableArn,
            // Only the page's counters: each catalog metric's total and its dimension combinations, and the pipeline's own.
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": counterKeys } },
          },
          {
            Sid: "ReadKeptValues",
            Effect: "Allow",
            Action: ["dynamodb:GetItem"],
            Resource: args.stateTableArn,
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": SNAPSHOT_STATE_KEYS } },
          },
          // DescribeAlarms takes alarm ARNs (the `alarm` resource type in the Service Authorization
          // Reference); only describing composite alarms needs "*", and the page shows none:
          // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
          ...(alarmArns.length === 0 ? [] : [{ Sid: "ReadAlarmStates", Effect: "Allow" as const, Action: ["cloudwatch:DescribeAlarms"], Resource: alarmArns }]),
        ],
      },
      this,
    );

    const api = new aws.apigatewayv2.Api(`${name}-api`, { name: baseName, protocolType: "HTTP", description: `The ${args.pipeline} live app's snapshot, behind its CloudFront distribution` }, { parent: this });
    const integration = new aws.apigatewayv2.Integration(
      `${name}-snapshot-integration`,
      { apiId: api.id, integrationType: "AWS_PROXY", integrationMethod: "POST", integrationUri: snapshot.fn.arn, payloadFormatVersion: "2.0", timeoutMilliseconds: snapshotTimeoutSeconds * 1000 },
      { parent: this },
    );


    // --- Site: a private bucket only this distribution reads.
    const bucket = declarePrivateBucket(
      `${name}-site`,
      {
        expirations: [],
        forceDestroy: !protectData,
        // SSE-S3, not KMS: CloudFront's origin access control can't read objects encrypted with the
        // AWS-managed `aws/s3` key (its key policy can't be edited to let CloudFront decrypt), and
        // what the bucket holds is the page's public code and its endpoints' names.
        encryption: "s3",
        policyLater: true,
      },
      this,
    );
    const oac = new aws.cloudfront.OriginAccessControl(
      `${name}-oac`,
      { name: `${baseName}-site`, description: `Signs ${baseName}'s requests to its site bucket`, originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" },
      { parent: this },
    );

    // The page may connect to its own origin, the hosted UI (for the token exchange) and AppSync.
    // AppSync's origins are named by region here, not by API: the API authorizes with this pool,
    // the pool's invite names the distribution's URL, and the distribution carries these headers,
    // so naming the API would close a cycle. index.html pins the API's exact origins (below).
    const appsyncOrigins = [`https://*.appsync-api.${args.region}.amazonaws.com`, `wss://*.appsync-realtime-api.${args.region}.amazonaws.com`];
    const headers = signInDomain.apply((signIn) => securityHeaders({ connect: appsyncOrigins, signIn }));
    const fixed = securityHeaders({ connect: appsyncOrigins });
    const hsts = /^max-age=(\d+)(; includeSubDomains)?$/.exec(fixed["strict-transport-security"]);
    const frame = fixed["x-frame-options"];
    if (hsts === null || (frame !== "DENY" && frame !== "SAMEORIGIN") || fixed["x-content-type-options"] !== "nosniff") {
      throw new Error(`LiveApp ${name}: web/headers.ts's securityHeaders no longer fit CloudFront's security headers (HSTS max-age, frame DENY or SAMEORIGIN, nosniff); map the new values here`);
    }
    const headersPolicy = new aws.cloudfront.ResponseHeadersPolicy(
      `${name}-headers`,
      {
        name: `${baseName}-headers`,
        comment: `Security headers of ${baseName}`,
        securityHeadersConfig: {
          contentSecurityPolicy: { contentSecurityPolicy: headers.apply((h) => h["content-security-policy"]), override: true },
          contentTypeOptions: { override: true },
          frameOptions: { frameOption: frame, override: true },
          referrerPolicy: { referrerPolicy: fixed["referrer-policy"], override: true },
          strictTransportSecurity: { accessControlMaxAgeSec: Number(hsts[1]), includeSubdomains: hsts[2] !== undefined, preload: false, override: true },
        },
      },
      { parent: this },
    );

    const distribution = new aws.cloudfront.Distribution(
      `${name}-cdn`,
      {
        comment: `${baseName}: the page and its snapshot`,
        enabled: true,
        isIpv6Enabled: true,
        httpVersion: "http2and3",
        // North America and Europe's edges: the cheapest class, and where the viewers are expected.
        priceClass: "PriceClass_100",
        defaultRootObject: "index.html",
        origins: [
          { originId: SITE_ORIGIN, domainName: bucket.bucketRegionalDomainName, originAccessControlId: oac.id },
          {
            originId: API_ORIGIN,
            domainName: api.apiEndpoint.apply((u) => u.replace(/^https:\/\//, "")),
            customOriginConfig: { httpPort: 80, httpsPort: 443, originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"] },
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: SITE_ORIGIN,
          viewerProtocolPolicy: "redirect-to-https",
          allowedMethods: ["GET", "HEAD"],
          cachedMethods: ["GET", "HEAD"],
          cachePolicyId: CACHING_OPTIMIZED,
          compress: true,
          responseHeadersPolicyId: headersPolicy.id,
        },
        orderedCacheBehaviors: [
          {
            pathPattern: "/api/*",
            targetOriginId: API_ORIGIN,
            viewerProtocolPolicy: "redirect-to-https",
            allowedMethods: ["GET", "HEAD"],
            cachedMethods: ["GET", "HEAD"],
            // Never cached: each answer is one signed-in viewer's, read at that moment.
            cachePolicyId: CACHING_DISABLED,
            // All the viewer's headers (Authorization among them) and the query string (?range=),
            // but not Host, which API Gateway would refuse: it must name the API's own domain.
            // A custom origin request policy can't list Authorization (CloudFront answers 400), but
            // with caching disabled the managed AllViewer and AllViewerExceptHostHeader policies do
            // forward it: https://repost.aws/knowledge-center/cloudfront-authorization-header and
            // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
            originRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
            compress: true,
            responseHeadersPolicyId: headersPolicy.id,
          },
        ],
        restrictions: { geoRestriction: { restrictionType: "none" } },
        viewerCertificate: { cloudfrontDefaultCertificate: true },
      },
      { parent: this },
    );
    const url = pulumi.interpolate`https://${distribution.domainName}/`;
    declareBucketPolicy(
      `${name}-site-policy`,
      bucket,
      [
        {
          Sid: "ReadByThisDistributionOnly",
          Effect: "Allow",
          Principal: { Service: "cloudfront.amazonaws.com" },
          Action: "s3:GetObject",
          Resource: pulumi.interpolate`${bucket.arn}/*`,
          Condition: { StringEquals: { "AWS:SourceArn": distribution.arn } },
        },
      ],
      this,
    );

    // --- Sign-in: the stack creates every user; the invite names the app's URL.
    const pool = new aws.cognito.UserPool(
      `${name}-users`,
      {
        name: baseName,
        // The Lite plan: classic hosted UI and passwords are all a handful of viewers need.
        userPoolTier: "LITE",
        usernameAttributes: ["email"],
        usernameConfiguration: { caseSensitive: false },
        autoVerifiedAttributes: ["email"],
        adminCreateUserConfig: {
          allowAdminCreateUserOnly: true,
          inviteMessageTemplate: {
            emailSubject: `Your access to the ${args.pipeline} live counters (${args.stack})`,
            emailMessage: pulumi.interpolate`<p>You can now watch the ${args.pipeline} counters of ${args.stack} live at <a href="${url}">${url}</a>.</p><p>Sign in there with <b>{username}</b> and the temporary password <b>{####}</b>; you will choose your own password at once. The temporary password expires in 7 days.</p>`,
          },
        },
        passwordPolicy: { minimumLength: 12, requireLowercase: true, requireUppercase: true, requireNumbers: true, requireSymbols: false, temporaryPasswordValidityDays: 7 },
        accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
        mfaConfiguration: "OPTIONAL",
        softwareTokenMfaConfiguration: { enabled: true },
        emailConfiguration: { emailSendingAccount: "COGNITO_DEFAULT" },
        deletionProtection: protectData ? "ACTIVE" : "INACTIVE",
      },
      { parent: this },
    );
    // Version 1, the classic hosted UI: version 2 (managed login) needs a branding resource to show anything.
    new aws.cognito.UserPoolDomain(`${name}-domain`, { domain: domainPrefix, userPoolId: pool.id, managedLoginVersion: 1 }, { parent: this });
    const client = new aws.cognito.UserPoolClient(
      `${name}-client`,
      {
        name: baseName,
        userPoolId: pool.id,
        // A browser can't keep a secret: a public client, the code flow with PKCE.
        generateSecret: false,
        allowedOauthFlowsUserPoolClient: true,
        allowedOauthFlows: ["code"],
        allowedOauthScopes: ["openid", "email"],
        callbackUrls: [url],
        logoutUrls: [url],
        supportedIdentityProviders: ["COGNITO"],
        // Sign-in only through the hosted UI; the page renews its tokens with the refresh token.
        explicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH"],
        preventUserExistenceErrors: "ENABLED",
        enableTokenRevocation: true,
        accessTokenValidity: 60,
        idTokenValidity: 60,
        refreshTokenValidity: 12,
        tokenValidityUnits: { accessToken: "minutes", idToken: "minutes", refreshToken: "hours" },
      },
      { parent: this },
    );
    for (const email of viewers) {
      new aws.cognito.User(
        // Named by address, so removing one viewer leaves the others (and their passwords) alone.
        `${name}-viewer-${email.toLowerCase()}`,
        { userPoolId: pool.id, username: email, attributes: { email, email_verified: "true" }, desiredDeliveryMediums: ["EMAIL"] },
        { parent: this },
      );
    }

    // --- Snapshot route: one route, and it takes a token from this pool and this client.
    const authorizer = new aws.apigatewayv2.Authorizer(
      `${name}-authorizer`,
      {
        apiId: api.id,
        name: "cognito",
        authorizerType: "JWT",
        identitySources: ["$request.header.Authorization"],
        jwtConfiguration: { issuer: pulumi.interpolate`https://cognito-idp.${args.region}.amazonaws.com/${pool.id}`, audiences: [client.id] },
      },
      { parent: this },
    );
    new aws.apigatewayv2.Route(
      `${name}-snapshot-route`,
      { apiId: api.id, routeKey: SNAPSHOT_ROUTE, target: pulumi.interpolate`integrations/${integration.id}`, authorizationType: "JWT", authorizerId: authorizer.id },
      { parent: this },
    );
    const accessLogs = args.accessLogs ? new aws.cloudwatch.LogGroup(`${name}-api-access-logs`, { retentionInDays: logRetentionDays }, { parent: this }) : undefined;
    new aws.apigatewayv2.Stage(
      `${name}-stage`,
      {
        apiId: api.id,
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: { throttlingRateLimit: throttle.rateLimit, throttlingBurstLimit: throttle.burstLimit },
        ...(accessLogs === undefined
          ? {}
          : {
              accessLogSettings: {
                destinationArn: accessLogs.arn,
                format: JSON.stringify({ requestId: "$context.requestId", ip: "$context.identity.sourceIp", time: "$context.requestTime", route: "$context.routeKey", status: "$context.status", latencyMs: "$context.responseLatency", error: "$context.authorizer.error" }),
              },
            }),
      },
      { parent: this },
    );
    new aws.lambda.Permission(
      `${name}-snapshot-invoke`,
      // `<execution ARN>/<stage>/<method>/<path>`: any stage, this route only.
      { action: "lambda:InvokeFunction", function: snapshot.fn.name, principal: "apigateway.amazonaws.com", sourceArn: pulumi.interpolate`${api.executionArn}/*/GET${SNAPSHOT_PATH}` },
      { parent: this },
    );

    // --- Push: signed-in pages subscribe; only IAM (the publisher's role) publishes.
    const events = new aws.appsync.Api(
      `${name}-events`,
      {
        name: baseName,
        eventConfig: {
          authProviders: [{ authType: COGNITO, cognitoConfig: { userPoolId: pool.id, awsRegion: args.region, appIdClientRegex: pulumi.interpolate`^${client.id}$` } }, { authType: "AWS_IAM" }],
          // Pages connect with a Cognito token; the publisher's signed HTTP publishes count as
          // connections too. Subscribing still takes Cognito and publishing IAM (below), so an IAM
          // principal gains nothing it could read.
          connectionAuthModes: [{ authType: COGNITO }, { authType: "AWS_IAM" }],
          defaultSubscribeAuthModes: [{ authType: COGNITO }],
          defaultPublishAuthModes: [{ authType: "AWS_IAM" }],
        },
      },
      { parent: this },
    );
    const namespace = new aws.appsync.ChannelNamespace(
      `${name}-namespace`,
      { apiId: events.apiId, name: LIVE_NAMESPACE, subscribeAuthModes: [{ authType: COGNITO }], publishAuthModes: [{ authType: "AWS_IAM" }] },
      { parent: this },
    );
    const httpHost = events.dns.apply((d) => d.HTTP);
    const realtimeHost = events.dns.apply((d) => d.REALTIME);
    const publisherFn = new StreamFunction(
      `${name}-publisher`,
      {
        code: args.publisherCode,
        sourceArn: args.tableStreamArn,
        sourceKind: "dynamodb",
        mapping: {
          batchSize: publisher.batchSize,
          batchingWindowSeconds: publisher.batchingWindowSeconds,
          // What happened before the publisher existed is in the snapshot already.
          startingPosition: "LATEST",
          maximumRetryAttempts: publisher.maximumRetryAttempts,
          maximumRecordAgeSeconds: publisher.maximumRecordAgeSeconds,
          parallelizationFactor: 1,
        },
        // TTL's REMOVEs change nothing the page shows: they never invoke the function.
        filterCriteria: { filters: [{ pattern: JSON.stringify({ eventName: ["INSERT", "MODIFY"] }) }] },
        memoryMb: publisher.memoryMb,
        timeoutSeconds: publisher.timeoutSeconds,
        logRetentionDays,
        environment: { [PUBLISHER_ENV.httpHost]: httpHost, [PUBLISHER_ENV.channel]: LIVE_CHANNEL },
        // Publishing over HTTP is `appsync:EventPublish` on the channel namespace's ARN,
        // `arn:aws:appsync:<region>:<account>:apis/<api id>/channelNamespace/<name>`; connecting
        // and subscribing (EventConnect, EventSubscribe) are for WebSocket clients, not this one.
        statements: [{ Sid: "PublishLiveCounters", Effect: "Allow", Action: ["appsync:EventPublish"], Resource: namespace.channelNamespaceArn }],
      },
      { parent: this },
    );

    // --- The page's files, and its runtime config from the deployed endpoints.
    // The header's CSP names AppSync by region (see above); the page pins this API's two origins
    // with a second policy in a <meta> element, which needs nothing the distribution depends on.
    // A browser enforces both, so the page may connect to exactly its own origin, the hosted UI
    // and this API.
    const pinnedConnect = pulumi.all([httpHost, realtimeHost, signInDomain]).apply(([http, realtime, signIn]) => {
      const csp = contentSecurityPolicy({ connect: [`https://${http}`, `wss://${realtime}`], signIn });
      return csp.split("; ").find((d) => d.startsWith("connect-src "))!;
    });
    const upload = (f: LiveAppFile, content: pulumi.Input<string>, dependsOn: pulumi.Resource[] = []) =>
      new aws.s3.BucketObjectv2(`${name}-file-${f.path}`, { bucket: bucket.id, key: f.path, content, contentType: f.contentType, cacheControl: f.cacheControl }, { parent: this, dependsOn });
    // The page last: on an update, index.html never names a script or style not uploaded yet.
    const page = index!;
    const assets = args.files.filter((f) => f !== page).map((f) => upload(f, f.content));
    upload(
      page,
      pinnedConnect.apply((directive) => page.content.replace(/<head>/i, (head) => `${head}\n<meta http-equiv="Content-Security-Policy" content="${directive}">`)),
      assets,
    );
    const config = pulumi
      .all([realtimeHost, httpHost, pool.id, client.id, signInDomain])
      .apply(([realtime, http, userPoolId, clientId, domain]): LiveConfig => ({
        // Relative: CloudFront sends /api/* to the HTTP API, so the page asks its own origin.
        snapshotUrl: SNAPSHOT_PATH.slice(1),
        events: { realtimeUrl: `wss://${realtime}/event/realtime`, httpHost: http, channel: LIVE_CHANNEL },
        auth: { region: args.region, userPoolId, clientId, domain },
      }));
    new aws.s3.BucketObjectv2(
      `${name}-config`,
      { bucket: bucket.id, key: "config.json", content: config.apply((c) => `${JSON.stringify(c, null, 2)}\n`), contentType: "application/json", cacheControl: "no-cache" },
      { parent: this },
    );

    this.url = url;
    this.distributionId = distribution.id;
    this.distributionDomain = distribution.domainName;
    this.siteBucket = bucket.bucket;
    this.userPoolId = pool.id;
    this.userPoolClientId = client.id;
    this.signInDomain = signInDomain;
    this.eventsApiId = events.apiId;
    this.eventsHttpHost = httpHost;
    this.eventsRealtimeHost = realtimeHost;
    this.channelNamespaceArn = namespace.channelNamespaceArn;
    this.snapshotApiEndpoint = api.apiEndpoint;
    this.publisherFunctionName = publisherFn.functionName;
    this.publisherDlqName = publisherFn.dlqName;
    this.snapshotFunctionName = snapshot.fn.name;
    this.registerOutputs({
      url: this.url,
      distributionId: this.distributionId,
      distributionDomain: this.distributionDomain,
      siteBucket: this.siteBucket,
      userPoolId: this.userPoolId,
      userPoolClientId: this.userPoolClientId,
      signInDomain: this.signInDomain,
      eventsApiId: this.eventsApiId,
      eventsHttpHost: this.eventsHttpHost,
      eventsRealtimeHost: this.eventsRealtimeHost,
      channelNamespaceArn: this.channelNamespaceArn,
      snapshotApiEndpoint: this.snapshotApiEndpoint,
      publisherFunctionName: this.publisherFunctionName,
      publisherDlqName: this.publisherDlqName,
      snapshotFunctionName: this.snapshotFunctionName,
    });
  }
}
