-- The audit log: what agents, API keys, users and the hub did in a workspace, and when.
-- Applied after 20251129020000_agent_credentials (name order). Never edit once shipped: add a new one.

-- Append-only for the runtime role: pc_runtime may SELECT and INSERT, never UPDATE or DELETE, so
-- a compromised request path can add events but not rewrite or erase the record. Pruning old
-- events (AUDIT_RETENTION_DAYS) will need a narrow SECURITY DEFINER function of its own.
CREATE TABLE "audit_events" (
  "id"           uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id" uuid        NOT NULL,
  "occurred_at"  timestamptz NOT NULL DEFAULT now(),
  -- What kind of thing the event is about ('agent', 'token', 'service', later 'share', 'file', ...)
  -- and what happened to it ('connect', 'provisioned', 'expose', later 'allow', 'block', ...).
  -- Not enumerated here: agent runtimes will report their own types and actions.
  "type"         text        NOT NULL,
  "action"       text        NOT NULL,
  "actor_type"   text        NOT NULL,
  -- No foreign key on purpose: the record of who acted must outlive the key, agent or user.
  "actor_id"     uuid,
  -- The client type of the agent the event concerns (the actor, or the agent provisioned).
  "client_type"  text,
  "target"       text,
  "reason"       text,
  -- Kept whole here for investigation (logs mask addresses); text, not inet, so that an address
  -- the socket reports in an unusual form can never make the action itself fail.
  "ip"           text,
  "user_agent"   text,
  "data"         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "audit_events_type_check" CHECK (char_length("type") BETWEEN 1 AND 64),
  CONSTRAINT "audit_events_action_check" CHECK (char_length("action") BETWEEN 1 AND 64),
  CONSTRAINT "audit_events_actor_type_check" CHECK ("actor_type" IN ('user', 'api_key', 'agent', 'system')),
  -- Every actor but the hub itself is someone in particular.
  CONSTRAINT "audit_events_actor_id_check" CHECK (("actor_type" = 'system') = ("actor_id" IS NULL)),
  CONSTRAINT "audit_events_client_type_check" CHECK (char_length("client_type") BETWEEN 1 AND 64),
  CONSTRAINT "audit_events_target_check" CHECK (char_length("target") <= 1024),
  CONSTRAINT "audit_events_reason_check" CHECK (char_length("reason") <= 1024),
  CONSTRAINT "audit_events_ip_check" CHECK (char_length("ip") BETWEEN 1 AND 64),
  CONSTRAINT "audit_events_user_agent_check" CHECK (char_length("user_agent") <= 512),
  CONSTRAINT "audit_events_data_check" CHECK (jsonb_typeof("data") = 'object'),
  CONSTRAINT "audit_events_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE
);
-- `connect audit` reads a workspace's events newest first.
CREATE INDEX "audit_events_workspace_id_occurred_at_idx" ON "audit_events" ("workspace_id", "occurred_at" DESC);

ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "audit_events" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);

-- ---------------------------------------------------------------------------------------------
-- Runtime grants: read and append only.
-- ---------------------------------------------------------------------------------------------
REVOKE ALL ON "audit_events" FROM PUBLIC;
REVOKE ALL ON "audit_events" FROM pc_runtime;
GRANT SELECT, INSERT ON "audit_events" TO pc_runtime;
