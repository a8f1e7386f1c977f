import { getDebugTree, lintCypherQuery, type SimpleTree } from '@neo4j-cypher/language-support';
import { escapeName } from './graph-scope';

/**
 * Read-only Cypher for power users, safe by construction.
 *
 * The query is parsed with Neo4j's own Cypher grammar and front end (@neo4j-cypher/language-support).
 * Only an allowlist of read clauses, expressions and functions is accepted; anything else is refused
 * with the construct's name. The query that runs is not the user's text: it is printed from the parse
 * tree, token by token, so comments and string tricks cannot hide anything, and on the way every node
 * pattern — named or anonymous, in MATCH, OPTIONAL MATCH, pattern expressions and comprehensions,
 * EXISTS/COUNT/COLLECT subqueries, quantified paths and shortestPath — is confined to the caller's
 * scope labels: `(n:Entity)` becomes `(n:(Entity)&(`scope:ws`|`scope:ws:me`))`. Every relationship
 * joins two nodes of one scope (`src/domain/graph-scope.ts`), so paths between confined nodes stay
 * inside readable data too. Each RETURN of the top-level query gets a LIMIT.
 *
 * The printed query is parsed again and must print to itself, and must pass the Cypher 5 front end
 * without errors; otherwise it is refused (fail closed). Unicode escapes are refused outright: Neo4j
 * decodes them before parsing, this grammar inside strings, and a query read two ways is not checked.
 */

export class CypherRefused extends Error {
  constructor(
    message: string,
    /** The refused construct, e.g. "LOAD CSV", or "syntax". */
    readonly construct: string,
  ) {
    super(message);
    this.name = 'CypherRefused';
  }
}

export interface CypherGuardOptions {
  /** Labels of the nodes the caller may read; every node pattern is confined to one of them. */
  scopeLabels: string[];
  /** The LIMIT each RETURN of the top-level query gets (at most). */
  maxRows: number;
  /** The request's parameters (the front end checks that every `$name` used is given). */
  parameters?: Record<string, unknown>;
}

/** Grammar rules a read query may consist of. Everything else is refused, named by REFUSED_NAMES. */
const ALLOWED_RULES = new Set([
  'statementOrCommand', 'preparsedStatement', 'statement', 'queryWithLocalDefinitions', 'nextStatement', 'regularQuery',
  'union', 'singleQuery', 'clause', 'matchClause', 'withClause', 'returnClause', 'unwindClause', 'returnBody', 'returnItems',
  'returnItem', 'orderBy', 'orderItem', 'ascToken', 'descToken', 'skip', 'limit', 'whereClause', 'patternList', 'pattern',
  'anonymousPattern', 'shortestPathPattern', 'patternElement', 'pathPatternNonEmpty', 'nodePattern', 'parenthesizedPath',
  'quantifier', 'relationshipPattern', 'leftArrow', 'arrowLine', 'rightArrow', 'pathLength', 'labelExpression',
  'labelExpression4', 'labelExpression3', 'labelExpression2', 'labelExpression1', 'properties', 'map', 'propertyKeyName',
  'expression', 'expression11', 'expression10', 'expression9', 'expression8', 'expression7', 'comparisonExpression6',
  'normalForm', 'expression6', 'expression5', 'expression4', 'expression3', 'expression2', 'expression1', 'postFix',
  'property', 'literal', 'numberLiteral', 'stringLiteral', 'parameter', 'parameterName', 'caseExpression', 'caseAlternative',
  'extendedCaseExpression', 'extendedCaseAlternative', 'extendedWhen', 'countStar', 'existsExpression', 'countExpression',
  'collectExpression', 'mapProjection', 'mapProjectionElement', 'listComprehension', 'listLiteral', 'patternComprehension',
  'reduceExpression', 'listItemsPredicate', 'normalizeFunction', 'trimFunction', 'patternExpression',
  'shortestPathExpression', 'parenthesizedExpression', 'functionInvocation', 'functionArgument', 'functionName', 'namespace',
  'variable', 'symbolicVariableNameString', 'escapedSymbolicVariableNameString', 'unescapedSymbolicVariableNameString',
  'symbolicNameString', 'escapedSymbolicNameString', 'unescapedSymbolicNameString', 'unescapedSymbolicNameString_',
  'preparserKeyword', 'type', 'typePart', 'typeName', 'typeNullability', 'typeListSuffix',
]);

