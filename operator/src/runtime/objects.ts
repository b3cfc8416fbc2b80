/** The shapes of the built-in objects the operator reads, reduced to the fields it uses. */
import type { KubeObject } from './kube.ts';

/** A core/v1 Secret (`data` values are base64). */
export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** An apps/v1 Deployment. */
export interface Deployment extends KubeObject {
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: Record<string, unknown>;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** An apps/v1 StatefulSet. */
export interface StatefulSet extends KubeObject {
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; replicas?: number; observedGeneration?: number };
}

/** A Secret value decoded from base64, or undefined. */
export function secretValue(secret: Secret | undefined, key: string): string | undefined {
  const raw = secret?.data?.[key];
  return raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
}

/** Encodes string values for a Secret's `data`. */
export function secretData(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
}
