import type { AuditEventView } from "@private-connect/api";
import type { Metadata } from "next";
import Link from "next/link";
import { EmptyState } from "@/components/empty-state";
import { formatTime, maskAddress } from "@/lib/format";
import { hubAs, readOrNotFound, readWorkspace } from "@/lib/server/hub-api";

export const metadata: Metadata = { title: "Audit log" };

/** Periods offered by the filter, in seconds (what `connect audit --since` takes, spelled out). */
const PERIODS = [
  { value: "3600", label: "Last hour" },
  { value: "86400", label: "Last 24 hours" },
  { value: "604800", label: "Last 7 days" },
  { value: "2592000", label: "Last 30 days" },
  { value: "", label: "Everything kept" },
] as const;
const PAGE_SIZE = 50;

/** One labelled filter of the form; submitted as a query parameter (the page works without script). */
function FilterSelect({
  name,
  label,
  value,
  options,
}: {
  name: string;
  label: string;
  value: string | undefined;
  options: readonly { value: string; label: string }[];
}) {
  return (
    <div>
      <label htmlFor={`audit-${name}`}>{label}</label>
      <select id={`audit-${name}`} name={name} defaultValue={value ?? ""}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

function single(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === "" ? undefined : text.trim().slice(0, 200);
}

/**
 * The table `connect audit` prints, filterable by type, action and period and paged with the
 * API's cursor. Rendered on the server from the URL, so a filter is a plain GET form: it works
 * by keyboard and without script, and a filtered view can be bookmarked or shared.
 */
export default async function AuditPage({
  params,
  searchParams,
}: {
  params: Promise<{ slug: string }>;
  searchParams: SearchParams;
}) {
  const workspace = await readWorkspace((await params).slug);
  const query = await searchParams;
  const type = single(query.type);
  const action = single(query.action);
  const sinceText = single(query.since);
  const since = sinceText !== undefined && /^\d{1,9}$/.test(sinceText) ? Number(sinceText) : undefined;
  const before = single(query.before);
  const hub = await hubAs(workspace.id);
  const [page, stats] = await Promise.all([
    readOrNotFound(hub.audit.list.query({ type, action, since, before, limit: PAGE_SIZE })),
    readOrNotFound(hub.audit.stats.query({ since })),
  ]);
  const base = `/w/${workspace.slug}/audit`;
  const filterQuery = new URLSearchParams();
  if (type !== undefined) filterQuery.set("type", type);
  if (action !== undefined) filterQuery.set("action", action);
  if (since !== undefined) filterQuery.set("since", String(since));
  const olderQuery = new URLSearchParams(filterQuery);
  if (page.nextCursor !== null) olderQuery.set("before", page.nextCursor);
  // Types and actions seen in the period, plus the chosen ones (a filter may match nothing now).
  const types = [...new Set([...stats.byType.map((entry) => entry.type), ...(type === undefined ? [] : [type])])];
  const actions = [...new Set([...stats.byAction.map((entry) => entry.action), ...(action === undefined ? [] : [action])])];

  return (
    <>
      <h1>Audit log</h1>
      <p className="lede">
        What happened in {workspace.name}: agents, tokens, services, shares, links, keys and members. {stats.total} event
        {stats.total === 1 ? "" : "s"} in the period.
      </p>
      <form className="form filters" method="get" action={base} aria-label="Filter the audit log">
        <FilterSelect
          name="type"
          label="Type"
          value={type}
          options={[{ value: "", label: "Any type" }, ...types.map((value) => ({ value, label: value }))]}
        />
        <FilterSelect
          name="action"
          label="Action"
          value={action}
          options={[{ value: "", label: "Any action" }, ...actions.map((value) => ({ value, label: value }))]}
        />
        <FilterSelect name="since" label="Period" value={since === undefined ? undefined : String(since)} options={PERIODS} />
        <button className="button" type="submit">
          Filter
        </button>
      </form>

      {page.events.length === 0 ? (
        <EmptyState title={before === undefined ? "No events match" : "No older events"}>
          <p>
            {type !== undefined || action !== undefined || since !== undefined ? (
              <>
                Widen the filter, or <Link href={base}>show everything</Link>.
              </>
            ) : (
              "Events appear as agents connect, services are exposed and shares, links and keys are created."
            )}
          </p>
        </EmptyState>
      ) : (
        <AuditTable events={page.events} />
      )}
      <nav className="pager" aria-label="Audit log pages">
        {before !== undefined && <Link href={`${base}?${filterQuery.toString()}`}>Newest</Link>}
        {page.nextCursor !== null && <Link href={`${base}?${olderQuery.toString()}`}>Older events</Link>}
      </nav>
    </>
  );
}

function describeActor(event: AuditEventView): string {
  const id = event.actor.id === null ? "" : ` ${event.actor.id.slice(0, 8)}`;
  return event.actor.type === "system" ? "hub" : `${event.actor.type.replace("_", " ")}${id}`;
}

/** Addresses inside an event's data (an IP change's previous and new one) are masked like the column. */
const ADDRESS_KEYS = new Set(["ip", "previousIp", "newIp"]);

function describeData(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([key]) => key !== "agentId" && key !== "linkId")
    .map(([key, value]): [string, unknown] => [
      key,
      ADDRESS_KEYS.has(key) && typeof value === "string" ? maskAddress(value) : value,
    ])
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
}

function AuditTable({ events }: { events: AuditEventView[] }) {
  return (
    <table className="table" data-testid="audit-table">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Type</th>
          <th scope="col">Action</th>
          <th scope="col">Actor</th>
          <th scope="col">Target</th>
          <th scope="col">Address</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {events.map((event) => (
          <tr key={event.id}>
            <td data-label="Time">{formatTime(event.occurredAt)}</td>
            <td data-label="Type">{event.type}</td>
            <td data-label="Action">{event.action}</td>
            <td data-label="Actor">
              {describeActor(event)}
              {event.clientType !== null && <span className="hint"> ({event.clientType})</span>}
            </td>
            <td data-label="Target">{event.target ?? "—"}</td>
            <td data-label="Address">{maskAddress(event.ip)}</td>
            <td data-label="Details">
              {event.reason !== null && <div>{event.reason}</div>}
              <code className="muted">{describeData(event.data)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