/** What a refused rule is called in the error message. */
const REFUSED_NAMES: Record<string, string> = {
  loadCSVClause: 'LOAD CSV',
  callClause: 'CALL (procedures)',
  subqueryClause: 'CALL { … } subqueries',
  foreachClause: 'FOREACH',
  createClause: 'CREATE',
  insertClause: 'INSERT',
  mergeClause: 'MERGE',
  deleteClause: 'DELETE',
  setClause: 'SET',
  removeClause: 'REMOVE',
  useClause: 'USE',
  finishClause: 'FINISH',
  letClause: 'LET',
  filterClause: 'FILTER',
  forListClause: 'FOR',
  orderBySkipLimitClause: 'ORDER BY/SKIP/LIMIT as a clause of its own',
  composableCommandClauses: 'SHOW/TERMINATE commands',
  command: 'administration commands (SHOW, CREATE, DROP, GRANT, …)',
  consoleCommand: 'console commands',
  preparserOption: 'EXPLAIN, PROFILE and CYPHER options',
  localDefinition: 'DEFINE',
  when: 'conditional queries (WHEN … THEN)',
  dynamicAnyAllExpression: 'dynamic labels or types ($(…))',
  dynamicExpression: 'dynamic labels or types ($(…))',
  dynamicLabelType: 'dynamic labels or types ($(…))',
  hint: 'planner hints (USING …)',
  matchMode: 'match modes',
  pathPatternPrefix: 'path selectors',
  searchClause: 'SEARCH',
  groupBy: 'GROUP BY',
  interpolatedStringLiteral: 'interpolated strings',
  obfuscatedLiteral: 'obfuscated literals',
  allReduceExpression: 'allReduce',
  propertyExistsPredicate: 'property_exists',
  vectorFunction: 'vector functions',
  vectorDistanceFunction: 'vector functions',
  vectorNormFunction: 'vector functions',
};

/** Built-in functions without a namespace that only compute over their arguments. */
const ALLOWED_FUNCTIONS = new Set(
  [
    // aggregation
    'count', 'sum', 'avg', 'min', 'max', 'collect', 'percentileCont', 'percentileDisc', 'stDev', 'stDevP',
    // graph elements
    'labels', 'type', 'keys', 'properties', 'nodes', 'relationships', 'startNode', 'endNode', 'elementId', 'id', 'length',
    // lists and values
    'size', 'head', 'last', 'tail', 'range', 'reverse', 'coalesce', 'isEmpty', 'nullIf', 'valueType',
    'toBoolean', 'toBooleanOrNull', 'toFloat', 'toFloatOrNull', 'toInteger', 'toIntegerOrNull', 'toString', 'toStringOrNull',
    'toBooleanList', 'toFloatList', 'toIntegerList', 'toStringList',
    // strings
    'left', 'right', 'ltrim', 'rtrim', 'btrim', 'replace', 'split', 'substring', 'toLower', 'toUpper', 'lower', 'upper',
    'char_length', 'character_length',
    // numbers
    'abs', 'ceil', 'floor', 'round', 'sign', 'isNaN', 'sqrt', 'exp', 'log', 'log10', 'e', 'pi', 'rand',
    'sin', 'cos', 'tan', 'cot', 'asin', 'acos', 'atan', 'atan2', 'degrees', 'radians', 'haversin',
    // time
    'date', 'datetime', 'localdatetime', 'localtime', 'time', 'duration', 'timestamp',
  ].map((f) => f.toLowerCase()),
);

type Tree = SimpleTree;
const isToken = (t: Tree): boolean => !t.children || t.children.length === 0;
const kids = (t: Tree): Tree[] => t.children ?? [];
/** A node's text, for messages. */
const textOf = (t: Tree): string => (isToken(t) ? t.name : kids(t).map(textOf).join(' '));

interface Ctx {
  /** The scope labels as tokens (`a`, |, `b`); null to print node patterns as they are (the re-check). */
  scopes: string[] | null;
  /** The LIMIT for the top-level RETURNs; null to print them as they are (the re-check). */
  maxRows: number | null;
  /** Inside the top-level query (not in a subquery or expression): its RETURNs get the LIMIT. */
  top: boolean;
}

