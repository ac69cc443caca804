/** The non-owner, non-superuser role every application query runs as (created by the first migration). */
export const RUNTIME_ROLE = "pc_runtime";
