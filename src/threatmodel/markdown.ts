import TurndownService from 'turndown';

/** ThreatStream's rich-text fields (HTML) as the markdown OpenCTI shows in descriptions. */
const turndown = new TurndownService({
  headingStyle: 'atx',
  codeBlockStyle: 'fenced',
  bulletListMarker: '-',
});
// Their text is code or styling, not content.
turndown.remove(['script', 'style']);

export function htmlToMarkdown(html: string): string {
  return turndown.turndown(html).trim();
}

/** A model's text as markdown: markdown is kept as written, anything else is read as HTML. */
export function markdownOf(
  text: string | null | undefined,
  contentType: string | null | undefined,
) {
  const trimmed = text?.trim();
  if (!trimmed) return undefined;
  const markdown =
    contentType?.trim().toLowerCase() === 'markdown' ? trimmed : htmlToMarkdown(trimmed);
  return markdown === '' ? undefined : markdown;
}
