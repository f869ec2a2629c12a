/** Just enough man(7) for xenbridge's pages: escaping, inline code, and README markdown to roff. */

/** Text safe on a roff line: backslashes and hyphens escaped, a leading . or ' neutralised. */
export const esc = (text: string): string => {
  const t = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(t) ? `\\&${t}` : t;
};

/** `code` in bold, the rest escaped. */
export const inline = (text: string): string =>
  text.split(/(`[^`]*`)/).map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? `\\fB${esc(part.slice(1, -1))}\\fR` : esc(part))).join('');

const cells = (row: string): string[] => row.replace(/^\s*\|/, '').replace(/\|\s*$/, '').split('|').map((c) => c.trim());

/**
 * Markdown as the README writes it: paragraphs, ``` blocks, pipe tables (each row a tagged
 * paragraph: first column as the tag, the others joined), bullet lists. Headings become .SS.
 */
export const markdownToRoff = (md: string): string => {
  const out: string[] = [];
  const lines = md.replace(/\n+$/, '').split('\n');
  let para: string[] = [];
  const flush = (): void => {
    if (para.length > 0) out.push('.PP', inline(para.join(' ')));
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('```')) {
      flush();
      out.push('.PP', '.nf', '.RS 4');
      for (i++; i < lines.length && !(lines[i] ?? '').startsWith('```'); i++) out.push(esc(lines[i] ?? '') || '\\&');
      out.push('.RE', '.fi');
    } else if (line.startsWith('|')) {
      flush();
      const header = cells(line);
      i++; // the |---| line
      for (; i + 1 < lines.length && (lines[i + 1] ?? '').startsWith('|'); i++) {
        const row = cells(lines[i + 1] ?? '');
        out.push('.TP', inline(row[0] ?? ''), inline(row.slice(1).map((c, k) => (k === 0 ? c : `${header[k + 1] ?? ''}: ${c}`)).join('. ')));
      }
    } else if (/^#+ /.test(line)) {
      flush();
      out.push(`.SS ${esc(line.replace(/^#+ /, ''))}`);
    } else if (/^\s*[-*] /.test(line)) {
      flush();
      out.push('.IP \\(bu 2', inline(line.replace(/^\s*[-*] /, '')));
    } else if (line.trim() === '') flush();
    else para.push(line.trim());
  }
  flush();
  return `${out.join('\n')}\n`;
};

/** The README's "## TITLE" section, without its heading. */
export const readmeSection = (readme: string, title: string): string => {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no "## ${title}" section`);
  const body = readme.slice(start + title.length + 5);
  const end = body.search(/\n## /);
  return end < 0 ? body : body.slice(0, end + 1);
};
