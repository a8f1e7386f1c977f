import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { upload, waitForDocument } from '../helpers/documents';
import { adminCredentials, api, login, startSystem, type System } from '../helpers/system';

/**
 * The graph query endpoint against hostile queries, on real Neo4j holding two workspaces and other
 * users' private documents. Canaries: a string only another workspace's document contains, one only
 * another user's private document contains, a file on the server's disk (next to Neo4j's data and
 * in /tmp), the server's real JWT signing key, and an HTTP listener on loopback. No response may
 * carry a canary, the listener must never be contacted, every refused query gets a 400 that names
 * why, and legitimate analytical queries still return the right rows.
 */
jest.setTimeout(900_000);

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const CANARY = { otherWorkspace: `Qzwsbcanary${RUN}`, otherUser: `Qzprivcanary${RUN}`, file: `Qzfilecanary${RUN}` };
const WS_A = `cypher-a-${RUN}`;
const WS_B = `cypher-b-${RUN}`;
const PASSWORD = `pw-${RUN}-Correct-Horse`;

let sys: System;
let listener: Server;
let hits = 0;
let port = 0;
let asUser: string; // a power user of this run's workspace A: the one who queries
let adminA: string;
const docs: Record<'org' | 'mine' | 'theirs' | 'otherWs', string> = { org: '', mine: '', theirs: '', otherWs: '' };
/** The token each document was uploaded with (undefined: the administrator), to delete it at the end. */
const uploader: Record<string, string | undefined> = {};
const canaryFiles: string[] = [];

/** A user of workspace A (the administrator of A adds them). */
async function user(email: string, role: 'power_user' | 'user'): Promise<string> {
  const r = await api(sys.url, '/api/admin/users', { method: 'POST', json: { email, password: PASSWORD, role }, token: adminA });
  if (r.status !== 201) throw new Error(`creating ${email}: ${r.status} ${r.text}`);
  return (await login(sys.url, { email, password: PASSWORD, workspace_id: WS_A })).access_token as string;
}

async function ingestAs(token: string | undefined, name: string, text: string, visibility: 'private' | 'organisation', headers: Record<string, string> = {}): Promise<string> {
  const up = await upload(sys.url, [{ name, bytes: Buffer.from(text), type: 'text/plain' }], 'nlp', { token, visibility, headers });
  if (up.status !== 202) throw new Error(`upload of ${name}: ${up.status} ${up.text}`);
  const id = up.json.documents[0].document_id as string;
  uploader[id] = token;
  const done = await waitForDocument(sys.url, id, 240_000, token);
  if (done.status !== 'completed') throw new Error(`${name} ended ${done.status}: ${JSON.stringify(done.error)}`);
  return id;
}

