'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { unwrap, useApi, type ResponseOf } from '../lib/api';
import { useLiveChannel } from '../lib/live';
import { useI18n } from '../lib/i18n';
import { GOLDEN_TASKS, MODEL_PROFILES, TASK_SLOTS } from './ProfileOptions';
import { ActionError, QueryStatus, useAction } from './QueryStatus';
import { ScrollTable } from './ScrollTable';

type Run = ResponseOf<'/api/admin/models/optimizations', 'get'>['runs'][number];

/**
 * The installation's models: each alias's health (probe, circuit, last call), how each served in the
 * last day, which model serves a task × profile where an administrator or an optimisation run chose
 * another, and the optimisation runs with their scores, decisions and approval.
 */
export function ModelsPanel() {
  const { t } = useI18n();
  return (
    <>
      <h3>{t('models.health')}</h3>
      <ModelHealth />
      <h3>{t('models.performance')}</h3>
      <ModelPerformance />
      <h3>{t('models.assignments')}</h3>
      <ModelAssignments />
      <h3>{t('models.optimisation')}</h3>
      <OptimisationRuns />
    </>
  );
}

/** The models the gateway serves (not its aliases): what the assignment and optimisation forms offer. */
function useServedModels() {
  const api = useApi();
  return useQuery({ queryKey: ['models-served'], queryFn: async () => unwrap(await api.GET('/api/admin/models/served')) });
}

function ModelHealth() {
  const { t, number, dateTime } = useI18n();
  const api = useApi();
  const client = useQueryClient();
  const action = useAction();
  const [probing, setProbing] = useState(false);
  const health = useQuery({ queryKey: ['models-health'], queryFn: async () => unwrap(await api.GET('/api/admin/models/health')), refetchInterval: 30_000 });
  const probe = async () => {
    setProbing(true);
    await action.run(async () => client.setQueryData(['models-health'], unwrap(await api.GET('/api/admin/models/health', { params: { query: { refresh: 'true' } } }))));
    setProbing(false);
  };
  if (!health.data) return <QueryStatus query={health} />;
  const h = health.data;
  return (
    <div className="card" data-testid="model-health">
      <p>
        {h.gateway.ok ? t('models.gatewayUp', { version: h.gateway.version ?? '–' }) : t('models.gatewayDown', { message: h.gateway.error ?? '' })} ·{' '}
        <span data-testid="probed-at" data-probed-at={h.probe.probed_at ?? ''}>{h.probe.probed_at ? t('models.probedAt', { at: dateTime(h.probe.probed_at) }) : t('models.neverProbed')}</span>
        {h.probe.refreshing && ` · ${t('models.refreshing')}`}{' '}
        <button type="button" className="ghost" disabled={probing} aria-busy={probing} onClick={() => void probe()}>
          {t('models.probeNow')}
        </button>
      </p>
      <ActionError message={action.error} />
      <ScrollTable label={t('models.health')} testId="model-aliases" columns={[t('models.alias'), t('models.circuit'), t('models.probe'), t('models.servedBy'), t('models.lastCall')]}>
        {h.aliases.map((a) => (
          <tr key={a.alias} data-alias={a.alias} data-probe={a.probe ? (a.probe.ok ? 'ok' : 'failed') : 'none'} data-circuit={a.circuit}>
            <th scope="row">{a.alias}</th>
            <td>{t(`models.circuit.${a.circuit}`)}</td>
            <td>{a.probe ? (a.probe.ok ? `${t('models.ok')} · ${number(a.probe.latency_ms)} ms` : `${t('models.failed')}: ${a.probe.error ?? ''}`) : '–'}</td>
            <td>{a.probe?.served_by ?? a.last_call?.served_by ?? '–'}</td>
            <td>{a.last_call ? (a.last_call.ok ? `${t('models.ok')} · ${number(a.last_call.latency_ms)} ms` : `${t('models.failed')}: ${a.last_call.error_class ?? ''}`) : '–'}</td>
          </tr>
        ))}
      </ScrollTable>
    </div>
  );
}

function ModelPerformance() {
  const { t, number, money } = useI18n();
  const api = useApi();
  const [hours, setHours] = useState(24);
  const perf = useQuery({ queryKey: ['models-performance', hours], queryFn: async () => unwrap(await api.GET('/api/admin/models/performance', { params: { query: { hours } } })) });
  return (
    <div className="card">
      <label>
        {t('models.window')}
        <select value={hours} onChange={(e) => setHours(Number(e.target.value))}>
          {[24, 24 * 7, 24 * 30].map((h) => (
            <option key={h} value={h}>
              {t('models.hours', { h })}
            </option>
          ))}
        </select>
      </label>
      {!perf.data ? (
        <QueryStatus query={perf} />
      ) : perf.data.models.length === 0 ? (
        <p>{t('models.noCalls')}</p>
      ) : (
        <ScrollTable label={t('models.performance')} testId="model-performance" columns={[t('models.alias'), t('models.model'), t('models.requests'), t('models.avg'), t('models.p95'), t('models.success'), t('models.costPer1k')]}>
          {perf.data.models.map((m) => (
            <tr key={`${m.alias}|${m.model}`} data-alias={m.alias} data-model={m.model}>
              <th scope="row">{m.alias}</th>
              <td>{m.model}</td>
              <td>{number(m.total_requests)}</td>
              <td>{number(m.avg_response_ms)} ms</td>
              <td>{number(m.p95_response_ms)} ms</td>
              <td>{number(Math.round(m.success_rate * 1000) / 10)} %</td>
              <td>{money(m.cost_per_1k_tokens)}</td>
            </tr>
          ))}
        </ScrollTable>
      )}
    </div>
  );
}

