/** Placeholders an event description template may use; anything else is rejected at load time. */
export const TEMPLATE_PLACEHOLDERS = ['org_name', 'host_name', 'policy_names', 'why', 'what', 'deadline', 'deferrals_left'] as const;
export type TemplatePlaceholder = (typeof TEMPLATE_PLACEHOLDERS)[number];
export type TemplateValues = Record<TemplatePlaceholder, string>;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The unknown placeholder names of a template (empty when it is valid), in order of appearance, each once. */
export function unknownPlaceholders(template: string): string[] {
  const known = new Set<string>(TEMPLATE_PLACEHOLDERS);
  const unknown = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER)) if (!known.has(match[1])) unknown.add(match[1]);
  return [...unknown];
}

/** Escapes what Google Calendar renders as HTML in a description (&, <, >, quotes). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/**
 * Substitutes {{placeholder}} with its value, HTML-escaped; nothing else is interpreted (no code runs, values are
 * never re-scanned for placeholders). The template's own text is escaped too, so it reads as written.
 * Throws on an unknown placeholder (the loader rejects those earlier).
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  const unknown = unknownPlaceholders(template);
  if (unknown.length > 0) throw new RangeError(`unknown placeholder(s): ${unknown.map((u) => `{{${u}}}`).join(', ')}`);
  let out = '';
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    out += escapeHtml(template.slice(last, match.index)) + escapeHtml(values[match[1] as TemplatePlaceholder] ?? '');
    last = (match.index as number) + match[0].length;
  }
  return out + escapeHtml(template.slice(last));
}
