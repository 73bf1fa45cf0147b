import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { metricNames } from '@boxoffice/platform';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './paths.ts';

// The alerts Prometheus loads under docker compose (observability/prometheus/alerts.yaml), run by
// promtool (Debian's prometheus package; .ci/run installs it) against series written here: each
// fires when what it warns of is past half the retention, and stays quiet below.

const rulesFile = path.join(repoRoot, 'observability/prometheus/alerts.yaml');
const labels = 'service="analytics",messaging_system="kafka"';

/** promtool's unit-test file: series over time, and the alerts expected at an instant. */
const unitTests = `
rule_files: [${JSON.stringify(rulesFile)}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: '${metricNames.consumerLagAge}{${labels},messaging_destination_name="orders",messaging_consumer_group_name="stats",messaging_destination_partition_id="0"}'
        values: '0+0x5 400000x30'
      - series: '${metricNames.channelRetention}{${labels},messaging_destination_name="orders"}'
        values: '604800x40'
      - series: '${metricNames.deadLetterOldestAge}{${labels},store="orders.dlt"}'
        values: '100000x40'
      - series: '${metricNames.deadLetterRetention}{${labels},store="orders.dlt"}'
        values: '1209600x40'
      - series: '${metricNames.deadLetterOldestAge}{${labels},store="payments.dlt"}'
        values: '900000x40'
      - series: '${metricNames.deadLetterRetention}{${labels},store="payments.dlt"}'
        values: '1209600x40'
      - series: '${metricNames.outboxParked}{service="checkout"}'
        values: '0x5 1x30'
    alert_rule_test:
      - { eval_time: 4m, alertname: ConsumerLagNearRetention, exp_alerts: [] }
      - eval_time: 20m
        alertname: ConsumerLagNearRetention
        exp_alerts:
          - exp_labels: { severity: warning, service: analytics, messaging_system: kafka, messaging_destination_name: orders, messaging_consumer_group_name: stats }
            exp_annotations:
              summary: 'stats has left records of orders unread for 66.14% of the retention: at 100% Kafka or Kinesis deletes them'
      - eval_time: 30m
        alertname: DeadLetterNearExpiry
        exp_alerts:
          - exp_labels: { severity: warning, service: analytics, messaging_system: kafka, store: payments.dlt }
            exp_annotations:
              summary: "The oldest dead letter in payments.dlt has waited 74.4% of the store's retention: replay or purge it (npm run dlq) before the broker deletes it"

      - { eval_time: 4m, alertname: OutboxParked, exp_alerts: [] }
      - eval_time: 15m
        alertname: OutboxParked
        exp_alerts:
          - exp_labels: { severity: warning, service: checkout }
            exp_annotations:
              summary: 'checkout has outbox rows the broker refused too often: npm run dlq -- outbox list'
`;

describe('the alerts Prometheus loads', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'boxoffice-alerts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const promtool = (...args: string[]) => spawnSync('promtool', args, { encoding: 'utf8' });

  it('parse as rules', () => {
    const result = promtool('check', 'rules', rulesFile);
    expect(result.stdout + result.stderr).toContain('SUCCESS: 3 rules found');
    expect(result.status).toBe(0);
  });

  it('name only series the services export', () => {
    const named = new Set(readFileSync(rulesFile, 'utf8').match(/\bboxoffice_[a-z_]+/g));
    expect([...named].filter((name) => !(Object.values(metricNames) as string[]).includes(name))).toEqual([]);
  });

  it('fire past half the retention or on a parked row, and stay quiet below', () => {
    const tests = path.join(dir, 'alerts.test.yaml');
    writeFileSync(tests, unitTests);
    const result = promtool('test', 'rules', tests);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});
