/**
 * Whether any worker consumes any of the installation's queues. A worker's sweeper publishes due
 * rows of every task type, not only its own, so while one consumes anywhere the API's recovery
 * loops (a backstop for when every worker group is at zero) have nothing to add: they stand down,
 * which bounds the duplicated sweeping to the zero-replica case. Unknown (broker unreachable)
 * counts as "no worker": the loops then run, and SKIP LOCKED keeps an overlap safe.
 */
import type { Broker } from '../amqp/broker';

export async function anyWorkerConsuming(broker: Broker): Promise<boolean> {
  for (const q of broker.topology.queues) {
    const stats = await broker.withChannel((ch) => ch.checkQueue(q.name)).catch(() => null);
    if (stats && stats.consumerCount > 0) return true;
  }
  return false;
}
