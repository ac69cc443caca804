-- Agent credentials: token rotation, provisioned tokens, device-code login, IP-change records.
-- Applied after 20251129010000_user_identity (name order). Never edit once shipped: add a new one.

-- ---------------------------------------------------------------------------------------------
-- Agents: a pending token during rotation, and the facts of a provisioning.
-- ---------------------------------------------------------------------------------------------
-- Rotation issues a second token and keeps it here until the agent confirms it with that very
-- token; until then both authenticate, so a crash between "issued" and "saved" never locks the
-- agent out. Confirming moves it into token_hash, which is what ends the old one.
ALTER TABLE "agents"
  ADD COLUMN "pending_token_hash"        text,
  ADD COLUMN "pending_token_expires_at"  timestamptz,
  ADD COLUMN "token_rotated_at"          timestamptz,
  -- Set only for agents minted by POST /v1/agents/provision: what the audit log (a later issue)
  -- records as the PROVISIONED event, and why such a token cannot be rotated past its TTL.
  ADD COLUMN "provisioned_at"            timestamptz,
  ADD COLUMN "provisioned_ttl_seconds"   integer,
  -- No foreign key on purpose: the record of who provisioned must outlive the key's deletion.
  ADD COLUMN "provisioned_by_api_key_id" uuid,
  ADD CONSTRAINT "agents_pending_token_hash_check" CHECK ("pending_token_hash" ~ '^[0-9a-f]{64}$'),
  ADD CONSTRAINT "agents_pending_token_check"
    CHECK (("pending_token_hash" IS NULL) = ("pending_token_expires_at" IS NULL)),
  ADD CONSTRAINT "agents_provisioned_check"
    CHECK (("provisioned_at" IS NULL) = ("provisioned_ttl_seconds" IS NULL)),
  ADD CONSTRAINT "agents_provisioned_ttl_seconds_check" CHECK ("provisioned_ttl_seconds" BETWEEN 300 AND 86400);
CREATE UNIQUE INDEX "agents_pending_token_hash_key" ON "agents" ("pending_token_hash");

-- The lookup now also finds an agent by its pending token, and says which slot matched: only a
-- pending token may confirm a rotation. The return type changes, so drop and create.
DROP FUNCTION pc_auth_agent_token(text);
CREATE FUNCTION pc_auth_agent_token(p_token_hash text)
RETURNS TABLE (
  agent_id uuid,
  workspace_id uuid,
  label text,
  client_type text,
  token_expires_at timestamptz,
  revoked_at timestamptz,
  token_slot text
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT a.id, a.workspace_id, a.label, a.client_type, a.token_expires_at, a.revoked_at, 'current'
    FROM public.agents AS a
   WHERE a.token_hash = p_token_hash
  UNION ALL
  SELECT a.id, a.workspace_id, a.label, a.client_type, a.pending_token_expires_at, a.revoked_at, 'pending'
    FROM public.agents AS a
   WHERE a.pending_token_hash = p_token_hash
$fn$;
REVOKE ALL ON FUNCTION pc_auth_agent_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_auth_agent_token(text) TO pc_runtime;

-- ---------------------------------------------------------------------------------------------
-- IP changes: each time an agent's token is used from another address than the last one.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE "agent_ip_changes" (
  "id"           uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id" uuid        NOT NULL,
  "agent_id"     uuid        NOT NULL,
  "previous_ip"  text        NOT NULL,
  "new_ip"       text        NOT NULL,
  "changed_at"   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "agent_ip_changes_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "agent_ip_changes_previous_ip_check" CHECK (char_length("previous_ip") BETWEEN 1 AND 64),
  CONSTRAINT "agent_ip_changes_new_ip_check" CHECK (char_length("new_ip") BETWEEN 1 AND 64),
  CONSTRAINT "agent_ip_changes_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE,
  -- Composite, like services: foreign-key checks ignore RLS, so a plain agent_id reference would
  -- let a row of workspace A point at workspace B's agent.
  CONSTRAINT "agent_ip_changes_agent_id_workspace_id_fkey" FOREIGN KEY ("agent_id", "workspace_id")
    REFERENCES "agents" ("id", "workspace_id") ON DELETE CASCADE
);
CREATE INDEX "agent_ip_changes_agent_id_changed_at_idx" ON "agent_ip_changes" ("agent_id", "changed_at" DESC);
CREATE INDEX "agent_ip_changes_workspace_id_idx" ON "agent_ip_changes" ("workspace_id");

ALTER TABLE "agent_ip_changes" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "agent_ip_changes" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "agent_ip_changes" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);

