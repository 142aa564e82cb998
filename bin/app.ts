#!/usr/bin/env node
// The CDK app: `npx cdk synth|deploy`. Configuration comes from the context key `mlops`
// (cdk.json, or `-c mlops='{"stage":"prod"}'`); lib/config.ts documents every field.
import { buildApp } from '../lib/app';

buildApp(undefined).app.synth();
