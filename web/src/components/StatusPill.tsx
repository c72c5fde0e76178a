import { memo } from "react";
import { statusWords } from "../model/words";

export const StatusPill = memo(function StatusPill({ status }: { status: string }) {
  return (
    <span className={`pill pill-${status}`} data-testid="status-pill" data-status={status}>
      {statusWords(status)}
    </span>
  );
});