/** Prints a tree as Cypher with the rules above; throws CypherRefused for anything not allowed. */
function print(t: Tree, ctx: Ctx): string[] {
  if (isToken(t)) return t.name === '<EOF>' ? [] : [t.name];
  const rule = t.name;
  if (!ALLOWED_RULES.has(rule)) throw refuse(rule, t);
  switch (rule) {
    case 'queryWithLocalDefinitions':
    case 'nextStatement':
      if (kids(t).some((c) => isToken(c) && /^(DEFINE|NEXT)$/i.test(c.name))) throw new CypherRefused(`${kids(t).find(isToken)!.name.toUpperCase()} is not allowed: graph queries are single read queries`, 'query composition');
      break;
    case 'singleQuery':
      if (kids(t).some((c) => isToken(c) && c.name === '{')) throw new CypherRefused('braced subqueries are not allowed: graph queries are single read queries', 'subquery');
      return singleQuery(t, ctx);
    case 'nodePattern':
      return nodePattern(t, ctx);
    case 'functionInvocation':
      checkFunction(t);
      break;
    case 'functionName': {
      // An empty namespace rule has no children: it prints nothing (checkFunction allowed only that).
      const [ns, name] = kids(t);
      return ns && isToken(ns) && name ? print(name, ctx) : kids(t).flatMap((c) => print(c, ctx));
    }
    case 'labelExpression4':
      // One label syntax in the whole query: Neo4j refuses `:A:B` beside `&`, which confinement adds.
      return labelExpression4(t);
    case 'existsExpression':
    case 'countExpression':
    case 'collectExpression':
    case 'patternComprehension':
    case 'listComprehension':
    case 'patternExpression':
      return kids(t).flatMap((c) => print(c, { ...ctx, top: false }));
  }
  return kids(t).flatMap((c) => print(c, ctx));
}

function refuse(rule: string, t: Tree): CypherRefused {
  const name = REFUSED_NAMES[rule] ?? (rule.startsWith('show') ? 'SHOW commands' : null);
  const snippet = textOf(t).slice(0, 80);
  return new CypherRefused(
    name ? `${name} is not allowed in graph queries (read-only MATCH, WITH, UNWIND and RETURN): "${snippet}"` : `"${snippet}" (${rule}) is not allowed in graph queries: only MATCH, OPTIONAL MATCH, WITH, UNWIND, RETURN and UNION with built-in functions are`,
    name ?? rule,
  );
}

/** The top-level query's RETURN gets a LIMIT of at most maxRows. */
function singleQuery(t: Tree, ctx: Ctx): string[] {
  const clauses = kids(t);
  const max = ctx.maxRows ?? 0;
  return clauses.flatMap((c, i) => {
    const isFinalReturn = ctx.maxRows !== null && ctx.top && i === clauses.length - 1 && kids(c)[0]?.name === 'returnClause';
    if (!isFinalReturn) return print(c, ctx);
    const ret = kids(c)[0]!;
    const [keyword, body] = kids(ret);
    const parts = kids(body!);
    const limit = parts.find((p) => p.name === 'limit');
    const out = [...print(keyword!, ctx), ...parts.filter((p) => p !== limit).flatMap((p) => print(p, ctx))];
    if (!limit) return [...out, 'LIMIT', String(max)];
    const given = print(kids(limit)[1]!, ctx);
    if (given.length === 1 && /^\d+$/.test(given[0]!)) return [...out, 'LIMIT', String(Math.min(Number(given[0]), max))];
    return [...out, 'LIMIT', 'CASE', 'WHEN', '(', ...given, ')', '<', String(max), 'THEN', '(', ...given, ')', 'ELSE', String(max), 'END'];
  });
}

/** `( variable? labels? properties? (WHERE …)? )` with the labels confined to the caller's scopes. */
function nodePattern(t: Tree, ctx: Ctx): string[] {
  const parts = kids(t);
  if (ctx.scopes === null) return parts.flatMap((c) => print(c, ctx));
  const scopes = ctx.scopes;
  const out: string[] = [];
  let confined = false;
  const confine = (userLabels?: Tree) => {
    out.push(':', ...(userLabels ? ['(', ...labelExpression4(kids(userLabels)[1]!), ')', '&'] : []), '(', ...scopes, ')');
    confined = true;
  };
  for (const p of parts) {
    if (isToken(p) && p.name === '(') {
      out.push('(');
    } else if (p.name === 'variable') {
      out.push(...print(p, ctx));
    } else if (p.name === 'labelExpression') {
      confine(p);
    } else if (isToken(p) && (p.name === ')' || /^WHERE$/i.test(p.name) || p.name === '{') ) {
      if (!confined) confine();
      out.push(p.name);
    } else if (p.name === 'properties') {
      if (!confined) confine();
      out.push(...print(p, ctx));
    } else {
      out.push(...print(p, ctx));
    }
  }
  if (!confined) throw new CypherRefused('a node pattern could not be confined to your workspace', 'node pattern');
  return out;
}

