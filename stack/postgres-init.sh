#!/usr/bin/env bash
# First start of the production PostgreSQL (docker-entrypoint-initdb.d): a role and database per
# user of it, each with its own password. The application has two roles: neuronode_owner owns the
# schema and runs the migrations (the compose `migrate` service); neuronode_app, which the API and
# worker use, is no superuser and may only read and append to the audit log (the migrations grant
# it the rest). Temporal and LiteLLM get databases of their own that the application cannot reach.
set -euo pipefail
: "${NEURONODE_DB_OWNER_PASSWORD:?}" "${NEURONODE_DB_APP_PASSWORD:?}" "${TEMPORAL_DB_PASSWORD:?}" "${LITELLM_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE neuronode_owner LOGIN PASSWORD '${NEURONODE_DB_OWNER_PASSWORD}';
CREATE ROLE neuronode_app LOGIN PASSWORD '${NEURONODE_DB_APP_PASSWORD}';
CREATE ROLE temporal LOGIN PASSWORD '${TEMPORAL_DB_PASSWORD}';
CREATE ROLE litellm LOGIN PASSWORD '${LITELLM_DB_PASSWORD}';
CREATE DATABASE neuronode OWNER neuronode_owner;
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE DATABASE litellm OWNER litellm;
REVOKE ALL ON DATABASE neuronode, temporal, temporal_visibility, litellm FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE neuronode TO neuronode_app;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname neuronode -c 'ALTER SCHEMA public OWNER TO neuronode_owner'
