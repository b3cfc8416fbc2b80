/**
 * How each golden history was recorded: which orchestration, its input, what the activities did
 * and what arrived from outside, on the simulated clock. `record.ts` runs these through the
 * simulator; the golden test only reads the JSON files they produced.
 */
import { at } from '../unit/fixtures/history.ts';
import type { SimulationOptions } from '../unit/fixtures/simulator.ts';

/** A golden scenario: simulation options without the registry (always goldenRegistry()). */
export interface GoldenScenario extends Omit<SimulationOptions, 'registry'> {
  scenario: string;
  description: string;
}

const HOUR = 3_600_000;

export const SCENARIOS: GoldenScenario[] = [
  {
    scenario: 'chain',
    description: 'Three activities in sequence, each fed the previous result.',
    name: 'chain',
    instanceId: 'golden-chain',
    input: 'Lisbon',
    activities: {
      greet: (city) => `Hello ${String(city)}`,
      upper: (s) => String(s).toUpperCase(),
      exclaim: (s) => `${String(s)}!`,
    },
  },
  {
    scenario: 'fan-out',
    description: 'Fan-out over four files with whenAll, fan-in with a sum activity; custom status per phase.',
    name: 'fanOut',
    instanceId: 'golden-fan-out',
    input: ['alpha.txt', 'b.txt', 'gamma-delta.txt', 'e.txt'],
    activities: {
      countWords: (file) => String(file).length,
      sum: (counts) => (counts as number[]).reduce((a, b) => a + b, 0),
    },
  },
  {
    scenario: 'timer',
    description: 'A durable timer one hour ahead (absolute Date), then an activity.',
    name: 'reminder',
    instanceId: 'golden-timer',
    input: { user: 'ada', delayMs: HOUR },
    activities: { sendReminder: (user) => `reminded ${String(user)}` },
  },
  {
    scenario: 'event-timeout',
    description: 'waitForExternalEvent with a one-day timeout; nobody answers, the timeout is caught and escalated.',
    name: 'approval',
    instanceId: 'golden-event-timeout',
    input: { id: 'PO-17', timeoutMs: 24 * HOUR },
    activities: { requestApproval: () => undefined, escalate: () => 'manager' },
  },
  {
    scenario: 'event-in-time',
    description:
      'waitForExternalEvent with a one-day timeout; the answer arrives after an hour (differently cased name).',
    name: 'approval',
    instanceId: 'golden-event-in-time',
    input: { id: 'PO-18', timeoutMs: 24 * HOUR },
    activities: { requestApproval: () => undefined, escalate: () => 'manager' },
    inbox: [
      {
        afterMs: HOUR,
        event: {
          kind: 'EventRaised',
          timestamp: at(0),
          name: 'approvalresult',
          input: '{"approved":true,"by":"grace"}',
        },
      },
    ],
  },
  {
    scenario: 'retry',
    description:
      'An activity with a retry policy fails twice and succeeds on the third attempt (timers at +2 s, +4 s).',
    name: 'retryPayment',
    instanceId: 'golden-retry',
    input: 120,
    activities: {
      charge: (amount, { attempt }) => {
        if (attempt < 3) throw new Error(`gateway timeout (attempt ${attempt})`);
        return `receipt for ${String(amount)}`;
      },
    },
  },
  {
    scenario: 'sub-orchestration',
    description: 'Three sub-orchestrations started together; one fails and the parent records the failure.',
    name: 'shipOrders',
    instanceId: 'golden-sub',
    input: ['A-1', 'B-2', 'C-3'],
    activities: {
      printLabel: (order) => {
        if (order === 'B-2') throw new Error('no address on file');
        return `label-${String(order)}`;
      },
    },
  },
  {
    scenario: 'continue-as-new',
    description: 'An eternal counter: two events arrive in one batch; the first is consumed, the second carried over.',
    name: 'counter',
    instanceId: 'golden-counter',
    input: { total: 0 },
    inbox: [
      { afterMs: 10_000, event: { kind: 'EventRaised', timestamp: at(0), name: 'add', input: '5' } },
      { afterMs: 10_000, event: { kind: 'EventRaised', timestamp: at(0), name: 'add', input: '7' } },
    ],
  },
  {
    scenario: 'monitor-terminated',
    description:
      'A monitor loop with a child, sendEvent, timers and custom status; ' +
      'suspended, resumed, then terminated recursively.',
    name: 'monitor',
    instanceId: 'golden-monitor',
    input: 'svc-1',
    activities: { check: (_t, { attempt }) => attempt !== 1 },
    inbox: [
      { afterMs: 90_000, event: { kind: 'ExecutionSuspended', timestamp: at(0), reason: 'maintenance' } },
      { afterMs: 200_000, event: { kind: 'ExecutionResumed', timestamp: at(0) } },
      {
        afterMs: 300_000,
        event: { kind: 'ExecutionTerminated', timestamp: at(0), reason: '"decommissioned"', recurse: true },
      },
    ],
  },
];
