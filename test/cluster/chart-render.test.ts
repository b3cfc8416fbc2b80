/**
 * What `helm template` makes of charts/dtk, read object by object: the operator Deployment meets Pod Security
 * "restricted", the RBAC has no wildcards and keeps status and finalizers apart, and each optional part appears
 * only when asked for and fits what it points at.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHART_DIR, findObject, renderObjects } from '../chart/chart.ts';
import type { K8sObject } from '../chart/chart.ts';
import { assertRestrictedPodSpec, podSpecOf, rulesOf } from '../chart/assertions.ts';

const NS = 'dtk-system';
const ci = (name: string) => join(CHART_DIR, 'ci', `${name}-values.yaml`);

function kinds(objects: K8sObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

/** The container fields these tests read. */
interface ContainerView {
  image: string;
  env: { name: string; value?: string }[];
  volumeMounts: { mountPath: string }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}

function container(deployment: K8sObject): ContainerView {
  const c = podSpecOf(deployment).containers[0];
  assert.ok(c, 'the Deployment has a container');
  return c as unknown as ContainerView;
}

function envOf(deployment: K8sObject): Record<string, string | undefined> {
  return Object.fromEntries(container(deployment).env.map((e) => [e.name, e.value]));
}

describe('charts/dtk rendered with its default values', async () => {
  const objects = await renderObjects({ release: 'dtk', namespace: NS });
  const deployment = findObject(objects, 'Deployment', 'dtk');

  it('makes the operator, its identity and RBAC, a metrics Service and a disruption budget, and nothing optional', () => {
    assert.deepEqual(kinds(objects), [
      'ClusterRole/dtk',
      'ClusterRoleBinding/dtk',
      'Deployment/dtk',
      'PodDisruptionBudget/dtk',
      'Role/dtk-leader-election',
      'RoleBinding/dtk-leader-election',
      'Service/dtk-metrics',
      'ServiceAccount/dtk',
    ]);
  });

  it('labels every object as part of dtk and puts namespaced ones in the release namespace', () => {
    for (const o of objects) {
      assert.equal(o.metadata.labels?.['app.kubernetes.io/part-of'], 'dtk', `${o.kind}/${o.metadata.name}`);
      assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], 'dtk', `${o.kind}/${o.metadata.name}`);
      if (!o.kind.startsWith('Cluster')) assert.equal(o.metadata.namespace, NS, `${o.kind}/${o.metadata.name}`);
    }
  });

  it('runs two operator replicas that elect a leader on a Lease in the release namespace', () => {
    assert.equal((deployment.spec as { replicas: number }).replicas, 2);
    const env = envOf(deployment);
    assert.equal(env.DTK_OPERATOR_LEADER_ELECTION, 'true');
    assert.equal(env.DTK_OPERATOR_LEASE_NAME, 'dtk-leader');
    assert.equal(env.DTK_OPERATOR_LEASE_NAMESPACE, NS);
    const role = findObject(objects, 'Role', 'dtk-leader-election');
    const named = rulesOf(role).find((r) => r.resourceNames?.length);
    assert.deepEqual(named?.resourceNames, ['dtk-leader'], 'the Role limits lease updates to that one Lease');
    assert.equal(findObject(objects, 'RoleBinding').metadata.namespace, NS);
  });

  it('meets Pod Security "restricted": non-root, read-only root filesystem, no escalation, no capabilities, seccomp', () => {
    assertRestrictedPodSpec(podSpecOf(deployment));
    const c = container(deployment);
    assert.ok(c.volumeMounts.some((m) => m.mountPath === '/tmp'), 'a writable /tmp on the read-only root filesystem');
  });

  it('runs the image of the chart appVersion with requests, limits and probes on named ports', () => {
    const c = container(deployment);
    assert.equal(c.image, 'dtk/operator:0.1.0');
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    const ports = c.ports.map((p) => p.name);
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'health' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'health' });
    assert.ok(ports.includes('health') && ports.includes('metrics'));
  });

  it('grants no wildcards, and keeps status and finalizers in rules of their own', () => {
    for (const o of objects.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) {
      for (const rule of rulesOf(o)) {
        for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames ?? []]) {
          assert.ok(!field.some((v) => v.includes('*')), `${o.kind}/${o.metadata.name} has a wildcard: ${JSON.stringify(rule)}`);
        }
      }
    }
    const rules = rulesOf(findObject(objects, 'ClusterRole'));
    for (const sub of ['status', 'finalizers']) {
      const holding = rules.filter((r) => r.resources.some((res) => res.endsWith(`/${sub}`)));
      assert.equal(holding.length, 1, `one rule for /${sub}`);
      assert.ok(holding[0]?.resources.every((res) => res.endsWith(`/${sub}`)), `the /${sub} rule grants nothing else`);
    }
    const finalizers = rules.find((r) => r.resources.some((res) => res.endsWith('/finalizers')));
    assert.deepEqual(finalizers?.verbs, ['update']);
  });

  it('points the metrics Service at the operator pods and their metrics port', () => {
    const service = findObject(objects, 'Service', 'dtk-metrics') as K8sObject & {
      spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
    };
    const podLabels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(podLabels[k], v, `selector ${k}`);
    assert.equal(service.spec.ports[0]?.targetPort, 'metrics');
  });
});

