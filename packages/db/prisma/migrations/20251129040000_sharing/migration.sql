-- Sharing across workspaces: share codes that grant agents of other workspaces some services,
-- and public HTTP links in front of one service. Applied after 20251129030000_audit_events.
-- Never edit once shipped: add a new one.

-- ---------------------------------------------------------------------------------------------
-- Shares. A share belongs to the sharing workspace. Its code is a secret shown once and stored
-- only as SHA-256; code_hint is its first group, so people can tell shares apart in a list.
-- `services` is the exact set of names granted (a snapshot of what was exposed when no list was
-- given): a service exposed later is not shared by accident.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE "shares" (
  "id"                    uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id"          uuid        NOT NULL,
  "name"                  text        NOT NULL,
  "code_hash"             text        NOT NULL,
  "code_hint"             text        NOT NULL,
  "services"              text[]      NOT NULL,
  "rate_limit_per_minute" integer,
  "created_by_type"       text        NOT NULL,
  -- No foreign key: the record of who created the share outlives the key, agent or user.
  "created_by_id"         uuid        NOT NULL,
  "created_at"            timestamptz NOT NULL DEFAULT now(),
  "expires_at"            timestamptz NOT NULL,
  "revoked_at"            timestamptz,
  "use_count"             bigint      NOT NULL DEFAULT 0,
  "last_used_at"          timestamptz,
  CONSTRAINT "shares_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "shares_name_check" CHECK (char_length("name") BETWEEN 1 AND 64),
  CONSTRAINT "shares_code_hash_check" CHECK ("code_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "shares_code_hint_check" CHECK (char_length("code_hint") BETWEEN 1 AND 8),
  CONSTRAINT "shares_services_check" CHECK (cardinality("services") BETWEEN 1 AND 100),
  CONSTRAINT "shares_rate_limit_check" CHECK ("rate_limit_per_minute" BETWEEN 1 AND 100000),
  CONSTRAINT "shares_created_by_type_check" CHECK ("created_by_type" IN ('user', 'api_key', 'agent')),
  CONSTRAINT "shares_expiry_check" CHECK ("expires_at" > "created_at"),
  CONSTRAINT "shares_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "shares_code_hash_key" ON "shares" ("code_hash");
-- Target of the composite foreign key from share_grants.
CREATE UNIQUE INDEX "shares_id_workspace_id_key" ON "shares" ("id", "workspace_id");
CREATE INDEX "shares_workspace_id_idx" ON "shares" ("workspace_id");

-- One joined agent of another workspace, as the sharing workspace sees it: who joined (the
-- label is copied, since the sharing workspace cannot read the other workspace's agents) and
-- how often they used the share. Its existence is what authorizes a stream through the share.
CREATE TABLE "share_grants" (
  "id"                   uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id"         uuid        NOT NULL,
  "share_id"             uuid        NOT NULL,
  "grantee_workspace_id" uuid        NOT NULL,
  "grantee_agent_id"     uuid        NOT NULL,
  "grantee_label"        text        NOT NULL,
  "joined_at"            timestamptz NOT NULL DEFAULT now(),
  "use_count"            bigint      NOT NULL DEFAULT 0,
  "last_used_at"         timestamptz,
  CONSTRAINT "share_grants_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "share_grants_other_workspace_check" CHECK ("grantee_workspace_id" <> "workspace_id"),
  CONSTRAINT "share_grants_share_id_workspace_id_fkey" FOREIGN KEY ("share_id", "workspace_id")
    REFERENCES "shares" ("id", "workspace_id") ON DELETE CASCADE,
  CONSTRAINT "share_grants_grantee_agent_id_fkey" FOREIGN KEY ("grantee_agent_id", "grantee_workspace_id")
    REFERENCES "agents" ("id", "workspace_id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "share_grants_share_id_grantee_agent_id_key" ON "share_grants" ("share_id", "grantee_agent_id");
CREATE INDEX "share_grants_workspace_id_idx" ON "share_grants" ("workspace_id");
CREATE INDEX "share_grants_grantee_agent_id_idx" ON "share_grants" ("grantee_agent_id");

-- The same join, as the joining workspace sees it: where to look when one of its agents asks
-- for a name it does not expose itself. It authorizes nothing on its own; the stream open
-- checks the grant, the share's expiry and revocation in the sharing workspace every time.
CREATE TABLE "joined_shares" (
  "id"                 uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id"       uuid        NOT NULL,
  "agent_id"           uuid        NOT NULL,
  "share_id"           uuid        NOT NULL,
  "owner_workspace_id" uuid        NOT NULL,
  -- Copied at join time for `connect reach NAME --from SLUG` and for lists: the joining
  -- workspace cannot read the sharing workspace's rows.
  "owner_slug"         text        NOT NULL,
  "share_name"         text        NOT NULL,
  "joined_at"          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "joined_shares_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "joined_shares_agent_id_workspace_id_fkey" FOREIGN KEY ("agent_id", "workspace_id")
    REFERENCES "agents" ("id", "workspace_id") ON DELETE CASCADE,
  CONSTRAINT "joined_shares_share_id_owner_workspace_id_fkey" FOREIGN KEY ("share_id", "owner_workspace_id")
    REFERENCES "shares" ("id", "workspace_id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "joined_shares_agent_id_share_id_key" ON "joined_shares" ("agent_id", "share_id");
CREATE INDEX "joined_shares_workspace_id_idx" ON "joined_shares" ("workspace_id");

-- ---------------------------------------------------------------------------------------------
-- Public links: HTTP in front of one service, with restrictions. The slug is the secret part of
-- the URL, stored only as SHA-256 (slug_hint is its first characters, for lists). Empty
-- `methods` or `paths` means no restriction of that kind.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE "public_links" (
  "id"                    uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id"          uuid        NOT NULL,
  "service_name"          text        NOT NULL,
  "slug_hash"             text        NOT NULL,
  "slug_hint"             text        NOT NULL,
  "methods"               text[]      NOT NULL DEFAULT '{}',
  "paths"                 text[]      NOT NULL DEFAULT '{}',
  "rate_limit_per_minute" integer,
  "created_by_type"       text        NOT NULL,
  "created_by_id"         uuid        NOT NULL,
  "created_at"            timestamptz NOT NULL DEFAULT now(),
  "expires_at"            timestamptz NOT NULL,
  "revoked_at"            timestamptz,
  "access_count"          bigint      NOT NULL DEFAULT 0,
  "last_access_at"        timestamptz,
  CONSTRAINT "public_links_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "public_links_service_name_check" CHECK (char_length("service_name") BETWEEN 1 AND 64),
  CONSTRAINT "public_links_slug_hash_check" CHECK ("slug_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "public_links_slug_hint_check" CHECK (char_length("slug_hint") BETWEEN 1 AND 8),
  CONSTRAINT "public_links_methods_check" CHECK (cardinality("methods") <= 16),
  CONSTRAINT "public_links_paths_check" CHECK (cardinality("paths") <= 32),
  CONSTRAINT "public_links_rate_limit_check" CHECK ("rate_limit_per_minute" BETWEEN 1 AND 100000),
  CONSTRAINT "public_links_created_by_type_check" CHECK ("created_by_type" IN ('user', 'api_key', 'agent')),
  CONSTRAINT "public_links_expiry_check" CHECK ("expires_at" > "created_at"),
  CONSTRAINT "public_links_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "public_links_slug_hash_key" ON "public_links" ("slug_hash");
CREATE INDEX "public_links_workspace_id_idx" ON "public_links" ("workspace_id");

-- ---------------------------------------------------------------------------------------------
-- Row-level security: the usual isolation on all four, plus narrow cross-workspace access for
-- the SECURITY DEFINER functions below only (pc_auth_lookup; pc_runtime is not a member).
-- ---------------------------------------------------------------------------------------------
ALTER TABLE "shares" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "shares" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "shares" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);
CREATE POLICY "auth_lookup_select" ON "shares" FOR SELECT TO pc_auth_lookup USING (true);

ALTER TABLE "share_grants" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "share_grants" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "share_grants" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);
CREATE POLICY "auth_lookup_all" ON "share_grants" FOR ALL TO pc_auth_lookup USING (true) WITH CHECK (true);

ALTER TABLE "joined_shares" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "joined_shares" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "joined_shares" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);
CREATE POLICY "auth_lookup_all" ON "joined_shares" FOR ALL TO pc_auth_lookup USING (true) WITH CHECK (true);

ALTER TABLE "public_links" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "public_links" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "public_links" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);
CREATE POLICY "auth_lookup_select" ON "public_links" FOR SELECT TO pc_auth_lookup USING (true);

-- ---------------------------------------------------------------------------------------------
-- Joining a share by its code. The joining workspace comes from app.workspace_id (set by
-- withWorkspace for the joining agent), never from a parameter, and the agent must belong to it.
-- Writes both sides of the join in one statement; joining again is harmless. Returns nothing
-- for an unknown, expired or revoked code, or a share of the joiner's own workspace, so a caller
-- learns nothing about which of these it was (the code is the only secret).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION pc_share_join(p_code_hash text, p_agent_id uuid, p_now timestamptz)
RETURNS TABLE (
  share_id uuid,
  owner_workspace_id uuid,
  owner_slug text,
  share_name text,
  services text[],
  expires_at timestamptz
)
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  WITH joiner AS (
    SELECT a.id AS agent_id, a.workspace_id, a.label
      FROM public.agents AS a
     WHERE a.id = p_agent_id
       AND a.revoked_at IS NULL
       AND a.workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid
  ), share AS (
    SELECT s.id, s.workspace_id, s.name, s.services, s.expires_at, w.slug
      FROM public.shares AS s
      JOIN public.workspaces AS w ON w.id = s.workspace_id
      JOIN joiner AS j ON j.workspace_id <> s.workspace_id
     WHERE s.code_hash = p_code_hash
       AND s.revoked_at IS NULL
       AND s.expires_at > p_now
  ), granted AS (
    INSERT INTO public.share_grants (workspace_id, share_id, grantee_workspace_id, grantee_agent_id, grantee_label, joined_at)
    SELECT s.workspace_id, s.id, j.workspace_id, j.agent_id, j.label, p_now
      FROM share AS s, joiner AS j
    ON CONFLICT (share_id, grantee_agent_id) DO UPDATE SET grantee_label = excluded.grantee_label
    RETURNING share_grants.share_id
  ), joined AS (
    INSERT INTO public.joined_shares (workspace_id, agent_id, share_id, owner_workspace_id, owner_slug, share_name, joined_at)
    SELECT j.workspace_id, j.agent_id, s.id, s.workspace_id, s.slug, s.name, p_now
      FROM share AS s, joiner AS j
    ON CONFLICT (agent_id, share_id) DO UPDATE SET share_name = excluded.share_name
    RETURNING joined_shares.share_id
  )
  SELECT s.id, s.workspace_id, s.slug, s.name, s.services, s.expires_at
    FROM share AS s
    JOIN granted AS g ON g.share_id = s.id
    JOIN joined AS jd ON jd.share_id = s.id
$fn$;

-- A public link by the SHA-256 of its slug: only what is needed to open the owning workspace's
-- context. Expiry and revocation are judged by the caller, which answers 410 and 404.
CREATE FUNCTION pc_link_by_slug(p_slug_hash text)
RETURNS TABLE (link_id uuid, workspace_id uuid)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT l.id, l.workspace_id FROM public.public_links AS l WHERE l.slug_hash = p_slug_hash
$fn$;

REVOKE ALL ON FUNCTION pc_share_join(text, uuid, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_link_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_share_join(text, uuid, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_link_by_slug(text) TO pc_runtime;

-- ---------------------------------------------------------------------------------------------
-- Runtime grants: data access only.
-- ---------------------------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON "shares", "share_grants", "joined_shares", "public_links" TO pc_runtime;