beforeAll(async () => {
  listener = createServer((_req, res) => {
    hits++;
    res.end(`a,b\n${CANARY.file},x\n`);
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as AddressInfo).port;
  const data = process.env.NEURONODE_DATA ?? '/var/lib/neuronode';
  for (const dir of [join(data, 'neo4j'), '/tmp']) {
    mkdirSync(dir, { recursive: true });
    const f = join(dir, `canary-${RUN}.csv`);
    writeFileSync(f, `a,b\n${CANARY.file},x\n`);
    canaryFiles.push(f);
  }

  sys = await startSystem();
  // Workspace A of this run holds what the querier may and may not read: its size is this run's,
  // whatever other runs left in the default workspace. Workspace B holds its own document.
  for (const [id, name] of [[WS_A, 'Cypher canary A'], [WS_B, 'Cypher canary B']]) {
    expect((await api(sys.url, '/api/admin/workspaces', { method: 'POST', json: { id, name } })).status).toBe(201);
  }
  adminA = (await login(sys.url, { ...adminCredentials(), workspace_id: WS_A })).access_token as string;
  const adminB = (await login(sys.url, { ...adminCredentials(), workspace_id: WS_B })).access_token as string;
  docs.otherWs = await ingestAs(adminB, `wsb-${RUN}.txt`, `${CANARY.otherWorkspace} Holdings runs the Ostmark Saltworks. Ostmark Saltworks belongs to ${CANARY.otherWorkspace} Holdings. Run ${RUN}.`, 'organisation');
  // In workspace A: an organisation-wide document, another user's private one, and the querying
  // power user's own private one.
  docs.org = await ingestAs(adminA, `org-${RUN}.txt`, `Marguerite Okonkwo founded the Tillhaven Cooperage in Esterby. Marguerite Okonkwo and Bertil Sandqvist ran the Tillhaven Cooperage. Run ${RUN}.`, 'organisation');
  const other = await user(`other-${RUN}@example.com`, 'power_user');
  docs.theirs = await ingestAs(other, `theirs-${RUN}.txt`, `${CANARY.otherUser} Partners advised the Tillhaven Cooperage on a merger with ${CANARY.otherUser} Partners. Marguerite Okonkwo met ${CANARY.otherUser} Partners. Run ${RUN}.`, 'private');
  asUser = await user(`querier-${RUN}@example.com`, 'power_user');
  docs.mine = await ingestAs(asUser, `mine-${RUN}.txt`, `Ottilie Marchetti reviewed the Esterby Ledger for the Tillhaven Cooperage. Run ${RUN}.`, 'private');
});

afterAll(async () => {
  for (const f of canaryFiles) rmSync(f, { force: true });
  // The stores outlive the run: this file's documents go, so their entities cannot meet other files' names.
  if (sys) {
    for (const [id, token] of Object.entries(uploader)) {
      const r = await api(sys.url, `/api/documents/${id}?wait=true`, { method: 'DELETE', token });
      if (r.status !== 200) throw new Error(`deleting ${id} answered ${r.status}: ${r.text}`);
    }
  }
  await new Promise((r) => listener?.close(r));
  await sys?.stop();
});

/** Every response body is checked for every canary, whatever the test expects of it. */
async function query(q: string, extra: Record<string, unknown> = {}) {
  const r = await api(sys.url, '/api/graph/query', { method: 'POST', json: { query: q, ...extra }, token: asUser });
  for (const c of [...Object.values(CANARY), process.env.JWT_SECRET_KEY!, process.env.NEO4J_PASSWORD!]) {
    if (r.text.includes(c)) throw new Error(`a canary (${c.slice(0, 12)}…) came back for ${q}: ${r.text.slice(0, 300)}`);
  }
  return r;
}

const file = (name: string) => `file:///${name.replace(/^\//, '')}`;
const http = () => `http://127.0.0.1:${port}/canary.csv`;

/** Queries refused before they reach Neo4j, and the words the refusal must name. */
const REFUSED: [string, () => string, RegExp][] = [
  // LOAD CSV with file and HTTP URLs, hidden behind comments and other clauses
  ['LOAD CSV from a local file', () => `LOAD CSV FROM '${file(canaryFiles[1]!)}' AS l RETURN l`, /LOAD CSV/],
  ['LOAD CSV from the secrets file', () => `LOAD CSV FROM 'file:///var/lib/neuronode/secrets.env' AS l RETURN l`, /LOAD CSV/],
  ['LOAD CSV WITH HEADERS from a file next to the data', () => `LOAD CSV WITH HEADERS FROM 'file:///../canary-${RUN}.csv' AS l RETURN l`, /LOAD CSV/],
  ['LOAD CSV from the loopback listener', () => `LOAD CSV FROM '${http()}' AS l RETURN l`, /LOAD CSV/],
  ['LOAD CSV after a MATCH', () => `MATCH (n) WITH n LIMIT 1 LOAD CSV FROM '${http()}' AS l RETURN l`, /LOAD CSV/],
  ['LOAD CSV after a block comment', () => `MATCH (n) /* harmless */ WITH n LIMIT 1 LOAD CSV FROM '${http()}' AS l RETURN l`, /LOAD CSV/],
  ['LOAD CSV after a comment that opens a string', () => `MATCH (n) /* ' */ WITH n LIMIT 1 LOAD CSV FROM '${file('/etc/passwd')}' AS l RETURN l // '`, /LOAD CSV/],
  ['LOAD CSV after a line comment', () => `MATCH (n) WITH n LIMIT 1 // RETURN n\nLOAD CSV FROM '${http()}' AS l RETURN l`, /LOAD CSV/],
  ['LOAD CSV with FIELDTERMINATOR', () => `LOAD CSV FROM '${file('/etc/hostname')}' AS l FIELDTERMINATOR ';' RETURN l`, /LOAD CSV/],
  ['LOAD CSV with the keyword in odd case', () => `lOaD cSv FrOm '${http()}' AS l RETURN l`, /LOAD CSV/],
  // procedures of every namespace
  ['db.labels', () => 'CALL db.labels()', /CALL/],
  ['db.labels with YIELD', () => 'CALL db.labels() YIELD label RETURN label', /CALL/],
  ['the full-text procedure the application itself uses', () => "CALL db.index.fulltext.queryNodes('chunk_search', 'Tillhaven') YIELD node RETURN node.content", /CALL/],
  ['db.schema.visualization', () => 'CALL db.schema.visualization()', /CALL/],
  ['dbms.components', () => 'CALL dbms.components() YIELD name RETURN name', /CALL/],
  ['dbms.listConfig', () => 'CALL dbms.listConfig() YIELD name, value RETURN name, value', /CALL/],
  ['dbms.security.listUsers', () => 'CALL dbms.security.listUsers()', /CALL/],
  ['dbms.showCurrentUser', () => 'CALL dbms.showCurrentUser()', /CALL/],
  ['apoc.load.json', () => `CALL apoc.load.json('${http()}') YIELD value RETURN value`, /CALL/],
  ['apoc.periodic.iterate', () => 'CALL apoc.periodic.iterate("MATCH (n) RETURN n", "DETACH DELETE n", {})', /CALL/],
  ['gds.graph.list', () => 'CALL gds.graph.list()', /CALL/],
  ['tx.setMetaData', () => "CALL tx.setMetaData({a: 1})", /CALL/],
  ['genai.vector.encode', () => "CALL genai.vector.encodeBatch(['x'], 'OpenAI', {})", /CALL/],
  ['a procedure in backticks', () => 'CALL `db`.`labels`()', /CALL/],
  ['a procedure inside EXISTS', () => 'MATCH (n) WHERE EXISTS { CALL db.labels() YIELD label RETURN label } RETURN n', /CALL/],
  // namespaced and file functions
  ['apoc.version()', () => 'RETURN apoc.version() AS v', /apoc\.version/],
  ['a function in backticks', () => 'RETURN `apoc`.`version`() AS v', /apoc/],
  ['db.nameFromElementId', () => "RETURN db.nameFromElementId('4:x:1') AS n", /db\.nameFromElementId/],
  ['linenumber()', () => 'RETURN linenumber() AS n', /linenumber/],
  ['file()', () => 'RETURN file() AS f', /file/],
  // subqueries
  ['CALL { } subquery', () => 'CALL { MATCH (n) RETURN n } RETURN n', /CALL/],
  ['CALL (n) { } subquery', () => 'MATCH (n) CALL (n) { RETURN 1 AS x } RETURN x', /CALL/],
  ['a write in a CALL subquery', () => 'MATCH (n) CALL { CREATE (:Pwned) } RETURN n', /CALL|CREATE/],
  ['CALL IN TRANSACTIONS', () => 'MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS', /CALL|DELETE/],
  // administration
  ['SHOW USERS', () => 'SHOW USERS', /administration|SHOW/],
  ['SHOW DATABASES', () => 'SHOW DATABASES', /administration|SHOW/],
  ['SHOW PROCEDURES', () => 'SHOW PROCEDURES YIELD name RETURN name', /administration|SHOW/],
  ['SHOW SETTINGS', () => 'SHOW SETTINGS', /administration|SHOW/],
  ['SHOW TRANSACTIONS', () => 'SHOW TRANSACTIONS', /administration|SHOW/],
  ['TERMINATE TRANSACTIONS', () => "TERMINATE TRANSACTIONS 'neo4j-transaction-1'", /administration|TERMINATE/],
  ['CREATE USER', () => "CREATE USER mallory SET PASSWORD 'mallory-password'", /administration|CREATE/],
  ['ALTER USER', () => "ALTER USER neo4j SET PASSWORD 'mallory-password'", /administration|ALTER/],
  ['USE system', () => 'USE system SHOW USERS', /USE|administration/],
  ['USE system with MATCH', () => 'USE system MATCH (n) RETURN n', /USE/],
  ['USE neo4j', () => 'USE neo4j MATCH (n) RETURN n', /USE/],
  // writes, plain and hidden in FOREACH, CASE and comprehensions
  ['CREATE', () => 'CREATE (n:Pwned) RETURN n', /CREATE/],
  ['MERGE', () => 'MERGE (n:Pwned {id: 1}) RETURN n', /MERGE/],
  ['SET', () => 'MATCH (n) SET n.pwned = true RETURN n', /SET/],
  ['DETACH DELETE', () => 'MATCH (n) DETACH DELETE n', /DELETE/],
  ['REMOVE a label', () => 'MATCH (n) REMOVE n:Entity RETURN n', /REMOVE/],
  ['FOREACH with CREATE', () => 'MATCH (n) FOREACH (x IN [1] | CREATE (:Pwned))', /FOREACH/],
  ['a write hidden in FOREACH over CASE', () => 'MATCH (n) FOREACH (x IN CASE WHEN true THEN [1] ELSE [] END | SET n.pwned = true) RETURN n', /FOREACH/],
  ['a write in a list comprehension', () => 'RETURN [x IN [1] | CREATE (:Pwned)] AS l', /not valid Cypher/],
  ['a write in a CASE', () => 'MATCH (n) RETURN CASE WHEN true THEN CREATE (:Pwned) END AS c', /not valid Cypher/],
  // parameters and expressions used as labels or types
  ['a parameter as label', () => 'MATCH (n:$($label)) RETURN n', /dynamic labels/],
  ['a parameter as label in WHERE', () => 'MATCH (n) WHERE n:$($label) RETURN n', /dynamic label/i],
  ['a parameter as relationship type', () => 'MATCH (n)-[r:$($label)]->() RETURN r', /dynamic labels/],
  ['any-of dynamic labels', () => "MATCH (n:$any(['Entity', 'Chunk'])) RETURN n", /dynamic labels/],
  // more than one statement, preparser and console tricks
  ['two statements', () => 'MATCH (n) RETURN n; MATCH (m) RETURN m', /one statement/],
  ['a read then a write', () => 'MATCH (n) RETURN n; CREATE (:Pwned)', /one statement/],
  ['EXPLAIN', () => 'EXPLAIN MATCH (n) RETURN n', /EXPLAIN/],
  ['PROFILE', () => 'PROFILE MATCH (n) RETURN n', /PROFILE/],
  ['a CYPHER option', () => 'CYPHER runtime=interpreted MATCH (n) RETURN n', /CYPHER/],
  ['a console command', () => ':param x => 1', /console|not valid/],
  // unicode escapes, which Neo4j decodes before it parses (a string read two ways), and backticks
  ['an escaped space in LOAD CSV', () => `LOAD\\u0020CSV FROM '${http()}' AS l RETURN l`, /unicode escapes/],
  ['an escaped quote that ends a string for Neo4j only', () => `WITH 'x\\u0027 AS a LOAD CSV FROM \\u0027${http()}\\u0027 AS l RETURN l //' AS s RETURN s`, /unicode escapes/],
  ['an escaped quote that opens an unconfined MATCH', () => `WITH 'x\\u0027 AS a MATCH (m) RETURN m.content AS c //' AS s RETURN s`, /unicode escapes/],
  ['an escaped quote with more than one u', () => `RETURN '\\uu0027 LOAD CSV FROM \\u0027${http()}\\u0027 AS l RETURN l //' AS s`, /unicode escapes/],
  ['an unterminated backtick', () => 'MATCH (n:`Entity) RETURN n', /not valid Cypher/],
];

/** Queries that are valid reads: they run, confined to the caller's workspace and readable documents. */
const CONFINED: [string, () => string, Record<string, unknown>?][] = [
  ['the workspace-parameter tautology', () => 'MATCH (c:Chunk) WHERE $workspace_id IS NOT NULL RETURN c.workspace_id AS ws, count(*) AS n'],
  ['an OR-true tautology', () => 'MATCH (c:Chunk) WHERE c.workspace_id <> $workspace_id OR true RETURN c.content AS content'],
  ['everything', () => 'MATCH (n) RETURN n'],
  ['every property', () => 'MATCH (n) RETURN properties(n) AS p, labels(n) AS l'],
  ['every entity with aliases and descriptions', () => 'MATCH (e:Entity) RETURN e.name, e.aliases, e.description'],
  ['paths of any length', () => 'MATCH p = (a)-[*1..4]-(b) RETURN [x IN nodes(p) | x.content] AS c, [x IN nodes(p) | x.name] AS n'],
  ['anonymous paths', () => 'MATCH p = ()-[*..3]-() RETURN nodes(p) AS n'],
  ['shortest paths', () => 'MATCH p = shortestPath((a:Entity)-[*..6]-(b:Entity)) WHERE a <> b RETURN [x IN nodes(p) | coalesce(x.content, x.name)] AS c'],
  ['a quantified path', () => 'MATCH ((a)-[]-(b)){1,5} RETURN b'],
  ['a pattern comprehension', () => 'MATCH (n) RETURN [(n)-[*..2]-(m) | m.content] AS c'],
  ['a pattern expression', () => "MATCH (n) WHERE (n)--(:Chunk) RETURN n.name AS name"],
  ['COLLECT subquery', () => 'RETURN COLLECT { MATCH (n) RETURN n.content } AS all'],
  ['EXISTS subquery', () => "MATCH (n) WHERE EXISTS { MATCH (m) WHERE m.content CONTAINS 'Qz' } RETURN n.content AS c"],
  ['COUNT subquery', () => "MATCH (n) RETURN n.name AS name, COUNT { (n)--() } AS degree"],
  ['another workspace by its scope label', () => `MATCH (n:\`scope:${WS_B}\`) RETURN n`],
  ['another user by a scope label prefix', () => "MATCH (n) WHERE any(l IN labels(n) WHERE l STARTS WITH 'scope') RETURN n"],
  ['another workspace by property', () => 'MATCH (n {workspace_id: $other}) RETURN n', { parameters: { other: WS_B } }],
  ['another workspace by a user-supplied workspace_id', () => 'MATCH (n) WHERE n.workspace_id = $workspace_id RETURN n.content AS c', { parameters: { workspace_id: WS_B } }],
  ['system-check markers', () => 'MATCH (s:SystemCheck) RETURN s'],
  ['a UNION', () => 'MATCH (n:Chunk) RETURN n.content AS c UNION MATCH (m:Entity) RETURN m.name AS c'],
  ['a canary searched by name', () => `MATCH (n) WHERE n.content CONTAINS $c OR n.name CONTAINS $c RETURN n`, { parameters: { c: 'Qz' } }],
  ['a string that looks like a LOAD CSV', () => `MATCH (n) WHERE n.name = '*/ LOAD CSV FROM \\'${http()}\\' AS l //' RETURN n`],
  ['backticked names', () => 'MATCH (`n`:`Entity`) RETURN `n`.`name` AS `name`'],
  ['ORDER BY content', () => 'MATCH (c:Chunk) RETURN c ORDER BY c.content DESC'],
];

describe('POST /api/graph/query against hostile queries', () => {
  it(`refuses ${REFUSED.length} queries with a 400 that names why, before they reach Neo4j`, async () => {
    const wrong: string[] = [];
    for (const [what, q, why] of REFUSED) {
      const r = await query(q(), { parameters: { label: 'Entity' } });
      if (r.status !== 400 || !why.test(r.json?.error?.message ?? '')) wrong.push(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    expect(wrong).toEqual([]);
    expect(hits).toBe(0);
    // Nothing was written.
    const pwned = await sys.deps.graph.executeQuery('MATCH (n) WHERE n:Pwned OR n.pwned IS NOT NULL RETURN count(n) AS n');
    expect(pwned.records[0]!.get('n')).toBe(0);
  });

  it(`runs ${CONFINED.length} valid reads confined to the caller's workspace and readable documents`, async () => {
    const failed: string[] = [];
    for (const [what, q, extra] of CONFINED) {
      const r = await query(q(), extra);
      if (r.status !== 200) failed.push(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    expect(failed).toEqual([]);
    expect(hits).toBe(0);
  });

  it('still answers analytical queries with the right rows: counts, neighbourhoods, paths and aggregations', async () => {
    const rows = async (q: string, parameters: Record<string, unknown> = {}) => {
      const r = await query(q, { parameters });
      expect([q, r.status]).toEqual([q, 200]);
      return r.json.rows as Record<string, unknown>[];
    };
    const chunks = (await sys.deps.db.query(`SELECT count(*)::int AS n FROM chunks WHERE document_id = $1`, [docs.org])).rows[0].n;
    expect(await rows('MATCH (d:Document {id: $doc})-[:CONTAINS]->(c:Chunk) RETURN count(c) AS n', { doc: docs.org })).toEqual([{ n: chunks }]);
    // The neighbourhood of an entity: of this run's documents that mention it (the organisation's and
    // another user's private one), the readable one only.
    const mentioning = await rows("MATCH (e:Entity)<-[:MENTIONS]-(:Chunk)<-[:CONTAINS]-(d:Document) WHERE e.name = 'Marguerite Okonkwo' AND d.id IN $ids RETURN DISTINCT d.id AS id", { ids: Object.values(docs) });
    expect(mentioning.map((r) => r.id)).toEqual([docs.org]);
    // A path from a document to an entity it mentions.
    expect(await rows("MATCH p = shortestPath((d:Document {id: $doc})-[*..4]-(e:Entity {name: 'Marguerite Okonkwo'})) RETURN length(p) AS hops", { doc: docs.org })).toEqual([{ hops: 2 }]);
    // Aggregation over the documents the caller may read: the organisation's and their own private one.
    const readable = (await rows('MATCH (d:Document) WHERE d.id IN $ids RETURN d.id AS id ORDER BY id', { ids: Object.values(docs) })).map((r) => r.id);
    expect(readable).toEqual([docs.org, docs.mine].sort());
    // Own private entities are there, another user's are not, even by exact name. The same name in
    // the organisation's document, the caller's private one and another user's private one is three
    // entities, one per scope: the caller sees two.
    expect(await rows("MATCH (e:Entity) WHERE e.name = 'Esterby Ledger' RETURN count(e) AS n")).toEqual([{ n: 1 }]);
    expect(await rows("MATCH (e:Entity) WHERE e.name = 'Tillhaven Cooperage' RETURN count(e) AS n")).toEqual([{ n: 2 }]);
    const all = await sys.deps.graph.executeQuery("MATCH (e:Entity {name: 'Tillhaven Cooperage'})<-[:MENTIONS]-(c:Chunk) WHERE c.document_id IN $ids RETURN count(DISTINCT e) AS n", { ids: [docs.org, docs.mine, docs.theirs] });
    expect(all.records[0]!.get('n')).toBe(3);
    expect(await rows('MATCH (e:Entity) WHERE e.name STARTS WITH $p RETURN count(e) AS n', { p: 'Qzpriv' })).toEqual([{ n: 0 }]);
    // Limits: rows are capped by the query the server runs, and long queries end on the server.
    const capped = await query('UNWIND range(1, 5000) AS x RETURN x', { limit: 10 });
    expect([capped.json.row_count, capped.json.truncated]).toEqual([10, true]);
    const slow = await query('UNWIND range(1, 200000000) AS x WITH x WHERE x % 7 = 3 RETURN count(x) AS n', { timeout_ms: 300 });
    expect(slow.status).toBe(504);
  });

  it('a user without power-user rights cannot query at all', async () => {
    const t = await user(`plain-${RUN}@example.com`, 'user');
    const r = await api(sys.url, '/api/graph/query', { method: 'POST', json: { query: 'MATCH (n) RETURN count(n) AS n' }, token: t });
    expect(r.status).toBe(403);
  });
});

describe("Neo4j's own configuration", () => {
  it('refuses LOAD CSV from files even for the application, and reports the hardened settings itself', async () => {
    await expect(sys.deps.graph.executeQuery(`LOAD CSV FROM '${file(canaryFiles[1]!)}' AS l RETURN l`)).rejects.toThrow(/file|URL|not allowed|import/i);
    await expect(sys.deps.graph.executeQuery(`LOAD CSV FROM 'file:///canary-${RUN}.csv' AS l RETURN l`)).rejects.toThrow();
    const settings = Object.fromEntries(
      (await sys.deps.graph.executeQuery('CALL dbms.listConfig() YIELD name, value RETURN name, value')).records.map((r) => [r.get('name'), r.get('value')]),
    );
    expect(settings).toMatchObject({
      'dbms.security.allow_csv_import_from_file_urls': 'false',
      'dbms.security.procedures.allowlist': 'db.index.fulltext.queryNodes',
      'db.logs.query.enabled': 'INFO',
      'db.logs.query.parameter_logging_enabled': 'false',
      'db.transaction.timeout': '5m',
    });
    expect(settings['server.directories.import']).toMatch(/neo4j\/import$/);
    expect(hits).toBe(0);
  });
});
