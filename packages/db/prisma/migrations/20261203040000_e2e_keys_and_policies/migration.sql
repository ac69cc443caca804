-- End-to-end encryption between agents (issue 19): each agent's static X25519 public key, which
-- reaching agents pin, and the encryption policy of every service and workspace.
-- Applied after 20261203030000_sign_in_link_supersede (name order). Never edit once shipped: add a new one.
--
-- Plain ADD COLUMNs with constant defaults: existing rows take the default without being
-- rewritten or read, so no policy is involved and FORCE ROW LEVEL SECURITY stays as it is. The
-- runtime role's table-wide grants (SELECT, INSERT, UPDATE, DELETE) cover the new columns.

-- The agent's static public key as it registers it: `pcpk_` and the 32 raw bytes in base64url
-- without padding (43 characters, the last one carrying 4 bits of the key and 2 zero bits). Null
-- until an agent that supports end-to-end encryption registers one. Only the public half is ever
-- sent to the hub; the private half never leaves the agent's config directory.
ALTER TABLE "agents"
  ADD COLUMN "e2e_public_key" text,
  ADD CONSTRAINT "agents_e2e_public_key_check"
    CHECK ("e2e_public_key" ~ '^pcpk_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$');

-- 'required': never plaintext (a reaching agent that cannot encrypt is refused); 'preferred':
-- encrypted whenever both agents can; 'off': plaintext relay, as before. The effective policy of
-- a service is 'required' whenever its workspace's is, whatever the service says.
ALTER TABLE "services"
  ADD COLUMN "e2e_policy" text NOT NULL DEFAULT 'preferred',
  ADD CONSTRAINT "services_e2e_policy_check" CHECK ("e2e_policy" IN ('required', 'preferred', 'off'));

-- No 'off' for a workspace: a workspace cannot switch encryption off for services that ask for it.
ALTER TABLE "workspaces"
  ADD COLUMN "e2e_policy" text NOT NULL DEFAULT 'preferred',
  ADD CONSTRAINT "workspaces_e2e_policy_check" CHECK ("e2e_policy" IN ('required', 'preferred'));
