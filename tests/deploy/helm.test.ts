import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_KEYS, ConfigError, FORBIDDEN_PROVIDER_KEYS, parseConfig, taskQueues } from '../../src/config';

/**
 * The Helm chart (deploy/helm/neuronode), linted and rendered by the real helm (scripts/install-helm.sh
 * builds the pinned version), and its wiring checked against what the code reads: every variable the
 * configuration requires is set and the rendered environment passes the configuration's own checks;
 * secrets only from Secrets; provider keys in LiteLLM alone; services that reach the pods they name;
 * workers per task queue scaled on that queue; non-root, read-only containers with resources.
 */
const ROOT = join(__dirname, '..', '..');
const CHART = join(ROOT, 'deploy', 'helm', 'neuronode');
let helm: string;

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } };
type Container = { name: string; image: string; env?: Env[]; ports?: { name: string; containerPort: number }[]; resources?: { requests?: object; limits?: object }; securityContext?: Record<string, unknown>; volumeMounts?: { name: string; mountPath: string }[] };
type PodSpec = { containers: Container[]; securityContext?: Record<string, unknown>; volumes?: { name: string; secret?: { secretName: string } }[]; terminationGracePeriodSeconds?: number };
type K8s = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

function render(...set: string[]): K8s[] {
  const out = execFileSync(helm, ['template', 'nn', CHART, '--kube-version', '1.30.0', ...set.flatMap((s) => ['--set', s])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJS() as K8s | null;
    })
    .filter((d): d is K8s => d !== null);
}
const find = (docs: K8s[], kind: string, name: string) => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`no ${kind} ${name} in the rendered chart`);
  return d;
};
const pod = (d: K8s): PodSpec => d.spec.template.spec;
const envOf = (d: K8s, container = 0) => pod(d).containers[container]!.env ?? [];
/** A stand-in value per secret, of the shape the configuration checks. */
const SECRET_VALUES: Record<string, string> = {
  JWT_SECRET_KEY: 'k9Qz3LmP0aX7vB2nR8sT4wY6uE1iO5cDfGhJ',
  LITELLM_MASTER_KEY: 'sk-0123456789abcdefghij',
  DATABASE_URL: 'postgres://neuronode_app:pw@db:5432/neuronode',
  REDIS_URL: 'redis://:pw@redis:6379',
  NEO4J_PASSWORD: 'neo4j-password',
  NEURONODE_ADMIN_PASSWORD: 'a-long-admin-password',
};
/** The environment a pod gets, with the Secret's values filled in. */
function resolved(env: Env[]): Record<string, string> {
  return Object.fromEntries(env.map((e) => [e.name, e.value ?? SECRET_VALUES[e.valueFrom!.secretKeyRef!.key] ?? `secret:${e.valueFrom!.secretKeyRef!.key}`]));
}

beforeAll(() => {
  helm = process.env.NEURONODE_HELM || execFileSync('bash', [join(ROOT, 'scripts', 'install-helm.sh')], { encoding: 'utf8' }).trim();
}, 900_000);