-- ---------------------------------------------------------------------------------------------
-- Device-code login (connect login). A request starts with no workspace: the machine asking
-- has no credential. It belongs to a workspace from the moment a signed-in user of that
-- workspace approves or denies it, and from then on the usual policy applies. Before that, only
-- the SECURITY DEFINER functions below (policies for pc_auth_lookup) can see it.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE "device_authorizations" (
  "id"                    uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id"          uuid,
  -- Both codes are secrets of a kind (the device code is a bearer for the poll, the user code
  -- approves it), so both are stored as SHA-256 only.
  "device_code_hash"      text        NOT NULL,
  "user_code_hash"        text        NOT NULL,
  "label"                 text        NOT NULL,
  "status"                text        NOT NULL DEFAULT 'pending',
  "requested_ip"          text,
  "created_at"            timestamptz NOT NULL DEFAULT now(),
  "expires_at"            timestamptz NOT NULL,
  "decided_at"            timestamptz,
  -- Who approved or denied (an API key now, a user once sessions exist). No foreign keys: the
  -- record must outlive the key or the user.
  "decided_by_api_key_id" uuid,
  "decided_by_user_id"    uuid,
  -- The agent created when the approved request was collected; set once, so a code is used once.
  "agent_id"              uuid,
  "consumed_at"           timestamptz,
  CONSTRAINT "device_authorizations_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "device_authorizations_device_code_hash_check" CHECK ("device_code_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "device_authorizations_user_code_hash_check" CHECK ("user_code_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "device_authorizations_label_check" CHECK (char_length("label") BETWEEN 1 AND 64),
  CONSTRAINT "device_authorizations_status_check" CHECK ("status" IN ('pending', 'approved', 'denied')),
  CONSTRAINT "device_authorizations_requested_ip_check" CHECK (char_length("requested_ip") <= 64),
  -- A decided request always belongs to the deciding workspace; a pending one to none.
  CONSTRAINT "device_authorizations_decision_check" CHECK (("status" = 'pending') = ("workspace_id" IS NULL)),
  CONSTRAINT "device_authorizations_consumed_check"
    CHECK (("consumed_at" IS NULL) OR ("status" = 'approved' AND "agent_id" IS NOT NULL)),
  CONSTRAINT "device_authorizations_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE,
  CONSTRAINT "device_authorizations_agent_id_workspace_id_fkey" FOREIGN KEY ("agent_id", "workspace_id")
    REFERENCES "agents" ("id", "workspace_id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "device_authorizations_device_code_hash_key" ON "device_authorizations" ("device_code_hash");
-- Only pending requests compete for a user code, so short codes can recur once decided.
CREATE UNIQUE INDEX "device_authorizations_pending_user_code_hash_key" ON "device_authorizations" ("user_code_hash")
  WHERE "status" = 'pending';
CREATE INDEX "device_authorizations_workspace_id_idx" ON "device_authorizations" ("workspace_id");
CREATE INDEX "device_authorizations_pending_expires_at_idx" ON "device_authorizations" ("expires_at")
  WHERE "status" = 'pending';

ALTER TABLE "device_authorizations" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "device_authorizations" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "device_authorizations" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);
-- For the functions below only (they run as the owner, a member of pc_auth_lookup).
CREATE POLICY "auth_lookup_all" ON "device_authorizations" FOR ALL TO pc_auth_lookup USING (true) WITH CHECK (true);

-- Records a new request (no workspace yet) and drops pending ones that expired a day ago or
-- more, so unauthenticated requests cannot pile up. Times come from the caller (the hub's clock,
-- injectable in tests), as for the identity functions of the previous migration.
CREATE FUNCTION pc_auth_device_start(
  p_device_code_hash text,
  p_user_code_hash text,
  p_label text,
  p_requested_ip text,
  p_now timestamptz,
  p_expires_at timestamptz
)
RETURNS uuid
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  DELETE FROM public.device_authorizations AS d
   WHERE d.status = 'pending' AND d.expires_at < p_now - interval '1 day';
  INSERT INTO public.device_authorizations (device_code_hash, user_code_hash, label, requested_ip, created_at, expires_at)
  VALUES (p_device_code_hash, p_user_code_hash, p_label, p_requested_ip, p_now, p_expires_at)
  RETURNING id;
$fn$;

-- The state of a request by its device code, for the polling machine (which has no workspace).
CREATE FUNCTION pc_auth_device_code(p_device_code_hash text)
RETURNS TABLE (
  id uuid,
  workspace_id uuid,
  label text,
  status text,
  expires_at timestamptz,
  consumed_at timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT d.id, d.workspace_id, d.label, d.status, d.expires_at, d.consumed_at
    FROM public.device_authorizations AS d
   WHERE d.device_code_hash = p_device_code_hash
$fn$;

-- Approves or denies a pending, unexpired request by its user code, for the workspace of the
-- calling transaction: the workspace comes from app.workspace_id (set by withWorkspace), never
-- from a parameter, so this function cannot file a request under a workspace the caller is not
-- working in. Returns nothing when there is no such request (unknown, expired or decided).
CREATE FUNCTION pc_auth_device_decide(
  p_user_code_hash text,
  p_is_approved boolean,
  p_now timestamptz,
  p_api_key_id uuid,
  p_user_id uuid
)
RETURNS TABLE (id uuid, label text, status text)
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  UPDATE public.device_authorizations AS d
     SET workspace_id = nullif(current_setting('app.workspace_id', true), '')::uuid,
         status = CASE WHEN p_is_approved THEN 'approved' ELSE 'denied' END,
         decided_at = p_now,
         decided_by_api_key_id = p_api_key_id,
         decided_by_user_id = p_user_id
   WHERE d.user_code_hash = p_user_code_hash
     AND d.status = 'pending'
     AND d.expires_at > p_now
     AND nullif(current_setting('app.workspace_id', true), '') IS NOT NULL
  RETURNING d.id, d.label, d.status
$fn$;

REVOKE ALL ON FUNCTION pc_auth_device_start(text, text, text, text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_device_code(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_device_decide(text, boolean, timestamptz, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_auth_device_start(text, text, text, text, timestamptz, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_device_code(text) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_device_decide(text, boolean, timestamptz, uuid, uuid) TO pc_runtime;

-- ---------------------------------------------------------------------------------------------
-- Runtime grants: data access only.
-- ---------------------------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON "agent_ip_changes", "device_authorizations" TO pc_runtime;
