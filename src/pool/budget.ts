/**
 * The connection budget several engines share. Each engine keeps its own ceiling (`max`, per
 * node in a cluster); the gate adds one total across all of them (`maxTotal`). A single-node
 * pool has a gate of its own, of size `max`, so the rule is the same everywhere: an engine takes
 * a token before it opens a connection (connecting ones count) and gives it back when the
 * connection is forgotten.
 *
 * Lanes come first: a lease token is refused while the tokens left would not cover the lanes
 * the *other* members still miss (a node without a lane cannot serve shared traffic at all,
 * while a lease can wait). When a token comes back, the other members are pumped once (in a
 * microtask, coalesced) so a waiter on another node gets it. When a take is refused, one idle
 * lease connection of another member is closed (`shed`), and the refused member is remembered
 * as starving until the next token comes back: a member whose lease connection goes idle while
 * another starves sheds it ({@link BudgetGate.starved}). So connections parked idle on one node
 * do not keep waiters on another waiting until their idle timeout.
 *
 * Invariant: `used` equals the tokens taken and not yet given, and never exceeds `size`.
 */

/** An engine drawing from a {@link BudgetGate}. */
export interface BudgetMember {
  /** Lanes this member wants and has not opened (connecting ones count as opened). */
  lanesMissing(): number;
  /** Runs the member's pump: a token came back, it may open what it waits for. */
  pump(): void;
  /** Closes one idle lease connection (its token comes back when it has closed); false if it has none. */
  shed(): boolean;
}

/** See the module comment. */
export class BudgetGate {
  /** Tokens in all (`maxTotal`, or `max` for a single pool). */
  readonly size: number;
  #used = 0;
  readonly #members = new Set<BudgetMember>();
  #notify = false;
  #shedding = false;
  readonly #starving = new Set<BudgetMember>();
  /** Takes refused because the total was reached (not per-member ceilings). */
  refused = 0;

  constructor(size: number) {
    this.size = size;
  }

  /** Tokens held now (connections open or being opened, across every member). */
  get used(): number {
    return this.#used;
  }

  /** Members drawing from this gate. */
  get members(): number {
    return this.#members.size;
  }

  /** Adds an engine (idempotent). */
  join(member: BudgetMember): void {
    this.#members.add(member);
  }

  /** Removes an engine; its tokens must have been given back already. */
  leave(member: BudgetMember): void {
    this.#members.delete(member);
  }

  /** Takes one token for a connection of `role`; false when the total (or the lane reserve) says no. */
  tryTake(member: BudgetMember, role: 'lane' | 'lease'): boolean {
    let refuse = this.#used >= this.size;
    if (!refuse && role === 'lease' && this.#members.size > 1) {
      let reserve = 0;
      for (const m of this.#members) if (m !== member) reserve += m.lanesMissing();
      refuse = this.#used + reserve >= this.size;
    }
    if (!refuse) {
      this.#used++;
      return true;
    }
    this.refused++;
    this.#starving.add(member);
    if (this.#members.size > 1 && !this.#shedding) {
      // One idle connection elsewhere per round: its close gives a token back, which pumps us.
      this.#shedding = true;
      queueMicrotask(() => {
        this.#shedding = false;
        for (const m of this.#members) if (m !== member && m.shed()) return;
      });
    }
    return false;
  }

  /** Whether a member other than `member` was refused a token since the last one came back. */
  starved(member: BudgetMember): boolean {
    for (const m of this.#starving) if (m !== member) return true;
    return false;
  }

  /** Gives one token back; the other members are pumped once, a microtask later. */
  give(member: BudgetMember): void {
    if (this.#used === 0) throw new Error('redpool invariant: budget token given back twice');
    this.#used--;
    if (this.#members.size < 2 || this.#notify) return;
    this.#notify = true;
    queueMicrotask(() => {
      this.#notify = false;
      // Pumped members that are still refused say so again.
      this.#starving.clear();
      for (const m of [...this.#members]) if (m !== member) m.pump();
    });
  }
}

/**
 * The one budget shape a shared `maxTotal` cannot serve well: fewer connections than every
 * pooled node's lanes (a cluster's primaries, and the replicas read from on a cluster or
 * Sentinel). Lanes are served first, so some node's lanes wait for connections other nodes
 * hold, and its commands with them. Known only once the topology is (the option check can only
 * ask for one node's lanes), so it is a warning. Returns its text, or `undefined` when the
 * budget covers every node's lanes.
 */
export function budgetShortfall(maxTotal: number | undefined, lanes: number, primaries: number, replicas: number): string | undefined {
  if (maxTotal === undefined) return undefined;
  const need = lanes * (primaries + replicas);
  if (maxTotal >= need) return undefined;
  const p = `${primaries} ${primaries === 1 ? 'primary' : 'primaries'}`;
  const which = replicas > 0 ? `${p} + ${replicas} ${replicas === 1 ? 'replica' : 'replicas'}` : p;
  return `maxTotal ${maxTotal} is below the lanes of every pooled node (${lanes} lane(s) × ${which} = ${need}): some nodes' commands wait for connections other nodes hold; raise maxTotal to at least ${need} or lower lanes`;
}
