import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateFlag, intFlag, jsonFlag, statusesFlag, tagsFlag } from '../../../cli/src/args.ts';
import { exitCodeFor, EXIT } from '../../../cli/src/exit-codes.ts';
import { InstanceNotFoundError, PayloadTooLargeError, TimeoutError } from '../../../worker/src/errors.ts';
import { formatTable } from '../../../cli/src/output.ts';

test('JSON flags accept JSON and bare words; bad JSON names the flag', () => {
  assert.deepEqual(jsonFlag('input', '{"a":1}'), { a: 1 });
  assert.equal(jsonFlag('input', 'Tokyo'), 'Tokyo');
  assert.throws(() => jsonFlag('input', '{"a":'), /--input: not valid JSON/);
});

test('status lists are case-insensitive and unknown ones are named', () => {
  assert.deepEqual(statusesFlag('completed,FAILED'), ['Completed', 'Failed']);
  assert.throws(() => statusesFlag('done'), /--status: unknown status 'done'/);
});

test('dates, integers and tags are checked', () => {
  assert.equal(dateFlag('created-to', '2026-01-01T00:00:00Z')?.toISOString(), '2026-01-01T00:00:00.000Z');
  assert.throws(() => dateFlag('created-to', 'yesterday'), /--created-to: not a date/);
  assert.throws(() => intFlag('timeout', '0', 1, 10), /--timeout: must be an integer from 1 to 10/);
  assert.deepEqual(tagsFlag(['team=a', 'env=prod=1']), { team: 'a', env: 'prod=1' });
  assert.throws(() => tagsFlag(['novalue']), /--tag: expected key=value/);
});

test('exit codes follow the stable error codes', () => {
  assert.equal(exitCodeFor(new InstanceNotFoundError('x')), EXIT.notFound);
  assert.equal(exitCodeFor(new TimeoutError('t')), EXIT.timeout);
  assert.equal(exitCodeFor(new PayloadTooLargeError('input', 10, 5)), EXIT.usage);
  assert.equal(exitCodeFor(new Error('boom')), EXIT.error);
});

test('tables align columns under upper-case headers', () => {
  assert.equal(formatTable([{ id: 'a', status: 'Running' }, { id: 'bbb', status: 'Completed' }]), 'ID    STATUS\na     Running\nbbb   Completed\n');
});
