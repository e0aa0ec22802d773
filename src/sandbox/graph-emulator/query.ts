/** Query parameters as Fastify gives them (a string, or an array for repeated names). */
export type Query = Record<string, string | string[] | undefined>;

export function single(query: Query, name: string): string | undefined {
  const v = query[name];
  return Array.isArray(v) ? v[0] : v;
}
