/** Builds the query string of one intelligence page request, using documented double-underscore lookups only. */

import type { IocType } from '../ioc-types';

/** ThreatStream files every hash under `type=md5`; `subtype` says which algorithm. */
export const WIRE_TYPE = {
  ip: 'ip',
  ipv6: 'ipv6',
  domain: 'domain',
  url: 'url',
  email: 'email',
  hash: 'md5',
  string: 'string',
} as const satisfies Record<IocType, string>;

export interface PageQuery {
  type: IocType;
  /** null = cold start for this type. */
  cursor: string | null;
  /** modified_ts__gte on a cold start. */
  coldStartFrom: Date;
  /** Stability bound, modified_ts__lt: records still being written are left for the next run. */
  until: Date;
  minConfidence?: number;
  feedIds: readonly string[];
  trustedCircleIds: readonly string[];
}

export interface PageRequest {
  /** The cursor for `update_id__gt`; null only on the first page of a cold start. */
  cursor: string | null;
  /**
   * A cold-start pass keeps `status=active` and the look-back bound on every page; incremental
   * passes send no status filter so that deactivations arrive as updates.
   */
  coldStart: boolean;
}

export function buildPageParams(
  query: PageQuery,
  request: PageRequest,
  pageSize: number,
): URLSearchParams {
  const params = new URLSearchParams({
    order_by: 'update_id',
    limit: String(pageSize),
    type: WIRE_TYPE[query.type],
    modified_ts__lt: query.until.toISOString(),
  });
  if (request.coldStart) {
    params.set('status', 'active');
    params.set('modified_ts__gte', query.coldStartFrom.toISOString());
  }
  if (request.cursor !== null) params.set('update_id__gt', request.cursor);
  if (query.minConfidence !== undefined) params.set('confidence__gte', String(query.minConfidence));
  if (query.feedIds.length > 0) params.set('feed_id', query.feedIds.join(','));
  if (query.trustedCircleIds.length > 0) {
    params.set('trusted_circle_ids', query.trustedCircleIds.join(','));
  }
  return params;
}
