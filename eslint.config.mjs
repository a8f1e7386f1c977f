import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Workflow code must be deterministic: no Node built-ins and no I/O libraries (Temporal replays it).
const IO_MODULES = ['pg', 'ioredis', 'neo4j-driver', 'chromadb', 'openai', 'express', 'ws', 'axios', 'undici', 'multer'];
const forbiddenInWorkflows = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), ...IO_MODULES];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'tests/sequencer.js', 'tests/environment.js', 'tests/temporal-work.js', 'bin/neuronode.js', 'jest.config.js', 'web/.next/**', 'web/node_modules/**', 'web/next-env.d.ts'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'tests/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({ name, message: 'workflow code must stay deterministic: do I/O in an activity' })),
          patterns: [
            { group: ['**/adapters', '**/adapters/**', '**/deps', '**/api/**'], message: 'workflows reach stores only through activities' },
          ],
        },
      ],
    },
  },
);
