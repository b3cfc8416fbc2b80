import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadOperatorConfig } from '../../src/config.ts';

describe('operator configuration', () => {
  it('has defaults that match the Helm chart, and a per-process identity', () => {
    const config = loadOperatorConfig({ POD_NAME: 'dtk-0', POD_NAMESPACE: 'dtk-system' });
    assert.match(config.identity, /^dtk-0_[0-9a-f]{8}$/);
    assert.notEqual(loadOperatorConfig({ POD_NAME: 'dtk-0' }).identity, config.identity, 'a restarted pod gets a new identity');
    assert.deepEqual(
      { ...config, identity: undefined },
      {
        identity: undefined,
        watchNamespace: undefined,
        logLevel: 'info',
        httpHost: '0.0.0.0',
        healthPort: 8081,
        metricsPort: 8080,
        resyncSeconds: 300,
        leaderElection: true,
        leaseName: 'dtk-operator-leader',
        leaseNamespace: 'dtk-system',
        leaseDurationSeconds: 15,
        renewIntervalSeconds: 5,
        pollSeconds: 10,
        workers: 2,
        crashAt: [],
        crashDir: undefined,
      },
    );
  });

  it('reads the environment, fractional seconds included', () => {
    const config = loadOperatorConfig({
      DTK_OPERATOR_WATCH_NAMESPACE: 'apps',
      DTK_OPERATOR_HEALTH_PORT: '0',
      DTK_OPERATOR_POLL_SECONDS: '0.5',
      DTK_OPERATOR_LEADER_ELECTION: 'false',
    });
    assert.equal(config.watchNamespace, 'apps');
    assert.equal(config.healthPort, 0);
    assert.equal(config.pollSeconds, 0.5);
    assert.equal(config.leaderElection, false);
  });

  it('lists every problem at once, naming the variable', () => {
    assert.throws(
      () =>
        loadOperatorConfig({
          DTK_OPERATOR_HEALTH_PORT: 'eighty',
          DTK_OPERATOR_LEADER_ELECTION: 'yes',
          DTK_LOG_LEVEL: 'loud',
          DTK_OPERATOR_LEASE_DURATION_SECONDS: '5',
          DTK_OPERATOR_RENEW_INTERVAL_SECONDS: '10',
        }),
      (err: Error) => {
        for (const name of ['DTK_OPERATOR_HEALTH_PORT', 'DTK_OPERATOR_LEADER_ELECTION', 'DTK_LOG_LEVEL', 'DTK_OPERATOR_RENEW_INTERVAL_SECONDS']) {
          assert.match(err.message, new RegExp(name));
        }
        return true;
      },
    );
  });
});
