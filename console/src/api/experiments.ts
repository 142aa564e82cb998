import { api, seg } from './http';

export interface AbExperiment {
  id: string;
  model: string;
  control_version: string;
  treatment_version: string;
  allocation: { control: number; treatment: number };
  status: string;
  created_at: string;
  started_at?: string;
  stopped_at?: string;
  status_message?: string;
}

type Num = number | null;
interface ComparisonPart {
  control: Num;
  treatment: Num;
  difference: Num;
  difference_ci: [Num, Num];
  relative_lift: Num;
  relative_lift_ci: [Num, Num];
  p_value: Num;
  sequential_p_value: Num;
  significant: boolean;
}
export interface Analysis {
  control: string;
  primary_metric: 'conversion' | 'value';
  alpha: number;
  confidence_level: number;
  mde_relative: number;
  variants: {
    name: string;
    planned_share: number;
    observed_share: Num;
    units: number;
    conversions: number;
    conversion_rate: Num;
    value_mean: Num;
  }[];
  srm: { p_value: Num; mismatch: boolean; threshold: number };
  comparisons: {
    treatment: string;
    conversion: ComparisonPart;
    value: ComparisonPart;
    decision: string;
    reason: string;
  }[];
  decision: string;
  reason: string;
}
export interface ShadowReport {
  model: string;
  shadow_version: string;
  live_versions: string[];
  rows: number;
  scored: number;
  shadow_errors: number;
  agreement_rule: string;
  agreement_rate: number | null;
  mean_abs_diff: number | null;
  max_abs_diff: number | null;
  histogram: { edges: number[]; live: number[]; shadow: number[] };
  divergence: { threshold: number; rate: number | null; divergent: boolean; reason: string };
  errors: string[];
}

export async function listAbExperiments(model: string): Promise<AbExperiment[]> {
  return (await api<{ experiments: AbExperiment[] }>('/v1/experiments', { query: { model } })).experiments;
}

export function analysis(id: string): Promise<Analysis> {
  return api(`/v1/experiments/${seg(id)}/analysis`);
}

export function shadowReport(model: string): Promise<ShadowReport> {
  return api(`/v1/models/${seg(model)}/shadow/report`);
}
