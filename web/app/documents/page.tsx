'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { failureOf, unwrap, useApi, type ResponseOf } from '../../lib/api';
import { useI18n, type MessageKey } from '../../lib/i18n';
import { useLiveChannel } from '../../lib/live';
import { ApiFailure, useSession } from '../../lib/session';

type DocumentList = ResponseOf<'/api/documents', 'get'>;
type DocumentRow = DocumentList['documents'][number];
type Status = DocumentRow['status'];
const STATUSES = ['queued', 'processing', 'completed', 'failed', 'awaiting_approval', 'rejected', 'cancelled', 'deleting'] as const;
const FINAL = new Set(['completed', 'failed', 'rejected', 'cancelled']);

export default function DocumentsPage() {
  return (
    <Suspense>
      <DocumentsView />
    </Suspense>
  );
}

/** The estimate the budget gate recorded for an ingestion, if it looked at it. */
function estimatedCost(budget: DocumentRow['budget']): number | null {
  const cost = (budget as { estimate?: { cost_usd?: unknown } } | null)?.estimate?.cost_usd;
  return typeof cost === 'number' ? cost : null;
}

const isZip = (f: File) => /\.zip$/i.test(f.name);

/**
 * The files of a drop, folders walked through (their files named by their path in the folder). The
 * entries are taken while the drop event lasts: the browser empties the list once it returns.
 */
async function droppedFiles(items: DataTransferItemList): Promise<{ files: File[]; folder: boolean }> {
  const entries = [...items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const files: File[] = [];
  let folder = false;
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      const f = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      files.push(path ? new File([f], `${path}${f.name}`, { type: f.type, lastModified: f.lastModified }) : f);
      return;
    }
    folder = true;
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // A directory reader hands its entries over in portions until it returns none.
    for (;;) {
      const portion = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (portion.length === 0) break;
      for (const child of portion) await walk(child, `${path}${entry.name}/`);
    }
  };
  for (const e of entries) await walk(e, '');
  return { files, folder };
}

