// Loaded before every unit test file: points the database test helpers (getTestAdminUrl in
// @private-connect/db/testing) at the PostgreSQL server the global setup picked. Without one,
// the PostgreSQL cases are skipped and the global setup has said so loudly.
import { inject } from "vitest";

const postgres = inject("postgres");
if (postgres) process.env.PC_TEST_ADMIN_URL = postgres.adminUrl;
