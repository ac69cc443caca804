-- Sign-in links supersede each other: a new link for an address deletes that address's older
-- unused ones, so only the newest link in an inbox can sign anyone in. A link that leaked (a
-- forwarded email, a shared screen, a mail archive) stops working as soon as its owner asks for
-- another one, instead of staying valid for the rest of its 15 minutes.
-- Applied after 20261203000000_agent_provenance (name order). Never edit once shipped: add a new one.
--
-- Deleted rather than marked: an unused link is no record of anything (consumed ones, which are,
-- stay until the usual pruning), and a row that no longer exists cannot be matched by any later
-- change to the consume function. Same signature, so the grants of 20251129010000_user_identity
-- (EXECUTE for pc_runtime only, nothing for PUBLIC) carry over unchanged.
CREATE OR REPLACE FUNCTION pc_auth_issue_magic_link(p_email text, p_token_hash text, p_now timestamptz, p_expires_at timestamptz)
RETURNS void
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
  -- Two requests for one address at the same moment would otherwise each delete before the other
  -- inserts, and both links would live. The lock is the statement's transaction's: released at
  -- its commit, and per address, so other addresses never wait.
  SELECT pg_advisory_xact_lock(hashtextextended('pc_auth_issue_magic_link:' || p_email, 0));
  DELETE FROM public.magic_links AS l
   WHERE l.expires_at < p_now - interval '1 day'
      OR (l.email = p_email AND l.consumed_at IS NULL);
  INSERT INTO public.magic_links (email, token_hash, created_at, expires_at)
  VALUES (p_email, p_token_hash, p_now, p_expires_at);
$fn$;

-- The delete above looks links up by address; without an index it would scan every link.
CREATE INDEX "magic_links_email_idx" ON "magic_links" ("email");
