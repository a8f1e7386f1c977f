/**
 * The golden set the model optimisation scores candidates on: small, hand-labelled, English and
 * German, versioned — a change of an item is a new version, and every run records the version it used.
 */
export const GOLDEN_SET_VERSION = 'v1';

export interface ClassificationItem {
  text: string;
  document_type: string;
}
export interface ExtractionItem {
  text: string;
  /** Names a good extraction finds (case-insensitive). */
  entities: string[];
}
export interface SynthesisItem {
  context: string;
  question: string;
  /** Words the answer must contain; null when the context does not answer the question. */
  answer: string[] | null;
}
export interface ValidationItem {
  context: string;
  answer: string;
  grounded: boolean;
}

export const GOLDEN = {
  classification: [
    { text: 'Quarterly report Q3 2024. Revenue grew 12% to EUR 4.1 million; operating margin 9%. Outlook for Q4 remains stable.', document_type: 'report' },
    { text: 'From: anna@example.com\nTo: team@example.com\nSubject: Friday meeting moved\n\nHi all, the Friday meeting moves to 10:00. Best, Anna', document_type: 'email' },
    { text: 'Installation guide. Step 1: unpack the device. Step 2: connect the power cable. Step 3: press and hold the reset button for 5 seconds.', document_type: 'manual' },
    { text: 'This Agreement is entered into by and between Alpha GmbH ("Supplier") and Beta AG ("Customer"). The term of this Agreement is 24 months.', document_type: 'contract' },
    { text: 'Protokoll der Vorstandssitzung vom 3. Mai 2024. Anwesend: Frau Keller, Herr Brandt. Beschluss: Das Budget 2025 wird genehmigt.', document_type: 'minutes' },
    { text: 'Richtlinie zur Nutzung mobiler Endgeräte. Alle Mitarbeitenden müssen Geräte mit einer PIN schützen. Verstöße werden dem Sicherheitsteam gemeldet.', document_type: 'policy' },
  ] satisfies ClassificationItem[],
  extraction: [
    { text: 'Marta Olsen founded the Kestrel Valley Hydrogen Cooperative in Bergen in 2021.', entities: ['Marta Olsen', 'Kestrel Valley Hydrogen Cooperative', 'Bergen'] },
    { text: 'Siemens Energy signed a supply contract with Vattenfall for wind turbines in the North Sea.', entities: ['Siemens Energy', 'Vattenfall', 'North Sea'] },
    { text: 'Die Stadtwerke München beauftragten die Firma Nordlicht Solar mit dem Bau eines Solarparks in Freising.', entities: ['Stadtwerke München', 'Nordlicht Solar', 'Freising'] },
    { text: 'Ingrid Lindqvist, chief executive of Lindqvist Ferries, ordered four vessels from Nordhavn Shipyard in Gothenburg.', entities: ['Ingrid Lindqvist', 'Lindqvist Ferries', 'Nordhavn Shipyard', 'Gothenburg'] },
  ] satisfies ExtractionItem[],
  synthesis: [
    { context: 'Marta Olsen founded the Kestrel Valley Hydrogen Cooperative in 2021. It supplies 9,000 households.', question: 'Who founded the Kestrel Valley Hydrogen Cooperative?', answer: ['Marta', 'Olsen'] },
    { context: 'The Nordhavn Shipyard in Gothenburg will deliver four electric ferries in 2027.', question: 'How many ferries will the Nordhavn Shipyard deliver?', answer: ['four'] },
    { context: 'Die Genossenschaft versorgt seit 2022 rund 9.000 Haushalte in Bergen mit Wasserstoff.', question: 'Wie viele Haushalte versorgt die Genossenschaft?', answer: ['9.000'] },
    { context: 'The museum opened in 1911 and was renovated in 1998.', question: 'Who designed the museum building?', answer: null },
    { context: 'Revenue grew 12% in the third quarter.', question: 'What was the revenue in the first quarter?', answer: null },
  ] satisfies SynthesisItem[],
  validation: [
    { context: 'Marta Olsen founded the cooperative in 2021.', answer: 'Marta Olsen founded the cooperative in 2021.', grounded: true },
    { context: 'Marta Olsen founded the cooperative in 2021.', answer: 'The cooperative was founded by Lars Berg in 1995.', grounded: false },
    { context: 'The shipyard will deliver four ferries in 2027.', answer: 'Four ferries will be delivered in 2027.', grounded: true },
    { context: 'The shipyard will deliver four ferries in 2027.', answer: 'The shipyard went bankrupt in 2026.', grounded: false },
  ] satisfies ValidationItem[],
};

export type GoldenTask = keyof typeof GOLDEN;
export const GOLDEN_TASKS = Object.keys(GOLDEN) as GoldenTask[];
