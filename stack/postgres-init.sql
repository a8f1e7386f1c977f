-- Databases beside the application's own (created by POSTGRES_DB): Temporal's two and LiteLLM's.
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
CREATE DATABASE litellm;