function DocumentsView() {
  const { t, number, dateTime, money } = useI18n();
  const params = useSearchParams();
  const session = useSession();
  const apiClient = useApi();
  const client = useQueryClient();
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const decides = session.user?.permissions.includes('model_management') ?? false;
  // A link such as an alert's (?status=awaiting_approval) sets the filter.
  const wanted = params.get('status');
  useEffect(() => {
    if (wanted !== null) setStatus(wanted);
  }, [wanted]);

  const key = ['documents', session.workspaceId, q, status];
  const list = useQuery({
    queryKey: key,
    queryFn: async () => unwrap(await apiClient.GET('/api/documents', { params: { query: { limit: 100, ...(q ? { q } : {}), ...(status ? { status: status as Status } : {}) } } })),
  });

  // Stage events patch the rows in place; a final status fetches the true record (counts, error).
  const onMessage = useCallback(
    (msg: Record<string, unknown>) => {
      const id = msg.document_id as string | undefined;
      if (!id) return;
      client.setQueriesData<DocumentList>({ queryKey: ['documents'] }, (old) => {
        if (!old) return old;
        // An event's status is the step's (started, waiting, completed, failed), not the document's:
        // a final one is shown only with the record fetched below, counts and true status together.
        const next = (d: DocumentRow): Status => (msg.status === 'waiting' ? 'awaiting_approval' : d.status === 'queued' || msg.status === 'started' ? 'processing' : d.status);
        return { ...old, documents: old.documents.map((d) => (d.id === id ? { ...d, stage: (msg.stage as string) ?? d.stage, status: next(d) } : d)) };
      });
      if (FINAL.has(msg.status as string)) void client.invalidateQueries({ queryKey: ['documents'] });
    },
    [client],
  );
  const live = useLiveChannel('/ws/documents/processing', onMessage, () => void client.invalidateQueries({ queryKey: ['documents'] }));

  // Files one by one; a folder or a ZIP archive as one batch (the API unpacks archives and paces the batch).
  const upload = async (files: File[], folder = false) => {
    if (!files.length) return;
    setError(null);
    setNotice(t('docs.uploading', { count: files.length }));
    const form = new FormData();
    for (const f of files) form.append('files', f, f.webkitRelativePath || f.name);
    const batch = folder || files.some(isZip);
    try {
      if (batch) {
        const r = await session.json<ResponseOf<'/api/documents/batch', 'post'>>('/api/documents/batch', { method: 'POST', body: form });
        setNotice(`${t('docs.batchStarted', { count: r.documents.length })}${r.duplicates ? ` (${number(r.duplicates)} ${t('docs.duplicate')})` : ''}`);
      } else {
        const r = await session.json<ResponseOf<'/api/documents/upload', 'post'>>('/api/documents/upload', { method: 'POST', body: form });
        const dups = r.documents.filter((d) => d.duplicate).length;
        setNotice(`${t('docs.uploaded', { count: r.documents.length })}${dups ? ` (${number(dups)} ${t('docs.duplicate')})` : ''}`);
      }
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      setNotice(null);
      setError(t('common.error', { message: err.message }));
    }
    await client.invalidateQueries({ queryKey: ['documents'] });
  };

  const remove = async (d: DocumentRow) => {
    if (!confirm(t('docs.confirmDelete', { name: d.title ?? d.filename }))) return;
    const r = await apiClient.DELETE('/api/documents/{id}', { params: { path: { id: d.id } } });
    if (!r.response.ok) setError(t('common.error', { message: failureOf(r) }));
    await client.invalidateQueries({ queryKey: ['documents'] });
  };

  const decide = async (d: DocumentRow, approve: boolean) => {
    setError(null);
    const r = await apiClient.POST('/api/documents/{id}/budget-decision', { params: { path: { id: d.id } }, body: { approve } });
    if (!r.response.ok) setError(t('common.error', { message: failureOf(r) }));
    else setNotice(t(approve ? 'budget.approved' : 'budget.rejected', { name: d.title ?? d.filename }));
    await client.invalidateQueries({ queryKey: ['documents'] });
  };

  const onDrop = (e: DragEvent<HTMLElement>) => {
    e.preventDefault();
    setDragging(false);
    void droppedFiles(e.dataTransfer.items).then(({ files, folder }) => upload(files, folder));
  };

  return (
    <section aria-labelledby="docs-title">
      <div className="row">
        <h1 id="docs-title">{t('docs.title')}</h1>
        <span className={`live live-${live}`} role="status" data-testid="live-state">
          {live === 'connected' ? t('live.connected') : t('live.reconnecting')}
        </span>
      </div>
      <section
        className={`drop${dragging ? ' dragging' : ''}`}
        aria-label={t('docs.upload')}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>{t('docs.drop')}</p>
        <button type="button" onClick={() => input.current?.click()}>
          {t('docs.choose')}
        </button>
        <button type="button" className="ghost" onClick={() => folderInput.current?.click()}>
          {t('docs.chooseFolder')}
        </button>
        <input ref={input} type="file" multiple hidden aria-label={t('docs.choose')} data-testid="file-input" onChange={(e) => void upload([...(e.target.files ?? [])]).then(() => (e.target.value = ''))} />
        <input
          ref={folderInput}
          type="file"
          hidden
          aria-label={t('docs.chooseFolder')}
          data-testid="folder-input"
          {...{ webkitdirectory: '' }}
          onChange={(e) => void upload([...(e.target.files ?? [])], true).then(() => (e.target.value = ''))}
        />
      </section>
      {notice && <p role="status">{notice}</p>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="filters">
        <input type="search" aria-label={t('docs.search')} placeholder={t('docs.search')} value={q} onChange={(e) => setQ(e.target.value)} />
        <label>
          {t('docs.filter.status')}{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">{t('docs.filter.all')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`status.${s}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        {list.data && <span>{t('docs.total', { count: list.data.total })}</span>}
      </div>
      {list.isPending && <p aria-busy="true">{t('common.loading')}</p>}
      {list.isError && (
        <p role="alert" className="error">
          {t('common.error', { message: list.error.message })}
        </p>
      )}
      {list.data && list.data.documents.length === 0 && <p>{t('docs.empty')}</p>}
      {list.data && list.data.documents.length > 0 && (
        <div className="scroll" tabIndex={0} role="region" aria-label={t('docs.title')}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('docs.col.name')}</th>
                <th scope="col">{t('docs.col.status')}</th>
                <th scope="col">{t('docs.col.stage')}</th>
                <th scope="col" className="num">
                  {t('docs.col.chunks')}
                </th>
                <th scope="col" className="num">
                  {t('docs.col.entities')}
                </th>
                <th scope="col">{t('docs.col.updated')}</th>
                <th scope="col">{t('docs.col.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.documents.map((d) => (
                <tr key={d.id} data-document-id={d.id} data-filename={d.filename} data-status={d.status}>
                  <td>
                    <Link href={`/document?id=${d.id}`}>{d.title ?? d.filename}</Link>
                    {d.title && d.title !== d.filename && <span className="sub">{d.filename}</span>}
                  </td>
                  <td>
                    <span className={`badge status-${d.status}`}>{STATUSES.includes(d.status as (typeof STATUSES)[number]) ? t(`status.${d.status}` as MessageKey) : d.status}</span>
                    {d.status === 'awaiting_approval' && estimatedCost(d.budget) !== null && (
                      <span className="sub" data-testid="estimate">
                        {t('budget.estimate', { cost: money(estimatedCost(d.budget)!) })}
                      </span>
                    )}
                  </td>
                  <td data-testid="stage">{d.stage}</td>
                  <td className="num">{d.counts.chunks !== undefined ? number(d.counts.chunks) : '–'}</td>
                  <td className="num">{d.counts.entities !== undefined ? number(d.counts.entities) : '–'}</td>
                  <td>{dateTime(d.updated_at)}</td>
                  <td>
                    <div className="actions">
                    {decides && d.status === 'awaiting_approval' && (
                      <>
                        <button type="button" aria-label={t('budget.approveNamed', { name: d.title ?? d.filename })} onClick={() => void decide(d, true)}>
                          {t('budget.approve')}
                        </button>
                        <button type="button" className="ghost" aria-label={t('budget.rejectNamed', { name: d.title ?? d.filename })} onClick={() => void decide(d, false)}>
                          {t('budget.reject')}
                        </button>
                      </>
                    )}
                    <button type="button" className="ghost" onClick={() => void remove(d)}>
                      {t('docs.delete')}
                    </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
