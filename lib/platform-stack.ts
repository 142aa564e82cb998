import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PlatformConfig } from './config';
import { MlopsPlatform } from './platform';

export interface MlopsPlatformStackProps extends StackProps {
  readonly config: PlatformConfig;
}

/** One deployable stack holding the whole platform for one stage. */
export class MlopsPlatformStack extends Stack {
  readonly platform: MlopsPlatform;

  constructor(scope: Construct, id: string, props: MlopsPlatformStackProps) {
    super(scope, id, props);
    this.platform = new MlopsPlatform(this, 'Platform', { config: props.config });
    Tags.of(this).add('project', 'serverless-mlops');
    Tags.of(this).add('stage', props.config.stage);
  }
}

/** The stack's name for a stage. */
export function stackName(stage: string): string {
  return `mlops-${stage}`;
}
