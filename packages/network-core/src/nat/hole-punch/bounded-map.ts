// The per-peer memories of hole punching (back-offs, relay dials, observed addresses) are Maps
// in insertion order with a cap: a write makes its key the newest, the oldest go past the cap.
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > max) map.delete(map.keys().next().value as K)
}
