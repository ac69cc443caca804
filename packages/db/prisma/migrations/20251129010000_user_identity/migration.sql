-- User identity: magic links, sessions, and users that the runtime sees only through memberships.
-- Applied by src/migrate.ts inside one transaction, as the privileged (owning) connection.
-- Never edit this file once it has shipped: the migrator refuses a changed checksum. Add a new one.
--
-- None of the new tables has a workspace_id (a user, a session and a sign-in link belong to a
-- person, not to a workspace), so inspectTenantTables does not apply to them. They are kept from
-- the runtime in a stricter way instead: pc_runtime has no privilege at all on sessions and
-- magic_links, and reads users only through a membership of the current workspace. Everything
-- else goes through the SECURITY DEFINER functions at the end, which take SHA-256 digests.

-- ---------------------------------------------------------------------------------------------
-- users: first sign-in marker, and row-level security through memberships.
-- ---------------------------------------------------------------------------------------------
-- Set by the first successful magic link. An invited user exists before it (the invitation
-- creates the row) but has never signed in; the first sign-in of someone with no workspace at
-- all is what creates their first workspace.
ALTER TABLE "users" ADD COLUMN "email_verified_at" timestamptz;

ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
-- A user is visible in the context of a workspace they are a member of, and nowhere else: the
-- members list of workspace A never shows who belongs to workspace B. The memberships subquery is
-- itself under memberships' workspace_isolation policy, so the explicit workspace_id predicate
-- is a second lock on the same door.
CREATE POLICY "member_of_current_workspace" ON "users" FOR SELECT
  USING (EXISTS (
    SELECT 1 FROM "memberships" AS m
     WHERE m."user_id" = "users"."id"
       AND m."workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid
  ));
-- The identity functions below run as the owner, a member of pc_auth_lookup.
CREATE POLICY "auth_lookup_all" ON "users" FOR ALL TO pc_auth_lookup USING (true) WITH CHECK (true);
-- Users are created by pc_auth_ensure_user and pc_auth_consume_magic_link only; the runtime may
-- read (under the policy above) but never write them, so it cannot rename someone's address.
REVOKE INSERT, UPDATE, DELETE ON "users" FROM pc_runtime;

-- Listing a user's workspaces (pc_auth_user_workspaces) reads across workspaces.
CREATE POLICY "auth_lookup_select" ON "memberships" FOR SELECT TO pc_auth_lookup USING (true);
CREATE POLICY "auth_lookup_select" ON "workspaces" FOR SELECT TO pc_auth_lookup USING (true);

