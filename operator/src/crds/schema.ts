/**
 * The vocabulary of the CRD sources: an OpenAPI v3 schema node as Kubernetes accepts it in a structural schema, and
 * CEL rules that carry a TypeScript twin (`check`) so ajv-side validation (operator, `dtk validate`) enforces the same
 * rule the API server does. The generator strips `check` before writing YAML.
 */

/** A CEL validation rule (`x-kubernetes-validations` entry), plus its TypeScript twin. */
export interface CelRule {
  /** The CEL expression, evaluated by the API server with `self` (and `oldSelf` for transition rules). */
  rule: string;
  /** Shown to the user; names the field and says what to do. */
  message: string;
  /** Path (relative to the node) the error is reported at; makes the message name the offending field. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /**
   * The same rule in TypeScript, for validation outside the API server. Returns true when the value is valid.
   * Transition rules (those using `oldSelf`) get the old value; they are skipped when there is none.
   */
  check?: (self: unknown, oldSelf?: unknown) => boolean;
}

/** An OpenAPI v3 schema node, restricted to what structural schemas allow and we use. */
export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  additionalProperties?: SchemaNode;
  enum?: (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: CelRule[];
}

/** Whether a rule compares against the previous object (a transition rule). */
export function isTransitionRule(rule: CelRule): boolean {
  return /\boldSelf\b/.test(rule.rule);
}

/** A Go-style duration (`30s`, `5m`, `1h30m`, `250ms`), as the API server's `duration()` CEL function parses it. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/** A duration string schema with a default and a description. */
export function duration(description: string, defaultValue?: string): SchemaNode {
  const node: SchemaNode = { type: 'string', pattern: DURATION_PATTERN, maxLength: 32, description };
  if (defaultValue !== undefined) node.default = defaultValue;
  return node;
}

/** A map of strings (labels, annotations). */
export function stringMap(description: string): SchemaNode {
  return { type: 'object', description, additionalProperties: { type: 'string' } };
}

/** The standard `conditions` list of a status. */
export function conditionsSchema(description: string): SchemaNode {
  return {
    type: 'array',
    description,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    items: {
      type: 'object',
      required: ['type', 'status'],
      properties: {
        type: { type: 'string', description: 'Condition type, e.g. Ready.' },
        status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
        reason: { type: 'string', description: 'CamelCase reason for the last transition.' },
        message: { type: 'string', description: 'What happened and, when False, what to fix.' },
        observedGeneration: { type: 'integer', description: 'The .metadata.generation this condition was set for.' },
        lastTransitionTime: { type: 'string', format: 'date-time' },
      },
    },
  };
}

/** True when a value is a plain object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
