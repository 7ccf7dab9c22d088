/** One route's responses with one status code. */
export interface HttpResponseStats {
  method: string;
  /** The route's pattern (`/v1/agents/:agentId`), or `unmatched` for requests no route took. */
  route: string;
  status: number;
  count: number;
  /** Sum of the response times, in seconds (with count: the mean). */
  seconds: number;
}

interface RouteCounters {
  method: string;
  route: string;
  byStatus: Map<number, HttpResponseStats>;
}

/** A route's counters; a route of several methods (fastify's one not-found context serves them all) has one per method. */
type RouteEntry = RouteCounters | Map<string, RouteCounters>;

/** A route's config object as fastify hands it to hooks: the same object for every request of the route. */
export interface RouteIdentity {
  readonly url?: string;
  readonly method?: string | readonly string[];
}

export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Counts HTTP responses per route and status for the metrics endpoint. Keyed by the route's own
 * config object and the status number, so a request costs two map lookups and no string building;
 * the label set is bounded by the routes the server registered.
 */
export class HttpStats {
  private readonly routes = new Map<RouteIdentity, RouteEntry>();

  record(route: RouteIdentity, method: string, status: number, elapsedMs: number): void {
    let entry = this.routes.get(route);
    if (entry === undefined) {
      entry = typeof route.method === 'string' ? newCounters(route.method, route) : new Map<string, RouteCounters>();
      this.routes.set(route, entry);
    }
    let counters: RouteCounters;
    if (entry instanceof Map) {
      let forMethod = entry.get(method);
      if (forMethod === undefined) entry.set(method, (forMethod = newCounters(method, route)));
      counters = forMethod;
    } else {
      counters = entry;
    }
    let stats = counters.byStatus.get(status);
    if (stats === undefined) {
      stats = { method: counters.method, route: counters.route, status, count: 0, seconds: 0 };
      counters.byStatus.set(status, stats);
    }
    stats.count++;
    stats.seconds += elapsedMs / 1000;
  }

  snapshot(): HttpResponseStats[] {
    const out: HttpResponseStats[] = [];
    for (const entry of this.routes.values()) {
      for (const c of entry instanceof Map ? entry.values() : [entry]) for (const stats of c.byStatus.values()) out.push({ ...stats });
    }
    return out;
  }
}

function newCounters(method: string, route: RouteIdentity): RouteCounters {
  return { method, route: route.url ?? UNMATCHED_ROUTE, byStatus: new Map() };
}
