import { ConfigError, FORBIDDEN_PROVIDER_KEYS, parseConfig } from '../../src/config';

const GOOD = {
  JWT_SECRET_KEY: 'q8V2kLx9TzR4mN7pW1sYc3Hf6Jd0Ga5EbUo',
  LITELLM_MASTER_KEY: 'sk-Abcdef0123456789xyz',
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/neuronode',
  REDIS_URL: 'redis://127.0.0.1:6379',
  NEO4J_URL: 'bolt://127.0.0.1:7687',
  NEO4J_PASSWORD: 'a-long-password',
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(env as NodeJS.ProcessEnv);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration is validated once at start-up', () => {
  it('accepts a complete, strong configuration and applies documented defaults', () => {
    const env = parseConfig(GOOD as NodeJS.ProcessEnv);
    expect(env.PORT).toBe(8001);
    expect(env.ACCESS_TOKEN_MINUTES).toBe(60);
    expect(env.REFRESH_TOKEN_DAYS).toBe(7);
    expect(env.MAX_UPLOAD_BYTES).toBe(50 * 1024 * 1024);
  });

  it('refuses a missing JWT_SECRET_KEY', () => {
    expect(problems({ ...GOOD, JWT_SECRET_KEY: undefined }).join()).toMatch(/JWT_SECRET_KEY/);
  });

  it.each([['short'], ['changeme'], ['a'.repeat(40)], ['secret']])('refuses the weak JWT_SECRET_KEY %p', (value) => {
    expect(problems({ ...GOOD, JWT_SECRET_KEY: value }).join()).toMatch(/JWT_SECRET_KEY/);
  });

  it.each([['abc123'], ['sk-short'], ['pk-0123456789abcdefgh'], ['']])('refuses the LITELLM_MASTER_KEY %p', (value) => {
    expect(problems({ ...GOOD, LITELLM_MASTER_KEY: value }).join()).toMatch(/LITELLM_MASTER_KEY/);
  });

  it.each(FORBIDDEN_PROVIDER_KEYS.map((k) => [k]))('refuses the provider key %s in the app environment', (key) => {
    const found = problems({ ...GOOD, [key]: 'sk-live-123' });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`${key} .*only in LiteLLM's environment`));
  });

  it('names every problem at once', () => {
    const found = problems({ ...GOOD, JWT_SECRET_KEY: undefined, DATABASE_URL: 'mysql://x', OPENAI_API_KEY: 'sk-x' });
    expect(found.join('\n')).toMatch(/JWT_SECRET_KEY/);
    expect(found.join('\n')).toMatch(/DATABASE_URL/);
    expect(found.join('\n')).toMatch(/OPENAI_API_KEY/);
  });

  it('never echoes a secret value in its message', () => {
    const found = problems({ ...GOOD, OPENAI_API_KEY: 'sk-very-secret-value', LITELLM_MASTER_KEY: 'not-a-key-secretvalue' });
    expect(found.join('\n')).not.toMatch(/very-secret-value|secretvalue/);
  });
});
