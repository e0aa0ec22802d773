import type { MethodOptions } from '@googleapis/calendar';
import type { JWT } from 'google-auth-library';
import { CalendarApiError, type CallLimits } from '../ports/calendar';

/** Parameters every request carries: the owner's credentials and the owner as quota user. */
export interface OwnerParams {
  auth: JWT;
  quotaUser: string;
}

/** One googleapis request, given the owner's parameters and the method options (timeout, retry off). */
export type GoogleRequest<T> = (params: OwnerParams, options: MethodOptions) => Promise<{ data: T }>;

/**
 * Runs one Google call as `owner` under the gateway's retry policy and request budget; failures leave as port
 * errors (CalendarApiError with the status, OwnerUnavailableError).
 */
export type GoogleCaller = <T>(owner: string, operation: string, request: GoogleRequest<T>, limits?: CallLimits) => Promise<T>;

export function hasApiStatus(err: unknown, ...statuses: number[]): boolean {
  return err instanceof CalendarApiError && err.status !== undefined && statuses.includes(err.status);
}
