import { ASSIGNMENTS_VERSION_KEY } from '../../src/adapters/llm';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain-JS module the Jest environment loads too
const { VERSION_KEY } = require('../model-assignments') as { VERSION_KEY: string };

it("the test environment's restore of model assignments bumps the version key every process watches", () => {
  expect(VERSION_KEY).toBe(ASSIGNMENTS_VERSION_KEY);
});
