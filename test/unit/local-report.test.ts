/**
 * The local run's step balance: in (+ what the consumer was handed again) = out + dead-lettered,
 * and how the report prints it. Plain functions, no engines.
 */
import { balance, formatMapping, formatReport, type LocalReport } from '../../tools/local/report';

test('a step balances when its input equals its outputs plus its dead letters', () => {
  expect(balance('enrich: events.user', 10, { enriched: 8, 'duplicates dropped': 0 }, 2)).toEqual({
    step: 'enrich: events.user',
    input: 10,
    outputs: { enriched: 8, 'duplicates dropped': 0 },
    deadLettered: 2,
    balanced: true,
  });
  expect(balance('enrich: events.user', 10, { enriched: 9 }, 2).balanced).toBe(false);
  expect(balance('enrich: events.user', 10, { enriched: 7 }, 2).balanced).toBe(false);
});

test('records handed to the consumer again are counted apart: they balance the outputs, not the input', () => {
  // 159 change records on the topic, 4 of them handed to enrich again after a broker restart; the
  // handler saw 163 (the 4 again as older changes skipped).
  const step = balance(
    'enrich: cdc.orders',
    159,
    { applied: 150, 'older, skipped': 8, tombstones: 5 },
    0,
    'note',
    4,
  );
  expect(step).toEqual({
    step: 'enrich: cdc.orders',
    input: 159,
    outputs: { applied: 150, 'older, skipped': 8, tombstones: 5 },
    deadLettered: 0,
    redelivered: 4,
    balanced: true,
    note: 'note',
  });
  // Without them the same outputs do not balance (the old report's mismatch).
  expect(balance('enrich: cdc.orders', 159, step.outputs, 0).balanced).toBe(false);
  // Nothing handed again: no field.
  expect('redelivered' in balance('s', 1, { a: 1 }, 0, undefined, 0)).toBe(false);
});

test('the report prints what was handed again next to the input, and a mismatch with both figures', () => {
  const report: LocalReport = {
    envName: 'dev',
    seed: 7,
    sources: ['orders'],
    interrupted: false,
    startupSeconds: 1,
    generateSeconds: 2,
    drainSeconds: 3,
    drained: true,
    wallSeconds: 6,
    topics: { 'cdc.orders': 159 },
    sinks: {},
    generated: { 'order changes': 150 },
    steps: [
      balance('enrich: cdc.orders', 159, { applied: 150, 'older, skipped': 13 }, 0, undefined, 4),
      balance('enrich: cdc.orders', 159, { applied: 150, 'older, skipped': 14 }, 0, undefined, 4),
    ],
    mappings: [],
    balanced: false,
    latency: { notes: [] },
    whereToLook: [],
    problems: [],
  };
  const lines = formatReport(report).filter((l) => l.includes('enrich: cdc.orders'));
  expect(lines.map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
    'enrich: cdc.orders 159 + 4 delivered again = applied 150 + older, skipped 13 + dead-lettered 0 ok',
    'enrich: cdc.orders 159 + 4 delivered again = applied 150 + older, skipped 14 + dead-lettered 0 MISMATCH: 163 in, 164 accounted for',
  ]);
});

test("a mapping's line: batches, mean batch size, mean invocation time and the share of the run it was busy", () => {
  const mapping = {
    function: 'aggregate',
    topic: 'events.enriched',
    batches: 40,
    records: 2_000,
    invocations: 42,
    failures: 2,
    handlerMs: 63_000,
  };
  // 2,000 / 40 = 50 per batch; 63,000 ms / 42 = 1,500 ms; 63 s of a 90 s run = 70%.
  expect(formatMapping(mapping, 90).replace(/\s+/g, ' ')).toBe(
    'aggregate <- events.enriched 40 batches, 50.0 records per batch, 1500 ms per invocation (2 failed), busy 70% of the run',
  );
  expect(formatMapping({ ...mapping, batches: 0, invocations: 0, failures: 0, handlerMs: 0 }, 0)).toMatch(
    /0 batches, - records per batch, - per invocation, busy - of the run$/,
  );
});
