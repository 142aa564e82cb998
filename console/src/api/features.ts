import { api } from './http';

export interface FeatureRegistry {
  serial: number;
  applied_at: string;
  definitions: {
    entities: { name: string; joinKeys: { name: string; type: string }[]; description?: string }[];
    sources: { name: string; kind: string; columns: { name: string; type: string }[] }[];
    featureViews: {
      name: string;
      entities: string[];
      source: string;
      ttl?: string | number;
      features: { name: string; type: string }[];
      aggregations: { name: string; function: string; window: string | number }[];
      description?: string;
    }[];
    onDemandFeatureViews: { name: string; schema: { name: string; type: string }[] }[];
    featureServices: { name: string; features: string[]; description?: string }[];
  };
  materialization: {
    view: string;
    materialized_until: string | null;
    newest_event: string | null;
    running: boolean;
  }[];
}

export function featureRegistry(): Promise<FeatureRegistry> {
  return api('/features/registry');
}
