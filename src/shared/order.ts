/**
 * Orders strings by UTF-16 code units, as `<` does: the same order in every process, whatever the locale. Batch
 * writers sort their rows with it so that two writers sharing rows lock them in one order and queue instead of
 * deadlocking.
 */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
