/**
 * Order changes in PostgreSQL at a steady rate, seeded, each its own transaction (one change
 * record each on cdc.orders): new orders of the same users as the app events, status changes along
 * the contract's lifecycle (created -> paid -> shipped, or cancelled / refunded), and now and then a
 * delete (a change record plus a tombstone).
 */
import type { Client } from 'pg';
import { prng } from '../prng';
import { deriveSeed } from './stats';

const CURRENCIES = ['EUR', 'EUR', 'USD', 'GBP'] as const;
const TICK_MS = 100;
/** The next status of an order in each status (terminal statuses have none). */
const NEXT: Readonly<Record<string, readonly string[]>> = {
  created: ['paid', 'paid', 'paid', 'cancelled'],
  paid: ['shipped', 'shipped', 'refunded'],
};

export interface OrdersGeneratorOptions {
  /** A superuser session on the captured database. */
  readonly client: Client;
  /** Changes per second. */
  readonly rate: number;
  readonly users: number;
  readonly seed: number;
}

export interface OrdersCounters {
  inserts: number;
  updates: number;
  deletes: number;
  /** Statements that failed (not committed: no change record expected). */
  failed: number;
}

export class OrdersGenerator {
  public readonly counters: OrdersCounters = { inserts: 0, updates: 0, deletes: 0, failed: 0 };
  private readonly random: () => number;
  /** Open orders (not in a terminal status) and their status. */
  private readonly open = new Map<number, string>();
  private readonly all: number[] = [];
  private nextId: number;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private owed = 0;

  constructor(private readonly options: OrdersGeneratorOptions) {
    this.random = prng(deriveSeed(options.seed, 'orders'));
    this.nextId = 1_000_000 + Math.floor(this.random() * 1_000_000) * 1000;
  }

  /** Change records cdc.orders should get for what was committed: one per change, plus a tombstone per delete. */
  get expectedRecords(): number {
    const c = this.counters;
    return c.inserts + c.updates + 2 * c.deletes;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let last = Date.now();
    while (this.running) {
      const now = Date.now();
      this.owed += ((now - last) / 1000) * this.options.rate;
      last = now;
      while (this.owed >= 1 && this.running) {
        this.owed -= 1;
        await this.change();
      }
      await sleep(Math.max(0, TICK_MS - (Date.now() - now)));
    }
  }

  private async change(): Promise<void> {
    const r = this.random();
    const db = this.options.client;
    try {
      if (this.open.size > 0 && r < 0.45) {
        const ids = [...this.open.keys()];
        const id = ids[Math.floor(this.random() * ids.length)]!;
        const choices = NEXT[this.open.get(id)!]!;
        const status = choices[Math.floor(this.random() * choices.length)]!;
        await db.query('UPDATE public.orders SET status = $1, updated_at = now() WHERE id = $2', [
          status,
          id,
        ]);
        this.counters.updates++;
        if (NEXT[status]) this.open.set(id, status);
        else this.open.delete(id);
      } else if (this.all.length > 10 && r < 0.5) {
        const i = Math.floor(this.random() * this.all.length);
        const id = this.all[i]!;
        this.all.splice(i, 1);
        this.open.delete(id);
        await db.query('DELETE FROM public.orders WHERE id = $1', [id]);
        this.counters.deletes++;
      } else {
        const id = this.nextId++;
        const userId = `user-${1 + Math.floor(this.random() * this.options.users)}`;
        const amount = 500 + Math.floor(this.random() * 50_000);
        const currency = CURRENCIES[Math.floor(this.random() * CURRENCIES.length)]!;
        await db.query(
          "INSERT INTO public.orders (id, user_id, status, amount_cents, currency, created_at, updated_at) VALUES ($1, $2, 'created', $3, $4, now(), now())",
          [id, userId, amount, currency],
        );
        this.counters.inserts++;
        this.open.set(id, 'created');
        this.all.push(id);
      }
    } catch {
      this.counters.failed++;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
