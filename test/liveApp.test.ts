import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { LIVE_CHANNEL, LIVE_NAMESPACE, type LiveConfig, type LiveModel } from "../catalog/live";
import { LiveApp, type LiveAppArgs, StreamFunction } from "../components";
import { PROJECT } from "../config";
import { liveModel } from "../dashboards/live";
import { fixtureCatalog, fixturePage } from "./fixtures";
import { ACCOUNT, promiseOf, REGION, type Recorded, RecordingMocks } from "./mocks";
import { settle } from "./program";

const T = {
  bucket: "aws:s3/bucket:Bucket",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  oac: "aws:cloudfront/originAccessControl:OriginAccessControl",
  headers: "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
  distribution: "aws:cloudfront/distribution:Distribution",
  pool: "aws:cognito/userPool:UserPool",
  domain: "aws:cognito/userPoolDomain:UserPoolDomain",
  client: "aws:cognito/userPoolClient:UserPoolClient",
  user: "aws:cognito/user:User",
  events: "aws:appsync/api:Api",
  namespace: "aws:appsync/channelNamespace:ChannelNamespace",
  httpApi: "aws:apigatewayv2/api:Api",
  authorizer: "aws:apigatewayv2/authorizer:Authorizer",
  integration: "aws:apigatewayv2/integration:Integration",
  route: "aws:apigatewayv2/route:Route",
  stage: "aws:apigatewayv2/stage:Stage",
  permission: "aws:lambda/permission:Permission",
  fn: "aws:lambda/function:Function",
  mapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  policy: "aws:iam/rolePolicy:RolePolicy",
};

const json = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);
interface Statement {
  Sid: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}
const statements = (policy: Recorded) => json(policy.inputs.policy).Statement as Statement[];
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** Stand-in code: the component tests never bundle the functions. */
const code = new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});\n") });
const tableArn = (pipeline: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${pipeline}-counters`;

function appArgs(pipeline: string, overrides: Partial<LiveAppArgs> = {}): LiveAppArgs {
  const model: LiveModel = liveModel({ catalog: fixtureCatalog(pipeline), stack: "dev", pipeline, granularity: "minute" });
  return {
    stack: "dev",
    pipeline,
    region: REGION,
    granularity: "minute",
    model,
    files: fixturePage(model),
    tableArn: tableArn(pipeline),
    tableName: `${pipeline}-counters`,
    tableStreamArn: `${tableArn(pipeline)}/stream/2026-11-21T00:00:00.000`,
    stateTableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${pipeline}-state`,
    stateTableName: `${pipeline}-state`,
    publisherCode: code,
    snapshotCode: code,
    ...overrides,
  };
}

