/**
 * Migration 4: room on each `instances` page for updated row versions. A claim writes only the
 * lease columns, which no index covers, so its new version can stay on the same page as a
 * heap-only tuple — no index entries, and pruned without vacuum — but only if the page has space.
 * At the default fillfactor of 100 a freshly filled page has none, and every claim wrote a new
 * entry into each of the table's seven indexes. Applies to pages written from now on.
 */
export const name = 'instances-fillfactor';

export const sql = `
ALTER TABLE S.instances SET (fillfactor = 70);
`;
