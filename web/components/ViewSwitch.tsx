/**
 * Two or more ways to show one result (a graph or a list, a table or a graph): a labelled group of
 * toggle buttons, the chosen one pressed.
 */
export function ViewSwitch<V extends string>({ label, value, options, onChange }: { label: string; value: V; options: { value: V; label: string }[]; onChange: (value: V) => void }) {
  return (
    <div role="group" aria-label={label} className="actions">
      {options.map((o) => (
        <button key={o.value} type="button" className={value === o.value ? '' : 'ghost'} aria-pressed={value === o.value} onClick={() => onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}
