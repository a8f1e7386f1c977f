import type { ReactNode } from 'react';

/**
 * A table in a scrolling region a keyboard can reach and a screen reader names by `label`: its column
 * headings, an optional caption, then the rows given as children.
 */
export function ScrollTable({ label, testId, caption, columns, children }: { label: string; testId?: string; caption?: string; columns: string[]; children: ReactNode }) {
  return (
    <div className="scroll" tabIndex={0} role="region" aria-label={label}>
      <table data-testid={testId}>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {/* By position: two headings may read the same in a language. */}
            {columns.map((c, i) => (
              <th key={i} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
