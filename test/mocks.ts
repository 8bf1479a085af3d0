import * as pulumi from "@pulumi/pulumi";

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
/** The AWS-managed key behind `alias/aws/kinesis`, as `aws:kms/getAlias` answers it. */
export const KINESIS_KEY_ID = "0b7e2a34-5c1d-4e8f-9a6b-2c3d4e5f6a7b";
export const KINESIS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KINESIS_KEY_ID}`;

export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  readonly provider?: string;
  readonly id: string;
}

/** Plausible outputs AWS would compute, so downstream inputs look like the real thing. */
function computedState(args: pulumi.runtime.MockResourceArgs, id: string): Record<string, unknown> {
  const i = args.inputs;
  const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
  switch (args.type) {
    case "aws:kinesis/stream:Stream":
      return { name: id, arn: arn("kinesis", `stream/${id}`) };
    case "aws:dynamodb/table:Table":
      return { name: id, arn: arn("dynamodb", `table/${id}`), streamArn: arn("dynamodb", `table/${id}/stream/2026-11-21T00:00:00.000`) };
    case "aws:s3/bucket:Bucket":
      return { bucket: id, arn: `arn:aws:s3:::${id}`, bucketRegionalDomainName: `${id}.s3.${REGION}.amazonaws.com` };
    case "aws:sqs/queue:Queue":
      return { name: id, arn: arn("sqs", id), url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}` };
    case "aws:iam/role:Role":
      return { name: id, arn: `arn:aws:iam::${ACCOUNT}:role/${id}` };
    case "aws:lambda/function:Function":
      return { name: id, arn: arn("lambda", `function:${id}`) };
    case "aws:lambda/eventSourceMapping:EventSourceMapping":
      return { uuid: `uuid-${id}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { name: id, arn: arn("logs", `log-group:${id}`) };
    case "aws:sns/topic:Topic":
      return { name: id, arn: arn("sns", id) };
    case "aws:kms/key:Key":
      return { keyId: id, arn: arn("kms", `key/${id}`) };
    case "aws:cloudwatch/dashboard:Dashboard":
      return { dashboardName: i.dashboardName, dashboardArn: `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${i.dashboardName}` };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { arn: arn("cloudwatch", `alarm:${i.name}`) };
    case "aws:cloudwatch/eventRule:EventRule":
      return { name: id, arn: arn("events", `rule/${id}`) };
    case "aws:cloudwatch/logStream:LogStream":
      return { name: i.name ?? id, arn: arn("logs", `log-group:${i.logGroupName}:log-stream:${i.name ?? id}`) };
    case "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
      return { name: i.name ?? id, arn: arn("firehose", `deliverystream/${i.name ?? id}`) };
    case "aws:glue/catalogDatabase:CatalogDatabase":
      return { name: i.name, arn: arn("glue", `database/${i.name}`) };
    case "aws:glue/catalogTable:CatalogTable":
      return { name: i.name, arn: arn("glue", `table/${i.databaseName}/${i.name}`) };
    case "aws:athena/workgroup:Workgroup":
      return { name: i.name, arn: arn("athena", `workgroup/${i.name}`) };
    case "aws:athena/namedQuery:NamedQuery":
      return { name: i.name };
    case "aws:cloudfront/distribution:Distribution":
      return { domainName: `${id}.cloudfront.net`, arn: `arn:aws:cloudfront::${ACCOUNT}:distribution/${id}`, hostedZoneId: "Z2FDTNDATAQYW2", status: "Deployed" };
    case "aws:cloudfront/originAccessControl:OriginAccessControl":
      return { arn: `arn:aws:cloudfront::${ACCOUNT}:origin-access-control/${id}`, etag: "E1" };
    case "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy":
      return { etag: "E1" };
    case "aws:appsync/api:Api":
      return { apiId: id, apiArn: arn("appsync", `apis/${id}`), dns: { HTTP: `${id}.appsync-api.${REGION}.amazonaws.com`, REALTIME: `${id}.appsync-realtime-api.${REGION}.amazonaws.com` } };
    case "aws:appsync/channelNamespace:ChannelNamespace":
      return { channelNamespaceArn: arn("appsync", `apis/${i.apiId}/channelNamespace/${i.name}`) };
    case "aws:cognito/userPool:UserPool":
      return { name: i.name, arn: arn("cognito-idp", `userpool/${id}`), endpoint: `cognito-idp.${REGION}.amazonaws.com/${id}` };
    case "aws:cognito/userPoolClient:UserPoolClient":
      return { clientSecret: "" };
    case "aws:cognito/userPoolDomain:UserPoolDomain":
      return { cloudfrontDistribution: `${id}.cloudfront.net`, awsAccountId: ACCOUNT };
    case "aws:cognito/user:User":
      return { sub: `sub-${id}`, status: "FORCE_CHANGE_PASSWORD", enabled: true };
    case "aws:apigatewayv2/api:Api":
      return { apiEndpoint: `https://${id}.execute-api.${REGION}.amazonaws.com`, executionArn: arn("execute-api", id), arn: `arn:aws:apigateway:${REGION}::/apis/${id}` };
    case "aws:apigatewayv2/stage:Stage":
      return { invokeUrl: `https://${i.apiId}.execute-api.${REGION}.amazonaws.com/`, executionArn: arn("execute-api", `${i.apiId}/${i.name}`) };
    default:
      return {};
  }
}

/**
 * Records every resource the program declares and answers only the invokes it knows:
 * an unknown invoke throws, so nothing passes by accident.
 */
export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: Recorded[] = [];

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    const id = `${args.name}-id`;
    this.resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, id });
    return { id, state: { ...args.inputs, ...computedState(args, id) } };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    switch (args.token) {
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "AIDTEST", id: ACCOUNT };
      case "aws:index/getPartition:getPartition":
        return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
      case "aws:index/getRegion:getRegion":
        return { region: REGION, name: REGION, id: REGION, endpoint: `ec2.${REGION}.amazonaws.com` };
      case "aws:kms/getAlias:getAlias":
        // Only the stream's AWS-managed key: any other alias is a lookup nobody meant.
        if (args.inputs.name !== "alias/aws/kinesis") throw new Error(`unmocked alias ${JSON.stringify(args.inputs.name)} for aws:kms/getAlias: only alias/aws/kinesis is answered`);
        return { name: args.inputs.name, arn: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/aws/kinesis`, targetKeyId: KINESIS_KEY_ID, targetKeyArn: KINESIS_KEY_ARN, id: KINESIS_KEY_ARN, region: REGION };
      default:
        throw new Error(`unmocked invoke ${args.token}(${JSON.stringify(args.inputs)}): add it to test/mocks.ts deliberately`);
    }
  }

  ofType(type: string): Recorded[] {
    return this.resources.filter((r) => r.type === type);
  }

  one(type: string, nameIncludes = ""): Recorded {
    const found = this.ofType(type).filter((r) => r.name.includes(nameIncludes));
    if (found.length !== 1) throw new Error(`expected one ${type} named *${nameIncludes}*, found ${found.map((r) => r.name).join(", ") || "none"}`);
    return found[0];
  }
}

export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}