/** A label expression in one syntax (GQL: `&`, `|`, `!`, `%`), so it can be combined with the scope. */
function labelExpression4(t: Tree): string[] {
  const alternatives = kids(t).filter((c) => c.name === 'labelExpression3');
  return alternatives.flatMap((a, i) => [...(i ? ['|'] : []), ...labelExpression3(a)]);
}
function labelExpression3(t: Tree): string[] {
  const conjuncts = kids(t).filter((c) => c.name === 'labelExpression2');
  return conjuncts.flatMap((c, i) => [...(i ? ['&'] : []), ...labelExpression2(c)]);
}
function labelExpression2(t: Tree): string[] {
  return kids(t).flatMap((c) => (isToken(c) ? [c.name] : labelExpression1(c)));
}
function labelExpression1(t: Tree): string[] {
  if (t.name !== 'labelExpression1') throw refuse(t.name, t);
  const [first] = kids(t);
  if (!first) throw refuse(t.name, t);
  if (isToken(first) && first.name === '(') return ['(', ...labelExpression4(kids(t)[1]!), ')'];
  if (isToken(first)) return [first.name]; // %
  if (first.name !== 'symbolicNameString') throw refuse(first.name, first);
  return print(first, { scopes: null, maxRows: null, top: false });
}

function checkFunction(t: Tree): void {
  const fname = kids(t)[0]!;
  const [namespace, name] = kids(fname);
  if (!namespace || !name) throw refuse('functionName', fname);
  // An empty namespace is a leaf named after its rule; a real one has children (`apoc` `.`).
  const ns = isToken(namespace) ? '' : textOf(namespace).replace(/\s+/g, '');
  const bare = textOf(name).replace(/\s+/g, '');
  if (ns) throw new CypherRefused(`the function ${ns}${bare} is not allowed: only built-in functions without a namespace are (no procedures, apoc, db, dbms, gds, …)`, `${ns}${bare}`);
  if (!ALLOWED_FUNCTIONS.has(bare.replace(/`/g, '').toLowerCase())) throw new CypherRefused(`the function ${bare} is not allowed in graph queries`, bare);
}

/** Joins printed tokens: a space between tokens, none after `$` and none around `.`. */
function join(tokens: string[]): string {
  let out = '';
  let prev = '';
  for (const tok of tokens) {
    const tight = prev === '$' || tok === '.' || prev === '.';
    out += out && !tight ? ` ${tok}` : tok;
    prev = tok;
  }
  return out;
}

function errorsOf(query: string, parameters: Record<string, unknown>): string[] {
  return lintCypherQuery(`CYPHER 5 ${query}`, { parameters })
    .diagnostics.filter((d) => d.severity === 1)
    .map((d) => (typeof d.message === 'string' ? d.message : d.message.value));
}

function printQuery(query: string, ctx: Ctx): string {
  const root = getDebugTree(query);
  const statements = kids(root);
  if (statements.length !== 1) throw new CypherRefused('send exactly one statement', 'statements');
  return join(print(statements[0]!, ctx));
}

/** Checks a user's query and returns the confined query to run instead; throws CypherRefused. */
export function guardCypher(query: string, opts: CypherGuardOptions): string {
  if (!opts.scopeLabels.length) throw new Error('guardCypher needs at least one scope label');
  const parameters = opts.parameters ?? {};
  // Neo4j decodes \uXXXX escapes in the whole query before it reads it (so `'a\u0027` ends a
  // string there), while the grammar here reads them as characters of the string. Where the two
  // readings could differ, the query is refused rather than guessed at.
  if (/\\u+[0-9a-fA-F]{4}/.test(query)) throw new CypherRefused('unicode escapes (\\uXXXX) are not accepted in graph queries: Neo4j decodes them before it reads the query, so they could change its meaning; pass such text as a parameter', 'unicode escape');
  const errors = errorsOf(query, parameters);
  if (errors.length) throw new CypherRefused(`the query is not valid Cypher: ${errors.slice(0, 3).join('; ')}`, 'syntax');
  const printed = printQuery(query, { scopes: opts.scopeLabels.flatMap((l, i) => [...(i ? ['|'] : []), escapeName(l)]), maxRows: opts.maxRows, top: true });
  // Fail closed: what runs must print to itself when parsed again (no token means something else
  // to the parser the second time) and must be valid Cypher 5.
  if (printQuery(printed, { scopes: null, maxRows: null, top: true }) !== printed) throw new CypherRefused('the query could not be rewritten safely', 'rewrite');
  const left = errorsOf(printed, parameters);
  if (left.length) throw new CypherRefused(`the rewritten query is not valid Cypher: ${left[0]}`, 'rewrite');
  return printed;
}
