/**
 * The PostgreSQL schema, as ordered migrations. PostgreSQL is the system of record: workspaces,
 * users, documents and their bytes, chunk bookkeeping, audit log, query history and model metrics.
 * Every row carries its workspace id from day one.
 */
export const MIGRATIONS: { id: string; sql: string }[] = [
  {
    id: '0001_core',
    sql: `
      CREATE TABLE workspaces (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO workspaces (id, name) VALUES ('default', 'Default workspace');

      CREATE TABLE users (
        id uuid PRIMARY KEY,
        email text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'power_user', 'user')),
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE workspace_members (
        workspace_id text NOT NULL REFERENCES workspaces(id),
        user_id uuid NOT NULL REFERENCES users(id),
        role text NOT NULL CHECK (role IN ('admin', 'power_user', 'user')),
        PRIMARY KEY (workspace_id, user_id)
      );

      CREATE TABLE documents (
        id text PRIMARY KEY,
        workspace_id text NOT NULL REFERENCES workspaces(id),
        checksum text NOT NULL,
        filename text NOT NULL,
        client_mime text,
        format text,
        mime text,
        size_bytes bigint NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'deleting', 'cancelled')),
        stage text NOT NULL DEFAULT 'stored',
        title text,
        language text,
        doc_type text,
        category text,
        classification_confidence real,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        counts jsonb NOT NULL DEFAULT '{}'::jsonb,
        error jsonb,
        profile text NOT NULL DEFAULT 'fast',
        owner_id uuid,
        visibility text NOT NULL DEFAULT 'organisation' CHECK (visibility IN ('private', 'organisation')),
        parent_id text REFERENCES documents(id) ON DELETE CASCADE,
        workflow_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (workspace_id, checksum)
      );
      CREATE INDEX documents_ws_status ON documents (workspace_id, status, created_at DESC);

      CREATE TABLE document_blobs (
        document_id text PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        workspace_id text NOT NULL,
        bytes bytea NOT NULL
      );

      CREATE TABLE chunks (
        id text PRIMARY KEY,
        document_id text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        workspace_id text NOT NULL,
        position int NOT NULL,
        page int,
        section text,
        language text,
        tokens int NOT NULL,
        content text NOT NULL,
        UNIQUE (document_id, position)
      );
      CREATE INDEX chunks_ws ON chunks (workspace_id);

      CREATE TABLE system_checks (
        id text PRIMARY KEY,
        workspace_id text NOT NULL REFERENCES workspaces(id),
        workflow_id text NOT NULL,
        result jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE model_calls (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        workspace_id text,
        alias text NOT NULL,
        served_by text,
        task text,
        profile text,
        latency_ms int NOT NULL,
        tokens_in int,
        tokens_out int,
        cost_usd double precision,
        ok boolean NOT NULL,
        error_class text,
        workflow_id text,
        activity text
      );
      CREATE INDEX model_calls_alias_at ON model_calls (alias, at DESC);
    `,
  },
  {
    id: '0002_ingestion',
    sql: `
      ALTER TABLE documents ADD COLUMN links jsonb NOT NULL DEFAULT '[]'::jsonb;
      ALTER TABLE documents ADD COLUMN encoding text;
      CREATE INDEX documents_ws_title ON documents USING gin (to_tsvector('simple', coalesce(title, '') || ' ' || filename));

      -- What the extraction stage found, kept so later stages (and a reprocess) need not parse again.
      CREATE TABLE document_extracts (
        document_id text PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        workspace_id text NOT NULL,
        sections jsonb NOT NULL
      );

      -- Raw model output per batch of chunks: a retried batch replaces its own row, nothing else.
      CREATE TABLE extraction_batches (
        document_id text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        batch int NOT NULL,
        workspace_id text NOT NULL,
        profile text NOT NULL,
        result jsonb NOT NULL,
        model text,
        tokens_in int NOT NULL DEFAULT 0,
        tokens_out int NOT NULL DEFAULT 0,
        cost_usd double precision NOT NULL DEFAULT 0,
        PRIMARY KEY (document_id, batch)
      );

      -- The document's resolved entities and relations (ids are workspace-wide graph ids).
      CREATE TABLE document_entities (
        document_id text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        entity_id text NOT NULL,
        workspace_id text NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        aliases text[] NOT NULL,
        description text,
        confidence real NOT NULL,
        chunk_positions int[] NOT NULL,
        PRIMARY KEY (document_id, entity_id)
      );
      CREATE INDEX document_entities_entity ON document_entities (workspace_id, entity_id);
      CREATE TABLE document_relations (
        document_id text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        workspace_id text NOT NULL,
        source_id text NOT NULL,
        target_id text NOT NULL,
        type text NOT NULL,
        description text,
        confidence real NOT NULL,
        chunk_position int NOT NULL,
        PRIMARY KEY (document_id, source_id, target_id, type, chunk_position)
      );
    `,
  },
  {
    id: '0003_queries',
    sql: `
      -- Query history: every answered question, its request and full response.
      CREATE TABLE queries (
        id text PRIMARY KEY,
        workspace_id text NOT NULL REFERENCES workspaces(id),
        user_id uuid,
        question text NOT NULL,
        request jsonb NOT NULL,
        response jsonb,
        status text NOT NULL CHECK (status IN ('completed', 'failed')),
        answer text,
        grounded boolean,
        workflow_id text,
        batch_id text,
        batch_index int,
        cached boolean NOT NULL DEFAULT false,
        duration_ms int,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- A batch item has exactly one result, however often its workflow is retried or replayed.
        UNIQUE (batch_id, batch_index)
      );
      CREATE INDEX queries_ws_created ON queries (workspace_id, created_at DESC);
      CREATE INDEX queries_user_created ON queries (workspace_id, user_id, created_at DESC);

      CREATE TABLE query_batches (
        id text PRIMARY KEY,
        workspace_id text NOT NULL REFERENCES workspaces(id),
        user_id uuid,
        workflow_id text NOT NULL,
        total int NOT NULL,
        options jsonb NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
        progress jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      );
      CREATE TABLE query_batch_items (
        batch_id text NOT NULL REFERENCES query_batches(id) ON DELETE CASCADE,
        index int NOT NULL,
        question text NOT NULL,
        PRIMARY KEY (batch_id, index)
      );
    `,
  },
  {
    id: '0004_security',
    sql: `
      -- Refresh tokens: stored only as SHA-256 hashes. Each login starts a family; a refresh rotates
      -- within it. Presenting a token that was already rotated revokes the whole family.
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY,
        family_id uuid NOT NULL,
        user_id uuid NOT NULL REFERENCES users(id),
        workspace_id text NOT NULL REFERENCES workspaces(id),
        token_hash text NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

      -- The audit log is append-only: the database refuses UPDATE, DELETE and TRUNCATE on it.
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        workspace_id text,
        actor_id uuid,
        actor_email text,
        role text,
        action text NOT NULL,
        resource text,
        outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
        status int,
        request_id text,
        ip text,
        details jsonb
      );
      CREATE INDEX audit_log_ws_at ON audit_log (workspace_id, at DESC);
      CREATE INDEX audit_log_action_at ON audit_log (action, at DESC);
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$;
      CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

      CREATE INDEX documents_ws_owner ON documents (workspace_id, owner_id) WHERE visibility = 'private';
      ALTER TABLE users ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
    `,
  },
  {
    id: '0005_models',
    sql: `
      -- Which model serves a task slot × profile when it is not the alias's own (an admin's or the
      -- optimisation's decision). Absent: the alias as LiteLLM configures it.
      CREATE TABLE model_assignments (
        task text NOT NULL,
        profile text NOT NULL,
        model text NOT NULL,
        source text NOT NULL CHECK (source IN ('admin', 'optimization')),
        reason jsonb,
        updated_by uuid,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (task, profile)
      );

      -- The seed's model performance metrics, over every recorded call.
      CREATE VIEW model_performance_metrics AS
        SELECT alias, coalesce(served_by, 'unknown') AS model, task, profile,
               count(*)::int AS total_requests,
               avg(latency_ms)::float AS avg_response_ms,
               avg(CASE WHEN ok THEN 1 ELSE 0 END)::float AS success_rate,
               CASE WHEN coalesce(sum(tokens_in + tokens_out), 0) > 0
                    THEN (coalesce(sum(cost_usd), 0) * 1000 / sum(tokens_in + tokens_out))::float ELSE 0 END AS cost_per_1k_tokens,
               count(*) FILTER (WHERE at > now() - interval '24 hours')::int AS last_24h_usage,
               max(at) AS last_call_at
          FROM model_calls GROUP BY alias, coalesce(served_by, 'unknown'), task, profile;

      -- Model optimisation runs: candidates, every score (keyed task|model), the decision and its fate.
      CREATE TABLE optimization_runs (
        id text PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('running', 'deciding', 'awaiting_approval', 'applied', 'rejected', 'failed')),
        trigger text NOT NULL,
        golden_version text NOT NULL,
        candidates jsonb NOT NULL,
        tasks jsonb NOT NULL,
        floor double precision NOT NULL,
        require_approval boolean NOT NULL,
        scores jsonb NOT NULL DEFAULT '{}'::jsonb,
        decision jsonb,
        note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      );
    `,
  },
  {
    id: '0006_budget',
    sql: `
      -- A workspace's budget: ingestions estimated above approval_above_usd wait for an
      -- administrator; at daily_limit_usd of model spend per UTC day new model work pauses. NULL: none.
      CREATE TABLE budget_settings (
        workspace_id text PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
        approval_above_usd numeric CHECK (approval_above_usd >= 0),
        daily_limit_usd numeric CHECK (daily_limit_usd >= 0),
        updated_by uuid,
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      -- An ingestion waiting for its budget decision, or rejected by it; the estimate and decision.
      ALTER TABLE documents DROP CONSTRAINT documents_status_check;
      ALTER TABLE documents ADD CONSTRAINT documents_status_check
        CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'deleting', 'cancelled', 'awaiting_approval', 'rejected'));
      ALTER TABLE documents ADD COLUMN budget jsonb;

      -- Today's spend of a workspace.
      CREATE INDEX model_calls_ws_at ON model_calls (workspace_id, at DESC);
    `,
  },
  {
    id: '0007_batch_budget',
    sql: `
      -- The ingestion batch a document came in with, and one budget decision for a whole batch:
      -- its documents that need approval take it instead of each waiting for one of their own.
      ALTER TABLE documents ADD COLUMN batch_id text;
      CREATE INDEX documents_batch ON documents (batch_id) WHERE batch_id IS NOT NULL;
      CREATE TABLE batch_budget_decisions (
        batch_id text PRIMARY KEY,
        workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        approve boolean NOT NULL,
        decided_by text,
        reason text,
        decided_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: '0008_private_dedupe',
    sql: `
      -- Identical bytes are one document per scope: organisation-wide documents per workspace, private
      -- ones per owner. An upload never learns that another user privately holds the same file.
      ALTER TABLE documents ADD COLUMN dedupe_scope text GENERATED ALWAYS AS (CASE WHEN visibility = 'private' THEN owner_id::text ELSE '' END) STORED;
      ALTER TABLE documents DROP CONSTRAINT documents_workspace_id_checksum_key;
      ALTER TABLE documents ADD CONSTRAINT documents_scope_checksum UNIQUE (workspace_id, dedupe_scope, checksum);
    `,
  },
  {
    id: '0009_installation_admin',
    sql: `
      -- Installation-wide controls (model assignments and optimisation, global metrics, disabling an
      -- account) need an installation administrator, not the administrator of one workspace. The
      -- first administrator, created at bootstrap, is one.
      ALTER TABLE users ADD COLUMN installation_admin boolean NOT NULL DEFAULT false;
      UPDATE users SET installation_admin = true
       WHERE id IN (SELECT actor_id FROM audit_log WHERE action = 'user.bootstrap_admin' AND actor_id IS NOT NULL);
    `,
  },
];
