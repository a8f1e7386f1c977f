/**
 * The installation's model assignments as the test environment (tests/environment.js) and the test
 * helpers (tests/helpers/assignments.ts) read them and put them back: one statement for both.
 */
const COLUMNS = 'task, profile, model, source, reason, updated_by, updated_at';

/** ASSIGNMENTS_VERSION_KEY of src/adapters/llm.ts (a unit test keeps the two equal): every process reroutes when it changes. */
const VERSION_KEY = 'neuronode:model-assignments:version';

/** Every assignment, as rows; `db` is a pg Client or Pool. */
async function readAssignments(db) {
  return (await db.query(`SELECT ${COLUMNS} FROM model_assignments ORDER BY task, profile`)).rows;
}

/** Replaces every assignment by `rows` in one transaction on `client` (a pg Client, or a client of a pool). */
async function replaceAssignments(client, rows) {
  await client.query('BEGIN');
  try {
    await client.query('DELETE FROM model_assignments');
    await client.query(
      `INSERT INTO model_assignments (${COLUMNS})
       SELECT ${COLUMNS} FROM jsonb_to_recordset($1::jsonb)
         AS r(task text, profile text, model text, source text, reason jsonb, updated_by uuid, updated_at timestamptz)`,
      [JSON.stringify(rows)],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

module.exports = { VERSION_KEY, readAssignments, replaceAssignments };