it('passes helm lint --strict', () => {
  const out = execFileSync(helm, ['lint', '--strict', CHART, '--kube-version', '1.30.0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
});

it('renders every component, each with its scaling and disruption budget', () => {
  const docs = render();
  const names = (kind: string) => docs.filter((d) => d.kind === kind).map((d) => d.metadata.name).sort();
  const components = ['api', 'litellm', 'model-server', 'web', 'worker-llm', 'worker-main'];
  expect(names('Deployment')).toEqual(components.map((c) => `nn-${c}`));
  expect(names('PodDisruptionBudget')).toEqual(components.map((c) => `nn-${c}`));
  expect(names('Service')).toEqual(['nn-api', 'nn-litellm', 'nn-model-server', 'nn-web']);
  expect(names('HorizontalPodAutoscaler')).toEqual(['nn-api']);
  expect(names('ScaledObject')).toEqual(['nn-worker-llm', 'nn-worker-main']);
  expect(names('Job')).toEqual(['nn-migrate-1']);
  // Each budget selects its own component's pods.
  for (const c of components) {
    const labels = find(docs, 'Deployment', `nn-${c}`).spec.template.metadata.labels;
    expect(find(docs, 'PodDisruptionBudget', `nn-${c}`).spec.selector.matchLabels).toEqual(labels);
  }
  // The autoscaled ones leave replicas to their scaler.
  for (const c of ['api', 'worker-main', 'worker-llm']) expect([c, find(docs, 'Deployment', `nn-${c}`).spec.replicas]).toEqual([c, undefined]);
});

it('gives the API and each worker every variable the configuration requires, in a form it accepts', () => {
  let required: string[] = [];
  try {
    parseConfig({});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    required = err.problems.map((p) => p.split(':')[0]!);
  }
  expect(required.sort()).toEqual(['DATABASE_URL', 'JWT_SECRET_KEY', 'LITELLM_MASTER_KEY', 'NEO4J_PASSWORD', 'NEO4J_URL', 'REDIS_URL']);
  const docs = render('config.adminEmail=admin@example.com');
  for (const name of ['nn-api', 'nn-worker-main', 'nn-worker-llm']) {
    const env = envOf(find(docs, 'Deployment', name));
    const names = env.map((e) => e.name);
    for (const key of required) expect([name, key, names.includes(key)]).toEqual([name, key, true]);
    // Nothing the configuration does not know (a misspelt variable would be silently ignored).
    for (const n of names) expect([name, n, (CONFIG_KEYS as string[]).includes(n)]).toEqual([name, n, true]);
    const parsed = parseConfig(resolved(env));
    expect(parsed).toMatchObject({ NODE_ENV: 'production', TEMPORAL_NAMESPACE: 'neuronode', NEURONODE_ADMIN_EMAIL: 'admin@example.com' });
  }
  expect(parseConfig(resolved(envOf(find(docs, 'Deployment', 'nn-api')))).HOST).toBe('0.0.0.0');
  expect(parseConfig(resolved(envOf(find(docs, 'Deployment', 'nn-worker-main')))).WORKER_QUEUES).toBe('main');
  expect(parseConfig(resolved(envOf(find(docs, 'Deployment', 'nn-worker-llm')))).WORKER_QUEUES).toBe('llm');
});

it('takes every secret from a Secret, keeps provider keys in LiteLLM alone, and gives the migration only the owner', () => {
  const docs = render('config.adminEmail=admin@example.com');
  const secretLike = /PASSWORD|SECRET|_KEY$|^DATABASE(_OWNER)?_URL$|^REDIS_URL$/;
  for (const d of docs.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
    for (const c of pod(d).containers) {
      for (const e of c.env ?? []) {
        if (secretLike.test(e.name)) expect([d.metadata.name, e.name, e.value]).toEqual([d.metadata.name, e.name, undefined]);
      }
    }
  }
  for (const name of ['nn-api', 'nn-worker-main', 'nn-worker-llm', 'nn-web', 'nn-model-server']) {
    const names = envOf(find(docs, 'Deployment', name)).map((e) => e.name);
    for (const key of FORBIDDEN_PROVIDER_KEYS) expect([name, names.includes(key)]).toEqual([name, false]);
  }
  const llm = envOf(find(docs, 'Deployment', 'nn-litellm'));
  for (const key of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GOOGLE_API_KEY']) {
    expect(llm.find((e) => e.name === key)!.valueFrom!.secretKeyRef).toEqual({ name: 'neuronode-litellm', key, optional: true });
  }
  // The web application holds no secret at all.
  expect(envOf(find(docs, 'Deployment', 'nn-web')).filter((e) => e.valueFrom)).toEqual([]);
  const job = find(docs, 'Job', 'nn-migrate-1');
  expect(envOf(job).map((e) => e.name).sort()).toEqual(['DATABASE_APP_ROLE', 'DATABASE_OWNER_URL', 'NODE_ENV']);
  expect(job.metadata.annotations!['helm.sh/hook']).toBe('pre-install,pre-upgrade');
  // The LiteLLM configuration is the project's production file, unchanged.
  expect(find(docs, 'ConfigMap', 'nn-litellm').data!['config.yaml']).toBe(readFileSync(join(ROOT, 'litellm', 'config.production.yaml'), 'utf8').trimEnd());
});

it('runs every container as non-root on a read-only root filesystem, with requests and limits', () => {
  const docs = render();
  for (const d of docs.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
    expect([d.metadata.name, pod(d).securityContext]).toEqual([d.metadata.name, expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })]);
    for (const c of pod(d).containers) {
      expect([d.metadata.name, c.securityContext]).toEqual([d.metadata.name, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } }]);
      expect([d.metadata.name, Object.keys(c.resources?.requests ?? {}).sort(), Object.keys(c.resources?.limits ?? {}).sort()]).toEqual([d.metadata.name, ['cpu', 'memory'], ['cpu', 'memory']]);
      expect([d.metadata.name, c.image]).toEqual([d.metadata.name, expect.stringMatching(/:[0-9v][^:]*$/)]);
    }
  }
});

