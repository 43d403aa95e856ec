import { describe, expect, it } from '@jest/globals';
import { parser } from '@prometheus-io/lezer-promql';
import { Histogram } from 'prom-client';
import { Metrics } from '../../src/observability/metrics';
import { at, isRecord, parseYaml, readJson, sorted, stringList } from './files';

/**
 * The Grafana dashboard and the Prometheus scrape example of deploy/. Every query of the
 * dashboard must parse as PromQL and name only series the connector exports, as read from a
 * real Metrics registry: a renamed or removed metric fails here, not on someone's screen.
 */

const DASHBOARD = 'deploy/grafana/threatstream-connector.json';
const dashboard = readJson(DASHBOARD);

/** Series names a registry exports: a histogram as its _bucket, _sum and _count series. */
function exportedSeries(): Set<string> {
  const names = new Set<string>();
  for (const metric of new Metrics().registry.getMetricsAsArray()) {
    const suffixes = metric instanceof Histogram ? ['_bucket', '_sum', '_count'] : [''];
    for (const suffix of suffixes) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

interface Panel {
  title: string;
  type: string;
  datasource?: unknown;
  targets?: { expr: string; datasource?: unknown }[];
  panels?: Panel[];
}

function panelsOf(value: unknown): Panel[] {
  const list = at(value, 'panels') as Panel[];
  return list.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every query: the panels' targets, and the selectors of the template variables. */
function queries(): { where: string; expr: string }[] {
  const fromPanels = panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr })),
  );
  const variables = at(dashboard, 'templating', 'list') as Record<string, unknown>[];
  const fromVariables = variables
    .filter((variable) => variable.type === 'query')
    .map((variable) => {
      const labelValues = /^label_values\((.+),\s*\w+\)$/.exec(String(variable.query));
      return {
        where: `$${String(variable.name)}`,
        expr: labelValues?.[1] ?? String(variable.query),
      };
    });
  return [...fromPanels, ...fromVariables];
}

/** Grafana's interval variables are not PromQL; any duration stands in for them. */
const asPromQl = (expr: string) => expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');

/** The metric names a query selects, or the text around its first syntax error. */
function metricNames(expr: string): { names: string[]; error?: string } {
  const text = asPromQl(expr);
  const names: string[] = [];
  let error: string | undefined;
  const cursor = parser.parse(text).cursor();
  do {
    if (cursor.type.isError)
      error ??= `syntax error near "${text.slice(cursor.from, cursor.from + 20)}"`;
    if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') {
      names.push(text.slice(cursor.from, cursor.to));
    }
  } while (cursor.next());
  return error === undefined ? { names } : { names, error };
}

describe('the Grafana dashboard', () => {
  it('is a dashboard with a Prometheus data source chosen on import', () => {
    expect(at(dashboard, 'uid')).toBe('threatstream-connector');
    expect(typeof at(dashboard, 'title')).toBe('string');
    expect(at(dashboard, 'schemaVersion')).toEqual(expect.any(Number));
    const variables = at(dashboard, 'templating', 'list') as Record<string, unknown>[];
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    for (const panel of panelsOf(dashboard).filter((p) => p.type !== 'row')) {
      expect({ panel: panel.title, datasource: panel.datasource }).toEqual({
        panel: panel.title,
        datasource: { type: 'prometheus', uid: '${datasource}' },
      });
    }
  });

  it('queries parse as PromQL and name only metrics the connector exports', () => {
    const exported = exportedSeries();
    const found = queries().map(({ where, expr }) => ({ where, ...metricNames(expr) }));
    expect(found.length).toBeGreaterThan(10);
    expect(found.filter((q) => q.error !== undefined)).toEqual([]);
    expect(found.filter((q) => q.names.length === 0)).toEqual([]);
    const unknown = found.flatMap(({ where, names }) =>
      names.filter((name) => !exported.has(name)).map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('covers imports, runs, the queue, the ThreatStream API and the cursors', () => {
    const used = new Set(queries().flatMap(({ expr }) => metricNames(expr).names));
    for (const name of [
      'threatstream_iocs_imported_total',
      'threatstream_iocs_skipped_total',
      'threatstream_iocs_revoked_total',
      'run_duration_seconds_count',
      'run_duration_seconds_sum',
      'opencti_queue_size_megabytes',
      'opencti_queue_threshold_megabytes',
      'opencti_queue_buffering',
      'threatstream_request_duration_seconds_bucket',
      'threatstream_request_retries_total',
      'threatstream_last_page_timestamp_seconds',
    ]) {
      expect({ name, used: used.has(name) }).toEqual({ name, used: true });
    }
  });

  it('filters every panel query by the job and instance variables', () => {
    for (const { where, expr } of queries().filter((q) => !q.where.startsWith('$'))) {
      const selectors = [...expr.matchAll(/\b[a-z_]+\{([^}]*)\}/g)].map((m) => m[1]);
      expect(selectors.length).toBeGreaterThan(0);
      for (const selector of selectors) {
        expect({ where, selector }).toEqual({
          where,
          selector: expect.stringContaining('job=~"$job", instance=~"$instance"'),
        });
      }
    }
  });

  it('has the metric parser reject what is not PromQL', () => {
    expect(metricNames('sum(rate(runs_total[5m])').error).toBeDefined();
    expect(metricNames('rate(runs_total{job="x"}[5m]) / errors_total')).toEqual({
      names: ['runs_total', 'errors_total'],
    });
  });
});

describe('the Prometheus scrape example', () => {
  it('scrapes /metrics on the metrics port of the compose service', () => {
    const config = parseYaml('deploy/prometheus/prometheus.yml');
    const jobs = at(config, 'scrape_configs') as unknown[];
    expect(jobs).toHaveLength(1);
    const job = jobs[0];
    expect(isRecord(job)).toBe(true);
    expect(at(job, 'metrics_path')).toBe('/metrics');
    const compose = parseYaml('docker-compose.yml');
    const service = Object.keys(at(compose, 'services') as Record<string, unknown>)[0];
    const environment = stringList(at(compose, 'services', String(service), 'environment'), 'env');
    const port = environment.find((e) => e.startsWith('CONNECTOR_METRICS_PORT='))?.split('=')[1];
    const targets = (at(job, 'static_configs') as unknown[]).flatMap((c) =>
      stringList(at(c, 'targets'), 'targets'),
    );
    expect(sorted(targets)).toEqual([`${String(service)}:${String(port)}`]);
  });
});
