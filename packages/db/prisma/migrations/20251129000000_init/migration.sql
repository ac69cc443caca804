-- Initial schema: tenancy tables, row-level security, the runtime role and the credential lookups.
-- Applied by src/migrate.ts inside one transaction, as the privileged (owning) connection.
-- Never edit this file once it has shipped: the migrator refuses a changed checksum. Add a new one.

-- ---------------------------------------------------------------------------------------------
-- Roles. Roles are cluster-wide, so they may already exist (another database on the same server,
-- or a second hub migrating at the same moment): create them only when missing, tolerate losing
-- the race, and refuse to continue if an existing pc_runtime could bypass row-level security.
-- ---------------------------------------------------------------------------------------------
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pc_runtime') THEN
    BEGIN
      CREATE ROLE pc_runtime NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  -- pc_auth_lookup carries the only policies that see across workspaces. Nobody logs in as it;
  -- the migrating role is made a member so that the SECURITY DEFINER credential lookups below
  -- (which run as the migrating role) can find a key or token before the workspace is known,
  -- even when that role is a plain table owner subject to FORCE ROW LEVEL SECURITY.
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pc_auth_lookup') THEN
    BEGIN
      CREATE ROLE pc_auth_lookup NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF EXISTS (
    SELECT 1 FROM pg_catalog.pg_roles
    WHERE rolname = 'pc_runtime' AND (rolsuper OR rolbypassrls OR rolcanlogin)
  ) THEN
    RAISE EXCEPTION 'role pc_runtime exists but is SUPERUSER, BYPASSRLS or LOGIN: row-level security would not isolate workspaces. Fix with ALTER ROLE pc_runtime NOSUPERUSER NOBYPASSRLS NOLOGIN, then start again';
  END IF;
  -- The runtime client connects as the migrating user with `-c role=pc_runtime`, which needs
  -- membership. Superusers already pass pg_has_role and are skipped, which also avoids two
  -- concurrent migrations racing on pg_auth_members.
  IF NOT pg_catalog.pg_has_role(current_user, 'pc_runtime', 'MEMBER') THEN
    GRANT pc_runtime TO CURRENT_USER;
  END IF;
  IF NOT pg_catalog.pg_has_role(current_user, 'pc_auth_lookup', 'USAGE') THEN
    GRANT pc_auth_lookup TO CURRENT_USER;
  END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Tables. Constraint and index names follow Prisma's conventions so a future `prisma migrate
