-- Pending invitations. Applied after 20261203010000_keyed_share_codes. Never edit once shipped.
--
-- Inviting someone used to make them a member at once (and create their user if the address was
-- new): an owner could put anyone's existing account into a workspace they never agreed to join,
-- where it would show up among their own. Now an invitation is a row of its own, addressed to an
-- email, and only the person signed in with that address can accept it (or decline it) in the
-- dashboard; accepting is what creates the membership. No user is created for an address until
-- it signs in itself, so a new address behaves like an existing one: sign in, then accept.
-- Existing memberships are untouched.

CREATE TABLE "member_invitations" (
  "id"                 uuid        NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id"       uuid        NOT NULL,
  "email"              text        NOT NULL,
  "role"               text        NOT NULL,
  -- No foreign key: the record of who invited outlives their account.
  "invited_by_user_id" uuid        NOT NULL,
  "created_at"         timestamptz NOT NULL DEFAULT now(),
  "expires_at"         timestamptz NOT NULL,
  "accepted_at"        timestamptz,
  "declined_at"        timestamptz,
  "cancelled_at"       timestamptz,
  CONSTRAINT "member_invitations_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "member_invitations_email_check" CHECK ("email" = lower("email") AND char_length("email") BETWEEN 3 AND 254),
  CONSTRAINT "member_invitations_role_check" CHECK ("role" IN ('owner', 'member')),
  CONSTRAINT "member_invitations_expiry_check" CHECK ("expires_at" > "created_at"),
  -- An invitation ends once, one way.
  CONSTRAINT "member_invitations_one_end_check" CHECK (
    num_nonnulls("accepted_at", "declined_at", "cancelled_at") <= 1
  ),
  CONSTRAINT "member_invitations_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE
);
-- At most one open invitation per address and workspace: inviting again renews it.
CREATE UNIQUE INDEX "member_invitations_open_key" ON "member_invitations" ("workspace_id", "email")
  WHERE "accepted_at" IS NULL AND "declined_at" IS NULL AND "cancelled_at" IS NULL;
CREATE INDEX "member_invitations_email_idx" ON "member_invitations" ("email");

ALTER TABLE "member_invitations" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "member_invitations" FORCE ROW LEVEL SECURITY;
CREATE POLICY "workspace_isolation" ON "member_invitations" FOR ALL
  USING ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid)
  WITH CHECK ("workspace_id" = nullif(current_setting('app.workspace_id', true), '')::uuid);
-- For the invitee's functions below only (pc_runtime is not a member of pc_auth_lookup).
CREATE POLICY "auth_lookup_all" ON "member_invitations" FOR ALL TO pc_auth_lookup USING (true) WITH CHECK (true);
-- Accepting creates the membership in a workspace the invitee is not in yet.
CREATE POLICY "auth_lookup_accept" ON "memberships" FOR INSERT TO pc_auth_lookup WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON "member_invitations" TO pc_runtime;

-- The invitee's open invitations: those addressed to the user's own address, unexpired.
CREATE FUNCTION pc_invitations_for_user(p_user_id uuid, p_now timestamptz)
RETURNS TABLE (
  invitation_id uuid,
  workspace_id uuid,
  workspace_name text,
  workspace_slug text,
  role text,
  invited_by_email text,
  created_at timestamptz,
  expires_at timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT i.id, w.id, w.name, w.slug, i.role, inviter.email, i.created_at, i.expires_at
    FROM public.users AS u
    JOIN public.member_invitations AS i ON i.email = u.email
    JOIN public.workspaces AS w ON w.id = i.workspace_id
    LEFT JOIN public.users AS inviter ON inviter.id = i.invited_by_user_id
   WHERE u.id = p_user_id
     AND i.accepted_at IS NULL AND i.declined_at IS NULL AND i.cancelled_at IS NULL
     AND i.expires_at > p_now
     AND NOT EXISTS (SELECT 1 FROM public.memberships AS m WHERE m.workspace_id = i.workspace_id AND m.user_id = u.id)
   ORDER BY i.created_at, i.id
$fn$;

-- Accepts an open invitation addressed to the user's own address: marks it accepted and creates
-- the membership, in one statement. Nothing for someone else's, an ended or an expired one.
CREATE FUNCTION pc_accept_invitation(p_invitation_id uuid, p_user_id uuid, p_now timestamptz)
RETURNS TABLE (workspace_id uuid, workspace_name text, workspace_slug text, role text, email text)
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  WITH accepted AS (
    UPDATE public.member_invitations AS i
       SET accepted_at = p_now
      FROM public.users AS u
     WHERE i.id = p_invitation_id
       AND u.id = p_user_id
       AND i.email = u.email
       AND i.accepted_at IS NULL AND i.declined_at IS NULL AND i.cancelled_at IS NULL
       AND i.expires_at > p_now
    RETURNING i.workspace_id, i.role, u.id AS user_id, u.email
  ), joined AS (
    INSERT INTO public.memberships (workspace_id, user_id, role, created_at)
    SELECT a.workspace_id, a.user_id, a.role, p_now FROM accepted AS a
    ON CONFLICT (workspace_id, user_id) DO NOTHING
    RETURNING memberships.workspace_id
  )
  SELECT a.workspace_id, w.name, w.slug, a.role, a.email
    FROM accepted AS a
    JOIN public.workspaces AS w ON w.id = a.workspace_id
$fn$;

-- Declines an open invitation addressed to the user's own address; the workspace it was for, or nothing.
CREATE FUNCTION pc_decline_invitation(p_invitation_id uuid, p_user_id uuid, p_now timestamptz)
RETURNS TABLE (workspace_id uuid, email text)
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  UPDATE public.member_invitations AS i
     SET declined_at = p_now
    FROM public.users AS u
   WHERE i.id = p_invitation_id
     AND u.id = p_user_id
     AND i.email = u.email
     AND i.accepted_at IS NULL AND i.declined_at IS NULL AND i.cancelled_at IS NULL
  RETURNING i.workspace_id, u.email
$fn$;

REVOKE ALL ON FUNCTION pc_invitations_for_user(uuid, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_accept_invitation(uuid, uuid, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_decline_invitation(uuid, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_invitations_for_user(uuid, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_accept_invitation(uuid, uuid, timestamptz) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_decline_invitation(uuid, uuid, timestamptz) TO pc_runtime;
