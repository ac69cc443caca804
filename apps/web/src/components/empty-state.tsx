import type { ReactNode } from "react";

/** What to do when there is nothing to show yet: a sentence, and usually a command. */
export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  );
}
