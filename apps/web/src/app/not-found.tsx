import Link from "next/link";

export default function NotFound() {
  return (
    <main className="centered">
      <h1>Not found</h1>
      <p>
        There is nothing here, or it belongs to a workspace you are not a member of. Check the address, or go back to your
        workspaces.
      </p>
      <p>
        <Link className="button" href="/">
          Your workspaces
        </Link>
      </p>
    </main>
  );
}