-- ---------------------------------------------------------------------------------------------
-- Sign-in links and sessions. Secrets are stored only as SHA-256 hex digests (CHECK enforced).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE "magic_links" (
  "id"          uuid        NOT NULL DEFAULT gen_random_uuid(),
  -- Not a foreign key: a link can be requested for an address that has no account yet (the
  -- first sign-in creates it), and the response must not depend on whether it has one.
  "email"       text        NOT NULL,
  "token_hash"  text        NOT NULL,
  "created_at"  timestamptz NOT NULL,
  "expires_at"  timestamptz NOT NULL,
  "consumed_at" timestamptz,
  CONSTRAINT "magic_links_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "magic_links_email_check" CHECK ("email" = lower("email") AND char_length("email") BETWEEN 3 AND 254),
  CONSTRAINT "magic_links_token_hash_check" CHECK ("token_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "magic_links_expiry_check" CHECK ("expires_at" > "created_at")
);
CREATE UNIQUE INDEX "magic_links_token_hash_key" ON "magic_links" ("token_hash");
CREATE INDEX "magic_links_expires_at_idx" ON "magic_links" ("expires_at");

CREATE TABLE "sessions" (
  "id"           uuid        NOT NULL DEFAULT gen_random_uuid(),
  "user_id"      uuid        NOT NULL,
  "token_hash"   text        NOT NULL,
  "created_at"   timestamptz NOT NULL,
  -- Sliding inactivity expiry: a session is valid while last_used_at is recent enough.
  "last_used_at" timestamptz NOT NULL,
  "revoked_at"   timestamptz,
  CONSTRAINT "sessions_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "sessions_token_hash_check" CHECK ("token_hash" ~ '^[0-9a-f]{64}$'),
  CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "sessions_token_hash_key" ON "sessions" ("token_hash");
CREATE INDEX "sessions_user_id_idx" ON "sessions" ("user_id");
CREATE INDEX "sessions_last_used_at_idx" ON "sessions" ("last_used_at");

-- No policy for PUBLIC and no grant to pc_runtime: only the functions below touch these rows.
-- FORCE so that an owner that is not a superuser also goes through the pc_auth_lookup policy.
ALTER TABLE "magic_links" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "magic_links" FORCE ROW LEVEL SECURITY;
CREATE POLICY "auth_lookup_all" ON "magic_links" FOR ALL TO pc_auth_lookup USING (true) WITH CHECK (true);
ALTER TABLE "sessions" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "sessions" FORCE ROW LEVEL SECURITY;
CREATE POLICY "auth_lookup_all" ON "sessions" FOR ALL TO pc_auth_lookup USING (true) WITH CHECK (true);
REVOKE ALL ON "magic_links", "sessions" FROM PUBLIC;
REVOKE ALL ON "magic_links", "sessions" FROM pc_runtime;

-- ---------------------------------------------------------------------------------------------
-- Identity functions. Same shape as pc_auth_api_key: SECURITY DEFINER, fixed search_path,
-- EXECUTE for pc_runtime only. Secrets arrive as SHA-256 hex, never in clear. Times come from the
-- caller (the hub's clock, injectable in tests); the idle and renewal cut-offs too, so the
-- policy (30 days, one minute) lives in one place in packages/api.
-- ---------------------------------------------------------------------------------------------

-- Returns the id of the user with this (lower-case) address, creating the user if needed.
-- For invitations and for the admin CLI's workspace owner. Reveals nothing a caller did not pass.
CREATE FUNCTION pc_auth_ensure_user(p_email text)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
DECLARE
  v_id uuid;
BEGIN
  INSERT INTO public.users AS u (email) VALUES (p_email) ON CONFLICT (email) DO NOTHING RETURNING u.id INTO v_id;
  IF v_id IS NULL THEN
    SELECT u.id INTO v_id FROM public.users AS u WHERE u.email = p_email;
  END IF;
  RETURN v_id;
END
$fn$;

-- Stores a new sign-in link and prunes links that expired more than a day ago (they can never
-- be used again; the day leaves room for a clock that is slightly off).
CREATE FUNCTION pc_auth_issue_magic_link(p_email text, p_token_hash text, p_now timestamptz, p_expires_at timestamptz)
RETURNS void
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  DELETE FROM public.magic_links AS l WHERE l.expires_at < p_now - interval '1 day';
  INSERT INTO public.magic_links (email, token_hash, created_at, expires_at)
  VALUES (p_email, p_token_hash, p_now, p_expires_at);
$fn$;

-- Consumes a link: at most once (the UPDATE's row lock makes a concurrent second use find it
-- consumed), and only before it expires. Then makes sure the user exists and stamps the first
-- sign-in. Returns no row for unknown, used or expired links: the caller cannot tell which.
CREATE FUNCTION pc_auth_consume_magic_link(p_token_hash text, p_now timestamptz)
RETURNS TABLE (user_id uuid, email text, is_first_sign_in boolean)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
#variable_conflict use_column
DECLARE
  v_email text;
  v_user_id uuid;
  v_verified_at timestamptz;
BEGIN
  UPDATE public.magic_links AS l
     SET consumed_at = p_now
   WHERE l.token_hash = p_token_hash
     AND l.consumed_at IS NULL
     AND l.expires_at > p_now
  RETURNING l.email INTO v_email;
  IF v_email IS NULL THEN
    RETURN;
  END IF;
  INSERT INTO public.users AS u (email) VALUES (v_email) ON CONFLICT (email) DO NOTHING;
  SELECT u.id, u.email_verified_at INTO v_user_id, v_verified_at
    FROM public.users AS u WHERE u.email = v_email FOR UPDATE;
  IF v_verified_at IS NULL THEN
    UPDATE public.users AS u SET email_verified_at = p_now WHERE u.id = v_user_id;
  END IF;
  RETURN QUERY SELECT v_user_id, v_email, v_verified_at IS NULL;
END
$fn$;

-- Opens a session for a user whose link was just consumed (in the same transaction), and prunes
-- sessions idle past the cut-off (revoked or not): they can never be used again. Revoked ones
-- stay until then, as a record of the logout.
CREATE FUNCTION pc_auth_create_session(p_user_id uuid, p_token_hash text, p_now timestamptz, p_prune_before timestamptz)
RETURNS uuid
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  DELETE FROM public.sessions AS s WHERE s.last_used_at < p_prune_before;
  INSERT INTO public.sessions (user_id, token_hash, created_at, last_used_at)
  VALUES (p_user_id, p_token_hash, p_now, p_now)
  RETURNING id;
$fn$;

-- Resolves a session cookie: a non-revoked session used after p_active_after. Slides it forward
-- (last_used_at = p_now) only when it was last stamped before p_renew_before, so a busy
-- dashboard writes at most once a minute per session instead of once per request.
CREATE FUNCTION pc_auth_session(
  p_token_hash text,
  p_now timestamptz,
  p_active_after timestamptz,
  p_renew_before timestamptz
)
RETURNS TABLE (session_id uuid, user_id uuid, email text, is_renewed boolean)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
#variable_conflict use_column
DECLARE
  v_session_id uuid;
  v_user_id uuid;
  v_last_used_at timestamptz;
  v_is_renewed boolean := false;
BEGIN
  SELECT s.id, s.user_id, s.last_used_at INTO v_session_id, v_user_id, v_last_used_at
    FROM public.sessions AS s
   WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL;
  IF v_session_id IS NULL OR v_last_used_at <= p_active_after THEN
    RETURN;
  END IF;
  IF v_last_used_at < p_renew_before THEN
    UPDATE public.sessions AS s SET last_used_at = p_now
     WHERE s.id = v_session_id AND s.last_used_at < p_now;
    v_is_renewed := FOUND;
  END IF;
  RETURN QUERY SELECT v_session_id, v_user_id, u.email, v_is_renewed FROM public.users AS u WHERE u.id = v_user_id;
END
$fn$;

-- Logout: revokes the session of this cookie, whatever its state. True if it was still active.
CREATE FUNCTION pc_auth_revoke_session(p_token_hash text, p_now timestamptz)
RETURNS boolean
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  WITH revoked AS (
    UPDATE public.sessions AS s SET revoked_at = p_now
     WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM revoked);
$fn$;

-- The workspaces a user belongs to, with their role: what the dashboard offers to switch to.
-- Returns names and slugs only, never another workspace's data.
CREATE FUNCTION pc_auth_user_workspaces(p_user_id uuid)
RETURNS TABLE (workspace_id uuid, name text, slug text, role text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT w.id, w.name, w.slug, m.role
    FROM public.memberships AS m
    JOIN public.workspaces AS w ON w.id = m.workspace_id
   WHERE m.user_id = p_user_id
   ORDER BY w.name, w.id
$fn$;

REVOKE ALL ON FUNCTION pc_auth_ensure_user(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_issue_magic_link(text, text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_consume_magic_link(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_create_session(uuid, text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_session(text, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_revoke_session(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_auth_user_workspaces(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_auth_ensure_user(text) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_issue_magic_link(text, text, timestamptz, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_consume_magic_link(text, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_create_session(uuid, text, timestamptz, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_session(text, timestamptz, timestamptz, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_revoke_session(text, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_auth_user_workspaces(uuid) TO pc_runtime;
