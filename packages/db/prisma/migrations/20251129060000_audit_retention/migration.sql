-- Audit retention (the hub's AUDIT_RETENTION_DAYS): the one way events leave the audit log.
-- Applied after 20251129040000_sharing (name order). Never edit once shipped: add a new one.

-- The runtime role keeps no UPDATE or DELETE on audit_events (20251129030000_audit_events), so a
-- compromised request path cannot rewrite or erase the record. Pruning goes through the narrow
-- SECURITY DEFINER function below instead, which runs as the owner (a member of pc_auth_lookup,
-- like the credential lookups) and therefore needs policies that see every workspace's events.
-- DELETE ... WHERE reads occurred_at, which takes a SELECT policy as well as the DELETE one.
-- pc_runtime is not a member of pc_auth_lookup: these never apply to application queries.
CREATE POLICY "auth_lookup_select" ON "audit_events" FOR SELECT TO pc_auth_lookup USING (true);
CREATE POLICY "auth_lookup_prune" ON "audit_events" FOR DELETE TO pc_auth_lookup USING (true);

-- Deletes the events of every workspace older than p_retention_days and returns how many. It takes
-- a number of days rather than a cut-off time on purpose: the cut-off comes from the database's
-- own clock, and the bounds (1 to 3650 days, as AUDIT_RETENTION_DAYS) mean that whoever can call
-- it can at most shorten the retention, never erase the last day's events (what an intruder would
-- most like to hide).
CREATE FUNCTION pc_audit_prune(p_retention_days integer)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
DECLARE
  v_pruned bigint;
BEGIN
  IF p_retention_days IS NULL OR p_retention_days < 1 OR p_retention_days > 3650 THEN
    RAISE EXCEPTION 'pc_audit_prune: the retention must be between 1 and 3650 days, not %', p_retention_days
      USING ERRCODE = '22023';
  END IF;
  DELETE FROM public.audit_events AS e
   WHERE e.occurred_at < now() - make_interval(days => p_retention_days);
  GET DIAGNOSTICS v_pruned = ROW_COUNT;
  RETURN v_pruned;
END
$fn$;

REVOKE ALL ON FUNCTION pc_audit_prune(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pc_audit_prune(integer) TO pc_runtime;