function ModelAssignments() {
  const { t, dateTime } = useI18n();
  const api = useApi();
  const client = useQueryClient();
  const action = useAction();
  const [done, setDone] = useState<string | null>(null);
  const assignments = useQuery({ queryKey: ['models-assignments'], queryFn: async () => unwrap(await api.GET('/api/admin/models/assignments')) });
  const served = useServedModels();

  const assign = async (task: (typeof TASK_SLOTS)[number], profile: (typeof MODEL_PROFILES)[number], model: string | null, reason?: string) => {
    setDone(null);
    const ok = await action.run(async () => unwrap(await api.POST('/api/admin/models/assign', { body: { task, profile, model, ...(reason ? { reason } : {}) } })));
    if (ok) setDone(model ? t('models.assigned', { task, profile, model }) : t('models.returned', { task, profile }));
    await client.invalidateQueries({ queryKey: ['models-assignments'] });
  };
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    void assign(f.get('task') as (typeof TASK_SLOTS)[number], f.get('profile') as (typeof MODEL_PROFILES)[number], String(f.get('model')), String(f.get('reason') ?? '').trim());
  };

  return (
    <div className="card">
      {!assignments.data ? (
        <QueryStatus query={assignments} />
      ) : assignments.data.assignments.length === 0 ? (
        <p data-testid="no-assignments">{t('models.noAssignments')}</p>
      ) : (
        <ScrollTable label={t('models.assignments')} testId="model-assignments" columns={[t('models.task'), t('models.profile'), t('models.model'), t('models.source'), t('models.updated'), t('common.actions')]}>
          {assignments.data.assignments.map((a) => (
            <tr key={`${a.task}|${a.profile}`} data-slot={`${a.task}_${a.profile}`}>
              <th scope="row">{a.task}</th>
              <td>{a.profile}</td>
              <td>{a.model}</td>
              <td>{t(`models.source.${a.source}`)}</td>
              <td>{dateTime(a.updated_at)}</td>
              <td>
                <button type="button" className="ghost" onClick={() => void assign(a.task as (typeof TASK_SLOTS)[number], a.profile as (typeof MODEL_PROFILES)[number], null)}>
                  {t('models.returnToOwn')}
                </button>
              </td>
            </tr>
          ))}
        </ScrollTable>
      )}
      <form onSubmit={submit} aria-label={t('models.assign')} className="row">
        <label>
          {t('models.task')}
          <select name="task" required>
            {TASK_SLOTS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('models.profile')}
          <select name="profile" required>
            {MODEL_PROFILES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('models.model')}
          <select name="model" required disabled={!served.data}>
            {(served.data?.models ?? []).map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('models.reason')}
          <input name="reason" maxLength={500} />
        </label>
        <button type="submit" disabled={!served.data}>
          {t('models.assign')}
        </button>
      </form>
      {served.isError && <QueryStatus query={served} />}
      {done && <p role="status">{done}</p>}
      <ActionError message={action.error} />
    </div>
  );
}

