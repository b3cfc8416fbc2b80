/** Parses the Go-style durations the CRDs accept (`DURATION_PATTERN`): `250ms`, `30s`, `5m`, `1h30m`, `1.5h`. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration string; throws on text the CRD pattern would have refused. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`invalid duration '${text}': use a number with a unit (ms, s, m, h), e.g. 30s or 1h30m`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? 's'] ?? 1000), 0));
}
