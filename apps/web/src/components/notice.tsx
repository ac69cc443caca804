"use client";

import { useCallback, useState } from "react";
import { describeError } from "@/lib/api-client";

export interface NoticeState {
  kind: "success" | "error";
  text: string;
}

/**
 * The result of a mutation, where the form that caused it is. role="status" for success and
 * role="alert" for errors, so screen readers announce both without moving focus.
 */
export function Notice({ notice }: { notice: NoticeState | undefined }) {
  // The live region exists before anything is said in it, so the first message is announced too.
  return (
    <div className="notice-slot" role={notice?.kind === "error" ? "alert" : "status"} aria-live="polite">
      {notice !== undefined && <p className={`notice notice-${notice.kind}`}>{notice.text}</p>}
    </div>
  );
}

/**
 * Runs a mutation and keeps its outcome as a notice: success text from the caller, errors in
 * the hub's own words (they say what to do next). `isPending` disables the form meanwhile.
 */
export function useAction() {
  const [notice, setNotice] = useState<NoticeState>();
  const [isPending, setIsPending] = useState(false);
  const run = useCallback(async <T,>(action: () => Promise<T>, success: (result: T) => string): Promise<T | undefined> => {
    setIsPending(true);
    setNotice(undefined);
    try {
      const result = await action();
      setNotice({ kind: "success", text: success(result) });
      return result;
    } catch (error) {
      setNotice({ kind: "error", text: describeError(error) });
      return undefined;
    } finally {
      setIsPending(false);
    }
  }, []);
  return { notice, setNotice, isPending, run };
}