describe('charts/dtk rendered with every option on (ci/full-values.yaml)', async () => {
  const objects = await renderObjects({ release: 'dtk', namespace: NS, valuesFiles: [ci('full')] });

  it('adds a ServiceMonitor that scrapes the metrics Service by its labels and port name', () => {
    const monitor = findObject(objects, 'ServiceMonitor') as K8sObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    };
    const service = findObject(objects, 'Service', 'dtk-metrics');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels?.[k], v);
    assert.deepEqual(monitor.spec.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
    assert.equal(monitor.metadata.labels?.release, 'prometheus');
  });

  it('adds a NetworkPolicy that lets in scrapes only and lets out DNS, the API server and Postgres', () => {
    const policy = findObject(objects, 'NetworkPolicy') as K8sObject & {
      spec: {
        ingress: { from?: unknown[]; ports: { port: string | number }[] }[];
        egress: { to?: unknown[]; ports: { port: number; protocol: string }[] }[];
      };
    };
    assert.deepEqual(policy.spec.ingress.map((r) => r.ports.map((p) => p.port)), [['metrics']]);
    assert.ok(policy.spec.ingress[0]?.from, 'metricsFrom limits who may scrape');
    const egressPorts = policy.spec.egress.flatMap((r) => r.ports.map((p) => `${p.port}/${p.protocol}`));
    assert.deepEqual(egressPorts.sort(), ['443/TCP', '5432/TCP', '53/TCP', '53/UDP', '6443/TCP'].sort());
    assert.ok(policy.spec.egress.find((r) => r.ports.some((p) => p.port === 5432))?.to, 'postgresTo limits Postgres');
  });

  it('adds a sample TaskHub with a managed Postgres of the size asked for', () => {
    const hub = findObject(objects, 'TaskHub', 'demo') as K8sObject & {
      spec: { postgres: { managed: { storage: { size: string } } }; deletionPolicy: string };
    };
    assert.equal(hub.apiVersion, 'durabletask.dev/v1alpha1');
    assert.equal(hub.spec.postgres.managed.storage.size, '2Gi');
    assert.equal(hub.spec.deletionPolicy, 'Delete');
  });

  it('pins the image by digest, mounts the extra volumes and keeps the restricted security settings', () => {
    const deployment = findObject(objects, 'Deployment');
    assert.match(container(deployment).image, /^registry\.example\.com\/dtk\/operator@sha256:[0-9a-f]{64}$/);
    assertRestrictedPodSpec(podSpecOf(deployment));
    assert.deepEqual(
      container(deployment).env.filter((e) => e.name === 'TZ'),
      [{ name: 'TZ', value: 'UTC' }],
    );
    assert.ok(container(deployment).volumeMounts.some((m) => m.mountPath === '/etc/dtk/postgres-ca'));
    assert.ok(podSpecOf(deployment).volumes?.some((v) => v.name === 'postgres-ca'));
  });
});

describe('charts/dtk rendered as one process without chart-managed RBAC (ci/single-replica-values.yaml)', async () => {
  const objects = await renderObjects({ release: 'dtk', namespace: NS, valuesFiles: [ci('single-replica')] });

  it('makes only the Deployment, which runs without leader election as the named ServiceAccount', () => {
    assert.deepEqual(kinds(objects), ['Deployment/dtk']);
    const deployment = findObject(objects, 'Deployment');
    assert.equal((deployment.spec as { replicas: number }).replicas, 1);
    assert.equal(envOf(deployment).DTK_OPERATOR_LEADER_ELECTION, 'false');
    assert.equal(podSpecOf(deployment).serviceAccountName, 'dtk-operator');
    assert.equal(podSpecOf(deployment).affinity, undefined, 'no anti-affinity for a single replica');
  });
});

describe('charts/dtk rendered for one watched namespace (operator.watchNamespace)', async () => {
  const objects = await renderObjects({ release: 'dtk', namespace: NS, values: { operator: { watchNamespace: 'apps' } } });

  it('grants the reconcilers a Role in that namespace only, and tells the operator to watch just it', () => {
    assert.ok(!objects.some((o) => o.kind.startsWith('Cluster')), 'no cluster-wide RBAC');
    assert.equal(findObject(objects, 'Role', 'dtk').metadata.namespace, 'apps');
    const binding = findObject(objects, 'RoleBinding', 'dtk') as K8sObject & { subjects: { namespace: string }[] };
    assert.equal(binding.metadata.namespace, 'apps');
    assert.equal(binding.subjects[0]?.namespace, NS, 'the ServiceAccount stays in the release namespace');
    assert.equal(envOf(findObject(objects, 'Deployment')).DTK_OPERATOR_WATCH_NAMESPACE, 'apps');
    assert.equal(findObject(objects, 'Role', 'dtk-leader-election').metadata.namespace, NS, 'the Lease stays home');
  });

  it('puts the sample TaskHub where the operator looks', async () => {
    const withHub = await renderObjects({
      release: 'dtk',
      namespace: NS,
      values: { operator: { watchNamespace: 'apps' }, sampleHub: { enabled: true } },
    });
    assert.equal(findObject(withHub, 'TaskHub', 'sample').metadata.namespace, 'apps');
  });
});
