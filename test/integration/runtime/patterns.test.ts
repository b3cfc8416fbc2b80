import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from '../../../examples/all.ts';
import { scenarios } from '../../../examples/scenarios.ts';
import { withRuntime } from './helpers.ts';

for (const scenario of scenarios) {
  test(`example pattern: ${scenario.name}`, async () => {
    await withRuntime(
      (w) => void register(w),
      async ({ client }) => {
        const output = await scenario.run(client, () => {});
        assert.deepEqual(output, scenario.expected);
      },
    );
  });
}