-- diff` against schema.prisma stays quiet.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE "workspaces" (
  "id"         uuid        NOT NULL DEFAULT gen_random_uuid(),
  "name"       text        NOT NULL,
  "slug"       text        NOT NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "workspaces_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "workspaces_name_check" CHECK (char_length("name") BETWEEN 1 AND 128),
  CONSTRAINT "workspaces_slug_check" CHECK ("slug" ~ '^[a-z0-9][a-z0-9-]{0,62}$')
);
CREATE UNIQUE INDEX "workspaces_slug_key" ON "workspaces" ("slug");

-- Users are global (one person, many workspaces), so this table has no workspace_id and no policy.
CREATE TABLE "users" (
  "id"         uuid        NOT NULL DEFAULT gen_random_uuid(),
  "email"      text        NOT NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "users_pkey" PRIMARY KEY ("id"),
  -- Lower-case storage makes the unique index case-insensitive without citext.
  CONSTRAINT "users_email_check" CHECK ("email" = lower("email") AND char_length("email") BETWEEN 3 AND 254)
);
CREATE UNIQUE INDEX "users_email_key" ON "users" ("email");

CREATE TABLE "memberships" (
  "id"           uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id" uuid        NOT NULL,
  "user_id"      uuid        NOT NULL,
  "role"         text        NOT NULL,
  "created_at"   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "memberships_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "memberships_role_check" CHECK ("role" IN ('owner', 'member')),
  CONSTRAINT "memberships_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE,
  CONSTRAINT "memberships_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "memberships_workspace_id_user_id_key" ON "memberships" ("workspace_id", "user_id");
CREATE INDEX "memberships_user_id_idx" ON "memberships" ("user_id");

CREATE TABLE "api_keys" (
  "id"                 uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id"       uuid        NOT NULL,
  "name"               text        NOT NULL,
  "prefix"             text        NOT NULL,
  "key_hash"           text        NOT NULL,
  "created_at"         timestamptz NOT NULL DEFAULT now(),
  "last_used_at"       timestamptz,
  "revoked_at"         timestamptz,
  "created_by_user_id" uuid,
  CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "api_keys_name_check" CHECK (char_length("name") BETWEEN 1 AND 64),
  -- Only a SHA-256 hex digest may land here, never a plaintext key by mistake.
  CONSTRAINT "api_keys_key_hash_check" CHECK ("key_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "api_keys_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE,
  CONSTRAINT "api_keys_created_by_user_id_fkey" FOREIGN KEY ("created_by_user_id") REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys" ("key_hash");
CREATE INDEX "api_keys_workspace_id_idx" ON "api_keys" ("workspace_id");

CREATE TABLE "agents" (
  "id"               uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id"     uuid        NOT NULL,
  "label"            text        NOT NULL,
  "client_type"      text        NOT NULL DEFAULT 'cli',
  "token_hash"       text        NOT NULL,
  "token_expires_at" timestamptz NOT NULL,
  "created_at"       timestamptz NOT NULL DEFAULT now(),
  "last_seen_at"     timestamptz,
  "last_ip"          text,
  "revoked_at"       timestamptz,
  CONSTRAINT "agents_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "agents_label_check" CHECK (char_length("label") BETWEEN 1 AND 64),
  CONSTRAINT "agents_client_type_check" CHECK (char_length("client_type") BETWEEN 1 AND 32),
  CONSTRAINT "agents_token_hash_check" CHECK ("token_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "agents_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "agents_token_hash_key" ON "agents" ("token_hash");
-- Target of the composite foreign key from services (see there).
CREATE UNIQUE INDEX "agents_id_workspace_id_key" ON "agents" ("id", "workspace_id");
CREATE INDEX "agents_workspace_id_idx" ON "agents" ("workspace_id");

CREATE TABLE "services" (
  "id"           uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id" uuid        NOT NULL,
  "agent_id"     uuid        NOT NULL,
  "name"         text        NOT NULL,
  "target_host"  text        NOT NULL,
  "target_port"  integer     NOT NULL,
  "created_at"   timestamptz NOT NULL DEFAULT now(),
  "updated_at"   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "services_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "services_name_check" CHECK ("name" ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  CONSTRAINT "services_target_host_check" CHECK (char_length("target_host") BETWEEN 1 AND 253),
  CONSTRAINT "services_target_port_check" CHECK ("target_port" BETWEEN 1 AND 65535),
  CONSTRAINT "services_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE,
  -- Composite key: foreign-key checks ignore row-level security, so a plain agent_id reference
  -- would let workspace A attach a service to workspace B's agent if it learnt B's agent id.
  CONSTRAINT "services_agent_id_workspace_id_fkey" FOREIGN KEY ("agent_id", "workspace_id") REFERENCES "agents" ("id", "workspace_id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "services_workspace_id_name_key" ON "services" ("workspace_id", "name");
CREATE INDEX "services_agent_id_idx" ON "services" ("agent_id");

-- ---------------------------------------------------------------------------------------------
-- Row-level security: the workspace boundary. FORCE makes the owner obey the policies too.
-- nullif(...) turns "no context" ('' or NULL) into NULL, so a query without withWorkspace()
-- matches zero rows instead of failing on ''::uuid.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE "workspaces" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "workspaces" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "workspaces" FOR ALL
  USING ("id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("id" = nullif(current_setting('app.workspace_id', true), '')::uuid);

ALTER TABLE "memberships" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "memberships" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "memberships" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);

ALTER TABLE "api_keys" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "api_keys" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "api_keys" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);

ALTER TABLE "agents" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "agents" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "agents" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);

ALTER TABLE "services" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "services" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "services" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);

-- Cross-workspace reads for the credential lookups only. pc_runtime is not a member of
-- pc_auth_lookup, so these never apply to application queries.
CREATE POLICY "auth_lookup_select" ON "api_keys" FOR SELECT TO pc_auth_lookup USING (true);
CREATE POLICY "auth_lookup_touch" ON "api_keys" FOR UPDATE TO pc_auth_lookup USING (true) WITH CHECK (true);
CREATE POLICY "auth_lookup_select" ON "agents" FOR SELECT TO pc_auth_lookup USING (true);

-- ---------------------------------------------------------------------------------------------
-- Credential lookups. Before a request's workspace is known there is no context to satisfy the
-- policies, so these narrow SECURITY DEFINER functions take a SHA-256 hex digest and return only
-- the identifiers needed to open a workspace context. Fixed search_path so a caller cannot
-- shadow the tables; EXECUTE is revoked from PUBLIC (the default grants it to everyone).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION pc_auth_api_key(p_key_hash text)
RETURNS TABLE (api_key_id uuid, workspace_id uuid)
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  UPDATE public.api_keys AS k
     SET last_used_at = now()
   WHERE k.key_hash = p_key_hash
     AND k.revoked_at IS NULL
  RETURNING k.id, k.workspace_id
$fn$;

CREATE FUNCTION pc_auth_agent_token(p_token_hash text)
RETURNS TABLE (
  agent_id uuid,
  workspace_id uuid,
  label text,
  client_type text,
  token_expires_at timestamptz,
  revoked_at timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT a.id, a.workspace_id, a.label, a.client_type, a.token_expires_at, a.revoked_at
    FROM public.agents AS a
   WHERE a.token_hash = p_token_hash
$fn$;

REVOKE ALL ON FUNCTION pc_auth_api_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_agent_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_auth_api_key(text) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_agent_token(text) TO pc_runtime;

-- ---------------------------------------------------------------------------------------------
-- Runtime grants: data access only. pc_runtime owns nothing and can change no schema.
-- ---------------------------------------------------------------------------------------------
-- PostgreSQL before 15 let PUBLIC create objects in schema public; the runtime must not.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO pc_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE
  ON "workspaces", "users", "memberships", "api_keys", "agents", "services"
  TO pc_runtime;
