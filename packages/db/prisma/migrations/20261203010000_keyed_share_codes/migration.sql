-- Share codes and link slugs at rest: a keyed hash instead of a bare SHA-256. Applied after
-- 20251129060000_audit_retention. Never edit once shipped: add a new one.
--
-- A bare SHA-256 of a 60-bit share code can be brute-forced from a copy of the database (and the
-- 20-bit hint left only 40 bits to search). From now on a code or slug is stored as
--   HMAC-SHA-256(ENCRYPTION_KEY, SHA-256(canonical code or slug))
-- with the hub's ENCRYPTION_KEY, which lives in the hub's environment or its secrets.json and
-- never in the database: a database copy alone gives nothing to test guesses against.
--
-- Upgrade path for rows created before: the database cannot compute the new value (it does not
-- hold the key) and nobody holds the codes in clear, but the old value SHA-256(code) is exactly
-- what the HMAC is taken over. So the hub, when it starts with the right key, rewrites each old
-- row as HMAC(key, old value) through pc_rekey_secret_hash (services/shares/rekey-legacy-hashes.ts):
-- old codes and links keep working, the rewrite never sees plaintext, and until a hub has run it
-- no lookup matches an old row (pc_share_join and pc_link_by_slug only read keyed rows), so an
-- unkeyed hash can never be joined by a hub that skipped the rewrite. Old share hints (the first
-- group of a 60-bit code) are dropped: any part of such a code leaves fewer than 60 bits.
-- New codes have four groups (80 bits), so their first-group hint still leaves 60.
--
-- Which key the rows were keyed with is recorded as a fingerprint (an HMAC of a fixed label, not
-- the key), so a hub started with another ENCRYPTION_KEY can say so instead of silently finding
-- no code at all, and never rewrites old rows with the wrong key.

-- Existing rows are unkeyed; every row inserted from now on is keyed.
ALTER TABLE "shares" ADD COLUMN "code_hash_keyed" boolean NOT NULL DEFAULT false;
ALTER TABLE "shares" ALTER COLUMN "code_hash_keyed" SET DEFAULT true;
ALTER TABLE "public_links" ADD COLUMN "slug_hash_keyed" boolean NOT NULL DEFAULT false;
ALTER TABLE "public_links" ALTER COLUMN "slug_hash_keyed" SET DEFAULT true;

ALTER TABLE "shares" DROP CONSTRAINT "shares_code_hint_check";
ALTER TABLE "shares" ADD CONSTRAINT "shares_code_hint_check" CHECK (char_length("code_hint") BETWEEN 0 AND 8);
UPDATE "shares" SET "code_hint" = '' WHERE NOT "code_hash_keyed";

-- The rewrite only ever turns an unkeyed row into a keyed one.
CREATE POLICY "auth_lookup_rekey" ON "shares" FOR UPDATE TO pc_auth_lookup
  USING (NOT "code_hash_keyed") WITH CHECK ("code_hash_keyed");
CREATE POLICY "auth_lookup_rekey" ON "public_links" FOR UPDATE TO pc_auth_lookup
  USING (NOT "slug_hash_keyed") WITH CHECK ("slug_hash_keyed");

-- One row per key use; not workspace data. Only the functions below touch it.
CREATE TABLE "secret_key_fingerprints" (
  "purpose"     text        NOT NULL,
  "fingerprint" text        NOT NULL,
  "created_at"  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "secret_key_fingerprints_pkey" PRIMARY KEY ("purpose"),
  CONSTRAINT "secret_key_fingerprints_fingerprint_check" CHECK ("fingerprint" ~ '^[0-9a-f]{64}$')
);
ALTER TABLE "secret_key_fingerprints" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "secret_key_fingerprints" FORCE ROW LEVEL SECURITY;
CREATE POLICY "auth_lookup_all" ON "secret_key_fingerprints" FOR ALL TO pc_auth_lookup USING (true) WITH CHECK (true);

-- Records the fingerprint on first use; returns the one on record (the caller compares).
CREATE FUNCTION pc_claim_key_fingerprint(p_purpose text, p_fingerprint text)
RETURNS text
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  INSERT INTO public.secret_key_fingerprints (purpose, fingerprint) VALUES (p_purpose, p_fingerprint)
  ON CONFLICT (purpose) DO NOTHING;
  SELECT f.fingerprint FROM public.secret_key_fingerprints AS f WHERE f.purpose = p_purpose;
$fn$;

-- The fingerprint on record, or NULL: read on a miss, to tell a wrong key from a wrong code.
CREATE FUNCTION pc_key_fingerprint(p_purpose text)
RETURNS text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT f.fingerprint FROM public.secret_key_fingerprints AS f WHERE f.purpose = p_purpose;
$fn$;

-- Unkeyed hashes still to rewrite, a batch at a time. Empty once any hub with the key has started.
CREATE FUNCTION pc_legacy_secret_hashes(p_limit integer)
RETURNS TABLE (kind text, id uuid, legacy_hash text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  (SELECT 'share'::text, s.id, s.code_hash FROM public.shares AS s WHERE NOT s.code_hash_keyed)
  UNION ALL
  (SELECT 'link'::text, l.id, l.slug_hash FROM public.public_links AS l WHERE NOT l.slug_hash_keyed)
  LIMIT greatest(p_limit, 0)
$fn$;

-- Rewrites one unkeyed hash, only if it is still the value read (another hub may have done it).
CREATE FUNCTION pc_rekey_secret_hash(p_kind text, p_id uuid, p_legacy_hash text, p_keyed_hash text)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
DECLARE
  v_count integer;
BEGIN
  IF p_kind = 'share' THEN
    UPDATE public.shares SET code_hash = p_keyed_hash, code_hash_keyed = true
     WHERE id = p_id AND NOT code_hash_keyed AND code_hash = p_legacy_hash;
  ELSIF p_kind = 'link' THEN
    UPDATE public.public_links SET slug_hash = p_keyed_hash, slug_hash_keyed = true
     WHERE id = p_id AND NOT slug_hash_keyed AND slug_hash = p_legacy_hash;
  ELSE
    RETURN false;
  END IF;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count > 0;
END
$fn$;

-- The lookups read keyed rows only.
CREATE OR REPLACE FUNCTION pc_share_join(p_code_hash text, p_agent_id uuid, p_now timestamptz)
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
       AND s.code_hash_keyed
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

CREATE OR REPLACE FUNCTION pc_link_by_slug(p_slug_hash text)
RETURNS TABLE (link_id uuid, workspace_id uuid)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  SELECT l.id, l.workspace_id FROM public.public_links AS l WHERE l.slug_hash = p_slug_hash AND l.slug_hash_keyed
$fn$;

REVOKE ALL ON FUNCTION pc_claim_key_fingerprint(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_key_fingerprint(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_legacy_secret_hashes(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION pc_rekey_secret_hash(text, uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_claim_key_fingerprint(text, text) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_key_fingerprint(text) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_legacy_secret_hashes(integer) TO pc_runtime;
GRANT EXECUTE ON FUNCTION pc_rekey_secret_hash(text, uuid, text, text) TO pc_runtime;