it('wires each address to a Service that reaches a pod listening there', () => {
  const docs = render();
  const reach = (url: string) => {
    const u = new URL(url);
    const svc = find(docs, 'Service', u.hostname);
    const port = svc.spec.ports.find((p: { port: number }) => p.port === Number(u.port));
    expect([url, port]).toEqual([url, expect.anything()]);
    // The Service's selector picks a Deployment whose container has the named target port.
    const dep = docs.find((d) => d.kind === 'Deployment' && Object.entries(svc.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v))!;
    const container = pod(dep).containers.find((c) => c.ports?.some((p) => p.name === port.targetPort))!;
    return { dep: dep.metadata.name, containerPort: container.ports!.find((p) => p.name === port.targetPort)!.containerPort, env: resolved(container.env ?? []) };
  };
  const api = resolved(envOf(find(docs, 'Deployment', 'nn-api')));
  expect(reach(api.LITELLM_URL!)).toMatchObject({ dep: 'nn-litellm', containerPort: 4000 });
  const web = resolved(envOf(find(docs, 'Deployment', 'nn-web')));
  const toApi = reach(web.API_URL!);
  expect(toApi).toMatchObject({ dep: 'nn-api', containerPort: 8001 });
  expect(toApi.env.PORT).toBe('8001');
  const llm = resolved(envOf(find(docs, 'Deployment', 'nn-litellm')));
  expect(reach(llm.LOCAL_MODEL_API_BASE!)).toMatchObject({ dep: 'nn-model-server', containerPort: 8090 });
});

it("scales each worker on its own task queue's backlog and lets it finish its activities when stopped", () => {
  const docs = render();
  for (const queue of ['main', 'llm'] as const) {
    const dep = find(docs, 'Deployment', `nn-worker-${queue}`);
    const env = parseConfig(resolved(envOf(dep)));
    const scaled = find(docs, 'ScaledObject', `nn-worker-${queue}`);
    expect(scaled.spec.scaleTargetRef.name).toBe(dep.metadata.name);
    expect(scaled.spec.triggers).toHaveLength(1);
    expect(scaled.spec.triggers[0]).toMatchObject({ type: 'temporal', metadata: { endpoint: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE, taskQueue: taskQueues(env)[queue] } });
    expect(pod(dep).terminationGracePeriodSeconds! * 1000).toBeGreaterThan(env.WORKER_SHUTDOWN_GRACE_MS);
  }
});

it('connects to Temporal with mTLS from a mounted Secret when asked, the scaler too', () => {
  const docs = render('temporal.tls.enabled=true', 'temporal.tls.withCA=true', 'temporal.tls.serverName=ns.acct.tmprl.cloud', 'temporal.tls.secretName=tmprl-cert');
  for (const name of ['nn-api', 'nn-worker-main', 'nn-worker-llm']) {
    const d = find(docs, 'Deployment', name);
    const env = parseConfig(resolved(envOf(d)));
    const volume = pod(d).volumes!.find((v) => v.secret?.secretName === 'tmprl-cert')!;
    const mount = pod(d).containers[0]!.volumeMounts!.find((m) => m.name === volume.name)!;
    for (const [file, key] of [
      [env.TEMPORAL_TLS_CERT_FILE, 'tls.crt'],
      [env.TEMPORAL_TLS_KEY_FILE, 'tls.key'],
      [env.TEMPORAL_TLS_CA_FILE, 'ca.crt'],
    ]) {
      expect([name, file]).toEqual([name, `${mount.mountPath}/${key}`]);
    }
    expect(env.TEMPORAL_TLS_SERVER_NAME).toBe('ns.acct.tmprl.cloud');
  }
  const auth = find(docs, 'TriggerAuthentication', 'nn-temporal-tls');
  expect(auth.spec.secretTargetRef.map((r: { parameter: string; key: string; name: string }) => [r.parameter, r.name, r.key])).toEqual([
    ['cert', 'tmprl-cert', 'tls.crt'],
    ['key', 'tmprl-cert', 'tls.key'],
    ['ca', 'tmprl-cert', 'ca.crt'],
  ]);
  for (const q of ['main', 'llm']) expect(find(docs, 'ScaledObject', `nn-worker-${q}`).spec.triggers[0].authenticationRef).toEqual({ name: 'nn-temporal-tls' });
  // Without it, no certificate is mounted or named.
  const plain = render();
  expect(envOf(find(plain, 'Deployment', 'nn-api')).some((e) => e.name.startsWith('TEMPORAL_TLS_'))).toBe(false);
});
