import { instantOf } from './slot-search';

/**
 * Deferrals (issue 8): the owner moving the window later, or deleting it, is one deferral; moving it earlier is not.
 * Up to max_deferrals (null = unlimited) are followed; beyond that a move later is undone (patched back to the last
 * accepted time) and a delete is rebooked at the earliest allowed slot. A move past the deadline is clamped to the
 * latest slot before it (the caller finds that slot with chooseWindow); a delete is rebooked within the deadline
 * anyway (chooseRebookWindow takes the deadline).
 */
export type OwnerChange =
  | { kind: 'moved'; start: string; end: string }
  | { kind: 'deleted' };

export type DeferralDecision =
  /** Follow the owner: a move (fire at the new time) or, for a delete, the usual rebook. */
  | { action: 'follow'; deferralsUsed: number; reason: null }
  /** Patch the event back to the last accepted time. */
  | { action: 'undo_move'; deferralsUsed: number; start: string; end: string; reason: string }
  /** A delete beyond the limit: rebook at the earliest allowed slot (not the rebook_rrule day). */
  | { action: 'rebook_earliest'; deferralsUsed: number; reason: string }
  /** The move ends after the deadline: put the window at the latest slot before it. */
  | { action: 'clamp_to_deadline'; deferralsUsed: number; reason: string };

export interface DeferralInput {
  change: OwnerChange;
  maxDeferrals: number | null;
  deferralsUsed: number;
  /** The last accepted window. */
  accepted: { start: string; end: string };
  /** Exclusive deadline (epoch ms) or null. */
  deadline: number | null;
  /** Written into reasons, e.g. "2026-12-10" (the deadline's local date). */
  deadlineLabel?: string;
}

function mustHappen(label: string | undefined): string {
  return label ? ` It must happen by the end of ${label}.` : '';
}

export function decideDeferral(input: DeferralInput): DeferralDecision {
  const { change, maxDeferrals, deferralsUsed, accepted, deadline } = input;
  const limitReached = maxDeferrals !== null && deferralsUsed >= maxDeferrals;
  const noMore = `This window can no longer be moved: the ${maxDeferrals} deferral${maxDeferrals === 1 ? '' : 's'} allowed ${maxDeferrals === 1 ? 'has' : 'have'} been used.${mustHappen(input.deadlineLabel)}`;
  if (change.kind === 'deleted') {
    if (limitReached) return { action: 'rebook_earliest', deferralsUsed, reason: noMore };
    return { action: 'follow', deferralsUsed: deferralsUsed + 1, reason: null };
  }
  const later = instantOf(change.start) > instantOf(accepted.start);
  if (!later) {
    if (deadline !== null && instantOf(change.end) > deadline) {
      return { action: 'clamp_to_deadline', deferralsUsed, reason: `The window must end by the deadline.${mustHappen(input.deadlineLabel)}` };
    }
    return { action: 'follow', deferralsUsed, reason: null };
  }
  if (limitReached) return { action: 'undo_move', deferralsUsed, start: accepted.start, end: accepted.end, reason: noMore };
  if (deadline !== null && instantOf(change.end) > deadline) {
    return {
      action: 'clamp_to_deadline',
      deferralsUsed: deferralsUsed + 1,
      reason: `The window was moved past the deadline, so it was put back to the latest time before it.${mustHappen(input.deadlineLabel)}`,
    };
  }
  return { action: 'follow', deferralsUsed: deferralsUsed + 1, reason: null };
}

/** Deferrals left (null = unlimited). */
export function deferralsLeft(maxDeferrals: number | null, deferralsUsed: number): number | null {
  return maxDeferrals === null ? null : Math.max(0, maxDeferrals - deferralsUsed);
}
