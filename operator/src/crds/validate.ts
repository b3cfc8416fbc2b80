/**
 * Validation of TaskHub and WorkflowDeployment specs outside the API server, with the same schema the CRDs carry:
 * ajv for the OpenAPI part (unknown fields rejected, as the API server's strict field validation does) and each CEL
 * rule's TypeScript twin. The operator validates before acting; a future `dtk validate` calls the same functions.
 */
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { isObject, isTransitionRule } from './schema.ts';
import type { SchemaNode } from './schema.ts';
import { taskHubSpecSchema } from './taskhub.ts';
import { workflowDeploymentSpecSchema } from './workflowdeployment.ts';

/** One reason a spec is invalid; `field` is a dotted path such as `spec.rollout.steps[1].percent`, which `message` starts with. */
export interface SpecProblem {
  field: string;
  message: string;
}

/** A JSON schema for ajv: no Kubernetes extensions, no formats, and objects closed unless they preserve unknowns. */
function toAjvSchema(node: SchemaNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'format' || key === 'description') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, SchemaNode>).map(([k, v]) => [k, toAjvSchema(v)]),
      );
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = toAjvSchema(value as SchemaNode);
    } else {
      out[key] = value;
    }
  }
  if (node.type === 'object' && node.properties && !node.additionalProperties && !node['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true });
const compiled = new Map<SchemaNode, ValidateFunction>();

function compile(schema: SchemaNode): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(toAjvSchema(schema));
    compiled.set(schema, fn);
  }
  return fn;
}

/** `/rollout/steps/0/percent` → `.rollout.steps[0].percent`. */
function jsonPointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('');
}

function celProblems(node: SchemaNode, value: unknown, old: unknown, path: string, out: SpecProblem[]): void {
  if (value === undefined) return;
  for (const rule of node['x-kubernetes-validations'] ?? []) {
    if (!rule.check) continue;
    if (isTransitionRule(rule) && old === undefined) continue;
    let ok: boolean;
    try {
      ok = rule.check(value, old);
    } catch {
      ok = false;
    }
    if (!ok) {
      const field = `${path}${rule.fieldPath ?? ''}`;
      out.push({ field, message: `${field}: ${rule.message}` });
    }
  }
  if (node.properties && isObject(value)) {
    for (const [key, child] of Object.entries(node.properties)) {
      celProblems(child, value[key], isObject(old) ? old[key] : undefined, `${path}.${key}`, out);
    }
  }
  if (node.items && Array.isArray(value)) {
    value.forEach((item, i) => celProblems(node.items as SchemaNode, item, undefined, `${path}[${i}]`, out));
  }
}

function validateSpec(schema: SchemaNode, spec: unknown, oldSpec: unknown): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (!isObject(spec)) return [{ field: 'spec', message: 'spec is required and must be an object' }];
  const fn = compile(schema);
  if (!fn(spec)) {
    for (const e of fn.errors ?? []) {
      const params = e.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
      let field = `spec${jsonPointerToPath(e.instancePath)}`;
      let message = e.message ?? 'is invalid';
      if (params.missingProperty) {
        field += `.${params.missingProperty}`;
        message = 'is required';
      } else if (params.additionalProperty) {
        field += `.${params.additionalProperty}`;
        message = 'is not a known field';
      } else if (params.allowedValues) {
        message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      }
      problems.push({ field, message: `${field}: ${message}` });
    }
  }
  celProblems(schema, spec, oldSpec, 'spec', problems);
  return problems;
}

/**
 * Problems with a TaskHub's spec (empty when valid). Fills in defaults in `spec` as the API server would.
 * Pass the previous spec to check the immutability rules of an update.
 */
export function validateTaskHubSpec(spec: unknown, oldSpec?: unknown): SpecProblem[] {
  return validateSpec(taskHubSpecSchema, spec, oldSpec);
}

/** Problems with a WorkflowDeployment's spec (empty when valid); fills in defaults like {@link validateTaskHubSpec}. */
export function validateWorkflowDeploymentSpec(spec: unknown, oldSpec?: unknown): SpecProblem[] {
  return validateSpec(workflowDeploymentSpecSchema, spec, oldSpec);
}

/** One line per problem, for conditions and CLI output. */
export function describeProblems(problems: readonly SpecProblem[]): string {
  return problems.map((p) => p.message).join('; ');
}