function OptimisationRuns() {
  const { t, dateTime } = useI18n();
  const api = useApi();
  const client = useQueryClient();
  const action = useAction();
  const [open, setOpen] = useState<string | null>(null);
  const runs = useQuery({
    queryKey: ['models-optimizations'],
    queryFn: async () => unwrap(await api.GET('/api/admin/models/optimizations', { params: { query: { limit: 10 } } })),
  });
  // Each step of a run (started, a candidate scored, decided, finished) arrives on the live channel:
  // the list and that run's detail are read anew; after a drop, everything is.
  const live = useLiveChannel(
    '/ws/models/optimizations',
    (msg) => {
      if (typeof msg.run_id !== 'string') return;
      void client.invalidateQueries({ queryKey: ['models-optimizations'] });
      void client.invalidateQueries({ queryKey: ['models-optimization', msg.run_id] });
    },
    () => {
      void client.invalidateQueries({ queryKey: ['models-optimizations'] });
      void client.invalidateQueries({ queryKey: ['models-optimization'] });
    },
  );
  const served = useServedModels();

  const start = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const candidates = f.getAll('candidate').map(String);
    const tasks = f.getAll('task').map(String) as (typeof GOLDEN_TASKS)[number][];
    // The run is listed when its workflow records it: its "started" event reads the list again.
    await action.run(async () => {
      const r = unwrap(await api.POST('/api/admin/models/optimize', { body: { ...(candidates.length ? { candidates } : {}), ...(tasks.length ? { tasks } : {}), limit: Number(f.get('limit')), require_approval: f.get('approval') === 'on' } }));
      setOpen(r.run_id);
    });
  };

  return (
    <div className="card">
      <span className={`live live-${live}`} role="status" data-testid="runs-live-state">
        {live === 'connected' ? t('live.connected') : t('live.reconnecting')}
      </span>
      <form onSubmit={(e) => void start(e)} aria-label={t('models.startRun')}>
        <fieldset>
          <legend>{t('models.candidates')}</legend>
          <p className="sub">{t('models.candidatesHint')}</p>
          {(served.data?.models ?? []).map((m) => (
            <label key={m} className="compact">
              <input type="checkbox" name="candidate" value={m} /> {m}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t('models.tasks')}</legend>
          {GOLDEN_TASKS.map((task) => (
            <label key={task} className="compact">
              <input type="checkbox" name="task" value={task} /> {task}
            </label>
          ))}
        </fieldset>
        <label>
          {t('models.limit')}
          <input name="limit" type="number" min={1} max={100} defaultValue={5} required />
        </label>
        <label className="compact">
          <input type="checkbox" name="approval" defaultChecked /> {t('models.requireApproval')}
        </label>
        <button type="submit">{t('models.startRun')}</button>
      </form>
      <ActionError message={action.error} />
      {!runs.data ? (
        <QueryStatus query={runs} />
      ) : runs.data.runs.length === 0 ? (
        <p>{t('models.noRuns')}</p>
      ) : (
        <ul data-testid="optimisation-runs">
          {runs.data.runs.map((r) => (
            <li key={r.id} data-run={r.id} data-status={r.status}>
              <button type="button" className="ghost" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? null : r.id)}>
                {dateTime(r.created_at)} · {t(`models.status.${r.status}`)} · {r.trigger} · {r.candidates.join(', ')} · {r.tasks.join(', ')}
              </button>
              {open === r.id && <RunDetail run={r} />}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** One run's scores per task × candidate, its decision per slot with the rule, and the approval it waits for. */
function RunDetail({ run }: { run: Run }) {
  const { t, number, money } = useI18n();
  const api = useApi();
  const client = useQueryClient();
  const action = useAction();
  const detail = useQuery({
    queryKey: ['models-optimization', run.id],
    queryFn: async () => unwrap(await api.GET('/api/admin/models/optimizations/{id}', { params: { path: { id: run.id } } })),
  });
  const decide = async (approve: boolean) => {
    await action.run(async () => unwrap(await api.POST('/api/admin/models/optimizations/{id}/decision', { params: { path: { id: run.id } }, body: { approve } })));
    await client.invalidateQueries({ queryKey: ['models-optimizations'] });
  };
  if (!detail.data) return <QueryStatus query={detail} />;
  const d = detail.data;
  return (
    <div className="card" data-testid="run-detail">
      {run.note && <p>{run.note}</p>}
      {d.scores.length > 0 && (
        <ScrollTable label={t('models.scores')} testId="run-scores" caption={t('models.scores')} columns={[t('models.task'), t('models.model'), t('models.quality'), t('models.p50'), t('models.cost'), t('models.items')]}>
          {d.scores.map((s) => (
            <tr key={`${s.task}|${s.model}`}>
              <th scope="row">{s.task}</th>
              <td>{s.model}</td>
              <td>{number(Math.round(s.quality * 1000) / 1000)}</td>
              <td>{number(Math.round(s.p50Ms))} ms</td>
              <td>{money(s.costUsd)}</td>
              <td>{t('models.itemsErrors', { items: s.items, errors: s.errors })}</td>
            </tr>
          ))}
        </ScrollTable>
      )}
      {d.decision && (
        <ScrollTable label={t('models.decision')} testId="run-decision" caption={t('models.decision')} columns={[t('models.task'), t('models.profile'), t('models.model'), t('models.rule')]}>
          {d.decision.map((x) => (
            <tr key={`${x.task}|${x.profile}`}>
              <th scope="row">{x.task}</th>
              <td>{x.profile}</td>
              <td>{x.model ?? t('models.unchanged')}</td>
              <td>{x.rule}</td>
            </tr>
          ))}
        </ScrollTable>
      )}
      {d.status === 'awaiting_approval' && (
        <div className="row">
          <button type="button" onClick={() => void decide(true)}>
            {t('models.approve')}
          </button>
          <button type="button" className="ghost" onClick={() => void decide(false)}>
            {t('models.reject')}
          </button>
        </div>
      )}
      <ActionError message={action.error} />
    </div>
  );
}
