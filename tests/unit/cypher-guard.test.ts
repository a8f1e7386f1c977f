import { CypherRefused, guardCypher } from '../../src/domain/cypher-guard';
import { escapeName, graphScope, readableScopeLabels } from '../../src/domain/graph-scope';

const scopes = readableScopeLabels('default', '11111111-2222-3333-4444-555555555555');
const guard = (q: string, parameters: Record<string, unknown> = {}) => guardCypher(q, { scopeLabels: scopes, maxRows: 101, parameters });
const S = '( `scope:default` | `scope:default/11111111-2222-3333-4444-555555555555` )';

describe('graph scopes', () => {
  it('puts organisation-wide and private documents in scopes of their own', () => {
    expect(graphScope({ workspace_id: 'w' })).toEqual({ key: 'w', label: 'scope:w' });
    expect(graphScope({ workspace_id: 'w', visibility: 'organisation', owner_id: 'u' })).toEqual({ key: 'w', label: 'scope:w' });
    expect(graphScope({ workspace_id: 'w', visibility: 'private', owner_id: 'u' })).toEqual({ key: 'w/u', label: 'scope:w/u' });
    expect(escapeName('a`b')).toBe('`a``b`');
  });
});

describe('the graph query guard', () => {
  it('confines every node pattern, named or anonymous, wherever it stands', () => {
    const q = guard(
      'MATCH p = shortestPath((a:Entity {name: $n})-[*..4]-(b)) WHERE (a)-->(:Chunk) AND EXISTS { MATCH (a)--(c:Entity:Person) } ' +
        'RETURN [(a)-->(x:Q|R) | x.name] AS xs, COUNT { (a)--() } AS k, COLLECT { MATCH (z) RETURN z.name } AS zs',
      { n: 'x' },
    );
    const nodePatterns = 11; // a, b; (a), (:Chunk); (a), (c); (a), (x); (a), (); (z)
    expect(q.split(S).length - 1).toBe(nodePatterns);
    expect(q).toContain(`( a : ( Entity ) & ${S} { name : $n } )`);
    expect(q).toContain(`( c : ( Entity & Person ) & ${S} )`); // colon conjunction normalised to &
    expect(q).toContain(`( x : ( Q | R ) & ${S} )`);
    expect(q).toContain(`( : ${S} )`);
  });

  it('confines quantified paths and IS labels', () => {
    expect(guard('MATCH ((a)-[:R]->(b:X)){1,3} RETURN count(*) AS n')).toBe(`MATCH ( ( a : ${S} ) - [ : R ] - > ( b : ( X ) & ${S} ) ) { 1 , 3 } RETURN count ( * ) AS n LIMIT 101`);
    expect(guard('MATCH (n IS Person) RETURN n')).toBe(`MATCH ( n : ( Person ) & ${S} ) RETURN n LIMIT 101`);
  });

  it('caps every top-level RETURN, keeping a smaller LIMIT of the query', () => {
    expect(guard('MATCH (n) RETURN n')).toMatch(/RETURN n LIMIT 101$/);
    expect(guard('MATCH (n) RETURN n LIMIT 5')).toMatch(/RETURN n LIMIT 5$/);
    expect(guard('MATCH (n) RETURN n LIMIT 5000')).toMatch(/RETURN n LIMIT 101$/);
    expect(guard('MATCH (n) RETURN n LIMIT $k', { k: 7 })).toMatch(/LIMIT CASE WHEN \( \$k \) < 101 THEN \( \$k \) ELSE 101 END$/);
    expect(guard('MATCH (n) WITH n LIMIT 9000 RETURN n.x AS x UNION MATCH (m) RETURN m.y AS x')).toMatch(/WITH n LIMIT 9000 RETURN n.x AS x LIMIT 101 UNION .* RETURN m.y AS x LIMIT 101$/);
  });

  it('prints the query from its tokens: comments never reach Neo4j', () => {
    expect(guard("MATCH (n) RETURN 'x // y' AS s // LOAD CSV FROM 'file:///etc/passwd' AS l")).toBe(`MATCH ( n : ${S} ) RETURN 'x // y' AS s LIMIT 101`);
    expect(guard('MATCH (n) /* CALL db.labels() */ RETURN n.name AS name')).toBe(`MATCH ( n : ${S} ) RETURN n.name AS name LIMIT 101`);
  });

  it.each([
    ["LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", 'LOAD CSV'],
    ['CALL db.labels()', 'CALL (procedures)'],
    ['MATCH (n) CALL (n) { RETURN 1 AS x } RETURN x', 'CALL { … } subqueries'],
    ['RETURN apoc.version() AS v', 'apoc.version'],
    ['RETURN linenumber() AS n', 'linenumber'],
    ['SHOW USERS', 'administration commands (SHOW, CREATE, DROP, GRANT, …)'],
    ['USE system MATCH (n) RETURN n', 'USE'],
    ['MATCH (n) SET n.x = 1 RETURN n', 'SET'],
    ['MATCH (n) FOREACH (x IN [1] | CREATE (:X))', 'FOREACH'],
    ['MATCH (n:$($l)) RETURN n', 'dynamic labels or types ($(…))'],
    ['EXPLAIN MATCH (n) RETURN n', 'EXPLAIN, PROFILE and CYPHER options'],
    ['MATCH (n) RETURN n; MATCH (m) RETURN m', 'statements'],
    ['MATCH (n RETURN n', 'syntax'],
    // Read by Neo4j as `WITH 'x' AS a UNWIND … RETURN l` with the rest a comment; here as one string.
    ["WITH 'x\\u0027 AS a UNWIND [1, 2] AS l RETURN l //' AS s RETURN s", 'unicode escape'],
  ])('refuses %s, naming %s', (q, construct) => {
    try {
      guard(q, { l: 'Entity' });
      throw new Error('not refused');
    } catch (err) {
      expect(err).toBeInstanceOf(CypherRefused);
      expect((err as CypherRefused).construct).toBe(construct);
    }
  });
});
