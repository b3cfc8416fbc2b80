/**
 * An operator running inside the test process against the test control plane, scoped to one namespace, with short
 * poll and resync periods. Cluster tests use it to exercise the reconcilers without a kubelet.
 */
import { pino } from 'pino';
import type { ControlPlane } from '../../../test/harness/cluster/index.ts';
import { Operator } from '../../src/operator.ts';
import { KubeClient } from '../../src/runtime/kube.ts';
import { createOperatorMetrics } from '../../src/runtime/metrics.ts';
import type { OperatorMetrics } from '../../src/runtime/metrics.ts';

/** A started in-process operator. */
export interface TestOperator {
  operator: Operator;
  client: KubeClient;
  metrics: OperatorMetrics;
  stop(): Promise<void>;
}

/** Starts the controllers for `namespace`; stop() it in a finally. */
export async function startTestOperator(cp: ControlPlane, namespace: string, options: { pollMs?: number } = {}): Promise<TestOperator> {
  const client = new KubeClient(cp.kubeConfig);
  const metrics = createOperatorMetrics();
  const level = process.env.DTK_TEST_OPERATOR_LOG ?? 'silent';
  const operator = new Operator({
    client,
    logger: pino({ level, base: { namespace } }),
    metrics,
    identity: `test-${namespace}`,
    namespace,
    resyncMs: 30_000,
    pollMs: options.pollMs ?? 500,
    workers: 2,
  });
  await operator.start();
  return { operator, client, metrics, stop: () => operator.stop() };
}
