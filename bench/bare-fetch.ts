import http from 'node:http';
import type { IocType } from '../src/ioc-types';
import { buildPageParams } from '../src/threatstream/query';

export interface BareFetch {
  pages: number;
  /** First request to the last page read. */
  wallMs: number;
}

interface PageBody {
  meta: { next: string | null };
  objects: { update_id: number | string }[];
}

function get(agent: http.Agent, url: URL, authorization: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers: { Authorization: authorization } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
      });
      res.on('error', reject);
    });
    request.on('error', reject);
  });
}

/**
 * The least a client can do to read a cold start (or, from `cursor`, an incremental pass): the
 * connector's own queries, one page after the other, each body read and parsed only for the next
 * cursor. What the connector does on top of this (validating, converting, publishing) is what
 * prefetching should hide.
 */
export async function fetchBare(options: {
  baseUrl: string;
  authorization: string;
  types: readonly IocType[];
  coldStartFrom: Date;
  pageSize: number;
  /** Every type's stored cursor: the pages of an incremental run instead of a cold start. */
  cursor?: string;
}): Promise<BareFetch> {
  const agent = new http.Agent({ keepAlive: true });
  const until = new Date();
  let pages = 0;
  const started = performance.now();
  try {
    for (const type of options.types) {
      const query = { type, cursor: null, coldStartFrom: options.coldStartFrom, until };
      let cursor: string | null = options.cursor ?? null;
      const coldStart = options.cursor === undefined;
      // Bounded: a pass cannot hold more pages than the simulator has records.
      for (let page = 0; page < 10_000; page++) {
        const params = buildPageParams(
          { ...query, feedIds: [], trustedCircleIds: [] },
          { cursor, coldStart },
          options.pageSize,
        );
        const url = new URL(`/api/v2/intelligence/?${params.toString()}`, options.baseUrl);
        const body = JSON.parse(await get(agent, url, options.authorization)) as PageBody;
        pages++;
        const last = body.objects.at(-1);
        if (last === undefined || body.meta.next === null) break;
        cursor = String(last.update_id);
      }
    }
    return { pages, wallMs: performance.now() - started };
  } finally {
    agent.destroy();
  }
}
