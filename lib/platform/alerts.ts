import { Aspects, CfnOutput, Duration, type IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, type IConstruct } from 'constructs';

export interface PlatformAlertsProps {
  /** Stage name, in the topic's display name and the output's export name. */
  readonly stage: string;
  /** Address subscribed to the topic (AWS asks it to confirm once). @default - no subscription */
  readonly email?: string;
}

/** What other constructs may depend on: the topic, and a grant to publish to it. */
export interface IPlatformAlerts {
  /** Receives every alarm's state changes and the pipeline's failure notices. */
  readonly topic: sns.ITopic;
  /** Lets a principal publish to the topic (with its encryption key). */
  grantPublish(grantee: iam.IGrantable): iam.Grant;
}

/**
 * The platform's one alert topic, KMS-encrypted and SSL-only, with an optional e-mail
 * subscription and its ARN as a stack output, for a pager, chat or ticket integration to
 * subscribe to. Every CloudWatch alarm in the stack, whichever area adds it and whenever,
 * notifies the topic on ALARM and on OK (so whoever was paged sees it recover).
 *
 * @example
 * const alerts = new PlatformAlerts(this, 'Alerts', { stage: 'prod', email: 'oncall@example.com' });
 * alerts.grantPublish(stateMachine);
 */
export class PlatformAlerts extends Construct implements IPlatformAlerts {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: PlatformAlertsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: `mlops ${props.stage} alert topic`,
      enableKeyRotation: true,
      // The key encrypts notices in transit only: nothing to keep once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch publishes alarm notices itself, so the key policy must let it use the key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `mlops ${props.stage} alerts`,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    const output = new CfnOutput(this, 'TopicArn', {
      description: 'SNS topic of the platform alerts: subscribe a pager, chat or e-mail to it',
      value: this.topic.topicArn,
      exportName: `mlops-${props.stage}-alert-topic-arn`,
    });
    // A stable output name for scripts and docs, wherever the construct sits.
    output.overrideLogicalId('AlertTopicArn');
    Aspects.of(stack).add(new AlarmActions(this.topic));
  }

  grantPublish(grantee: iam.IGrantable): iam.Grant {
    // Exact KMS actions rather than CDK's `GenerateDataKey*`: publishing needs only these two.
    this.key.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['sns:Publish'],
      resourceArns: [this.topic.topicArn],
      resource: this.topic,
    });
  }
}

/** Sends every alarm of the scope to a topic on ALARM and OK, however it was created. */
export class AlarmActions implements IAspect {
  private readonly action: actions.SnsAction;
  private readonly done = new WeakSet<IConstruct>();

  constructor(private readonly topic: sns.ITopic) {
    this.action = new actions.SnsAction(topic);
  }

  visit(node: IConstruct): void {
    if (this.done.has(node)) return;
    if (node instanceof cloudwatch.AlarmBase) {
      this.done.add(node);
      node.addAlarmAction(this.action);
      node.addOkAction(this.action);
    } else if (node instanceof cloudwatch.CfnAlarm || node instanceof cloudwatch.CfnCompositeAlarm) {
      // An L2 alarm's own resource is handled through its construct above.
      if (node.node.scope instanceof cloudwatch.AlarmBase) return;
      this.done.add(node);
      node.alarmActions = [...(node.alarmActions ?? []), this.topic.topicArn];
      node.okActions = [...(node.okActions ?? []), this.topic.topicArn];
    }
  }
}
