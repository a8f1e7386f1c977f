import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FORBIDDEN_PROVIDER_KEYS } from '../../src/config';

const ROOT = join(__dirname, '..', '..');
type Service = {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: unknown };
  volumes?: string[];
};
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const svc = compose.services;

describe('docker-compose.yml (production stack)', () => {
  it('has every service the code needs', () => {
    expect(Object.keys(svc).sort()).toEqual(
      ['api', 'chroma', 'litellm', 'migrate', 'model-server', 'neo4j', 'postgres', 'redis', 'temporal', 'temporal-setup', 'temporal-ui', 'web', 'worker'].sort(),
    );
    expect(svc.neo4j!.image).toMatch(/^neo4j:5\.26\./);
    expect(svc.postgres!.image).toMatch(/^postgres:15/);
    expect(svc.redis!.image).toMatch(/^redis:7/);
    expect(svc.litellm!.image).toMatch(/litellm:v1\.83\.14/);
    expect(svc.chroma!.image).toMatch(/^chromadb\/chroma:1\./);
  });

  it('pins every image to an exact version', () => {
    for (const [name, s] of Object.entries(svc)) {
      if (s.image) expect([name, s.image]).toEqual([name, expect.stringMatching(/:[0-9v][^:]*$/)]);
      else expect([name, s.build]).toEqual([name, expect.anything()]);
    }
  });

  it('gives every long-running service a health check and waits on health', () => {
    for (const [name, s] of Object.entries(svc)) {
      if (name === 'temporal-setup' || name === 'worker' || name === 'migrate') continue;
      expect([name, s.healthcheck?.test]).toEqual([name, expect.anything()]);
    }
    for (const app of ['api', 'worker']) {
      const deps = svc[app]!.depends_on!;
      for (const d of ['postgres', 'redis', 'neo4j', 'chroma', 'litellm']) expect(deps[d]?.condition).toBe('service_healthy');
      expect(deps['temporal-setup']?.condition).toBe('service_completed_successfully');
      expect(deps.migrate?.condition).toBe('service_completed_successfully');
    }
  });

  it('gives each service only its own secrets, and the application a database role that is no superuser', () => {
    const secretsOf = (name: string) =>
      Object.values(svc[name]!.environment ?? {})
        .join(' ')
        .match(/\$\{([A-Z0-9_]+)/g)
        ?.map((m) => m.slice(2))
        .filter((k) => /PASSWORD|SECRET|KEY|SALT/.test(k))
        .sort() ?? [];
    const app = ['JWT_SECRET_KEY', 'LITELLM_MASTER_KEY', 'NEO4J_PASSWORD', 'NEURONODE_ADMIN_PASSWORD', 'NEURONODE_DB_APP_PASSWORD', 'REDIS_PASSWORD'].sort();
    expect(secretsOf('api')).toEqual(app);
    expect(secretsOf('worker')).toEqual(app);
    expect(secretsOf('migrate')).toEqual(['NEURONODE_DB_OWNER_PASSWORD']);
    expect(secretsOf('neo4j')).toEqual(['NEO4J_PASSWORD']);
    expect(secretsOf('redis')).toEqual(['REDIS_PASSWORD']);
    expect(secretsOf('temporal')).toEqual(['TEMPORAL_DB_PASSWORD']);
    expect(secretsOf('model-server')).toEqual(['MODEL_SERVER_API_KEY']);
    expect(secretsOf('litellm')).toEqual(['ANTHROPIC_API_KEY', 'GOOGLE_API_KEY', 'LITELLM_DB_PASSWORD', 'LITELLM_MASTER_KEY', 'LITELLM_SALT_KEY', 'MODEL_SERVER_API_KEY', 'OPENAI_API_KEY', 'UI_PASSWORD'].sort());
    expect(secretsOf('postgres')).toEqual(['LITELLM_DB_PASSWORD', 'NEURONODE_DB_APP_PASSWORD', 'NEURONODE_DB_OWNER_PASSWORD', 'POSTGRES_PASSWORD', 'TEMPORAL_DB_PASSWORD'].sort());
    for (const name of ['chroma', 'temporal-ui', 'temporal-setup', 'web']) expect([name, secretsOf(name)]).toEqual([name, []]);
    expect(svc.api!.environment!.DATABASE_URL).toMatch(/^postgres:\/\/neuronode_app:/);
    expect(svc.migrate!.environment!.DATABASE_OWNER_URL).toMatch(/^postgres:\/\/neuronode_owner:/);
    expect(svc.postgres!.volumes).toContain('./stack/postgres-init.sh:/docker-entrypoint-initdb.d/10-roles.sh:ro');
  });

  it('wires the app to every store with the variables the config requires', () => {
    for (const app of ['api', 'worker']) {
      const env = svc[app]!.environment!;
      expect(env.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(env.REDIS_URL).toMatch(/@redis:6379$/);
      expect(env.NEO4J_URL).toBe('bolt://neo4j:7687');
      expect(env.CHROMA_URL).toBe('http://chroma:8000');
      expect(env.LITELLM_URL).toBe('http://litellm:4000');
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      for (const key of FORBIDDEN_PROVIDER_KEYS) expect(env).not.toHaveProperty(key);
    }
  });

  it('passes the web application to the API by its service name and port, after the API is healthy', () => {
    const web = svc.web!;
    expect(web.build).toBe('./web');
    const api = new URL(web.environment!.API_URL!);
    expect(api.hostname).toBe('api');
    expect(Number(api.port)).toBe(Number(svc.api!.environment!.PORT));
    expect(web.depends_on).toEqual({ api: { condition: 'service_healthy' } });
  });

  it('keeps provider keys in LiteLLM alone, and every secret out of the file', () => {
    const llm = svc.litellm!.environment!;
    for (const key of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GOOGLE_API_KEY']) expect(llm[key]).toMatch(/^\$\{[A-Z_]+:-\}$/);
    expect(llm.DATABASE_URL).toMatch(/@postgres:5432\/litellm$/);
    for (const [name, s] of Object.entries(svc)) {
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD|SECRET|KEY|PWD/.test(k) && !/^LOCAL_MODEL_API_BASE$/.test(k)) {
          expect([name, k, String(v)]).toEqual([name, k, expect.stringMatching(/\$\{[A-Z_]+/)]);
        }
      }
    }
  });

  it('mounts the shared Temporal set-up and the production LiteLLM config', () => {
    expect(svc.temporal!.volumes).toContain('./temporal/dynamicconfig:/etc/temporal/config/dynamicconfig:ro');
    expect(svc['temporal-setup']!.volumes).toContain('./temporal:/setup:ro');
    expect(svc.litellm!.volumes).toContain('./litellm/config.production.yaml:/app/config.yaml:ro');
    expect(Object.keys(compose.volumes).sort()).toEqual(['chroma-data', 'neo4j-data', 'neo4j-logs', 'postgres-data', 'redis-data']);
  });

  it("hardens Neo4j as the native stack does: no file URLs, an import folder of its own, the app's procedure only, a query log", () => {
    const env = svc.neo4j!.environment!;
    expect(env).toMatchObject({
      NEO4J_dbms_security_allow__csv__import__from__file__urls: 'false',
      NEO4J_dbms_security_procedures_allowlist: 'db.index.fulltext.queryNodes',
      NEO4J_db_transaction_timeout: '5m',
      NEO4J_db_logs_query_enabled: 'INFO',
      NEO4J_db_logs_query_parameter__logging__enabled: 'false',
    });
    expect(env.NEO4J_server_directories_import).toMatch(/^\/var\/lib\/neo4j\//);
    // The import folder is not a mounted volume: it stays the image's empty folder.
    expect(svc.neo4j!.volumes!.some((v) => v.includes(env.NEO4J_server_directories_import!))).toBe(false);
  });
});
