/** BudgetGate: the shared connection budget (tokens, the lane reserve, sheds, wake-ups) with fake members. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BudgetGate, type BudgetMember } from '../../src/pool/budget.js';
import { commandSlot, keyIndexes, keySlot } from '../../src/topology/cluster/keys.js';
import commands from '@ioredis/commands';

class Member implements BudgetMember {
  missing = 0;
  idle = 0;
  pumps = 0;
  sheds = 0;
  lanesMissing(): number {
    return this.missing;
  }
  pump(): void {
    this.pumps++;
  }
  shed(): boolean {
    if (this.idle === 0) return false;
    this.idle--;
    this.sheds++;
    return true;
  }
}

const tick = (): Promise<void> => new Promise((r) => queueMicrotask(r));

void test('tokens never exceed the size; give returns one and wakes the other members once', async () => {
  const gate = new BudgetGate(3);
  const [a, b] = [new Member(), new Member()];
  gate.join(a);
  gate.join(b);
  assert.ok(gate.tryTake(a, 'lane') && gate.tryTake(a, 'lane') && gate.tryTake(b, 'lane'));
  assert.equal(gate.tryTake(b, 'lane'), false);
  assert.equal(gate.used, 3);
  gate.give(a);
  gate.give(a);
  await tick();
  assert.equal(b.pumps, 1, 'coalesced: one pump for two tokens');
  assert.equal(a.pumps, 0, 'the giver is not pumped');
  assert.equal(gate.used, 1);
  assert.throws(() => {
    gate.give(b);
    gate.give(b);
  }, /given back twice/);
});

void test('a lease token is refused while the rest would not cover the lanes other members miss', () => {
  const gate = new BudgetGate(4);
  const [a, b] = [new Member(), new Member()];
  gate.join(a);
  gate.join(b);
  b.missing = 2;
  assert.ok(gate.tryTake(a, 'lease') && gate.tryTake(a, 'lease'), '2 leases + 2 lanes for b fit in 4');
  assert.equal(gate.tryTake(a, 'lease'), false, 'a third lease would leave b a lane short');
  assert.ok(gate.tryTake(b, 'lane'), 'lanes are not held back by the reserve');
  b.missing = 1;
  assert.equal(gate.tryTake(a, 'lease'), false);
  gate.give(a);
  b.missing = 0;
  assert.equal(gate.used, 2);
  assert.ok(gate.tryTake(a, 'lease'));
});

void test('a refused member makes another shed an idle connection, and counts as starving until a token returns', async () => {
  const gate = new BudgetGate(2);
  const [a, b] = [new Member(), new Member()];
  gate.join(a);
  gate.join(b);
  assert.ok(gate.tryTake(a, 'lease') && gate.tryTake(a, 'lease'));
  a.idle = 1;
  assert.equal(gate.tryTake(b, 'lease'), false);
  assert.equal(gate.starved(a), true);
  assert.equal(gate.starved(b), false, 'a member does not starve itself');
  await tick();
  assert.equal(a.sheds, 1);
  gate.give(a); // the shed connection closed
  await tick();
  assert.equal(b.pumps, 1);
  assert.equal(gate.starved(a), false, 'cleared when a token came back');
});

void test('a single member (a one-node pool) never sheds or starves', async () => {
  const gate = new BudgetGate(1);
  const a = new Member();
  a.idle = 1;
  gate.join(a);
  assert.ok(gate.tryTake(a, 'lease'));
  assert.equal(gate.tryTake(a, 'lease'), false);
  await tick();
  assert.equal(a.sheds, 0);
  assert.equal(gate.starved(a), false);
});

void test('the single-key fast path of commandSlot agrees with the key table for every command', () => {
  const args = ['{tag}k', 'x', 'y', 'z', 'w', 'v', 'u', 't'];
  for (const name of commands.list) {
    const indexes = keyIndexes(name, args);
    const expected = indexes.length === 0 ? undefined : keySlot(args[indexes[0]!]!);
    let got: number | undefined | 'cross' = undefined;
    try {
      got = commandSlot(name, args);
    } catch {
      got = 'cross';
    }
    if (got === 'cross') continue; // several keys in different slots: refused, as it should
    assert.equal(got, expected, name);
  }
});
