/**
 * The one budget shape `maxTotal` cannot serve well: fewer connections than every pooled node's
 * lanes (primaries and, with `readFrom`, replicas). Lanes are served first, so some node's lanes
 * would wait for connections other nodes hold, and its commands with them. Known only once the
 * map is loaded (the number of nodes comes from the cluster), so it is a warning, not an option
 * error; the option check (`options/cluster.ts`) can only ask for one node's lanes.
 */

/** The warning's text when `maxTotal` is below `lanes × nodes`, else `undefined`. */
export function budgetShortfall(maxTotal: number | undefined, lanes: number, primaries: number, replicas: number): string | undefined {
  if (maxTotal === undefined) return undefined;
  const nodes = primaries + replicas;
  const need = lanes * nodes;
  if (maxTotal >= need) return undefined;
  const which = replicas > 0 ? `${primaries} primaries + ${replicas} replicas` : `${primaries} primaries`;
  return `maxTotal ${maxTotal} is below the lanes of every pooled node (${lanes} lane(s) × ${which} = ${need}): some nodes' commands wait for connections other nodes hold; raise maxTotal to at least ${need} or lower lanes`;
}
