/**
 * The distinct-user sketch of the aggregate windows: deterministic positions, idempotent adds,
 * merge by max, exact small counts, and the documented error on 10k and 100k ids.
 */
import {
  HLL_REGISTERS,
  HLL_STANDARD_ERROR,
  hllAdd,
  hllCount,
  hllCreate,
  hllMerge,
  hllPosition,
} from '../../lambda/aggregate/hyperloglog';

const ids = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `user-${from + i}`);

function sketchOf(values: readonly string[]): Uint8Array {
  const sketch = hllCreate();
  for (const v of values) hllAdd(sketch, v);
  return sketch;
}

test('the documented precision and error', () => {
  expect(HLL_REGISTERS).toBe(4096);
  expect(HLL_STANDARD_ERROR).toBeCloseTo(0.01625, 5);
});

test('positions are a fixed function of the value (SHA-256, first 64 bits)', () => {
  expect(hllPosition('user-1')).toEqual({ register: 3180, rank: 3 });
  expect(hllPosition('a')).toEqual({ register: 3241, rank: 2 });
  expect(hllPosition('')).toEqual({ register: 3643, rank: 5 });
});

test('an empty sketch counts 0', () => {
  expect(hllCount(hllCreate())).toBe(0);
});

test('counts below 64 are exact when no two ids share a register (user-1..user-63); 64 is an estimate', () => {
  const sketch = hllCreate();
  const counts: number[] = [];
  for (const id of ids(1, 65)) {
    hllAdd(sketch, id);
    counts.push(hllCount(sketch));
  }
  expect(counts).toEqual([...Array.from({ length: 63 }, (_, i) => i + 1), 65]);
});

test('two ids in one register count once (user-1 and user-2130 share register 3180)', () => {
  expect(hllPosition('user-2130').register).toBe(hllPosition('user-1').register);
  expect(hllCount(sketchOf(['user-1', 'user-2130']))).toBe(1);
  expect(hllCount(sketchOf(['user-1', 'user-2']))).toBe(2);
});

test('adds are idempotent: the same ids again change nothing', () => {
  const sketch = sketchOf(ids(0, 1000));
  const before = Uint8Array.from(sketch);
  const changed = ids(0, 1000).map((id) => hllAdd(sketch, id));
  expect(changed.filter(Boolean)).toEqual([]);
  expect(sketch).toEqual(before);
});

test('merge is the register-wise max: overlapping halves give the sketch of the union', () => {
  const a = sketchOf(ids(0, 6000));
  const b = sketchOf(ids(4000, 10_000));
  const merged = hllCreate(a);
  hllMerge(merged, b);
  expect(merged).toEqual(sketchOf(ids(0, 10_000)));
  // Merging again (or merging a sketch into itself) changes nothing.
  hllMerge(merged, b);
  hllMerge(merged, a);
  expect(merged).toEqual(sketchOf(ids(0, 10_000)));
});

test.each([
  [10_000, 10_376],
  [100_000, 99_313],
])('%i distinct ids: estimate %i, within three standard errors', (n, estimate) => {
  const sketch = sketchOf(ids(0, n));
  expect(hllCount(sketch)).toBe(estimate);
  expect(Math.abs(estimate - n) / n).toBeLessThan(3 * HLL_STANDARD_ERROR);
  // Every id again, in another order: the same estimate.
  for (const id of ids(0, n).reverse()) hllAdd(sketch, id);
  expect(hllCount(sketch)).toBe(estimate);
});

test('a sketch of the wrong size is refused', () => {
  expect(() => hllCreate(new Uint8Array(10))).toThrow('a HyperLogLog sketch has 4096 registers (got 10)');
  expect(() => hllMerge(hllCreate(), new Uint8Array(5))).toThrow(
    'a HyperLogLog sketch has 4096 registers (got 5)',
  );
});