describe("LiveApp under mocks", () => {
  const mocks = new RecordingMocks();
  const web = appArgs("web", { viewers: ["ann@example.com", "Bob@Example.org"], thresholds: { "pageViews.low": 2 } });
  let url: string;
  let config: string;
  /** The one resource of a type in the web app, or the one whose name ends with `role`. */
  const own = (type: string, role = "") => {
    const found = mocks.ofType(type).filter((r) => r.name.startsWith("web-live") && r.name.endsWith(role));
    assert.equal(found.length, 1, `expected one ${type} ending in ${role}, found ${found.map((r) => r.name).join(", ") || "none"}`);
    return found[0];
  };
  const distributionArn = `arn:aws:cloudfront::${ACCOUNT}:distribution/web-live-cdn-id`;

  before(async () => {
    await pulumi.runtime.setMocks(mocks, PROJECT, "dev", false);
    const app = new LiveApp("web-live", web);
    new LiveApp("shop-live", appArgs("shop", { protectData: true, viewers: ["ann@example.com"] }));
    url = await promiseOf(app.url);
    await settle(mocks);
    config = own(T.object, "-config").inputs.content;
  });

  it("keeps the site in a private bucket only this distribution may read", () => {
    const block = own(T.publicAccess, "site-public-access").inputs;
    assert.deepEqual([block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets], [true, true, true, true]);
    assert.equal(own(T.ownership, "site-ownership").inputs.rule.objectOwnership, "BucketOwnerEnforced");
    // SSE-S3: origin access control can't read objects under the AWS-managed KMS key.
    assert.deepEqual(own(T.encryption, "site-encryption").inputs.rules[0].applyServerSideEncryptionByDefault, { sseAlgorithm: "AES256" });
    const bucket = own(T.bucket, "site-bucket");
    const policies = mocks.ofType(T.bucketPolicy).filter((p) => p.name.startsWith("web-live"));
    assert.equal(policies.length, 1, "S3 takes one policy a bucket");
    assert.equal(policies[0].inputs.bucket, bucket.id);
    const [deny, ...allows] = statements(policies[0]);
    assert.deepEqual([deny.Effect, deny.Principal, deny.Action, deny.Condition], ["Deny", "*", "s3:*", { Bool: { "aws:SecureTransport": "false" } }]);
    assert.equal(allows.length, 1);
    assert.deepEqual(allows[0], {
      Sid: "ReadByThisDistributionOnly",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "s3:GetObject",
      Resource: `arn:aws:s3:::${bucket.id}/*`,
      Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
    });
    const oac = own(T.oac).inputs;
    assert.deepEqual([oac.originAccessControlOriginType, oac.signingBehavior, oac.signingProtocol], ["s3", "always", "sigv4"]);
    const site = own(T.distribution).inputs.origins.find((o: { originId: string }) => o.originId === "site");
    assert.equal(site.originAccessControlId, own(T.oac).id);
    assert.equal(site.domainName, `${bucket.id}.s3.${REGION}.amazonaws.com`);
  });

  it("serves the page over HTTPS only, with the security headers and a strict CSP on every behavior", () => {
    const d = own(T.distribution).inputs;
    const behaviors = [d.defaultCacheBehavior, ...d.orderedCacheBehaviors];
    assert.equal(behaviors.length, 2);
    const policy = own(T.headers);
    for (const b of behaviors) {
      assert.equal(b.viewerProtocolPolicy, "redirect-to-https");
      assert.equal(b.responseHeadersPolicyId, policy.id);
    }
    assert.deepEqual([d.priceClass, d.httpVersion, d.defaultRootObject, d.enabled], ["PriceClass_100", "http2and3", "index.html", true]);
    assert.equal(d.defaultCacheBehavior.cachePolicyId, "658327ea-f89d-4fab-a63d-7e88639e58f6", "managed CachingOptimized");
    assert.equal(d.defaultCacheBehavior.compress, true);
    const h = policy.inputs.securityHeadersConfig;
    const csp: string = h.contentSecurityPolicy.contentSecurityPolicy;
    const signIn = `https://dev-web-live-${ACCOUNT}.auth.${REGION}.amazoncognito.com`;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(csp.includes(`form-action ${signIn}`), csp);
    const connect = /connect-src ([^;]+)/.exec(csp)![1].split(" ");
    assert.deepEqual(connect, ["'self'", `https://*.appsync-api.${REGION}.amazonaws.com`, `wss://*.appsync-realtime-api.${REGION}.amazonaws.com`, signIn]);
    assert.equal(h.contentSecurityPolicy.override, true);
    assert.deepEqual(h.contentTypeOptions, { override: true });
    assert.deepEqual(h.frameOptions, { frameOption: "DENY", override: true });
    assert.deepEqual(h.referrerPolicy, { referrerPolicy: "no-referrer", override: true });
    assert.deepEqual(h.strictTransportSecurity, { accessControlMaxAgeSec: 31536000, includeSubdomains: true, preload: false, override: true });
  });

  it("routes /api/* to the HTTP API uncached, forwarding Authorization and the query but not Host", () => {
    const d = own(T.distribution).inputs;
    const [api] = d.orderedCacheBehaviors;
    assert.equal(api.pathPattern, "/api/*");
    assert.equal(api.cachePolicyId, "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "managed CachingDisabled");
    assert.equal(api.originRequestPolicyId, "b689b0a8-53d0-40ab-baf2-68738e2966ac", "managed AllViewerExceptHostHeader");
    const origin = d.origins.find((o: { originId: string }) => o.originId === api.targetOriginId);
    assert.equal(origin.domainName, `${own(T.httpApi).id}.execute-api.${REGION}.amazonaws.com`);
    assert.equal(origin.customOriginConfig.originProtocolPolicy, "https-only");
    // The API doesn't depend on the distribution (no CORS naming it): the distribution depends on the API.
    assert.equal(own(T.httpApi).inputs.corsConfiguration, undefined);
  });

  it("lets only signed-in viewers subscribe, and only IAM publish, to the live namespace", () => {
    const e = own(T.events).inputs.eventConfig;
    const pool = own(T.pool);
    assert.deepEqual(
      e.authProviders.map((p: { authType: string }) => p.authType),
      ["AMAZON_COGNITO_USER_POOLS", "AWS_IAM"],
    );
    assert.deepEqual(e.authProviders[0].cognitoConfig, { userPoolId: pool.id, awsRegion: REGION, appIdClientRegex: `^${own(T.client).id}$` });
    assert.deepEqual(e.connectionAuthModes, [{ authType: "AMAZON_COGNITO_USER_POOLS" }, { authType: "AWS_IAM" }]);
    assert.deepEqual(e.defaultSubscribeAuthModes, [{ authType: "AMAZON_COGNITO_USER_POOLS" }]);
    assert.deepEqual(e.defaultPublishAuthModes, [{ authType: "AWS_IAM" }]);
    const ns = own(T.namespace).inputs;
    assert.equal(ns.name, LIVE_NAMESPACE);
    assert.deepEqual(ns.subscribeAuthModes, [{ authType: "AMAZON_COGNITO_USER_POOLS" }]);
    assert.deepEqual(ns.publishAuthModes, [{ authType: "AWS_IAM" }]);
    // Every role policy of every app: only a publisher may publish, and only to its own app's namespace.
    const publishers = mocks.ofType(T.policy).filter((p) => statements(p).some((s) => list(s.Action).some((a) => a.startsWith("appsync:"))));
    assert.deepEqual(publishers.map((p) => p.name).sort(), ["shop-live-publisher-policy", "web-live-publisher-policy"]);
    const [publish] = statements(own(T.policy, "publisher-policy")).filter((s) => list(s.Action).some((a) => a.startsWith("appsync:")));
    assert.deepEqual([publish.Action, publish.Resource], [["appsync:EventPublish"], `arn:aws:appsync:${REGION}:${ACCOUNT}:apis/web-live-events-id/channelNamespace/live`]);
  });

  it("publishes INSERTs and MODIFYs of the table's stream, in small, fresh, briefly retried batches", () => {
    const m = own(T.mapping, "publisher-mapping").inputs;
    assert.equal(m.eventSourceArn, `${tableArn("web")}/stream/2026-11-21T00:00:00.000`);
    assert.deepEqual(m.filterCriteria, { filters: [{ pattern: '{"eventName":["INSERT","MODIFY"]}' }] });
    assert.deepEqual([m.startingPosition, m.batchSize, m.maximumBatchingWindowInSeconds, m.maximumRetryAttempts, m.maximumRecordAgeInSeconds], ["LATEST", 100, 1, 2, 60]);
    assert.deepEqual(m.functionResponseTypes, ["ReportBatchItemFailures"]);
    assert.equal(m.bisectBatchOnFunctionError, true);
    assert.deepEqual(own(T.fn, "publisher-function").inputs.environment.variables, { EVENTS_HTTP_HOST: `web-live-events-id.appsync-api.${REGION}.amazonaws.com`, EVENTS_CHANNEL: LIVE_CHANNEL });
  });

  it("answers the snapshot on one route, only with a token from this pool and client", () => {
    const routes = mocks.ofType(T.route).filter((r) => r.name.startsWith("web-live"));
    assert.equal(routes.length, 1);
    const [route] = routes;
    const authorizer = own(T.authorizer);
    assert.deepEqual([route.inputs.routeKey, route.inputs.authorizationType, route.inputs.authorizerId], ["GET /api/snapshot", "JWT", authorizer.id]);
    assert.equal(route.inputs.target, `integrations/${own(T.integration).id}`);
    // No route anywhere without an authorizer: not $default, not a catch-all.
    for (const r of mocks.ofType(T.route)) assert.equal(r.inputs.authorizationType, "JWT", r.name);
    assert.deepEqual(authorizer.inputs.jwtConfiguration, { issuer: `https://cognito-idp.${REGION}.amazonaws.com/${own(T.pool).id}`, audiences: [own(T.client).id] });
    assert.deepEqual([authorizer.inputs.authorizerType, authorizer.inputs.identitySources], ["JWT", ["$request.header.Authorization"]]);
    const integration = own(T.integration).inputs;
    assert.deepEqual([integration.integrationType, integration.payloadFormatVersion, integration.integrationUri], ["AWS_PROXY", "2.0", `arn:aws:lambda:${REGION}:${ACCOUNT}:function:web-live-snapshot-function-id`]);
    assert.equal(integration.timeoutMilliseconds, own(T.fn, "snapshot-function").inputs.timeout * 1000);
    const stage = own(T.stage).inputs;
    assert.deepEqual([stage.name, stage.autoDeploy, stage.defaultRouteSettings], ["$default", true, { throttlingRateLimit: 10, throttlingBurstLimit: 20 }]);
    assert.equal(stage.accessLogSettings, undefined);
    const permission = own(T.permission).inputs;
    assert.deepEqual([permission.principal, permission.action, permission.function], ["apigateway.amazonaws.com", "lambda:InvokeFunction", "web-live-snapshot-function-id"]);
    assert.equal(permission.sourceArn, `arn:aws:execute-api:${REGION}:${ACCOUNT}:${own(T.httpApi).id}/*/GET/api/snapshot`);
  });

  it("gives each of the app's roles least privilege on exact ARNs, with no '*' resource", () => {
    const model = web.model;
    const snapshot = statements(own(T.policy, "snapshot-policy"));
    assert.deepEqual(
      snapshot.map((s) => s.Sid),
      ["WriteLogs", "ReadCounters", "ReadKeptValues", "ReadAlarmStates"],
    );
    const counters = snapshot.find((s) => s.Sid === "ReadCounters")!;
    assert.deepEqual([counters.Action, counters.Resource], [["dynamodb:Query"], tableArn("web")]);
    const keys = model.metrics.flatMap((m) => [m.id, `${m.id}#*`]).concat("CountedRecords", "RejectedRecords", "RejectedRecords#*");
    assert.deepEqual(counters.Condition, { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": keys } });
    const kept = snapshot.find((s) => s.Sid === "ReadKeptValues")!;
    assert.deepEqual([kept.Action, kept.Resource, kept.Condition], [["dynamodb:GetItem"], web.stateTableArn, { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["values#*"] } }]);
    const alarms = snapshot.find((s) => s.Sid === "ReadAlarmStates")!;
    const names = model.metrics.flatMap((m) => m.alarms.map((a) => a.name));
    assert.ok(names.includes("dev-web-pageViews-low"));
    assert.deepEqual(alarms.Resource, names.map((n) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${n}`));
    const publisher = statements(own(T.policy, "publisher-policy"));
    assert.deepEqual(
      publisher.map((s) => [s.Sid, s.Action]),
      [
        ["ReadSourceStream", ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]],
        ["ListTableStreams", ["dynamodb:ListStreams"]],
        ["WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"]],
        ["ParkFailedBatches", ["sqs:SendMessage"]],
        ["PublishLiveCounters", ["appsync:EventPublish"]],
      ],
    );
    const appPolicies = mocks.ofType(T.policy).filter((p) => p.name.startsWith("web-live"));
    assert.equal(appPolicies.length, 2, "the snapshot's and the publisher's: the app has no other role");
    for (const p of appPolicies) {
      for (const s of statements(p)) {
        assert.equal(s.Effect, "Allow");
        for (const r of list(s.Resource)) assert.match(r, /^arn:aws:[a-z-]+:eu-west-1:123456789012:[^*]+(\/\*|:\*)?$/, `${p.name} ${s.Sid}: ${r}`);
        for (const a of list(s.Action)) assert.ok(!a.includes("*"), `${p.name} ${s.Sid}: ${a} is a wildcard`);
      }
    }
  });

  it("makes a Cognito user of every viewer, invited by email to the app's URL, and nobody can sign up", () => {
    assert.match(url, /^https:\/\/web-live-cdn-id\.cloudfront\.net\/$/);
    const users = mocks.ofType(T.user).filter((u) => u.name.startsWith("web-live"));
    assert.deepEqual(
      users.map((u) => [u.inputs.username, u.inputs.attributes, u.inputs.desiredDeliveryMediums, u.inputs.userPoolId]),
      [
        ["ann@example.com", { email: "ann@example.com", email_verified: "true" }, ["EMAIL"], own(T.pool).id],
        ["Bob@Example.org", { email: "Bob@Example.org", email_verified: "true" }, ["EMAIL"], own(T.pool).id],
      ],
    );
    const pool = own(T.pool).inputs;
    assert.equal(pool.adminCreateUserConfig.allowAdminCreateUserOnly, true);
    const invite: string = pool.adminCreateUserConfig.inviteMessageTemplate.emailMessage;
    for (const part of ["{username}", "{####}", url]) assert.ok(invite.includes(part), `the invite lacks ${part}`);
    assert.deepEqual(pool.usernameAttributes, ["email"]);
    assert.deepEqual(pool.accountRecoverySetting, { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] });
    assert.ok(pool.passwordPolicy.minimumLength >= 12);
    assert.equal(pool.deletionProtection, "INACTIVE");
    const domain = own(T.domain).inputs;
    assert.deepEqual([domain.domain, domain.managedLoginVersion, domain.userPoolId], [`dev-web-live-${ACCOUNT}`, 1, own(T.pool).id]);
    for (const word of ["aws", "amazon", "cognito"]) assert.ok(!domain.domain.includes(word));
    const client = own(T.client).inputs;
    assert.equal(client.generateSecret, false);
    assert.deepEqual([client.allowedOauthFlows, client.allowedOauthScopes, client.supportedIdentityProviders], [["code"], ["openid", "email"], ["COGNITO"]]);
    assert.deepEqual([client.callbackUrls, client.logoutUrls], [[url], [url]]);
    assert.equal(client.allowedOauthFlowsUserPoolClient, true);
    assert.equal(client.preventUserExistenceErrors, "ENABLED");
  });

  it("uploads the page and writes config.json from the deployed endpoints", () => {
    const objects = mocks.ofType(T.object).filter((o) => o.name.startsWith("web-live"));
    assert.deepEqual(objects.map((o) => o.inputs.key).sort(), ["app.js", "config.json", "index.html"]);
    for (const o of objects) assert.equal(o.inputs.bucket, own(T.bucket, "site-bucket").id);
    const index = objects.find((o) => o.inputs.key === "index.html")!.inputs;
    assert.deepEqual([index.contentType, index.cacheControl], ["text/html; charset=utf-8", "no-cache"]);
    // The page pins this API's exact origins in a second policy, first thing in its head.
    const signIn = `https://dev-web-live-${ACCOUNT}.auth.${REGION}.amazoncognito.com`;
    const pinned = `connect-src 'self' https://web-live-events-id.appsync-api.${REGION}.amazonaws.com wss://web-live-events-id.appsync-realtime-api.${REGION}.amazonaws.com ${signIn}`;
    assert.equal(index.content, web.files[0].content.replace("<head>", `<head>\n<meta http-equiv="Content-Security-Policy" content="${pinned}">`));
    assert.equal(objects.find((o) => o.inputs.key === "app.js")!.inputs.content, web.files[1].content);
    const parsed = JSON.parse(config) as LiveConfig;
    assert.deepEqual(parsed, {
      snapshotUrl: "api/snapshot",
      events: { realtimeUrl: `wss://web-live-events-id.appsync-realtime-api.${REGION}.amazonaws.com/event/realtime`, httpHost: `web-live-events-id.appsync-api.${REGION}.amazonaws.com`, channel: "/live/counters" },
      auth: { region: REGION, userPoolId: own(T.pool).id, clientId: own(T.client).id, domain: `https://dev-web-live-${ACCOUNT}.auth.${REGION}.amazoncognito.com` },
    });
    const object = own(T.object, "-config").inputs;
    assert.deepEqual([object.contentType, object.cacheControl], ["application/json", "no-cache"]);
  });

  it("gives the snapshot function the table, state table, granularity, stack, pipeline and thresholds", () => {
    assert.deepEqual(own(T.fn, "snapshot-function").inputs.environment.variables, {
      COUNTER_TABLE: "web-counters",
      STATE_TABLE: "web-state",
      GRANULARITY: "minute",
      STACK: "dev",
      PIPELINE: "web",
      ALARM_THRESHOLDS: '{"pageViews.low":2}',
    });
  });

  it("gives a second pipeline an app of its own: nothing shared, no name twice", () => {
    const apps = mocks.resources.filter((r) => r.type !== "pulumi:providers:aws");
    const urns = apps.map((r) => `${r.type}::${r.name}`);
    assert.equal(new Set(urns).size, urns.length);
    for (const r of apps) assert.match(r.name, /^(web|shop)-live(-|$)/);
    for (const [type, key] of [
      [T.pool, "name"],
      [T.domain, "domain"],
      [T.events, "name"],
      [T.httpApi, "name"],
      [T.headers, "name"],
      [T.oac, "name"],
      [T.distribution, "comment"],
      [T.namespace, "apiId"],
    ] as const) {
      const values = mocks.ofType(type).map((r) => r.inputs[key]);
      assert.equal(values.length, 2, type);
      assert.equal(new Set(values).size, 2, `${type} ${key}: ${values.join(", ")}`);
    }
    const shop = mocks.ofType(T.pool).find((p) => p.name.startsWith("shop"))!.inputs;
    assert.equal(shop.deletionProtection, "ACTIVE", "protectData keeps the pool");
    const shopBucket = mocks.ofType(T.bucket).find((b) => b.name.startsWith("shop"))!.inputs;
    assert.equal(shopBucket.forceDestroy, false);
    assert.deepEqual(
      mocks.ofType(T.user).filter((u) => u.name.startsWith("shop")).map((u) => u.inputs.username),
      ["ann@example.com"],
    );
  });
});

describe("LiveApp refuses bad arguments up front", () => {
  before(async () => {
    await pulumi.runtime.setMocks(new RecordingMocks(), PROJECT, "unit", false);
  });
  const refuses = (overrides: Partial<LiveAppArgs>, pattern: RegExp) => assert.throws(() => new LiveApp("x-live", appArgs("web", overrides)), pattern);

  it("a page without index.html, or one carrying its own config.json", () => {
    refuses({ files: [] }, /LiveApp x-live: files lack index.html/);
    const page = fixturePage(appArgs("web").model);
    refuses({ files: [...page, { ...page[0], path: "config.json" }] }, /files include config.json, which the component writes/);
    refuses({ files: [...page, page[1]] }, /files list a path twice/);
    refuses({ files: [...page, { ...page[1], path: "../up.js" }] }, /"..\/up.js" must be a relative path/);
    refuses({ files: [{ ...page[0], content: "<p>hi</p>" }] }, /index.html has no <head>, where the component pins the push channel's origins/);
  });

  it("a viewer that isn't an email address, or one listed twice", () => {
    refuses({ viewers: ["ann@example.com", "nope"] }, /viewers\[1\] "nope" is not an email address/);
    refuses({ viewers: ["ann@example.com", "ANN@example.com"] }, /viewers list an address twice/);
  });

  it("a hosted UI prefix Cognito would refuse", () => {
    refuses({ stack: "aws-dev" }, /contains "aws", which Cognito reserves; pass domainPrefix without it/);
    refuses({ domainPrefix: "my-amazon-app" }, /contains "amazon"/);
    refuses({ domainPrefix: "Live_App" }, /must be lowercase letters, digits and hyphens/);
    refuses({ stack: "a".repeat(50) }, /at most 63 characters/);
    assert.doesNotThrow(() => new LiveApp("y-live", appArgs("web", { domainPrefix: "web-live-counters" })));
  });

  it("publisher settings outside what the mapping takes or the page can use", () => {
    refuses({ publisher: { maximumRecordAgeSeconds: 30 } }, /publisher.maximumRecordAgeSeconds is 30, must be a whole number from 60 to 3600/);
    refuses({ publisher: { maximumRetryAttempts: -1 } }, /publisher.maximumRetryAttempts is -1/);
    refuses({ throttle: { rateLimit: 0, burstLimit: 5 } }, /throttle.rateLimit is 0/);
    refuses({ snapshotTimeoutSeconds: 45 }, /snapshotTimeoutSeconds is 45, must be a whole number from 1 to 30/);
  });

  it("StreamFunction refuses filter criteria Lambda would refuse", () => {
    const args = { code, sourceArn: "x", sourceKind: "dynamodb" as const, statements: [], mapping: { batchSize: 1, batchingWindowSeconds: 0, startingPosition: "LATEST" as const, maximumRetryAttempts: 0, maximumRecordAgeSeconds: 60, parallelizationFactor: 1 } };
    assert.throws(() => new StreamFunction("f1", { ...args, filterCriteria: { filters: [] } }), /filterCriteria.filters has 0 filters; Lambda takes 1 to 5/);
    assert.throws(() => new StreamFunction("f2", { ...args, filterCriteria: { filters: [{ pattern: "INSERT" }] } }), /filterCriteria.filters\[0\].pattern must be a JSON object/);
  });
});
