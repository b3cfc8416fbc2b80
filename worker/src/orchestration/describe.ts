/**
 * Human-readable names for actions and scheduling events, used in nondeterminism messages so the
 * reader sees exactly which recorded step and which new step disagree.
 */
import type { OrchestratorAction } from './actions.ts';
import type { EventOf } from './history.ts';

/** A history event that records an action of this execution. */
export type SchedulingEvent = EventOf<
  'TaskScheduled' | 'TimerCreated' | 'SubOrchestrationInstanceCreated' | 'EventSent'
>;

/** The action kind each scheduling event records. */
export const ACTION_KIND_OF: Record<SchedulingEvent['kind'], OrchestratorAction['kind']> = {
  TaskScheduled: 'ScheduleTask',
  TimerCreated: 'CreateTimer',
  SubOrchestrationInstanceCreated: 'CreateSubOrchestration',
  EventSent: 'SendEvent',
};

/** The name a scheduling event or action is matched on (timers have none). */
export function nameOf(item: SchedulingEvent | OrchestratorAction): string | undefined {
  return 'name' in item ? item.name : undefined;
}

/** E.g. `ScheduleTask 'charge' (id 3)` or `CompleteOrchestration (status Completed)`. */
export function describeAction(action: OrchestratorAction): string {
  if (action.kind === 'CompleteOrchestration') return `CompleteOrchestration (status ${action.status})`;
  const name = nameOf(action);
  return name === undefined ? `${action.kind} (id ${action.id})` : `${action.kind} '${name}' (id ${action.id})`;
}

/** The action a scheduling event says the code created. */
export function describeExpected(event: SchedulingEvent): string {
  const name = nameOf(event);
  const kind = ACTION_KIND_OF[event.kind];
  return name === undefined ? `${kind} (id ${event.eventId})` : `${kind} '${name}' (id ${event.eventId})`;
}

/** Lists actions for a message: `ScheduleTask 'a' (id 1), CreateTimer (id 2)` or `none`. */
export function describeActions(actions: readonly OrchestratorAction[]): string {
  return actions.length === 0 ? 'none' : actions.map(describeAction).join(', ');
}
