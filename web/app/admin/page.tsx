'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { BudgetPanel, SystemPanel } from '../../components/AdminPanels';
import { Forbidden } from '../../components/Forbidden';
import { ModelsPanel } from '../../components/ModelsPanel';
import { ActionError, useAction } from '../../components/QueryStatus';
import { unwrap, useApi } from '../../lib/api';
import { useI18n, type MessageKey } from '../../lib/i18n';
import { useSession } from '../../lib/session';
import { ScrollTable } from '../../components/ScrollTable';

const ROLES = ['user', 'power_user', 'admin'] as const;

/** Administration of the workspace: its members (create, change role, disable), its budget, the system's services, the installation's models and the audit log. */
export default function AdminPage() {
  const { t, dateTime } = useI18n();
  const session = useSession();
  const api = useApi();
  const client = useQueryClient();
  const action = useAction();
  const allowed = !!session.user?.permissions.includes('user_management');
  const installation = !!session.user?.permissions.includes('installation');
  const users = useQuery({ queryKey: ['admin-users', session.workspaceId], enabled: allowed, queryFn: async () => unwrap(await api.GET('/api/admin/users', { params: { query: { limit: 500, offset: 0 } } })) });
  const audit = useQuery({ queryKey: ['admin-audit', session.workspaceId], enabled: allowed, queryFn: async () => unwrap(await api.GET('/api/admin/audit', { params: { query: { limit: 50, offset: 0 } } })) });

  if (!allowed) return <Forbidden />;

  const refresh = () => Promise.all([client.invalidateQueries({ queryKey: ['admin-users'] }), client.invalidateQueries({ queryKey: ['admin-audit'] })]);
  const act = async (f: () => Promise<unknown>) => {
    await action.run(f);
    await refresh();
  };
  const create = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    void act(async () => {
      unwrap(await api.POST('/api/admin/users', { body: { email: String(f.get('email')), password: String(f.get('password')), role: f.get('role') as (typeof ROLES)[number] } }));
      form.reset();
    });
  };

  // A new workspace: its creator becomes its administrator, and the page moves into it.
  const createWorkspace = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    void action.run(async () => {
      const created = unwrap(await api.POST('/api/admin/workspaces', { body: { id: String(f.get('id')), name: String(f.get('name')) } }));
      form.reset();
      await session.switchWorkspace(created.id);
    });
  };

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">{t('admin.title')}</h1>
      <ActionError message={action.error} />
      <h2>{t('admin.workspaces')}</h2>
      <ul data-testid="workspaces">
        {session.user?.workspaces.map((w) => (
          <li key={w.id} data-workspace={w.id} aria-current={w.id === session.workspaceId ? 'true' : undefined}>
            {w.name} <span className="sub">({w.id} · {t(`role.${w.role}` as MessageKey)})</span>
          </li>
        ))}
      </ul>
      <form className="card" onSubmit={createWorkspace} aria-label={t('admin.createWorkspace')}>
        <label>
          {t('admin.workspaceId')}
          <input name="id" required pattern="[a-z0-9][a-z0-9\-]{1,62}" title={t('admin.workspaceIdRule')} autoComplete="off" />
        </label>
        <label>
          {t('admin.workspaceName')}
          <input name="name" required maxLength={200} autoComplete="off" />
        </label>
        <button type="submit">{t('admin.createWorkspace')}</button>
      </form>
      <h2>{t('admin.users')}</h2>
      <form className="card" onSubmit={create} aria-label={t('admin.create')}>
        <label>
          {t('login.email')}
          <input name="email" type="email" required autoComplete="off" />
        </label>
        <label>
          {t('login.password')}
          <input name="password" type="password" required minLength={12} autoComplete="new-password" />
        </label>
        <label>
          {t('admin.role')}
          <select name="role" defaultValue="user">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">{t('admin.create')}</button>
      </form>
      {users.data && (
        <ScrollTable label={t('admin.users')} columns={[t('login.email'), t('admin.role'), t('admin.state'), t('docs.col.actions')]}>
          {users.data.users.map((u) => (
            <tr key={u.id} data-email={u.email}>
              <td>{u.email}</td>
              <td>
                {u.id === session.user?.id ? (
                  t(`role.${u.role}`)
                ) : (
                  <select
                    aria-label={t('admin.roleOf', { email: u.email })}
                    value={u.role}
                    onChange={(e) => {
                      const role = e.target.value as (typeof ROLES)[number];
                      void act(async () => unwrap(await api.PATCH('/api/admin/users/{id}', { params: { path: { id: u.id } }, body: { role } })));
                    }}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`role.${r}`)}
                      </option>
                    ))}
                  </select>
                )}
              </td>
              <td data-testid="user-state">{u.disabled ? t('admin.disabled') : t('admin.active')}</td>
              <td>
                {/* An account is the installation's: only an installation administrator may disable it. */}
                {u.id !== session.user?.id && installation && (
                  <button type="button" className="ghost" onClick={() => void act(async () => unwrap(await api.PATCH('/api/admin/users/{id}', { params: { path: { id: u.id } }, body: { disabled: !u.disabled } })))}>
                    {u.disabled ? t('admin.enable') : t('admin.disable')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </ScrollTable>
      )}
      {session.user?.permissions.includes('model_management') && (
        <>
          <h2>{t('budget.title')}</h2>
          <BudgetPanel />
        </>
      )}
      <h2>{t('system.title')}</h2>
      <SystemPanel />
      {installation && (
        <>
          <h2>{t('models.title')}</h2>
          <ModelsPanel />
        </>
      )}
      <h2>{t('admin.audit')}</h2>
      {audit.data && (
        <ScrollTable label={t('admin.audit')} testId="audit" columns={[t('admin.when'), t('admin.who'), t('admin.action'), t('admin.outcome'), t('admin.details')]}>
          {audit.data.entries.map((e) => (
            <tr key={e.id}>
              <td>{dateTime(e.at)}</td>
              <td>{e.actor_email ?? e.actor_id ?? '–'}</td>
              <td className="code">{e.action}</td>
              <td>
                {e.outcome}
                {e.status !== null ? ` (${e.status})` : ''}
              </td>
              <td className="code">{e.details ? JSON.stringify(e.details) : ''}</td>
            </tr>
          ))}
        </ScrollTable>
      )}
    </section>
  );
}
