/**
 * What the command-line client says, in English and German: German when NEURONODE_LANG, LC_ALL,
 * LC_MESSAGES or LANG (the first set) starts with "de".
 */
const EN = {
  loggedIn: (email: string, ws: string) => `Logged in as ${email}, workspace ${ws}.`,
  loggedOut: 'Logged out; the session is revoked and removed.',
  notLoggedIn: 'Not logged in: run `neuronode login` first.',
  needCredentials: 'Give the e-mail and password (--email, NEURONODE_EMAIL / NEURONODE_PASSWORD, or at the prompt).',
  promptEmail: 'E-mail: ',
  promptPassword: 'Password: ',
  status: (url: string, email: string, role: string, ws: string) => `${url} — ${email} (${role}), workspace ${ws}`,
  health: (state: string) => `system: ${state}`,
  noFiles: 'No files found in the paths given.',
  duplicate: 'already ingested',
  summary: (ok: number, dup: number, failed: number) => `${ok} ingested, ${dup} already there, ${failed} failed`,
  failedDoc: (name: string, why: string) => `${name}: failed — ${why}`,
  insufficient: 'Insufficient information: the documents do not answer this question.',
  grounded: (g: boolean): string => (g ? 'grounded in the cited sources' : 'NOT grounded: treat with care'),
  sources: 'Sources:',
  deleted: (id: string) => `Deleted ${id} from every store.`,
  reprocessing: (id: string) => `Reprocessing ${id}.`,
  noDocuments: 'No documents.',
  error: (msg: string) => `Error: ${msg}`,
};

type Messages = typeof EN;

const DE: Messages = {
  loggedIn: (email, ws) => `Angemeldet als ${email}, Arbeitsbereich ${ws}.`,
  loggedOut: 'Abgemeldet; die Sitzung ist widerrufen und entfernt.',
  notLoggedIn: 'Nicht angemeldet: zuerst `neuronode login` ausführen.',
  needCredentials: 'E-Mail und Passwort angeben (--email, NEURONODE_EMAIL / NEURONODE_PASSWORD oder bei der Abfrage).',
  promptEmail: 'E-Mail: ',
  promptPassword: 'Passwort: ',
  status: (url, email, role, ws) => `${url} — ${email} (${role}), Arbeitsbereich ${ws}`,
  health: (state) => `System: ${state}`,
  noFiles: 'In den angegebenen Pfaden wurden keine Dateien gefunden.',
  duplicate: 'bereits aufgenommen',
  summary: (ok, dup, failed) => `${ok} aufgenommen, ${dup} bereits vorhanden, ${failed} fehlgeschlagen`,
  failedDoc: (name, why) => `${name}: fehlgeschlagen — ${why}`,
  insufficient: 'Unzureichende Informationen: die Dokumente beantworten diese Frage nicht.',
  grounded: (g) => (g ? 'durch die zitierten Quellen belegt' : 'NICHT belegt: mit Vorsicht lesen'),
  sources: 'Quellen:',
  deleted: (id) => `${id} aus allen Speichern gelöscht.`,
  reprocessing: (id) => `${id} wird neu verarbeitet.`,
  noDocuments: 'Keine Dokumente.',
  error: (msg) => `Fehler: ${msg}`,
};

export function messages(env: NodeJS.ProcessEnv = process.env): Messages {
  const lang = env.NEURONODE_LANG || env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return lang.toLowerCase().startsWith('de') ? DE : EN;
}
