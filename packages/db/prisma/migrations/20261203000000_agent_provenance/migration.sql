-- Agent provenance: what created each agent, so that revoking that thing (an API key, a member's
-- membership) can revoke the agents it let in, and so that the agents list can say who to ask.
-- Applied after 20251129060000_audit_retention (name order). Never edit once shipped: add a new one.

-- 'api_key': agents.register with that key, or a `connect login` an API key approved.
-- 'user': a `connect login` that signed-in user approved.
-- 'provisioning_key': POST /v1/agents/provision with that key (same id as provisioned_by_api_key_id).
-- No foreign key on purpose, as for provisioned_by_api_key_id: the record of who let an agent in
-- must outlive the key's or the user's deletion. Both NULL for an agent whose origin is unknown.
ALTER TABLE "agents"
  ADD COLUMN "created_by_type" text,
  ADD COLUMN "created_by_id"   uuid,
  ADD CONSTRAINT "agents_created_by_type_check"
    CHECK ("created_by_type" IN ('api_key', 'user', 'provisioning_key')),
  ADD CONSTRAINT "agents_created_by_check" CHECK (("created_by_type" IS NULL) = ("created_by_id" IS NULL));

-- Cascades look agents up by their creator (revoking a key, removing a member).
CREATE INDEX "agents_workspace_id_created_by_idx" ON "agents" ("workspace_id", "created_by_type", "created_by_id");

-- The hub operator names a workspace by slug or id (`connect-hub agent revoke ... --workspace acme`);
-- the runtime role sees no workspace before withWorkspace. Returns the id only: everything else
-- is then read inside that workspace's own context, under its policies. What a caller learns is
-- whether a slug exists, which the slug's unique index already tells anyone creating a workspace.
CREATE FUNCTION pc_admin_workspace_id(p_ref text)
RETURNS uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT w.id FROM public.workspaces AS w
   WHERE w.slug = lower(p_ref) OR w.id::text = lower(p_ref)
   LIMIT 1
$fn$;
REVOKE ALL ON FUNCTION pc_admin_workspace_id(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_admin_workspace_id(text) TO pc_runtime;

-- Rows from before: recover what is still on record, so a key revoked or a member removed after
-- this upgrade also reaches the agents it let in earlier. The migrator is the tables' owner, which
-- FORCE subjects to RLS too, and no policy lets it update agents across workspaces: lift FORCE for
-- this transaction only (it commits or rolls back with the FORCE restored below).
ALTER TABLE "agents" NO FORCE ROW LEVEL SECURITY;

-- Provisioned agents carry their key on the row.
UPDATE "agents"
   SET "created_by_type" = 'provisioning_key', "created_by_id" = "provisioned_by_api_key_id"
 WHERE "provisioned_by_api_key_id" IS NOT NULL AND "created_by_type" IS NULL;

-- `connect login` agents: the request that created them names who approved it.
UPDATE "agents" AS a
   SET "created_by_type" = CASE WHEN d."decided_by_user_id" IS NOT NULL THEN 'user' ELSE 'api_key' END,
       "created_by_id"   = coalesce(d."decided_by_user_id", d."decided_by_api_key_id")
  FROM "device_authorizations" AS d
 WHERE d."agent_id" = a."id" AND d."workspace_id" = a."workspace_id"
   AND coalesce(d."decided_by_user_id", d."decided_by_api_key_id") IS NOT NULL
   AND a."created_by_type" IS NULL;

-- agents.register: its audit event names the key (unless retention pruned it: those stay unknown).
UPDATE "agents" AS a
   SET "created_by_type" = 'api_key', "created_by_id" = e."actor_id"
  FROM "audit_events" AS e
 WHERE e."workspace_id" = a."workspace_id" AND e."type" = 'agent' AND e."action" = 'register'
   AND e."actor_type" = 'api_key' AND e."actor_id" IS NOT NULL AND e."target" = a."id"::text
   AND a."created_by_type" IS NULL;

ALTER TABLE "agents" FORCE ROW LEVEL SECURITY;
