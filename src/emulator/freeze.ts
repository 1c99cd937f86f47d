// Stored objects are immutable once saved (see store.ts): freezing makes an accidental in-place edit throw
// instead of silently diverging from the serialized JSON cached for the object.

export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}
