import { memo } from "react";

export const StatusPill = memo(function StatusPill({ status }: { status: string }) {
  return (
    <span className={`pill pill-${status}`} data-testid="status-pill" data-status={status}>
      {status.replace("_", " ")}
    </span>
  );
});
